//! Counts, across every case of a test run, of the paths the cases reached, so the run
//! shows that faults really ended runs, kills really fell between pages, and so on.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the cases reached.
#[derive(Default)]
pub struct Stats {
    /// Runs that met faults and failed in the engine (the client's retries gave up).
    pub fault_failures: AtomicU64,
    /// Runs that met faults and still succeeded (the retries absorbed them).
    pub fault_absorbed: AtomicU64,
    /// Runs killed before they finished.
    pub kills: AtomicU64,
    /// …of which died between two delta pages of one pull.
    pub kills_between_pages: AtomicU64,
    /// …of which died after a call was served and before its answer was used.
    pub kills_after_served: AtomicU64,
    /// Duplicate deliveries started together.
    pub duplicates_together: AtomicU64,
    /// Duplicate deliveries whose first run was stalled, taken over, then woke.
    pub duplicates_stalled: AtomicU64,
    /// …of which the woken run was fenced off (lost its lease).
    pub stalled_fenced: AtomicU64,
    /// Runs that found the folder busy.
    pub busy: AtomicU64,
    /// Conflicts audited.
    pub conflicts: AtomicU64,
    /// Cases checked.
    pub cases: AtomicU64,
}

pub static STATS: Stats = Stats {
    fault_failures: AtomicU64::new(0),
    fault_absorbed: AtomicU64::new(0),
    kills: AtomicU64::new(0),
    kills_between_pages: AtomicU64::new(0),
    kills_after_served: AtomicU64::new(0),
    duplicates_together: AtomicU64::new(0),
    duplicates_stalled: AtomicU64::new(0),
    stalled_fenced: AtomicU64::new(0),
    busy: AtomicU64::new(0),
    conflicts: AtomicU64::new(0),
    cases: AtomicU64::new(0),
};

/// Adds one to a counter.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A counter's value.
pub fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cases; faulted runs: {} failed in the engine, {} absorbed by retries; \
             {} kills ({} between pages, {} after a served call); \
             duplicate deliveries: {} together, {} stalled ({} fenced off); \
             {} busy runners; {} conflicts audited",
            get(&self.cases),
            get(&self.fault_failures),
            get(&self.fault_absorbed),
            get(&self.kills),
            get(&self.kills_between_pages),
            get(&self.kills_after_served),
            get(&self.duplicates_together),
            get(&self.duplicates_stalled),
            get(&self.stalled_fenced),
            get(&self.busy),
            get(&self.conflicts),
        )
    }
}
