//! Per-app limits per second (`shared::rate`): bursts over a limit get 429/1008 and at most the
//! limit is admitted in any second, counted across containers (each admitted call uses a unit
//! its container reserved in the shared counter, which never passes the limit); a refused change
//! writes nothing; service returns in the next second; Nexconn's limits apply unless the console
//! changes them; a container's lease admits most calls with no request.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use integration_tests::{Env, Response, env};
use serde_json::{Value, json};
use shared::apps::{App, AppChanges};

/// Waits for the start of the next second (plus a little), so a short burst falls in one window.
async fn next_second(env: &Env) {
    let now = env.state.clock.now_ms();
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(1000 - now.rem_euclid(1000)).unwrap_or(0) + 20,
    ))
    .await;
}

/// An app whose `rateLimits` are `limits`.
async fn limited_app(env: &Env, limits: Value) -> App {
    env.new_app(AppChanges {
        rate_limits: Some(limits),
        ..Default::default()
    })
    .await
}

/// How many units the containers reserved for `operation` in the shared counter, by second,
/// from `from_s` to now: what every admitted call was taken from.
async fn reserved_by_second(
    env: &Env,
    app: &App,
    operation: &str,
    from_s: i64,
) -> BTreeMap<i64, i64> {
    let mut counts = BTreeMap::new();
    let to_s = env.state.clock.now_ms().div_euclid(1000);
    for second in from_s..=to_s {
        let (block, offset) = shared::rate_lease::block_of(second);
        let key = shared::db::key(
            shared::table::rate_pk(&app.app_key, operation, block),
            shared::table::SK_RATE,
        );
        let item = env
            .state
            .db
            .get_item()
            .table_name(&env.state.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .expect("counter")
            .item;
        let attribute = format!("s{offset}");
        if let Some(count) = item.and_then(|i| i.get(&attribute)?.as_n().ok()?.parse().ok()) {
            counts.insert(second, count);
        }
    }
    counts
}

fn outcomes(responses: &[Response]) -> (usize, usize) {
    let admitted = responses.iter().filter(|r| r.outcome() == (200, 0)).count();
    let refused = responses
        .iter()
        .filter(|r| r.outcome() == (429, 1008))
        .count();
    assert_eq!(
        admitted + refused,
        responses.len(),
        "only 200/0 and 429/1008: {:?}",
        responses.iter().map(Response::outcome).collect::<Vec<_>>()
    );
    (admitted, refused)
}

#[tokio::test]
async fn a_burst_over_the_limit_is_refused_with_1008_and_service_returns_the_next_second() {
    let env = env().await;
    let app = limited_app(&env, json!({"/v4/user/get": 5})).await;
    env.issue(&app, "alice").await;
    env.warm(&app);
    next_second(&env).await;
    let from_s = env.state.clock.now_ms().div_euclid(1000);
    let burst = (0..20).map(|_| env.call(&app, "/v4/user/get", json!({"userId": "alice"})));
    let responses = join_all(burst).await;
    let (admitted, refused) = outcomes(&responses);
    let counted = reserved_by_second(&env, &app, "get-user", from_s).await;
    assert!(refused > 0, "20 calls over a limit of 5");
    assert!(
        counted.values().all(|c| *c <= 5),
        "at most the limit per second: {counted:?}"
    );
    assert!(
        admitted as i64 <= counted.values().sum::<i64>(),
        "each admitted call was reserved: {counted:?}"
    );
    let refusal = responses
        .iter()
        .find(|r| r.status == 429)
        .expect("a refusal");
    assert!(
        refusal.body["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("/v4/user/get allows 5 per second")),
        "{}",
        refusal.body
    );
    assert_eq!(refusal.headers["retry-after"], "1");
    // The next second admits again.
    next_second(&env).await;
    let again = env
        .call(&app, "/v4/user/get", json!({"userId": "alice"}))
        .await;
    assert_eq!(again.outcome(), (200, 0), "{}", again.body);
    // Other operations have their own limits.
    let other = env
        .call(
            &app,
            "/v4/user/tag/batch/get",
            json!({"userIds": ["alice"]}),
        )
        .await;
    assert_eq!(other.outcome(), (200, 0), "{}", other.body);
}

#[tokio::test]
async fn a_refused_change_writes_nothing() {
    let env = env().await;
    let app = limited_app(&env, json!({"/v4/user/tag/batch/set": 2})).await;
    let users: Vec<String> = (0..8).map(|i| format!("tagged{i}")).collect();
    for user in &users {
        env.issue(&app, user).await;
    }
    env.warm(&app);
    let before = env.app_items(&app.app_key).await.len();
    next_second(&env).await;
    let calls = users.iter().map(|user| {
        env.call(
            &app,
            "/v4/user/tag/batch/set",
            json!({"userIds": [user], "tags": ["vip"]}),
        )
    });
    let responses = join_all(calls).await;
    let (admitted, refused) = outcomes(&responses);
    assert!(refused >= 4, "8 calls, 2 per second: {admitted} admitted");
    let tags = env
        .call(&app, "/v4/user/tag/batch/get", json!({"userIds": users}))
        .await;
    assert_eq!(tags.outcome(), (200, 0), "{}", tags.body);
    let tagged: Vec<bool> = users
        .iter()
        .map(|user| {
            tags.body["result"]["users"]
                .as_array()
                .and_then(|all| all.iter().find(|t| t["userId"] == user.as_str()))
                .is_some_and(|t| t["tags"] == json!(["vip"]))
        })
        .collect();
    for (response, tagged) in responses.iter().zip(&tagged) {
        assert_eq!(
            response.status == 200,
            *tagged,
            "tagged exactly when admitted: {}",
            response.body
        );
    }
    // Only the admitted calls' tag items were added.
    assert_eq!(env.app_items(&app.app_key).await.len(), before + admitted);
}

#[tokio::test]
async fn two_containers_share_one_limit() {
    let first = env().await;
    let second = env().await;
    let app = limited_app(&first, json!({"default": 4})).await;
    first.issue(&app, "alice").await;
    first.warm(&app);
    second.warm(&app);
    next_second(&first).await;
    let from_s = first.state.clock.now_ms().div_euclid(1000);
    let body = || json!({"userId": "alice"});
    let calls = (0..12).map(|i| {
        let env = if i % 2 == 0 { &first } else { &second };
        env.call(&app, "/v4/user/get", body())
    });
    let responses = join_all(calls).await;
    let (admitted, _) = outcomes(&responses);
    let counted = reserved_by_second(&first, &app, "get-user", from_s).await;
    assert!(
        counted.values().all(|c| *c <= 4),
        "4 per second over both containers: {counted:?}"
    );
    assert!(admitted as i64 <= counted.values().sum::<i64>());
    assert!(
        admitted <= 4 * counted.len(),
        "{admitted} admitted in {} seconds",
        counted.len()
    );
}

#[tokio::test]
async fn soft_delete_and_restore_count_their_users() {
    let env = env().await;
    let app = limited_app(&env, json!({"/v4/user/soft-delete": 5})).await;
    for user in ["s1", "s2", "s3"] {
        env.issue(&app, user).await;
    }
    env.warm(&app);
    next_second(&env).await;
    let from_s = env.state.clock.now_ms().div_euclid(1000);
    let deleted = env
        .call(
            &app,
            "/v4/user/soft-delete",
            // A user named twice counts once.
            json!({"userIds": ["s1", "s2", "s3", "s1"]}),
        )
        .await;
    assert_eq!(deleted.outcome(), (200, 0), "{}", deleted.body);
    // The call's own second holds its 3 users: a first call takes no slice beyond its units
    // in its second when that would leave it less than half the limit free.
    let counted = reserved_by_second(&env, &app, "soft-delete-users", from_s).await;
    assert_eq!(counted.get(&from_s), Some(&3), "{counted:?}");
}

#[tokio::test]
async fn nexconn_limits_apply_by_default_and_off_counts_nothing() {
    let env = env().await;
    // 30 calls at once to set tags, from the start of a second: `(admitted, refused, counted by
    // second)`.
    let burst = async |limits: Value| {
        let app = limited_app(&env, limits).await;
        env.issue(&app, "alice").await;
        env.warm(&app);
        next_second(&env).await;
        let from_s = env.state.clock.now_ms().div_euclid(1000);
        let calls = (0..30).map(|_| {
            env.call(
                &app,
                "/v4/user/tag/batch/set",
                json!({"userIds": ["alice"], "tags": ["a"]}),
            )
        });
        let (admitted, refused) = outcomes(&join_all(calls).await);
        let counted = reserved_by_second(&env, &app, "batch-set-user-tags", from_s).await;
        (admitted, refused, counted)
    };
    // Nexconn's 10 calls per second to set tags.
    let (admitted, refused, counted) = burst(json!({})).await;
    assert!(refused > 0, "30 calls over 10 per second");
    assert!(counted.values().all(|c| *c <= 10), "{counted:?}");
    assert!(admitted as i64 <= counted.values().sum::<i64>());
    // "off": nothing is refused, nothing is counted.
    let (admitted, _, counted) = burst(json!("off")).await;
    assert_eq!(admitted, 30);
    assert!(counted.is_empty(), "{counted:?}");
}

#[tokio::test]
async fn the_console_validates_shows_and_replaces_rate_limits() {
    let env = env().await;
    let created = env
        .console(
            "/console/v1/apps/create",
            json!({"rateLimits": {"default": 50}}),
        )
        .await;
    assert_eq!(created.outcome(), (200, 0), "{}", created.body);
    let key = created.body["result"]["appKey"]
        .as_str()
        .expect("appKey")
        .to_owned();
    let shown = |response: &Response| response.body["result"]["settings"]["rateLimits"].clone();
    let got = env
        .console("/console/v1/apps/get", json!({"appKey": key}))
        .await;
    assert_eq!(shown(&got), json!({"default": 50}));
    let updated = env
        .console(
            "/console/v1/apps/update",
            json!({"appKey": key, "rateLimits": {"/v4/user/get": 0, "/v4/friend/delete": 3}}),
        )
        .await;
    assert_eq!(updated.outcome(), (200, 0), "{}", updated.body);
    assert_eq!(
        shown(&updated),
        json!({"/v4/user/get": 0, "/v4/friend/delete": 3}),
        "the setting is replaced, not merged"
    );
    for bad in [
        json!({"/v4/user/gets": 1}),
        json!({"default": -1}),
        json!({"default": 100_001}),
        json!("on"),
        json!([]),
    ] {
        let refused = env
            .console(
                "/console/v1/apps/update",
                json!({"appKey": key, "rateLimits": bad}),
            )
            .await;
        assert_eq!(refused.outcome(), (400, 1002), "{bad}: {}", refused.body);
    }
    let off = env
        .console(
            "/console/v1/apps/update",
            json!({"appKey": key, "rateLimits": "off"}),
        )
        .await;
    assert_eq!(shown(&off), json!("off"));
    let got = env
        .console("/console/v1/apps/get", json!({"appKey": key}))
        .await;
    assert_eq!(
        shown(&got),
        json!("off"),
        "a refused update changed nothing"
    );
}

/// The order in which a client's DynamoDB requests were sent and answered.
#[derive(Debug, Default, Clone)]
struct Timeline(std::sync::Arc<std::sync::Mutex<Vec<(bool, String)>>>);

impl Timeline {
    /// `(sent, request)` events since the last take: `true` when sent, `false` when answered.
    fn take(&self) -> Vec<(bool, String)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A rate counter's update is named [`integration_tests::RATE_COUNT`] when sent.
    fn push(&self, sent: bool, cfg: &aws_sdk_dynamodb::config::ConfigBag, body: Option<&[u8]>) {
        let mut name = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        if body.and_then(integration_tests::rate_counter_of).is_some() {
            name = integration_tests::RATE_COUNT.to_owned();
        }
        let mut events = self.0.lock().unwrap_or_else(|p| p.into_inner());
        events.push((sent, name));
    }
}

impl aws_sdk_dynamodb::config::Intercept for Timeline {
    fn name(&self) -> &'static str {
        "Timeline"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.push(true, cfg, context.request().body().bytes());
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.push(false, cfg, None);
        Ok(())
    }
}

/// A call the container's lease cannot serve sends its count first and alone, so a refusal
/// costs that one request and nothing else; the calls after it are admitted from the lease with
/// no count at all (a read, a change whose nonce goes beside its app check, and one whose nonce
/// rides in its transaction).
#[tokio::test]
async fn a_count_goes_alone_before_the_call_and_the_lease_serves_the_calls_after_it() {
    let timeline = Timeline::default();
    let interceptor = timeline.clone();
    let env = integration_tests::env_with(|config| config.interceptor(interceptor)).await;
    let app = limited_app(&env, json!({})).await;
    for user in ["alice", "bob"] {
        env.issue(&app, user).await;
    }
    env.warm(&app);
    for (path, body) in [
        ("/v4/user/get", json!({"userId": "alice"})),
        ("/v4/user/update", json!({"userId": "alice", "name": "A"})),
        (
            "/v4/friend/add",
            json!({"userId": "alice", "targetId": "bob", "action": 2}),
        ),
    ] {
        timeline.take();
        let response = env.call(&app, path, body.clone()).await;
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        let events = timeline.take();
        let count = (true, integration_tests::RATE_COUNT.to_owned());
        assert_eq!(
            events.first(),
            Some(&count),
            "{path}: the count first: {events:?}"
        );
        assert!(
            events.get(1).is_some_and(|(sent, _)| !sent),
            "{path}: answered before anything else is sent: {events:?}"
        );
        let response = env.call(&app, path, body).await;
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        let events = timeline.take();
        assert!(
            !events.contains(&count),
            "{path}: admitted from the lease: {events:?}"
        );
    }
}

/// A change refused over the limit leaves nothing behind, its nonce included, both where the
/// nonce is recorded beside the app check (update) and where it would ride in the change's
/// transaction (tag set): the very same request sent again after `Retry-After` runs, once.
#[tokio::test]
async fn a_refused_change_can_be_sent_again_and_runs_once() {
    let env = env().await;
    let calls = [
        (
            "/v4/user/tag/batch/set",
            json!({"userIds": ["alice"], "tags": ["late"]}),
        ),
        (
            "/v4/user/update",
            json!({"userId": "alice", "name": "Late"}),
        ),
    ];
    let limits: serde_json::Map<String, Value> = calls
        .iter()
        .map(|(path, _)| ((*path).to_owned(), json!(1)))
        .collect();
    let app = limited_app(&env, Value::Object(limits)).await;
    env.issue(&app, "alice").await;
    env.warm(&app);
    for (path, body) in calls {
        let mut refused = None;
        // Two calls in one second under a limit of 1 (again should the second fall in the next).
        for _ in 0..5 {
            next_second(&env).await;
            let first = env.call(&app, path, body.clone()).await;
            assert_eq!(first.outcome(), (200, 0), "{path}: {}", first.body);
            let second = env.signed(&app, path, &body);
            let mut again = integration_tests::post(path, body.to_string());
            *again.headers_mut() = second.headers().clone();
            let answer = env.send(second).await;
            if answer.outcome() == (429, 1008) {
                assert_eq!(answer.headers["retry-after"], "1", "{path}");
                refused = Some(again);
                break;
            }
        }
        let again =
            refused.unwrap_or_else(|| panic!("{path}: a second call in one second was refused"));
        let mut replay = integration_tests::post(path, body.to_string());
        *replay.headers_mut() = again.headers().clone();
        next_second(&env).await;
        let retried = env.send(again).await;
        assert_eq!(
            retried.outcome(),
            (200, 0),
            "{path}: the same request, sent again: {}",
            retried.body
        );
        // Now it has run: its nonce is recorded like any change's (sent in a second with room).
        next_second(&env).await;
        assert_eq!(env.send(replay).await.outcome(), (401, 1004), "{path}");
    }
}
