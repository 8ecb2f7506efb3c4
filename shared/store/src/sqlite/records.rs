//! CRM records, the outbox of CRM changes to push, and the change feed of mailbox changes.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::errors::sql;
use super::sync_state;
use super::values::{
    after_clause, fetch_count, int, page, row_limit, small, time, time_text, uint,
};
use crate::error::StoreError;
use crate::model::{
    Commit, CrmRecord, Expect, Folder, Origin, OutboxEntry, Page, RecordWrite, Version,
};
use crate::state::StoreResult;

const RECORD_COLUMNS: &str = "crm_id, version, data, origin, feed_seq, updated";

/// A record row as `SQLite` hands it over, checked by [`record`].
type RawRecord = (String, i64, Option<String>, String, Option<i64>, String);

fn raw(row: &Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn record((crm_id, version, data, origin, feed_seq, updated): RawRecord) -> StoreResult<CrmRecord> {
    let origin = match origin.as_str() {
        "crm" => Origin::Crm,
        "mailbox" => Origin::Mailbox,
        _ => {
            return Err(StoreError::Corrupt {
                detail: format!("record {crm_id} has an unknown origin"),
            });
        }
    };
    Ok(CrmRecord {
        version: uint(version, "a record version")?,
        feed_seq: feed_seq.map(|s| uint(s, "a feed position")).transpose()?,
        updated: time(&updated, "a record's update time")?,
        crm_id,
        data,
        origin,
    })
}

fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Crm => "crm",
        Origin::Mailbox => "mailbox",
    }
}

fn what(folder: Folder, crm_id: &str) -> String {
    format!("{folder} record {crm_id}")
}

/// The stored version of a record and the commit that wrote it last.
fn current(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    crm_id: &str,
) -> StoreResult<Option<(Version, Option<String>)>> {
    let found: Option<(i64, Option<String>)> = conn
        .prepare_cached(
            "SELECT version, last_commit FROM records
             WHERE mailbox = ?1 AND folder = ?2 AND crm_id = ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![mailbox, folder.as_str(), crm_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
        })
        .map_err(sql)?;
    found
        .map(|(version, last)| Ok((uint(version, "a record version")?, last)))
        .transpose()
}

/// One record row to write; `feed_seq: None` keeps the stored position.
struct Stored<'a> {
    mailbox: &'a str,
    folder: Folder,
    crm_id: &'a str,
    version: Version,
    origin: Origin,
    feed_seq: Option<u64>,
    last_commit: Option<&'a str>,
    updated: DateTime<Utc>,
    data: Option<&'a str>,
}

fn store(conn: &Connection, row: &Stored<'_>) -> StoreResult<()> {
    let version = int(row.version, "version")?;
    let feed_seq = row.feed_seq.map(|s| int(s, "feed_seq")).transpose()?;
    conn.prepare_cached(
        "INSERT INTO records
             (mailbox, folder, crm_id, version, origin, feed_seq, last_commit, updated, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (mailbox, folder, crm_id) DO UPDATE SET
             version = excluded.version,
             origin = excluded.origin,
             feed_seq = coalesce(excluded.feed_seq, records.feed_seq),
             last_commit = excluded.last_commit,
             updated = excluded.updated,
             data = excluded.data",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            row.mailbox,
            row.folder.as_str(),
            row.crm_id,
            version,
            origin_name(row.origin),
            feed_seq,
            row.last_commit,
            time_text(row.updated),
            row.data,
        ])
    })
    .map_err(sql)?;
    Ok(())
}

pub(super) fn get(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    crm_id: &str,
) -> StoreResult<Option<CrmRecord>> {
    let query = format!(
        "SELECT {RECORD_COLUMNS} FROM records WHERE mailbox = ?1 AND folder = ?2 AND crm_id = ?3"
    );
    let found = conn
        .prepare_cached(&query)
        .and_then(|mut stmt| {
            stmt.query_row(params![mailbox, folder.as_str(), crm_id], raw)
                .optional()
        })
        .map_err(sql)?;
    found.map(record).transpose()
}

pub(super) fn list(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    after: Option<&str>,
    limit: usize,
) -> StoreResult<Page<CrmRecord>> {
    let count = fetch_count(limit)?;
    let query = format!(
        "SELECT {RECORD_COLUMNS} FROM records WHERE mailbox = ?1 AND folder = ?2 AND {}
         ORDER BY crm_id LIMIT ?4",
        after_clause(after, "crm_id", 3)
    );
    let rows: Vec<RawRecord> = conn
        .prepare_cached(&query)
        .and_then(|mut stmt| {
            stmt.query_map(params![mailbox, folder.as_str(), after, count], raw)?
                .collect()
        })
        .map_err(sql)?;
    let records = rows
        .into_iter()
        .map(record)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(page(records, limit, |r| r.crm_id.clone()))
}

/// A CRM write, as [`crate::StateStore::crm_write`] takes it.
pub(super) struct CrmWrite<'a> {
    pub(super) mailbox: &'a str,
    pub(super) folder: Folder,
    pub(super) crm_id: &'a str,
    pub(super) expect: Expect,
    pub(super) data: Option<&'a str>,
}

