//! The DynamoDB round-trip budget of every operation, counted by an SDK interceptor (not timed),
//! against the budget the README writes next to each operation. A function without a budget in
//! the README, or without a scenario here, fails.

use std::collections::HashMap;

use integration_tests::{RATE_COUNT, RequestLog, documented_budgets, env_with};
use local_api::router::Access;
use serde_json::{Value, json};
use shared::replay::Placement;

/// A read's requests: "n (concurrent)" when it sends several.
fn reads(requests: usize) -> String {
    if requests > 1 {
        format!("{requests} (concurrent)")
    } else {
        requests.to_string()
    }
}

/// The budget of a list paged through its count tree: the first page reads the root beside
/// the page; a later page descends the tree first (3 more reads), whatever the page; a page past
/// the end reads the root alone.
fn paged_budget(first: usize, later: usize, past_the_end: usize) -> String {
    assert_eq!(
        later,
        first + 3,
        "a later page: three more count-tree reads"
    );
    assert_eq!(past_the_end, first - 1, "past the end: the root alone");
    format!("{first} (concurrent); any later page: {later}; past the end: {past_the_end}")
}

/// The budget of a change whose nonce rides in its transaction, when the call may have nothing
/// to write: the nonce then goes alone after the reads (the same count, one round trip later).
fn nonce_alone_when(written: usize, unwritten: usize, case: &str) -> String {
    assert_eq!(
        written, unwritten,
        "the nonce alone replaces the transaction"
    );
    format!("{written} (the nonce alone instead of the transaction {case})")
}

/// Measures one warm call: the app is cached and the user exists before counting starts.
async fn count(
    log: &RequestLog,
    call: impl std::future::Future<Output = integration_tests::Response>,
) -> usize {
    log.take();
    let response = call.await;
    assert_eq!(response.outcome(), (200, 0), "{}", response.body);
    own_requests(log)
}

/// The call's own requests since the last take: its count against the app's limit
/// (`shared::rate`), which the README states once for every signed call, aside.
fn own_requests(log: &RequestLog) -> usize {
    let requests = log.take();
    let counted = requests.iter().filter(|r| *r == RATE_COUNT).count();
    assert!(counted <= 1, "counted once at most: {requests:?}");
    requests.len() - counted
}

mod every_operation;
mod nonce_column;
mod reads;

