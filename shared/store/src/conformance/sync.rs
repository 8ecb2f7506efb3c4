//! Cursors, commits, links and folder resets.

use std::time::Duration;

use chrono::Utc;

use super::fixtures::{commit, event, link, snapshot, sync_lease, write};
use super::{Failure, Outcome, Runner};
use crate::error::StoreError;
use crate::model::{Commit, Cursor, Expect, Folder, LinkChange, Origin};
use crate::state::StateStore;

const MB: &str = "agent@example.com";
const C: Folder = Folder::Contacts;

pub(super) async fn run<S: StateStore>(runner: &mut Runner, make: &impl AsyncFn() -> S) {
    cases!(
        runner,
        make,
        cursor_is_default_before_the_first_commit,
        commit_updates_and_returns_the_cursor,
        commit_applies_every_part_together,
        commit_assigns_feed_positions_in_order,
        commit_version_conflict_applies_nothing,
        commit_existence_conflicts_apply_nothing,
        commit_with_expired_lease_applies_nothing,
        commit_with_superseded_lease_applies_nothing,
        commit_with_released_or_forged_lease_applies_nothing,
        commit_retried_after_success_changes_nothing,
        commit_deletes_leave_tombstones,
    );
}

/// A commit that touches every part, for the cases where it must be refused whole.
async fn everything<S: StateStore>(store: &S, c: &mut Commit) -> Outcome {
    store
        .crm_write(MB, C, "crm-out", Expect::Absent, Some("{}"))
        .await?;
    c.cursor = Some((Some("state-never".to_owned()), true));
    c.records.push(write("crm-fresh", None, Some("fresh")));
    c.links
        .push(LinkChange::Put(link("crm-fresh", "item-fresh")));
    c.outbox_done.push(("crm-out".to_owned(), 1));
    c.outbox_failed
        .push(("crm-out".to_owned(), "should not count".to_owned()));
    c.audit.push(event(MB, 77));
    Ok(())
}

async fn cursor_is_default_before_the_first_commit<S: StateStore>(store: &S) -> Outcome {
    for folder in Folder::ALL {
        check_eq!(store.get_cursor(MB, folder).await?, Cursor::default());
    }
    Ok(())
}

async fn commit_updates_and_returns_the_cursor<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;

    let mut c1 = commit(MB, C, "c1", &lease);
    c1.cursor = Some((Some("state-1".to_owned()), false));
    let first = store.commit(&c1).await?;
    check_eq!(first.sync_state.as_deref(), Some("state-1"));
    check!(!first.enumerated, "enumerated too early: {first:?}");
    check!(first.version >= 1, "cursor version not set: {first:?}");
    check_eq!(store.get_cursor(MB, C).await?, first.clone());

    let mut c2 = commit(MB, C, "c2", &lease);
    c2.cursor = Some((Some("state-2".to_owned()), true));
    let second = store.commit(&c2).await?;
    check_eq!(
        (second.sync_state.as_deref(), second.enumerated),
        (Some("state-2"), true)
    );
    check!(
        second.version > first.version,
        "version did not grow: {second:?}"
    );

    let c3 = commit(MB, C, "c3", &lease);
    let third = store.commit(&c3).await?;
    check_eq!(
        (third.sync_state.as_deref(), third.enumerated),
        (Some("state-2"), true)
    );
    check_eq!(store.get_cursor(MB, C).await?, third);

    check_eq!(
        store.get_cursor(MB, Folder::Calendar).await?,
        Cursor::default()
    );
    check_eq!(
        store.get_cursor("other@example.com", C).await?,
        Cursor::default()
    );
    Ok(())
}

async fn commit_applies_every_part_together<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    store
        .crm_write(MB, C, "crm-out-1", Expect::Absent, Some("{}"))
        .await?;
    store
        .crm_write(MB, C, "crm-out-2", Expect::Absent, Some("{}"))
        .await?;
    let mut c0 = commit(MB, C, "c0", &lease);
    c0.links.push(LinkChange::Put(link("crm-old", "item-old")));
    let before = store.commit(&c0).await?;

    let mut c1 = commit(MB, C, "c1", &lease);
    c1.cursor = Some((Some("state-1".to_owned()), true));
    c1.records.push(write("crm-new", None, Some("new")));
    c1.links.push(LinkChange::Put(link("crm-new", "item-new")));
    c1.links.push(LinkChange::Delete("crm-old".to_owned()));
    c1.outbox_done.push(("crm-out-1".to_owned(), 1));
    c1.outbox_failed.push((
        "crm-out-2".to_owned(),
        "EWS said ErrorAccessDenied".to_owned(),
    ));
    c1.audit.extend([event(MB, 1), event(MB, 2)]);
    let after = store.commit(&c1).await?;

    check_eq!(after.sync_state.as_deref(), Some("state-1"));
    check!(after.enumerated, "enumerated not stored: {after:?}");
    check_eq!(after.feed_seq, before.feed_seq + 1);

    let record = store.get_record(MB, C, "crm-new").await?;
    check_eq!(
        record.map(|r| (r.version, r.origin, r.data, r.feed_seq)),
        Some((
            1,
            Origin::Mailbox,
            Some(super::fixtures::data("new")),
            Some(after.feed_seq)
        ))
    );

    let new_link = Some(link("crm-new", "item-new"));
    check_eq!(
        store.link_by_crm_id(MB, C, "crm-new").await?,
        new_link.clone()
    );
    check_eq!(store.link_by_item_id(MB, C, "item-new").await?, new_link);
    check_eq!(store.link_by_crm_id(MB, C, "crm-old").await?, None);
    check_eq!(store.link_by_item_id(MB, C, "item-old").await?, None);

    let outbox = store.list_outbox(MB, C, 10).await?;
    check_eq!(outbox.len(), 1);
    check_eq!(
        (
            outbox[0].crm_id.as_str(),
            outbox[0].record_version,
            outbox[0].attempts
        ),
        ("crm-out-2", 1, 1)
    );
    check_eq!(
        outbox[0].last_error.as_deref(),
        Some("EWS said ErrorAccessDenied")
    );

    let audit = store.list_audit(MB, None, 10).await?;
    check_eq!(audit.items, [event(MB, 1), event(MB, 2)]);
    Ok(())
}

