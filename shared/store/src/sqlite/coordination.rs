//! Leases with fencing tokens, idempotency records and the audit trail.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::errors::sql;
use super::values::{decode, encode, fetch_count, int, later, time, time_text, uint};
use crate::error::StoreError;
use crate::model::{AuditEvent, Idempotency, Lease, Page};
use crate::state::StoreResult;

/// A lease row: holder (`None` once released), token, expiry.
type LeaseRow = (Option<String>, u64, DateTime<Utc>);

fn lease_row(conn: &Connection, key: &str) -> StoreResult<Option<LeaseRow>> {
    let found: Option<(Option<String>, i64, String)> = conn
        .prepare_cached("SELECT owner, token, expires FROM leases WHERE key = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([key], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()
        })
        .map_err(sql)?;
    found
        .map(|(owner, token, expires)| {
            Ok((
                owner,
                uint(token, "a lease token")?,
                time(&expires, "a lease expiry")?,
            ))
        })
        .transpose()
}

fn holds(row: Option<&LeaseRow>, lease: &Lease, now: DateTime<Utc>) -> bool {
    row.is_some_and(|(owner, token, expires)| {
        owner.as_deref() == Some(lease.owner.as_str()) && *token == lease.token && *expires > now
    })
}

/// Fails with `LeaseLost` unless `lease` is still the valid holding of its key at `now`.
pub(super) fn check_lease(conn: &Connection, lease: &Lease, now: DateTime<Utc>) -> StoreResult<()> {
    if holds(lease_row(conn, &lease.key)?.as_ref(), lease, now) {
        Ok(())
    } else {
        Err(StoreError::LeaseLost {
            key: lease.key.clone(),
        })
    }
}

pub(super) fn acquire_lease(
    conn: &Connection,
    key: &str,
    owner: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> StoreResult<Option<Lease>> {
    let expires = later(now, ttl)?;
    // Every acquisition, even by the same owner, takes a new token: a runner restarted
    // under the same name must still fence off what its earlier self left running.
    let token = match lease_row(conn, key)? {
        Some((Some(holder), _, until)) if until > now && holder != owner => return Ok(None),
        Some((_, token, _)) => token.checked_add(1).ok_or_else(|| StoreError::Corrupt {
            detail: format!("lease {key} has run out of tokens"),
        })?,
        None => 1,
    };

    let token_col = int(token, "token")?;
    conn.prepare_cached(
        "INSERT INTO leases (key, owner, token, expires) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO UPDATE SET
             owner = excluded.owner, token = excluded.token, expires = excluded.expires",
    )
    .and_then(|mut stmt| stmt.execute(params![key, owner, token_col, time_text(expires)]))
    .map_err(sql)?;
    Ok(Some(Lease {
        key: key.to_owned(),
        owner: owner.to_owned(),
        token,
        expires,
    }))
}

pub(super) fn renew_lease(
    conn: &Connection,
    lease: &Lease,
    ttl: Duration,
    now: DateTime<Utc>,
) -> StoreResult<Lease> {
    check_lease(conn, lease, now)?;
    let expires = later(now, ttl)?;
    conn.prepare_cached("UPDATE leases SET expires = ?2 WHERE key = ?1")
        .and_then(|mut stmt| stmt.execute(params![lease.key, time_text(expires)]))
        .map_err(sql)?;
    Ok(Lease {
        expires,
        ..lease.clone()
    })
}

/// Frees the key if `lease` still holds it; the token stays so the next one is larger.
pub(super) fn release_lease(conn: &Connection, lease: &Lease) -> StoreResult<()> {
    let token = int(lease.token, "token")?;
    conn.prepare_cached(
        "UPDATE leases SET owner = NULL WHERE key = ?1 AND owner = ?2 AND token = ?3",
    )
    .and_then(|mut stmt| stmt.execute(params![lease.key, lease.owner, token]))
    .map_err(sql)?;
    Ok(())
}

/// An idempotent request, as [`crate::StateStore::begin_idempotent`] takes it.
pub(super) struct Claim<'a> {
    pub(super) scope: &'a str,
    pub(super) key: &'a str,
    pub(super) request_hash: &'a str,
    pub(super) ttl: Duration,
    pub(super) now: DateTime<Utc>,
}

