//! Friendships: the 3,000-friend limit and a 3,000-friend listing under concurrency.

use super::*;

/// Writes users and friendships straight into the table, as the operations would have (the
/// same item builders), for sizes the API would take minutes to build.
async fn seed_friends(env: &Env, app: &App, hub: &str, friends: &[String], first_ms: i64) {
    let key = &app.app_key;
    let mut items: Vec<Item> = Vec::new();
    for (i, friend) in friends.iter().enumerate() {
        let mut user = shared::users::key(key, friend);
        user.insert("userId".into(), AttributeValue::S(friend.clone()));
        user.insert(
            "name".into(),
            AttributeValue::S(format!("name of {friend}")),
        );
        user.insert("createdAt".into(), AttributeValue::N(first_ms.to_string()));
        user.insert("state".into(), AttributeValue::S("active".into()));
        items.push(user);
        let added = first_ms + i as i64;
        items.push(edges::edge_item(key, Kind::Friend, hub, friend, added).unwrap());
        items.push(edges::edge_item(key, Kind::Friend, friend, hub, added).unwrap());
        let mut count = edges::key(key, friend, table::SK_FRIEND_COUNT);
        count.insert(edges::COUNT.into(), AttributeValue::N("1".into()));
        items.push(count);
    }
    let mut count = edges::key(key, hub, table::SK_FRIEND_COUNT);
    count.insert(
        edges::COUNT.into(),
        AttributeValue::N(friends.len().to_string()),
    );
    items.push(count);
    let batches = items.chunks(25).map(|chunk| async move {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        while !requests.is_empty() {
            let out = env
                .state
                .db
                .batch_write_item()
                .request_items(&env.state.table, requests)
                .send()
                .await
                .unwrap();
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&env.state.table))
                .unwrap_or_default();
        }
    });
    futures::stream::iter(batches)
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
}

use futures::StreamExt;

/// Items each DynamoDB response carried (Query: items returned; BatchGetItem: items found).
#[derive(Debug, Default, Clone)]
struct ItemsRead(Arc<Mutex<Vec<(String, usize)>>>);

impl ItemsRead {
    fn take(&self) -> Vec<(String, usize)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl aws_sdk_dynamodb::config::Intercept for ItemsRead {
    fn name(&self) -> &'static str {
        "ItemsRead"
    }

    fn read_after_deserialization(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef<
            '_,
        >,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        use aws_sdk_dynamodb::operation::{batch_get_item::BatchGetItemOutput, query::QueryOutput};
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        let entry = if let Some(query) = output.downcast_ref::<QueryOutput>() {
            Some(("Query", query.items().len()))
        } else {
            output.downcast_ref::<BatchGetItemOutput>().map(|batch| {
                let found = batch
                    .responses()
                    .map_or(0, |r| r.values().map(Vec::len).sum());
                ("BatchGetItem", found)
            })
        };
        if let Some((name, items)) = entry {
            self.0.lock().unwrap().push((name.to_owned(), items));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_thousand_friends_hold_under_concurrency_and_list_exactly_once() {
    let reads = ItemsRead::default();
    let interceptor = reads.clone();
    let env = env_with(|config| config.interceptor(interceptor)).await;
    // Production on a paid plan: no cap on registered users.
    let app = app_with(
        &env,
        AppChanges {
            environment: Some(Environment::Production),
            plan: Some(Plan::Starter),
            ..Default::default()
        },
        &["hub", "late0", "late1", "late2", "late3", "late4", "asker"],
    )
    .await;
    let seeded: Vec<String> = (0..2998).map(|i| format!("s{i:04}")).collect();
    let first_ms = env.state.clock.now_ms() - 10_000_000;
    seed_friends(&env, &app, "hub", &seeded, first_ms).await;

    // Five at once for the last two places.
    let late = ["late0", "late1", "late2", "late3", "late4"];
    let calls = late.iter().map(|u| add(&env, &app, u, "hub", Some(2)));
    let outcomes: Vec<(u16, i64)> = futures::future::join_all(calls)
        .await
        .iter()
        .map(Response::outcome)
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == (200, 0)).count(),
        2,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == (403, 20106)).count(),
        3,
        "{outcomes:?}"
    );
    // Full: a request cannot be accepted either, and the refused users were not touched.
    assert_eq!(
        add(&env, &app, "asker", "hub", None).await.outcome(),
        (200, 25461)
    );
    let accepted = env
        .call(
            &app,
            "/v4/ext/friend/request/accept",
            json!({"userId": "hub", "requesterId": "asker"}),
        )
        .await;
    assert_eq!(accepted.outcome(), (403, 20106), "{}", accepted.body);
    let table = Friendships::read(&env, &app).await;
    table.assert_consistent(&app);
    assert_eq!(table.counts["hub"], 3000);
    assert_eq!(
        late.iter()
            .filter(|u| table.counts.get(**u) == Some(&1))
            .count(),
        2
    );
    // Removing one frees one place.
    let removed = env
        .call(
            &app,
            "/v4/friend/remove",
            json!({"userId": "hub", "targetIds": ["s0000"]}),
        )
        .await;
    assert_eq!(removed.outcome(), (200, 0));
    assert_eq!(accepted_again(&env, &app).await, (200, 0));

    // Every friend exactly once, page by page, in both orders; each page costs the same.
    for order in [0, 1] {
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            reads.take();
            let page = list(
                &env,
                &app,
                json!({"userId": "hub", "pageSize": 100, "order": order, "pageToken": token}),
            )
            .await;
            assert_eq!(page.outcome(), (200, 0), "{}", page.body);
            assert_eq!(page.body["result"]["totalCount"], 3000);
            let read = reads.take();
            let items: usize = read.iter().map(|(_, n)| n).sum();
            // USER + FRIEND_COUNT, 101 edges, and USER + PROFILE of 100 friends at most.
            assert!(items <= 2 + 101 + 200, "page {pages}: {read:?}");
            assert_eq!(read.len(), 4, "page {pages}: {read:?}");
            seen.extend(
                page.body["result"]["friends"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        (
                            f["addedAt"].as_i64().unwrap(),
                            f["userId"].as_str().unwrap().to_owned(),
                        )
                    }),
            );
            pages += 1;
            token = page.body["result"]["pageToken"]
                .as_str()
                .unwrap()
                .to_owned();
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(pages, 30);
        assert_eq!(seen.len(), 3000);
        let unique: HashSet<&String> = seen.iter().map(|(_, id)| id).collect();
        assert_eq!(unique.len(), 3000, "each friend once");
        let mut sorted = seen.clone();
        sorted.sort();
        if order == 1 {
            sorted.reverse();
        }
        assert_eq!(seen, sorted, "order {order} by time added");
        assert!(!unique.contains(&"s0000".to_owned()));
        assert!(unique.contains(&"asker".to_owned()));
    }
}

async fn accepted_again(env: &Env, app: &App) -> (u16, i64) {
    env.call(
        app,
        "/v4/ext/friend/request/accept",
        json!({"userId": "hub", "requesterId": "asker"}),
    )
    .await
    .outcome()
}
