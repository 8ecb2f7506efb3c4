//! The CRM side: records written by the CRM, the outbox, and the change feed.

use super::fixtures::{HOSTILE, all, commit, data, sync_lease, write};
use super::{Outcome, Runner};
use crate::error::StoreError;
use crate::model::{CrmRecord, Expect, Folder, Origin, OutboxEntry};
use crate::state::StateStore;

const MB: &str = "agent@example.com";
const C: Folder = Folder::Contacts;

pub(super) async fn run<S: StateStore>(runner: &mut Runner, make: &impl AsyncFn() -> S) {
    cases!(
        runner,
        make,
        crm_write_stores_the_record_and_queues_it,
        crm_write_again_updates_the_queued_entry,
        crm_write_expectations_are_checked,
        crm_delete_leaves_a_tombstone_and_queues_it,
        crm_writes_stay_out_of_the_feed,
        records_page_in_crm_id_order_with_tombstones,
        feed_reads_mailbox_changes_after_a_position,
        feed_never_passes_the_committed_position,
        outbox_done_removes_only_the_pushed_version,
        outbox_failed_counts_attempts_and_keeps_the_error,
        outbox_lists_oldest_first_up_to_the_limit,
    );
}

fn entry(crm_id: &str, record_version: u64) -> OutboxEntry {
    OutboxEntry {
        crm_id: crm_id.to_owned(),
        record_version,
        attempts: 0,
        last_error: None,
    }
}

fn ids(records: &[CrmRecord]) -> Vec<&str> {
    records.iter().map(|r| r.crm_id.as_str()).collect()
}

async fn crm_write_stores_the_record_and_queues_it<S: StateStore>(store: &S) -> Outcome {
    let body = r#"{"name":"Ann O'Neil","note":"50% off"}"#;
    let started = chrono::Utc::now() - chrono::Duration::seconds(5);
    check_eq!(
        store
            .crm_write(MB, C, "crm-1", Expect::Absent, Some(body))
            .await?,
        1
    );

    let record = store.get_record(MB, C, "crm-1").await?;
    let Some(record) = record else {
        return Err(super::Failure::at(file!(), line!(), "record not stored"));
    };
    check_eq!(
        (
            record.crm_id.as_str(),
            record.version,
            record.data.as_deref()
        ),
        ("crm-1", 1, Some(body))
    );
    check_eq!((record.origin, record.feed_seq), (Origin::Crm, None));
    check!(
        record.updated >= started,
        "updated {} is too old",
        record.updated
    );

    check_eq!(store.list_outbox(MB, C, 10).await?, [entry("crm-1", 1)]);
    check!(
        store
            .list_outbox(MB, Folder::Calendar, 10)
            .await?
            .is_empty(),
        "wrong folder"
    );
    check!(
        store
            .list_outbox("other@example.com", C, 10)
            .await?
            .is_empty(),
        "wrong mailbox"
    );
    check_eq!(store.get_record(MB, Folder::Calendar, "crm-1").await?, None);
    Ok(())
}