async fn commit_assigns_feed_positions_in_order<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    let start = store.get_cursor(MB, C).await?.feed_seq;

    let mut c1 = commit(MB, C, "c1", &lease);
    c1.records = vec![
        write("crm-b", None, Some("b")),
        write("crm-a", None, Some("a")),
        write("crm-c", None, Some("c")),
    ];
    let cursor = store.commit(&c1).await?;
    check_eq!(cursor.feed_seq, start + 3);
    for (crm_id, offset) in [("crm-b", 1), ("crm-a", 2), ("crm-c", 3)] {
        let record = store.get_record(MB, C, crm_id).await?;
        check_eq!(record.and_then(|r| r.feed_seq), Some(start + offset));
    }

    let mut c2 = commit(MB, C, "c2", &lease);
    c2.records = vec![
        write("crm-a", Some(1), Some("a2")),
        write("crm-d", None, Some("d")),
    ];
    let cursor = store.commit(&c2).await?;
    check_eq!(cursor.feed_seq, start + 5);
    let a = store.get_record(MB, C, "crm-a").await?;
    check_eq!(
        a.map(|r| (r.version, r.feed_seq)),
        Some((2, Some(start + 4)))
    );

    let calendar = store.get_cursor(MB, Folder::Calendar).await?;
    check_eq!(calendar.feed_seq, 0);
    Ok(())
}

async fn commit_version_conflict_applies_nothing<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    let mut c0 = commit(MB, C, "c0", &lease);
    c0.records.push(write("crm-1", None, Some("one")));
    store.commit(&c0).await?;

    let mut c1 = commit(MB, C, "c1", &lease);
    everything(store, &mut c1).await?;
    c1.records.push(write("crm-1", Some(5), Some("stale")));
    let before = snapshot(store, MB, C).await?;

    check_err!(
        store.commit(&c1).await,
        StoreError::Conflict {
            expected: Some(5),
            ..
        }
    );
    check_eq!(snapshot(store, MB, C).await?, before);
    check_eq!(store.read_feed(MB, C, 0, 100).await?.len(), 1);
    Ok(())
}

async fn commit_existence_conflicts_apply_nothing<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    let mut c0 = commit(MB, C, "c0", &lease);
    c0.records.push(write("crm-1", None, Some("one")));
    store.commit(&c0).await?;

    let mut c1 = commit(MB, C, "c1", &lease);
    everything(store, &mut c1).await?;
    let before = snapshot(store, MB, C).await?;

    let mut exists = c1.clone();
    exists.records.push(write("crm-1", None, Some("again")));
    check_err!(
        store.commit(&exists).await,
        StoreError::Conflict { expected: None, .. }
    );
    check_eq!(snapshot(store, MB, C).await?, before);

    let mut missing = c1.clone();
    missing.id = "c2".into();
    missing
        .records
        .push(write("crm-missing", Some(1), Some("gone")));
    check_err!(
        store.commit(&missing).await,
        StoreError::Conflict {
            expected: Some(1),
            ..
        }
    );
    check_eq!(snapshot(store, MB, C).await?, before);

    check_eq!(store.get_record(MB, C, "crm-missing").await?, None);
    check_eq!(
        store.commit(&c1).await?.sync_state.as_deref(),
        Some("state-never")
    );
    Ok(())
}

async fn commit_with_expired_lease_applies_nothing<S: StateStore>(store: &S) -> Outcome {
    let key = format!("sync/{MB}/{C}");
    let long_ago = Utc::now() - Duration::from_hours(2);
    let lease = store
        .acquire_lease(&key, "runner-a", Duration::from_hours(1), long_ago)
        .await?;
    let Some(lease) = lease else {
        return Err(Failure::at(file!(), line!(), "lease not granted"));
    };

    let mut c1 = commit(MB, C, "c1", &lease);
    everything(store, &mut c1).await?;
    let before = snapshot(store, MB, C).await?;
    check_err!(store.commit(&c1).await, StoreError::LeaseLost { .. });
    check_eq!(snapshot(store, MB, C).await?, before);
    Ok(())
}

