//! The database schema and its migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Opening a database runs
//! the missing ones in order, each in its own transaction with the version bump, so a
//! crash mid-way leaves a database at an earlier version, never between two.

use rusqlite::{Connection, TransactionBehavior};

use super::errors::sql;
use crate::error::StoreError;
use crate::state::StoreResult;

/// Marks a file as a mailbridge state database (`PRAGMA application_id`, "mbst").
const APPLICATION_ID: i32 = 0x6d62_7374;

/// The schema version this build writes: the number of migrations it knows.
pub const SCHEMA_VERSION: u32 = 2;

/// Each entry takes the schema from its index to the next version.
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [V1, V2];

/// Tenants, mailboxes, per-folder sync state, CRM records and their outbox, leases,
/// idempotency records and the audit trail.
const V1: &str = "
CREATE TABLE tenants (
    id TEXT NOT NULL PRIMARY KEY,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE mailboxes (
    address TEXT NOT NULL PRIMARY KEY,
    tenant TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX mailboxes_by_tenant ON mailboxes (tenant, address);

-- One row per folder once it has been committed to or reset.
CREATE TABLE cursors (
    mailbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (mailbox, folder)
) WITHOUT ROWID;

-- The ids of recent commits per folder, so a retried commit is answered, not re-applied.
CREATE TABLE applied_commits (
    mailbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    id TEXT NOT NULL,
    cursor_version INTEGER NOT NULL,
    PRIMARY KEY (mailbox, folder, id)
) WITHOUT ROWID;
CREATE INDEX applied_commits_by_age ON applied_commits (mailbox, folder, cursor_version);

CREATE TABLE links (
    mailbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (mailbox, folder, crm_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX links_by_item ON links (mailbox, folder, item_id);

-- data is the record's own JSON document; NULL marks a tombstone.
CREATE TABLE records (
    mailbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    origin TEXT NOT NULL,
    feed_seq INTEGER,
    last_commit TEXT,
    updated TEXT NOT NULL,
    data TEXT,
    PRIMARY KEY (mailbox, folder, crm_id)
) WITHOUT ROWID;
CREATE INDEX records_by_feed ON records (mailbox, folder, feed_seq) WHERE origin = 'mailbox';

-- queued orders the outbox: a later write of the same record moves it to the back.
CREATE TABLE outbox (
    mailbox TEXT NOT NULL,
    folder TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    record_version INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    queued INTEGER NOT NULL,
    PRIMARY KEY (mailbox, folder, crm_id)
) WITHOUT ROWID;
CREATE INDEX outbox_by_age ON outbox (mailbox, folder, queued);

-- A released lease keeps its row (owner NULL) so the next token is still larger.
CREATE TABLE leases (
    key TEXT NOT NULL PRIMARY KEY,
    owner TEXT,
    token INTEGER NOT NULL,
    expires TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT,
    expires TEXT NOT NULL,
    claimed_wall TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX audit_by_mailbox ON audit (mailbox, seq);
";

/// Spooled payloads: messages waiting for a retry. A rowid table, because payloads run to
/// megabytes and `WITHOUT ROWID` suits small rows.
const V2: &str = "
CREATE TABLE spool (
    mailbox TEXT NOT NULL,
    key TEXT NOT NULL,
    payload BLOB NOT NULL,
    expires TEXT NOT NULL,
    PRIMARY KEY (mailbox, key)
);
CREATE INDEX spool_by_expiry ON spool (expires);
";

/// Brings the database to [`SCHEMA_VERSION`], refusing one that is not ours or is newer.
pub(super) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let found = check(conn)?;
    for (version, migration) in (1_i64..).zip(MIGRATIONS).skip(found) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        tx.execute_batch(migration).map_err(sql)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(sql)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
    }
    Ok(())
}

/// The number of migrations already applied; refuses a database that is not ours or is
/// newer than this build.
pub(super) fn check(conn: &Connection) -> StoreResult<usize> {
    let read = |name: &str| -> StoreResult<i64> {
        conn.pragma_query_value(None, name, |row| row.get(0))
            .map_err(sql)
    };
    let application = read("application_id")?;
    let version = read("user_version")?;
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
            [],
            |row| row.get(0),
        )
        .map_err(sql)?;

    let foreign = if application == 0 {
        version != 0 || tables != 0
    } else {
        application != i64::from(APPLICATION_ID)
    };
    if foreign {
        return Err(StoreError::Invalid {
            field: "database",
            reason: "the file is a SQLite database of another program, not a mailbridge \
                     state store"
                .to_owned(),
        });
    }
    match usize::try_from(version) {
        Ok(applied) if applied <= MIGRATIONS.len() => Ok(applied),
        _ => Err(StoreError::Invalid {
            field: "schema_version",
            reason: format!(
                "the database has schema version {version}, written by a newer mailbridge; \
                 this build knows versions up to {SCHEMA_VERSION}: upgrade mailbridge or \
                 use another file"
            ),
        }),
    }
}
