//! Log hygiene: with every event captured at TRACE level, a failing client never writes
//! the bearer token into a log line or an error. In a test binary of its own, because
//! `tracing` caches per-callsite interest process-wide and a parallel test without a
//! subscriber could otherwise switch the events off.

// Helpers outside `#[test]` functions unwrap too: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

mod harness;

use std::sync::{Arc, Mutex};

use harness::script_server::{Reply, ScriptServer};
use harness::tokens::{CountingTokens, fast_client};
use mailbridge_ews::ops::SyncFolderItems;
use mailbridge_ews::types::{DistinguishedFolder, SyncState};

fn sync_op() -> SyncFolderItems {
    SyncFolderItems::new(
        DistinguishedFolder::Contacts,
        Some(SyncState::new("state-1")),
    )
}

#[tokio::test]
async fn the_token_never_reaches_errors_or_logs() {
    let logs = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = {
        let logs = logs.clone();
        move || LogWriter(logs.clone())
    };
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(writer)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = ScriptServer::start(vec![
        Reply::status(401, String::new()),
        Reply::status(401, String::new()),
    ])
    .await;
    let err = fast_client(&server, CountingTokens::default())
        .execute("agent@brokerage.example", &sync_op())
        .await
        .unwrap_err();
    let server2 =
        ScriptServer::start(vec![Reply::Reset, Reply::Reset, Reply::Reset, Reply::Reset]).await;
    let err2 = fast_client(&server2, CountingTokens::default())
        .execute("agent@brokerage.example", &sync_op())
        .await
        .unwrap_err();

    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("retrying"),
        "the capture saw no events: {logs}"
    );
    for text in [
        format!("{err}"),
        format!("{err:?}"),
        format!("{err2}"),
        format!("{err2:?}"),
        logs,
    ] {
        assert!(!text.contains("SECRETVALUE"), "token leaked into: {text}");
    }
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
