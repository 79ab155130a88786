//! Apps: the console's operations on the record (`app.rs`), and reads through the short
//! per-container cache every signed request uses.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::Deserialize;

pub use crate::app::*;
use crate::db::value;
use crate::error::ApiError;
use crate::state::State;
use crate::table;

fn random_token(len: usize) -> String {
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(len);
    out
}

fn app_key_attr(app_key: &str) -> HashMap<String, AttributeValue> {
    crate::db::key(table::app_pk(app_key), table::SK_APP)
}

/// What the console may set on an app. Absent fields keep their values.
///
/// A request sends them flat or inside `settings`, shaped as `get` shows them
/// (`{"environment": "production", "settings": {"rateLimits": "off"}}`), and any other field is
/// refused with 400/1002 naming it: an operator's typo must never answer 200 and change nothing.
/// (`remote = "Self"`: the derived code is the inner step of the `Deserialize` below.)
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(
        description = "What the console may set on an app; absent fields keep their values. Sent flat or inside `settings`, shaped as `get` shows them; any other field is refused with 400/1002 naming it."
    )
)]
#[serde(remote = "Self", rename_all = "camelCase", deny_unknown_fields)]
pub struct AppChanges {
    pub environment: Option<Environment>,
    pub plan: Option<Plan>,
    pub status: Option<AppStatus>,
    pub restrict_dm_to_friends: Option<bool>,
    pub default_friend_permission: Option<u8>,
    pub declared_ext_profile_keys: Option<Vec<String>>,
    pub webhook_url: Option<String>,
    pub webhook_events: Option<Vec<WebhookEvent>>,
    pub blocklist_limit: Option<u32>,
    /// `"off"` or `{"default": N, "<path>": N}`: replaces the whole setting.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<RateLimits>))]
    pub rate_limits: Option<serde_json::Value>,
    /// 0 (permanent) or 60 to 31,536,000 seconds.
    pub access_token_ttl_seconds: Option<u32>,
    /// Replaced by `webhookUrl`: refused with a message that says so, rather than ignored.
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub callback_url: Option<serde_json::Value>,
}

/// Fields `get` shows that no console call sets, with where they change instead.
const READ_ONLY: &[(&str, &str)] = &[
    ("appSecret", "is rotated by /console/v1/apps/rotate-secret"),
    (
        "webhookSecret",
        "is rotated by /console/v1/apps/rotate-webhook-secret",
    ),
    (
        "previousWebhookSecretUntil",
        "is set by /console/v1/apps/rotate-webhook-secret",
    ),
    ("userCount", "is counted by the service"),
    ("userCap", "follows environment and plan"),
    ("createdAt", "is set when the app is created"),
];

impl<'de> Deserialize<'de> for AppChanges {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::deserialize(deserializer)?;
        match fields.remove("settings") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Object(settings)) => {
                for (name, value) in settings {
                    if fields.contains_key(&name) {
                        return Err(D::Error::custom(format!(
                            "settings.{name}: is also sent outside settings"
                        )));
                    }
                    fields.insert(name, value);
                }
            }
            Some(_) => return Err(D::Error::custom("settings: must be an object")),
        }
        if let Some((name, why)) = READ_ONLY
            .iter()
            .find(|(name, _)| fields.contains_key(*name))
        {
            return Err(D::Error::custom(format!("{name}: {why}, not by this call")));
        }
        let mut track = serde_path_to_error::Track::new();
        let fields =
            serde_path_to_error::Deserializer::new(serde_json::Value::Object(fields), &mut track);
        AppChanges::deserialize(fields).map_err(|err| match track.path().to_string().as_str() {
            "." => D::Error::custom(err),
            path => D::Error::custom(format!("{path}: {err}")),
        })
    }
}

