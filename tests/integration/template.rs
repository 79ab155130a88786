//! `template.yaml` agrees with the code: every function folder has its template function (same
//! binary, `bootstrap` handler), its event file and its route; every route the code serves is the
//! template's and leads to the same function; nothing in the template, the router or `events/`
//! is orphaned. A new operation missing from any of them fails here.

use std::collections::BTreeSet;
use std::path::PathBuf;

use local_api::template::Template;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn names_in(dir: &str, suffix: &str) -> BTreeSet<String> {
    std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8")
        })
        .filter_map(|name| name.strip_suffix(suffix).map(str::to_owned))
        .collect()
}

fn event(binary: &str) -> Value {
    let path = root().join("events").join(format!("{binary}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn functions_events_routes_and_template_agree() {
    let template = Template::shipped().expect("template.yaml");
    let folders = names_in("functions", "");
    let events = names_in("events", ".json");
    let in_template: BTreeSet<String> = template
        .functions
        .iter()
        .map(|f| f.binary.clone())
        .collect();
    assert_eq!(in_template, folders, "template functions vs functions/");
    assert_eq!(events, folders, "events/*.json vs functions/");

    let router = local_api::router::all();
    let served = router.functions();
    let websocket: BTreeSet<&str> = local_api::websocket::ROUTES.iter().map(|r| r.1).collect();
    let streams = local_api::stream::CONSUMERS;
    for function in &template.functions {
        let binary = function.binary.as_str();
        // The package builds a binary of that name (cargo-lambda and SAM build `--bin <Binary>`).
        let manifest =
            std::fs::read_to_string(root().join("functions").join(binary).join("Cargo.toml"))
                .expect("Cargo.toml");
        assert!(
            manifest.contains(&format!("name = \"{binary}\"")),
            "{binary}: package and binary named after the folder"
        );
        assert!(
            function.handler.as_deref().is_none_or(|h| h == "bootstrap"),
            "{binary}: handler"
        );
        let event = event(binary);
        let paths: BTreeSet<&str> = served
            .iter()
            .filter(|(_, f)| *f == binary)
            .map(|(p, _)| *p)
            .collect();
        let routed: BTreeSet<&str> = function
            .http_routes
            .iter()
            .map(|r| r.path.as_str())
            .collect();
        if !paths.is_empty() {
            // An HTTP API function: the router serves exactly the template's paths, POST allowed.
            assert_eq!(
                routed, paths,
                "{binary}: template paths vs the operation's PATHS"
            );
            for route in &function.http_routes {
                assert!(
                    ["ANY", "POST", "post", "any"].contains(&route.method.as_str()),
                    "{binary}: {} {}",
                    route.method,
                    route.path
                );
            }
            let path = event["rawPath"].as_str().unwrap_or_default();
            assert!(paths.contains(path), "{binary}: its event's path {path:?}");
            assert_eq!(
                event["requestContext"]["http"]["method"], "POST",
                "{binary}"
            );
            assert!(function.websocket_routes.is_empty() && function.stream_events.is_empty());
        } else if binary == local_api::server::PAGE_FUNCTION {
            // The Console page: GETs of its own paths, public, with no policy (it reads nothing);
            // the local API serves those paths through the same function's code.
            let routes: Vec<(&str, &str)> = function
                .http_routes
                .iter()
                .map(|r| (r.path.as_str(), r.method.as_str()))
                .collect();
            assert_eq!(
                routes,
                [("/console", "GET"), ("/console/{proxy+}", "GET")],
                "{binary}"
            );
            let doc: serde_yaml::Value =
                serde_yaml::from_str(local_api::table::TEMPLATE).expect("template.yaml");
            let events = &doc["Resources"][function.logical_id.as_str()]["Properties"]["Events"];
            assert!(
                events
                    .as_mapping()
                    .is_some_and(|e| e.values().all(|e| e["Properties"].get("Auth").is_none())),
                "{binary}: no authorizer"
            );
            assert!(function.statements.is_empty(), "{binary}: no policy");
            let path = event["rawPath"].as_str().unwrap_or_default();
            assert!(
                local_api::server::is_page_path(path),
                "{binary}: its event's path {path:?}"
            );
            assert_eq!(event["requestContext"]["http"]["method"], "GET", "{binary}");
            assert!(function.websocket_routes.is_empty() && function.stream_events.is_empty());
            // No operation's path is the page's (the console API is under /console/v1/).
            for (path, _) in &served {
                assert!(!local_api::server::is_page_path(path), "{path}");
            }
        } else if websocket.contains(binary) {
            let (route, _) = local_api::websocket::ROUTES
                .iter()
                .find(|r| r.1 == binary)
                .expect("route");
            assert_eq!(
                function.websocket_routes,
                [*route],
                "{binary}: WebSocket route"
            );
            assert_eq!(
                event["requestContext"]["routeKey"], *route,
                "{binary}: its event"
            );
            assert!(routed.is_empty(), "{binary}: no HTTP route");
        } else if !function.schedules.is_empty() {
            // A scheduled function: EventBridge's event, run by the local API on the same rate.
            assert_eq!(
                binary,
                local_api::schedule::SWEEP_FUNCTION,
                "{binary}: scheduled"
            );
            assert!(
                function
                    .schedules
                    .iter()
                    .all(|s| local_api::schedule::rate(s).is_some()),
                "{binary}: a schedule the local API runs"
            );
            assert_eq!(
                event["detail-type"], "Scheduled Event",
                "{binary}: its event"
            );
            assert!(
                routed.is_empty() && function.stream_events.is_empty(),
                "{binary}"
            );
        } else if !function.queue_events.is_empty() {
            // The webhook sender: SQS's event, run by the local API's queue.
            assert_eq!(
                binary,
                local_api::queue::SENDER_FUNCTION,
                "{binary}: queue-driven"
            );
            assert_eq!(
                event["Records"][0]["eventSource"], "aws:sqs",
                "{binary}: its event"
            );
            assert!(
                routed.is_empty() && function.stream_events.is_empty(),
                "{binary}"
            );
        } else {
            assert!(streams.contains(&binary), "{binary}: served by nothing");
            assert_eq!(
                function.stream_events.len(),
                1,
                "{binary}: its stream event"
            );
            assert_eq!(
                event["Records"][0]["eventSource"], "aws:dynamodb",
                "{binary}: its event"
            );
            assert!(routed.is_empty(), "{binary}: no HTTP route");
        }
    }
    // Every path the router serves belongs to a template function (no orphan route).
    for (path, binary) in &served {
        assert!(
            template.function(binary).is_some(),
            "{path} is served by {binary}, which template.yaml lacks"
        );
    }
}

/// A function's `main.rs`.
fn main_of(binary: &str) -> String {
    std::fs::read_to_string(root().join("functions").join(binary).join("src/main.rs"))
        .expect("main.rs")
}

/// The functions the template gives the WebSocket API's management endpoint are exactly those
/// whose `main` installs the closer (`lambda::run_closing`, `run_websocket_closing`): the others
/// neither link the management client nor build it at cold start, so one given the endpoint
/// without it would silently close nothing.
#[test]
fn the_functions_given_the_management_endpoint_install_the_closer() {
    let template = Template::shipped().expect("template.yaml");
    for function in &template.functions {
        let binary = function.binary.as_str();
        let main = main_of(binary);
        let closing = main.contains("::run_closing(") || main.contains("::run_websocket_closing(");
        assert_eq!(
            function.has_env("WEBSOCKET_MANAGEMENT_ENDPOINT"),
            closing,
            "{binary}: given the management endpoint iff its main installs the closer"
        );
    }
}

/// Likewise the webhook queue: the functions the template gives `WEBHOOK_QUEUE_URL` (and
/// `sqs:SendMessage` on the queue) are exactly those whose `main` installs the queue
/// (`lambda::run_queueing`, `run_event_queueing`), and the only SQS-driven function is the
/// sender, on that queue.
#[test]
fn the_functions_given_the_webhook_queue_install_it() {
    let template = Template::shipped().expect("template.yaml");
    for function in &template.functions {
        let binary = function.binary.as_str();
        let main = main_of(binary);
        let queueing = main.contains("::run_queueing(") || main.contains("::run_event_queueing(");
        assert_eq!(
            function.has_env("WEBHOOK_QUEUE_URL"),
            queueing,
            "{binary}: given the webhook queue iff its main installs it"
        );
        let policy = local_api::iam::Policy::of(function, "t");
        assert_eq!(
            policy.allows("sqs:SendMessage", &local_api::iam::webhook_queue_arn()),
            queueing,
            "{binary}: may send to the queue iff it queues"
        );
        let driven_by_queue = !function.queue_events.is_empty();
        assert_eq!(
            driven_by_queue,
            binary == local_api::queue::SENDER_FUNCTION,
            "{binary}"
        );
        if driven_by_queue {
            let queue = &function.queue_events[0]["Queue"];
            assert_eq!(
                serde_yaml::to_string(queue).expect("yaml").trim(),
                "!GetAtt WebhookQueue.Arn",
                "{binary}"
            );
        }
    }
}

/// Every Server API function may update rate counters, and only them through that grant (its
/// `dynamodb:LeadingKeys` condition); the console's `rateLimits` may name exactly the signed
/// paths.
#[test]
fn every_signed_function_may_count_its_calls_and_rate_limits_name_its_paths() {
    use local_api::iam::{Need, Policy, table_arn};
    use local_api::router::Access;
    let template = Template::shipped().expect("template.yaml");
    let router = local_api::router::all();
    let signed: BTreeSet<&str> = router
        .paths()
        .into_iter()
        .filter(|(_, access)| *access == Access::Signed)
        .map(|(path, _)| path)
        .collect();
    let listed: BTreeSet<&str> = shared::rate_limits::SERVER_API_PATHS
        .iter()
        .copied()
        .collect();
    assert_eq!(
        listed, signed,
        "rate_limits::SERVER_API_PATHS vs the signed routes"
    );
    let counter = shared::table::rate_pk("app", "op", 88_200_000);
    let update = |pk: &str| Need {
        action: "dynamodb:UpdateItem".into(),
        resource: table_arn("t"),
        leading_keys: Some(vec![pk.to_owned()]),
    };
    let served = router.functions();
    for (path, binary) in served {
        if !signed.contains(path) {
            continue;
        }
        let function = template.function(binary).expect("in the template");
        let policy = Policy::of(function, "t");
        assert!(
            policy.allows_need(&update(&counter)),
            "{binary}: may update its rate counters"
        );
    }
    // A read's policy grants the counter only: not the app's items.
    let get_user = Policy::of(template.function("get-user").expect("get-user"), "t");
    assert!(!get_user.allows_need(&update(&shared::table::user_pk("app", "alice"))));
}

/// Least privilege for writes: no function may write anywhere in the table. Each write action is
/// granted on the partitions the function writes (`dynamodb:LeadingKeys`), so a read-only
/// function writes nothing but its rate counters, and the webhook functions only the delivery
/// log.
#[test]
fn every_write_is_granted_on_named_partitions_only() {
    use local_api::iam::{Need, Policy, table_arn};
    let template = Template::shipped().expect("template.yaml");
    let write = |action: &str, pk: String| Need {
        action: format!("dynamodb:{action}"),
        resource: table_arn("t"),
        leading_keys: Some(vec![pk]),
    };
    // A partition no function writes.
    let nowhere = "ELSEWHERE#1".to_owned();
    for function in &template.functions {
        let policy = Policy::of(function, "t");
        for action in ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"] {
            assert!(
                !policy.allows_need(&write(action, nowhere.clone())),
                "{}: {action} anywhere in the table",
                function.binary
            );
        }
    }
    let policy = |binary: &str| Policy::of(template.function(binary).expect(binary), "t");
    let user = shared::table::user_pk("k1", "alice");
    let delivery = shared::items::WebhookDelivery::pk_of("k1", 494_000);
    // Reads write nothing of the app's data.
    for action in ["PutItem", "UpdateItem", "DeleteItem"] {
        assert!(!policy("get-user").allows_need(&write(action, user.clone())));
    }
    // The webhook functions write the delivery log, not users.
    assert!(policy("send-webhooks").allows_need(&write("UpdateItem", delivery.clone())));
    assert!(!policy("send-webhooks").allows_need(&write("UpdateItem", user.clone())));
    assert!(policy("produce-webhook-events").allows_need(&write("PutItem", delivery.clone())));
    assert!(!policy("produce-webhook-events").allows_need(&write("PutItem", user.clone())));
    // Token issue counts its user on the app item, whose key is `APP#` and the 16 characters
    // of an app key: that grant covers no partition below an app.
    let app_item = shared::table::app_pk("0123456789abcdef");
    assert!(policy("issue-access-token").allows_need(&write("UpdateItem", app_item)));
    let operation = shared::table::operation_pk("0123456789abcdef", "op1");
    assert!(!policy("issue-access-token").allows_need(&write("UpdateItem", operation)));
    // A change writes its users.
    assert!(policy("update-user").allows_need(&write("UpdateItem", user)));
}
