//! Who may call the console on the local API, and what a function learns about the caller.
//!
//! Deployed, API Gateway's JWT authorizer admits a console call that carries a Cognito access
//! token with the scope `console/admin`, refuses anything else with HTTP 401
//! `{"message":"Unauthorized"}` before any function runs, and hands the function the token's
//! claims in the request context. Here the admin token `make local` prints admits a call
//! (automation, scripts, the SDK suite), and so does a session made from it
//! (`POST /console/session`): what a browser holds instead of the admin token, which expires like
//! a Cognito session and ends at sign-out (`POST /console/session/delete`). An admitted call gets
//! the request context the authorizer would give it ([`authorize`]); the rest get the same 401.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use shared::lambda_http::Request;
use shared::lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayV2httpRequestContext,
};
use shared::lambda_http::http::HeaderMap;
use shared::lambda_http::request::RequestContext;
use subtle::ConstantTimeEq;

/// How long a session lasts unless `LOCAL_CONSOLE_SESSION_SECONDS` says otherwise: the
/// deployed default (`ConsoleSessionMinutes`, 60).
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(3600);
/// The longest session: Cognito's longest access token (`ConsoleSessionMinutes` 1440).
pub const MAX_SESSION_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// The scope the deployed authorizer requires on every console route.
pub const CONSOLE_SCOPE: &str = "console/admin";
/// Who the admin token and its sessions act as (the `sub` and `username` claims).
pub const LOCAL_ADMIN: &str = "local-admin";
/// Sessions alive at once, at most: creating one needs the admin token, so this only bounds the
/// memory a runaway script can take.
const MAX_LIVE_SESSIONS: usize = 10_000;
/// Characters of a session token's SHA-256 (hex) that name it in claims and logs.
const SESSION_LABEL_LEN: usize = 8;

/// Whom a console call was admitted as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The admin token itself.
    Admin,
    /// A session; `label` is the start of its token's SHA-256, which names the session without
    /// revealing the token.
    Session { label: String },
}

impl Caller {
    /// The JWT claims the deployed authorizer would pass on, as strings like API Gateway's.
    pub fn claims(&self) -> Value {
        let mut claims = json!({ "sub": LOCAL_ADMIN, "username": LOCAL_ADMIN });
        if let Caller::Session { label } = self {
            claims["session"] = json!(label);
        }
        claims
    }
}

/// What admits a console call: [`ConsoleAuth`] (the local API: the admin token and sessions), or
/// a bare admin token (`str`: callers that make no sessions, like the benchmarks; `""` admits
/// nothing).
pub trait ConsoleGate: Send + Sync {
    fn admit(&self, headers: &HeaderMap) -> Option<Caller>;
}

impl ConsoleGate for str {
    fn admit(&self, headers: &HeaderMap) -> Option<Caller> {
        bearer(headers)
            .is_some_and(|token| is_admin_token(self, token))
            .then_some(Caller::Admin)
    }
}

/// The admin token and the live sessions (in memory: they end with the process, as a restart
/// of the local API signs everyone out).
pub struct ConsoleAuth {
    admin_token: Arc<str>,
    session_lifetime: Duration,
    /// SHA-256 of each live session's token → when it expires. Only digests are kept, and a
    /// token is found by its digest: timing can tell at most how a guess's digest compares to a
    /// stored one, which says nothing about the token behind it.
    sessions: Mutex<HashMap<[u8; 32], Instant>>,
}

/// A session just made: the token a browser sends as `Authorization: Bearer`, and its end.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    /// Unix ms.
    pub expires_at_ms: i64,
}

impl ConsoleAuth {
    /// `session_lifetime` above [`MAX_SESSION_LIFETIME`] is cut to it.
    pub fn new(admin_token: impl Into<Arc<str>>, session_lifetime: Duration) -> Self {
        Self {
            admin_token: admin_token.into(),
            session_lifetime: session_lifetime.min(MAX_SESSION_LIFETIME),
            sessions: Mutex::default(),
        }
    }

    pub fn session_lifetime(&self) -> Duration {
        self.session_lifetime
    }