impl AppChanges {
    pub fn validate(&self) -> Result<(), ApiError> {
        if let Some(p) = self.default_friend_permission
            && !(1..=3).contains(&p)
        {
            return Err(ApiError::invalid(
                "defaultFriendPermission",
                "must be 1, 2 or 3",
            ));
        }
        if let Some(keys) = &self.declared_ext_profile_keys {
            crate::validate::max_items("declaredExtProfileKeys", keys, 20)?;
            for key in keys {
                let valid = key.len() <= 32
                    && key.starts_with("ext_")
                    && key.len() > 4
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if !valid {
                    return Err(ApiError::invalid(
                        "declaredExtProfileKeys",
                        format!(
                            "{key:?} is not ext_ followed by letters, digits or _ (at most 32)"
                        ),
                    ));
                }
            }
        }
        if self.callback_url.is_some() {
            return Err(ApiError::invalid(
                "callbackUrl",
                "is replaced by webhookUrl (and webhookEvents)",
            ));
        }
        self.webhook_url()?;
        if let Some(limit) = self.blocklist_limit
            && !(1..=3000).contains(&limit)
        {
            return Err(ApiError::invalid("blocklistLimit", "must be 1 to 3000"));
        }
        self.rate_limits()?;
        if let Some(ttl) = self.access_token_ttl_seconds
            && ttl != 0
            && !ACCESS_TOKEN_TTL_SECONDS.contains(&ttl)
        {
            return Err(ApiError::invalid(
                "accessTokenTtlSeconds",
                "must be 0 (permanent) or 60 to 31536000",
            ));
        }
        Ok(())
    }

    /// The `webhookUrl` sent, parsed and normalised (`None`: unchanged; `Some(None)`: `""`,
    /// delivery off).
    fn webhook_url(&self) -> Result<Option<Option<String>>, ApiError> {
        self.webhook_url
            .as_deref()
            .map(|url| match url {
                "" => Ok(None),
                url => crate::outbound::url::parse_webhook_url(url).map(Some),
            })
            .transpose()
    }

    /// The `rateLimits` sent, parsed (`None`: unchanged).
    fn rate_limits(&self) -> Result<Option<RateLimits>, ApiError> {
        self.rate_limits.as_ref().map(RateLimits::parse).transpose()
    }
}

pub async fn create(state: &State, changes: AppChanges) -> Result<App, ApiError> {
    changes.validate()?;
    let rate_limits = changes.rate_limits()?;
    let webhook_url = changes.webhook_url()?.flatten();
    let defaults = AppSettings::default();
    let app = App {
        app_key: random_token(16),
        app_secret: random_token(32),
        environment: changes.environment.unwrap_or(Environment::Development),
        plan: changes.plan.unwrap_or(Plan::Free),
        status: changes.status.unwrap_or(AppStatus::Enabled),
        user_count: 0,
        created_at: state.clock.now_ms(),
        settings: AppSettings {
            restrict_dm_to_friends: changes
                .restrict_dm_to_friends
                .unwrap_or(defaults.restrict_dm_to_friends),
            default_friend_permission: changes
                .default_friend_permission
                .unwrap_or(defaults.default_friend_permission),
            declared_ext_profile_keys: changes.declared_ext_profile_keys,
            webhook_url,
            webhook_events: changes
                .webhook_events
                .map(|events| crate::validate::dedup(&events))
                .unwrap_or_default(),
            webhook_secret: crate::outbound::sign::new_webhook_secret(),
            previous_webhook_secret: None,
            previous_webhook_secret_until: None,
            blocklist_limit: changes.blocklist_limit.unwrap_or(defaults.blocklist_limit),
            rate_limits: rate_limits.unwrap_or_default(),
            access_token_ttl_seconds: changes.access_token_ttl_seconds.unwrap_or_default(),
        },
    };
    let item = serde_dynamo::to_item(AppItem::listed(app.clone()))?;
    crate::db::put_item(state)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .send()
        .await?;
    Ok(app)
}