/// Stores the CRM's write and queues it. Deleting a record never seen leaves a tombstone
/// and queues it too, as the deployed store does: the CRM may know an item mailbridge
/// has not synced yet, and the push finds nothing to delete.
pub(super) fn crm_write(
    conn: &Connection,
    write: &CrmWrite<'_>,
    now: DateTime<Utc>,
) -> StoreResult<Version> {
    let (mailbox, folder, crm_id) = (write.mailbox, write.folder, write.crm_id);
    let current = current(conn, mailbox, folder, crm_id)?.map(|(version, _)| version);
    if !write.expect.allows(current) {
        return Err(StoreError::Conflict {
            what: what(folder, crm_id),
            expected: write.expect.expected(),
        });
    }

    let version = current.map_or(1, |v| v + 1);
    store(
        conn,
        &Stored {
            mailbox,
            folder,
            crm_id,
            version,
            origin: Origin::Crm,
            feed_seq: None,
            last_commit: None,
            updated: now,
            data: write.data,
        },
    )?;
    queue(conn, mailbox, folder, crm_id, version)?;
    Ok(version)
}

/// Queues the record's latest version for the mailbox, at the back of the outbox, with
/// a fresh attempt count.
fn queue(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    crm_id: &str,
    version: Version,
) -> StoreResult<()> {
    let version = int(version, "version")?;
    conn.prepare_cached(
        "INSERT INTO outbox (mailbox, folder, crm_id, record_version, attempts, last_error, queued)
         VALUES (?1, ?2, ?3, ?4, 0, NULL,
                 (SELECT coalesce(max(queued), 0) + 1 FROM outbox
                  WHERE mailbox = ?1 AND folder = ?2))
         ON CONFLICT (mailbox, folder, crm_id) DO UPDATE SET
             record_version = excluded.record_version,
             attempts = 0,
             last_error = NULL,
             queued = excluded.queued",
    )
    .and_then(|mut stmt| stmt.execute(params![mailbox, folder.as_str(), crm_id, version]))
    .map_err(sql)?;
    Ok(())
}

/// Writes one mailbox-side change of a commit at feed position `position`. Returns false
/// when this very commit already wrote it (a retry), so the position is not used.
pub(super) fn mailbox_write(
    conn: &Connection,
    commit: &Commit,
    write: &RecordWrite,
    position: u64,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let (mailbox, folder, crm_id) = (
        commit.mailbox.as_str(),
        commit.folder,
        write.crm_id.as_str(),
    );
    let conflict = || StoreError::Conflict {
        what: what(folder, crm_id),
        expected: write.expected,
    };
    let version = match write.expected {
        None => 1,
        Some(v) => v.checked_add(1).ok_or_else(conflict)?,
    };

    match current(conn, mailbox, folder, crm_id)? {
        Some((stored, Some(by))) if stored == version && by == commit.id => return Ok(false),
        found if found.as_ref().map(|(v, _)| *v) != write.expected => return Err(conflict()),
        _ => {}
    }
    store(
        conn,
        &Stored {
            mailbox,
            folder,
            crm_id,
            version,
            origin: Origin::Mailbox,
            feed_seq: Some(position),
            last_commit: Some(&commit.id),
            updated: now,
            data: write.data.as_deref(),
        },
    )?;
    Ok(true)
}

pub(super) fn read_feed(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    after: u64,
    limit: usize,
) -> StoreResult<Vec<CrmRecord>> {
    let count = row_limit(limit)?;
    let end = sync_state::cursor(conn, mailbox, folder)?.feed_seq;
    if after >= end {
        return Ok(Vec::new());
    }
    let (after, end) = (int(after, "after")?, int(end, "feed_seq")?);
    let query = format!(
        "SELECT {RECORD_COLUMNS} FROM records
         WHERE mailbox = ?1 AND folder = ?2 AND origin = 'mailbox'
           AND feed_seq > ?3 AND feed_seq <= ?4
         ORDER BY feed_seq LIMIT ?5"
    );
    let rows: Vec<RawRecord> = conn
        .prepare_cached(&query)
        .and_then(|mut stmt| {
            stmt.query_map(params![mailbox, folder.as_str(), after, end, count], raw)?
                .collect()
        })
        .map_err(sql)?;
    rows.into_iter().map(record).collect()
}

pub(super) fn list_outbox(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    limit: usize,
) -> StoreResult<Vec<OutboxEntry>> {
    let count = row_limit(limit)?;
    let rows: Vec<(String, i64, i64, Option<String>)> = conn
        .prepare_cached(
            "SELECT crm_id, record_version, attempts, last_error FROM outbox
             WHERE mailbox = ?1 AND folder = ?2 ORDER BY queued LIMIT ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![mailbox, folder.as_str(), count], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect()
        })
        .map_err(sql)?;
    rows.into_iter()
        .map(|(crm_id, version, attempts, last_error)| {
            Ok(OutboxEntry {
                record_version: uint(version, "an outbox version")?,
                attempts: small(attempts, "an outbox attempt count")?,
                crm_id,
                last_error,
            })
        })
        .collect()
}

/// Drops the entry if it still asks for `version`; a newer CRM write keeps it queued.
pub(super) fn outbox_done(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    crm_id: &str,
    version: Version,
) -> StoreResult<()> {
    let version = int(version, "outbox_done version")?;
    conn.prepare_cached(
        "DELETE FROM outbox
         WHERE mailbox = ?1 AND folder = ?2 AND crm_id = ?3 AND record_version = ?4",
    )
    .and_then(|mut stmt| stmt.execute(params![mailbox, folder.as_str(), crm_id, version]))
    .map_err(sql)?;
    Ok(())
}

pub(super) fn outbox_failed(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    crm_id: &str,
    error: &str,
) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE outbox SET attempts = min(attempts + 1, 4294967295), last_error = ?4
         WHERE mailbox = ?1 AND folder = ?2 AND crm_id = ?3",
    )
    .and_then(|mut stmt| stmt.execute(params![mailbox, folder.as_str(), crm_id, error]))
    .map_err(sql)?;
    Ok(())
}
