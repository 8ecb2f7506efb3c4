//! Tenants and mailboxes.

use rusqlite::{Connection, OptionalExtension, params};

use super::errors::sql;
use super::values::{after_clause, decode, encode, fetch_count, int, page, uint};
use crate::error::StoreError;
use crate::model::{Expect, Mailbox, Page, Tenant, Version};
use crate::state::StoreResult;

/// The version the optimistic check needs, then the new version, or the conflict.
fn next_version(current: Option<Version>, expect: Expect, what: String) -> StoreResult<Version> {
    if !expect.allows(current) {
        return Err(StoreError::Conflict {
            what,
            expected: expect.expected(),
        });
    }
    Ok(current.map_or(1, |v| v + 1))
}

fn stored_version(conn: &Connection, sql_text: &str, key: &str) -> StoreResult<Option<Version>> {
    let version: Option<i64> = conn
        .prepare_cached(sql_text)
        .and_then(|mut stmt| stmt.query_row([key], |row| row.get(0)).optional())
        .map_err(sql)?;
    version.map(|v| uint(v, "a version")).transpose()
}

pub(super) fn put_tenant(
    conn: &Connection,
    tenant: &Tenant,
    expect: Expect,
) -> StoreResult<Version> {
    let current = stored_version(
        conn,
        "SELECT version FROM tenants WHERE id = ?1",
        &tenant.id,
    )?;
    let version = next_version(current, expect, format!("tenant {}", tenant.id))?;

    let mut stored = tenant.clone();
    stored.version = version;
    let (version_col, doc) = (int(version, "version")?, encode(&stored, "tenant")?);
    conn.prepare_cached(
        "INSERT INTO tenants (id, version, doc) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, doc = excluded.doc",
    )
    .and_then(|mut stmt| stmt.execute(params![tenant.id, version_col, doc]))
    .map_err(sql)?;
    Ok(version)
}

pub(super) fn get_tenant(conn: &Connection, id: &str) -> StoreResult<Option<Tenant>> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM tenants WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([id], |row| row.get(0)).optional())
        .map_err(sql)?;
    doc.map(|doc| decode(&doc, "a tenant")).transpose()
}

pub(super) fn list_tenants(
    conn: &Connection,
    after: Option<&str>,
    limit: usize,
) -> StoreResult<Page<Tenant>> {
    let count = fetch_count(limit)?;
    let query = format!(
        "SELECT doc FROM tenants WHERE {} ORDER BY id LIMIT ?2",
        after_clause(after, "id", 1)
    );
    let docs: Vec<String> = conn
        .prepare_cached(&query)
        .and_then(|mut stmt| {
            stmt.query_map(params![after, count], |row| row.get(0))?
                .collect()
        })
        .map_err(sql)?;
    let tenants = docs
        .iter()
        .map(|doc| decode::<Tenant>(doc, "a tenant"))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(page(tenants, limit, |t| t.id.clone()))
}

pub(super) fn put_mailbox(
    conn: &Connection,
    mailbox: &Mailbox,
    expect: Expect,
) -> StoreResult<Version> {
    let current = stored_version(
        conn,
        "SELECT version FROM mailboxes WHERE address = ?1",
        &mailbox.address,
    )?;
    let version = next_version(current, expect, format!("mailbox {}", mailbox.address))?;

    let mut stored = mailbox.clone();
    stored.version = version;
    let (version_col, doc) = (int(version, "version")?, encode(&stored, "mailbox")?);
    conn.prepare_cached(
        "INSERT INTO mailboxes (address, tenant, version, doc) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (address) DO UPDATE
         SET tenant = excluded.tenant, version = excluded.version, doc = excluded.doc",
    )
    .and_then(|mut stmt| stmt.execute(params![mailbox.address, mailbox.tenant, version_col, doc]))
    .map_err(sql)?;
    Ok(version)
}

pub(super) fn get_mailbox(conn: &Connection, address: &str) -> StoreResult<Option<Mailbox>> {
    let doc: Option<String> = conn
        .prepare_cached("SELECT doc FROM mailboxes WHERE address = ?1")
        .and_then(|mut stmt| stmt.query_row([address], |row| row.get(0)).optional())
        .map_err(sql)?;
    doc.map(|doc| decode(&doc, "a mailbox")).transpose()
}

pub(super) fn list_mailboxes(
    conn: &Connection,
    tenant: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> StoreResult<Page<Mailbox>> {
    let count = fetch_count(limit)?;
    let of_tenant = if tenant.is_some() {
        "tenant = ?1"
    } else {
        "?1 IS NULL"
    };
    let query = format!(
        "SELECT doc FROM mailboxes WHERE {of_tenant} AND {} ORDER BY address LIMIT ?3",
        after_clause(after, "address", 2)
    );
    let docs: Vec<String> = conn
        .prepare_cached(&query)
        .and_then(|mut stmt| {
            stmt.query_map(params![tenant, after, count], |row| row.get(0))?
                .collect()
        })
        .map_err(sql)?;
    let mailboxes = docs
        .iter()
        .map(|doc| decode::<Mailbox>(doc, "a mailbox"))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(page(mailboxes, limit, |m| m.address.clone()))
}
