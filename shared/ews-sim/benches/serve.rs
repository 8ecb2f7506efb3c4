//! How fast the simulator serves `SyncFolderItems` pages of 512 contacts, against how fast
//! our client can parse them, measured in one run on the same machine.
//!
//! Run: `cargo bench -p mailbridge-ews-sim --bench serve`. Prints one Markdown table row per
//! item shape; the figures go into BENCHMARKS.md.
//!
//! The simulator runs alone on its own thread (a single-threaded runtime), the load
//! generator on another, so the simulator's CPU time per page is read exactly from its
//! thread's counters. The simulator must never be what limits a sync benchmark: it must
//! spend several times less CPU on a page than our client spends fetching it (`EwsClient`:
//! build the request, HTTP, parse), measured the same way on the client's own thread.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    missing_docs
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mailbridge_ews::ops::SyncFolderItems;
use mailbridge_ews::types::{DistinguishedFolder, ItemShape};
use mailbridge_ews::{EwsClient, Operation};
use mailbridge_ews_sim::Simulator;
use mailbridge_ews_sim::model::SeedSpec;
use mailbridge_ews_sim::preset::{PresetTenant, contoso};
use mailbridge_identity::{AppCredentials, Authority, ClientSecret, StaticToken, TokenClient};

const CONTACTS: usize = 2048;
const RUN: Duration = Duration::from_secs(4);

/// User plus system CPU time of one thread (Linux, in clock ticks of 10 ms).
fn thread_cpu(tid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// The calling thread's id, as `/proc` names it.
fn current_tid() -> u32 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    stat.split(' ').next().unwrap().parse().unwrap()
}

/// The simulator on a thread of its own: its URLs, its tenant and that thread's id.
struct SimThread {
    base_url: String,
    ews_url: String,
    tenant: PresetTenant,
    tid: u32,
    stop: tokio::sync::oneshot::Sender<()>,
}

fn start_simulator() -> SimThread {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("simulator".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let sim = Simulator::start().await.unwrap();
                let tenant = contoso(sim.world()).unwrap();
                let seed = SeedSpec {
                    contacts: CONTACTS,
                    seed: 7,
                    ..SeedSpec::default()
                };
                sim.world().seed(&tenant.mailboxes[0], &seed).unwrap();
                let (stop, stopped) = tokio::sync::oneshot::channel();
                ready_tx
                    .send(SimThread {
                        base_url: sim.base_url(),
                        ews_url: sim.ews_url(),
                        tenant,
                        tid: current_tid(),
                        stop,
                    })
                    .unwrap();
                let _ = stopped.await;
            });
        })
        .unwrap();
    ready_rx.recv().unwrap()
}

struct Served {
    pages: u64,
    elapsed: Duration,
    sim_cpu: Duration,
}

/// `connections` loops post the same first-page request for `RUN` and count answers.
async fn serve_rate(
    sim: &SimThread,
    http: &reqwest::Client,
    bearer: &str,
    envelope: &str,
    expected_len: usize,
    connections: usize,
) -> Served {
    let pages = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let cpu_start = thread_cpu(sim.tid);
    let mut loops = Vec::new();
    for _ in 0..connections {
        let (http, url, pages) = (http.clone(), sim.ews_url.clone(), pages.clone());
        let (bearer, envelope) = (bearer.to_owned(), envelope.to_owned());
        let mailbox = sim.tenant.mailboxes[0].clone();
        loops.push(tokio::spawn(async move {
            while start.elapsed() < RUN {
                let body = http
                    .post(&url)
                    .header("content-type", "text/xml; charset=utf-8")
                    .header("authorization", format!("Bearer {bearer}"))
                    .header("x-anchormailbox", &mailbox)
                    .body(envelope.clone())
                    .send()
                    .await
                    .unwrap()
                    .error_for_status()
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                assert_eq!(body.len(), expected_len, "every page is the same");
                pages.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for handle in loops {
        handle.await.unwrap();
    }
    Served {
        pages: pages.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
        sim_cpu: thread_cpu(sim.tid).saturating_sub(cpu_start),
    }
}

/// CPU milliseconds our client's thread spends per page fetched with `EwsClient`.
async fn client_cpu_ms(ews: &EwsClient<StaticToken>, mailbox: &str, op: &SyncFolderItems) -> f64 {
    let tid = current_tid();
    let (start, cpu_start) = (Instant::now(), thread_cpu(tid));
    let mut pages = 0u64;
    while start.elapsed() < RUN {
        let page = ews.execute(mailbox, op).await.unwrap();
        assert_eq!(page.changes.len(), 512);
        pages += 1;
    }
    thread_cpu(tid).saturating_sub(cpu_start).as_secs_f64() * 1e3 / pages as f64
}

/// Milliseconds our client takes to parse one page, single-threaded.
fn parse_ms(body: &[u8]) -> f64 {
    let start = Instant::now();
    let mut pages = 0u64;
    while start.elapsed() < RUN {
        let page = SyncFolderItems::parse_envelope(body).unwrap();
        assert_eq!(page.changes.len(), 512);
        pages += 1;
    }
    start.elapsed().as_secs_f64() * 1e3 / pages as f64
}

fn main() {
    let sim = start_simulator();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mailbox = sim.tenant.mailboxes[0].clone();
        let http = reqwest::Client::new();
        let tokens = TokenClient::new(http.clone(), Authority::new(&sim.base_url).unwrap());
        let token = tokens
            .fetch(&AppCredentials::new(
                &sim.tenant.tenant_id,
                &sim.tenant.client_id,
                ClientSecret::new(sim.tenant.client_secret.clone()),
            ))
            .await
            .unwrap();
        let bearer = token.bearer().to_owned();
        let ews = EwsClient::new(http.clone(), &sim.ews_url, StaticToken::new(token)).unwrap();
        println!(
            "{CONTACTS} seeded contacts in {mailbox}; {} s per figure; simulator on one thread\n",
            RUN.as_secs()
        );
        println!(
            "| item shape | page size | sim pages/s | sim CPU ms/page | sim pages per CPU-s | client parse ms/page | client fetch CPU ms/page | client / sim CPU |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for (name, shape) in [
            ("ids + CRM id", ItemShape::ids_with_crm_id()),
            ("all properties + CRM id", ItemShape::full_with_crm_id()),
        ] {
            let mut op = SyncFolderItems::new(DistinguishedFolder::Contacts, None);
            op.shape = shape;
            let envelope = op.to_envelope(&mailbox).unwrap();
            let sample = http
                .post(&sim.ews_url)
                .header("content-type", "text/xml; charset=utf-8")
                .header("authorization", format!("Bearer {bearer}"))
                .body(envelope.clone())
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let parse = parse_ms(&sample);
            let fetch = client_cpu_ms(&ews, &mailbox, &op).await;
            let served = serve_rate(&sim, &http, &bearer, &envelope, sample.len(), 2).await;
            let sim_ms = served.sim_cpu.as_secs_f64() * 1e3 / served.pages as f64;
            println!(
                "| {name} | {:.2} MB | {:.0} | {sim_ms:.2} | {:.0} | {parse:.2} | {fetch:.2} | {:.1}x |",
                sample.len() as f64 / 1e6,
                served.pages as f64 / served.elapsed.as_secs_f64(),
                1e3 / sim_ms,
                fetch / sim_ms
            );
        }
    });
    let _ = sim.stop.send(());
}