async fn commit_with_superseded_lease_applies_nothing<S: StateStore>(store: &S) -> Outcome {
    let key = format!("sync/{MB}/{C}");
    let now = Utc::now();
    let hour = Duration::from_hours(1);
    let old = store
        .acquire_lease(&key, "runner-a", hour, now - 2 * hour)
        .await?;
    let new = store.acquire_lease(&key, "runner-b", hour, now).await?;
    let (Some(old), Some(new)) = (old, new) else {
        return Err(Failure::at(file!(), line!(), "leases not granted"));
    };

    let mut stale = commit(MB, C, "c1", &old);
    everything(store, &mut stale).await?;
    let before = snapshot(store, MB, C).await?;
    check_err!(store.commit(&stale).await, StoreError::LeaseLost { .. });
    check_eq!(snapshot(store, MB, C).await?, before);

    let mut current = stale.clone();
    current.lease = new;
    current.id = "c2".into();
    check_eq!(
        store.commit(&current).await?.sync_state.as_deref(),
        Some("state-never")
    );
    Ok(())
}

async fn commit_with_released_or_forged_lease_applies_nothing<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    let mut c1 = commit(MB, C, "c1", &lease);
    everything(store, &mut c1).await?;
    let before = snapshot(store, MB, C).await?;

    let mut forged = c1.clone();
    forged.lease.token += 1;
    check_err!(store.commit(&forged).await, StoreError::LeaseLost { .. });
    forged.lease = lease.clone();
    forged.lease.owner = "runner-z".into();
    check_err!(store.commit(&forged).await, StoreError::LeaseLost { .. });
    forged.lease = lease.clone();
    forged.lease.key = format!("sync/{MB}/calendar");
    check_err!(store.commit(&forged).await, StoreError::LeaseLost { .. });
    check_eq!(snapshot(store, MB, C).await?, before);

    store.release_lease(&lease).await?;
    check_err!(store.commit(&c1).await, StoreError::LeaseLost { .. });
    check_eq!(snapshot(store, MB, C).await?, before);
    Ok(())
}

async fn commit_retried_after_success_changes_nothing<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    store
        .crm_write(MB, C, "crm-out", Expect::Absent, Some("{}"))
        .await?;
    let mut c0 = commit(MB, C, "c0", &lease);
    c0.records.push(write("crm-old", None, Some("old")));
    store.commit(&c0).await?;

    let mut c1 = commit(MB, C, "c1", &lease);
    c1.cursor = Some((Some("state-1".to_owned()), true));
    c1.records.push(write("crm-new", None, Some("new")));
    c1.records
        .push(write("crm-old", Some(1), Some("old, edited")));
    c1.links.push(LinkChange::Put(link("crm-new", "item-new")));
    c1.outbox_failed
        .push(("crm-out".to_owned(), "timeout".to_owned()));
    c1.audit.push(event(MB, 1));
    let first = store.commit(&c1).await?;
    let after_first = snapshot(store, MB, C).await?;

    let again = store.commit(&c1).await?;
    check_eq!(again, first);
    check_eq!(snapshot(store, MB, C).await?, after_first);
    check_eq!(after_first.outbox.first().map(|e| e.attempts), Some(1));
    check_eq!(after_first.audit.len(), 1);

    let mut other = c1.clone();
    other.id = "c2".into();
    check_err!(store.commit(&other).await, StoreError::Conflict { .. });
    check_eq!(snapshot(store, MB, C).await?, after_first);
    Ok(())
}

async fn commit_deletes_leave_tombstones<S: StateStore>(store: &S) -> Outcome {
    let lease = sync_lease(store, MB, C).await?;
    let mut c0 = commit(MB, C, "c0", &lease);
    c0.records.push(write("crm-1", None, Some("one")));
    store.commit(&c0).await?;

    let mut c1 = commit(MB, C, "c1", &lease);
    c1.records.push(write("crm-1", Some(1), None));
    let cursor = store.commit(&c1).await?;

    let record = store.get_record(MB, C, "crm-1").await?;
    check_eq!(
        record.map(|r| (r.version, r.data, r.origin, r.feed_seq)),
        Some((2, None, Origin::Mailbox, Some(cursor.feed_seq)))
    );
    let feed = store.read_feed(MB, C, 0, 10).await?;
    check_eq!(
        feed.iter()
            .map(|r| (r.crm_id.as_str(), r.data.is_none()))
            .collect::<Vec<_>>(),
        [("crm-1", true)]
    );
    let listed = store.list_records(MB, C, None, 10).await?;
    check_eq!(listed.items.len(), 1);
    Ok(())
}
