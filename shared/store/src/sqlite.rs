//! The embedded state store: one `SQLite` file (or memory), for local runs and single hosts.
//!
//! Every call runs under one connection lock, and every write in one `SQLite` transaction,
//! so a commit is applied whole or not at all and readers never see half of one. Records
//! are JSON documents beside the columns the queries need; the schema is versioned
//! (`PRAGMA user_version`) and migrated forward when the file is opened.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::StoreError;
use crate::model::{
    AuditEvent, Commit, CrmRecord, Cursor, Expect, Folder, Idempotency, Lease, Link, Mailbox,
    OutboxEntry, Page, Tenant, Version,
};
use crate::state::{StateStore, StoreResult};

mod coordination;
mod directory;
mod errors;
mod records;
mod schema;
mod spool;
mod sync_state;
mod values;

pub use schema::SCHEMA_VERSION;

use errors::sql;

/// How long a call waits for another process's write lock on the same file before
/// reporting the store unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`StateStore`] in one `SQLite` database.
///
/// Open a file with [`SqliteStore::open`] (created if missing, migrated to the current
/// schema) or use [`SqliteStore::in_memory`] for tests. Calls are short and run on the
/// calling thread while holding the connection.
// LIMIT: calls block the async executor thread for the length of one SQLite statement
// batch (microseconds in memory, an fsync at WAL checkpoints on disk); fine for the
// embedded default, not meant for a busy multi-tenant server.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path`, in WAL mode, and brings its schema
    /// up to date.
    ///
    /// Fails with `Unavailable` when the file cannot be opened, `Corrupt` when it is not a
    /// `SQLite` database, and `Invalid` when it belongs to another program or was written
    /// by a newer mailbridge (see [`SCHEMA_VERSION`]).
    pub fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        let conn = Connection::open(path.as_ref()).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        // Refuse a foreign or newer database before changing anything in it.
        schema::check(&conn)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable {
                detail: format!("the database cannot use write-ahead logging (mode {mode})"),
            });
        }
        // In WAL mode NORMAL loses at most the last commits on power loss, never
        // consistency; a lost commit is redone by the next sync run.
        conn.pragma_update(None, "synchronous", "normal")
            .map_err(sql)?;
        SqliteStore::ready(conn)
    }

    /// A private database in memory, gone when the store is dropped.
    pub fn in_memory() -> StoreResult<SqliteStore> {
        SqliteStore::ready(Connection::open_in_memory().map_err(sql)?)
    }

    fn ready(mut conn: Connection) -> StoreResult<SqliteStore> {
        schema::migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half done (it rolls
        // back on drop), so the connection stays usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs reads on one consistent view.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(sql)?;
        let out = f(&tx)?;
        tx.commit().map_err(sql)?;
        Ok(out)
    }

    /// Runs writes in one transaction: all of them are kept, or none when `f` fails.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = self.lock();
        // IMMEDIATE takes the write lock up front, so two processes never deadlock
        // upgrading read locks.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let out = f(&tx)?;
        tx.commit().map_err(sql)?;
        Ok(out)
    }
}

impl StateStore for SqliteStore {
    async fn put_tenant(&self, tenant: &Tenant, expect: Expect) -> StoreResult<Version> {
        self.write(|tx| directory::put_tenant(tx, tenant, expect))
    }