/// `wall` is the store's own clock, kept beside the claim so that finishing later can
/// extend the record's life by the time the work took (callers pass their own `now`).
pub(super) fn begin_idempotent(
    conn: &Connection,
    claim: &Claim<'_>,
    wall: DateTime<Utc>,
) -> StoreResult<Idempotency> {
    let found: Option<(String, Option<String>, String)> = conn
        .prepare_cached(
            "SELECT request_hash, response, expires FROM idempotency WHERE scope = ?1 AND key = ?2",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![claim.scope, claim.key], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()
        })
        .map_err(sql)?;
    if let Some((hash, response, expires)) = found
        && time(&expires, "an idempotency expiry")? > claim.now
    {
        return Ok(if hash != claim.request_hash {
            Idempotency::Mismatch
        } else if let Some(response) = response {
            Idempotency::Done(response)
        } else {
            Idempotency::InProgress
        });
    }

    let expires = later(claim.now, claim.ttl)?;
    conn.prepare_cached(
        "INSERT INTO idempotency (scope, key, request_hash, response, expires, claimed_wall)
         VALUES (?1, ?2, ?3, NULL, ?4, ?5)
         ON CONFLICT (scope, key) DO UPDATE SET
             request_hash = excluded.request_hash, response = NULL,
             expires = excluded.expires, claimed_wall = excluded.claimed_wall",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            claim.scope,
            claim.key,
            claim.request_hash,
            time_text(expires),
            time_text(wall)
        ])
    })
    .map_err(sql)?;
    Ok(Idempotency::Claimed)
}

pub(super) fn finish_idempotent(
    conn: &Connection,
    scope: &str,
    key: &str,
    response: &str,
    wall: DateTime<Utc>,
) -> StoreResult<()> {
    let found: Option<(String, String)> = conn
        .prepare_cached(
            "SELECT expires, claimed_wall FROM idempotency WHERE scope = ?1 AND key = ?2",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![scope, key], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(sql)?;
    let Some((expires, claimed_wall)) = found else {
        return Err(StoreError::NotFound {
            what: format!("idempotency claim {scope}/{key}"),
        });
    };

    // Keep the response for the full ttl after the work ended, not after it began.
    let took =
        (wall - time(&claimed_wall, "an idempotency claim time")?).max(chrono::TimeDelta::zero());
    let expires = time(&expires, "an idempotency expiry")?;
    let expires = expires.checked_add_signed(took).unwrap_or(expires);
    conn.prepare_cached(
        "UPDATE idempotency SET response = ?3, expires = ?4 WHERE scope = ?1 AND key = ?2",
    )
    .and_then(|mut stmt| stmt.execute(params![scope, key, response, time_text(expires)]))
    .map_err(sql)?;
    Ok(())
}

pub(super) fn insert_audit(conn: &Connection, events: &[AuditEvent]) -> StoreResult<()> {
    for event in events {
        let doc = encode(event, "audit event")?;
        conn.prepare_cached("INSERT INTO audit (mailbox, doc) VALUES (?1, ?2)")
            .and_then(|mut stmt| stmt.execute(params![event.mailbox, doc]))
            .map_err(sql)?;
    }
    Ok(())
}

pub(super) fn list_audit(
    conn: &Connection,
    mailbox: &str,
    after: Option<&str>,
    limit: usize,
) -> StoreResult<Page<AuditEvent>> {
    let after = match after {
        None => 0,
        Some(token) => token.parse::<i64>().map_err(|_| StoreError::Invalid {
            field: "after",
            reason: "is not a page token of this store".to_owned(),
        })?,
    };
    let count = fetch_count(limit)?;
    let rows: Vec<(i64, String)> = conn
        .prepare_cached(
            "SELECT seq, doc FROM audit WHERE mailbox = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_map(params![mailbox, after, count], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?
            .collect()
        })
        .map_err(sql)?;

    let more = rows.len() > limit;
    let rows = &rows[..rows.len().min(limit)];
    let next = more
        .then(|| rows.last().map(|(seq, _)| seq.to_string()))
        .flatten();
    let items = rows
        .iter()
        .map(|(_, doc)| decode(doc, "an audit event"))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page { items, next })
}
