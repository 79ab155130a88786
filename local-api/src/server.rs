//! A plain HTTP/1.1 server on 127.0.0.1 that turns each request into the `http::Request` a
//! Lambda function gets from API Gateway, and its response back.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use shared::lambda_http::Body;
use shared::lambda_http::http::{Request, Response};
use tokio::net::TcpListener;

use crate::console_session::{self, ConsoleAuth};
use crate::functions::Functions;
use crate::proxy;
use crate::router::Router;
use crate::websocket::{self, Sockets};

/// API Gateway refuses payloads above 10 MB before any function runs; so do we.
const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;
/// `POST` with the admin token: a new console session (sign-in).
pub const SESSION_PATH: &str = "/console/session";
/// `POST` with a session token: ends that session (sign-out).
pub const SIGN_OUT_PATH: &str = "/console/session/delete";
/// The session routes read no body; anything beyond a small `{}` is refused.
const SESSION_MAX_BODY: usize = 1024;

#[derive(Clone)]
pub struct LocalApi {
    /// Each function's container.
    pub functions: Arc<Functions>,
    pub router: Arc<Router>,
    /// Who may call the console: the admin token and the sessions made from it.
    pub console: Arc<ConsoleAuth>,
    /// The open WebSocket connections (`GET /ws`); kicks close them.
    pub sockets: Arc<Sockets>,
    /// DynamoDB Local, for the IAM proxy real binaries use (`/.iam/<function>/`).
    pub dynamodb_endpoint: Option<String>,
}

impl LocalApi {
    /// Console sessions last [`console_session::DEFAULT_SESSION_LIFETIME`].
    pub fn new(functions: Arc<Functions>, router: Arc<Router>, admin_token: Arc<str>) -> Self {
        let console = ConsoleAuth::new(admin_token, console_session::DEFAULT_SESSION_LIFETIME);
        Self::with_console(functions, router, Arc::new(console))
    }

    /// With the console's admin token and session lifetime given by `console`.
    pub fn with_console(
        functions: Arc<Functions>,
        router: Arc<Router>,
        console: Arc<ConsoleAuth>,
    ) -> Self {
        Self {
            functions,
            router,
            console,
            sockets: Arc::default(),
            dynamodb_endpoint: None,
        }
    }