/// One page of every app, newest first (`GSI1` `APPS`: an index, so an app created a moment
/// ago may appear a second later), each with every user it registered.
pub async fn page(
    state: &State,
    page_size: usize,
    start: Option<crate::db::Item>,
) -> Result<(Vec<ListedApp>, Option<crate::db::Item>), ApiError> {
    let out = crate::db::query(state)
        .index_name(table::GSI1)
        .key_condition_expression("GSI1PK = :list")
        .expression_attribute_values(":list", crate::db::s(table::LIST_APPS))
        .scan_index_forward(false)
        .limit(i32::try_from(page_size).unwrap_or(i32::MAX))
        .set_exclusive_start_key(start)
        .send()
        .await?;
    let apps = out
        .items()
        .iter()
        .map(|item| from_item(item.clone()))
        .collect::<Result<Vec<App>, _>>()?;
    // An uncapped app counts on shards: read each app's, side by side.
    let listed = apps.iter().map(|app| async move {
        let user_count = crate::user_count::total(state, app).await?;
        Ok::<_, ApiError>(ListedApp {
            app_key: app.app_key.clone(),
            environment: app.environment,
            plan: app.plan,
            status: app.status,
            user_count,
            created_at: crate::clock::format_utc(app.created_at),
        })
    });
    let listed = futures::future::try_join_all(listed).await?;
    Ok((listed, out.last_evaluated_key))
}

/// Reads the app from the table (strongly consistent) and caches what it finds.
pub async fn load(state: &State, app_key: &str) -> Result<Option<Arc<App>>, ApiError> {
    let app = fetch(state, app_key).await?.map(Arc::new);
    state.apps.store(app_key, app.clone());
    Ok(app)
}

/// The app as the console shows it, with every user it registered (`user_count::total`).
pub async fn console_view(state: &State, app: &App) -> Result<AppView, ApiError> {
    Ok(AppView {
        user_count: crate::user_count::total(state, app).await?,
        ..app.view()
    })
}

/// Reads an app straight from the table (strongly consistent), bypassing the cache.
pub async fn fetch(state: &State, app_key: &str) -> Result<Option<App>, ApiError> {
    let out = crate::db::get_item(state)
        .set_key(Some(app_key_attr(app_key)))
        .consistent_read(true)
        .send()
        .await?;
    match out.item {
        Some(item) => Ok(Some(serde_dynamo::from_item::<_, AppItem>(item)?.app)),
        None => Ok(None),
    }
}

/// Applies the console's changes in one conditional `UpdateItem`, leaving the user count alone.
pub async fn update(state: &State, app_key: &str, changes: AppChanges) -> Result<App, ApiError> {
    changes.validate()?;
    let rate_limits = changes.rate_limits()?;
    let webhook_url = changes.webhook_url()?;
    let mut sets = vec![];
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    let mut set = |path: &[&str], value: AttributeValue| {
        let placeholder = format!(":v{}", values.len());
        let expr_path: Vec<String> = path
            .iter()
            .map(|segment| {
                let name = format!("#{segment}");
                names.insert(name.clone(), (*segment).to_owned());
                name
            })
            .collect();
        sets.push(format!("{} = {placeholder}", expr_path.join(".")));
        values.insert(placeholder, value);
    };
    if let Some(v) = changes.environment {
        set(&["environment"], value(v)?);
    }
    if let Some(v) = changes.plan {
        set(&["plan"], value(v)?);
    }
    if let Some(v) = changes.status {
        set(&["status"], value(v)?);
    }
    if let Some(v) = changes.restrict_dm_to_friends {
        set(&["settings", "restrictDmToFriends"], value(v)?);
    }
    if let Some(v) = changes.default_friend_permission {
        set(&["settings", "defaultFriendPermission"], value(v)?);
    }
    if let Some(keys) = &changes.declared_ext_profile_keys {
        set(&["settings", "declaredExtProfileKeys"], value(keys)?);
    }
    if let Some(url) = webhook_url {
        // Turned off with "": stored as null.
        set(&["settings", "webhookUrl"], value(url)?);
    }
    if let Some(events) = changes.webhook_events {
        set(
            &["settings", "webhookEvents"],
            value(crate::validate::dedup(&events))?,
        );
    }
    if let Some(v) = changes.access_token_ttl_seconds {
        set(&["settings", "accessTokenTtlSeconds"], value(v)?);
    }
    if let Some(v) = changes.blocklist_limit {
        set(&["settings", "blocklistLimit"], value(v)?);
    }
    if let Some(limits) = rate_limits {
        set(&["settings", "rateLimits"], value(limits)?);
    }
    if sets.is_empty() {
        return fetch(state, app_key).await?.ok_or_else(unknown_app);
    }
    let out = crate::db::update_item(state)
        .set_key(Some(app_key_attr(app_key)))
        .update_expression(format!("SET {}", sets.join(", ")))
        .condition_expression("attribute_exists(PK)")
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .map_err(not_found_on_condition)?;
    let item = out
        .attributes
        .ok_or_else(|| ApiError::Internal("update returned no item".into()))?;
    let app = serde_dynamo::from_item::<_, AppItem>(item)?.app;
    state.apps.forget(app_key);
    Ok(app)
}

