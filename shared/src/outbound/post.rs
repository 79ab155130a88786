//! One webhook delivery attempt: a POST to the app's URL, only to addresses `guard` allows,
//! within a deadline. Names are resolved by `GuardedResolver`, which hands the connector only
//! vetted addresses, so the connection goes to the very address that was checked (a second,
//! different DNS answer cannot slip a private address in: no DNS rebinding). IP-literal hosts
//! never reach a resolver, so `post` checks them itself.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::http::uri::Scheme;
use hyper::{Method, Request, Response, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
// `tower_service::Service`, the trait hyper-util's resolvers implement, re-exported by
// lambda_http (through lambda_runtime and tower): tower-service is no direct dependency.
use lambda_http::Service;

use super::guard::{ALLOWED_PORTS, Destinations, allowed, port_allowed};

/// At most this much of a response body is read (and discarded).
const BODY_READ_LIMIT: usize = 64 * 1024;

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The response's status; `None` if no response came.
    pub status_code: Option<u16>,
    /// From the start of the attempt to the response head (or to the failure).
    pub latency_ms: u64,
    /// Why no response came: a short reason.
    pub error: Option<String>,
}

impl Attempt {
    /// Whether the receiver accepted the delivery ([`accepted`]).
    pub fn delivered(&self) -> bool {
        accepted(self.status_code)
    }
}

/// Whether an attempt answered `status_code` was accepted: any 2xx.
pub fn accepted(status_code: Option<u16>) -> bool {
    status_code.is_some_and(|status| (200..300).contains(&status))
}

type Connector = HttpConnector<GuardedResolver>;

enum Transport {
    /// http and https.
    Tls(Client<HttpsConnector<Connector>, Full<Bytes>>),
    /// http only: no root certificate could be loaded, so no https server could be trusted.
    PlainOnly(Client<Connector, Full<Bytes>>),
}

/// Posts webhooks. Build one per process: it loads the native root certificates once and
/// keeps connections alive between deliveries.
pub struct Poster {
    destinations: Destinations,
    transport: Transport,
}

impl Poster {
    pub fn new(destinations: Destinations) -> Poster {
        let mut http = HttpConnector::new_with_resolver(GuardedResolver { destinations });
        let client = Client::builder(TokioExecutor::new());
        let transport = match HttpsConnectorBuilder::new().with_native_roots() {
            Ok(tls) => {
                // The TLS layer hands https URLs down to this connector.
                http.enforce_http(false);
                Transport::Tls(
                    client.build(tls.https_or_http().enable_http1().wrap_connector(http)),
                )
            }
            Err(err) => {
                tracing::warn!(
                    "webhooks: no native root certificates, https deliveries will fail: {err}"
                );
                Transport::PlainOnly(client.build(http))
            }
        };
        Poster {
            destinations,
            transport,
        }
    }

    /// POSTs `body` with `headers` to `url`. Redirects are not followed. `timeout` covers
    /// connecting, sending and the response head; what fits of the first 64 KiB of the body
    /// is then read within the same deadline.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Attempt {
        let start = Instant::now();
        let failed = |error: String| Attempt {
            status_code: None,
            latency_ms: elapsed_ms(start),
            error: Some(error),
        };
        let request = match self.request(url, headers, body) {
            Ok(request) => request,
            Err(error) => return failed(error),
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let response = match tokio::time::timeout_at(deadline, self.send(request)).await {
            Err(_) => return failed(format!("timed out after {}", duration_text(timeout))),
            Ok(Err(err)) => return failed(describe(&err)),
            Ok(Ok(response)) => response,
        };
        let latency_ms = elapsed_ms(start);
        let status_code = response.status().as_u16();
        // Reading a small body to its end returns the connection to the pool; a large or slow
        // one is abandoned (its connection closed). Its failures change nothing: the status is
        // the receiver's answer.
        let _ = tokio::time::timeout_at(deadline, drain(response.into_body())).await;
        Attempt {
            status_code: Some(status_code),
            latency_ms,
            error: None,
        }
    }

