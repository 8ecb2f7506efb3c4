//! Initial sync of 10,000 contacts and 2,000 events with 20 ms of latency added to every
//! simulator request, then a sync with nothing changed.
//!
//! Run: `cargo bench -p mailbridge-sync --bench initial_sync`. The simulator runs in a
//! child process (this binary, started again with `MAILBRIDGE_BENCH_ROLE=simulator`), so
//! the peak RSS reported is the sync's alone: engine, EWS client and `SQLite` store.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    missing_docs
)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailbridge_ews::{EwsClient, EwsMailbox};
use mailbridge_identity::{
    AppCredentials, Authority, ClientSecret, TenantTokens, TokenCache, TokenClient,
};
use mailbridge_store::sqlite::SqliteStore;
use mailbridge_sync::{Engine, SyncConfig};

const CONTACTS: usize = 10_000;
const EVENTS: usize = 2_000;
const LATENCY_MS: u64 = 20;

/// The child: a simulator with the seeded mailbox; prints its URL, tenant and secret, then
/// serves until its input closes. Its last line is its request counts.
fn simulator() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sim = mailbridge_ews_sim::Simulator::start().await.unwrap();
        let tenant = mailbridge_ews_sim::preset::contoso(sim.world()).unwrap();
        let spec = mailbridge_ews_sim::model::SeedSpec {
            contacts: CONTACTS,
            events: EVENTS - 100,
            recurring: 100,
            seed: 5,
            ..Default::default()
        };
        sim.world().seed(&tenant.mailboxes[0], &spec).unwrap();
        sim.world().set_faults(mailbridge_ews_sim::FaultPlan {
            latency_ms: LATENCY_MS,
            ..Default::default()
        });
        println!(
            "{} {} {} {} {}",
            sim.base_url(),
            tenant.tenant_id,
            tenant.client_id,
            tenant.client_secret,
            tenant.mailboxes[0]
        );
        std::io::stdout().flush().unwrap();
        let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
        loop {
            let mut line = String::new();
            let read = tokio::io::AsyncBufReadExt::read_line(&mut stdin, &mut line)
                .await
                .unwrap();
            if read == 0 {
                break;
            }
            let stats = sim.world().stats();
            println!("{}", serde_json::to_string(&stats.requests).unwrap());
            std::io::stdout().flush().unwrap();
        }
    });
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User plus system CPU time of a process (`self` or a pid), from `/proc/{id}/stat`.
fn cpu_of(process: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{process}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Duration::from_millis((f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()) * 10)
}

fn minimum_requests(items: usize) -> usize {
    let pages = items.div_ceil(512);
    let full = items / 512;
    let rest = items % 512;
    pages + full * 512usize.div_ceil(100) + rest.div_ceil(100)
}

/// Starts this binary again as the simulator and reads the line where it says where it
/// listens and with which credentials.
fn start_simulator() -> (Child, BufReader<ChildStdout>, ChildStdin, Vec<String>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("MAILBRIDGE_BENCH_ROLE", "simulator")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let input = child.stdin.take().unwrap();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let parts = line.split_whitespace().map(str::to_owned).collect();
    (child, out, input, parts)
}

fn main() {
    if std::env::var("MAILBRIDGE_BENCH_ROLE").as_deref() == Ok("simulator") {
        simulator();
        return;
    }
    let (mut child, mut out, mut input, parts) = start_simulator();
    let (base, tenant, client, secret, mailbox) =
        (&parts[0], &parts[1], &parts[2], &parts[3], &parts[4]);
    let mut counts = || {
        writeln!(input, "stats").unwrap();
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let map: std::collections::BTreeMap<String, u64> = serde_json::from_str(&line).unwrap();
        map
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("mailbridge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(dir.join("state.db")).unwrap();
    let rss_before = status_kb("VmRSS:");
    let http = reqwest::Client::new();
    let ews = {
        let _guard = runtime.enter();
        let cache = Arc::new(TokenCache::new(TokenClient::new(
            http.clone(),
            Authority::new(base).unwrap(),
        )));
        let creds = AppCredentials::new(tenant, client, ClientSecret::new(secret.clone()));
        EwsClient::new(
            http,
            &format!("{base}/EWS/Exchange.asmx"),
            TenantTokens::new(cache, creds),
        )
        .unwrap()
    };
    let backend = EwsMailbox::new(&ews, mailbox.as_str());
    let engine = Engine::new(&store, &backend, mailbox, SyncConfig::default());
    let simulator_pid = child.id().to_string();
    let cpu = || cpu_of("self");
    let run = || {
        let (cpu0, t0) = (cpu(), Instant::now());
        let reports = runtime.block_on(engine.sync_mailbox()).unwrap();
        (reports, cpu().saturating_sub(cpu0), t0.elapsed())
    };
    // The simulator's seeding is done before it prints its address, so what it spends
    // from here on is serving this sync.
    let simulator_cpu0 = cpu_of(&simulator_pid);
    let (initial, initial_cpu, initial_wall) = run();
    let simulator_cpu = cpu_of(&simulator_pid).saturating_sub(simulator_cpu0);
    let after_initial = counts();
    let (quiet, _, quiet_wall) = run();
    let after_quiet = counts();
    let initial_requests: u64 = after_initial.values().sum();
    let quiet_requests = after_quiet.values().sum::<u64>() - initial_requests;
    let minimum = minimum_requests(CONTACTS) + minimum_requests(EVENTS);
    let latency_floor = Duration::from_millis(LATENCY_MS * initial_requests);
    println!(
        "Initial sync: {CONTACTS} contacts, {EVENTS} events, {LATENCY_MS} ms added to every simulator request\n"
    );
    println!("| figure | value |\n|---|---|");
    println!(
        "| wall time, initial sync | {:.1} s |",
        initial_wall.as_secs_f64()
    );
    println!(
        "| of which added latency (requests x {LATENCY_MS} ms) | {:.1} s |",
        latency_floor.as_secs_f64()
    );
    println!(
        "| CPU time of the syncing process (user + sys) | {:.1} s |",
        initial_cpu.as_secs_f64()
    );
    println!(
        "| CPU time of the simulator process, initial sync | {:.2} s ({:.1}x less than the sync) |",
        simulator_cpu.as_secs_f64(),
        initial_cpu.as_secs_f64() / simulator_cpu.as_secs_f64().max(0.001)
    );
    println!("| EWS requests, initial sync | {initial_requests} {after_initial:?} |");
    println!(
        "| minimum possible | {minimum} (pages of 512 plus GetItem batches of 100 per page) |"
    );
    println!(
        "| EWS requests, sync with nothing changed | {quiet_requests} ({:.0} ms) |",
        quiet_wall.as_secs_f64() * 1000.0
    );
    println!(
        "| peak RSS of the syncing process | {:.1} MB (at start: {:.1} MB) |",
        status_kb("VmHWM:") as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    println!(
        "| records made | {} contacts, {} events; quiet sync pages: {} + {} |",
        initial[0].crm_created, initial[1].crm_created, quiet[0].pages, quiet[1].pages
    );
    drop(input);
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
