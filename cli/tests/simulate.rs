//! `mailbridge simulate` run as the real binary on a free loopback port: what it prints is
//! enough for another client to sign in, read the seeded mailbox over EWS and drive the
//! control interface, and SIGTERM stops it cleanly.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use mailbridge_ews::EwsClient;
use mailbridge_ews::ops::{SyncChange, SyncFolderItems};
use mailbridge_ews::types::DistinguishedFolder;
use mailbridge_identity::{AccessToken, EXCHANGE_SCOPE, StaticToken};
use serde_json::Value;

/// The last line of the start-up text.
const READY: &str = "Ctrl-C (or SIGTERM) stops it.";

/// The running command and its standard output, line by line as it comes.
struct Simulate {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Simulate {
    fn spawn(args: &[&str]) -> Simulate {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailbridge"))
            .arg("simulate")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Shown with the test's output, should it fail.
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Simulate { child, lines }
    }

    /// The lines up to and including one equal to `last`.
    fn read_until(&self, last: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let done = line == last;
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(err) => panic!("no {last:?} ({err}); got:\n{}", seen.join("\n")),
            }
        }
    }
}

impl Drop for Simulate {
    fn drop(&mut self) {
        // Only when a test failed half-way: the process must not outlive it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value printed after `label` (`  label   value`).
fn printed<'a>(lines: &'a [String], label: &str) -> &'a str {
    let found = lines
        .iter()
        .find_map(|l| l.trim_start().strip_prefix(label));
    match found {
        Some(value) => value.trim(),
        None => panic!("no {label:?} in:\n{}", lines.join("\n")),
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_uses_what_simulate_prints_and_sigterm_stops_it_cleanly() {
    let mut simulate = Simulate::spawn(&[
        "--port",
        "0",
        "--contacts",
        "7",
        "--events",
        "2",
        "--recurring",
        "1",
    ]);
    let start = tokio::task::block_in_place(|| simulate.read_until(READY));

    let base = printed(&start, "Exchange simulator on")
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let port: u16 = base
        .strip_prefix("http://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0, "the bound port is printed, not the 0 asked for");
    let token_url = printed(&start, "token endpoint");
    let ews_url = printed(&start, "EWS endpoint");
    let client_id = printed(&start, "client id");
    let secret = printed(&start, "client secret");
    let seeded = printed(&start, "seeded");
    let mailbox = seeded.split(':').next().unwrap();
    assert!(seeded.contains("7 contacts"), "{seeded}");
    assert!(
        start
            .iter()
            .any(|l| l.contains(&format!("{base}/_sim/stats"))),
        "the control interface is shown with an example"
    );

    let http = reqwest::Client::new();
    let answer: Value = http
        .post(token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", EXCHANGE_SCOPE),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    let token = AccessToken::new(bearer, SystemTime::now() + Duration::from_mins(30));
    let ews = EwsClient::new(http.clone(), ews_url, StaticToken::new(token)).unwrap();
    let page = ews
        .execute(
            mailbox,
            &SyncFolderItems::new(DistinguishedFolder::Contacts, None),
        )
        .await
        .unwrap();
    let created = page
        .changes
        .iter()
        .filter(|c| matches!(c, SyncChange::Create(_)))
        .count();
    assert_eq!(created, 7, "every seeded contact is read over EWS");

    let served: Value = http
        .get(format!("{base}/_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["requests"]["SyncFolderItems"], 1, "{served}");
    assert_eq!(served["tokens_issued"], 1, "{served}");

    let term = Command::new("kill")
        .args(["-TERM", &simulate.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let (last, exit) = tokio::task::block_in_place(|| {
        let last = simulate.lines.recv_timeout(Duration::from_secs(30));
        (last, simulate.child.wait().unwrap())
    });
    assert!(exit.success(), "stopped cleanly: {exit}");
    let last = last.unwrap();
    assert!(
        last.starts_with("SIGTERM: stopped after 1 EWS requests"),
        "{last}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens any more"
    );
}

#[test]
fn bad_options_exit_1_naming_the_option() {
    let cases: [(&[&str], &str); 4] = [
        (&["--port", "70000"], "--port"),
        (&["--contacts"], "--contacts needs a value"),
        (&["--colour", "blue"], "--colour"),
        (&["--events", "-1"], "--events"),
    ];
    for (args, named) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_mailbridge"))
            .arg("simulate")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();

        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{named}: {stderr}");
        assert!(stderr.contains(named), "{named}: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "nothing started: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

#[test]
fn a_port_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();

    let output = Command::new(env!("CARGO_BIN_EXE_mailbridge"))
        .args(["simulate", "--port", &port])
        .stdin(Stdio::null())
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("--port {port}")), "{stderr}");
}
