//! Everything the simulator holds, and the control interface over it: tenants, mailboxes,
//! issued tokens, the delivered-mail outbox, the clock, and request statistics.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ews::ids;
use crate::faults::Faults;
use crate::model::{
    FolderKind, ItemContent, Mailbox, MailboxConfig, Message, StoredItem, TenantConfig,
};
use crate::throttle::{Bucket, Throttle};

mod mailbox_content;

/// Locks a mutex, carrying on after a panic elsewhere: the simulator's state stays usable
/// for the tests that inspect it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The most items of one kind a seed request may generate.
pub const MAX_SEED: usize = 100_000;

/// A mistake in a control request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No tenant with that id or domain.
    #[error("no tenant {0}")]
    UnknownTenant(String),
    /// No app with that client id in the tenant.
    #[error("no app {0} in the tenant")]
    UnknownApp(String),
    /// No mailbox with that address.
    #[error("no mailbox {0}")]
    UnknownMailbox(String),
    /// No item with that id in the mailbox.
    #[error("no item {0} in the mailbox")]
    UnknownItem(String),
    /// Already there.
    #[error("{0} already exists")]
    Exists(String),
    /// A value the simulator cannot accept.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl ControlError {
    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> ControlError {
        ControlError::Invalid {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A token the token endpoint issued.
#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub tenant_id: String,
    pub client_id: String,
    pub roles: Vec<String>,
    pub audience: String,
    pub expires: DateTime<Utc>,
}

/// A mailbox with its directory settings and throttling budget.
#[derive(Debug)]
pub(crate) struct MailboxSlot {
    pub config: Mutex<MailboxConfig>,
    pub store: Mutex<Mailbox>,
    pub in_flight: AtomicUsize,
    pub bucket: Mutex<Bucket>,
}

/// A message that left a mailbox: sent mail, meeting requests and cancellations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The sending mailbox.
    pub mailbox: String,
    /// `message`, `meeting_request` or `meeting_cancellation`.
    pub kind: String,
    /// What was sent, with `from`, `sent` and `internet_message_id` filled in.
    pub message: Message,
    /// The body, as the sender wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<crate::model::Body>,
    /// Extended properties the sender stamped (such as an idempotency key).
    pub extended: Vec<crate::model::ExtendedProperty>,
}

/// An item as the control interface shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemView {
    /// The EWS item id.
    pub id: String,
    /// The current EWS change key.
    pub change_key: String,
    /// The folder.
    pub folder: FolderKind,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last write.
    pub modified: DateTime<Utc>,
    /// The content.
    pub content: ItemContent,
}

impl ItemView {
    pub(crate) fn of(mailbox: u32, item: &StoredItem) -> ItemView {
        ItemView {
            id: ids::item_id(mailbox, item.number),
            change_key: ids::change_key(item.change),
            folder: item.folder,
            created: item.created,
            modified: item.modified,
            content: item.content.clone(),
        }
    }
}

/// Counts of what the simulator served.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// EWS requests by operation, every outcome included.
    pub requests: BTreeMap<String, u64>,
    /// EWS requests by mailbox, then operation.
    pub by_mailbox: BTreeMap<String, BTreeMap<String, u64>>,
    /// Requests refused for throttling.
    pub throttled: u64,
    /// Faults injected.
    pub faults: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Token requests refused.
    pub tokens_refused: u64,
}

/// One recorded EWS exchange, for tests that check every request and response against
/// the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The operation, or `-` when the request never named one.
    pub op: String,
    /// The request body as it arrived (invalid UTF-8 replaced).
    pub request: String,
    /// HTTP status.
    pub status: u16,
    /// The response body.
    pub body: String,
}

/// The simulator's whole state.
#[derive(Debug)]
pub struct World {
    tenants: RwLock<Vec<TenantConfig>>,
    mailboxes: RwLock<HashMap<String, Arc<MailboxSlot>>>,
    next_mailbox: AtomicU32,
    pub(crate) tokens: Mutex<HashMap<String, IssuedToken>>,
    token_lifetime: Mutex<Duration>,
    outbox: Mutex<Vec<Delivery>>,
    clock_offset: Mutex<Duration>,
    pub(crate) throttle: Throttle,
    pub(crate) faults: Faults,
    stats: Mutex<Stats>,
    recorder: Mutex<Option<Vec<Recorded>>>,
}

