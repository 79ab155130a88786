//! `soak [MINUTES] [CLIENTS]`: the local API's handlers (each function in its own container,
//! IAM enforced, as `make local` serves them) under CLIENTS concurrent clients (default 32) for
//! MINUTES minutes (default 10) against DynamoDB Local, every Server API operation mixed with a
//! share of bad input. Prints a Markdown summary: requests, answers by status, 5xx (must be 0),
//! resident memory over the run, and the table's invariants read back at the end (friendships
//! mutual and counted, blocklist counters equal to their edges, the user count equal to the
//! users, under the cap). Needs DYNAMODB_ENDPOINT; exits non-zero if anything is off.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use integration_tests::Env;
use integration_tests::invariants::Friendships;
use serde_json::{Value, json};
use shared::apps::App;
use shared::table;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Users the clients act on: under the development cap of 100, so the cap is part of the run.
const USERS: usize = 80;
/// One request in this many carries bad input.
const BAD_INPUT_EVERY: u64 = 8;

/// A small xorshift generator per client: no shared state, reproducible per client.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn user(&mut self) -> String {
        format!("soak{}", self.below(USERS))
    }

    fn users(&mut self, n: usize) -> Vec<String> {
        (0..n).map(|_| self.user()).collect()
    }
}

/// A request of the mix: `(path, body)`.
fn request(dice: &mut Dice, now_ms: i64) -> (&'static str, Value) {
    let (a, b) = (dice.user(), dice.user());
    if dice.next().is_multiple_of(BAD_INPUT_EVERY) {
        return match dice.below(4) {
            0 => ("/v4/user/get", json!({"userId": "not a valid id!"})),
            1 => ("/v4/user/tag/batch/get", json!({"userIds": dice.users(51)})),
            2 => ("/v4/friend/add", json!({"userId": a, "targetId": 5})),
            _ => (
                "/v4/auth/access-token/expire",
                json!({"userIds": [a], "expiresAt": now_ms * 1000}),
            ),
        };
    }
    match dice.below(22) {
        0 => (
            "/v4/auth/access-token/issue",
            json!({"userId": a, "name": "Soak"}),
        ),
        1 => ("/v4/user/get", json!({"userId": a})),
        2 => (
            "/v4/user/update",
            json!({"userId": a, "name": format!("N{}", dice.below(100))}),
        ),
        3 => (
            "/v4/friend/add",
            json!({"userId": a, "targetId": b, "action": 2}),
        ),
        4 => ("/v4/friend/remove", json!({"userId": a, "targetIds": [b]})),
        5 => ("/v4/friend/list", json!({"userId": a, "pageSize": 20})),
        6 => (
            "/v4/friend/relationship/get",
            json!({"userId": a, "targetIds": dice.users(5)}),
        ),
        7 => (
            "/v4/user/blocklist/add",
            json!({"userId": a, "targetUserIds": [b]}),
        ),
        8 => (
            "/v4/user/blocklist/remove",
            json!({"userId": a, "blockedUserIds": [b]}),
        ),
        9 => ("/v4/user/blocklist/get", json!({"userId": a})),
        10 => (
            "/v4/user/ban",
            json!({"userIds": [a], "durationMinutes": 1}),
        ),
        11 => ("/v4/user/unban", json!({"userIds": [a]})),
        12 => ("/v4/user/ban/list", json!({"page": 1, "pageSize": 50})),
        13 => (
            "/v4/user/tag/batch/set",
            json!({"userIds": dice.users(3), "tags": ["soak"]}),
        ),
        14 => ("/v4/user/tag/batch/get", json!({"userIds": dice.users(5)})),
        15 => (
            "/v4/user/profile/set",
            json!({"userId": a, "userProfile": {"name": "S", "level": dice.below(10)}}),
        ),
        16 => (
            "/v4/user/profile/batch/get",
            json!({"userIds": dice.users(5)}),
        ),
        17 => (
            "/v4/user/profile/list",
            json!({"page": 1 + dice.below(3), "pageSize": 20}),
        ),
        18 => (
            "/v4/channel-type/mute/set",
            json!({"userIds": [a], "muteState": dice.below(2), "channelTypes": ["PERSON"]}),
        ),
        19 => (
            "/v4/ext/dm/permission/check",
            json!({"fromUserId": a, "toUserId": b}),
        ),
        20 => (
            "/v4/friend/permission/set",
            json!({"userIds": [a], "permissionType": 1 + dice.below(3)}),
        ),
        _ => ("/v4/user/connection-status/get", json!({"userId": a})),
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The invariants the mix must keep; returns what is off.
async fn check_invariants(env: &Env, app: &App) -> Vec<String> {
    let mut off = Vec::new();
    let friendships = Friendships::read(env, app).await;
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        friendships.assert_consistent(app)
    })) {
        off.push(format!("friendships: {panic:?}"));
    }
    let items = env.app_items(&app.app_key).await;
    let text = |item: &std::collections::HashMap<_, _>, name: &str| {
        shared::db::text(item, name).map(str::to_owned)
    };
    let mut blocks: BTreeMap<String, i64> = BTreeMap::new();
    let mut block_counts: BTreeMap<String, i64> = BTreeMap::new();
    let mut users = 0;
    for item in &items {
        let (Some(pk), Some(sk)) = (text(item, table::PK), text(item, table::SK)) else {
            continue;
        };
        let Some((_, owner)) = table::parse_user_pk(&pk) else {
            continue;
        };
        if sk.starts_with(table::SK_BLOCK_PREFIX) {
            *blocks.entry(owner.to_owned()).or_default() += 1;
        } else if sk == table::SK_BLOCK_COUNT {
            let count = shared::db::number(item, shared::edges::COUNT).unwrap_or(-1);
            block_counts.insert(owner.to_owned(), count);
        } else if sk == table::SK_USER {
            users += 1;
        }
    }
    for owner in blocks.keys().chain(block_counts.keys()) {
        let (edges, counted) = (
            blocks.get(owner).copied().unwrap_or(0),
            block_counts.get(owner).copied().unwrap_or(0),
        );
        if edges != counted {
            off.push(format!(
                "{owner}: {edges} blocklist edges, counter {counted}"
            ));
        }
    }
    off.extend(integration_tests::invariants::counted_lists_off(
        &items,
        &app.app_key,
        env.state.clock.now_ms(),
    ));
    let counted = env.user_count(&app.app_key).await;
    if counted != users || users > 100 {
        off.push(format!("{users} users, user count {counted} (cap 100)"));
    }
    off
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let minutes: f64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10.0);
    let clients: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);
    // SAFETY: set before any other thread reads the environment. (The functions log one JSON
    // line per request at `info` to stdout, as on Lambda; `scripts/soak` keeps the summary.)
    unsafe { std::env::set_var("TEST_TABLE_NAME", "chat-users-soak") };
    let env = Arc::new(integration_tests::env().await);
    let app = env.dev_app().await;
    for user in 0..USERS {
        env.issue(&app, &format!("soak{user}")).await;
    }
    env.warm(&app);

    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(minutes * 60.0);
    let by_status: Arc<std::sync::Mutex<BTreeMap<(u16, i64), usize>>> = Arc::default();
    let server_errors: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let requests = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let rss_samples = tokio::spawn({
        let done = done.clone();
        async move {
            let mut samples = vec![rss_kib()];
            while !done.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_secs(10)).await;
                samples.push(rss_kib());
            }
            samples
        }
    });
    let workers = (0..clients).map(|client| {
        let (env, app) = (env.clone(), app.clone());
        let (by_status, server_errors, requests) =
            (by_status.clone(), server_errors.clone(), requests.clone());
        tokio::spawn(async move {
            let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ ((client as u64 + 1) * 0x2545_F491));
            while Instant::now() < deadline {
                let (path, body) = request(&mut dice, env.state.clock.now_ms());
                let response = env.call(&app, path, body.clone()).await;
                requests.fetch_add(1, Ordering::Relaxed);
                let outcome = response.outcome();
                if outcome.0 >= 500 {
                    server_errors
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(format!("{path} {body} → {outcome:?} {}", response.body));
                }
                *by_status
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(outcome)
                    .or_default() += 1;
            }
        })
    });
    for worker in futures::future::join_all(workers).await {
        worker?;
    }
    done.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let samples = rss_samples.await?;
    let off = check_invariants(&env, &app).await;

    let total = requests.load(Ordering::Relaxed);
    let server_errors = server_errors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    println!("| soak | value |\n|---|---|");
    println!("| duration | {:.1} min |", elapsed.as_secs_f64() / 60.0);
    println!("| concurrent clients | {clients} |");
    println!(
        "| requests | {total} ({:.0}/s) |",
        total as f64 / elapsed.as_secs_f64()
    );
    let answers: Vec<String> = by_status
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|((status, code), n)| format!("{status}/{code}: {n}"))
        .collect();
    println!("| answers (status/code: count) | {} |", answers.join(", "));
    println!("| 5xx | {} |", server_errors.len());
    let (first, last) = (
        samples.first().copied().unwrap_or(0),
        samples.last().copied().unwrap_or(0),
    );
    let peak = samples.iter().copied().max().unwrap_or(0);
    let quarter = samples.get(samples.len() / 4).copied().unwrap_or(first);
    println!(
        "| resident memory (MiB): start, after a quarter, end, peak | {:.1}, {:.1}, {:.1}, {:.1} |",
        first as f64 / 1024.0,
        quarter as f64 / 1024.0,
        last as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    println!(
        "| invariants (friendships, blocklist counters, counted lists, user count and cap) | {} |",
        if off.is_empty() {
            "all hold".to_owned()
        } else {
            off.join("; ")
        }
    );
    for error in server_errors.iter().take(20) {
        eprintln!("5xx: {error}");
    }
    if !server_errors.is_empty() || !off.is_empty() {
        return Err("the soak found server errors or broken invariants".into());
    }
    Ok(())
}
