//! The records the state store keeps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A record's version: 1 after the first write, one more on every write.
pub type Version = u64;

/// What a write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Write whatever is there.
    Any,
    /// The record must not exist yet.
    Absent,
    /// The record must be at this version.
    Version(Version),
}

impl Expect {
    /// Whether a record currently at `current` (`None`: absent) satisfies the expectation.
    pub fn allows(self, current: Option<Version>) -> bool {
        match self {
            Expect::Any => true,
            Expect::Absent => current.is_none(),
            Expect::Version(v) => current == Some(v),
        }
    }

    /// The version named in a conflict error.
    pub fn expected(self) -> Option<Version> {
        match self {
            Expect::Version(v) => Some(v),
            Expect::Any | Expect::Absent => None,
        }
    }
}

/// A page of results and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Pass back to get the next page; `None` after the last one.
    pub next: Option<String>,
}

/// The folders mailbridge syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Folder {
    /// The mailbox's Contacts folder.
    Contacts,
    /// The mailbox's Calendar folder.
    Calendar,
}

impl Folder {
    /// Both folders.
    pub const ALL: [Folder; 2] = [Folder::Contacts, Folder::Calendar];

    /// The name used in keys and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Folder::Contacts => "contacts",
            Folder::Calendar => "calendar",
        }
    }

    /// Reads a folder name.
    pub fn parse(name: &str) -> Option<Folder> {
        match name {
            "contacts" => Some(Folder::Contacts),
            "calendar" => Some(Folder::Calendar),
            _ => None,
        }
    }
}

impl std::fmt::Display for Folder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a tenant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Onboarded, not verified yet.
    Pending,
    /// Verified; its mailboxes sync.
    Active,
    /// The client secret has expired; syncs pause until it is rotated.
    CredentialExpired,
    /// Disabled by an administrator (e.g. revoked after a suspected breach).
    Disabled,
}

/// A customer's Microsoft 365 tenant and its app registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    /// Directory (tenant) id.
    pub id: String,
    /// A name for people.
    pub name: String,
    /// Application (client) id of the customer's app registration.
    pub client_id: String,
    /// When the client secret expires, as the administrator gave it.
    #[serde(default)]
    pub secret_expires: Option<DateTime<Utc>>,
    /// Where it stands.
    pub status: TenantStatus,
    /// Why, in plain words, when it is not active.
    #[serde(default)]
    pub status_reason: Option<String>,
    /// The identity authority, when not Microsoft's (the simulator, a national cloud).
    #[serde(default)]
    pub authority: Option<String>,
    /// The EWS endpoint, when not Exchange Online's.
    #[serde(default)]
    pub ews_endpoint: Option<String>,
    /// Hashes of the tenant's API keys (never the keys).
    #[serde(default)]
    pub api_key_hashes: Vec<String>,
    /// The stored version; set by the store.
    #[serde(default)]
    pub version: Version,
}

/// Whether a mailbox syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailboxStatus {
    /// Syncs on schedule.
    Active,
    /// Stopped by a safety brake (e.g. a mass delete); a person must look.
    NeedsAttention,
    /// Stopped on purpose.
    Paused,
}

/// A pull the mass-delete brake stopped: in which folder, and how many of how many linked
/// items it would have deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrakedPull {
    /// The folder.
    pub folder: Folder,
    /// Linked items the pull would delete.
    pub deletes: usize,
    /// Linked items the folder had.
    pub linked: usize,
}

/// A person's go-ahead for a braked pull's deletes: that folder only, and about that many
/// (a few more the owner deleted meanwhile are allowed; a larger loss brakes again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletesGoAhead {
    /// Who gave it, as the audit trail names them.
    pub by: String,
    /// The folder whose deletes may go through.
    pub folder: Folder,
    /// How many deletes the brake reported when it was given.
    pub deletes: usize,
}

impl DeletesGoAhead {
    /// The most deletes it lets through: what the brake reported, plus a tenth (at least
    /// ten) for deletes the owner made since.
    pub fn allows(&self) -> usize {
        self.deletes + (self.deletes / 10).max(10)
    }
}

/// A CRM user's mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mailbox {
    /// SMTP address, lower case; unique across tenants.
    pub address: String,
    /// The tenant it belongs to.
    pub tenant: String,
    /// Where it stands.
    pub status: MailboxStatus,
    /// Why it needs attention, in plain words.
    #[serde(default)]
    pub attention: Option<String>,
    /// When the last sync run finished.
    #[serde(default)]
    pub last_sync: Option<DateTime<Utc>>,
    /// The last sync error, in plain words.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Exchange asked us to wait until then.
    #[serde(default)]
    pub back_off_until: Option<DateTime<Utc>>,
    /// The pull the mass-delete brake stopped, while the mailbox needs attention for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub braked: Option<BrakedPull>,
    /// Someone's go-ahead for the deletes of that pull (see
    /// [`acknowledge_deletes`](crate::acknowledge_deletes)); the sync that applies them
    /// clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletes_go_ahead: Option<DeletesGoAhead>,
    /// The stored version; set by the store.
    #[serde(default)]
    pub version: Version,
}

