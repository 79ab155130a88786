//! Friendships: the purge of a user removes its edges and requests and keeps counters exact.

use super::*;

#[tokio::test]
async fn purging_a_user_removes_its_friend_edges_and_requests_and_decrements_counters() {
    let env = env().await;
    let app = dev_app_with(&env, &["alice", "bob", "carol", "x"]).await;
    for friend in ["alice", "bob"] {
        assert_eq!(
            add(&env, &app, "x", friend, Some(2)).await.outcome(),
            (200, 0)
        );
    }
    assert_eq!(
        add(&env, &app, "alice", "bob", Some(2)).await.outcome(),
        (200, 0)
    );
    assert_eq!(
        add(&env, &app, "x", "carol", None).await.outcome(),
        (200, 25461)
    );
    mark_soft_deleted(&env, &app, "x").await;
    shared::purge::purge_user_data(
        &env.function("purge-soft-deleted-users"),
        &app.app_key,
        "x",
        shared::purge::Others::KeepTheirBlocks,
        shared::purge::Deadline::none(),
    )
    .await
    .unwrap();
    let table = Friendships::read(&env, &app).await;
    table.assert_consistent(&app);
    assert_eq!(table.edges.len(), 2, "{:?}", table.edges.keys());
    assert_eq!(table.counts["alice"], 1);
    assert_eq!(table.counts["bob"], 1);
    assert!(table.requests.is_empty());
}
