//! Per-folder sync state: cursors, links, and the commit that changes them together.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::errors::{is_unique_violation, sql};
use super::values::{after_clause, decode, encode, fetch_count, int, page};
use super::{coordination, records};
use crate::error::StoreError;
use crate::model::{Commit, Cursor, Folder, Link, LinkChange, Page};
use crate::state::StoreResult;

/// How many commit ids per folder are remembered to recognise a retry. A sync run retries
/// a commit right after it failed to hear the answer, so a handful would do.
// LIMIT: an older commit retried after more than this many others is recognised only by
// the records it wrote (their last_commit), so its other parts would be applied again.
const REMEMBERED_COMMITS: u64 = 64;

/// The folder's cursor; the default one before anything was committed.
pub(super) fn cursor(conn: &Connection, mailbox: &str, folder: Folder) -> StoreResult<Cursor> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM cursors WHERE mailbox = ?1 AND folder = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![mailbox, folder.as_str()], |row| row.get(0))
                .optional()
        })
        .map_err(sql)?;
    doc.map_or_else(|| Ok(Cursor::default()), |doc| decode(&doc, "a cursor"))
}

fn store_cursor(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    cursor: &Cursor,
) -> StoreResult<()> {
    let doc = encode(cursor, "cursor")?;
    conn.prepare_cached(
        "INSERT INTO cursors (mailbox, folder, doc) VALUES (?1, ?2, ?3)
         ON CONFLICT (mailbox, folder) DO UPDATE SET doc = excluded.doc",
    )
    .and_then(|mut stmt| stmt.execute(params![mailbox, folder.as_str(), doc]))
    .map_err(sql)?;
    Ok(())
}

pub(super) fn link_by_crm_id(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    crm_id: &str,
) -> StoreResult<Option<Link>> {
    link_where(conn, "crm_id", mailbox, folder, crm_id)
}

pub(super) fn link_by_item_id(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    item_id: &str,
) -> StoreResult<Option<Link>> {
    link_where(conn, "item_id", mailbox, folder, item_id)
}

fn link_where(
    conn: &Connection,
    column: &str,
    mailbox: &str,
    folder: Folder,
    id: &str,
) -> StoreResult<Option<Link>> {
    let query =
        format!("SELECT doc FROM links WHERE mailbox = ?1 AND folder = ?2 AND {column} = ?3");
    let doc: Option<String> = conn
        .prepare_cached(&query)
        .and_then(|mut stmt| {
            stmt.query_row(params![mailbox, folder.as_str(), id], |row| row.get(0))
                .optional()
        })
        .map_err(sql)?;
    doc.map(|doc| decode(&doc, "a link")).transpose()
}

pub(super) fn list_links(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    after: Option<&str>,
    limit: usize,
) -> StoreResult<Page<Link>> {
    let count = fetch_count(limit)?;
    let query = format!(
        "SELECT doc FROM links WHERE mailbox = ?1 AND folder = ?2 AND {}
         ORDER BY crm_id LIMIT ?4",
        after_clause(after, "crm_id", 3)
    );
    let docs: Vec<String> = conn
        .prepare_cached(&query)
        .and_then(|mut stmt| {
            stmt.query_map(params![mailbox, folder.as_str(), after, count], |row| {
                row.get(0)
            })?
            .collect()
        })
        .map_err(sql)?;
    let links = docs
        .iter()
        .map(|doc| decode::<Link>(doc, "a link"))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(page(links, limit, |l| l.crm_id.clone()))
}

/// Applies a commit inside the caller's transaction; any error leaves the transaction to
/// be rolled back, so nothing of it is kept.
pub(super) fn commit(
    conn: &Connection,
    commit: &Commit,
    now: DateTime<Utc>,
) -> StoreResult<Cursor> {
    refuse_repeated_records(commit)?;
    coordination::check_lease(conn, &commit.lease, now)?;
    let (mailbox, folder) = (commit.mailbox.as_str(), commit.folder);
    let mut cursor = cursor(conn, mailbox, folder)?;
    if already_applied(conn, commit)? {
        return Ok(cursor);
    }

    for write in &commit.records {
        let position = cursor
            .feed_seq
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt {
                detail: "the change feed has run out of positions".to_owned(),
            })?;
        if records::mailbox_write(conn, commit, write, position, now)? {
            cursor.feed_seq = position;
        }
    }
    for change in &commit.links {
        apply_link(conn, mailbox, folder, change)?;
    }
    for (crm_id, version) in &commit.outbox_done {
        records::outbox_done(conn, mailbox, folder, crm_id, *version)?;
    }
    for (crm_id, error) in &commit.outbox_failed {
        records::outbox_failed(conn, mailbox, folder, crm_id, error)?;
    }
    coordination::insert_audit(conn, &commit.audit)?;

    if let Some((sync_state, enumerated)) = &commit.cursor {
        cursor.sync_state.clone_from(sync_state);
        cursor.enumerated = *enumerated;
    }
    cursor.version += 1;
    store_cursor(conn, mailbox, folder, &cursor)?;
    remember(conn, commit, cursor.version)?;
    Ok(cursor)
}

