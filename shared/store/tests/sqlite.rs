//! The `SQLite` store: the shared conformance suite in memory and on disk, and schema
//! migrations.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use mailbridge_store::conformance::state_store_suite;
use mailbridge_store::sqlite::SCHEMA_VERSION;
use mailbridge_store::{
    Commit, Expect, Folder, Lease, Link, LinkChange, RecordWrite, SqliteStore, StateStore,
    StoreError, Tenant, TenantStatus,
};

#[tokio::test]
async fn in_memory_store_passes_the_conformance_suite() {
    state_store_suite(async || SqliteStore::in_memory().unwrap()).await;
}

#[tokio::test]
async fn file_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    state_store_suite(async || {
        let file = dir
            .path()
            .join(format!("state-{}.db", n.fetch_add(1, Ordering::Relaxed)));
        SqliteStore::open(file).unwrap()
    })
    .await;
}

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: id.to_owned(),
        name: "Contoso".to_owned(),
        client_id: "client".to_owned(),
        secret_expires: None,
        status: TenantStatus::Active,
        status_reason: None,
        authority: None,
        ews_endpoint: None,
        api_key_hashes: Vec::new(),
        version: 0,
    }
}

async fn lease(store: &SqliteStore) -> Lease {
    store
        .acquire_lease(
            "sync/a@example.com/contacts",
            "runner",
            Duration::from_mins(10),
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap()
}

fn commit(id: &str, lease: &Lease) -> Commit {
    Commit {
        mailbox: "a@example.com".to_owned(),
        folder: Folder::Contacts,
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

fn user_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_reopened_file_keeps_its_state_and_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .put_tenant(&tenant("t-1"), Expect::Absent)
            .await
            .unwrap();
        let lease = lease(&store).await;
        let mut c = commit("c1", &lease);
        c.cursor = Some((Some("state-1".to_owned()), true));
        store.commit(&c).await.unwrap();
    }
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.get_tenant("t-1").await.unwrap().unwrap().version, 1);
    let cursor = store
        .get_cursor("a@example.com", Folder::Contacts)
        .await
        .unwrap();
    assert_eq!(cursor.sync_state.as_deref(), Some("state-1"));
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
}

#[test]
fn a_state_file_is_opened_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let _store = SqliteStore::open(&path).unwrap();
    // WAL is a property of the file, so a second connection sees what the store set.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// A file written by the first release (schema version 1, before the spool table) is
/// brought to the current version on open, keeping what it held.
#[tokio::test]
async fn a_version_1_database_is_migrated_forward_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .put_tenant(&tenant("t-1"), Expect::Absent)
            .await
            .unwrap();
    }
    // Take the file back to what version 1 wrote: no spool table, user_version 1.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("DROP INDEX spool_by_expiry; DROP TABLE spool;")
            .unwrap();
        conn.pragma_update(None, "user_version", 1_i64).unwrap();
    }
    assert_eq!(user_version(&path), 1);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    assert_eq!(store.get_tenant("t-1").await.unwrap().unwrap().version, 1);
    let now = Utc::now();
    store
        .put_spool("a@example.com", "k", b"queued", Duration::from_mins(5), now)
        .await
        .unwrap();
    assert_eq!(
        store.get_spool("a@example.com", "k", now).await.unwrap(),
        b"queued"
    );
}

#[test]
fn a_database_from_a_newer_mailbridge_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", i64::from(SCHEMA_VERSION) + 1)
        .unwrap();
    drop(conn);

    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Invalid {
                field: "schema_version",
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("newer mailbridge"), "{message}");
    assert!(
        message.contains(&(SCHEMA_VERSION + 1).to_string()),
        "{message}"
    );
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION) + 1);
}

#[test]
fn another_programs_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT)")
        .unwrap();
    drop(conn);

    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Invalid {
                field: "database",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(user_version(&path), 0);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
}

