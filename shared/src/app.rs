//! An app's record and settings, and the short per-container cache of apps: types only, below
//! every module that reads or writes apps (no `State`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
pub use crate::rate_limits::RateLimits;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Starter,
    Pro,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AppStatus {
    Enabled,
    Offline,
}

/// Registered users allowed in development, and in production on the free plan.
pub const FREE_USER_CAP: u32 = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AppSettings {
    pub restrict_dm_to_friends: bool,
    pub default_friend_permission: u8,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub declared_ext_profile_keys: Option<Vec<String>>,
    /// Where events are delivered (`None`: nowhere).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub webhook_url: Option<String>,
    /// The event types delivered (none by default).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub webhook_events: Vec<WebhookEvent>,
    /// `whsec_` + base64 of 32 random bytes: the Standard Webhooks signing key. Made with the
    /// app, replaced only by `rotate-webhook-secret`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub webhook_secret: String,
    /// The secret the last rotation replaced: deliveries are signed with it too, after the
    /// current one, until `previous_webhook_secret_until`, so receivers switch keys without a
    /// failed delivery. Stored, never shown: the console shows only the current secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub previous_webhook_secret: Option<String>,
    /// Until when (Unix ms) the previous secret signs too: shown, so the console states the
    /// grace period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_webhook_secret_until: Option<i64>,
    pub blocklist_limit: u32,
    /// Each Server API operation's limit per second (Nexconn's unless changed).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub rate_limits: RateLimits,
    /// How long an access token works after it is issued, in seconds; 0: permanent (Nexconn's
    /// Console default). Applies to tokens issued after it changes.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub access_token_ttl_seconds: u32,
}

/// `accessTokenTtlSeconds` other than 0: 1 minute to 1 year.
pub const ACCESS_TOKEN_TTL_SECONDS: std::ops::RangeInclusive<u32> = 60..=31_536_000;

/// The user events an app can select for its webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WebhookEvent {
    #[serde(rename = "user:connection_status")]
    ConnectionStatus,
    #[serde(rename = "user:activation_state")]
    ActivationState,
    #[serde(rename = "user:profile_update")]
    ProfileUpdate,
    #[serde(rename = "user:friendship")]
    Friendship,
}

impl WebhookEvent {
    pub fn name(self) -> &'static str {
        match self {
            Self::ConnectionStatus => "user:connection_status",
            Self::ActivationState => "user:activation_state",
            Self::ProfileUpdate => "user:profile_update",
            Self::Friendship => "user:friendship",
        }
    }
}

impl AppSettings {
    /// How long a token issued now works, in ms; `None`: permanent.
    pub fn access_token_ttl(&self) -> Option<i64> {
        (self.access_token_ttl_seconds > 0).then(|| i64::from(self.access_token_ttl_seconds) * 1000)
    }

    /// Whether events of this type are delivered now.
    pub fn delivers(&self, event: WebhookEvent) -> bool {
        self.webhook_url.is_some() && self.webhook_events.contains(&event)
    }
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            restrict_dm_to_friends: false,
            default_friend_permission: 2,
            declared_ext_profile_keys: None,
            webhook_url: None,
            webhook_events: Vec::new(),
            webhook_secret: String::new(),
            previous_webhook_secret: None,
            previous_webhook_secret_until: None,
            blocklist_limit: 3000,
            rate_limits: RateLimits::default(),
            access_token_ttl_seconds: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub app_key: String,
    pub app_secret: String,
    pub environment: Environment,
    pub plan: Plan,
    pub status: AppStatus,
    #[serde(default)]
    pub user_count: u64,
    pub created_at: i64,
    #[serde(default)]
    pub settings: AppSettings,
}

impl App {
    /// The app as the console shows it: everything but the secret.
    pub fn view(&self) -> AppView {
        AppView {
            app_key: self.app_key.clone(),
            app_secret: None,
            environment: self.environment,
            plan: self.plan,
            status: self.status,
            user_count: self.user_count,
            user_cap: self.user_cap(),
            created_at: crate::clock::format_utc(self.created_at),
            settings: AppSettings {
                previous_webhook_secret: None,
                ..self.settings.clone()
            },
        }
    }

    /// The registered-user cap, or `None` when unlimited (production on a paid plan).
    pub fn user_cap(&self) -> Option<u32> {
        match (self.environment, self.plan) {
            (Environment::Production, Plan::Starter | Plan::Pro) => None,
            _ => Some(FREE_USER_CAP),
        }
    }
}

/// The console's answer about an app; the secret only when the app is created.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AppView {
    pub app_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_secret: Option<String>,
    pub environment: Environment,
    pub plan: Plan,
    pub status: AppStatus,
    pub user_count: u64,
    /// `null` when unlimited.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub user_cap: Option<u32>,
    pub created_at: String,
    pub settings: AppSettings,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct AppItem {
    #[serde(rename = "PK")]
    pub(crate) pk: String,
    #[serde(rename = "SK")]
    pub(crate) sk: String,
    /// The console's list of every app (`GSI1` `APPS`), set when the app is created.
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    pub(crate) listed_in: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    pub(crate) listed_at: Option<String>,
    #[serde(flatten)]
    pub(crate) app: App,
}

