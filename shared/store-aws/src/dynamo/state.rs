//! [`StateStore`] for [`DynamoStateStore`]: each call is in the module for its records.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mailbridge_store::{
    AuditEvent, Commit, CrmRecord, Cursor, Expect, Folder, Idempotency, Lease, Link, Mailbox,
    OutboxEntry, Page, StateStore, StoreResult, Tenant, Version,
};

use super::DynamoStateStore;

impl StateStore for DynamoStateStore {
    async fn put_tenant(&self, tenant: &Tenant, expect: Expect) -> StoreResult<Version> {
        DynamoStateStore::put_tenant(self, tenant, expect).await
    }

    async fn get_tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        DynamoStateStore::get_tenant(self, id).await
    }

    async fn list_tenants(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Tenant>> {
        DynamoStateStore::list_tenants(self, after, limit).await
    }

    async fn put_mailbox(&self, mailbox: &Mailbox, expect: Expect) -> StoreResult<Version> {
        DynamoStateStore::put_mailbox(self, mailbox, expect).await
    }

    async fn get_mailbox(&self, address: &str) -> StoreResult<Option<Mailbox>> {
        DynamoStateStore::get_mailbox(self, address).await
    }

    async fn list_mailboxes(
        &self,
        tenant: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Mailbox>> {
        DynamoStateStore::list_mailboxes(self, tenant, after, limit).await
    }

    async fn get_cursor(&self, mailbox: &str, folder: Folder) -> StoreResult<Cursor> {
        DynamoStateStore::get_cursor(self, mailbox, folder).await
    }

    async fn link_by_crm_id(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
    ) -> StoreResult<Option<Link>> {
        DynamoStateStore::link_by_crm_id(self, mailbox, folder, crm_id).await
    }

    async fn link_by_item_id(
        &self,
        mailbox: &str,
        folder: Folder,
        item_id: &str,
    ) -> StoreResult<Option<Link>> {
        DynamoStateStore::link_by_item_id(self, mailbox, folder, item_id).await
    }

    async fn list_links(
        &self,
        mailbox: &str,
        folder: Folder,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Link>> {
        DynamoStateStore::list_links(self, mailbox, folder, after, limit).await
    }

    async fn commit(&self, commit: &Commit) -> StoreResult<Cursor> {
        DynamoStateStore::commit(self, commit).await
    }

    async fn reset_folder(&self, mailbox: &str, folder: Folder) -> StoreResult<()> {
        DynamoStateStore::reset_folder(self, mailbox, folder).await
    }

    async fn get_record(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
    ) -> StoreResult<Option<CrmRecord>> {
        DynamoStateStore::get_record(self, mailbox, folder, crm_id).await
    }

    async fn list_records(
        &self,
        mailbox: &str,
        folder: Folder,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<CrmRecord>> {
        DynamoStateStore::list_records(self, mailbox, folder, after, limit).await
    }

    async fn crm_write(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
        expect: Expect,
        data: Option<&str>,
    ) -> StoreResult<Version> {
        DynamoStateStore::crm_write(self, mailbox, folder, crm_id, expect, data).await
    }

    async fn read_feed(
        &self,
        mailbox: &str,
        folder: Folder,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<CrmRecord>> {
        DynamoStateStore::read_feed(self, mailbox, folder, after, limit).await
    }

    async fn list_outbox(
        &self,
        mailbox: &str,
        folder: Folder,
        limit: usize,
    ) -> StoreResult<Vec<OutboxEntry>> {
        DynamoStateStore::list_outbox(self, mailbox, folder, limit).await
    }

    async fn acquire_lease(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Lease>> {
        DynamoStateStore::acquire_lease(self, key, owner, ttl, now).await
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Lease> {
        DynamoStateStore::renew_lease(self, lease, ttl, now).await
    }

    async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        DynamoStateStore::release_lease(self, lease).await
    }

    async fn begin_idempotent(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotency> {
        DynamoStateStore::begin_idempotent(self, scope, key, request_hash, ttl, now).await
    }

    async fn finish_idempotent(&self, scope: &str, key: &str, response: &str) -> StoreResult<()> {
        DynamoStateStore::finish_idempotent(self, scope, key, response).await
    }

    async fn put_spool(
        &self,
        mailbox: &str,
        key: &str,
        payload: &[u8],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        DynamoStateStore::put_spool(self, mailbox, key, payload, ttl, now).await
    }

    async fn get_spool(
        &self,
        mailbox: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<u8>> {
        DynamoStateStore::get_spool(self, mailbox, key, now).await
    }

    async fn delete_spool(&self, mailbox: &str, key: &str) -> StoreResult<()> {
        DynamoStateStore::delete_spool(self, mailbox, key).await
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        DynamoStateStore::append_audit(self, events).await
    }

    async fn list_audit(
        &self,
        mailbox: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<AuditEvent>> {
        DynamoStateStore::list_audit(self, mailbox, after, limit).await
    }
}
