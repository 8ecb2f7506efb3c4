//! moto for the bench, with one of its costs taken out.
//!
//! Before each `TransactWriteItems`, moto backs up the whole table with `copy.deepcopy` (once
//! per item of the transaction), so that it can restore the table if the transaction fails.
//! A first sync of 10,000 contacts commits about 20,000 items in transactions of up to 100,
//! so moto's time and memory grow with the square of the table: it passed 16 GiB, and with
//! one backup per transaction it still wrote only 3,000 items in 17 minutes. The bench's
//! moto takes no backup. That only matters for a transaction that fails, and none may: the
//! bench checks that the sync finished without an error. What is measured is the function;
//! moto is only where its state lives.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = r#"
import sys, types
import copy
import moto.dynamodb.models as models
from moto.server import main

def deepcopy(value, memo=None):
    # The table backup before a transaction: skipped, see the module docs.
    if isinstance(value, models.Table):
        return value
    return copy.deepcopy(value, memo)

models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)
sys.argv = ["moto_server", "-H", "127.0.0.1", "-p", sys.argv[1]]
main()
"#;

/// A moto server on a free loopback port; stopped when dropped.
pub struct Moto {
    child: Child,
    /// Its endpoint.
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the bench's moto from the test script's virtualenv (`MAILBRIDGE_VENV`, by
/// default `~/.cache/mailbridge/venv`).
pub fn start() -> Result<Moto, String> {
    let venv = std::env::var_os("MAILBRIDGE_VENV").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/mailbridge/venv")
        },
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    if !python.is_file() {
        return Err(format!(
            "there is no {}: run scripts/test.sh once, it installs moto there",
            python.display()
        ));
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|socket| socket.local_addr())
        .map_err(|err| format!("no free loopback port: {err}"))?
        .port();
    let child = Command::new(&python)
        .arg("-c")
        .arg(SERVER)
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| format!("cannot run {}: {err}", python.display()))?;
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(moto);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "moto did not listen on 127.0.0.1:{port} within 30 s"
    ))
}
