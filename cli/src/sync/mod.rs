//! `mailbridge sync`: one sync of one mailbox of the local runner's data directory, run
//! now, or with `--dry-run` the plan of it: on a first connect how many mailbox items would
//! be matched to CRM records, made new or found ambiguous, and every action listed, with
//! nothing written anywhere.

mod options;
mod target;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use chrono::Utc;
use mailbridge_ews::EwsMailbox;
use mailbridge_mailbox::BackendError;
use mailbridge_service::tenants::{ClientError, TenantClients};
use mailbridge_store::{Folder, StateStore, StoreError};
use mailbridge_sync::{Engine, FolderReport, SyncConfig, SyncError};

use options::Options;
use target::{Data, Target};

/// A sync's requests are retried within a minute each; one that hangs longer will not answer.
const HTTP_TIMEOUT: Duration = Duration::from_mins(1);

/// CRM changes waiting to be pushed are counted up to this many.
const OUTBOX_COUNT_LIMIT: usize = 10_000;

/// How the command ends, as its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// Synced, or the plan printed.
    Done = 0,
    /// The sync (or the plan) stopped: Exchange unreachable or refusing, the brake, another
    /// sync running. What was committed stays; the next run does the rest.
    Failed = 1,
    /// A flag is wrong.
    Usage = 2,
    /// Nothing to sync: no data directory, the mailbox not stored, its tenant not verified
    /// (or expired, disabled), the mailbox paused.
    NotReady = 3,
}

/// Why the command stopped early, and with which exit code.
pub(crate) struct Stop {
    exit: Exit,
    message: String,
}

pub(crate) fn failed(message: String) -> Stop {
    Stop {
        exit: Exit::Failed,
        message,
    }
}

pub(crate) fn not_ready(message: String) -> Stop {
    Stop {
        exit: Exit::NotReady,
        message,
    }
}

/// Runs the command with its arguments (after `sync`).
pub async fn run(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{}", crate::USAGE);
        return ExitCode::SUCCESS;
    }
    let exit = match execute(args).await {
        Ok(()) => Exit::Done,
        Err(stop) => {
            eprintln!("mailbridge sync: {}", stop.message);
            stop.exit
        }
    };
    ExitCode::from(exit as u8)
}

async fn execute(args: &[String]) -> Result<(), Stop> {
    let options = Options::parse(args).map_err(|message| Stop {
        exit: Exit::Usage,
        message,
    })?;
    let data = Data::open(&options.data)?;
    let mut target = data.target(&options.mailbox).await?;
    if options.acknowledge_deletes {
        let by = format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "local".to_owned())
        );
        mailbridge_store::acknowledge_deletes(&data.store, &options.mailbox, &by, Utc::now())
            .await
            .map_err(|e| match e {
                StoreError::Invalid { .. } => not_ready(e.to_string()),
                e => failed(format!("recording the go-ahead for the deletes: {e}")),
            })?;
        println!("{}: braked deletes let through by {by}", options.mailbox);
        target = data.target(&options.mailbox).await?;
    }
    let inactive = target.inactive();
    if let (Some(reason), false) = (&inactive, options.dry_run) {
        return Err(not_ready(format!(
            "{reason}; nothing synced (a --dry-run still shows the plan)"
        )));
    }
    let http = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| failed(format!("the HTTP client: {e}")))?;
    let clients = TenantClients::new(http);
    let ews = clients
        .client(&target.tenant, &data.secrets)
        .await
        .map_err(|e| client_error(&e))?;
    let address = target.mailbox.address.as_str();
    let backend = EwsMailbox::new(&ews, address);
    let config = SyncConfig {
        owner: format!("mailbridge-sync-{}", std::process::id()),
        ..SyncConfig::default()
    };
    let engine = Engine::new(&data.store, &backend, address, config);
    let folders = options.folder.map_or(Folder::ALL.to_vec(), |f| vec![f]);
    let tenant = &target.tenant;
    let started = Instant::now();
    let tenant = if tenant.name == tenant.id {
        tenant.id.clone()
    } else {
        format!("{} ({})", tenant.name, tenant.id)
    };
    if options.dry_run {
        println!("Dry run for {address}: nothing is written");
        println!("  tenant {tenant}, {}", target.endpoints());
        if let Some(reason) = inactive {
            println!("note: {reason}; a real sync is refused until it is active again");
        }
        for folder in folders {
            let first = !data
                .store
                .get_cursor(address, folder)
                .await
                .map_err(|e| failed(format!("reading the sync cursor: {e}")))?
                .enumerated;
            let waiting = data
                .store
                .list_outbox(address, folder, OUTBOX_COUNT_LIMIT)
                .await
                .map_err(|e| failed(format!("reading the CRM changes waiting: {e}")))?
                .len();
            let plan = engine
                .dry_run(folder)
                .await
                .map_err(|e| sync_error(&e, &target, "the plan"))?;
            println!("{}", plan_summary(&plan, folder, first, waiting));
            print!("{plan}");
        }
        println!(
            "planned in {} ms; run without --dry-run to sync",
            started.elapsed().as_millis()
        );
        return Ok(());
    }
    println!("Syncing {address}");
    println!("  tenant {tenant}, {}", target.endpoints());
    let reports = match options.folder {
        // Both folders, and the outcome recorded on the mailbox as the runner records it.
        None => engine.sync_mailbox().await,
        // LIMIT: one folder's sync records no last sync time, error or brake on the mailbox, and ignores a pending go-ahead; only a whole-mailbox sync does those.
        Some(folder) => engine.sync_folder(folder).await.map(|r| vec![r]),
    }
    .map_err(|e| sync_error(&e, &target, "the sync"))?;
    for report in &reports {
        println!("{}", done_summary(report));
    }
    println!("synced in {} ms", started.elapsed().as_millis());
    Ok(())
}

