//! The state-store trait.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::model::{
    AuditEvent, Commit, CrmRecord, Cursor, Expect, Folder, Idempotency, Lease, Link, Mailbox,
    OutboxEntry, Page, Tenant, Version,
};

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything mailbridge remembers between runs.
///
/// Writes that must go together go through one call ([`StateStore::commit`],
/// [`StateStore::crm_write`]); an implementation that cannot do them in one transaction
/// (`DynamoDB`'s 100-item limit) must make a retry of the same call safe and keep partial
/// work invisible to readers (the change feed ends at the cursor's `feed_seq`).
pub trait StateStore: Send + Sync {
    // ---- tenants

    /// Stores a tenant; returns its new version.
    fn put_tenant(
        &self,
        tenant: &Tenant,
        expect: Expect,
    ) -> impl Future<Output = StoreResult<Version>> + Send;

    /// A tenant by id.
    fn get_tenant(&self, id: &str) -> impl Future<Output = StoreResult<Option<Tenant>>> + Send;

    /// Tenants in id order, a page at a time.
    fn list_tenants(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<Tenant>>> + Send;

    // ---- mailboxes

    /// Stores a mailbox; returns its new version.
    fn put_mailbox(
        &self,
        mailbox: &Mailbox,
        expect: Expect,
    ) -> impl Future<Output = StoreResult<Version>> + Send;

    /// A mailbox by address (lower case).
    fn get_mailbox(
        &self,
        address: &str,
    ) -> impl Future<Output = StoreResult<Option<Mailbox>>> + Send;

    /// Mailboxes in address order, all or one tenant's, a page at a time.
    fn list_mailboxes(
        &self,
        tenant: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<Mailbox>>> + Send;

    // ---- sync state

    /// The cursor of a folder (the default one before the first sync).
    fn get_cursor(
        &self,
        mailbox: &str,
        folder: Folder,
    ) -> impl Future<Output = StoreResult<Cursor>> + Send;

    /// The link of a CRM record.
    fn link_by_crm_id(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Link>>> + Send;

    /// The link of a mailbox item.
    fn link_by_item_id(
        &self,
        mailbox: &str,
        folder: Folder,
        item_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Link>>> + Send;

    /// A folder's links in CRM-id order, a page at a time.
    fn list_links(
        &self,
        mailbox: &str,
        folder: Folder,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<Link>>> + Send;

    /// Applies one step of a sync run atomically (or retry-safely, see the trait docs).
    /// Fails with `LeaseLost` when `commit.lease` is no longer held and with `Conflict`
    /// when a record changed since the engine read it; nothing is applied then.
    fn commit(&self, commit: &Commit) -> impl Future<Output = StoreResult<Cursor>> + Send;

    /// Forgets a folder's sync state and links (the mailbox was reset); records stay.
    fn reset_folder(
        &self,
        mailbox: &str,
        folder: Folder,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // ---- the CRM side

    /// A CRM record, tombstones included.
    fn get_record(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
    ) -> impl Future<Output = StoreResult<Option<CrmRecord>>> + Send;

    /// A folder's records in CRM-id order, tombstones included, a page at a time.
    fn list_records(
        &self,
        mailbox: &str,
        folder: Folder,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<CrmRecord>>> + Send;

    /// A write from the CRM (`data: None` deletes): stores the record and queues it for
    /// the mailbox in one step. Returns the new version.
    fn crm_write(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
        expect: Expect,
        data: Option<&str>,
    ) -> impl Future<Output = StoreResult<Version>> + Send;

    /// Mailbox-side changes after feed position `after`, oldest first, up to the last
    /// committed position; each record appears once, at its latest change.
    fn read_feed(
        &self,
        mailbox: &str,
        folder: Folder,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<CrmRecord>>> + Send;

    /// The CRM changes still to push, oldest first.
    fn list_outbox(
        &self,
        mailbox: &str,
        folder: Folder,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<OutboxEntry>>> + Send;

    // ---- leases

    /// Takes the lease `key` for `owner` if it is free, expired, or already `owner`'s.
    /// `None` when someone else holds it.
    fn acquire_lease(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<Lease>>> + Send;

    /// Extends a held lease; `LeaseLost` when it is no longer held.
    fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Lease>> + Send;

    /// Gives a lease up (no error if it already lapsed).
    fn release_lease(&self, lease: &Lease) -> impl Future<Output = StoreResult<()>> + Send;

    // ---- idempotency

    /// Claims `key` in `scope` for a request with `request_hash`, or reports what an
    /// earlier attempt left. A claim not finished within `ttl` lapses; a finished record is
    /// kept for `ttl` too.
    fn begin_idempotent(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Idempotency>> + Send;

    /// Records the response of a claimed request.
    fn finish_idempotent(
        &self,
        scope: &str,
        key: &str,
        response: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // ---- spool

    /// Keeps `payload` (a message waiting for a retry) under (`mailbox`, `key`) until `ttl`
    /// after `now`, replacing whatever was spooled there before. Safe to repeat: a retry of
    /// the same call leaves the same payload. Fails with `Invalid` when the ids cannot be
    /// stored.
    fn put_spool(
        &self,
        mailbox: &str,
        key: &str,
        payload: &[u8],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The payload spooled under (`mailbox`, `key`), whole. `NotFound` when none is (never
    /// spooled, deleted, or lapsed by `now`); `Corrupt` when what is stored is incomplete.
    fn get_spool(
        &self,
        mailbox: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<u8>>> + Send;

    /// Forgets the payload under (`mailbox`, `key`); no error when there is none.
    fn delete_spool(
        &self,
        mailbox: &str,
        key: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    // ---- audit

    /// Appends audit events.
    fn append_audit(&self, events: &[AuditEvent]) -> impl Future<Output = StoreResult<()>> + Send;

    /// A mailbox's audit trail, oldest first, a page at a time.
    fn list_audit(
        &self,
        mailbox: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<AuditEvent>>> + Send;
}

/// A shared store is a store: the API and the workers can hold the same one.
impl<T: StateStore> StateStore for std::sync::Arc<T> {
    fn put_tenant(
        &self,
        tenant: &Tenant,
        expect: Expect,
    ) -> impl Future<Output = StoreResult<Version>> + Send {
        (**self).put_tenant(tenant, expect)
    }

    fn get_tenant(&self, id: &str) -> impl Future<Output = StoreResult<Option<Tenant>>> + Send {
        (**self).get_tenant(id)
    }

    fn list_tenants(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<Tenant>>> + Send {
        (**self).list_tenants(after, limit)
    }

    fn put_mailbox(
        &self,
        mailbox: &Mailbox,
        expect: Expect,
    ) -> impl Future<Output = StoreResult<Version>> + Send {
        (**self).put_mailbox(mailbox, expect)
    }

    fn get_mailbox(
        &self,
        address: &str,
    ) -> impl Future<Output = StoreResult<Option<Mailbox>>> + Send {
        (**self).get_mailbox(address)
    }

    fn list_mailboxes(
        &self,
        tenant: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<Mailbox>>> + Send {
        (**self).list_mailboxes(tenant, after, limit)
    }

    fn get_cursor(
        &self,
        mailbox: &str,
        folder: Folder,
    ) -> impl Future<Output = StoreResult<Cursor>> + Send {
        (**self).get_cursor(mailbox, folder)
    }

    fn link_by_crm_id(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Link>>> + Send {
        (**self).link_by_crm_id(mailbox, folder, crm_id)
    }

    fn link_by_item_id(
        &self,
        mailbox: &str,
        folder: Folder,
        item_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Link>>> + Send {
        (**self).link_by_item_id(mailbox, folder, item_id)
    }

    fn list_links(
        &self,
        mailbox: &str,
        folder: Folder,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<Link>>> + Send {
        (**self).list_links(mailbox, folder, after, limit)
    }

    fn commit(&self, commit: &Commit) -> impl Future<Output = StoreResult<Cursor>> + Send {
        (**self).commit(commit)
    }

    fn reset_folder(
        &self,
        mailbox: &str,
        folder: Folder,
    ) -> impl Future<Output = StoreResult<()>> + Send {
        (**self).reset_folder(mailbox, folder)
    }

    fn get_record(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
    ) -> impl Future<Output = StoreResult<Option<CrmRecord>>> + Send {
        (**self).get_record(mailbox, folder, crm_id)
    }

    fn list_records(
        &self,
        mailbox: &str,
        folder: Folder,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<CrmRecord>>> + Send {
        (**self).list_records(mailbox, folder, after, limit)
    }

    fn crm_write(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
        expect: Expect,
        data: Option<&str>,
    ) -> impl Future<Output = StoreResult<Version>> + Send {
        (**self).crm_write(mailbox, folder, crm_id, expect, data)
    }

    fn read_feed(
        &self,
        mailbox: &str,
        folder: Folder,
        after: u64,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<CrmRecord>>> + Send {
        (**self).read_feed(mailbox, folder, after, limit)
    }

    fn list_outbox(
        &self,
        mailbox: &str,
        folder: Folder,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<OutboxEntry>>> + Send {
        (**self).list_outbox(mailbox, folder, limit)
    }

    fn acquire_lease(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Option<Lease>>> + Send {
        (**self).acquire_lease(key, owner, ttl, now)
    }

    fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Lease>> + Send {
        (**self).renew_lease(lease, ttl, now)
    }

    fn release_lease(&self, lease: &Lease) -> impl Future<Output = StoreResult<()>> + Send {
        (**self).release_lease(lease)
    }

    fn begin_idempotent(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Idempotency>> + Send {
        (**self).begin_idempotent(scope, key, request_hash, ttl, now)
    }

    fn finish_idempotent(
        &self,
        scope: &str,
        key: &str,
        response: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send {
        (**self).finish_idempotent(scope, key, response)
    }

    fn put_spool(
        &self,
        mailbox: &str,
        key: &str,
        payload: &[u8],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<()>> + Send {
        (**self).put_spool(mailbox, key, payload, ttl, now)
    }

    fn get_spool(
        &self,
        mailbox: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = StoreResult<Vec<u8>>> + Send {
        (**self).get_spool(mailbox, key, now)
    }

    fn delete_spool(
        &self,
        mailbox: &str,
        key: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send {
        (**self).delete_spool(mailbox, key)
    }

    fn append_audit(&self, events: &[AuditEvent]) -> impl Future<Output = StoreResult<()>> + Send {
        (**self).append_audit(events)
    }

    fn list_audit(
        &self,
        mailbox: &str,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Page<AuditEvent>>> + Send {
        (**self).list_audit(mailbox, after, limit)
    }
}
