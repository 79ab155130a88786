//! The Console web page: the static files of `console/` (compiled in), served at `/console/` on
//! AWS by this function (`GET /console` and `GET /console/{proxy+}` of the HTTP API) and locally
//! by the local API, which calls the same [`respond`]. The files are the same on every stack;
//! what differs is `config.json`, which says how a person signs in (docs/CONSOLE.md).

use std::sync::LazyLock;
use std::time::Instant;

use lambda_http::Body;
use lambda_http::http::{self, HeaderValue, Response, StatusCode, header};
use sha2::{Digest, Sha256};

const INDEX_HTML: &str = include_str!("../../../console/index.html");
const CONSOLE_JS: &str = include_str!("../../../console/console.js");
const CONSOLE_CSS: &str = include_str!("../../../console/console.css");

/// The page's `operation` in the stack's metrics: its binary's name, like every operation's.
pub const NAME: &str = "console-page";

/// The page's address without its slash: redirected to [`INDEX_PATH`], so the page's relative
/// asset URLs resolve under `/console/`.
pub const ROOT_PATH: &str = "/console";
pub const INDEX_PATH: &str = "/console/";
/// The console API shares the prefix; its paths are never the page's.
const API_PREFIX: &str = "/console/v1/";

/// The scopes the page asks Cognito for: who the person is (`openid email`) and the console's own
/// scope, which the console routes' JWT authorizer requires.
pub const COGNITO_SCOPE: &str = "openid email console/admin";

/// Environment variables the template sets on AWS (both or neither).
pub const COGNITO_DOMAIN_VAR: &str = "COGNITO_DOMAIN";
pub const COGNITO_CLIENT_ID_VAR: &str = "COGNITO_CLIENT_ID";

/// The page's assets may be cached briefly and revalidated by ETag; the index and config.json
/// are revalidated on every load, so a deploy shows its new page at once.
const ASSET_CACHE: &str = "public, max-age=300";
const REVALIDATE: &str = "no-cache";

/// The policy's fixed part: nothing may load but the page's own script, style and images (and
/// `data:` images: the favicon), no form posts elsewhere, no framing, no `<base>`.
const POLICY_HEAD: &str = "default-src 'none'; script-src 'self'; style-src 'self'";
const POLICY_TAIL: &str =
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// How a person signs in to the Console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Locally: the admin token the local API prints, exchanged for a session.
    Token,
    /// On AWS: the Cognito user pool's hosted UI, authorization code with PKCE.
    Cognito {
        /// `https://` and a host name, nothing else (it is written into the CSP header).
        domain: String,
        client_id: String,
    },
}

/// Everything that differs between stacks, with what follows from it built once.
#[derive(Debug, Clone)]
pub struct PageConfig {
    sign_in: SignIn,
    config_json: String,
    config_etag: String,
    policy: String,
}

