//! `bench secret RUNS SECRET_USER OTHER`: who reads the token-signing secret at a cold start. A
//! Secrets Manager stand-in on 127.0.0.1 answers `GetSecretValue` after 30 ms (about a regional
//! round trip) and counts the requests; each real binary starts RUNS times with
//! `TOKEN_SIGNING_SECRET_ARN` (as on AWS) and answers three calls per start: `SECRET_USER`
//! (issue-access-token, which signs tokens) must read the secret once per start, `OTHER`
//! (get-user, which signs nothing) never.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use shared::apps::App;

use crate::{BoxError, TABLE, TOKEN_SECRET};

/// How long the stand-in takes to answer.
const STUB_DELAY: Duration = Duration::from_millis(30);
const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench";

/// Starts the stand-in: its address and its request count.
async fn stub() -> Result<(String, Arc<AtomicU64>), BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}", listener.local_addr()?);
    let requests = Arc::new(AtomicU64::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let counted = counted.clone();
                    async move {
                        let asks_secret = request
                            .headers()
                            .get("x-amz-target")
                            .is_some_and(|t| t == "secretsmanager.GetSecretValue");
                        counted.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(STUB_DELAY).await;
                        let body = json!({"ARN": SECRET_ARN, "Name": "bench",
                            "SecretString": TOKEN_SECRET, "VersionId": "v1",
                            "VersionStages": ["AWSCURRENT"], "CreatedDate": 1.7e9});
                        Response::builder()
                            .status(if asks_secret { 200 } else { 400 })
                            .header("content-type", "application/x-amz-json-1.1")
                            .body(Full::new(Bytes::from(body.to_string())))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((address, requests))
}

/// A signed API Gateway event of `function` (its `events/` file) with `body`.
fn event(function: &str, app: &App, body: Value, now_ms: i64) -> Result<Value, BoxError> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../events/{function}.json"));
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    for (name, value) in crate::signed_headers(app, now_ms) {
        event["headers"][name] = value.into();
    }
    event["body"] = body.to_string().into();
    Ok(event)
}

pub async fn secret(runs: usize, secret_user: PathBuf, other: PathBuf) -> Result<(), BoxError> {
    let (state, endpoint) = crate::state().await?;
    let app = crate::production_app(&state).await?;
    crate::issue(&state, &app, "benchuser").await?;
    let (stub_address, stub_requests) = stub().await?;
    println!(
        "| function | signs or checks tokens | cold starts | calls per start | GetSecretValue requests per start | first response median ms |"
    );
    println!("|---|---|---|---|---|---|");
    for (binary, function, signs) in [
        (&secret_user, "issue-access-token", true),
        (&other, "get-user", false),
    ] {
        let emulator = crate::runtime_api::Emulator::start().await?;
        let before = stub_requests.load(Ordering::SeqCst);
        let mut firsts = Vec::new();
        for run in 0..runs {
            let mut child = tokio::process::Command::new(binary)
                .env("AWS_LAMBDA_RUNTIME_API", emulator.address())
                .env("AWS_LAMBDA_FUNCTION_NAME", function)
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("TABLE_NAME", TABLE)
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "bench")
                .env("AWS_SECRET_ACCESS_KEY", "bench")
                .env_remove("TOKEN_SIGNING_SECRET")
                .env("TOKEN_SIGNING_SECRET_ARN", SECRET_ARN)
                .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &stub_address)
                .env("DYNAMODB_ENDPOINT", &endpoint)
                .env("RUST_LOG", "error")
                .stdout(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()?;
            let started = Instant::now();
            for call in 0..3 {
                let now_ms = state.clock.now_ms();
                let event = match signs {
                    true => {
                        let body = json!({"userId": format!("secret{run}x{call}"), "name": "B"});
                        event(function, &app, body, now_ms)?
                    }
                    false => event(function, &app, json!({"userId": "benchuser"}), now_ms)?,
                };
                let response = emulator.invoke(event).await?;
                if call == 0 {
                    firsts.push(started.elapsed());
                }
                if response["statusCode"] != 200 {
                    return Err(format!("{function}: {response}").into());
                }
            }
            child.kill().await?;
        }
        let read = stub_requests.load(Ordering::SeqCst) - before;
        firsts.sort_unstable();
        println!(
            "| {function} | {} | {runs} | 3 | {:.2} | {} |",
            if signs { "yes" } else { "no" },
            read as f64 / runs as f64,
            crate::ms(crate::percentile(&firsts, 0.5))
        );
    }
    println!(
        "\nThe stand-in answers `GetSecretValue` after {} ms; both binaries get `TOKEN_SIGNING_SECRET_ARN` and that endpoint, as on AWS. Only the functions that sign or check tokens hold the grant (`template.yaml`) and read the secret, once, at their first use of it.",
        STUB_DELAY.as_millis()
    );
    Ok(())
}
