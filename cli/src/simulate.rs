//! `mailbridge simulate`: the Exchange simulator as a standalone server.

use std::net::SocketAddr;
use std::sync::Arc;

use mailbridge_ews_sim::model::SeedSpec;
use mailbridge_ews_sim::preset::PresetTenant;
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

/// A running simulator, the tenant set up in it and the mailbox seeded.
pub struct Running {
    /// Serves until dropped.
    pub sim: Simulator,
    /// The tenant other clients sign in to.
    pub tenant: PresetTenant,
    /// What the first mailbox was seeded with.
    pub seed: SeedSpec,
}

/// Starts the simulator with Contoso set up and its first mailbox seeded.
pub async fn start(options: &Options) -> Result<Running, String> {
    let world = Arc::new(World::new());
    let tenant = mailbridge_ews_sim::preset::contoso(&world)
        .map_err(|e| format!("setting up the simulated tenant: {e}"))?;
    world
        .seed(&tenant.mailboxes[0], &options.seed)
        .map_err(|e| format!("seeding {}: {e}", tenant.mailboxes[0]))?;
    world.set_faults(FaultPlan {
        latency_ms: options.latency_ms,
        ..FaultPlan::default()
    });
    let addr = SocketAddr::from(([127, 0, 0, 1], options.port));
    let sim = Simulator::serve(world, addr)
        .await
        .map_err(|e| format!("--port {}: cannot listen on {addr}: {e}", options.port))?;
    Ok(Running {
        sim,
        tenant,
        seed: options.seed.clone(),
    })
}

impl Running {
    /// What a client needs: where it listens (the port it was given, when asked for any),
    /// the endpoints, the credentials and how to drive it.
    pub fn describe(&self) -> String {
        let base = self.sim.base_url();
        let tenant = &self.tenant;
        let mailbox = &tenant.mailboxes[0];
        let seed = &self.seed;
        // The simulator's secret is printed so that other clients can sign in; it guards
        // nothing.
        format!(
            "Exchange simulator on {base} (loopback only)
  authority        {base}
  token endpoint   {base}/{tenant_id}/oauth2/v2.0/token
  EWS endpoint     {ews}
  tenant id        {tenant_id}
  client id        {client_id}
  client secret    {secret}
  mailboxes        {mailboxes}
  seeded           {mailbox}: {contacts} contacts, {events} events, {recurring} recurring series
  control API      {base}/_sim/ (JSON), for example:
    curl {base}/_sim/stats
    curl {base}/_sim/mailboxes/{mailbox}/folders/contacts/items
    curl -X POST {base}/_sim/mailboxes/{mailbox}/seed -H 'content-type: application/json' -d '{{\"contacts\": 10}}'
    curl -X PUT {base}/_sim/faults -H 'content-type: application/json' -d '{{\"latency_ms\": 200}}'
  verify against it: mailbridge verify --authority {base} --ews-url {ews} --tenant-id {tenant_id} --client-id {client_id} --mailbox {mailbox} --secret-expires YYYY-MM-DD
Ctrl-C (or SIGTERM) stops it.",
            ews = self.sim.ews_url(),
            tenant_id = tenant.tenant_id,
            client_id = tenant.client_id,
            secret = tenant.client_secret,
            mailboxes = tenant.mailboxes.join(", "),
            contacts = seed.contacts,
            events = seed.events,
            recurring = seed.recurring,
        )
    }

    /// The closing line: how much it served.
    pub fn summary(&self) -> String {
        let stats = self.sim.world().stats();
        format!(
            "stopped after {} EWS requests, {} tokens issued",
            stats.requests.values().sum::<u64>(),
            stats.tokens_issued
        )
    }
}

/// Ctrl-C and, on Unix, SIGTERM (what `kill`, systemd and container runtimes send), caught
/// from the moment this is made: a signal that comes while the start-up text is printed
/// still stops the simulator cleanly.
pub struct StopSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignal {
    /// Starts catching the signals.
    pub fn listen() -> Result<StopSignal, String> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let catch = |kind: SignalKind, name: &str| {
                signal(kind).map_err(|e| format!("cannot catch {name}: {e}"))
            };
            Ok(StopSignal {
                interrupt: catch(SignalKind::interrupt(), "Ctrl-C")?,
                terminate: catch(SignalKind::terminate(), "SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignal {})
        }
    }

    /// Waits for one of them and names it.
    pub async fn wait(self) -> Result<&'static str, String> {
        #[cfg(unix)]
        {
            let StopSignal {
                mut interrupt,
                mut terminate,
            } = self;
            tokio::select! {
                _ = interrupt.recv() => Ok("Ctrl-C"),
                _ = terminate.recv() => Ok("SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .map(|()| "Ctrl-C")
                .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))
        }
    }
}

/// Runs the simulator until Ctrl-C or SIGTERM.
pub async fn run(options: Options) -> Result<(), String> {
    let stop = StopSignal::listen()?;
    let running = start(&options).await?;
    println!("{}", running.describe());
    let signal = stop.wait().await?;
    println!("{signal}: {}", running.summary());
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
