//! `mailbridge simulate`: the Exchange simulator as a standalone server.

use std::net::SocketAddr;
use std::sync::Arc;

use mailbridge_ews_sim::model::SeedSpec;
use mailbridge_ews_sim::{FaultPlan, Simulator, World};

/// Command-line options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    port: u16,
    seed: SeedSpec,
    latency_ms: u64,
}

impl Options {
    /// Reads `--name value` pairs; anything else is an error naming it.
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            port: 0,
            seed: SeedSpec {
                contacts: 50,
                events: 20,
                recurring: 4,
                seed: 1,
                from: None,
            },
            latency_ms: 0,
        };
        let mut args = args.iter();
        while let Some(name) = args.next() {
            let value = args.next().ok_or_else(|| format!("{name} needs a value"))?;
            let number = |max: u64| {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| {
                        format!("{name} takes a whole number up to {max}, not {value:?}")
                    })
            };
            match name.as_str() {
                "--port" => options.port = u16::try_from(number(65_535)?).unwrap_or(0),
                "--contacts" => {
                    options.seed.contacts = usize::try_from(number(1_000_000)?).unwrap_or(0);
                }
                "--events" => options.seed.events = usize::try_from(number(100_000)?).unwrap_or(0),
                "--recurring" => {
                    options.seed.recurring = usize::try_from(number(10_000)?).unwrap_or(0);
                }
                "--latency-ms" => options.latency_ms = number(60_000)?,
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        Ok(options)
    }
}

/// Runs the simulator until Ctrl-C.
pub async fn run(options: Options) -> Result<(), String> {
    let world = Arc::new(World::new());
    let tenant = mailbridge_ews_sim::preset::contoso(&world).map_err(|e| e.to_string())?;
    world
        .seed(&tenant.mailboxes[0], &options.seed)
        .map_err(|e| e.to_string())?;
    world.set_faults(FaultPlan {
        latency_ms: options.latency_ms,
        ..FaultPlan::default()
    });
    let addr = SocketAddr::from(([127, 0, 0, 1], options.port));
    let sim = Simulator::serve(world, addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("Exchange simulator on {}", sim.base_url());
    println!("  EWS endpoint     {}", sim.ews_url());
    println!(
        "  token endpoint   {}/{}/oauth2/v2.0/token",
        sim.base_url(),
        tenant.tenant_id
    );
    println!(
        "  control API      {}/_sim/ (stats, outbox, faults, throttle, mailboxes)",
        sim.base_url()
    );
    println!("  tenant id        {}", tenant.tenant_id);
    println!("  client id        {}", tenant.client_id);
    // A simulator secret, printed so that other clients can sign in; it guards nothing.
    println!("  client secret    {}", tenant.client_secret);
    println!("  mailboxes        {}", tenant.mailboxes.join(", "));
    println!(
        "  seeded           {} contacts, {} events, {} recurring series in {}",
        options.seed.contacts, options.seed.events, options.seed.recurring, tenant.mailboxes[0]
    );
    println!("Ctrl-C stops it.");
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    let stats = sim.world().stats();
    println!(
        "stopped after {} EWS requests",
        stats.requests.values().sum::<u64>()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options_are_read_and_mistakes_named() {
        let o = Options::parse(&args(&[
            "--port",
            "8080",
            "--contacts",
            "10",
            "--latency-ms",
            "20",
        ]))
        .unwrap();
        assert_eq!((o.port, o.seed.contacts, o.latency_ms), (8080, 10, 20));
        assert!(
            Options::parse(&args(&["--port"]))
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            Options::parse(&args(&["--port", "x"]))
                .unwrap_err()
                .contains("--port")
        );
        assert!(
            Options::parse(&args(&["--colour", "1"]))
                .unwrap_err()
                .contains("--colour")
        );
    }
}
