//! Console requests apply what they are sent or refuse it: settings are accepted in the shape
//! `get` shows them (inside `settings`) as well as flat, and an unknown or read-only field is
//! 400/1002 naming it, with nothing changed.

use integration_tests::{Env, env};
use serde_json::{Value, json};

async fn app_view(env: &Env, app_key: &str) -> Value {
    let shown = env
        .console("/console/v1/apps/get", json!({"appKey": app_key}))
        .await;
    assert_eq!(shown.outcome(), (200, 0), "{}", shown.body);
    shown.body["result"].clone()
}

#[tokio::test]
async fn update_takes_settings_as_get_shows_them_and_refuses_what_it_would_ignore() {
    let env = env().await;
    let created = env
        .console(
            "/console/v1/apps/create",
            json!({"settings": {"blocklistLimit": 50}}),
        )
        .await;
    assert_eq!(created.outcome(), (200, 0), "{}", created.body);
    let app_key = created.body["result"]["appKey"]
        .as_str()
        .expect("appKey")
        .to_owned();
    assert_eq!(created.body["result"]["settings"]["blocklistLimit"], 50);

    // The shape `get` answers: applied, the URL normalised.
    let updated = env
        .console(
            "/console/v1/apps/update",
            json!({"appKey": app_key, "environment": "production", "settings": {
                "rateLimits": "off", "webhookUrl": "HTTPS://Hooks.Example.COM:443/chat",
                "restrictDmToFriends": true}}),
        )
        .await;
    assert_eq!(updated.outcome(), (200, 0), "{}", updated.body);
    let view = app_view(&env, &app_key).await;
    assert_eq!(view["environment"], "production");
    assert_eq!(view["settings"]["rateLimits"], "off");
    assert_eq!(view["settings"]["restrictDmToFriends"], true);
    assert_eq!(
        view["settings"]["webhookUrl"],
        "https://hooks.example.com/chat"
    );

    for (body, field) in [
        (
            json!({"appKey": app_key, "settingz": {"rateLimits": {}}}),
            "settingz",
        ),
        (
            json!({"appKey": app_key, "settings": {"rateLimit": {}}}),
            "rateLimit",
        ),
        (
            json!({"appKey": app_key, "settings": {"webhookSecret": "whsec_x"}}),
            "webhookSecret",
        ),
        (json!({"appKey": app_key, "userCount": 0}), "userCount"),
        (
            json!({"appKey": app_key, "blocklistLimit": 9, "settings": {"blocklistLimit": 8}}),
            "blocklistLimit",
        ),
        (
            json!({"appKey": app_key, "settings": {"blocklistLimit": "many"}}),
            "blocklistLimit",
        ),
        (
            json!({"appKey": app_key, "settings": {"webhookUrl": "https://x.example.com/h#frag"}}),
            "webhookUrl",
        ),
        (
            json!({"appKey": app_key, "settings": {"webhookUrl": "https://x.example.com/{id}"}}),
            "webhookUrl",
        ),
        (
            json!({"appKey": app_key, "settings": {"webhookUrl": "https://x.example.com:22/h"}}),
            "webhookUrl",
        ),
        (json!({"appKey": app_key, "settings": []}), "settings"),
    ] {
        let refused = env.console("/console/v1/apps/update", body.clone()).await;
        assert_eq!(refused.outcome(), (400, 1002), "{body}: {}", refused.body);
        let message = refused.body["errorMessage"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{body}: {message}");
    }
    assert_eq!(app_view(&env, &app_key).await, view, "nothing changed");

    // Create refuses an appKey (it makes one), the other console calls unknown fields.
    for (path, body) in [
        ("/console/v1/apps/create", json!({"appKey": "mine"})),
        (
            "/console/v1/apps/get",
            json!({"appKey": app_key, "verbose": true}),
        ),
        (
            "/console/v1/apps/rotate-secret",
            json!({"appKey": app_key, "now": true}),
        ),
        (
            "/console/v1/apps/rotate-webhook-secret",
            json!({"appKey": app_key, "x": 1}),
        ),
        (
            "/console/v1/apps/delete-test-user",
            json!({"appKey": app_key, "userId": "a", "x": 1}),
        ),
    ] {
        let refused = env.console(path, body.clone()).await;
        assert_eq!(
            refused.outcome(),
            (400, 1002),
            "{path} {body}: {}",
            refused.body
        );
    }
    assert_eq!(app_view(&env, &app_key).await, view, "nothing changed");
}