/// Two writes of one record in one commit would need two feed positions for one record;
/// the engine never sends them, so they are refused rather than guessed at.
fn refuse_repeated_records(commit: &Commit) -> StoreResult<()> {
    let mut seen = HashSet::new();
    match commit
        .records
        .iter()
        .find(|w| !seen.insert(w.crm_id.as_str()))
    {
        Some(repeated) => Err(StoreError::Invalid {
            field: "records",
            reason: format!("record {} is written twice in one commit", repeated.crm_id),
        }),
        None => Ok(()),
    }
}

fn already_applied(conn: &Connection, commit: &Commit) -> StoreResult<bool> {
    let found: Option<i64> = conn
        .prepare_cached(
            "SELECT 1 FROM applied_commits WHERE mailbox = ?1 AND folder = ?2 AND id = ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(
                params![commit.mailbox, commit.folder.as_str(), commit.id],
                |row| row.get(0),
            )
            .optional()
        })
        .map_err(sql)?;
    Ok(found.is_some())
}

fn remember(conn: &Connection, commit: &Commit, cursor_version: u64) -> StoreResult<()> {
    let (mailbox, folder) = (commit.mailbox.as_str(), commit.folder.as_str());
    let version = int(cursor_version, "cursor version")?;
    let oldest_kept = int(
        cursor_version.saturating_sub(REMEMBERED_COMMITS),
        "cursor version",
    )?;
    conn.prepare_cached(
        "INSERT INTO applied_commits (mailbox, folder, id, cursor_version) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![mailbox, folder, commit.id, version]))
    .map_err(sql)?;
    conn.prepare_cached(
        "DELETE FROM applied_commits WHERE mailbox = ?1 AND folder = ?2 AND cursor_version <= ?3",
    )
    .and_then(|mut stmt| stmt.execute(params![mailbox, folder, oldest_kept]))
    .map_err(sql)?;
    Ok(())
}

fn apply_link(
    conn: &Connection,
    mailbox: &str,
    folder: Folder,
    change: &LinkChange,
) -> StoreResult<()> {
    match change {
        LinkChange::Put(link) => {
            let doc = encode(link, "link")?;
            // Not INSERT OR REPLACE: that would silently drop another record's link to the
            // same item instead of reporting the clash.
            let put = conn
                .prepare_cached(
                    "INSERT INTO links (mailbox, folder, crm_id, item_id, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (mailbox, folder, crm_id)
                     DO UPDATE SET item_id = excluded.item_id, doc = excluded.doc",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        mailbox,
                        folder.as_str(),
                        link.crm_id,
                        link.item_id,
                        doc
                    ])
                });
            match put {
                Ok(_) => Ok(()),
                Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict {
                    what: format!("link of item {} (linked to another record)", link.item_id),
                    expected: None,
                }),
                Err(e) => Err(sql(e)),
            }
        }
        LinkChange::Delete(crm_id) => {
            conn.prepare_cached(
                "DELETE FROM links WHERE mailbox = ?1 AND folder = ?2 AND crm_id = ?3",
            )
            .and_then(|mut stmt| stmt.execute(params![mailbox, folder.as_str(), crm_id]))
            .map_err(sql)?;
            Ok(())
        }
    }
}

/// Forgets the folder's delta cursor and links. The feed position stays: positions are
/// never handed out twice, so a feed reader's remembered position stays valid.
pub(super) fn reset_folder(conn: &Connection, mailbox: &str, folder: Folder) -> StoreResult<()> {
    let mut cursor = cursor(conn, mailbox, folder)?;
    if cursor != Cursor::default() {
        cursor.sync_state = None;
        cursor.enumerated = false;
        cursor.version += 1;
        store_cursor(conn, mailbox, folder, &cursor)?;
    }
    conn.prepare_cached("DELETE FROM links WHERE mailbox = ?1 AND folder = ?2")
        .and_then(|mut stmt| stmt.execute(params![mailbox, folder.as_str()]))
        .map_err(sql)?;
    Ok(())
}
