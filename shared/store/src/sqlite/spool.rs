//! Spooled payloads: one row each, written and read in one transaction, so a payload is
//! always whole.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::errors::sql;
use super::values::{later, time, time_text};
use crate::error::StoreError;
use crate::state::StoreResult;

fn missing(mailbox: &str, key: &str) -> StoreError {
    StoreError::NotFound {
        what: format!("spooled payload {key} of {mailbox}"),
    }
}

pub(super) fn put(
    conn: &Connection,
    mailbox: &str,
    key: &str,
    payload: &[u8],
    ttl: Duration,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let expires = later(now, ttl)?;
    // Lapsed payloads are dropped here, so the file does not keep what no one will read.
    conn.prepare_cached("DELETE FROM spool WHERE expires <= ?1")
        .and_then(|mut stmt| stmt.execute([time_text(now)]))
        .map_err(sql)?;
    conn.prepare_cached(
        "INSERT INTO spool (mailbox, key, payload, expires) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (mailbox, key) DO UPDATE SET
             payload = excluded.payload, expires = excluded.expires",
    )
    .and_then(|mut stmt| stmt.execute(params![mailbox, key, payload, time_text(expires)]))
    .map_err(sql)?;
    Ok(())
}

pub(super) fn get(
    conn: &Connection,
    mailbox: &str,
    key: &str,
    now: DateTime<Utc>,
) -> StoreResult<Vec<u8>> {
    let found: Option<(Vec<u8>, String)> = conn
        .prepare_cached("SELECT payload, expires FROM spool WHERE mailbox = ?1 AND key = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![mailbox, key], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(sql)?;
    match found {
        Some((payload, expires)) if time(&expires, "a spool expiry")? > now => Ok(payload),
        _ => Err(missing(mailbox, key)),
    }
}

pub(super) fn delete(conn: &Connection, mailbox: &str, key: &str) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM spool WHERE mailbox = ?1 AND key = ?2")
        .and_then(|mut stmt| stmt.execute(params![mailbox, key]))
        .map_err(sql)?;
    Ok(())
}