    /// Whether the request carries the admin token (a session is not enough).
    pub fn is_admin(&self, headers: &HeaderMap) -> bool {
        self.admin_token.admit(headers).is_some()
    }

    /// A new session, or `None` when [`MAX_LIVE_SESSIONS`] are alive.
    pub fn create_session(&self) -> Option<NewSession> {
        let token = hex::encode(random_256_bits());
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.retain(|_, expires| *expires > now);
        if sessions.len() >= MAX_LIVE_SESSIONS {
            return None;
        }
        sessions.insert(digest(&token), now + self.session_lifetime);
        drop(sessions);
        let lifetime_ms = i64::try_from(self.session_lifetime.as_millis()).unwrap_or(i64::MAX);
        Some(NewSession {
            token,
            expires_at_ms: unix_ms().saturating_add(lifetime_ms),
        })
    }

    /// Ends the live session the request carries (sign-out); `false` when it carries none.
    pub fn revoke_session(&self, headers: &HeaderMap) -> bool {
        let Some(token) = bearer(headers) else {
            return false;
        };
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions
            .remove(&digest(token))
            .is_some_and(|expires| expires > now)
    }

    fn live_session(&self, token: &str) -> Option<Caller> {
        let key = digest(token);
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        match sessions.get(&key) {
            Some(expires) if *expires > now => Some(Caller::Session {
                label: hex::encode(key)[..SESSION_LABEL_LEN].to_owned(),
            }),
            Some(_) => {
                sessions.remove(&key);
                None
            }
            None => None,
        }
    }
}

impl ConsoleGate for ConsoleAuth {
    fn admit(&self, headers: &HeaderMap) -> Option<Caller> {
        let token = bearer(headers)?;
        if is_admin_token(&self.admin_token, token) {
            return Some(Caller::Admin);
        }
        self.live_session(token)
    }
}