/// A Cognito setting the page cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl PageConfig {
    /// Sign-in with the local admin token (the local API).
    pub fn local() -> Self {
        Self::with(SignIn::Token)
    }

    /// Sign-in through Cognito's hosted UI at `domain` (`https://<host>`) with the app client
    /// `client_id`.
    pub fn cognito(domain: &str, client_id: &str) -> Result<Self, ConfigError> {
        let host = domain
            .strip_prefix("https://")
            .ok_or_else(|| ConfigError(format!("{COGNITO_DOMAIN_VAR} must start with https://")))?;
        // Written into the Content-Security-Policy header and the page's redirects: a host name
        // and nothing else, so no value can add a directive or a path.
        let host_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !host_ok {
            return Err(ConfigError(format!(
                "{COGNITO_DOMAIN_VAR} must be https:// and a host name (lowercase letters, digits, dots, hyphens), got {domain:?}"
            )));
        }
        // Cognito app client ids are letters and digits.
        let client_ok = !client_id.is_empty()
            && client_id.len() <= 128
            && client_id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !client_ok {
            return Err(ConfigError(format!(
                "{COGNITO_CLIENT_ID_VAR} must be letters and digits, got {client_id:?}"
            )));
        }
        Ok(Self::with(SignIn::Cognito {
            domain: domain.to_owned(),
            client_id: client_id.to_owned(),
        }))
    }

    /// From the two settings as the environment gives them: both set, Cognito; neither, the
    /// admin token; one alone is a mistake in the template.
    pub fn from_settings(
        domain: Option<&str>,
        client_id: Option<&str>,
    ) -> Result<Self, ConfigError> {
        fn set(value: Option<&str>) -> Option<&str> {
            value.map(str::trim).filter(|v| !v.is_empty())
        }
        match (set(domain), set(client_id)) {
            (Some(domain), Some(client_id)) => Self::cognito(domain, client_id),
            (None, None) => Ok(Self::local()),
            _ => Err(ConfigError(format!(
                "set both {COGNITO_DOMAIN_VAR} and {COGNITO_CLIENT_ID_VAR}, or neither"
            ))),
        }
    }

    /// From `COGNITO_DOMAIN` and `COGNITO_CLIENT_ID` (the template sets them on AWS).
    pub fn from_env() -> Result<Self, ConfigError> {
        let domain = std::env::var(COGNITO_DOMAIN_VAR).ok();
        let client_id = std::env::var(COGNITO_CLIENT_ID_VAR).ok();
        Self::from_settings(domain.as_deref(), client_id.as_deref())
    }

    pub fn sign_in(&self) -> &SignIn {
        &self.sign_in
    }

    /// The `Content-Security-Policy` every answer carries.
    pub fn content_security_policy(&self) -> &str {
        &self.policy
    }

    fn with(sign_in: SignIn) -> Self {
        let mut config = serde_json::Map::new();
        // The page may call its own origin, and Cognito's token endpoint when it signs in there.
        let connect = match &sign_in {
            SignIn::Token => {
                config.insert("signIn".into(), "token".into());
                "connect-src 'self'".to_owned()
            }
            SignIn::Cognito { domain, client_id } => {
                config.insert("signIn".into(), "cognito".into());
                config.insert("domain".into(), domain.as_str().into());
                config.insert("clientId".into(), client_id.as_str().into());
                config.insert("scope".into(), COGNITO_SCOPE.into());
                format!("connect-src 'self' {domain}")
            }
        };
        config.insert("rateLimits".into(), rate_limit_defaults());
        let config_json = serde_json::Value::Object(config).to_string();
        Self {
            sign_in,
            config_etag: etag_of(&config_json),
            config_json,
            policy: format!("{POLICY_HEAD}; {connect}; {POLICY_TAIL}"),
        }
    }
}

/// Nexconn's limit per second of every Server API path (the console shows them beside the app's
/// overrides), from the table the rate limiter itself uses.
fn rate_limit_defaults() -> serde_json::Value {
    use shared::rate_limits::{NEXCONN_DEFAULT, RateLimits, SERVER_API_PATHS};
    let nexconn = RateLimits::default();
    let operations: serde_json::Map<String, serde_json::Value> = SERVER_API_PATHS
        .iter()
        .map(|path| {
            let limit = nexconn.limit_for(&[path]).unwrap_or(0);
            ((*path).to_owned(), limit.into())
        })
        .collect();
    serde_json::json!({ "default": NEXCONN_DEFAULT, "operations": operations })
}

/// A strong ETag: the first 16 bytes of the content's SHA-256.
fn etag_of(content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..16]))
}

struct Asset {
    body: &'static str,
    content_type: &'static str,
    cache: &'static str,
    etag: String,
}

impl Asset {
    fn new(body: &'static str, content_type: &'static str, cache: &'static str) -> Self {
        Self {
            body,
            content_type,
            cache,
            etag: etag_of(body),
        }
    }
}

/// The compiled-in files by path; their ETags hashed once per container.
static ASSETS: LazyLock<[(&str, Asset); 3]> = LazyLock::new(|| {
    [
        (
            INDEX_PATH,
            Asset::new(INDEX_HTML, "text/html; charset=utf-8", REVALIDATE),
        ),
        (
            "/console/console.js",
            Asset::new(CONSOLE_JS, "text/javascript; charset=utf-8", ASSET_CACHE),
        ),
        (
            "/console/console.css",
            Asset::new(CONSOLE_CSS, "text/css; charset=utf-8", ASSET_CACHE),
        ),
    ]
});
const CONFIG_PATH: &str = "/console/config.json";

/// Whether `path` is the page's (the local API serves these `GET`s through [`respond`]); the
/// console API under `/console/v1/` is not.
pub fn is_page_path(path: &str) -> bool {
    path == ROOT_PATH || (path.starts_with(INDEX_PATH) && !path.starts_with(API_PREFIX))
}

