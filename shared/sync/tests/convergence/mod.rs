//! One convergence case: a simulated mailbox, an embedded store, the steps drawn for it,
//! and the checks once everything has settled.

mod check;
mod edits;
mod mortal;
pub mod ops;
mod runs;
pub mod stats;
mod writes;

use std::time::Duration;

use mailbridge_ews_sim::model::SeedSpec;
use mailbridge_sync::SyncConfig;
use proptest::test_runner::TestCaseError;

use crate::harness;
use ops::Op;
use writes::Writes;

/// A case in progress.
pub struct Case {
    env: harness::Env,
    writes: Writes,
    /// Numbers new records and items.
    next: u64,
    /// Changes per delta page and items per `GetItem`: small, so that every folder spans
    /// several pages and a run can die between two of them.
    page_size: usize,
}

impl Case {
    /// A simulator seeded with `contacts` contacts, one event and one series.
    pub async fn start(contacts: usize, page_size: usize) -> Case {
        let env = harness::start().await;
        let world = env.sim.world();
        // Exchange's real back-off hints are seconds long; these cases only need the
        // client to honour them.
        let mut throttle = world.throttle_policy();
        throttle.back_off_ms = 5;
        world.set_throttle(throttle);
        world
            .seed(
                env.mailbox(),
                &SeedSpec {
                    contacts,
                    events: 1,
                    recurring: 1,
                    seed: 11,
                    ..SeedSpec::default()
                },
            )
            .unwrap();
        Case {
            env,
            writes: Writes::default(),
            next: 1000,
            page_size,
        }
    }

    fn config(owner: &str) -> SyncConfig {
        SyncConfig {
            owner: owner.into(),
            lease_ttl: Duration::from_secs(30),
            // Random deletes may legitimately empty a small folder.
            mass_delete_min: usize::MAX,
            ..SyncConfig::default()
        }
    }

    /// Carries out one step.
    pub async fn apply(&mut self, op: &Op) {
        match op {
            Op::CrmCreate(..) | Op::CrmEdit(..) | Op::CrmEditSeries(..) | Op::CrmDelete(..) => {
                self.apply_crm(op).await;
            }
            Op::OwnerCreate(..)
            | Op::OwnerEdit(..)
            | Op::OwnerEditSeries(..)
            | Op::OwnerDelete(..) => self.apply_owner(op).await,
            _ => Box::pin(self.apply_run(op)).await,
        }
    }

    /// Lets everything settle, then checks both sides.
    pub async fn finish(mut self) -> Result<(), TestCaseError> {
        self.quiesce_and_check().await
    }
}
