//! DynamoDB Local behind one function's IAM policy, for the real binaries that
//! `scripts/invoke-functions` runs as their own processes: each gets
//! `DYNAMODB_ENDPOINT=http://127.0.0.1:<port>/.iam/<function>`, and a request its policy denies
//! gets AWS's `AccessDeniedException` instead of reaching the table.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use shared::lambda_http::http::{Request, Response, Uri};

use crate::functions::Functions;
use crate::iam::Denied;

const PREFIX: &str = "/.iam/";
/// DynamoDB refuses requests above 16 MB.
const MAX_REQUEST: usize = 16 * 1024 * 1024;

/// The function a proxied path is for.
pub fn function_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(PREFIX)?;
    Some(rest.split('/').next().unwrap_or(rest)).filter(|f| !f.is_empty())
}

fn answer(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string())
        .body(Full::new(body.into()))
        .unwrap_or_default()
}

/// Checks the request against `function`'s policy and forwards it to DynamoDB Local.
pub async fn forward(
    functions: &Functions,
    function: &str,
    endpoint: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    let Ok(body) = Limited::new(body, MAX_REQUEST)
        .collect()
        .await
        .map(|b| b.to_bytes())
    else {
        return answer(413, "text/plain", "request too large");
    };
    let policy = match functions.policy(function) {
        Ok(policy) => policy,
        Err(err) => return answer(500, "text/plain", err.to_string()),
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Err(denied) = policy.check_request(target, &body) {
        tracing::warn!(function, %denied, "IAM (local proxy): request denied");
        return answer(Denied::STATUS, "application/x-amz-json-1.0", denied.body());
    }
    match send(endpoint, &mut parts, body).await {
        Ok(response) => response,
        Err(err) => answer(502, "text/plain", format!("DynamoDB Local: {err}")),
    }
}

async fn send(
    endpoint: &str,
    parts: &mut shared::lambda_http::http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, crate::table::BoxError> {
    parts.uri = Uri::builder().path_and_query("/").build()?;
    post(
        endpoint,
        Request::from_parts(parts.clone(), Full::new(body)),
    )
    .await
}

/// Sends one request to `endpoint` (plain HTTP, DynamoDB Local) on a new connection.
pub async fn post(
    endpoint: &str,
    mut request: Request<Full<Bytes>>,
) -> Result<Response<Full<Bytes>>, crate::table::BoxError> {
    let endpoint: Uri = endpoint.parse()?;
    let authority = endpoint.authority().ok_or("endpoint without host")?.clone();
    let stream = tokio::net::TcpStream::connect(authority.as_str()).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    request
        .headers_mut()
        .insert("host", authority.as_str().parse()?);
    let response = sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxied_paths_name_their_function() {
        assert_eq!(function_of("/.iam/get-user/"), Some("get-user"));
        assert_eq!(function_of("/.iam/get-user"), Some("get-user"));
        assert_eq!(function_of("/.iam/"), None);
        assert_eq!(function_of("/v4/user/get"), None);
    }
}