/// The line a person reads first: the counts that matter for the folder's state.
fn plan_summary(plan: &FolderReport, folder: Folder, first: bool, waiting: usize) -> String {
    if first {
        format!(
            "{folder}: first connect: {} matched, {} new, {} ambiguous; {waiting} CRM changes waiting",
            plan.matched, plan.crm_created, plan.ambiguous
        )
    } else {
        format!(
            "{folder}: since the last sync: {} new, {} changed, {} deleted in the mailbox; {waiting} CRM changes waiting",
            plan.crm_created, plan.crm_updated, plan.crm_deleted
        )
    }
}

/// What a real run did in one folder, both ways.
fn done_summary(report: &FolderReport) -> String {
    let folder = report.folder.map_or("folder", Folder::as_str);
    format!(
        "{folder}: {} pages, {} items read{}; to the CRM {} new, {} changed, {} deleted ({} matched, {} ambiguous); to the mailbox {} new, {} changed, {} deleted; {} conflicts",
        report.pages,
        report.fetched,
        if report.reenumerated {
            " (the cursor was invalid: enumerated again)"
        } else {
            ""
        },
        report.crm_created,
        report.crm_updated,
        report.crm_deleted,
        report.matched,
        report.ambiguous,
        report.mailbox_created,
        report.mailbox_updated,
        report.mailbox_deleted,
        report.conflicts
    )
}

/// Why no EWS client could be made; a tenant without a stored secret is not ready, a secret
/// store that failed is a failure.
fn client_error(err: &ClientError) -> Stop {
    match err {
        ClientError::Secrets(_) => failed(err.to_string()),
        ClientError::Inactive { .. } | ClientError::NoSecret(_) | ClientError::Endpoint { .. } => {
            not_ready(err.to_string())
        }
    }
}

/// A stopped sync, with what to look at.
fn sync_error(err: &SyncError, target: &Target, what: &str) -> Stop {
    let hint = match err {
        SyncError::Backend(BackendError::Auth(_)) => format!(
            "; the tenant's credentials were refused ({}): mailbridge verify names the fix",
            target.endpoints()
        ),
        SyncError::Backend(BackendError::Permission(_)) => {
            "; mailbridge verify names the fix".to_owned()
        }
        SyncError::Backend(e) if e.is_retryable() => format!(
            "; Exchange or the identity platform did not answer, or is busy ({}): run again later",
            target.endpoints()
        ),
        SyncError::Backend(_) => format!(" ({})", target.endpoints()),
        SyncError::Busy { .. } => {
            "; another sync (mailbridge serve?) holds it: run again when it is done".to_owned()
        }
        SyncError::Braked { .. } => "; nothing was deleted: a --dry-run shows what would go, \
             and once the owner's deletes are checked, --acknowledge-deletes lets them through"
            .to_owned(),
        SyncError::Inactive { .. } | SyncError::Store(_) => String::new(),
    };
    failed(format!(
        "{what} of {} stopped: {err}{hint}",
        target.mailbox.address
    ))
}
