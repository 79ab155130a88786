//! Webhook URLs as app owners save them: checked and normalised once, so a URL that could never
//! be delivered to is refused with a 400 rather than failing every attempt for days.
//!
//! The `url` crate (WHATWG rules, as browsers parse) does the parsing and normalising: lowercase
//! scheme and host, international names to punycode, IP literals in canonical form, the
//! scheme's default port dropped, dot segments resolved, an empty path made "/", non-ASCII in
//! the path and query percent-encoded (UTF-8). It is lenient where a typo should be refused, so
//! the raw text is checked first: characters it would quietly encode or drop, a missing `//`.

use ::url::Url;

use super::guard::{ALLOWED_PORTS, port_allowed};
use crate::error::ApiError;
use crate::validate::max_bytes;

const FIELD: &str = "webhookUrl";
pub const WEBHOOK_URL_MAX_BYTES: usize = 1024;

/// Characters RFC 3986 allows nowhere in a URL (`#` has its own message). Whitespace and control
/// characters are refused too; other non-ASCII text is allowed and percent-encoded.
const NOT_IN_URLS: &[char] = &['{', '}', '"', '<', '>', '\\', '|', '^', '`'];

/// `raw` checked and normalised (`""`, delivery off, is the caller's to handle first). Refused
/// with 400/1002 naming `webhookUrl`, or 400/1005 over 1,024 bytes (as sent or as normalised).
pub fn parse_webhook_url(raw: &str) -> Result<String, ApiError> {
    max_bytes(FIELD, raw, WEBHOOK_URL_MAX_BYTES)?;
    let invalid = |why: String| ApiError::invalid(FIELD, why);
    if raw.contains('#') {
        // Signing appends Nexconn's query to the URL: after a fragment, receivers never get it.
        return Err(invalid("must not have a fragment (#)".to_owned()));
    }
    if let Some(c) = raw
        .chars()
        .find(|c| NOT_IN_URLS.contains(c) || c.is_whitespace() || c.is_control())
    {
        return Err(invalid(format!(
            "must not contain {c:?}: percent-encode it"
        )));
    }
    if !percent_signs_encode_bytes(raw) {
        return Err(invalid("has a % not followed by two hex digits".to_owned()));
    }
    let after_scheme = ["https://", "http://"]
        .iter()
        .find_map(|scheme| {
            raw.get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .and_then(|_| raw.get(scheme.len()..))
        })
        .ok_or_else(|| invalid("must start with https:// or http://".to_owned()))?;
    // WHATWG skips extra slashes ("https:///host"): no host is no host.
    if after_scheme.is_empty() || after_scheme.starts_with('/') {
        return Err(invalid("must name a host".to_owned()));
    }
    let url = Url::parse(raw).map_err(|err| invalid(format!("is not a valid URL: {err}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not hold a user name or password".to_owned()));
    }
    // `port()` is None for the scheme's default (80 or 443), which is allowed.
    if let Some(port) = url.port()
        && !port_allowed(port)
    {
        return Err(invalid(format!(
            "port {port} is not allowed ({ALLOWED_PORTS})"
        )));
    }
    let normalised = String::from(url);
    if normalised.len() > WEBHOOK_URL_MAX_BYTES {
        return Err(ApiError::too_long(
            FIELD,
            format!("{WEBHOOK_URL_MAX_BYTES} bytes once percent-encoded"),
        ));
    }
    Ok(normalised)
}