/// Friendships, pending requests and the blocklist.
async fn webhook_budgets(
    env: &integration_tests::Env,
    log: &RequestLog,
    measured: &mut HashMap<&str, String>,
) {
    use shared::apps::WebhookEvent;
    use shared::webhooks::{deliveries, guard::Destinations, post::Poster, sender};
    let receiver = integration_tests::receiver::Receiver::start().await;
    receiver.reply_next(&[integration_tests::receiver::Reply::Status(500)]);
    let app = env
        .new_app(shared::apps::AppChanges {
            webhook_url: Some(receiver.url.clone()),
            webhook_events: Some(vec![WebhookEvent::ProfileUpdate]),
            ..Default::default()
        })
        .await;
    env.warm(&app);
    let signed = |path: &'static str, body: Value| env.call(&app, path, body);
    // The producer: a batch of two records of the app (one read of the app for the batch), each
    // with one event.
    let changed_at_s = env.state.clock.now_ms() / 1000;
    let record = |sequence: &str| {
        json!({"eventID": format!("budget-{sequence}"), "eventName": "REMOVE", "dynamodb": {
            "ApproximateCreationDateTime": changed_at_s,
            "Keys": {"PK": {"S": shared::table::user_pk(&app.app_key, "alice")}, "SK": {"S": "PROFILE"}},
            "SequenceNumber": sequence,
        }})
    };
    log.take();
    let answer = shared::webhooks::producer::handle(
        &env.function("produce-webhook-events"),
        &json!({"Records": [record("1"), record("2")]}),
    )
    .await;
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let produced = log.take().len();
    assert_eq!(
        produced, 4,
        "one app read, one log write per event, the hour listed once"
    );
    measured.insert(
        "produce-webhook-events",
        "1 per app in the batch + 1 per event (+ 1 the first time a container logs an app's event of an hour; records of other kinds or apps without the event: none)".to_owned(),
    );
    // The sender: one attempt (the receiver answers 500: retried, the next attempt queued).
    let logged = deliveries::list(
        &env.state,
        &app.app_key,
        deliveries::Filter::default(),
        10,
        None,
        env.state.clock.now_ms(),
    )
    .await
    .expect("log")
    .0;
    let message = shared::queue::QueuedDelivery {
        app_key: app.app_key.clone(),
        event_id: logged[0].event_id.clone(),
        attempt: 0,
        retry: 0,
        due_at: 0,
    };
    let poster = Poster::new(Destinations::AllowLoopback);
    log.take();
    sender::deliver(&env.function("send-webhooks"), &poster, message)
        .await
        .expect("attempt");
    measured.insert(
        "send-webhooks",
        format!(
            "{} (the claim and the app read concurrent, then the attempt recorded)",
            log.take().len()
        ),
    );
    assert_eq!(receiver.received().len(), 1);
    let listed = count(
        log,
        signed(
            "/v4/ext/webhook/delivery/list",
            json!({"status": "pending"}),
        ),
    )
    .await;
    measured.insert(
        "list-webhook-deliveries",
        format!("{listed} (the log's hours, then its latest; + 1 per further read while a status filter leaves the page short, 10 at most)"),
    );
    let ids: Vec<&str> = logged.iter().map(|d| d.event_id.as_str()).collect();
    let by_id = count(
        log,
        signed("/v4/ext/webhook/replay", json!({"eventIds": ids})),
    )
    .await;
    let since = count(log, signed("/v4/ext/webhook/replay", json!({"since": 0}))).await;
    let base = by_id - 2 * ids.len();
    assert_eq!(
        since,
        base + 2,
        "since: the log's hours, one Query and no failed event"
    );
    measured.insert(
        "replay-webhooks",
        format!(
            "{base} + 2n (n events: reads, then restarts, each concurrent); `since`: {} + n + 1 per 100 read (the log's hours, a Query per 100 events of each hour, n failed events restarted, 1,000 at most per call)",
            base + 2
        ),
    );
    let rotated = count(
        log,
        env.console(
            "/console/v1/apps/rotate-webhook-secret",
            json!({"appKey": app.app_key}),
        ),
    )
    .await;
    measured.insert("rotate-webhook-secret", rotated.to_string());
}

