//! A minimal Lambda Runtime API (the `2018-06-01` interface a custom runtime polls), enough to
//! hand a real function binary one event at a time and take its response.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::BoxError;

type Pending = (Value, oneshot::Sender<Value>);

pub struct Emulator {
    address: SocketAddr,
    events: mpsc::Sender<Pending>,
    shared: Arc<Shared>,
}

struct Shared {
    /// When the first `next` poll since [`Emulator::forget_polls`] arrived: the end of a
    /// function's init.
    first_poll: std::sync::Mutex<Option<Instant>>,
    events: Mutex<mpsc::Receiver<Pending>>,
    waiting: Mutex<Option<(String, oneshot::Sender<Value>)>>,
}

impl Emulator {
    pub async fn start() -> Result<Self, BoxError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (events, receiver) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            first_poll: std::sync::Mutex::new(None),
            events: Mutex::new(receiver),
            waiting: Mutex::new(None),
        });
        let accepting = shared.clone();
        tokio::spawn(async move {
            let shared = accepting;
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let shared = shared.clone();
                        async move { Ok::<_, std::convert::Infallible>(route(&shared, request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            address,
            events,
            shared,
        })
    }

    /// Forgets the polls seen so far: the next one is a new process's first.
    pub fn forget_polls(&self) {
        *self
            .shared
            .first_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// When the first `next` poll since [`Emulator::forget_polls`] arrived.
    pub fn first_poll(&self) -> Option<Instant> {
        *self
            .shared
            .first_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Hands the event to the next poll of the function and waits for its response.
    pub async fn invoke(&self, event: Value) -> Result<Value, BoxError> {
        let (reply, response) = oneshot::channel();
        self.events
            .send((event, reply))
            .await
            .map_err(|_| "emulator stopped")?;
        Ok(tokio::time::timeout(std::time::Duration::from_secs(30), response).await??)
    }
}

async fn route(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    if path.ends_with("/runtime/invocation/next") {
        shared
            .first_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(Instant::now);
        let Some((event, reply)) = shared.events.lock().await.recv().await else {
            return Response::builder()
                .status(500)
                .body(Full::default())
                .unwrap_or_default();
        };
        let id = uuid::Uuid::new_v4().to_string();
        *shared.waiting.lock().await = Some((id.clone(), reply));
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() + 30_000)
            .unwrap_or(0);
        return Response::builder()
            .header("lambda-runtime-aws-request-id", id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000",
            )
            .body(Full::new(Bytes::from(event.to_string())))
            .unwrap_or_default();
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if path.contains("/runtime/invocation/")
        && let Some((_, reply)) = shared.waiting.lock().await.take()
    {
        let value = if path.ends_with("/error") {
            serde_json::json!({"error": value})
        } else {
            value
        };
        let _ = reply.send(value);
    }
    Response::builder()
        .status(202)
        .body(Full::default())
        .unwrap_or_default()
}