    async fn get_tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        self.read(|conn| directory::get_tenant(conn, id))
    }

    async fn list_tenants(&self, after: Option<&str>, limit: usize) -> StoreResult<Page<Tenant>> {
        self.read(|conn| directory::list_tenants(conn, after, limit))
    }

    async fn put_mailbox(&self, mailbox: &Mailbox, expect: Expect) -> StoreResult<Version> {
        self.write(|tx| directory::put_mailbox(tx, mailbox, expect))
    }

    async fn get_mailbox(&self, address: &str) -> StoreResult<Option<Mailbox>> {
        self.read(|conn| directory::get_mailbox(conn, address))
    }

    async fn list_mailboxes(
        &self,
        tenant: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Mailbox>> {
        self.read(|conn| directory::list_mailboxes(conn, tenant, after, limit))
    }

    async fn get_cursor(&self, mailbox: &str, folder: Folder) -> StoreResult<Cursor> {
        self.read(|conn| sync_state::cursor(conn, mailbox, folder))
    }

    async fn link_by_crm_id(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
    ) -> StoreResult<Option<Link>> {
        self.read(|conn| sync_state::link_by_crm_id(conn, mailbox, folder, crm_id))
    }

    async fn link_by_item_id(
        &self,
        mailbox: &str,
        folder: Folder,
        item_id: &str,
    ) -> StoreResult<Option<Link>> {
        self.read(|conn| sync_state::link_by_item_id(conn, mailbox, folder, item_id))
    }

    async fn list_links(
        &self,
        mailbox: &str,
        folder: Folder,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Link>> {
        self.read(|conn| sync_state::list_links(conn, mailbox, folder, after, limit))
    }

    async fn commit(&self, commit: &Commit) -> StoreResult<Cursor> {
        self.write(|tx| sync_state::commit(tx, commit, Utc::now()))
    }

    async fn reset_folder(&self, mailbox: &str, folder: Folder) -> StoreResult<()> {
        self.write(|tx| sync_state::reset_folder(tx, mailbox, folder))
    }

    async fn get_record(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
    ) -> StoreResult<Option<CrmRecord>> {
        self.read(|conn| records::get(conn, mailbox, folder, crm_id))
    }

    async fn list_records(
        &self,
        mailbox: &str,
        folder: Folder,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<CrmRecord>> {
        self.read(|conn| records::list(conn, mailbox, folder, after, limit))
    }

    async fn crm_write(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
        expect: Expect,
        data: Option<&str>,
    ) -> StoreResult<Version> {
        let write = records::CrmWrite {
            mailbox,
            folder,
            crm_id,
            expect,
            data,
        };
        self.write(|tx| records::crm_write(tx, &write, Utc::now()))
    }

    async fn read_feed(
        &self,
        mailbox: &str,
        folder: Folder,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<CrmRecord>> {
        self.read(|conn| records::read_feed(conn, mailbox, folder, after, limit))
    }

    async fn list_outbox(
        &self,
        mailbox: &str,
        folder: Folder,
        limit: usize,
    ) -> StoreResult<Vec<OutboxEntry>> {
        self.read(|conn| records::list_outbox(conn, mailbox, folder, limit))
    }

    async fn acquire_lease(
        &self,
        key: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Lease>> {
        self.write(|tx| coordination::acquire_lease(tx, key, owner, ttl, now))
    }

    async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Lease> {
        self.write(|tx| coordination::renew_lease(tx, lease, ttl, now))
    }

    async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        self.write(|tx| coordination::release_lease(tx, lease))
    }

    async fn begin_idempotent(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotency> {
        let claim = coordination::Claim {
            scope,
            key,
            request_hash,
            ttl,
            now,
        };
        self.write(|tx| coordination::begin_idempotent(tx, &claim, Utc::now()))
    }

    async fn finish_idempotent(&self, scope: &str, key: &str, response: &str) -> StoreResult<()> {
        self.write(|tx| coordination::finish_idempotent(tx, scope, key, response, Utc::now()))
    }

    async fn put_spool(
        &self,
        mailbox: &str,
        key: &str,
        payload: &[u8],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.write(|tx| spool::put(tx, mailbox, key, payload, ttl, now))
    }

    async fn get_spool(
        &self,
        mailbox: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<u8>> {
        self.read(|conn| spool::get(conn, mailbox, key, now))
    }

    async fn delete_spool(&self, mailbox: &str, key: &str) -> StoreResult<()> {
        self.write(|tx| spool::delete(tx, mailbox, key))
    }

    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        self.write(|tx| coordination::insert_audit(tx, events))
    }

    async fn list_audit(
        &self,
        mailbox: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<AuditEvent>> {
        self.read(|conn| coordination::list_audit(conn, mailbox, after, limit))
    }
}