/// Puts on `request` the context API Gateway gives a function behind its JWT authorizer: the
/// caller's claims and the console scope in `authorizer.jwt`. A request that already has an API
/// Gateway context (a recorded event) keeps the rest of it.
pub fn authorize(request: &mut Request, caller: &Caller) -> Result<(), serde_json::Error> {
    // The context types are non-exhaustive: they can only be made by deserializing.
    let authorizer = json!({ "jwt": { "claims": caller.claims(), "scopes": [CONSOLE_SCOPE] } });
    if let Some(RequestContext::ApiGatewayV2(context)) =
        request.extensions_mut().get_mut::<RequestContext>()
    {
        context.authorizer = Some(serde_json::from_value::<ApiGatewayRequestAuthorizer>(
            authorizer,
        )?);
        return Ok(());
    }
    let path = request.uri().path().to_owned();
    let user_agent = request
        .headers()
        .get("user-agent")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let context = serde_json::from_value::<ApiGatewayV2httpRequestContext>(json!({
        // The template's routes are `Method: ANY`.
        "routeKey": format!("ANY {path}"),
        "stage": "$default",
        "timeEpoch": unix_ms(),
        "http": {
            "method": request.method().as_str(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": user_agent,
        },
        "authorizer": authorizer,
    }))?;
    request
        .extensions_mut()
        .insert(RequestContext::ApiGatewayV2(context));
    Ok(())
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Constant-time in the token's content; an empty admin token admits nothing.
fn is_admin_token(admin_token: &str, presented: &str) -> bool {
    !admin_token.is_empty() && bool::from(admin_token.as_bytes().ct_eq(presented.as_bytes()))
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// 256 bits from the OS generator. `uuid`'s v4 draws from it (`getrandom`, which this crate does
/// not depend on directly); three v4 uuids carry 366 random bits, which SHA-256 condenses.
fn random_256_bits() -> [u8; 32] {
    let mut hasher = Sha256::new();
    for _ in 0..3 {
        hasher.update(uuid::Uuid::new_v4().as_bytes());
    }
    hasher.finalize().into()
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::lambda_http::http::HeaderValue;
    use shared::lambda_http::{Body, RequestExt};

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            HeaderValue::from_str(authorization).expect("a header value"),
        );
        headers
    }

    fn jwt(request: &Request) -> (HashMap<String, String>, Option<Vec<String>>) {
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            panic!("no API Gateway v2 context");
        };
        let jwt = context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref())
            .expect("a JWT authorizer context");
        (jwt.claims.clone(), jwt.scopes.clone())
    }

    #[test]
    fn the_admin_token_admits_in_a_bearer_header_only() {
        let auth = ConsoleAuth::new("admin-secret", DEFAULT_SESSION_LIFETIME);
        assert_eq!(
            auth.admit(&headers("Bearer admin-secret")),
            Some(Caller::Admin)
        );
        assert_eq!(
            auth.admit(&headers("bearer admin-secret")),
            Some(Caller::Admin)
        );
        for refused in [
            "admin-secret",
            "Basic admin-secret",
            "Bearer admin-secre",
            "Bearer admin-secret2",
            "Bearer ",
        ] {
            assert_eq!(auth.admit(&headers(refused)), None, "{refused}");
        }
        assert_eq!(auth.admit(&HeaderMap::new()), None);
        assert_eq!("".admit(&headers("Bearer ")), None);
        assert!(!ConsoleAuth::new("", DEFAULT_SESSION_LIFETIME).is_admin(&headers("Bearer ")));
    }

    #[test]
    fn a_session_admits_until_it_expires_or_is_revoked_but_is_not_the_admin() {
        let auth = ConsoleAuth::new("admin-secret", Duration::from_millis(200));
        let session = auth.create_session().expect("a session");
        assert_eq!(session.token.len(), 64);
        let bearer = headers(&format!("Bearer {}", session.token));
        let label = hex::encode(digest(&session.token))[..8].to_owned();
        assert_eq!(auth.admit(&bearer), Some(Caller::Session { label }));
        assert!(!auth.is_admin(&bearer));
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(auth.admit(&bearer), None);
        assert!(
            !auth.revoke_session(&bearer),
            "an expired session is no more"
        );

        let signed_out = auth.create_session().expect("a session");
        let bearer = headers(&format!("Bearer {}", signed_out.token));
        assert!(auth.revoke_session(&bearer));
        assert_eq!(auth.admit(&bearer), None);
        assert!(!auth.revoke_session(&bearer));
    }

    #[test]
    fn sessions_are_distinct_and_expire_when_they_say() {
        let auth = ConsoleAuth::new("admin-secret", DEFAULT_SESSION_LIFETIME);
        let before = unix_ms();
        let (a, b) = (
            auth.create_session().expect("a"),
            auth.create_session().expect("b"),
        );
        assert_ne!(a.token, b.token);
        let lifetime = i64::try_from(DEFAULT_SESSION_LIFETIME.as_millis()).expect("ms");
        assert!((before + lifetime..=unix_ms() + lifetime).contains(&a.expires_at_ms));
        assert_eq!(
            ConsoleAuth::new("t", Duration::from_secs(7 * 24 * 3600)).session_lifetime(),
            MAX_SESSION_LIFETIME
        );
    }

    #[test]
    fn an_admitted_request_carries_the_claims_a_jwt_authorizer_gives() {
        let mut request = Request::new(Body::Empty);
        *request.uri_mut() = "/console/v1/apps/get".parse().expect("a path");
        authorize(&mut request, &Caller::Admin).expect("a context");
        let (claims, scopes) = jwt(&request);
        assert_eq!(claims.get("sub").map(String::as_str), Some(LOCAL_ADMIN));
        assert_eq!(
            claims.get("username").map(String::as_str),
            Some(LOCAL_ADMIN)
        );
        assert_eq!(claims.get("session"), None);
        assert_eq!(scopes, Some(vec![CONSOLE_SCOPE.to_owned()]));
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            panic!("no context");
        };
        assert_eq!(
            context.route_key.as_deref(),
            Some("ANY /console/v1/apps/get")
        );

        let label = "0123abcd".to_owned();
        authorize(&mut request, &Caller::Session { label }).expect("a context");
        let (claims, _) = jwt(&request);
        assert_eq!(claims.get("session").map(String::as_str), Some("0123abcd"));
        assert_eq!(
            claims.get("username").map(String::as_str),
            Some(LOCAL_ADMIN)
        );
    }
}
