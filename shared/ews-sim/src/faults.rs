//! Fault injection: added latency, and failures drawn from a seeded generator or queued one
//! by one, so every run with the same seed and the same request order fails the same way.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::world::lock;

/// A failure the simulator can inject into one EWS request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Close the connection without answering; the request is not processed.
    DropConnection,
    /// Process the request, then close the connection without answering.
    LoseResponse,
    /// Answer HTTP 500 with an HTML error page; the request is not processed.
    Http500,
    /// Process the request, then answer with a corrupted body.
    MalformedBody,
    /// Process the request, then send only the first half of the body.
    TruncatedBody,
    /// Declare the folder's sync states invalid before a `SyncFolderItems` that names one.
    InvalidSyncState,
    /// Expire the presented token: HTTP 401, as when a token lapses mid-run.
    ExpireToken,
    /// Have the owner save the items an `UpdateItem` names just before it runs, so their
    /// change keys are stale.
    ChangeKeyConflict,
    /// Refuse the request as throttled, whatever the budgets say.
    ServerBusy,
}

impl Fault {
    /// Whether the fault applies to requests of this operation.
    pub fn applies_to(self, op: &str) -> bool {
        match self {
            Fault::InvalidSyncState => op == "SyncFolderItems",
            Fault::ChangeKeyConflict => op == "UpdateItem",
            _ => true,
        }
    }
}

/// Random faults and latency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FaultPlan {
    /// Seed of the generator that draws faults and jitter.
    #[serde(default)]
    pub seed: u64,
    /// Latency added to every EWS request.
    #[serde(default)]
    pub latency_ms: u64,
    /// Up to this much more latency, drawn per request.
    #[serde(default)]
    pub jitter_ms: u64,
    /// Each fault with the chance (0 to 1) that a request it applies to suffers it.
    #[serde(default)]
    pub rates: Vec<(Fault, f64)>,
}

#[derive(Debug)]
struct State {
    plan: FaultPlan,
    rng: fastrand::Rng,
    queue: VecDeque<(Fault, Option<String>)>,
}

impl Default for State {
    fn default() -> State {
        State {
            plan: FaultPlan::default(),
            rng: fastrand::Rng::with_seed(0),
            queue: VecDeque::new(),
        }
    }
}

/// The fault plan in force, and faults queued for the next requests.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    state: Mutex<State>,
}

impl Faults {
    pub fn set_plan(&self, plan: FaultPlan) {
        let mut state = lock(&self.state);
        state.rng = fastrand::Rng::with_seed(plan.seed);
        state.plan = plan;
    }

    pub fn plan(&self) -> FaultPlan {
        lock(&self.state).plan.clone()
    }

    /// Queues `fault` for the next request of `op` (any operation when `None`).
    pub fn inject(&self, fault: Fault, op: Option<&str>) {
        lock(&self.state)
            .queue
            .push_back((fault, op.map(str::to_owned)));
    }

    /// Forgets queued faults and the plan.
    pub fn clear(&self) {
        *lock(&self.state) = State::default();
    }

    /// The latency for the next request.
    pub fn latency(&self) -> Duration {
        let mut state = lock(&self.state);
        let jitter = match state.plan.jitter_ms {
            0 => 0,
            j => state.rng.u64(0..=j),
        };
        Duration::from_millis(state.plan.latency_ms + jitter)
    }

    /// The fault, if any, for a request of `op`: queued faults first, then the plan's.
    pub fn draw(&self, op: &str) -> Option<Fault> {
        let mut state = lock(&self.state);
        if let Some(at) = state.queue.iter().position(|(fault, only)| {
            fault.applies_to(op) && only.as_deref().is_none_or(|o| o == op)
        }) {
            return state.queue.remove(at).map(|(fault, _)| fault);
        }
        let rates = state.plan.rates.clone();
        for (fault, chance) in rates {
            // Always draw, so the sequence does not depend on which faults apply.
            let roll = state.rng.f64();
            if fault.applies_to(op) && roll < chance {
                return Some(fault);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_faults_come_first_and_only_for_their_operation() {
        let faults = Faults::default();
        faults.inject(Fault::InvalidSyncState, None);
        faults.inject(Fault::Http500, Some("GetItem"));
        assert_eq!(faults.draw("GetItem"), Some(Fault::Http500));
        assert_eq!(faults.draw("GetItem"), None);
        assert_eq!(
            faults.draw("SyncFolderItems"),
            Some(Fault::InvalidSyncState)
        );
        assert_eq!(faults.draw("SyncFolderItems"), None);
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let plan = FaultPlan {
            seed: 42,
            latency_ms: 5,
            jitter_ms: 10,
            rates: vec![(Fault::DropConnection, 0.2), (Fault::ServerBusy, 0.2)],
        };
        let run = || {
            let faults = Faults::default();
            faults.set_plan(plan.clone());
            (0..200)
                .map(|_| (faults.draw("GetItem"), faults.latency()))
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hit = a.iter().filter(|(f, _)| f.is_some()).count();
        assert!((40..=110).contains(&hit), "{hit} faults in 200");
        assert!(a.iter().all(|(_, l)| (5..=15).contains(&l.as_millis())));
    }
}
