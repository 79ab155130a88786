//! Who calls the console, and a console call's context.
//!
//! On AWS, API Gateway's JWT authorizer admits a console call and hands the Lambda the token's
//! claims in the request context; the local API admits it with its admin token or a session and
//! puts the same shape there. The functions never read a header to learn who acts: a header is
//! the caller's word, the authorizer's context is not.

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::request::RequestContext;

use crate::state::State;

/// Claims that name who acts, most readable first: a person's email or user name, then an
/// automation client's id (client-credentials tokens carry only `client_id` and `sub`).
const ACTOR_CLAIMS: [&str; 5] = ["email", "username", "cognito:username", "client_id", "sub"];

/// Who made a console call, as the authorizer vouched: `None` when no authorizer admitted the
/// request (a console route reached without one is refused).
pub fn actor(request: &Request) -> Option<String> {
    use lambda_http::RequestExt;
    let RequestContext::ApiGatewayV2(context) = request.request_context_ref()? else {
        return None;
    };
    let authorizer = context.authorizer.as_ref()?;
    if let Some(jwt) = &authorizer.jwt {
        let named = ACTOR_CLAIMS
            .iter()
            .find_map(|claim| jwt.claims.get(*claim).filter(|v| !v.is_empty()));
        if let Some(name) = named {
            return Some(name.clone());
        }
    }
    let iam = authorizer.iam.as_ref()?;
    iam.user_arn.clone().or_else(|| iam.caller_id.clone())
}

/// The console's lists: `pageSize` 1 to [`MAX_PAGE_SIZE`], [`DEFAULT_PAGE_SIZE`] when absent.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 100;

/// `pageSize` of a console list: 0 is 400/1002, over [`MAX_PAGE_SIZE`] 400/1005.
pub fn check_page_size(page_size: Option<u32>) -> Result<(), crate::ApiError> {
    crate::paging::check_page_size(page_size, MAX_PAGE_SIZE)
}

/// The page size a console list asked for.
pub fn page_size(page_size: Option<u32>) -> usize {
    page_size.unwrap_or(DEFAULT_PAGE_SIZE) as usize
}

/// A console list's page tokens (`crate::page_token`: signed, bound to the app, or `-` for a
/// list of every app, and to the list).
pub struct Listing<'a> {
    pub secret: &'a [u8],
    pub app_key: &'a str,
    pub name: &'a str,
}

impl Listing<'_> {
    /// Where the page starts: `None` for the first.
    pub fn start(&self, token: Option<&str>) -> Result<Option<crate::db::Item>, crate::ApiError> {
        crate::page_token::decode(self.secret, self.app_key, self.name, token)
    }

    /// The token of the next page, `None` after the last.
    pub fn next(&self, last: Option<&crate::db::Item>) -> Result<Option<String>, crate::ApiError> {
        let token = crate::page_token::encode(self.secret, self.app_key, self.name, last)?;
        Ok((!token.is_empty()).then_some(token))
    }
}

/// What a console operation gets besides its request.
pub struct ConsoleCall {
    pub state: Arc<State>,
    /// Who acts (the authorizer's claims), for the audit log.
    pub actor: String,
    pub request_id: String,
    /// When the request was accepted (Unix ms).
    pub now_ms: i64,
}

impl ConsoleCall {
    /// Records a change in the audit log, after it committed.
    pub async fn audit(&self, change: crate::audit::Change) -> Result<(), crate::ApiError> {
        let made = crate::audit::Made {
            actor: &self.actor,
            request_id: &self.request_id,
            at: self.now_ms,
        };
        crate::audit::record(&self.state, made, change).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_context(context: serde_json::Value) -> Request {
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "POST /console/v1/apps/get",
            "rawPath": "/console/v1/apps/get",
            "rawQueryString": "",
            "headers": {},
            "requestContext": context,
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event")
    }

    fn http() -> serde_json::Value {
        serde_json::json!({"method": "POST", "path": "/console/v1/apps/get", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"})
    }

    #[test]
    fn a_person_is_named_by_email_then_user_name_and_a_client_by_its_id() {
        let person = with_context(serde_json::json!({
            "http": http(), "timeEpoch": 1,
            "authorizer": {"jwt": {"claims": {"sub": "3f1c", "username": "ops@example.com"}, "scopes": ["console/admin"]}}
        }));
        assert_eq!(actor(&person).as_deref(), Some("ops@example.com"));
        let automation = with_context(serde_json::json!({
            "http": http(), "timeEpoch": 1,
            "authorizer": {"jwt": {"claims": {"sub": "7abc", "client_id": "7abc"}, "scopes": ["console/admin"]}}
        }));
        assert_eq!(actor(&automation).as_deref(), Some("7abc"));
    }

    #[test]
    fn a_request_no_authorizer_admitted_names_no_one() {
        let bare = with_context(serde_json::json!({"http": http(), "timeEpoch": 1}));
        assert_eq!(actor(&bare), None);
        let mut plain = Request::new(lambda_http::Body::Empty);
        *plain.uri_mut() = "/console/v1/apps/get".parse().expect("path");
        assert_eq!(actor(&plain), None);
    }
}
