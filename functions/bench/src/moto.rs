//! moto for the bench, with one of its costs taken out.
//!
//! Before each `TransactWriteItems`, moto backs up the whole table with `copy.deepcopy` (once
//! per item of the transaction), so that it can restore the table if the transaction fails.
//! A first sync of 10,000 contacts commits about 20,000 items in transactions of up to 100,
//! so moto's time and memory grow with the square of the table: it passed 16 GiB, and with
//! one backup per transaction it still wrote only 3,000 items in 17 minutes. The bench's
//! moto takes no backup. That only matters for a transaction that fails, and none may: the
//! bench checks that the sync finished without an error.
//!
//! A query on a local secondary index walks (and first sorts) every item of the table, where
//! `DynamoDB` reads one partition; the sync looks links up by item id through such an index,
//! once per item, so that too grew with the square of the table. The bench's moto looks only
//! in the queried partition, which is all a local index can hold. What is measured is the
//! function; moto is only where its state lives.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = r#"
import sys, types
import copy
import moto.dynamodb.models as models
from moto.dynamodb.models.table import Table
from moto.server import main

def deepcopy(value, memo=None):
    # The table backup before a transaction: skipped, see the module docs.
    if isinstance(value, Table):
        return value
    return copy.deepcopy(value, memo)

models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)

query = Table.query

def may_match(value, comparison, values):
    # A first cut on the index's sort key; moto's own filter still decides.
    if value is None:
        return False
    bounds = [v.value for v in values]
    if comparison == "BETWEEN":
        return bounds[0] <= value.value <= bounds[1]
    if comparison == "BEGINS_WITH":
        return str(value.value).startswith(str(bounds[0]))
    if comparison == "EQ":
        return value.value == bounds[0]
    return True

def partition_query(self, hash_key, *args, **kwargs):
    # A local index shares the table's partition key: only that partition can match.
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    local = index_name is not None and any(i.name == index_name for i in (self.indexes or []))
    if local and hash_key is not None and self.range_key_attr:
        items = list(self.items.get(hash_key, {}).values())
        for attr, comparison, values in kwargs.get("range_key_conditions") or []:
            items = [i for i in items if may_match(i.attrs.get(attr), comparison, values)]
        self.all_items = lambda: items
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items
    return query(self, hash_key, *args, **kwargs)

Table.query = partition_query
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