async fn friend_budgets(
    env: &integration_tests::Env,
    log: &RequestLog,
    measured: &mut HashMap<&str, String>,
) {
    let app = env.dev_app().await;
    for user in ["fa", "fb", "fc", "fd", "fe"] {
        env.issue(&app, user).await;
    }
    env.warm(&app);
    let signed = |path: &'static str, body: Value| env.call(&app, path, body);
    let app_ref = &app;
    let pending = |path: &'static str, body: Value| async move {
        log.take();
        let response = env.call(app_ref, path, body).await;
        assert_eq!(response.outcome(), (200, 25461), "{}", response.body);
        own_requests(log)
    };

    let direct = count(
        log,
        signed(
            "/v4/friend/add",
            json!({"userId": "fa", "targetId": "fb", "action": 2}),
        ),
    )
    .await;
    let requested = pending("/v4/friend/add", json!({"userId": "fa", "targetId": "fc"})).await;
    measured.insert(
        "add-friend",
        format!("{direct} (action 2), {requested} (action 1)"),
    );
    let requests = count(
        log,
        signed("/v4/ext/friend/request/list", json!({"userId": "fc"})),
    )
    .await;
    measured.insert("list-friend-requests", reads(requests));
    let accept = count(
        log,
        signed(
            "/v4/ext/friend/request/accept",
            json!({"userId": "fc", "requesterId": "fa"}),
        ),
    )
    .await;
    measured.insert("accept-friend-request", accept.to_string());
    pending("/v4/friend/add", json!({"userId": "fd", "targetId": "fc"})).await;
    let reject = count(
        log,
        signed(
            "/v4/ext/friend/request/reject",
            json!({"userId": "fc", "requesterId": "fd"}),
        ),
    )
    .await;
    measured.insert("reject-friend-request", reject.to_string());
    let profile = count(
        log,
        signed(
            "/v4/friend/profile/set",
            json!({"userId": "fa", "targetId": "fb", "alias": "B"}),
        ),
    )
    .await;
    measured.insert("set-friend-profile", profile.to_string());
    let relationships = count(
        log,
        signed(
            "/v4/friend/relationship/get",
            json!({"userId": "fa", "targetIds": ["fb", "fc", "fd"]}),
        ),
    )
    .await;
    measured.insert("get-friend-relationships", reads(relationships));
    let no_friends = count(log, signed("/v4/friend/list", json!({"userId": "fe"}))).await;
    let two_friends = count(log, signed("/v4/friend/list", json!({"userId": "fa"}))).await;
    assert_eq!(
        two_friends,
        no_friends + 1,
        "one BatchGetItem of names per 50 friends"
    );
    measured.insert(
        "list-friends",
        format!("{no_friends} + ⌈n/50⌉ (n friends on the page; the first {no_friends} concurrent)"),
    );
    let one = count(
        log,
        signed(
            "/v4/friend/remove",
            json!({"userId": "fa", "targetIds": ["fb"]}),
        ),
    )
    .await;
    env.call(
        &app,
        "/v4/friend/add",
        json!({"userId": "fa", "targetId": "fb", "action": 2}),
    )
    .await;
    let two = count(
        log,
        signed(
            "/v4/friend/remove",
            json!({"userId": "fa", "targetIds": ["fb", "fc"]}),
        ),
    )
    .await;
    assert_eq!(two, one + 1, "one transaction per target");
    measured.insert(
        "remove-friends",
        format!("{} + n (n targets, concurrent)", one - 1),
    );
    for friend in ["fb", "fc"] {
        env.call(
            &app,
            "/v4/friend/add",
            json!({"userId": "fa", "targetId": friend, "action": 2}),
        )
        .await;
    }
    let all = count(
        log,
        signed("/v4/friend/remove-all", json!({"userId": "fa"})),
    )
    .await;
    measured.insert(
        "remove-all-friends",
        format!(
            "{} + n (n friends, concurrent; + 1 Query per 1 MB of friends)",
            all - 2
        ),
    );

    // Permissions: up to 50 users in one transaction; more are checked first.
    let crowd: Vec<String> = (0..51).map(|i| format!("crowd{i}")).collect();
    for user in &crowd {
        env.issue(&app, user).await;
    }
    let few = count(
        log,
        signed(
            "/v4/friend/permission/set",
            json!({"userIds": ["fa", "fb"], "permissionType": 1}),
        ),
    )
    .await;
    let many = count(
        log,
        signed(
            "/v4/friend/permission/set",
            json!({"userIds": crowd, "permissionType": 1}),
        ),
    )
    .await;
    measured.insert(
        "set-friend-permission",
        format!("{few} (≤ 50 users), {many} (51 to 100 users)"),
    );
    let get_few = count(
        log,
        signed(
            "/v4/friend/permission/get",
            json!({"userIds": ["fa", "fb"]}),
        ),
    )
    .await;
    let get_many = count(
        log,
        signed("/v4/friend/permission/get", json!({"userIds": crowd})),
    )
    .await;
    assert_eq!(get_many, get_few + 1, "one BatchGetItem per 50 users");
    measured.insert(
        "get-friend-permission",
        match get_few - 1 {
            0 => "⌈n/50⌉ (n users, concurrent)".to_owned(),
            base => format!("{base} + ⌈n/50⌉ (n users, concurrent)"),
        },
    );

    let block = count(
        log,
        signed(
            "/v4/user/blocklist/add",
            json!({"userId": "fa", "targetUserIds": ["fb", "fc"]}),
        ),
    )
    .await;
    let again = count(
        log,
        signed(
            "/v4/user/blocklist/add",
            json!({"userId": "fa", "targetUserIds": ["fb"]}),
        ),
    )
    .await;
    measured.insert(
        "add-user-blocklist",
        nonce_alone_when(block, again, "if every target is blocked already"),
    );
    let blocked = count(
        log,
        signed("/v4/user/blocklist/get", json!({"userId": "fa"})),
    )
    .await;
    measured.insert("get-user-blocklist", reads(blocked));
    let unblock = count(
        log,
        signed(
            "/v4/user/blocklist/remove",
            json!({"userId": "fa", "blockedUserIds": ["fb"]}),
        ),
    )
    .await;
    let none = count(
        log,
        signed(
            "/v4/user/blocklist/remove",
            json!({"userId": "fa", "blockedUserIds": ["fd"]}),
        ),
    )
    .await;
    measured.insert(
        "remove-user-blocklist",
        nonce_alone_when(unblock, none, "if no target is blocked"),
    );
}