async fn crm_write_again_updates_the_queued_entry<S: StateStore>(store: &S) -> Outcome {
    store
        .crm_write(MB, C, "crm-1", Expect::Absent, Some("{}"))
        .await?;
    let v2 = store
        .crm_write(MB, C, "crm-1", Expect::Version(1), Some(r#"{"v":2}"#))
        .await?;
    check_eq!(v2, 2);
    check_eq!(
        store
            .crm_write(MB, C, "crm-1", Expect::Any, Some(r#"{"v":3}"#))
            .await?,
        3
    );

    check_eq!(store.list_outbox(MB, C, 10).await?, [entry("crm-1", 3)]);
    let record = store.get_record(MB, C, "crm-1").await?;
    check_eq!(record.and_then(|r| r.data), Some(r#"{"v":3}"#.to_owned()));
    Ok(())
}

async fn crm_write_expectations_are_checked<S: StateStore>(store: &S) -> Outcome {
    store
        .crm_write(MB, C, "crm-1", Expect::Absent, Some("{}"))
        .await?;
    check_err!(
        store
            .crm_write(MB, C, "crm-1", Expect::Absent, Some("{}"))
            .await,
        StoreError::Conflict { expected: None, .. }
    );
    check_err!(
        store
            .crm_write(MB, C, "crm-1", Expect::Version(7), Some("{}"))
            .await,
        StoreError::Conflict {
            expected: Some(7),
            ..
        }
    );
    check_err!(
        store
            .crm_write(MB, C, "crm-2", Expect::Version(1), Some("{}"))
            .await,
        StoreError::Conflict {
            expected: Some(1),
            ..
        }
    );

    check_eq!(
        store.get_record(MB, C, "crm-1").await?.map(|r| r.version),
        Some(1)
    );
    check_eq!(store.get_record(MB, C, "crm-2").await?, None);
    check_eq!(store.list_outbox(MB, C, 10).await?, [entry("crm-1", 1)]);
    Ok(())
}

async fn crm_delete_leaves_a_tombstone_and_queues_it<S: StateStore>(store: &S) -> Outcome {
    store
        .crm_write(MB, C, "crm-1", Expect::Absent, Some("{}"))
        .await?;
    check_eq!(
        store
            .crm_write(MB, C, "crm-1", Expect::Version(1), None)
            .await?,
        2
    );

    let record = store.get_record(MB, C, "crm-1").await?;
    check_eq!(
        record.map(|r| (r.version, r.data, r.origin)),
        Some((2, None, Origin::Crm))
    );
    check_eq!(store.list_outbox(MB, C, 10).await?, [entry("crm-1", 2)]);
    check_eq!(store.list_records(MB, C, None, 10).await?.items.len(), 1);

    check_eq!(
        store
            .crm_write(MB, C, "crm-1", Expect::Version(2), Some(r#"{"back":true}"#))
            .await?,
        3
    );
    check_eq!(
        store
            .get_record(MB, C, "crm-1")
            .await?
            .map(|r| r.data.is_some()),
        Some(true)
    );
    Ok(())
}

async fn crm_writes_stay_out_of_the_feed<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    store
        .crm_write(MB, C, "crm-only", Expect::Absent, Some("{}"))
        .await?;
    let mut c1 = commit(MB, C, "c1", &lease);
    c1.records = vec![
        write("crm-a", None, Some("a")),
        write("crm-b", None, Some("b")),
    ];
    store.commit(&c1).await?;
    check_eq!(
        ids(&store.read_feed(MB, C, 0, 10).await?),
        ["crm-a", "crm-b"]
    );

    let cursor = store.get_cursor(MB, C).await?;
    store
        .crm_write(MB, C, "crm-a", Expect::Version(1), Some("{}"))
        .await?;
    check_eq!(ids(&store.read_feed(MB, C, 0, 10).await?), ["crm-b"]);
    check_eq!(store.get_cursor(MB, C).await?.feed_seq, cursor.feed_seq);
    let a = store.get_record(MB, C, "crm-a").await?;
    check_eq!(a.map(|r| (r.version, r.origin)), Some((2, Origin::Crm)));
    Ok(())
}

async fn records_page_in_crm_id_order_with_tombstones<S: StateStore>(store: &S) -> Outcome {
    let mut expected: Vec<&str> = HOSTILE.to_vec();
    for crm_id in &expected {
        store
            .crm_write(MB, C, crm_id, Expect::Absent, Some("{}"))
            .await?;
    }
    store
        .crm_write(MB, C, HOSTILE[3], Expect::Version(1), None)
        .await?;
    store
        .crm_write(MB, Folder::Calendar, "crm-cal", Expect::Absent, Some("{}"))
        .await?;
    expected.sort_unstable();

    for limit in [1, 4, 100] {
        let listed = all(limit, async |after| {
            store.list_records(MB, C, after.as_deref(), limit).await
        })
        .await?;
        check_eq!(ids(&listed), expected);
        let tombstones: Vec<&str> = listed
            .iter()
            .filter(|r| r.data.is_none())
            .map(|r| r.crm_id.as_str())
            .collect();
        check_eq!(tombstones, [HOSTILE[3]]);
    }
    for crm_id in HOSTILE {
        let found = store.get_record(MB, C, crm_id).await?;
        check_eq!(found.map(|r| r.crm_id), Some(crm_id.to_owned()));
    }
    Ok(())
}

async fn feed_reads_mailbox_changes_after_a_position<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    let p = store.get_cursor(MB, C).await?.feed_seq;
    let mut c1 = commit(MB, C, "c1", &lease);
    c1.records = vec![
        write("crm-a", None, Some("a")),
        write("crm-b", None, Some("b")),
        write("crm-c", None, Some("c")),
    ];
    store.commit(&c1).await?;
    let mut c2 = commit(MB, C, "c2", &lease);
    c2.records = vec![write("crm-a", Some(1), Some("a2"))];
    store.commit(&c2).await?;

    let feed = store.read_feed(MB, C, p, 100).await?;
    check_eq!(ids(&feed), ["crm-b", "crm-c", "crm-a"]);
    let positions: Vec<Option<u64>> = feed.iter().map(|r| r.feed_seq).collect();
    check_eq!(positions, [Some(p + 2), Some(p + 3), Some(p + 4)]);
    check_eq!(feed[2].data, Some(data("a2")));
    check_eq!((feed[2].version, feed[2].origin), (2, Origin::Mailbox));

    check_eq!(
        ids(&store.read_feed(MB, C, p + 2, 100).await?),
        ["crm-c", "crm-a"]
    );
    check_eq!(
        ids(&store.read_feed(MB, C, p, 2).await?),
        ["crm-b", "crm-c"]
    );
    check_eq!(ids(&store.read_feed(MB, C, p + 3, 1).await?), ["crm-a"]);
    check!(
        store.read_feed(MB, C, p + 4, 100).await?.is_empty(),
        "feed past its end"
    );
    check!(
        store
            .read_feed(MB, Folder::Calendar, 0, 100)
            .await?
            .is_empty(),
        "calendar feed holds contacts"
    );
    check!(
        store
            .read_feed("other@example.com", C, 0, 100)
            .await?
            .is_empty(),
        "another mailbox's feed holds these"
    );
    Ok(())
}

async fn feed_never_passes_the_committed_position<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    for n in 0..4 {
        let mut c = commit(MB, C, &format!("c{n}"), &lease);
        c.records = vec![
            write(&format!("crm-{n}-x"), None, Some("x")),
            write(&format!("crm-{n}-y"), None, Some("y")),
        ];
        let cursor = store.commit(&c).await?;
        let feed = store.read_feed(MB, C, 0, 1000).await?;
        check_eq!(feed.len(), 2 * (n + 1));
        check!(
            feed.iter()
                .all(|r| r.feed_seq.is_some_and(|s| s <= cursor.feed_seq)),
            "feed beyond the cursor's {}: {feed:?}",
            cursor.feed_seq
        );
        check!(
            feed.windows(2).all(|w| w[0].feed_seq < w[1].feed_seq),
            "feed not oldest first: {feed:?}"
        );
    }
    Ok(())
}

async fn outbox_done_removes_only_the_pushed_version<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    store
        .crm_write(MB, C, "crm-1", Expect::Absent, Some("{}"))
        .await?;
    store
        .crm_write(MB, C, "crm-2", Expect::Absent, Some("{}"))
        .await?;
    store
        .crm_write(MB, C, "crm-1", Expect::Version(1), Some(r#"{"v":2}"#))
        .await?;

    let mut c1 = commit(MB, C, "c1", &lease);
    c1.outbox_done = vec![("crm-1".to_owned(), 1), ("crm-2".to_owned(), 1)];
    store.commit(&c1).await?;
    check_eq!(store.list_outbox(MB, C, 10).await?, [entry("crm-1", 2)]);

    let mut c2 = commit(MB, C, "c2", &lease);
    c2.outbox_done = vec![("crm-1".to_owned(), 2), ("crm-never".to_owned(), 1)];
    store.commit(&c2).await?;
    check!(
        store.list_outbox(MB, C, 10).await?.is_empty(),
        "crm-1 still queued"
    );
    Ok(())
}

async fn outbox_failed_counts_attempts_and_keeps_the_error<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    store
        .crm_write(MB, C, "crm-1", Expect::Absent, Some("{}"))
        .await?;
    for (n, error) in ["ErrorServerBusy", "ErrorItemNotFound"].iter().enumerate() {
        let mut c = commit(MB, C, &format!("c{n}"), &lease);
        c.outbox_failed = vec![("crm-1".to_owned(), (*error).to_owned())];
        store.commit(&c).await?;
    }

    let queued = store.list_outbox(MB, C, 10).await?;
    check_eq!(
        queued,
        [OutboxEntry {
            crm_id: "crm-1".to_owned(),
            record_version: 1,
            attempts: 2,
            last_error: Some("ErrorItemNotFound".to_owned()),
        }]
    );
    Ok(())
}

async fn outbox_lists_oldest_first_up_to_the_limit<S: StateStore>(store: &S) -> Outcome {
    for crm_id in ["crm-z", "crm-a", "crm-m", "crm-b"] {
        store
            .crm_write(MB, C, crm_id, Expect::Absent, Some("{}"))
            .await?;
    }
    let queued = store.list_outbox(MB, C, 10).await?;
    let order: Vec<&str> = queued.iter().map(|e| e.crm_id.as_str()).collect();
    check_eq!(order, ["crm-z", "crm-a", "crm-m", "crm-b"]);

    let first = store.list_outbox(MB, C, 2).await?;
    let order: Vec<&str> = first.iter().map(|e| e.crm_id.as_str()).collect();
    check_eq!(order, ["crm-z", "crm-a"]);
    Ok(())
}
