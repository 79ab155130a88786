//! Every `events/<function>.json` (a real API Gateway v2 payload) through its handler. The
//! events carry signing headers of a placeholder app; here they are re-signed for a test app.

use integration_tests::{ADMIN_TOKEN, env, event, sign_headers};
use serde_json::json;

const SIGNED: &[&str] = &[
    "issue-access-token",
    "get-user",
    "update-user",
    "expire-access-token",
];
const CONSOLE: &[&str] = &["create-app", "get-app", "update-app", "rotate-app-secret"];

#[tokio::test]
async fn every_function_has_an_event_that_its_handler_accepts() {
    let env = env().await;
    let app = env.dev_app().await;
    // The events address user "alice" and app key placeholders.
    for name in SIGNED {
        let mut request = event(name);
        assert_eq!(request.headers()["app-key"], "EVENTSAPPKEY", "{name}");
        sign_headers(
            request.headers_mut(),
            &app.app_key,
            &app.app_secret,
            env.state.clock.now_ms(),
        );
        let response = env.send(request).await;
        assert_eq!(response.outcome(), (200, 0), "{name}: {}", response.body);
    }
    for name in CONSOLE {
        let mut request = event(name);
        let body = std::str::from_utf8(request.body().as_ref())
            .unwrap()
            .replace("EVENTSAPPKEY", &app.app_key);
        *request.body_mut() = body.into();
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {ADMIN_TOKEN}").parse().unwrap(),
        );
        let response = env.send(request).await;
        assert_eq!(response.outcome(), (200, 0), "{name}: {}", response.body);
    }
    let functions: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for function in &functions {
        assert!(
            SIGNED.contains(&function.as_str()) || CONSOLE.contains(&function.as_str()),
            "{function} has no event test"
        );
    }
    let _ = json!({});
}
