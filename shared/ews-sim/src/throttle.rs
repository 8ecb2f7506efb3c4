//! Throttling like Exchange Online's: a per-mailbox concurrency budget and a per-mailbox
//! request-rate budget. Over budget, the request is refused the way the policy says.
//!
//! Exchange Online's EWS policy allows 27 concurrent requests per app and mailbox
//! (`EWSMaxConcurrency`); its rate budget is not published, so the rate here is whatever a
//! test sets.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::world::{MailboxSlot, lock};

/// How a refused request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// A SOAP fault `ErrorServerBusy` (HTTP 500) with `BackOffMilliseconds`.
    ServerBusyFault,
    /// The operation's response message with `ErrorServerBusy` (HTTP 200), as Exchange
    /// answers `MaxConcurrency` breaches.
    ServerBusyMessage,
    /// HTTP 503 with `Retry-After`.
    Http503,
    /// HTTP 429 with `Retry-After`.
    Http429,
}

/// The budgets and how breaches are answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThrottlePolicy {
    /// Requests one mailbox may have in progress at once.
    pub max_concurrency: usize,
    /// Requests per second one mailbox may make on average; `None` means no rate budget.
    #[serde(default)]
    pub rate_per_second: Option<f64>,
    /// Requests a mailbox may make in a burst above the rate.
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// How a breach of either budget is answered.
    pub refusal: Refusal,
    /// The back-off hint for a concurrency breach (a rate breach hints the time until the
    /// budget refills).
    #[serde(default = "default_back_off")]
    pub back_off_ms: u64,
    /// Every n-th refusal carries no back-off hint (Exchange sometimes omits it); 0 never.
    #[serde(default)]
    pub omit_hint_every: u32,
}

fn default_burst() -> u32 {
    10
}

fn default_back_off() -> u64 {
    2_000
}

impl Default for ThrottlePolicy {
    fn default() -> ThrottlePolicy {
        ThrottlePolicy {
            max_concurrency: 27,
            rate_per_second: None,
            burst: default_burst(),
            refusal: Refusal::ServerBusyFault,
            back_off_ms: default_back_off(),
            omit_hint_every: 0,
        }
    }
}

/// A mailbox's rate budget: a token bucket.
#[derive(Debug, Default)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Option<Instant>,
}

/// A refusal with its back-off hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Throttled {
    pub refusal: Refusal,
    pub back_off: Option<Duration>,
    pub policy: &'static str,
}

/// Holds one of a mailbox's concurrency slots until dropped.
pub(crate) struct Slot<'a>(&'a MailboxSlot);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The policy and the count of refusals so far.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    policy: Mutex<ThrottlePolicy>,
    refusals: Mutex<u64>,
}

impl Throttle {
    pub fn set(&self, policy: ThrottlePolicy) {
        *lock(&self.policy) = policy;
    }

    pub fn policy(&self) -> ThrottlePolicy {
        lock(&self.policy).clone()
    }

    /// Takes a concurrency slot and a rate token for one request, or says how to refuse it.
    pub fn admit<'a>(&self, mailbox: &'a MailboxSlot) -> Result<Slot<'a>, Throttled> {
        let policy = self.policy();
        let running = mailbox.in_flight.fetch_add(1, Ordering::AcqRel);
        let slot = Slot(mailbox);
        if running >= policy.max_concurrency {
            return Err(self.refuse(
                &policy,
                Duration::from_millis(policy.back_off_ms),
                "MaxConcurrency",
            ));
        }
        if let Some(rate) = policy.rate_per_second.filter(|r| *r > 0.0) {
            let mut bucket = lock(&mailbox.bucket);
            let now = Instant::now();
            let burst = f64::from(policy.burst.max(1));
            bucket.tokens = match bucket.last {
                Some(last) => {
                    (bucket.tokens + now.duration_since(last).as_secs_f64() * rate).min(burst)
                }
                None => burst,
            };
            bucket.last = Some(now);
            if bucket.tokens < 1.0 {
                let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / rate);
                drop(bucket);
                return Err(self.refuse(
                    &policy,
                    wait.max(Duration::from_millis(1)),
                    "EwsRateBudget",
                ));
            }
            bucket.tokens -= 1.0;
        }
        Ok(slot)
    }

    /// A refusal for a breach or an injected fault, with the hint unless it is due to go.
    pub fn refuse(&self, policy: &ThrottlePolicy, wait: Duration, name: &'static str) -> Throttled {
        let mut refusals = lock(&self.refusals);
        *refusals += 1;
        let omit = policy.omit_hint_every > 0
            && refusals.is_multiple_of(u64::from(policy.omit_hint_every));
        Throttled {
            refusal: policy.refusal,
            back_off: (!omit).then_some(wait),
            policy: name,
        }
    }
}