#[test]
fn a_file_that_is_not_a_database_is_corrupt_and_a_missing_folder_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");

    let error = SqliteStore::open(dir.path().join("missing/state.db")).unwrap_err();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn undecodable_rows_are_reported_corrupt_not_panicked_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = SqliteStore::open(&path).unwrap();
    store
        .put_tenant(&tenant("t-1"), Expect::Absent)
        .await
        .unwrap();
    store
        .crm_write(
            "a@example.com",
            Folder::Contacts,
            "crm-1",
            Expect::Absent,
            Some("{}"),
        )
        .await
        .unwrap();

    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "UPDATE tenants SET doc = '{\"id\": 7, secret';
         UPDATE records SET origin = 'martians', updated = 'yesterday';",
    )
    .unwrap();
    drop(conn);

    let error = store.get_tenant("t-1").await.unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    assert!(!error.to_string().contains("secret"), "{error}");
    assert!(matches!(
        store.list_tenants(None, 10).await,
        Err(StoreError::Corrupt { .. })
    ));
    let error = store
        .get_record("a@example.com", Folder::Contacts, "crm-1")
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn inputs_the_store_cannot_take_are_refused_and_odd_ones_defined() {
    let store = SqliteStore::in_memory().unwrap();
    let mb = "a@example.com";
    let c = Folder::Contacts;
    for result in [
        store.list_tenants(None, 0).await.map(|_| ()),
        store.list_records(mb, c, None, 0).await.map(|_| ()),
        store.read_feed(mb, c, 0, 0).await.map(|_| ()),
        store.list_outbox(mb, c, 0).await.map(|_| ()),
        store
            .list_audit(mb, Some("not a token"), 10)
            .await
            .map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(StoreError::Invalid { .. })),
            "{result:?}"
        );
    }

    let long = store
        .acquire_lease("k", "runner", Duration::MAX, Utc::now())
        .await;
    assert!(
        matches!(long, Err(StoreError::Invalid { field: "ttl", .. })),
        "{long:?}"
    );
    let mut huge = tenant("t-1");
    huge.version = u64::MAX;
    assert_eq!(store.put_tenant(&huge, Expect::Absent).await.unwrap(), 1);
    let beyond = store
        .put_tenant(&tenant("t-2"), Expect::Version(u64::MAX))
        .await;
    assert!(
        matches!(beyond, Err(StoreError::Conflict { .. })),
        "{beyond:?}"
    );
    assert!(
        store
            .read_feed(mb, c, u64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let lease = lease(&store).await;
    let mut twice = commit("c1", &lease);
    twice.records = vec![write("crm-1"), write("crm-1")];
    let result = store.commit(&twice).await;
    assert!(
        matches!(
            result,
            Err(StoreError::Invalid {
                field: "records",
                ..
            })
        ),
        "{result:?}"
    );

    assert_eq!(
        store
            .crm_write(mb, c, "crm-none", Expect::Any, None)
            .await
            .unwrap(),
        1
    );
    let tombstone = store.get_record(mb, c, "crm-none").await.unwrap().unwrap();
    assert_eq!((tombstone.version, tombstone.data), (1, None));
    let finished = store.finish_idempotent("s", "never-claimed", "{}").await;
    assert!(
        matches!(finished, Err(StoreError::NotFound { .. })),
        "{finished:?}"
    );
}

fn write(crm_id: &str) -> RecordWrite {
    RecordWrite {
        crm_id: crm_id.to_owned(),
        expected: None,
        data: Some("{}".to_owned()),
    }
}

#[tokio::test]
async fn two_records_cannot_link_to_one_item() {
    let store = SqliteStore::in_memory().unwrap();
    let lease = lease(&store).await;
    let link = |crm_id: &str| Link {
        crm_id: crm_id.to_owned(),
        item_id: "item-1".to_owned(),
        change_key: "ck".to_owned(),
        content_hash: "h".to_owned(),
        crm_version: 1,
        base: None,
        unconfirmed: false,
    };
    let mut c1 = commit("c1", &lease);
    c1.links.push(LinkChange::Put(link("crm-1")));
    store.commit(&c1).await.unwrap();

    let mut c2 = commit("c2", &lease);
    c2.records.push(write("crm-2"));
    c2.links.push(LinkChange::Put(link("crm-2")));
    let result = store.commit(&c2).await;
    assert!(
        matches!(result, Err(StoreError::Conflict { .. })),
        "{result:?}"
    );
    assert_eq!(
        store
            .get_record("a@example.com", Folder::Contacts, "crm-2")
            .await
            .unwrap(),
        None
    );

    let mut c3 = commit("c3", &lease);
    c3.links.push(LinkChange::Delete("crm-1".to_owned()));
    c3.links.push(LinkChange::Put(link("crm-2")));
    store.commit(&c3).await.unwrap();
    let found = store
        .link_by_item_id("a@example.com", Folder::Contacts, "item-1")
        .await
        .unwrap();
    assert_eq!(found.map(|l| l.crm_id), Some("crm-2".to_owned()));
}

#[tokio::test]
async fn a_commit_retried_long_after_is_still_recognised_by_its_records() {
    let store = SqliteStore::in_memory().unwrap();
    let lease = lease(&store).await;
    let mut first = commit("c-first", &lease);
    first.records.push(write("crm-1"));
    store.commit(&first).await.unwrap();
    for n in 0..100 {
        store
            .commit(&commit(&format!("c{n}"), &lease))
            .await
            .unwrap();
    }

    let cursor = store.commit(&first).await.unwrap();
    let record = store
        .get_record("a@example.com", Folder::Contacts, "crm-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((record.version, record.feed_seq), (1, Some(1)));
    assert_eq!(cursor.feed_seq, 1);
}
