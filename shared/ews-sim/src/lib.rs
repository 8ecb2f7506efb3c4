//! A faithful Exchange Online simulator for tests, benchmarks and the local demo.
//!
//! It serves, on one loopback port:
//!
//! - `POST /{tenant}/oauth2/v2.0/token`: OAuth 2.0 client credentials with the identity
//!   platform's status codes and `AADSTS` errors ([`idp`]);
//! - `POST /EWS/Exchange.asmx`: EWS over SOAP 1.1 (`SyncFolderItems`, `GetItem`,
//!   `FindItem`, `GetFolder`, `CreateItem`, `UpdateItem`, `DeleteItem`) with bearer-token,
//!   permission and impersonation checks, Exchange's response codes and SOAP faults ([`ews`]);
//! - `/_sim/...`: a JSON control interface for tests and the demo ([`control`]).
//!
//! The mailboxes themselves live in a protocol-neutral [`model`], so the same state can
//! later be served over Microsoft Graph. Throttling ([`ThrottlePolicy`]) and fault injection
//! ([`FaultPlan`], [`Fault`]) are seeded and reproducible.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = mailbridge_ews_sim::Simulator::start().await?;
//! let tenant = mailbridge_ews_sim::preset::contoso(sim.world()).expect("a fresh world");
//! println!("EWS at {}, token endpoint under {}", sim.ews_url(), sim.base_url());
//! # let _ = tenant; Ok(()) }
//! ```

pub mod control;
pub mod ews;
mod faults;
pub mod idp;
pub mod model;
pub mod preset;
mod server;
mod throttle;
mod world;

use std::net::SocketAddr;
use std::sync::Arc;

pub use faults::{Fault, FaultPlan};
pub use server::MAX_REQUEST_BYTES;
pub use throttle::{Refusal, ThrottlePolicy};
pub use world::{ControlError, Delivery, ItemView, Recorded, Stats, World};

/// A running simulator. Dropping it stops the server (the world lives on while shared).
pub struct Simulator {
    world: Arc<World>,
    running: server::Running,
}

impl Simulator {
    /// Starts an empty simulator on a free loopback port.
    pub async fn start() -> std::io::Result<Simulator> {
        Simulator::serve(
            Arc::new(World::new()),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
    }

    /// Serves `world` on `addr`.
    pub async fn serve(world: Arc<World>, addr: SocketAddr) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let running = server::spawn(listener, server::router(world.clone()))?;
        tracing::info!(addr = %running.addr, "Exchange simulator listening");
        Ok(Simulator { world, running })
    }

    /// The simulated service's state and its control interface.
    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// `http://127.0.0.1:port`: the identity authority (tokens at
    /// `{base}/{tenant}/oauth2/v2.0/token`) and the control interface's root.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// The EWS endpoint.
    pub fn ews_url(&self) -> String {
        format!("{}/EWS/Exchange.asmx", self.base_url())
    }
}