/// Replaces the app secret. Every access token of the app dies with the old secret, because
/// token keys are derived from it.
pub async fn rotate_secret(state: &State, app_key: &str) -> Result<App, ApiError> {
    replace_secret(state, app_key, &["appSecret"], random_token(32)).await
}

/// How long the webhook secret a rotation replaced still signs deliveries beside the new one.
pub const WEBHOOK_SECRET_OVERLAP_MS: i64 = 24 * 3600 * 1000;

/// Replaces the webhook signing secret (`settings.webhookSecret`), keeping the one it replaces
/// as `previousWebhookSecret` until `previousWebhookSecretUntil` (now + the overlap), while
/// deliveries carry both signatures. One `UpdateItem` does all three and copies the replaced
/// secret itself (the right side of a `SET` reads the item as it was before the update), so no
/// read comes first and no concurrent rotation can slip between a read and the write. Rotating
/// again within the overlap keeps only the secret just replaced, with a new 24 hours: the one
/// before it stops signing at once.
pub async fn rotate_webhook_secret(state: &State, app_key: &str) -> Result<App, ApiError> {
    let until = state.clock.now_ms() + WEBHOOK_SECRET_OVERLAP_MS;
    let secret = crate::outbound::sign::new_webhook_secret();
    let request = crate::db::update_item(state)
        // An app stored before webhook secrets existed has none to keep: "" (never signs).
        .update_expression(
            "SET #s.#previous = if_not_exists(#s.#secret, :none), #s.#secret = :secret, \
             #s.#until = :until",
        )
        .expression_attribute_names("#s", "settings")
        .expression_attribute_names("#secret", "webhookSecret")
        .expression_attribute_names("#previous", "previousWebhookSecret")
        .expression_attribute_names("#until", "previousWebhookSecretUntil")
        .expression_attribute_values(":secret", AttributeValue::S(secret))
        .expression_attribute_values(":until", AttributeValue::N(until.to_string()))
        .expression_attribute_values(":none", AttributeValue::S(String::new()));
    updated_app(state, app_key, request).await
}

async fn replace_secret(
    state: &State,
    app_key: &str,
    path: &[&str],
    secret: String,
) -> Result<App, ApiError> {
    let mut request = crate::db::update_item(state);
    let mut names = Vec::new();
    for (i, segment) in path.iter().enumerate() {
        names.push(format!("#p{i}"));
        request = request.expression_attribute_names(format!("#p{i}"), *segment);
    }
    let request = request
        .update_expression(format!("SET {} = :secret", names.join(".")))
        .expression_attribute_values(":secret", AttributeValue::S(secret));
    updated_app(state, app_key, request).await
}

