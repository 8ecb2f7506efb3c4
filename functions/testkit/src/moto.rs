//! Finds moto, the AWS emulator, or starts one.
//!
//! `scripts/test.sh` starts moto and exports `MAILBRIDGE_MOTO_URL`. Run alone (`cargo test
//! -p ...`), the first test starts `moto_server` from the script's virtualenv
//! (`MAILBRIDGE_VENV`, by default `~/.cache/mailbridge/venv`) on a free loopback port. That
//! server stops when the test binary exits: it runs under a shell that waits on a pipe
//! from this process and stops moto when the pipe closes.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, Region};

/// The moto endpoint for this test binary.
pub fn url() -> &'static str {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    match URL.get_or_init(locate) {
        Ok(url) => url,
        Err(why) => panic!("{why}"),
    }
}

/// SDK configuration for moto: us-east-1, static test credentials.
pub async fn config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await
}

fn locate() -> Result<String, String> {
    if let Some(url) = std::env::var("MAILBRIDGE_MOTO_URL")
        .ok()
        .filter(|url| !url.is_empty())
    {
        return Ok(url);
    }
    let venv = std::env::var_os("MAILBRIDGE_VENV").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/mailbridge/venv")
        },
        PathBuf::from,
    );
    let server = venv.join("bin/moto_server");
    if !server.is_file() {
        return Err(format!(
            "MAILBRIDGE_MOTO_URL is not set and there is no {}: run scripts/test.sh (it \
             installs and starts moto) or point MAILBRIDGE_MOTO_URL at a moto server",
            server.display()
        ));
    }
    start(&server)
}

fn start(server: &std::path::Path) -> Result<String, String> {
    // Holds the pipe's write end for the life of the process.
    static KEEP_ALIVE: Mutex<Option<ChildStdin>> = Mutex::new(None);

    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map_err(|err| format!("no free loopback port: {err}"))?
        .port();
    let script = r#""$0" -H 127.0.0.1 -p "$1" >/dev/null 2>&1 & server=$!
        cat >/dev/null
        kill "$server""#;
    let mut shell = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(server)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| format!("cannot run {}: {err}", server.display()))?;
    if let Ok(mut held) = KEEP_ALIVE.lock() {
        *held = shell.stdin.take();
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "moto did not listen on 127.0.0.1:{port} within 30 s"
    ))
}
