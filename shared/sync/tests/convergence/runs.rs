//! Sync runs, with faults, kills, duplicate deliveries and concurrent runners.

use mailbridge_ews::EwsMailbox;
use mailbridge_ews_sim::model::FolderKind as SimFolder;
use mailbridge_identity::TenantTokens;
use mailbridge_store::{Folder, StoreError};
use mailbridge_sync::{Engine, FolderReport, SyncError};

use super::Case;
use super::mortal::{Fate, Mortal};
use super::ops::{FAULTS, Op};
use super::stats::{STATS, bump};

type Outcome = Result<Vec<FolderReport>, SyncError>;

/// The runner name every run of a case uses, unless it is the second of two runners.
pub const MAIN: &str = "main";

impl Case {
    fn backend(&self, fate: Fate) -> Mortal<EwsMailbox<'_, TenantTokens>> {
        let ews = EwsMailbox::new(&self.env.ews, self.env.mailbox())
            .with_page_size(self.page_size)
            .unwrap();
        Mortal::new(ews, fate)
    }

    async fn run_with(
        &self,
        owner: &str,
        backend: &Mortal<EwsMailbox<'_, TenantTokens>>,
    ) -> Outcome {
        let outcome = Engine::new(
            &self.env.store,
            backend,
            self.env.mailbox(),
            Self::config(owner),
        )
        .sync_mailbox()
        .await;
        if matches!(outcome, Err(SyncError::Busy { .. })) {
            bump(&STATS.busy);
        }
        outcome
    }

    /// A whole run by `owner`, nothing dying.
    pub(super) async fn run(&self, owner: &str) -> Outcome {
        self.run_with(owner, &self.backend(Fate::Live)).await
    }

    pub(super) async fn apply_run(&mut self, op: &Op) {
        let world = self.env.sim.world().clone();
        match *op {
            Op::Sync => {
                let _ = self.run(MAIN).await;
            }
            Op::SyncWithFault { fault, count } => {
                let (fault, only) = FAULTS[fault];
                for _ in 0..count {
                    world.inject(fault, only);
                }
                let before = world.stats().faults;
                let outcome = self.run(MAIN).await;
                if world.stats().faults > before {
                    match outcome {
                        Ok(_) => bump(&STATS.fault_absorbed),
                        Err(SyncError::Busy { .. }) => {}
                        Err(_) => bump(&STATS.fault_failures),
                    }
                }
                world.clear_faults();
            }
            Op::Killed {
                call,
                deltas,
                served,
            } => {
                let fate = if served {
                    Fate::DieAfter { n: call, deltas }
                } else {
                    Fate::DieBefore { n: call, deltas }
                };
                let backend = self.backend(fate);
                let killed = tokio::select! {
                    _ = self.run_with(MAIN, &backend) => false,
                    () = backend.struck() => true,
                };
                if killed {
                    bump(&STATS.kills);
                    if backend.between_pages() {
                        bump(&STATS.kills_between_pages);
                    }
                    if served {
                        bump(&STATS.kills_after_served);
                    }
                }
            }
            Op::DuplicateDelivery(None) => {
                // The same job twice at once, under the same runner name: the later lease
                // fences the earlier run off.
                bump(&STATS.duplicates_together);
                let _ = tokio::join!(self.run(MAIN), self.run(MAIN));
            }
            Op::DuplicateDelivery(Some(call)) => Box::pin(self.stalled_delivery(call)).await,
            Op::ConcurrentSync => {
                let _ = tokio::join!(self.run(MAIN), self.run("other"));
            }
            Op::InvalidateCursor(folder) => {
                let folder = match folder {
                    Folder::Contacts => SimFolder::Contacts,
                    Folder::Calendar => SimFolder::Calendar,
                };
                world
                    .invalidate_sync_states(self.env.mailbox(), folder)
                    .unwrap();
            }
            _ => unreachable!("not a run"),
        }
    }

    /// The first delivery stalls at its `call`-th mailbox call past its lease (a long
    /// pause); the redelivery takes the folder over and finishes; then the first wakes up
    /// and goes on with the call it was about to make. Taking over under the same runner
    /// name stands for the lease lapsing: either way the first run's token is stale.
    async fn stalled_delivery(&self, call: u32) {
        let first = self.backend(Fate::StallBefore(call));
        let run = self.run_with(MAIN, &first);
        tokio::pin!(run);
        let stalled = tokio::select! {
            _ = &mut run => false,
            () = first.struck() => true,
        };
        if !stalled {
            return;
        }
        bump(&STATS.duplicates_stalled);
        let _ = self.run(MAIN).await;
        first.resume();
        if let Err(SyncError::Store(StoreError::LeaseLost { .. })) = run.await {
            bump(&STATS.stalled_fenced);
        }
    }
}
