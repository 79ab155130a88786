//! Friendships: relationships, answered in the order asked.

use super::*;

#[tokio::test]
async fn relationships_answer_in_the_order_asked() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob", "carol"]).await;
    assert_eq!(
        add(&env, &app, "alice", "carol", Some(2)).await.outcome(),
        (200, 0)
    );
    assert_eq!(
        add(&env, &app, "alice", "bob", None).await.outcome(),
        (200, 25461)
    );
    let response = env
        .call(
            &app,
            "/v4/friend/relationship/get",
            json!({"userId": "alice", "targetIds": ["carol", "bob", "nobody", "carol", "alice"]}),
        )
        .await;
    assert_eq!(
        response.body,
        json!({"code": 0, "result": {"friendships": [
            {"userId": "carol", "result": 4},
            {"userId": "bob", "result": 1},
            {"userId": "nobody", "result": 1},
            {"userId": "alice", "result": 1},
        ]}})
    );
    assert_eq!(
        env.call(
            &app,
            "/v4/friend/relationship/get",
            json!({"userId": "nobody", "targetIds": ["alice"]})
        )
        .await
        .outcome(),
        (404, 400)
    );
    let many: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
    assert_eq!(
        env.call(
            &app,
            "/v4/friend/relationship/get",
            json!({"userId": "alice", "targetIds": many})
        )
        .await
        .outcome(),
        (400, 1005)
    );
}