    fn request(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: Vec<u8>,
    ) -> Result<Request<Full<Bytes>>, String> {
        let uri: Uri = url.parse().map_err(|_| "invalid URL".to_owned())?;
        let default_port = match uri.scheme() {
            Some(scheme) if *scheme == Scheme::HTTP => 80,
            Some(scheme) if *scheme == Scheme::HTTPS => {
                if matches!(self.transport, Transport::PlainOnly(_)) {
                    return Err("https unavailable: no root certificates".to_owned());
                }
                443
            }
            Some(scheme) => return Err(format!("unsupported scheme {scheme}")),
            None => return Err("invalid URL: no scheme".to_owned()),
        };
        let host = uri
            .host()
            .ok_or_else(|| "invalid URL: no host".to_owned())?;
        let port = uri.port_u16().unwrap_or(default_port);
        if !port_allowed(port) {
            return Err(
                Refused(format!("port {port} is not allowed ({ALLOWED_PORTS})")).to_string(),
            );
        }
        // The connector skips the resolver for an IP literal, and so the guard: check it here.
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>()
            && !allowed(ip, self.destinations)
        {
            return Err(Refused(format!("{ip} is not a public address")).to_string());
        }
        let mut request = Request::builder().method(Method::POST).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        request
            .body(Full::new(Bytes::from(body)))
            .map_err(|err| format!("invalid request: {err}"))
    }

    async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
        match &self.transport {
            Transport::Tls(client) => client.request(request).await,
            Transport::PlainOnly(client) => client.request(request).await,
        }
    }
}

/// Resolves names to the addresses the guard allows, and fails if there is none.
#[derive(Clone)]
struct GuardedResolver {
    destinations: Destinations,
}

type BoxError = Box<dyn StdError + Send + Sync>;

impl Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let destinations = self.destinations;
        Box::pin(async move {
            let host = name.as_str();
            // Port 0: the connector sets the URL's port.
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
            let vetted: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|address| allowed(address.ip(), destinations))
                .collect();
            if vetted.is_empty() {
                let found: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
                let reason = format!(
                    "{host} resolves to no public address ({})",
                    found.join(", ")
                );
                return Err(Refused(reason).into());
            }
            Ok(vetted.into_iter())
        })
    }
}

/// A destination the guard refused.
#[derive(Debug)]
struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "destination refused: {}", self.0)
    }
}

impl StdError for Refused {}

/// A short reason for a failed request: hyper-util's own message ("client error (Connect)")
/// says little, its causes say what happened.
fn describe(err: &(dyn StdError + 'static)) -> String {
    let mut reasons = Vec::new();
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(refused) = err.downcast_ref::<Refused>() {
            return refused.to_string();
        }
        reasons.push(err.to_string());
        next = err.source();
    }
    if reasons.len() > 1 {
        reasons.remove(0);
    }
    reasons.join(": ")
}

/// Reads and discards at most `BODY_READ_LIMIT` bytes of `body`.
async fn drain(mut body: Incoming) {
    let mut read = 0;
    while read < BODY_READ_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |data| data.len()),
            _ => break,
        }
    }
}

fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// "5s", or "300ms" for a duration that is no whole number of seconds.
fn duration_text(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 && duration.as_secs() > 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use hyper::StatusCode;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;

    use super::*;

    /// A request as the test server saw it.
    #[derive(Clone, Debug)]
    struct Received {
        method: Method,
        path_and_query: String,
        headers: hyper::HeaderMap,
        body: Vec<u8>,
    }

    /// A local HTTP server answering every request with `status` (after `delay`), recording
    /// the connections it accepted and the requests it read.
    struct Server {
        port: u16,
        accepted: Arc<AtomicUsize>,
        received: Arc<Mutex<Vec<Received>>>,
    }

    impl Server {
        async fn start(status: u16, delay: Duration, location: Option<String>) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let accepted = Arc::new(AtomicUsize::new(0));
            let received = Arc::new(Mutex::new(Vec::new()));
            let server = Server {
                port,
                accepted: accepted.clone(),
                received: received.clone(),
            };
            tokio::spawn(async move {
                loop {
                    let (stream, _) = listener.accept().await.unwrap();
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let received = received.clone();
                    let location = location.clone();
                    let service = service_fn(move |request: Request<Incoming>| {
                        let received = received.clone();
                        let location = location.clone();
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body.collect().await.unwrap().to_bytes().to_vec();
                            received.lock().unwrap().push(Received {
                                method: parts.method,
                                path_and_query: parts.uri.to_string(),
                                headers: parts.headers,
                                body,
                            });
                            tokio::time::sleep(delay).await;
                            let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
                            *response.status_mut() = StatusCode::from_u16(status).unwrap();
                            if let Some(location) = location {
                                response
                                    .headers_mut()
                                    .insert("location", location.parse().unwrap());
                            }
                            Ok::<_, Infallible>(response)
                        }
                    });
                    tokio::spawn(async move {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
            server
        }

        async fn answering(status: u16) -> Server {
            Server::start(status, Duration::ZERO, None).await
        }

        fn url(&self, host: &str) -> String {
            format!("http://{host}:{}/hook?x=1", self.port)
        }

        fn accepted(&self) -> usize {
            self.accepted.load(Ordering::SeqCst)
        }

        fn received(&self) -> Vec<Received> {
            self.received.lock().unwrap().clone()
        }
    }

    fn headers() -> Vec<(&'static str, String)> {
        vec![
            ("content-type", "application/json; charset=utf-8".to_owned()),
            ("webhook-id", "evt_1".to_owned()),
        ]
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test]
    async fn a_2xx_is_delivered_with_the_headers_and_body() {
        let server = Server::answering(204).await;
        let poster = Poster::new(Destinations::AllowLoopback);
        let attempt = poster
            .post(
                &server.url("127.0.0.1"),
                &headers(),
                b"{\"a\":1}".to_vec(),
                SECOND,
            )
            .await;
        assert_eq!(attempt.status_code, Some(204));
        assert_eq!(attempt.error, None);
        assert!(attempt.delivered());

        let received = server.received();
        assert_eq!(received.len(), 1);
        let request = &received[0];
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.path_and_query, "/hook?x=1");
        assert_eq!(
            request.headers["content-type"],
            "application/json; charset=utf-8"
        );
        assert_eq!(request.headers["webhook-id"], "evt_1");
        assert_eq!(request.headers["content-length"], "7");
        assert_eq!(request.body, b"{\"a\":1}");
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_allowed_with_allow_loopback() {
        let server = Server::answering(200).await;
        let poster = Poster::new(Destinations::AllowLoopback);
        let attempt = poster
            .post(&server.url("localhost"), &headers(), b"{}".to_vec(), SECOND)
            .await;
        assert!(attempt.delivered(), "{attempt:?}");
    }

    #[tokio::test]
    async fn a_500_is_not_delivered() {
        let server = Server::answering(500).await;
        let poster = Poster::new(Destinations::AllowLoopback);
        let attempt = poster
            .post(&server.url("127.0.0.1"), &headers(), vec![], SECOND)
            .await;
        assert_eq!(attempt.status_code, Some(500));
        assert_eq!(attempt.error, None);
        assert!(!attempt.delivered());
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let target = Server::answering(200).await;
        let server = Server::start(302, Duration::ZERO, Some(target.url("127.0.0.1"))).await;
        let poster = Poster::new(Destinations::AllowLoopback);
        let attempt = poster
            .post(&server.url("127.0.0.1"), &headers(), vec![], SECOND)
            .await;
        assert_eq!(attempt.status_code, Some(302));
        assert!(!attempt.delivered());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(target.accepted(), 0);
    }

    #[tokio::test]
    async fn a_slow_receiver_times_out() {
        let server = Server::start(200, Duration::from_secs(5), None).await;
        let poster = Poster::new(Destinations::AllowLoopback);
        let start = Instant::now();
        let attempt = poster
            .post(
                &server.url("127.0.0.1"),
                &headers(),
                vec![],
                Duration::from_millis(300),
            )
            .await;
        assert!(
            start.elapsed() < Duration::from_millis(1000),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(attempt.status_code, None);
        assert_eq!(attempt.error.as_deref(), Some("timed out after 300ms"));
        assert!(attempt.latency_ms >= 300, "{attempt:?}");
        assert!(!attempt.delivered());
    }

    #[tokio::test]
    async fn loopback_is_refused_with_public_only_before_connecting() {
        let server = Server::answering(200).await;
        let poster = Poster::new(Destinations::PublicOnly);

        // An IP literal: the connector would skip the resolver.
        let attempt = poster
            .post(&server.url("127.0.0.1"), &headers(), vec![], SECOND)
            .await;
        assert_eq!(attempt.status_code, None);
        assert_eq!(
            attempt.error.as_deref(),
            Some("destination refused: 127.0.0.1 is not a public address")
        );
        let attempt = poster
            .post(&server.url("[::1]"), &headers(), vec![], SECOND)
            .await;
        assert_eq!(
            attempt.error.as_deref(),
            Some("destination refused: ::1 is not a public address")
        );

        // A name: the resolver drops every address.
        let attempt = poster
            .post(&server.url("localhost"), &headers(), vec![], SECOND)
            .await;
        assert_eq!(attempt.status_code, None);
        let error = attempt.error.unwrap();
        assert!(
            error.starts_with("destination refused: localhost resolves to no public address"),
            "{error}"
        );
        // The same through the TLS layer.
        let url = format!("https://localhost:{}/", server.port);
        let attempt = poster.post(&url, &headers(), vec![], SECOND).await;
        let error = attempt.error.unwrap();
        if matches!(poster.transport, Transport::Tls(_)) {
            assert!(
                error.starts_with("destination refused: localhost"),
                "{error}"
            );
        }
        // A non-canonical IPv4 form is no literal to hyper-util: whatever the system resolver
        // makes of it, it never connects.
        let url = format!("http://127.1:{}/", server.port);
        let attempt = poster.post(&url, &headers(), vec![], SECOND).await;
        assert_eq!(attempt.status_code, None);

        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(server.accepted(), 0);
    }

    #[tokio::test]
    async fn private_addresses_are_refused_even_with_allow_loopback() {
        let poster = Poster::new(Destinations::AllowLoopback);
        for (url, ip) in [
            ("http://10.0.0.1/", "10.0.0.1"),
            (
                "https://169.254.169.254/latest/meta-data/",
                "169.254.169.254",
            ),
            ("http://[fd00:ec2::254]/", "fd00:ec2::254"),
            ("http://[::ffff:192.168.0.1]:8080/", "::ffff:192.168.0.1"),
        ] {
            let attempt = poster.post(url, &headers(), vec![], SECOND).await;
            let expected = format!("destination refused: {ip} is not a public address");
            // Without root certificates, https is refused before the guard is asked.
            if !(url.starts_with("https") && matches!(poster.transport, Transport::PlainOnly(_))) {
                assert_eq!(attempt.error, Some(expected), "{url}");
            }
            assert_eq!(attempt.status_code, None);
        }
    }

    #[tokio::test]
    async fn privileged_ports_are_refused_before_connecting() {
        let poster = Poster::new(Destinations::AllowLoopback);
        for (url, port) in [
            ("http://127.0.0.1:22/", 22),
            ("http://localhost:25/", 25),
            ("http://[::1]:0/", 0),
            ("http://127.0.0.1:1023/hook?x=1", 1023),
            ("http://127.0.0.1:81/", 81),
        ] {
            let attempt = poster.post(url, &headers(), vec![], SECOND).await;
            assert_eq!(attempt.status_code, None, "{url}");
            let expected = format!(
                "destination refused: port {port} is not allowed (80, 443 or 1024 and above)"
            );
            assert_eq!(attempt.error, Some(expected), "{url}");
        }
        // 80, 443 (with either scheme) and unprivileged ports pass on to the address guard.
        let poster = Poster::new(Destinations::PublicOnly);
        for url in [
            "http://10.0.0.1/",
            "http://10.0.0.1:80/",
            "http://10.0.0.1:443/",
            "http://10.0.0.1:1024/",
            "http://10.0.0.1:8080/",
        ] {
            let attempt = poster.post(url, &headers(), vec![], SECOND).await;
            assert_eq!(
                attempt.error.as_deref(),
                Some("destination refused: 10.0.0.1 is not a public address"),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn bad_urls_are_refused() {
        let poster = Poster::new(Destinations::PublicOnly);
        for (url, error) in [
            ("ftp://x", "unsupported scheme ftp"),
            ("not a url", "invalid URL"),
            ("/relative/path", "invalid URL: no scheme"),
        ] {
            let attempt = poster.post(url, &headers(), vec![], SECOND).await;
            assert_eq!(attempt.status_code, None);
            assert_eq!(attempt.error.as_deref(), Some(error), "{url}");
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_reported() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let poster = Poster::new(Destinations::AllowLoopback);
        let url = format!("http://127.0.0.1:{port}/");
        let attempt = poster.post(&url, &headers(), vec![], SECOND).await;
        assert_eq!(attempt.status_code, None);
        let error = attempt.error.unwrap();
        assert!(error.contains("onnection refused"), "{error}");
    }

    /// A raw server that answers one request with `head` and then holds the connection open
    /// without finishing the body.
    fn stalling_server(head: &'static [u8]) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buffer = [0; 4096];
            let _ = stream.read(&mut buffer);
            stream.write_all(head).unwrap();
            std::thread::sleep(Duration::from_secs(3));
        });
        port
    }

    #[tokio::test]
    async fn a_2xx_whose_body_stalls_is_delivered_by_the_deadline() {
        let port = stalling_server(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\npartial");
        let poster = Poster::new(Destinations::AllowLoopback);
        let start = Instant::now();
        let url = format!("http://127.0.0.1:{port}/");
        let attempt = poster
            .post(&url, &headers(), vec![], Duration::from_millis(300))
            .await;
        assert!(
            start.elapsed() < Duration::from_millis(1000),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(attempt.status_code, Some(200));
        assert!(attempt.delivered());
    }

    #[tokio::test]
    async fn a_huge_body_is_not_read_to_its_end() {
        // 64 KiB and more of a body that never ends: reading stops at the limit.
        let mut head = b"HTTP/1.1 200 OK\r\ncontent-length: 100000000\r\n\r\n".to_vec();
        head.extend(std::iter::repeat_n(b'x', 80 * 1024));
        let port = stalling_server(head.leak());
        let poster = Poster::new(Destinations::AllowLoopback);
        let start = Instant::now();
        let url = format!("http://127.0.0.1:{port}/");
        let attempt = poster
            .post(&url, &headers(), vec![], Duration::from_secs(2))
            .await;
        assert!(
            start.elapsed() < Duration::from_millis(1000),
            "{:?}",
            start.elapsed()
        );
        assert!(attempt.delivered());
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration_text(Duration::from_secs(5)), "5s");
        assert_eq!(duration_text(Duration::from_millis(300)), "300ms");
        assert_eq!(duration_text(Duration::from_millis(1500)), "1500ms");
    }
}
