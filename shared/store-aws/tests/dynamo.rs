//! `DynamoStateStore` on moto: what the shared conformance suite cannot see, such as
//! commits larger than one transaction, the state an interrupted chunked commit leaves, lease
//! fencing across owners, and how `DynamoDB`'s failures are reported.

#![allow(clippy::unwrap_used)]

mod moto;

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use mailbridge_store::{
    AuditEvent, Commit, Expect, Folder, Lease, Link, LinkChange, RecordWrite, StateStore,
    StoreError, Tenant, TenantStatus,
};
use mailbridge_store_aws::DynamoStateStore;

const MB: &str = "agent@brokerage.example";

fn tenant(id: &str) -> Tenant {
    Tenant {
        id: id.to_owned(),
        name: "Brokerage".to_owned(),
        client_id: "6f1c2d3e-0000-4000-8000-000000000001".to_owned(),
        secret_expires: None,
        status: TenantStatus::Active,
        status_reason: None,
        authority: None,
        ews_endpoint: None,
        api_key_hashes: Vec::new(),
        version: 0,
    }
}

fn commit(id: &str, lease: &Lease, records: usize) -> Commit {
    Commit {
        mailbox: MB.to_owned(),
        folder: Folder::Contacts,
        id: id.to_owned(),
        lease: lease.clone(),
        cursor: Some((Some(format!("state-after-{id}")), true)),
        records: (0..records)
            .map(|n| RecordWrite {
                crm_id: format!("crm-{n:04}"),
                expected: None,
                data: Some(format!("{{\"n\":{n}}}")),
            })
            .collect(),
        links: (0..records)
            .map(|n| {
                LinkChange::Put(Link {
                    crm_id: format!("crm-{n:04}"),
                    item_id: format!("item-{n:04}"),
                    change_key: "ck-1".to_owned(),
                    content_hash: format!("hash-{n}"),
                    crm_version: 1,
                    base: None,
                    unconfirmed: false,
                })
            })
            .collect(),
        outbox_done: Vec::new(),
        outbox_failed: Vec::new(),
        audit: Vec::new(),
    }
}

