//! `fn-bench`: measures the release builds of the five Lambda functions on this machine.
//!
//! For each function: the binary's size, and the time from starting the process to its
//! answer to the first event (a cold start without Lambda's own download and sandbox set-up),
//! over several fresh processes. Then one `mailbox-sync` run of the first sync of a mailbox
//! with 10,000 contacts, with its peak resident memory. The functions run against moto (the
//! AWS emulator: `MAILBRIDGE_MOTO_URL`, or one the bench starts, see [`moto`]) and the
//! Exchange simulator in this process; the Lambda Runtime API is a stand-in on a loopback port.
//!
//! ```text
//! cargo build --release -p mailbridge-admin-api -p mailbridge-mailbox-sync \
//!     -p mailbridge-send-mail -p mailbridge-sync-scheduler -p mailbridge-token-refresh
//! cargo run --profile bench -p mailbridge-fn-bench -- --bin-dir "$CARGO_TARGET_DIR/release"
//! ```

// The report is what this program is for.
#![allow(clippy::print_stdout)]

mod events;
mod measure;
mod moto;
mod runtime;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mailbridge_fn_testkit::{Deployment, unique};
use mailbridge_store::StateStore;
use serde_json::{Value, json};

use crate::measure::{Function, Measured};

/// The function binaries, by the names `template.yaml` builds.
const FUNCTIONS: [&str; 5] = [
    "admin-api",
    "mailbox-sync",
    "send-mail",
    "sync-scheduler",
    "token-refresh",
];

struct Options {
    bin_dir: PathBuf,
    contacts: usize,
    runs: usize,
    /// How long the big sync may take: moto, not the function, sets its pace.
    sync_minutes: u64,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        let mut options = Options {
            bin_dir: PathBuf::from(target).join("release"),
            contacts: 10_000,
            runs: 5,
            sync_minutes: 120,
        };
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--bin-dir" => options.bin_dir = PathBuf::from(value()?),
                "--contacts" => options.contacts = number(&flag, &value()?)?,
                "--runs" => options.runs = number(&flag, &value()?)?.max(1),
                "--sync-minutes" => {
                    options.sync_minutes = number(&flag, &value()?)?.try_into().unwrap_or(u64::MAX);
                }
                other => {
                    return Err(format!(
                        "unknown argument {other}; use --bin-dir DIR, --contacts N, --runs N, --sync-minutes N"
                    ));
                }
            }
        }
        Ok(options)
    }
}

fn number(flag: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} must be a whole number, not {value:?}"))
}

/// The variable that tells the test kit (and the functions) where moto is.
const MOTO_URL: &str = "MAILBRIDGE_MOTO_URL";