/// Whether every `%` starts a percent-encoded byte (`%` and two hex digits).
fn percent_signs_encode_bytes(raw: &str) -> bool {
    raw.match_indices('%').all(|(i, _)| {
        raw.as_bytes()
            .get(i + 1..i + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_urls_are_normalised() {
        let long_path = format!("https://example.com/{}", "a".repeat(1004));
        assert_eq!(long_path.len(), 1024);
        for (raw, normalised) in [
            ("https://example.com/hook", "https://example.com/hook"),
            ("https://example.com", "https://example.com/"),
            ("HTTPS://Example.COM/Hook", "https://example.com/Hook"),
            ("https://example.com:443/hook", "https://example.com/hook"),
            ("http://example.com:80", "http://example.com/"),
            ("https://example.com:80/", "https://example.com:80/"),
            ("http://example.com:443/", "http://example.com:443/"),
            ("https://example.com:1024/", "https://example.com:1024/"),
            ("https://example.com:08443/a", "https://example.com:8443/a"),
            ("https://example.com:65535/", "https://example.com:65535/"),
            ("https://example.com?x=1", "https://example.com/?x=1"),
            (
                "https://example.com/a?x=1&y=%2F",
                "https://example.com/a?x=1&y=%2F",
            ),
            ("https://example.com/hook?", "https://example.com/hook?"),
            ("https://example.com/a/../b/./c", "https://example.com/b/c"),
            (
                "https://例え.jp/パス?q=値",
                "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?q=%E5%80%A4",
            ),
            ("http://127.0.0.1:3000/hook", "http://127.0.0.1:3000/hook"),
            ("http://0x7f.1:3000/", "http://127.0.0.1:3000/"),
            ("http://[::1]:8080/", "http://[::1]:8080/"),
            ("http://[0:0::1]:8080/", "http://[::1]:8080/"),
            ("https://@example.com/", "https://example.com/"),
            (&long_path, &long_path),
        ] {
            assert_eq!(parse_webhook_url(raw).unwrap(), normalised, "{raw}");
        }
    }

    #[test]
    fn refused_urls_say_why() {
        let refused = [
            ("", "must start with https:// or http://"),
            ("example.com/hook", "must start with https:// or http://"),
            ("ftp://example.com/", "must start with https:// or http://"),
            ("ws://example.com/", "must start with https:// or http://"),
            ("http:example.com", "must start with https:// or http://"),
            ("http:/example.com", "must start with https:// or http://"),
            ("https://", "must name a host"),
            ("https:///example.com", "must name a host"),
            ("https://example.com/#", "must not have a fragment (#)"),
            (
                "https://example.com/hook#top",
                "must not have a fragment (#)",
            ),
            ("https://example.com#?a=1", "must not have a fragment (#)"),
            (
                "https://example.com/a b",
                "must not contain ' ': percent-encode it",
            ),
            (
                " https://example.com/",
                "must not contain ' ': percent-encode it",
            ),
            (
                "https://example.com/\t",
                "must not contain '\\t': percent-encode it",
            ),
            (
                "https://example.com/\n",
                "must not contain '\\n': percent-encode it",
            ),
            (
                "https://example.com/\u{3000}",
                "must not contain '\\u{3000}': percent-encode it",
            ),
            (
                "https://example.com/\u{85}",
                "must not contain '\\u{85}': percent-encode it",
            ),
            (
                "https://example.com/{id}",
                "must not contain '{': percent-encode it",
            ),
            (
                "https://example.com/a}",
                "must not contain '}': percent-encode it",
            ),
            (
                "https://example.com/?q=\"x\"",
                "must not contain '\"': percent-encode it",
            ),
            (
                "https://example.com/<a>",
                "must not contain '<': percent-encode it",
            ),
            (
                "https://example.com/a>",
                "must not contain '>': percent-encode it",
            ),
            (
                "https://example.com\\hook",
                "must not contain '\\\\': percent-encode it",
            ),
            (
                "https://example.com/a|b",
                "must not contain '|': percent-encode it",
            ),
            (
                "https://example.com/a^b",
                "must not contain '^': percent-encode it",
            ),
            (
                "https://example.com/`a`",
                "must not contain '`': percent-encode it",
            ),
            (
                "https://example.com/%zz",
                "has a % not followed by two hex digits",
            ),
            (
                "https://example.com/a%",
                "has a % not followed by two hex digits",
            ),
            (
                "https://example.com/a%4",
                "has a % not followed by two hex digits",
            ),
            (
                "https://example.com/%E3%8",
                "has a % not followed by two hex digits",
            ),
            (
                "https://user@example.com/",
                "must not hold a user name or password",
            ),
            (
                "https://user:pw@example.com/",
                "must not hold a user name or password",
            ),
            (
                "https://:pw@example.com/",
                "must not hold a user name or password",
            ),
            (
                "https://example.com:0/",
                "port 0 is not allowed (80, 443 or 1024 and above)",
            ),
            (
                "http://example.com:22/",
                "port 22 is not allowed (80, 443 or 1024 and above)",
            ),
            (
                "https://example.com:25/",
                "port 25 is not allowed (80, 443 or 1024 and above)",
            ),
            (
                "https://example.com:1023/",
                "port 1023 is not allowed (80, 443 or 1024 and above)",
            ),
            (
                "https://example.com:65536/",
                "is not a valid URL: invalid port number",
            ),
            (
                "https://example.com:x/",
                "is not a valid URL: invalid port number",
            ),
            ("https://[::1/", "is not a valid URL: invalid IPv6 address"),
            (
                "https://exa%00mple.com/",
                "is not a valid URL: invalid international domain name",
            ),
        ];
        for (raw, why) in refused {
            let err = parse_webhook_url(raw).unwrap_err();
            assert_eq!(
                (err.code(), err.to_string()),
                (1002, format!("webhookUrl: {why}")),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn over_1024_bytes_is_too_long() {
        for raw in [
            format!("https://example.com/{}", "a".repeat(1005)),
            // 1,024 bytes as sent, more once its non-ASCII path is percent-encoded.
            format!("https://example.com/{}", "é".repeat(502)),
        ] {
            let err = parse_webhook_url(&raw).unwrap_err();
            assert_eq!(err.code(), 1005, "{err}");
            assert!(
                err.to_string()
                    .starts_with("webhookUrl: exceeds the limit of 1024 bytes")
            );
        }
    }
}
