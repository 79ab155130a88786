//! Warm reads: their own read, and a count only when the lease runs out.

use super::*;

/// Warm reads send their own read each and, under the default limits, a count only when the
/// container's lease runs out: ten reads in a row send at most four (three as the lease grows
/// with the rate it sees, one more if a second starts among them); with `rateLimits` `"off"` no
/// count at all.
#[tokio::test]
async fn a_read_sends_its_read_only() {
    let log = RequestLog::default();
    let interceptor = log.clone();
    let env = env_with(|config| config.interceptor(interceptor)).await;
    for (limits, most_counts) in [(json!({}), 4), (json!("off"), 0)] {
        let app = env
            .new_app(shared::apps::AppChanges {
                rate_limits: Some(limits.clone()),
                ..Default::default()
            })
            .await;
        env.issue(&app, "dana").await;
        env.warm(&app);
        log.take();
        for _ in 0..10 {
            let response = env
                .call(&app, "/v4/user/get", json!({"userId": "dana"}))
                .await;
            assert_eq!(response.outcome(), (200, 0), "{}", response.body);
        }
        let requests = log.take();
        let counts = requests.iter().filter(|r| *r == RATE_COUNT).count();
        let reads = requests.iter().filter(|r| *r == "GetItem").count();
        assert_eq!(
            (reads, requests.len() - counts - reads),
            (10, 0),
            "rateLimits {limits}: {requests:?}"
        );
        assert!(
            counts <= most_counts && (most_counts == 0 || counts >= 1),
            "rateLimits {limits}: {counts} counts: {requests:?}"
        );
    }
}