/// Applies `request` to the app (404 when there is none) and answers the app as updated, after
/// dropping this container's cached copy.
async fn updated_app(
    state: &State,
    app_key: &str,
    request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
) -> Result<App, ApiError> {
    let out = request
        .set_key(Some(app_key_attr(app_key)))
        .condition_expression("attribute_exists(PK)")
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .map_err(not_found_on_condition)?;
    let item = out
        .attributes
        .ok_or_else(|| ApiError::Internal("update returned no item".into()))?;
    state.apps.forget(app_key);
    Ok(serde_dynamo::from_item::<_, AppItem>(item)?.app)
}

/// App keys are letters and digits (they are part of every table key).
pub fn validate_app_key(app_key: &str) -> Result<(), ApiError> {
    if app_key.is_empty()
        || app_key.len() > 64
        || !app_key.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(ApiError::invalid(
            "appKey",
            "must be 1 to 64 letters and digits",
        ));
    }
    Ok(())
}

pub fn unknown_app() -> ApiError {
    ApiError::NotFound("no such app".into())
}

fn not_found_on_condition<R: std::fmt::Debug>(
    err: aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::update_item::UpdateItemError,
        R,
    >,
) -> ApiError {
    if crate::db::condition_failed(&err) {
        unknown_app()
    } else {
        err.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(environment: Environment, plan: Plan) -> App {
        App {
            app_key: "k".into(),
            app_secret: "s".into(),
            environment,
            plan,
            status: AppStatus::Enabled,
            user_count: 0,
            created_at: 0,
            settings: AppSettings::default(),
        }
    }

    #[test]
    fn cap_depends_on_environment_and_plan() {
        assert_eq!(
            app(Environment::Development, Plan::Pro).user_cap(),
            Some(100)
        );
        assert_eq!(
            app(Environment::Production, Plan::Free).user_cap(),
            Some(100)
        );
        assert_eq!(app(Environment::Production, Plan::Starter).user_cap(), None);
        assert_eq!(app(Environment::Production, Plan::Pro).user_cap(), None);
    }

    #[test]
    fn app_item_round_trips_through_dynamo_attributes() {
        let original = app(Environment::Production, Plan::Starter);
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(AppItem::listed(original.clone())).unwrap();
        assert_eq!(item["environment"], AttributeValue::S("production".into()));
        assert_eq!(
            item["PK"],
            AttributeValue::S(table::app_pk(&original.app_key))
        );
        assert_eq!(item["GSI1PK"], AttributeValue::S("APPS".into()));
        let back: AppItem = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back.app, original);
    }

    #[test]
    fn changes_are_validated() {
        let bad = AppChanges {
            default_friend_permission: Some(4),
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().code(), 1002);
        let bad = AppChanges {
            declared_ext_profile_keys: Some(vec!["color".into()]),
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().code(), 1002);
        let good = AppChanges {
            declared_ext_profile_keys: Some(vec!["ext_color".into()]),
            ..Default::default()
        };
        assert!(good.validate().is_ok());
        let url = |url: &str| AppChanges {
            webhook_url: Some(url.into()),
            ..Default::default()
        };
        for good in [
            "",
            "https://example.com/hook",
            "http://127.0.0.1:8080/x?a=1",
        ] {
            assert!(url(good).validate().is_ok(), "{good}");
        }
        for bad in [
            "ftp://example.com",
            "https://",
            "https:///path",
            "example.com",
            "https://a b",
        ] {
            assert_eq!(url(bad).validate().unwrap_err().code(), 1002, "{bad}");
        }
        assert!(
            url(&format!("https://e.com/{}", "a".repeat(1024)))
                .validate()
                .is_err()
        );
        let old = AppChanges {
            callback_url: Some(serde_json::json!("https://example.com")),
            ..Default::default()
        };
        assert!(
            old.validate()
                .unwrap_err()
                .to_string()
                .contains("webhookUrl")
        );
    }

    #[test]
    fn random_tokens_have_the_asked_length_and_differ() {
        assert_eq!(random_token(16).len(), 16);
        assert_eq!(random_token(40).len(), 40);
        assert_ne!(random_token(32), random_token(32));
    }
}