fn main() -> ExitCode {
    let outcome = match std::env::var(MOTO_URL) {
        Ok(url) if !url.is_empty() => measure(&url),
        _ => with_own_moto(),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("fn-bench: {why}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the bench's moto and runs this program again against it: the test kit reads
/// moto's address from the environment, which is set for a child, not changed in place.
fn with_own_moto() -> Result<(), String> {
    let moto = moto::start()?;
    let program = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
    let status = std::process::Command::new(program)
        .args(std::env::args_os().skip(1))
        .env(MOTO_URL, &moto.url)
        .status()
        .map_err(|e| format!("cannot run the measurement: {e}"))?;
    drop(moto);
    if status.success() {
        Ok(())
    } else {
        Err(format!("the measurement ended with {status}"))
    }
}

fn measure(moto_url: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no async runtime: {e}"))?;
    runtime.block_on(run(moto_url))
}

async fn run(moto_url: &str) -> Result<(), String> {
    let options = Options::parse(std::env::args().skip(1))?;
    let mut sizes = Vec::new();
    for name in FUNCTIONS {
        let path = options.bin_dir.join(name);
        let size = std::fs::metadata(&path)
            .map_err(|e| {
                format!(
                    "{}: {e} (build the functions with --release first)",
                    path.display()
                )
            })?
            .len();
        sizes.push(size);
    }

    let deployment = Deployment::new().await;
    let onboarded = deployment
        .contoso(options.contacts, chrono::Duration::days(200))
        .await;
    let big = onboarded.tenant.mailboxes[0].clone();
    let small = onboarded.tenant.mailboxes[1].clone();
    let env = environment(&deployment, moto_url).await?;
    let log_dir = std::env::temp_dir().join(unique("fn-bench"));
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;

    println!(
        "| function | release binary | start to first handled event: median (min–max) of {} | peak RSS of those runs |",
        options.runs
    );
    println!("| --- | ---: | ---: | ---: |");
    for (name, size) in FUNCTIONS.iter().zip(&sizes) {
        let function = Function {
            binary: options.bin_dir.join(name),
            name,
            env: &env,
            log_dir: &log_dir,
        };
        let event = light_event(name, &small);
        let mut runs = Vec::new();
        for _ in 0..options.runs {
            runs.push(function.invoke(&event, Duration::from_mins(1)).await?);
        }
        println!("{}", row(name, *size, &runs));
    }

    let function = Function {
        binary: options.bin_dir.join("mailbox-sync"),
        name: "mailbox-sync-10k",
        env: &env,
        log_dir: &log_dir,
    };
    let started = Instant::now();
    let measured = function
        .invoke(&sync_event(&big), Duration::from_mins(options.sync_minutes))
        .await?;
    check_synced(&deployment, &big, &measured).await?;
    let ews = onboarded.sim.world().stats().requests.values().sum::<u64>();
    println!(
        "\nmailbox-sync, first sync of a mailbox with {} contacts: {:.1} s, {:.1} s of CPU, peak RSS {:.1} MiB, {ews} EWS requests in all",
        options.contacts,
        started.elapsed().as_secs_f64(),
        measured.cpu.as_secs_f64(),
        mib(measured.peak_kib * 1024),
    );
    let _ = std::fs::remove_dir_all(&log_dir);
    Ok(())
}

/// The settings `template.yaml` gives the functions, pointed at moto, plus the variables
/// the Lambda runtime reads. Nothing of this machine's own environment reaches them.
async fn environment(
    deployment: &Deployment,
    moto_url: &str,
) -> Result<Vec<(String, String)>, String> {
    let settings = &deployment.services.settings;
    let send_queue = deployment
        .sqs()
        .create_queue()
        .queue_name(unique("send-retry"))
        .send()
        .await
        .map_err(|e| format!("moto refused to create the send queue: {e}"))?;
    let pairs = [
        ("TABLE_NAME", settings.table_name.clone()),
        ("SECRET_PREFIX", settings.secret_prefix.clone()),
        ("STAGE", settings.stage.clone()),
        ("SYNC_QUEUE_URL", deployment.queue_url().to_owned()),
        (
            "SEND_RETRY_QUEUE_URL",
            send_queue.queue_url().unwrap_or_default().to_owned(),
        ),
        (
            "MAILBRIDGE_ADMIN_KEY_SHA256",
            "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8".to_owned(),
        ),
        ("AWS_ENDPOINT_URL", moto_url.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config".to_owned()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials".to_owned(),
        ),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/mailbridge-bench".to_owned(),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "WARN".to_owned()),
    ];
    Ok(pairs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect())
}

/// A cheap event for timing a start: the work is the smallest each function does.
fn light_event(function: &str, mailbox: &str) -> Value {
    match function {
        "admin-api" => events::http_get("/openapi.json"),
        "mailbox-sync" => sync_event(mailbox),
        "send-mail" => events::sqs(
            &json!({
                "mailbox": mailbox,
                "idempotency_key": "fn-bench-send",
                "message": {
                    "to": [mailbox],
                    "subject": "fn-bench",
                    "text": "One message, sent once however often the bench runs."
                }
            }),
            "mailbridge-bench-send-retry",
        ),
        other => events::schedule(other),
    }
}

fn sync_event(mailbox: &str) -> Value {
    events::sqs(
        &json!({ "mailbox": mailbox, "reason": "bench" }),
        "mailbridge-bench-sync",
    )
}

/// The 10,000-contact run counts only if every message succeeded and the mailbox synced.
async fn check_synced(
    deployment: &Deployment,
    mailbox: &str,
    run: &Measured,
) -> Result<(), String> {
    let response: Value = serde_json::from_str(&run.response)
        .map_err(|e| format!("mailbox-sync answered with something else than JSON: {e}"))?;
    let failures = response["batchItemFailures"].as_array().map_or(0, Vec::len);
    if failures > 0 {
        return Err(format!("the big sync failed: {response}"));
    }
    let record = deployment
        .services
        .state
        .get_mailbox(mailbox)
        .await
        .map_err(|e| format!("the mailbox record cannot be read: {e}"))?
        .ok_or("the mailbox record is gone")?;
    match (record.last_sync, record.last_error) {
        (Some(_), None) => Ok(()),
        (_, error) => Err(format!("the big sync did not finish: {error:?}")),
    }
}

fn row(name: &str, size: u64, runs: &[Measured]) -> String {
    let mut millis: Vec<f64> = runs
        .iter()
        .map(|m| m.first_event.as_secs_f64() * 1000.0)
        .collect();
    millis.sort_by(f64::total_cmp);
    let median = millis[millis.len() / 2];
    let (low, high) = (millis[0], millis[millis.len() - 1]);
    let peak = runs.iter().map(|m| m.peak_kib).max().unwrap_or(0);
    format!(
        "| {name} | {:.1} MiB | {median:.0} ms ({low:.0}–{high:.0}) | {:.1} MiB |",
        mib(size),
        mib(peak * 1024)
    )
}

#[allow(clippy::cast_precision_loss)]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