    /// Also serve `/.iam/<function>/`: DynamoDB Local behind that function's policy.
    pub fn with_iam_proxy(mut self, dynamodb_endpoint: String) -> Self {
        self.dynamodb_endpoint = Some(dynamodb_endpoint);
        self
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        if websocket::is_websocket(&request) {
            return websocket::accept(self.functions.clone(), self.sockets.clone(), request).await;
        }
        if let (Some(function), Some(endpoint)) = (
            proxy::function_of(request.uri().path()),
            &self.dynamodb_endpoint,
        ) {
            let function = function.to_owned();
            return proxy::forward(&self.functions, &function, endpoint, request).await;
        }
        if matches!(request.uri().path(), SESSION_PATH | SIGN_OUT_PATH) {
            return self.console_session(request).await;
        }
        if request.method() == hyper::Method::GET
            && let Some(metrics) = metrics_answer(request.uri().path())
        {
            return metrics;
        }
        if request.method() == hyper::Method::GET && request.uri().path() == crate::openapi::PATH {
            return match crate::openapi::json() {
                Ok(document) => json_answer(200, document),
                Err(why) => json_answer(500, &serde_json::json!({ "message": why })),
            };
        }
        if request.method() == hyper::Method::GET && is_page_path(request.uri().path()) {
            return page_answer(&request);
        }
        let (parts, body) = request.into_parts();
        let bytes = match Limited::new(body, GATEWAY_MAX_BODY).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => {
                return Response::builder()
                    .status(413)
                    .header("content-type", "application/json; charset=utf-8")
                    .body(Full::new(Bytes::from_static(
                        br#"{"message":"Request Entity Too Large"}"#,
                    )))
                    .unwrap_or_default();
            }
        };
        let body = match String::from_utf8(bytes.to_vec()) {
            Ok(text) if text.is_empty() => Body::Empty,
            Ok(text) => Body::Text(text),
            Err(err) => Body::Binary(err.into_bytes()),
        };
        let request = Request::from_parts(parts, body);
        if let Some(function) = request.uri().path().strip_prefix("/.invoke/") {
            let function = function.to_owned();
            return self.invoke(&function, request).await;
        }
        let response = self
            .router
            .dispatch(&self.functions, request, self.console.as_ref())
            .await;
        let (parts, body) = response.into_parts();
        Response::from_parts(parts, Full::new(Bytes::from(body.to_vec())))
    }

    /// `POST /.invoke/<function>` with the admin token: runs a scheduled function once with the
    /// request's JSON body as its event (the local `aws lambda invoke`).
    async fn invoke(&self, function: &str, request: Request<Body>) -> Response<Full<Bytes>> {
        let json = |status: u16, body: serde_json::Value| {
            Response::builder()
                .status(status)
                .header("content-type", "application/json; charset=utf-8")
                .body(Full::new(Bytes::from(body.to_string())))
                .unwrap_or_default()
        };
        if !self.console.is_admin(request.headers()) {
            return json(
                401,
                serde_json::json!({"message": "invoking requires the local admin token"}),
            );
        }
        let event = match request.body() {
            Body::Empty => serde_json::json!({}),
            body => match serde_json::from_slice(body.as_ref()) {
                Ok(event) => event,
                Err(err) => {
                    return json(
                        400,
                        serde_json::json!({"message": format!("the event is not JSON: {err}")}),
                    );
                }
            },
        };
        match crate::schedule::invoke(&self.functions, function, event).await {
            Ok(answer) => json(200, answer),
            Err(err) => json(404, serde_json::json!({"message": err.to_string()})),
        }
    }

    /// Sign-in and sign-out of the console: `POST /console/session` with the admin token answers
    /// `{"sessionToken","expiresAt"}` (ms); `POST /console/session/delete` with a session token
    /// ends that session. A missing or wrong token gets the authorizer's 401, as a console route.
    async fn console_session(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        if request.method() != hyper::Method::POST {
            let mut answer =
                json_answer(405, &serde_json::json!({"message": "Method Not Allowed"}));
            answer
                .headers_mut()
                .insert("allow", hyper::header::HeaderValue::from_static("POST"));
            return answer;
        }
        let (parts, body) = request.into_parts();
        if Limited::new(body, SESSION_MAX_BODY)
            .collect()
            .await
            .is_err()
        {
            return json_answer(
                413,
                &serde_json::json!({"message": "Request Entity Too Large"}),
            );
        }
        let refused = || {
            let id = shared::http::request_id(&parts.headers);
            let (parts, body) = crate::router::unauthorized(&id).into_parts();
            Response::from_parts(parts, Full::new(Bytes::from(body.to_vec())))
        };
        if parts.uri.path() == SIGN_OUT_PATH {
            return if self.console.revoke_session(&parts.headers) {
                json_answer(200, &serde_json::json!({}))
            } else {
                refused()
            };
        }
        // Only the admin token makes a session: a session cannot prolong itself.
        if !self.console.is_admin(&parts.headers) {
            return refused();
        }
        match self.console.create_session() {
            Some(session) => json_answer(
                200,
                &serde_json::json!({
                    "sessionToken": session.token,
                    "expiresAt": session.expires_at_ms,
                }),
            ),
            None => json_answer(
                429,
                &serde_json::json!({"message": "too many live console sessions: sign some out"}),
            ),
        }
    }

    /// Binds and serves until the task is dropped. Returns the bound address (port 0 picks one).
    pub async fn bind(
        self,
        addr: SocketAddr,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        // Kicks close this server's sockets.
        self.functions
            .base()
            .connections
            .set_closer(self.sockets.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let api = self.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let api = api.clone();
                        async move { Ok::<_, std::convert::Infallible>(api.handle(request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Ok((local, task))
    }
}

/// A JSON answer of the local API itself (not a function's), never cached: it may hold a token.
fn json_answer(status: u16, body: &serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

/// The Console page's function and the paths it serves (template checks compare them).
pub use console_page::{NAME as PAGE_FUNCTION, is_page_path};

/// `GET /console` and `GET /console/...` (not the console API under `/console/v1/`): the Console
/// page, answered by the function that serves it on AWS, with the local sign-in (the admin token).
fn page_answer<B>(request: &Request<B>) -> Response<Full<Bytes>> {
    static LOCAL: LazyLock<console_page::PageConfig> =
        LazyLock::new(console_page::PageConfig::local);
    let (parts, body) = console_page::respond_measured(request, &LOCAL).into_parts();
    Response::from_parts(parts, Full::new(Bytes::from(body.to_vec())))
}

/// `GET /metrics` (Prometheus text) and `GET /metrics/json`: what the functions emitted. Open like
/// a Prometheus endpoint: the local API listens on 127.0.0.1 only, and no label names a user.
fn metrics_answer(path: &str) -> Option<Response<Full<Bytes>>> {
    let (content_type, body) = match path {
        "/metrics" => (
            "text/plain; version=0.0.4; charset=utf-8",
            crate::metrics::prometheus(),
        ),
        "/metrics/json" => (
            "application/json; charset=utf-8",
            crate::metrics::json().to_string(),
        ),
        _ => return None,
    };
    Some(
        Response::builder()
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_default(),
    )
}
