//! Bad input gets a clear 4xx naming the field, and changes nothing in the table.

use integration_tests::{env, post};
use serde_json::json;

const ISSUE: &str = "/v4/auth/access-token/issue";

#[tokio::test]
async fn malformed_bodies_are_400_and_register_nobody() {
    let env = env().await;
    let app = env.dev_app().await;
    let cases: Vec<(String, i64, &str)> = vec![
        ("{\"userId\": \"a\", ".into(), 1002, "JSON"),
        ("[\"userId\"]".into(), 1002, "object"),
        ("\"text\"".into(), 1002, "object"),
        (
            json!({"userId": 7, "name": "x"}).to_string(),
            1002,
            "userId",
        ),
        (
            json!({"userId": "a", "name": ["x"]}).to_string(),
            1002,
            "name",
        ),
        (
            json!({"userId": "a", "name": "x", "avatarUrl": 3}).to_string(),
            1002,
            "avatarUrl",
        ),
        (json!({"name": "x"}).to_string(), 1002, "userId"),
        (json!({"userId": "a"}).to_string(), 1002, "name"),
        (
            json!({"userId": null, "name": "x"}).to_string(),
            1002,
            "userId",
        ),
        (
            json!({"userId": "a".repeat(65), "name": "x"}).to_string(),
            1005,
            "userId",
        ),
        (
            json!({"userId": "a-b", "name": "x"}).to_string(),
            1002,
            "userId",
        ),
        (
            json!({"userId": "a", "name": "n".repeat(65)}).to_string(),
            1005,
            "name",
        ),
        (
            json!({"userId": "a", "name": "x", "avatarUrl": "u".repeat(1025)}).to_string(),
            1005,
            "avatarUrl",
        ),
        (
            format!(
                "{{\"userId\":\"a\",\"name\":\"x\",\"pad\":\"{}\"}}",
                "p".repeat(1024 * 1024)
            ),
            1005,
            "body",
        ),
    ];
    for (body, code, field) in cases {
        let mut request = post(ISSUE, body.clone());
        env.sign(&mut request, &app);
        let response = env.send(request).await;
        assert_eq!(
            response.outcome(),
            (400, code),
            "{}",
            &body[..body.len().min(80)]
        );
        let message = response.body["errorMessage"].as_str().unwrap();
        assert!(message.contains(field), "{message:?} should name {field}");
    }
    assert_eq!(env.user_count(&app.app_key).await, 0);
    assert_eq!(
        env.app_items(&app.app_key).await.len(),
        1,
        "only the app record"
    );
}

#[tokio::test]
async fn shape_is_checked_before_lookup_and_limits_of_expire() {
    let env = env().await;
    let app = env.dev_app().await;
    let ids: Vec<String> = (0..21).map(|i| format!("nobody{i}")).collect();
    let too_many = env
        .call(
            &app,
            "/v4/auth/access-token/expire",
            json!({"userIds": ids, "expiresAt": 1}),
        )
        .await;
    assert_eq!(too_many.outcome(), (400, 1005));
    assert!(
        too_many.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("20")
    );
    let wrong_type = env
        .call(
            &app,
            "/v4/auth/access-token/expire",
            json!({"userIds": ["a"], "expiresAt": "soon"}),
        )
        .await;
    assert_eq!(wrong_type.outcome(), (400, 1002));
    let empty = env
        .call(
            &app,
            "/v4/auth/access-token/expire",
            json!({"userIds": [], "expiresAt": 1}),
        )
        .await;
    assert_eq!(empty.outcome(), (400, 1002));
    let update = env
        .call(
            &app,
            "/v4/user/update",
            json!({"userId": "nobody", "name": ""}),
        )
        .await;
    assert_eq!(
        update.outcome(),
        (400, 1002),
        "a malformed request is 400 even for an unknown user"
    );
}

#[tokio::test]
async fn expiring_unknown_users_creates_nothing() {
    let env = env().await;
    let app = env.dev_app().await;
    let response = env
        .call(
            &app,
            "/v4/auth/access-token/expire",
            json!({"userIds": ["ghost"], "expiresAt": 946_684_800_000_i64}),
        )
        .await;
    assert_eq!(response.outcome(), (200, 0));
    assert_eq!(env.app_items(&app.app_key).await.len(), 1);
}
