//! `mailbridge verify`: checks an app registration step by step against a test mailbox,
//! says whether it is verified or what the administrator must fix, and with `--data` stores
//! the verified tenant for `mailbridge serve`.

mod options;
mod report;
mod secret;
mod simulator;
mod store;

use std::process::ExitCode;
use std::time::Duration;

use mailbridge_service::{Verification, VerifyInput, verify};
use tracing::info;

use options::Options;
use simulator::LocalTenant;
use store::DataDir;

/// The whole verification is a handful of requests; one that hangs this long will not answer.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How the command ends, as its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// Every step passed (and, with `--data`, the tenant was stored).
    Verified = 0,
    /// A step failed, or the verification could not run.
    NotVerified = 1,
    /// A flag, the secret or the data directory is wrong.
    Usage = 2,
    /// Verified, but the data directory refused the tenant (e.g. already onboarded).
    NotStored = 3,
}

/// Why the command stopped early, and with which exit code.
struct Stop {
    exit: Exit,
    message: String,
}

fn usage(message: String) -> Stop {
    Stop {
        exit: Exit::Usage,
        message,
    }
}

fn failed(message: String) -> Stop {
    Stop {
        exit: Exit::NotVerified,
        message,
    }
}

/// Runs the command with its arguments (after `verify`).
pub async fn run(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{}", crate::USAGE);
        return ExitCode::SUCCESS;
    }
    let exit = match execute(args).await {
        Ok(exit) => exit,
        Err(stop) => {
            eprintln!("mailbridge verify: {}", stop.message);
            stop.exit
        }
    };
    ExitCode::from(exit as u8)
}

async fn execute(args: &[String]) -> Result<Exit, Stop> {
    let options = Options::parse(args).map_err(usage)?;
    let local = if options.simulator {
        Some(LocalTenant::start().await.map_err(failed)?)
    } else {
        None
    };
    let target = options
        .target(local.as_ref().map(LocalTenant::fallback).as_ref())
        .map_err(usage)?;
    let client_secret = secret::read(options.secret_file.as_deref()).map_err(usage)?;
    let data = match &options.data {
        Some(dir) => Some(DataDir::open(dir).map_err(usage)?),
        None => None,
    };
    let http = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| failed(format!("the HTTP client: {e}")))?;

    let input = VerifyInput {
        tenant_id: target.tenant_id.clone(),
        client_id: target.client_id.clone(),
        client_secret,
        secret_expires: Some(target.secret_expires),
        test_mailbox: target.mailbox.clone(),
        authority: target.authority.clone(),
        ews_endpoint: target.ews_url.clone(),
        send_test_message: options.send_test,
    };
    if !options.json {
        let sim_url = local.as_ref().map(|l| l.sim.base_url());
        report::print_header(&target, sim_url.as_deref());
    }
    let verification = verify(&http, &input).await;
    log_outcome(&verification);
    if options.json {
        report::print_json(&verification).map_err(failed)?;
    } else {
        report::print_human(&verification);
    }
    if !verification.verified {
        return Ok(Exit::NotVerified);
    }

    let Some(data) = data else {
        return Ok(Exit::Verified);
    };
    let dir = data.path().display().to_string();
    let name = options.name.as_deref().unwrap_or(&target.tenant_id);
    match data
        .onboard(&target, name, &input.client_secret, &verification)
        .await
    {
        Ok(()) => {
            let stored = format!(
                "stored tenant {} in {dir}: mailbridge serve --data {dir} syncs it",
                target.tenant_id
            );
            if options.json {
                eprintln!("{stored}");
            } else {
                println!("{stored}");
            }
            Ok(Exit::Verified)
        }
        Err(reason) => Err(Stop {
            exit: Exit::NotStored,
            message: format!("verified, but not stored in {dir}: {reason}"),
        }),
    }
}

fn log_outcome(verification: &Verification) {
    info!(
        op = "verify",
        outcome = if verification.verified {
            "verified"
        } else {
            "not_verified"
        },
        steps = verification.steps.len(),
        warnings = verification.warnings.len(),
        "verification finished"
    );
}
