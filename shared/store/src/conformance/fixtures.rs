//! Values and small steps the cases share.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

use super::Failure;
use crate::model::{
    AuditEvent, Commit, CrmRecord, Cursor, Folder, Lease, Link, Mailbox, MailboxStatus,
    OutboxEntry, Page, RecordWrite, Tenant, TenantStatus,
};
use crate::state::{StateStore, StoreResult};

/// Strings that break naive quoting, pattern matching or byte handling.
pub(crate) const HOSTILE: [&str; 10] = [
    "o'brien",
    "say \"hi\"",
    "50%_off",
    "back\\slash",
    "'; DROP TABLE tenants; --",
    "ünïcödé",
    "日本語",
    "emoji 😀 𝄞",
    "tab\tnew\nline",
    "  spaced  ",
];

/// A fixed instant with whole milliseconds, so any backend's time precision holds it.
pub(crate) fn instant(day: u32, millis: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, day, 10, 30, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
        + Duration::from_millis(u64::from(millis))
}

pub(crate) fn tenant(id: &str) -> Tenant {
    Tenant {
        id: id.to_owned(),
        name: format!("Tenant {id}"),
        client_id: "6f1c2d3e-0000-4000-8000-000000000001".to_owned(),
        secret_expires: Some(instant(1, 250)),
        status: TenantStatus::Active,
        status_reason: None,
        authority: Some("http://127.0.0.1:9/".to_owned()),
        ews_endpoint: None,
        api_key_hashes: vec!["sha256:aa".to_owned(), "sha256:bb".to_owned()],
        version: 0,
    }
}

pub(crate) fn mailbox(address: &str, tenant: &str) -> Mailbox {
    Mailbox {
        address: address.to_owned(),
        tenant: tenant.to_owned(),
        status: MailboxStatus::Active,
        attention: None,
        last_sync: Some(instant(2, 5)),
        last_error: None,
        back_off_until: None,
        braked: None,
        deletes_go_ahead: None,
        version: 0,
    }
}

pub(crate) fn link(crm_id: &str, item_id: &str) -> Link {
    Link {
        crm_id: crm_id.to_owned(),
        item_id: item_id.to_owned(),
        change_key: format!("ck-{item_id}"),
        content_hash: format!("hash-{crm_id}"),
        crm_version: 1,
        base: Some(format!("{{\"base\":\"{crm_id}\"}}")),
        unconfirmed: false,
    }
}

pub(crate) fn data(text: &str) -> String {
    serde_json::json!({ "text": text }).to_string()
}

pub(crate) fn write(crm_id: &str, expected: Option<u64>, text: Option<&str>) -> RecordWrite {
    RecordWrite {
        crm_id: crm_id.to_owned(),
        expected,
        data: text.map(data),
    }
}

pub(crate) fn event(mailbox: &str, n: u32) -> AuditEvent {
    AuditEvent {
        mailbox: mailbox.to_owned(),
        at: instant(3, n),
        actor: "sync".to_owned(),
        action: "crm.update".to_owned(),
        subject: format!("crm-{n}"),
        detail: serde_json::json!({ "n": n }).to_string(),
    }
}

/// A commit that changes nothing yet; cases fill in what they test.
pub(crate) fn commit(mailbox: &str, folder: Folder, id: &str, lease: &Lease) -> Commit {
    Commit {
        mailbox: mailbox.to_owned(),
        folder,
        id: id.to_owned(),
        lease: lease.clone(),
        cursor: None,
        records: Vec::new(),
        links: Vec::new(),
        outbox_done: Vec::new(),
        outbox_failed: Vec::new(),
        audit: Vec::new(),
    }
}

/// The lease a sync run of this folder holds, valid for ten minutes of real time (commits
/// check leases against the store's clock).
pub(crate) async fn sync_lease<S: StateStore>(
    store: &S,
    mailbox: &str,
    folder: Folder,
) -> Result<Lease, Failure> {
    let key = format!("sync/{mailbox}/{folder}");
    let lease = store
        .acquire_lease(&key, "runner-a", Duration::from_mins(10), Utc::now())
        .await?;
    lease.ok_or_else(|| Failure::at(file!(), line!(), &format!("lease {key} not granted")))
}

/// Follows `next` from the first page to the last, checking each page against `limit`;
/// returns the pages.
pub(crate) async fn pages<T>(
    limit: usize,
    mut fetch: impl AsyncFnMut(Option<String>) -> StoreResult<Page<T>>,
) -> Result<Vec<Vec<T>>, Failure> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = fetch(after).await?;
        if page.items.len() > limit {
            return Err(Failure::at(
                file!(),
                line!(),
                &format!(
                    "page {} holds {} items, limit {limit}",
                    pages.len(),
                    page.items.len()
                ),
            ));
        }
        pages.push(page.items);
        // An empty page that names a next one is allowed: a backend may stop early.
        match page.next {
            None => return Ok(pages),
            Some(_) if pages.len() > 1000 => {
                return Err(Failure::at(file!(), line!(), "paging never ends"));
            }
            next => after = next,
        }
    }
}

/// Every item of every page, in order.
pub(crate) async fn all<T>(
    limit: usize,
    fetch: impl AsyncFnMut(Option<String>) -> StoreResult<Page<T>>,
) -> Result<Vec<T>, Failure> {
    Ok(pages(limit, fetch).await?.into_iter().flatten().collect())
}

/// Everything a failed commit must not have touched.
#[derive(Debug, PartialEq)]
pub(crate) struct Snapshot {
    pub(crate) cursor: Cursor,
    pub(crate) records: Vec<CrmRecord>,
    pub(crate) links: Vec<Link>,
    pub(crate) outbox: Vec<OutboxEntry>,
    pub(crate) audit: Vec<AuditEvent>,
}

/// Reads everything a folder holds.
pub(crate) async fn snapshot<S: StateStore>(
    store: &S,
    mailbox: &str,
    folder: Folder,
) -> Result<Snapshot, Failure> {
    Ok(Snapshot {
        cursor: store.get_cursor(mailbox, folder).await?,
        records: all(100, async |after| {
            store
                .list_records(mailbox, folder, after.as_deref(), 100)
                .await
        })
        .await?,
        links: all(100, async |after| {
            store
                .list_links(mailbox, folder, after.as_deref(), 100)
                .await
        })
        .await?,
        outbox: store.list_outbox(mailbox, folder, 100).await?,
        audit: all(100, async |after| {
            store.list_audit(mailbox, after.as_deref(), 100).await
        })
        .await?,
    })
}