/// The answer to `GET path`: the page, an asset, `config.json`, the redirect from `/console`,
/// or 404. Every answer carries the page's security headers.
pub fn answer(path: &str, config: &PageConfig) -> Response<Body> {
    let builder = Response::builder()
        .header(header::CONTENT_SECURITY_POLICY, config.policy.as_str())
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer");
    let built = if path == ROOT_PATH {
        builder
            .status(StatusCode::MOVED_PERMANENTLY)
            .header(header::LOCATION, INDEX_PATH)
            .body(Body::Empty)
    } else if path == CONFIG_PATH {
        builder
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, REVALIDATE)
            .header(header::ETAG, config.config_etag.as_str())
            .body(Body::Text(config.config_json.clone()))
    } else if let Some((_, asset)) = ASSETS.iter().find(|(at, _)| *at == path) {
        builder
            .header(header::CONTENT_TYPE, asset.content_type)
            .header(header::CACHE_CONTROL, asset.cache)
            .header(header::ETAG, asset.etag.as_str())
            .body(Body::Text(asset.body.to_owned()))
    } else {
        // What API Gateway answers for a path no route serves.
        builder
            .status(StatusCode::NOT_FOUND)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, REVALIDATE)
            .body(Body::Text(r#"{"message":"Not Found"}"#.to_owned()))
    };
    // The headers are constants and validated settings; a failure here is a bug, answered as
    // API Gateway answers a failed function rather than with a panic.
    built.unwrap_or_else(|_| {
        let mut failed = Response::new(Body::Text(r#"{"message":"Internal Server Error"}"#.into()));
        *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        failed
    })
}

/// `answer` turned into `304 Not Modified` when the browser's `If-None-Match` names its ETag.
pub fn revalidated(response: Response<Body>, if_none_match: Option<&str>) -> Response<Body> {
    let Some(etag) = response.headers().get(header::ETAG) else {
        return response;
    };
    let matches = if_none_match.is_some_and(|listed| {
        listed.split(',').map(str::trim).any(|candidate| {
            candidate == "*" || candidate.trim_start_matches("W/").as_bytes() == etag.as_bytes()
        })
    });
    if response.status() != StatusCode::OK || !matches {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.status = StatusCode::NOT_MODIFIED;
    parts.headers.remove(header::CONTENT_TYPE);
    Response::from_parts(parts, Body::Empty)
}

/// A `GET` request's answer: [`answer`] for its path, revalidated against its `If-None-Match`.
pub fn respond<B>(request: &http::Request<B>, config: &PageConfig) -> Response<Body> {
    let if_none_match = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value: &HeaderValue| value.to_str().ok());
    revalidated(answer(request.uri().path(), config), if_none_match)
}

/// [`respond`], counted and timed as every operation's call is (calls by status, latency), so the
/// stack's dashboard and latency alarm cover the page as they cover the API.
pub fn respond_measured<B>(request: &http::Request<B>, config: &PageConfig) -> Response<Body> {
    let started = Instant::now();
    let response = respond(request, config);
    let no_dynamodb = shared::metrics::Usage::default();
    shared::metrics::answered(
        NAME,
        response.status().as_u16(),
        0,
        started.elapsed(),
        no_dynamodb,
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(response: &Response<Body>) -> &str {
        match response.body() {
            Body::Text(text) => text,
            Body::Empty => "",
            other => panic!("not a text body: {other:?}"),
        }
    }

    fn header_of(response: &Response<Body>, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(&name)
            .unwrap_or_else(|| panic!("no {name}"))
            .to_str()
            .expect("ASCII header")
    }

    const EVERY_KIND_OF_PATH: &[&str] = &[
        "/console",
        "/console/",
        "/console/console.js",
        "/console/console.css",
        "/console/config.json",
        "/console/nothing-here",
        "/console/v1/apps/get",
        "/elsewhere",
    ];

    #[test]
    fn the_page_weighs_at_most_150_kb() {
        let weight = INDEX_HTML.len() + CONSOLE_JS.len() + CONSOLE_CSS.len();
        assert!(weight <= 150_000, "html + js + css = {weight} bytes");
    }

    #[test]
    fn every_answer_carries_the_strict_policy_and_the_other_security_headers() {
        let expected = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        let config = PageConfig::local();
        for path in EVERY_KIND_OF_PATH {
            let response = answer(path, &config);
            assert_eq!(
                header_of(&response, header::CONTENT_SECURITY_POLICY),
                expected,
                "{path}"
            );
            assert_eq!(
                header_of(&response, header::X_CONTENT_TYPE_OPTIONS),
                "nosniff"
            );
            assert_eq!(header_of(&response, header::REFERRER_POLICY), "no-referrer");
        }
    }

    #[test]
    fn with_cognito_the_page_may_also_reach_the_token_endpoint_and_nothing_else() {
        let config = PageConfig::cognito(
            "https://login.example.auth.us-east-1.amazoncognito.com",
            "abc123",
        )
        .expect("valid");
        let policy = config.content_security_policy();
        let connect: Vec<&str> = policy
            .split(';')
            .map(str::trim)
            .filter(|d| d.starts_with("connect-src"))
            .collect();
        assert_eq!(
            connect,
            ["connect-src 'self' https://login.example.auth.us-east-1.amazoncognito.com"]
        );
        assert!(policy.starts_with("default-src 'none'; script-src 'self'; style-src 'self';"));
        let json: serde_json::Value =
            serde_json::from_str(text(&answer("/console/config.json", &config))).expect("JSON");
        assert_eq!(json["signIn"], "cognito");
        assert_eq!(
            json["domain"],
            "https://login.example.auth.us-east-1.amazoncognito.com"
        );
        assert_eq!(json["clientId"], "abc123");
        assert_eq!(json["scope"], "openid email console/admin");
    }

    #[test]
    fn a_cognito_setting_that_could_change_the_policy_or_a_url_is_refused() {
        for domain in [
            "http://login.example.com",
            "https://login.example.com; script-src *",
            "https://login.example.com/path",
            "https://Login.example.com",
            "https://",
            "login.example.com",
        ] {
            assert!(PageConfig::cognito(domain, "abc123").is_err(), "{domain}");
        }
        for client_id in ["", "abc 123", "abc\"", "abc;"] {
            assert!(
                PageConfig::cognito("https://login.example.com", client_id).is_err(),
                "{client_id:?}"
            );
        }
    }

    #[test]
    fn both_cognito_settings_or_neither() {
        let local = PageConfig::from_settings(None, Some(" ")).expect("neither");
        assert_eq!(local.sign_in(), &SignIn::Token);
        let cognito =
            PageConfig::from_settings(Some("https://a.example.com"), Some("c1")).expect("both");
        assert!(matches!(cognito.sign_in(), SignIn::Cognito { .. }));
        assert!(PageConfig::from_settings(Some("https://a.example.com"), None).is_err());
        assert!(PageConfig::from_settings(None, Some("c1")).is_err());
    }

    #[test]
    fn locally_config_json_says_token_and_lists_nexconns_limits() {
        let response = answer("/console/config.json", &PageConfig::local());
        assert_eq!(response.status(), 200);
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            "application/json"
        );
        let json: serde_json::Value = serde_json::from_str(text(&response)).expect("JSON");
        assert_eq!(json["signIn"], "token");
        assert!(json.get("domain").is_none());
        let limits = &json["rateLimits"];
        assert_eq!(limits["default"], 100);
        assert_eq!(limits["operations"]["/v4/auth/access-token/issue"], 200);
        assert_eq!(limits["operations"]["/v4/user/tag/batch/set"], 10);
        assert_eq!(limits["operations"]["/v4/user/get"], 100);
        assert_eq!(
            limits["operations"].as_object().map(|o| o.len()),
            Some(shared::rate_limits::SERVER_API_PATHS.len())
        );
    }

    #[test]
    fn routes() {
        let config = PageConfig::local();
        let root = answer("/console", &config);
        assert_eq!(root.status(), 301);
        assert_eq!(header_of(&root, header::LOCATION), "/console/");
        for (path, content_type, cache) in [
            ("/console/", "text/html; charset=utf-8", "no-cache"),
            (
                "/console/console.js",
                "text/javascript; charset=utf-8",
                "public, max-age=300",
            ),
            (
                "/console/console.css",
                "text/css; charset=utf-8",
                "public, max-age=300",
            ),
            ("/console/config.json", "application/json", "no-cache"),
        ] {
            let response = answer(path, &config);
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(header_of(&response, header::CONTENT_TYPE), content_type);
            assert_eq!(header_of(&response, header::CACHE_CONTROL), cache, "{path}");
            assert!(
                header_of(&response, header::ETAG).starts_with('"'),
                "{path}"
            );
            assert!(!text(&response).is_empty(), "{path}");
        }
        for path in [
            "/console/v1/apps/get",
            "/console/index.html",
            "/console/console.js/",
            "/console/../console/console.js",
            "/elsewhere",
        ] {
            let response = answer(path, &config);
            assert_eq!(response.status(), 404, "{path}");
            assert_eq!(text(&response), r#"{"message":"Not Found"}"#);
        }
        assert!(is_page_path("/console") && is_page_path("/console/x"));
        assert!(!is_page_path("/console/v1/apps/get") && !is_page_path("/consoles"));
    }

    #[test]
    fn an_unchanged_file_is_not_sent_again() {
        let config = PageConfig::local();
        let first = answer("/console/console.js", &config);
        let etag = header_of(&first, header::ETAG).to_owned();
        let again = revalidated(answer("/console/console.js", &config), Some(&etag));
        assert_eq!(again.status(), 304);
        assert_eq!(text(&again), "");
        assert_eq!(header_of(&again, header::ETAG), etag);
        let weak = format!("\"other\", W/{etag}");
        assert_eq!(
            revalidated(answer("/console/console.js", &config), Some(&weak)).status(),
            304
        );
        let changed = revalidated(answer("/console/console.js", &config), Some("\"other\""));
        assert_eq!(changed.status(), 200);
        assert_eq!(text(&changed), CONSOLE_JS);
        let missing = revalidated(answer("/console/missing", &config), Some("*"));
        assert_eq!(missing.status(), 404);
    }

    /// The policy forbids inline script and style: the page must not need them (a browser would
    /// silently ignore them), and it loads exactly the assets this crate serves.
    #[test]
    fn the_page_has_no_inline_script_or_style_and_loads_only_its_own_files() {
        let html = INDEX_HTML.to_ascii_lowercase();
        assert!(!html.contains("<style"), "a <style> element");
        assert!(!html.contains(" style="), "a style attribute");
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..i + html[i..].find('>').expect("tag ends")];
            assert!(tag.contains(" src="), "an inline script: {tag}");
        }
        for (i, _) in html.match_indices(" on") {
            let attribute: String = html[i + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            assert!(
                !html[i + 1 + attribute.len()..].starts_with('='),
                "an inline handler {attribute}"
            );
        }
        let config = PageConfig::local();
        for reference in ["src=\"", "href=\""] {
            for (i, _) in INDEX_HTML.match_indices(reference) {
                let start = i + reference.len();
                let url = &INDEX_HTML[start..start + INDEX_HTML[start..].find('"').expect("quote")];
                if url.starts_with('#') || url.starts_with("data:") {
                    continue;
                }
                let path = format!("{INDEX_PATH}{url}");
                assert_eq!(
                    answer(&path, &config).status(),
                    200,
                    "index.html loads {url}"
                );
            }
        }
    }

    /// The page builds its DOM from nodes, never from HTML strings (what it shows comes from the
    /// API: user names, webhook URLs), and asks no other host: the one absolute URL in its files
    /// is SVG's namespace, which names and fetches nothing.
    #[test]
    fn the_script_never_parses_html_or_evaluates_text_and_no_file_names_another_host() {
        for forbidden in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "setTimeout(\"",
        ] {
            assert!(
                !CONSOLE_JS.contains(forbidden),
                "console.js uses {forbidden}"
            );
        }
        for (name, file) in [
            ("index.html", INDEX_HTML),
            ("console.js", CONSOLE_JS),
            ("console.css", CONSOLE_CSS),
        ] {
            // A scheme followed by a host; prose such as "https://, or http:// to" names none.
            let others: Vec<&str> = file
                .match_indices("://")
                .filter(|(i, _)| {
                    file[i + 3..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_alphanumeric())
                })
                .map(|(i, _)| &file[i.saturating_sub(5)..(i + 30).min(file.len())])
                .filter(|around| !around.contains("http://www.w3.org/2000/svg"))
                .collect();
            assert!(others.is_empty(), "{name} names another host: {others:?}");
            assert!(!file.contains("url(http"), "{name}");
            assert!(!file.contains("@import"), "{name}");
        }
    }
}
