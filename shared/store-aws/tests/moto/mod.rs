//! The moto server the tests talk to, and fresh stores on it.
//!
//! `scripts/test.sh` starts moto and sets `MAILBRIDGE_MOTO_URL`. Without that variable the
//! tests start their own moto from the script's virtualenv (`MAILBRIDGE_VENV`, by default
//! `~/.cache/mailbridge/venv`) on a free loopback port, watched so that it stops when the
//! test binary exits. Without either, every test fails and says what to run.

// Each test binary uses only part of the harness.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, Region};
use mailbridge_store_aws::{DynamoStateStore, SecretsManagerStore};

/// The moto endpoint, found or started once per test binary.
pub fn url() -> &'static str {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    match URL.get_or_init(find_or_start) {
        Ok(url) => url,
        Err(why) => panic!("{why}"),
    }
}

fn find_or_start() -> Result<String, String> {
    if let Ok(url) = std::env::var("MAILBRIDGE_MOTO_URL") {
        return Ok(url);
    }
    let venv = std::env::var_os("MAILBRIDGE_VENV").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/mailbridge/venv")
        },
        PathBuf::from,
    );
    let server = venv.join("bin/moto_server");
    if !server.is_file() {
        return Err(format!(
            "no moto server: MAILBRIDGE_MOTO_URL is unset and {} does not exist. \
             Run scripts/test.sh once (it installs moto into that virtualenv and starts it), \
             or set MAILBRIDGE_MOTO_URL to a running moto server.",
            server.display()
        ));
    }

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|err| format!("no free loopback port for moto: {err}"))?
        .port();
    // A small shell watches this process and stops moto once the tests are gone.
    let watch = r#"
        "$1" -H 127.0.0.1 -p "$2" >/dev/null 2>&1 &
        moto=$!
        while kill -0 "$3" 2>/dev/null && kill -0 "$moto" 2>/dev/null; do sleep 1; done
        kill "$moto" 2>/dev/null
    "#;
    Command::new("sh")
        .args(["-c", watch, "moto-watch"])
        .arg(&server)
        .arg(port.to_string())
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| format!("cannot start {}: {err}", server.display()))?;

    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if answers(port) {
            return Ok(format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!(
        "moto on 127.0.0.1:{port} did not answer within 30 s"
    ))
}

/// Whether an HTTP server answers on the port.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    let mut head = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
}

/// SDK configuration for moto: static test credentials, us-east-1, loopback only.
pub async fn config_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

/// A name no other test in any binary of this run uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}-{:06x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        fastrand::u32(..0x00ff_ffff)
    )
}

/// A state store on a new, empty table.
pub async fn state_store() -> DynamoStateStore {
    let config = config_for(url()).await;
    let store = DynamoStateStore::new(aws_sdk_dynamodb::Client::new(&config), unique("state"));
    if let Err(err) = store.create_table().await {
        panic!("cannot create table {}: {err}", store.table());
    }
    store
}

/// A secret store under a new, unused prefix.
pub async fn secret_store() -> SecretsManagerStore {
    let config = config_for(url()).await;
    let prefix = format!("{}/", unique("mailbridge-test"));
    match SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&config), prefix) {
        Ok(store) => store,
        Err(err) => panic!("test prefix refused: {err}"),
    }
}
