//! `mailbridge serve`: the API, the scheduler and the worker in one process, on embedded
//! defaults, against the Exchange simulator unless told otherwise.

use std::path::PathBuf;
use std::time::Duration;

use crate::runner::{RunnerConfig, start};

/// Command-line options.
#[derive(Debug, Clone)]
pub struct Options {
    port: u16,
    data_dir: PathBuf,
    simulator: bool,
    interval: Duration,
}

impl Options {
    /// Reads the options; anything unknown is an error naming it.
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            port: 8080,
            data_dir: crate::runner::default_data_dir(),
            simulator: true,
            interval: Duration::from_mins(5),
        };
        let mut args = args.iter();
        while let Some(name) = args.next() {
            if name == "--no-simulator" {
                options.simulator = false;
                continue;
            }
            let value = args.next().ok_or_else(|| format!("{name} needs a value"))?;
            match name.as_str() {
                "--port" => {
                    options.port = value
                        .parse()
                        .map_err(|_| format!("--port takes a port number, not {value:?}"))?;
                }
                "--data" => options.data_dir = PathBuf::from(value),
                "--interval-secs" => {
                    let secs: u64 = value
                        .parse()
                        .ok()
                        .filter(|s| (5..=86_400).contains(s))
                        .ok_or_else(|| {
                            format!("--interval-secs takes 5 to 86400, not {value:?}")
                        })?;
                    options.interval = Duration::from_secs(secs);
                }
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        Ok(options)
    }
}

/// Runs until Ctrl-C.
pub async fn run(options: Options) -> Result<(), String> {
    let admin_key = match std::env::var("MAILBRIDGE_ADMIN_KEY") {
        Ok(key) if key.len() >= 16 => key,
        Ok(_) => return Err("MAILBRIDGE_ADMIN_KEY must be at least 16 characters".into()),
        Err(_) => {
            let key = format!("mba_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
            println!("admin key (shown once; set MAILBRIDGE_ADMIN_KEY to choose one): {key}");
            key
        }
    };
    let _simulator = if options.simulator {
        let sim = mailbridge_ews_sim::Simulator::start()
            .await
            .map_err(|e| format!("starting the simulator: {e}"))?;
        let tenant = mailbridge_ews_sim::preset::contoso(sim.world()).map_err(|e| e.to_string())?;
        println!(
            "Exchange simulator on {} (a tenant to onboard):",
            sim.base_url()
        );
        println!("  tenant_id     {}", tenant.tenant_id);
        println!("  client_id     {}", tenant.client_id);
        println!("  client_secret {}", tenant.client_secret);
        println!("  mailboxes     {}", tenant.mailboxes.join(", "));
        println!("  authority     {}", sim.base_url());
        println!("  ews_endpoint  {}", sim.ews_url());
        Some(sim)
    } else {
        None
    };
    let running = start(&RunnerConfig {
        data_dir: options.data_dir.clone(),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], options.port)),
        admin_key,
        sync_interval: options.interval,
    })
    .await?;
    println!(
        "mailbridge API on {} (data in {}); OpenAPI at {}/openapi.json. Ctrl-C stops.",
        running.base_url,
        options.data_dir.display(),
        running.base_url
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
    Ok(())
}