async fn lease(store: &DynamoStateStore, owner: &str) -> Lease {
    let key = format!("sync/{MB}/contacts");
    let lease = store
        .acquire_lease(&key, owner, Duration::from_mins(10), Utc::now())
        .await
        .unwrap();
    lease.unwrap()
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_and_changes_nothing() {
    let store = moto::state_store().await;
    let mut t = tenant("t-1");
    assert_eq!(store.put_tenant(&t, Expect::Absent).await.unwrap(), 1);
    t.name = "renamed".to_owned();
    assert_eq!(store.put_tenant(&t, Expect::Version(1)).await.unwrap(), 2);

    t.name = "stale".to_owned();
    let err = store.put_tenant(&t, Expect::Version(1)).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    let kept = store.get_tenant("t-1").await.unwrap().unwrap();
    assert_eq!((kept.name.as_str(), kept.version), ("renamed", 2));
}

#[tokio::test]
async fn a_commit_larger_than_one_transaction_is_applied_whole() {
    let store = moto::state_store().await;
    let lease = lease(&store, "runner-a").await;

    // 150 records, 150 links and 3 audit events: 305 actions with the cursor and the lease
    // checks, so three transactions.
    let mut big = commit("big", &lease, 150);
    big.audit = (0..3)
        .map(|n| AuditEvent {
            mailbox: MB.to_owned(),
            at: Utc::now(),
            actor: "sync".to_owned(),
            action: "mailbox.create".to_owned(),
            subject: format!("crm-{n:04}"),
            detail: "{}".to_owned(),
        })
        .collect();
    let cursor = store.commit(&big).await.unwrap();
    assert_eq!(cursor.feed_seq, 150);
    assert_eq!(cursor.sync_state.as_deref(), Some("state-after-big"));

    let feed = store.read_feed(MB, Folder::Contacts, 0, 500).await.unwrap();
    assert_eq!(feed.len(), 150);
    let seqs: Vec<u64> = feed.iter().filter_map(|r| r.feed_seq).collect();
    assert_eq!(seqs, (1..=150).collect::<Vec<u64>>());
    let link = store
        .link_by_item_id(MB, Folder::Contacts, "item-0149")
        .await
        .unwrap();
    assert_eq!(link.map(|l| l.crm_id), Some("crm-0149".to_owned()));

    // Retried after success: nothing moves.
    let again = store.commit(&big).await.unwrap();
    assert_eq!(again, cursor);
    let audit = store.list_audit(MB, None, 100).await.unwrap();
    assert_eq!(audit.items, big.audit);
    let record = store
        .get_record(MB, Folder::Contacts, "crm-0000")
        .await
        .unwrap();
    assert_eq!(record.map(|r| r.version), Some(1));
}

/// Writes what the first transaction of commit `id` leaves when the run dies right after
/// it: the first `count` record items (layout in `infra/dynamodb.md`), and no cursor.
async fn first_chunk_only(store: &DynamoStateStore, id: &str, count: usize) {
    let config = moto::config_for(moto::url()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    for n in 0..count {
        let seq = n as u64 + 1;
        let s = |v: String| AttributeValue::S(v);
        client
            .put_item()
            .table_name(store.table())
            .item("pk", s(format!("f#{MB}#contacts")))
            .item("sk", s(format!("rec#crm-{n:04}")))
            .item("lsk", s(format!("feed#{seq:020}")))
            .item("crm_id", s(format!("crm-{n:04}")))
            .item("version", AttributeValue::N("1".to_owned()))
            .item("data", s(format!("{{\"n\":{n}}}")))
            .item("origin", s("mailbox".to_owned()))
            .item("feed_seq", AttributeValue::N(seq.to_string()))
            .item("updated", s("2027-03-01T10:30:00.000000000Z".to_owned()))
            .item("last_commit", s(id.to_owned()))
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn an_interrupted_commit_stays_out_of_the_feed_and_its_retry_completes_it_once() {
    let store = moto::state_store().await;
    let lease = lease(&store, "runner-a").await;
    first_chunk_only(&store, "interrupted", 99).await;

    // Readers of the feed see nothing beyond the cursor, which has not moved.
    assert!(
        store
            .read_feed(MB, Folder::Contacts, 0, 500)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .get_cursor(MB, Folder::Contacts)
            .await
            .unwrap()
            .feed_seq,
        0
    );

    // Another commit may not overwrite the half-written records...
    let mut other = commit("other", &lease, 1);
    other.links.clear();
    let err = store.commit(&other).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { expected: None, .. }),
        "{err:?}"
    );

    // ...but the retry of the same commit rewrites them and finishes.
    let cursor = store
        .commit(&commit("interrupted", &lease, 150))
        .await
        .unwrap();
    assert_eq!(cursor.feed_seq, 150);
    let feed = store.read_feed(MB, Folder::Contacts, 0, 500).await.unwrap();
    assert_eq!(feed.len(), 150);
    assert!(
        feed.iter().all(|r| r.version == 1),
        "retried writes bumped a version"
    );
}

#[tokio::test]
async fn a_crm_write_between_attempts_makes_the_retry_conflict() {
    let store = moto::state_store().await;
    let lease = lease(&store, "runner-a").await;
    first_chunk_only(&store, "interrupted", 3).await;
    store
        .crm_write(
            MB,
            Folder::Contacts,
            "crm-0001",
            Expect::Version(1),
            Some("{}"),
        )
        .await
        .unwrap();

    let err = store
        .commit(&commit("interrupted", &lease, 5))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let record = store
        .get_record(MB, Folder::Contacts, "crm-0001")
        .await
        .unwrap();
    assert_eq!(
        record.map(|r| (r.version, r.data)),
        Some((2, Some("{}".to_owned())))
    );
}

#[tokio::test]
async fn a_lease_taken_over_fences_off_its_old_holder() {
    let store = moto::state_store().await;
    let key = "sync/fenced@example.com/contacts";
    let now = Utc::now();
    let ttl = Duration::from_mins(1);

    let a = store
        .acquire_lease(key, "runner-a", ttl, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.token, 1);
    assert_eq!(
        store
            .acquire_lease(key, "runner-b", ttl, now)
            .await
            .unwrap(),
        None
    );

    let later = now + chrono::TimeDelta::seconds(61);
    let b = store
        .acquire_lease(key, "runner-b", ttl, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.token, 2);

    let renewed = store.renew_lease(&a, ttl, later).await;
    assert!(
        matches!(renewed, Err(StoreError::LeaseLost { .. })),
        "{renewed:?}"
    );
    let mut stale = commit("from-a", &a, 1);
    stale.mailbox = "fenced@example.com".to_owned();
    let committed = store.commit(&stale).await;
    assert!(
        matches!(committed, Err(StoreError::LeaseLost { .. })),
        "{committed:?}"
    );
    assert_eq!(
        store
            .get_cursor("fenced@example.com", Folder::Contacts)
            .await
            .unwrap()
            .version,
        0
    );

    // A's release does not free B's lease; B's does, and the token keeps growing.
    store.release_lease(&a).await.unwrap();
    assert_eq!(
        store
            .acquire_lease(key, "runner-a", ttl, later)
            .await
            .unwrap(),
        None
    );
    store.release_lease(&b).await.unwrap();
    let again = store
        .acquire_lease(key, "runner-a", ttl, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.token, 3);
}

#[tokio::test]
async fn an_undecodable_item_is_corrupt() {
    let store = moto::state_store().await;
    let config = moto::config_for(moto::url()).await;
    aws_sdk_dynamodb::Client::new(&config)
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S("tenants".to_owned()))
        .item("sk", AttributeValue::S("t-bad".to_owned()))
        .item("doc", AttributeValue::S("{not json".to_owned()))
        .item("version", AttributeValue::N("1".to_owned()))
        .send()
        .await
        .unwrap();

    let err = store.get_tenant("t-bad").await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_missing_table_or_an_unreachable_endpoint_is_unavailable() {
    let config = moto::config_for(moto::url()).await;
    let missing = DynamoStateStore::new(aws_sdk_dynamodb::Client::new(&config), "no-such-table");
    let err = missing.get_tenant("t-1").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");

    // Nothing listens on port 9 of the loopback; one attempt, no retries.
    let config = moto::config_for("http://127.0.0.1:9").await;
    let config = aws_sdk_dynamodb::config::Builder::from(&config)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    let offline = DynamoStateStore::new(aws_sdk_dynamodb::Client::from_conf(config), "t");
    let err = offline
        .put_tenant(&tenant("t-1"), Expect::Any)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn create_table_turns_ttl_on_and_is_harmless_when_repeated() {
    let store = moto::state_store().await;
    store
        .put_tenant(&tenant("t-1"), Expect::Absent)
        .await
        .unwrap();
    store.create_table().await.unwrap();
    assert!(store.get_tenant("t-1").await.unwrap().is_some());

    let config = moto::config_for(moto::url()).await;
    let ttl = aws_sdk_dynamodb::Client::new(&config)
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some("ttl"));
}

#[tokio::test]
async fn leases_and_idempotency_records_carry_a_ttl_after_they_lapse() {
    let store = moto::state_store().await;
    let now = Utc::now();
    store
        .acquire_lease("sync/x", "runner-a", Duration::from_mins(1), now)
        .await
        .unwrap()
        .unwrap();
    store
        .begin_idempotent("send", "key-1", "hash", Duration::from_hours(1), now)
        .await
        .unwrap();

    let config = moto::config_for(moto::url()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let ttl_of = async |pk: &str, sk: &str| {
        let item = client
            .get_item()
            .table_name(store.table())
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        item["ttl"].as_n().unwrap().parse::<i64>().unwrap()
    };
    // A lease item outlives its lease by a day, so its fencing token keeps growing.
    assert_eq!(
        ttl_of("lease#sync/x", "lease").await,
        now.timestamp() + 60 + 86_400
    );
    assert_eq!(
        ttl_of("idem#send#key-1", "idem").await,
        now.timestamp() + 3_600
    );
}