impl Default for World {
    fn default() -> World {
        World::new()
    }
}

impl World {
    /// An empty world: no tenants, no mailboxes, generous throttling, no faults.
    pub fn new() -> World {
        World {
            tenants: RwLock::new(Vec::new()),
            mailboxes: RwLock::new(HashMap::new()),
            next_mailbox: AtomicU32::new(1),
            tokens: Mutex::new(HashMap::new()),
            token_lifetime: Mutex::new(Duration::seconds(3599)),
            outbox: Mutex::new(Vec::new()),
            clock_offset: Mutex::new(Duration::zero()),
            throttle: Throttle::default(),
            faults: Faults::default(),
            stats: Mutex::new(Stats::default()),
            recorder: Mutex::new(None),
        }
    }

    /// The simulator's clock: real time plus whatever [`World::advance_clock`] added.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + *lock(&self.clock_offset)
    }

    /// Moves the clock forward, so that tokens and secrets expire without waiting.
    pub fn advance_clock(&self, by: Duration) {
        *lock(&self.clock_offset) += by;
    }

    /// How long new tokens live.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        *lock(&self.token_lifetime) = lifetime;
    }

    pub(crate) fn token_lifetime(&self) -> Duration {
        *lock(&self.token_lifetime)
    }

    // ---- tenants and apps

    /// Adds a tenant.
    pub fn add_tenant(&self, tenant: TenantConfig) -> Result<(), ControlError> {
        if !crate::model::directory::is_guid(&tenant.tenant_id) {
            return Err(ControlError::invalid("tenant_id", "must be a GUID"));
        }
        let mut tenants = self.tenants.write().unwrap_or_else(PoisonError::into_inner);
        if tenants.iter().any(|t| t.is_named(&tenant.tenant_id)) {
            return Err(ControlError::Exists(tenant.tenant_id));
        }
        tenants.push(tenant);
        Ok(())
    }

    /// A copy of the tenant named by id or domain.
    pub fn tenant(&self, key: &str) -> Option<TenantConfig> {
        self.tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|t| t.is_named(key))
            .cloned()
    }

    /// Changes a tenant's settings (apps, EWS policy) in place.
    pub fn update_tenant(
        &self,
        key: &str,
        edit: impl FnOnce(&mut TenantConfig),
    ) -> Result<(), ControlError> {
        let mut tenants = self.tenants.write().unwrap_or_else(PoisonError::into_inner);
        let tenant = tenants
            .iter_mut()
            .find(|t| t.is_named(key))
            .ok_or_else(|| ControlError::UnknownTenant(key.to_owned()))?;
        let id = tenant.tenant_id.clone();
        edit(tenant);
        tenant.tenant_id = id;
        Ok(())
    }

    // ---- mailboxes

    /// Adds a mailbox to its tenant.
    pub fn add_mailbox(&self, config: MailboxConfig) -> Result<(), ControlError> {
        if !crate::model::directory::is_smtp_address(&config.address) {
            return Err(ControlError::invalid(
                "address",
                format!("{:?} is not an SMTP address", config.address),
            ));
        }
        if self.tenant(&config.tenant_id).is_none() {
            return Err(ControlError::UnknownTenant(config.tenant_id));
        }
        let key = config.address.to_ascii_lowercase();
        let mut mailboxes = self
            .mailboxes
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if mailboxes.contains_key(&key) {
            return Err(ControlError::Exists(config.address));
        }
        let number = self.next_mailbox.fetch_add(1, Ordering::Relaxed);
        let store = Mailbox::new(&config.address, &config.display_name, number);
        mailboxes.insert(
            key,
            Arc::new(MailboxSlot {
                config: Mutex::new(config),
                store: Mutex::new(store),
                in_flight: AtomicUsize::new(0),
                bucket: Mutex::new(Bucket::default()),
            }),
        );
        Ok(())
    }

    pub(crate) fn slot(&self, address: &str) -> Option<Arc<MailboxSlot>> {
        self.mailboxes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&address.to_ascii_lowercase())
            .cloned()
    }

    fn slot_or_err(&self, address: &str) -> Result<Arc<MailboxSlot>, ControlError> {
        self.slot(address)
            .ok_or_else(|| ControlError::UnknownMailbox(address.to_owned()))
    }

    /// Changes a mailbox's directory settings (licence, EWS access).
    pub fn update_mailbox(
        &self,
        address: &str,
        edit: impl FnOnce(&mut MailboxConfig),
    ) -> Result<(), ControlError> {
        let slot = self.slot_or_err(address)?;
        let mut config = lock(&slot.config);
        let (address, tenant) = (config.address.clone(), config.tenant_id.clone());
        edit(&mut config);
        config.address = address;
        config.tenant_id = tenant;
        Ok(())
    }

    /// A mailbox's directory settings.
    pub fn mailbox_config(&self, address: &str) -> Option<MailboxConfig> {
        self.slot(address).map(|s| lock(&s.config).clone())
    }

    // ---- outbox

    pub(crate) fn deliver(&self, delivery: Delivery) {
        lock(&self.outbox).push(delivery);
    }

    /// Every message delivered so far, oldest first.
    pub fn outbox(&self) -> Vec<Delivery> {
        lock(&self.outbox).clone()
    }

    /// Empties the outbox.
    pub fn clear_outbox(&self) {
        lock(&self.outbox).clear();
    }

    // ---- tokens

    /// Makes every token issued for a tenant expire now, as if an hour had passed.
    pub fn expire_tokens(&self, tenant: &str) {
        let now = self.now();
        for token in lock(&self.tokens).values_mut() {
            if token.tenant_id.eq_ignore_ascii_case(tenant) {
                token.expires = now - Duration::seconds(1);
            }
        }
    }

    // ---- throttling and faults

    /// Replaces the throttling policy.
    pub fn set_throttle(&self, policy: crate::throttle::ThrottlePolicy) {
        self.throttle.set(policy);
    }

    /// The throttling policy in force.
    pub fn throttle_policy(&self) -> crate::throttle::ThrottlePolicy {
        self.throttle.policy()
    }

    /// Replaces the random fault plan (and reseeds its generator).
    pub fn set_faults(&self, plan: crate::faults::FaultPlan) {
        self.faults.set_plan(plan);
    }

    /// Queues a fault for the next request of `op` (of any operation when `None`).
    pub fn inject(&self, fault: crate::faults::Fault, op: Option<&str>) {
        self.faults.inject(fault, op);
    }

    /// Drops the fault plan and every queued fault.
    pub fn clear_faults(&self) {
        self.faults.clear();
    }

    // ---- statistics and recording

    pub(crate) fn count_request(&self, op: &str, mailbox: Option<&str>) {
        let mut stats = lock(&self.stats);
        *stats.requests.entry(op.to_owned()).or_default() += 1;
        if let Some(mailbox) = mailbox {
            *stats
                .by_mailbox
                .entry(mailbox.to_ascii_lowercase())
                .or_default()
                .entry(op.to_owned())
                .or_default() += 1;
        }
    }

    pub(crate) fn count(&self, what: impl FnOnce(&mut Stats)) {
        what(&mut lock(&self.stats));
    }

    /// What the simulator has served so far.
    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    /// Starts counting from zero.
    pub fn reset_stats(&self) {
        *lock(&self.stats) = Stats::default();
    }

    /// Starts (or with `false` stops) keeping a copy of every EWS request and response.
    pub fn record_responses(&self, on: bool) {
        *lock(&self.recorder) = on.then(Vec::new);
    }

    pub(crate) fn record(&self, op: &str, request: &[u8], status: u16, body: &str) {
        if let Some(list) = lock(&self.recorder).as_mut() {
            list.push(Recorded {
                op: op.to_owned(),
                request: String::from_utf8_lossy(request).into_owned(),
                status,
                body: body.to_owned(),
            });
        }
    }

    /// The responses recorded since recording started; recording goes on.
    pub fn take_recorded(&self) -> Vec<Recorded> {
        lock(&self.recorder)
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}
