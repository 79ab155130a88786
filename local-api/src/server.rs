//! A plain HTTP/1.1 server on 127.0.0.1 that turns each request into the `http::Request` a
//! Lambda function gets from API Gateway, and its response back.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use shared::lambda_http::Body;
use shared::lambda_http::http::{Request, Response};
use tokio::net::TcpListener;

use crate::functions::Functions;
use crate::proxy;
use crate::router::Router;
use crate::websocket::{self, Sockets};

/// API Gateway refuses payloads above 10 MB before any function runs; so do we.
const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

#[derive(Clone)]
pub struct LocalApi {
    /// Each function's container.
    pub functions: Arc<Functions>,
    pub router: Arc<Router>,
    pub admin_token: Arc<str>,
    /// The open WebSocket connections (`GET /ws`); kicks close them.
    pub sockets: Arc<Sockets>,
    /// DynamoDB Local, for the IAM proxy real binaries use (`/.iam/<function>/`).
    pub dynamodb_endpoint: Option<String>,
}

impl LocalApi {
    pub fn new(functions: Arc<Functions>, router: Arc<Router>, admin_token: Arc<str>) -> Self {
        Self {
            functions,
            router,
            admin_token,
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
        if request.method() == hyper::Method::GET
            && let Some(metrics) = metrics_answer(request.uri().path())
        {
            return metrics;
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
            .dispatch(&self.functions, request, &self.admin_token)
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
        if !crate::router::is_admin(&request, &self.admin_token) {
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
