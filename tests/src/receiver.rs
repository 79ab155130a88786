//! A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that records every request
//! and answers each with the next queued reply (204 once the queue is empty), and checks both
//! signatures the way the README tells an app's server to, with its own code (not the
//! service's): constant-time comparisons, any of the signatures in `webhook-signature`, and a
//! `webhook-timestamp` within 5 minutes of its own clock when the request arrived. That clock is
//! the wall clock, or the stack's (`Receiver::start_with_clock`) for a test that moves time: a
//! real receiver's clock agrees with the service's.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::Value;
use sha1::Digest;
use shared::clock::Clock;
use subtle::ConstantTimeEq;

/// How far `webhook-timestamp` may be from the receiver's clock, as the README says.
const TOLERANCE_S: u64 = 5 * 60;

/// Whether `a` and `b` are equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    Status(u16),
    /// Answers 200, but only after this long (past the sender's timeout).
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub json: Value,
    pub at: Instant,
    /// When it arrived (Unix ms) by the receiver's clock: what its timestamp check compares with.
    pub arrived_ms: i64,
    /// What it answered.
    pub reply: u16,
}

impl Received {
    pub fn id(&self) -> &str {
        self.json["id"].as_str().unwrap_or_default()
    }

    pub fn event_type(&self) -> &str {
        self.json["type"].as_str().unwrap_or_default()
    }

    pub fn data(&self) -> &Value {
        &self.json["data"][0]
    }

    /// Checks both signatures: Nexconn's query-string SHA-1 (`appSecret + nonce + timestamp`)
    /// and Standard Webhooks' HMAC-SHA256 of `id.timestamp.body` with the decoded `whsec_` key
    /// (any of the space-separated signatures may match: two during a rotation's overlap), sent
    /// within 5 minutes of its arrival.
    pub fn verify(
        &self,
        app_key: &str,
        app_secret: &str,
        webhook_secret: &str,
    ) -> Result<(), String> {
        let q = |name: &str| {
            self.query
                .get(name)
                .cloned()
                .ok_or(format!("no {name} in the query"))
        };
        if q("appKey")? != app_key {
            return Err("appKey".into());
        }
        let (nonce, timestamp) = (q("nonce")?, q("timestamp")?);
        if q("signTimestamp")? != timestamp {
            return Err("signTimestamp is not timestamp".into());
        }
        let expected = hex::encode(sha1::Sha1::digest(format!(
            "{app_secret}{nonce}{timestamp}"
        )));
        if !same(&q("signature")?, &expected) {
            return Err(format!(
                "Nexconn signature {} != {expected}",
                q("signature")?
            ));
        }
        let h = |name: &str| {
            self.headers
                .get(name)
                .cloned()
                .ok_or(format!("no {name} header"))
        };
        let (id, seconds) = (h("webhook-id")?, h("webhook-timestamp")?);
        if id != self.id() {
            return Err("webhook-id is not the envelope's id".into());
        }
        let sent_at: i64 = seconds
            .parse()
            .map_err(|_| format!("webhook-timestamp {seconds} is not Unix seconds"))?;
        let now = self.arrived_ms.div_euclid(1000);
        if now.abs_diff(sent_at) > TOLERANCE_S {
            return Err(format!(
                "webhook-timestamp {sent_at} is more than 5 minutes from its arrival ({now})"
            ));
        }
        let key = STANDARD
            .decode(
                webhook_secret
                    .strip_prefix("whsec_")
                    .ok_or("secret prefix")?,
            )
            .map_err(|e| e.to_string())?;
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
        mac.update(format!("{id}.{seconds}.").as_bytes());
        mac.update(&self.body);
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        let signatures = h("webhook-signature")?;
        if !signatures.split_whitespace().any(|s| same(s, &expected)) {
            return Err(format!("webhook-signature {signatures} != {expected}"));
        }
        if h("content-type")? != "application/json; charset=utf-8" {
            return Err("content-type".into());
        }
        Ok(())
    }
}

pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// A new app of `env` that sends `events` to this receiver.
    pub async fn app_of(
        &self,
        env: &crate::Env,
        events: &[shared::apps::WebhookEvent],
    ) -> shared::apps::App {
        env.new_app(shared::apps::AppChanges {
            webhook_url: Some(self.url.clone()),
            webhook_events: Some(events.to_vec()),
            ..Default::default()
        })
        .await
    }

    /// A receiver on the wall clock.
    pub async fn start() -> Receiver {
        Self::start_with_clock(Clock::default()).await
    }

    /// A receiver on `clock`: the stack's, for a test that moves it (clones share the offset).
    pub async fn start_with_clock(clock: Clock) -> Receiver {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let replies: Arc<Mutex<VecDeque<Reply>>> = Arc::default();
        let (log, queue) = (received.clone(), replies.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, queue, clock) = (log.clone(), queue.clone(), clock.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        let (log, queue, clock) = (log.clone(), queue.clone(), clock.clone());
                        async move {
                            let reply = queue
                                .lock()
                                .unwrap()
                                .pop_front()
                                .unwrap_or(Reply::Status(204));
                            let status = match reply {
                                Reply::Status(code) => code,
                                Reply::Hang(_) => 200,
                            };
                            record(&log, &clock, request, status).await;
                            if let Reply::Hang(time) = reply {
                                tokio::time::sleep(time).await;
                            }
                            Ok::<_, std::convert::Infallible>(
                                Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Receiver {
            url: format!("http://{addr}/hooks/chat?source=test"),
            received,
            replies,
            task,
        }
    }

    /// The replies to the next requests, in order.
    pub fn reply_next(&self, replies: &[Reply]) {
        self.replies.lock().unwrap().extend(replies.iter().copied());
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `done` holds of what was received (or panics after `within`).
    pub async fn wait_for(
        &self,
        within: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            if start.elapsed() > within {
                let summary: Vec<String> = received
                    .iter()
                    .map(|r| format!("{} {}", r.event_type(), r.data()))
                    .collect();
                panic!("the receiver's wait ran out; it has: {summary:#?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn record(log: &Mutex<Vec<Received>>, clock: &Clock, request: Request<Incoming>, reply: u16) {
    let (at, arrived_ms) = (Instant::now(), clock.now_ms());
    let path = request.uri().path().to_owned();
    let query = parse_query(request.uri().query().unwrap_or_default());
    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    log.lock().unwrap().push(Received {
        path,
        query,
        headers,
        body,
        json,
        at,
        arrived_ms,
        reply,
    });
}

/// The parameters of a URL's query, as sent (no decoding: the signed values are plain).
fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::webhooks::sign::{new_webhook_secret, sign};

    const ARRIVED_MS: i64 = 1_700_000_000_000;

    /// A delivery the service signed at `sent_at_ms`, as the receiver records it on arrival at
    /// [`ARRIVED_MS`].
    fn delivery(secrets: &[&str], sent_at_ms: i64) -> Received {
        let body = br#"{"type":"user:friendship","id":"evt_1","time":1,"data":[{}]}"#;
        let signed = sign(
            "http://r/h",
            "key",
            "secret",
            secrets,
            "evt_1",
            body,
            sent_at_ms,
        )
        .expect("signed");
        let (_, query) = signed.url.split_once('?').expect("query");
        Received {
            path: "/h".into(),
            query: parse_query(query),
            headers: signed
                .headers
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
            body: body.to_vec(),
            json: serde_json::from_slice(body).expect("json"),
            at: Instant::now(),
            arrived_ms: ARRIVED_MS,
            reply: 204,
        }
    }

    #[test]
    fn any_of_the_signatures_may_match() {
        let (new, old) = (new_webhook_secret(), new_webhook_secret());
        let both = delivery(&[&new, &old], ARRIVED_MS);
        both.verify("key", "secret", &new).expect("the new key");
        both.verify("key", "secret", &old).expect("the old key");
        assert!(both.verify("key", "secret", &new_webhook_secret()).is_err());
        assert!(both.verify("key", "other", &new).is_err(), "Nexconn's");
    }

    #[test]
    fn a_timestamp_more_than_5_minutes_from_arrival_is_refused() {
        let secret = new_webhook_secret();
        let minute = 60_000;
        for off in [-5 * minute, 5 * minute] {
            delivery(&[&secret], ARRIVED_MS + off)
                .verify("key", "secret", &secret)
                .expect("within 5 minutes");
        }
        for off in [-5 * minute - 1000, 5 * minute + 1000] {
            let refused = delivery(&[&secret], ARRIVED_MS + off).verify("key", "secret", &secret);
            assert!(refused.is_err_and(|e| e.contains("5 minutes")), "{off}");
        }
    }
}