impl AppItem {
    /// The item of a new app, in the list of every app.
    pub(crate) fn listed(app: App) -> Self {
        Self {
            pk: format!("APP#{}", app.app_key),
            sk: "APP".to_owned(),
            listed_in: Some(crate::table::LIST_APPS.to_owned()),
            listed_at: Some(crate::table::time_sort_key(app.created_at, &app.app_key)),
            app,
        }
    }
}

/// One app as the console's list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListedApp {
    pub app_key: String,
    pub environment: Environment,
    pub plan: Plan,
    pub status: AppStatus,
    pub user_count: u64,
    pub created_at: String,
}

/// The app of a stored app item.
pub fn from_item(item: HashMap<String, AttributeValue>) -> Result<App, ApiError> {
    Ok(serde_dynamo::from_item::<_, AppItem>(item)?.app)
}

/// Apps cached per container for a short time, so a read can run with the app's settings while
/// the app as stored now is checked beside it (`crate::auth`). Console changes made in another
/// container reach a cached copy's settings within the TTL; the secret and status are checked
/// against the stored app on every request.
///
/// Keys found to name no app are remembered too, for [`ABSENT_TTL`]: a flood of requests with
/// made-up App-Keys (or `$connect` tokens with forged `app` claims) then costs one read per key
/// per container per minute. At most [`MAX_ABSENT`] such keys are kept, so the flood cannot grow
/// the container's memory; past that, expired ones are dropped, then all of them.
pub struct AppCache {
    ttl: Duration,
    entries: Mutex<Entries>,
}

/// How long a key that names no app is answered from the cache.
pub const ABSENT_TTL: Duration = Duration::from_secs(60);
/// How many keys that name no app a container remembers at most.
pub const MAX_ABSENT: usize = 10_000;

#[derive(Default)]
struct Entries {
    apps: HashMap<String, (Instant, Arc<App>)>,
    absent: HashMap<String, Instant>,
    /// When a cached app was last re-read because a request's signature did not match it.
    rereads: HashMap<String, Instant>,
}

/// How often a container re-reads a cached app because a signature did not match it: a new
/// secret works within a second, and a flood of bad signatures (App-Keys are public in client
/// apps) costs the app item one read per container per second, not one per request.
pub const REREAD_INTERVAL: Duration = Duration::from_secs(1);

impl AppCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(Entries::default()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long an entry is served without a re-read.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Caches what a strongly consistent read found (`None`: no such app).
    pub fn store(&self, app_key: &str, app: Option<Arc<App>>) {
        let mut entries = self.entries();
        match app {
            Some(app) => {
                entries.absent.remove(app_key);
                entries
                    .apps
                    .insert(app_key.to_owned(), (Instant::now(), app));
            }
            None => {
                entries.apps.remove(app_key);
                if entries.absent.len() >= MAX_ABSENT {
                    entries.absent.retain(|_, at| at.elapsed() < ABSENT_TTL);
                }
                if entries.absent.len() >= MAX_ABSENT {
                    entries.absent.clear();
                }
                entries.absent.insert(app_key.to_owned(), Instant::now());
            }
        }
    }

    /// The cached app, if the container read it within the TTL (no I/O).
    pub fn peek(&self, app_key: &str) -> Option<Arc<App>> {
        self.entries()
            .apps
            .get(app_key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, app)| app.clone())
    }

    /// Whether a read within the last [`ABSENT_TTL`] found no app under this key (no I/O).
    pub fn known_absent(&self, app_key: &str) -> bool {
        self.entries()
            .absent
            .get(app_key)
            .is_some_and(|at| at.elapsed() < ABSENT_TTL)
    }

    /// Whether this request may re-read the cached app whose secret its signature did not
    /// match: once per [`REREAD_INTERVAL`] per app (no I/O). Only cached apps are tracked, so
    /// the bookkeeping is bounded by the apps the container serves.
    pub fn claim_reread(&self, app_key: &str) -> bool {
        let mut entries = self.entries();
        if !entries.apps.contains_key(app_key) {
            return true;
        }
        match entries.rereads.get(app_key) {
            Some(at) if at.elapsed() < REREAD_INTERVAL => false,
            _ => {
                entries.rereads.insert(app_key.to_owned(), Instant::now());
                true
            }
        }
    }

    /// Puts an app in the cache as if it had just been read (tests start warm with it).
    pub fn remember(&self, app: Arc<App>) {
        self.store(&app.app_key.clone(), Some(app));
    }

    pub fn forget(&self, app_key: &str) {
        let mut entries = self.entries();
        entries.apps.remove(app_key);
        entries.absent.remove(app_key);
        entries.rereads.remove(app_key);
    }
}
