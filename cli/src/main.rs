//! `mailbridge`: the command a developer or an evaluator runs on one machine.
//!
//! - `mailbridge demo`: starts the Exchange simulator on loopback, seeds a mailbox, gets an
//!   app-only token and reads the mailbox's contacts and calendar through `shared/ews`.
//! - `mailbridge serve`: the API, the scheduler and the sync worker in one process.
//! - `mailbridge simulate`: runs the simulator until interrupted, for other clients to use.
//! - `mailbridge sync`: syncs one mailbox of `serve`'s data directory now, or with
//!   `--dry-run` prints the plan (first-connect matches, new, ambiguous) writing nothing.
//! - `mailbridge verify`: checks an app registration against a test mailbox and names the
//!   fix when a step fails; with `--data` it stores the verified tenant for `serve`.

// The command's job is to print; everything else logs through tracing.
#![allow(clippy::print_stdout)]

mod demo;
mod demo_bundle;
mod demo_sync;
mod runner;
mod serve;
mod simulate;
mod sync;
mod verify;

use std::process::ExitCode;

/// The command's help, printed by `mailbridge help` and `mailbridge verify --help`.
pub(crate) const USAGE: &str = "usage:
  mailbridge demo                  run the local demo against the Exchange simulator
  mailbridge serve [options]       run the API, scheduler and sync worker until Ctrl-C
      --port N                     API on 127.0.0.1:N (default 8080)
      --data DIR                   state and secrets (default ~/.local/share/mailbridge)
      --interval-secs N            sync each mailbox every N s (default 300)
      --no-simulator               do not start the Exchange simulator
  mailbridge simulate [options]    run the Exchange simulator until Ctrl-C or SIGTERM
      --port N                     listen on 127.0.0.1:N (default, or 0: a free port,
                                   printed)
      --contacts N                 seed the test mailbox with N contacts (default 50)
      --events N                   and N single events (default 20)
      --recurring N                and N recurring series (default 4)
      --latency-ms N               add N ms to every EWS request (default 0)
  mailbridge verify [options]      verify an app registration against a test mailbox
      --tenant-id ID               directory (tenant) id
      --client-id ID               application (client) id
      --mailbox ADDRESS            an ordinary, licensed mailbox of the tenant to test with
      --secret-expires YYYY-MM-DD  the secret's expiry, as Entra ID shows it
      --secret-file PATH           read the client secret from PATH; without it from
                                   MAILBRIDGE_CLIENT_SECRET, else one line of standard input
                                   (never a flag: ps and shell history would keep it)
      --send-test                  also send a test message from the mailbox to itself
      --authority URL              identity authority (default Microsoft's)
      --ews-url URL                EWS endpoint (default Exchange Online's)
      --json                       print the outcome as JSON
      --data DIR                   when verified, store the tenant for `serve --data DIR`
      --name NAME                  the stored tenant's name (default: its id)
      --simulator                  verify against a simulator started here; the flags left
                                   out take its tenant's values
    exit status: 0 verified, 1 cannot be verified, 2 bad usage, 3 verified but not stored
  mailbridge sync [options]        sync one mailbox of serve's data directory once, now
      --mailbox ADDRESS            the mailbox, as stored by verify --data or the API
      --data DIR                   as for serve (default ~/.local/share/mailbridge)
      --folder contacts|calendar   only this folder (default both)
      --dry-run                    print the plan (first connect: matched, new, ambiguous;
                                   every action) and write nothing
      --acknowledge-deletes        let through the deletes the mass-delete brake stopped
                                   (after checking the owner meant them), then sync
    exit status: 0 synced (or planned), 1 the sync stopped (Exchange unreachable or
    refusing, the mass-delete brake, another sync running), 2 bad usage, 3 nothing to
    sync (no data directory, mailbox not stored, tenant not verified, mailbox paused or
    stopped by the brake, nothing braked to let through)";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // The demo provokes one refusal on purpose; its warning would only be noise.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => Box::pin(demo::run()).await.map(|_| ()),
        Some("simulate" | "serve") if args.iter().any(|a| a == "--help" || a == "-h") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("simulate") => match simulate::Options::parse(&args[1..]) {
            Ok(options) => simulate::run(options).await,
            Err(err) => Err(err),
        },
        Some("serve") => match serve::Options::parse(&args[1..]) {
            Ok(options) => serve::run(options).await,
            Err(err) => Err(err),
        },
        Some("verify") => return verify::run(&args[1..]).await,
        Some("sync") => return sync::run(&args[1..]).await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command {other:?}\n{USAGE}")),
        None => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mailbridge: {err}");
            ExitCode::FAILURE
        }
    }
}