/// Per (mailbox, folder): where the mailbox-side sync stands.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cursor {
    /// The backend's opaque delta cursor (EWS sync state); `None` before the first page.
    pub sync_state: Option<String>,
    /// Whether the first full enumeration has finished (matching is done only before).
    pub enumerated: bool,
    /// The last change-feed position handed out; feed readers see nothing beyond it.
    pub feed_seq: u64,
    /// The stored version; set by the store.
    pub version: Version,
}

/// A CRM record linked to a mailbox item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The CRM record's id.
    pub crm_id: String,
    /// The mailbox item's id.
    pub item_id: String,
    /// The item's change key when both sides last agreed.
    pub change_key: String,
    /// Hash of the normalised content both sides agreed on.
    pub content_hash: String,
    /// The CRM record version both sides agreed on.
    pub crm_version: Version,
    /// The agreed content itself (JSON): the base of a three-way, field-level merge when
    /// both sides changed. `None` when not kept.
    pub base: Option<String>,
    /// Created in the mailbox by us and not yet seen in a pull. Exchange never reports an
    /// item created and deleted between two syncs, so such items are checked for.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unconfirmed: bool,
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The CRM, through the API.
    Crm,
    /// The mailbox (its owner, or another client), brought in by a sync.
    Mailbox,
}

/// The CRM side's copy of a contact or event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmRecord {
    /// The CRM's id for it.
    pub crm_id: String,
    /// Its version, one more on every write from either side.
    pub version: Version,
    /// The record as JSON; `None` once deleted (the tombstone stays for the feed).
    pub data: Option<String>,
    /// Who wrote it last.
    pub origin: Origin,
    /// Its change-feed position when the mailbox side wrote it last.
    pub feed_seq: Option<u64>,
    /// When it was last written.
    pub updated: DateTime<Utc>,
}

/// A CRM change still to be pushed to the mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The record.
    pub crm_id: String,
    /// The record version that queued it; a later write re-queues.
    pub record_version: Version,
    /// Pushes tried so far.
    pub attempts: u32,
    /// Why the last push failed, in plain words.
    pub last_error: Option<String>,
}

/// A record write by the sync engine, part of a [`Commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordWrite {
    /// The record.
    pub crm_id: String,
    /// The version the engine read (`None`: the record is new).
    pub expected: Option<Version>,
    /// The new content; `None` deletes.
    pub data: Option<String>,
}

/// A link change, part of a [`Commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkChange {
    /// Create or replace the link for `crm_id`.
    Put(Link),
    /// Remove the link for this CRM id.
    Delete(String),
}

/// Everything one step of a sync run changes, stored all or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The mailbox.
    pub mailbox: String,
    /// The folder.
    pub folder: Folder,
    /// Unique per commit attempt group: a retried commit with the same id is idempotent.
    pub id: String,
    /// The lease the engine holds; the commit fails with `LeaseLost` without it.
    pub lease: Lease,
    /// The new cursor state (`sync_state`, `enumerated`); `feed_seq` is assigned by the store.
    pub cursor: Option<(Option<String>, bool)>,
    /// Record writes from the mailbox side; each gets the next feed position.
    pub records: Vec<RecordWrite>,
    /// Link changes.
    pub links: Vec<LinkChange>,
    /// Outbox entries pushed: removed if the record is still at that version.
    pub outbox_done: Vec<(String, Version)>,
    /// Outbox entries that failed: attempt counted, error kept.
    pub outbox_failed: Vec<(String, String)>,
    /// Audit events to append.
    pub audit: Vec<AuditEvent>,
}

/// A held lease. Its `token` grows with every acquisition, so a stale holder is fenced off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// What is leased, e.g. `sync/agent@example.com/contacts`.
    pub key: String,
    /// Who holds it.
    pub owner: String,
    /// Fencing token.
    pub token: u64,
    /// When it lapses unless renewed.
    pub expires: DateTime<Utc>,
}

/// Where an idempotent request stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Idempotency {
    /// This caller claimed the key and must do the work, then call `finish_idempotent`.
    Claimed,
    /// Another attempt holds it and has not finished (or died; the claim lapses).
    InProgress,
    /// Done before: this is the stored response.
    Done(String),
    /// The key was used for a different request.
    Mismatch,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// The mailbox it concerns.
    pub mailbox: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who: `sync`, `api:<key id>`, `admin`, …
    pub actor: String,
    /// What kind of event: `mailbox.create`, `mailbox.update`, `mailbox.delete`, `crm.update`,
    /// `conflict`, `mail.send`, `brake`, …
    pub action: String,
    /// The record or item concerned.
    pub subject: String,
    /// Details as JSON (for a conflict: the field and both values).
    pub detail: String,
}
