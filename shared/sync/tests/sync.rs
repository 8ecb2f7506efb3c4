//! The sync engine against the Exchange simulator and the embedded store: initial sync,
//! both directions, echoes, conflicts, deletes (an edit winning over a delete either way),
//! invalid cursors, lost responses, a busy folder beside a free one, concurrent runners and
//! runs cut short; hostile text both ways (in `hostile/`). The brake, first connect,
//! recurring series and stale change keys have their own files.

#![allow(clippy::unwrap_used)]

mod common;
mod harness;
mod hostile;

use common::*;

#[tokio::test]
async fn initial_sync_brings_everything_and_a_quiet_resync_costs_one_request_per_folder() {
    let env = seeded(40, 6, 2).await;
    let reports = env.sync().await.unwrap();
    assert_eq!(reports[0].crm_created, 40);
    assert_eq!(reports[1].crm_created, 8);
    env.assert_converged(Folder::Contacts).await;
    env.assert_converged(Folder::Calendar).await;
    let feed = env
        .store
        .read_feed(env.mailbox(), Folder::Contacts, 0, 1000)
        .await
        .unwrap();
    assert_eq!(feed.len(), 40);

    let before = env.requests();
    let reports = env.sync().await.unwrap();
    assert_eq!(env.requests() - before, 2, "one SyncFolderItems per folder");
    assert!(
        reports
            .iter()
            .all(|r| r.crm_created + r.crm_updated + r.mailbox_created == 0)
    );
}

#[tokio::test]
async fn crm_changes_reach_the_mailbox_and_do_not_echo() {
    let env = seeded(5, 0, 0).await;
    env.sync().await.unwrap();
    env.crm_write(
        Folder::Contacts,
        "crm-1",
        Some(&contact("Nina", "Holm", "nina@example.com")),
    )
    .await;
    let reports = env.sync().await.unwrap();
    assert_eq!(reports[0].mailbox_created, 1);
    let created = env
        .items(Folder::Contacts)
        .into_iter()
        .find(|i| harness::stamp(i).as_deref() == Some("crm-1"))
        .expect("the item carries its CRM id");
    env.assert_converged(Folder::Contacts).await;

    // The create comes back in the next pull: recognised, not applied again.
    let feed_before = env
        .store
        .read_feed(env.mailbox(), Folder::Contacts, 0, 1000)
        .await
        .unwrap()
        .len();
    let reports = env.sync().await.unwrap();
    assert_eq!(
        reports[0].crm_updated + reports[0].crm_created,
        0,
        "{:?}",
        reports[0]
    );
    let feed_after = env
        .store
        .read_feed(env.mailbox(), Folder::Contacts, 0, 1000)
        .await
        .unwrap()
        .len();
    assert_eq!(feed_before, feed_after);

    // An update sends only what changed; the change key moves; no echo either.
    let mut edited = contact("Nina", "Holm", "nina@example.com");
    if let ItemData::Contact(c) = &mut edited {
        c.job_title = Some("Listing agent".into());
    }
    env.crm_write(Folder::Contacts, "crm-1", Some(&edited))
        .await;
    let reports = env.sync().await.unwrap();
    assert_eq!(reports[0].mailbox_updated, 1);
    let item = env.sim.world().item(env.mailbox(), &created.id).unwrap();
    assert_ne!(item.change_key, created.change_key);
    let reports = env.sync().await.unwrap();
    assert_eq!(reports[0].mailbox_updated + reports[0].crm_updated, 0);
    env.assert_converged(Folder::Contacts).await;

    // A CRM delete moves the item to Deleted Items.
    env.crm_write(Folder::Contacts, "crm-1", None).await;
    let reports = env.sync().await.unwrap();
    assert_eq!(reports[0].mailbox_deleted, 1);
    let moved = env
        .sim
        .world()
        .items(
            env.mailbox(),
            mailbridge_ews_sim::model::FolderKind::DeletedItems,
        )
        .unwrap();
    assert!(
        moved
            .iter()
            .any(|i| harness::stamp(i).as_deref() == Some("crm-1"))
    );
    env.assert_converged(Folder::Contacts).await;
}

#[tokio::test]
async fn owner_edits_and_deletes_reach_the_change_feed() {
    let env = seeded(5, 0, 0).await;
    env.sync().await.unwrap();
    let cursor = env
        .store
        .get_cursor(env.mailbox(), Folder::Contacts)
        .await
        .unwrap()
        .feed_seq;
    let items = env.items(Folder::Contacts);
    edit_job(&env, &items[0].id, "Owner's edit");
    env.sim
        .world()
        .owner_delete(env.mailbox(), &items[1].id)
        .unwrap();
    let reports = env.sync().await.unwrap();
    assert_eq!((reports[0].crm_updated, reports[0].crm_deleted), (1, 1));
    let feed = env
        .store
        .read_feed(env.mailbox(), Folder::Contacts, cursor, 100)
        .await
        .unwrap();
    assert_eq!(feed.len(), 2);
    assert!(feed.iter().any(|r| r.data.is_none()));
    assert!(feed.iter().any(|r| {
        r.data
            .as_deref()
            .is_some_and(|d| d.contains("Owner's edit"))
    }));
    env.assert_converged(Folder::Contacts).await;
}

#[tokio::test]
async fn concurrent_edits_merge_by_field_and_same_field_conflicts_are_audited() {
    let env = seeded(3, 0, 0).await;
    env.sync().await.unwrap();
    let item = env.items(Folder::Contacts).remove(0);
    let (crm_id, mut c) = linked_contact(&env, &item.id).await;
    // CRM: department and job; owner: job (differently) and nickname.
    c.department = Some("Commercial".into());
    c.job_title = Some("CRM title".into());
    env.crm_write(Folder::Contacts, &crm_id, Some(&ItemData::Contact(c)))
        .await;
    env.sim
        .world()
        .owner_edit(env.mailbox(), &item.id, |content| {
            if let SimData::Contact(contact) = &mut content.data {
                contact.job_title = Some("Owner title".into());
                contact.nickname = Some("Nick".into());
            }
        })
        .unwrap();
    env.sync().await.unwrap();
    env.assert_converged(Folder::Contacts).await;
    let record = env
        .store
        .get_record(env.mailbox(), Folder::Contacts, &crm_id)
        .await
        .unwrap()
        .unwrap();
    let data = record.data.unwrap();
    assert!(
        data.contains("Commercial") && data.contains("Nick") && data.contains("CRM title"),
        "{data}"
    );
    let audit = env
        .store
        .list_audit(env.mailbox(), None, 100)
        .await
        .unwrap()
        .items;
    let conflict = audit
        .iter()
        .find(|e| e.action == "conflict" && e.subject == crm_id)
        .expect("the conflict is audited");
    assert!(conflict.detail.contains("job_title"));
    assert!(conflict.detail.contains("Owner title") && conflict.detail.contains("CRM title"));
}

#[tokio::test]
async fn an_edit_wins_over_a_delete_on_the_other_side() {
    let env = seeded(3, 0, 0).await;
    env.sync().await.unwrap();
    let item = env.items(Folder::Contacts).remove(0);
    let link = env
        .store
        .link_by_item_id(env.mailbox(), Folder::Contacts, &item.id)
        .await
        .unwrap()
        .unwrap();
    env.crm_write(
        Folder::Contacts,
        &link.crm_id,
        Some(&contact("Kept", "Alive", "kept@example.com")),
    )
    .await;
    env.sim
        .world()
        .owner_delete(env.mailbox(), &item.id)
        .unwrap();
    env.sync().await.unwrap();
    env.assert_converged(Folder::Contacts).await;
    assert!(
        env.items(Folder::Contacts)
            .iter()
            .any(|i| harness::stamp(i).as_deref() == Some(link.crm_id.as_str()))
    );
    let audit = audit_actions(&env).await;
    assert!(
        audit.iter().any(|e| e.action == "conflict"
            && e.subject == link.crm_id
            && e.detail.contains(r#""mailbox":"deleted""#)
            && e.detail.contains(r#""kept":"Crm""#)),
        "{audit:?}"
    );

    // The other way round: the CRM deletes a record while the owner edits its item. The
    // edit wins, the record comes back, and the CRM's delete is on the record.
    let item = env.items(Folder::Contacts).remove(1);
    let link = env
        .store
        .link_by_item_id(env.mailbox(), Folder::Contacts, &item.id)
        .await
        .unwrap()
        .unwrap();
    env.crm_write(Folder::Contacts, &link.crm_id, None).await;
    edit_job(&env, &item.id, "Still wanted");
    let reports = env.sync().await.unwrap();
    assert_eq!(reports[0].mailbox_deleted, 0, "{}", reports[0]);
    env.assert_converged(Folder::Contacts).await;
    let record = env
        .store
        .get_record(env.mailbox(), Folder::Contacts, &link.crm_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        record
            .data
            .as_deref()
            .is_some_and(|d| d.contains("Still wanted")),
        "{record:?}"
    );
    let audit = audit_actions(&env).await;
    assert!(
        audit.iter().any(|e| e.action == "conflict"
            && e.subject == link.crm_id
            && e.detail.contains(r#""crm":"deleted""#)
            && e.detail.contains(r#""kept":"Mailbox""#)),
        "the CRM's delete that the edit undid is audited: {audit:?}"
    );
}

#[tokio::test]
async fn an_invalid_cursor_means_a_full_reconcile_without_duplicates_or_resurrections() {
    let env = seeded(30, 0, 0).await;
    env.sync().await.unwrap();
    let items = env.items(Folder::Contacts);
    env.sim
        .world()
        .owner_delete(env.mailbox(), &items[0].id)
        .unwrap();
    edit_job(&env, &items[1].id, "Edited while away");
    env.sim
        .world()
        .invalidate_sync_states(
            env.mailbox(),
            mailbridge_ews_sim::model::FolderKind::Contacts,
        )
        .unwrap();
    let reports = env.sync().await.unwrap();
    assert!(reports[0].reenumerated);
    assert_eq!(reports[0].crm_deleted, 1);
    assert_eq!(reports[0].crm_created, 0);
    env.assert_converged(Folder::Contacts).await;
    assert_eq!(env.records(Folder::Contacts).await.len(), 29);
}

#[tokio::test]
async fn a_create_whose_response_was_lost_is_found_not_repeated() {
    let env = seeded(2, 0, 0).await;
    env.sync().await.unwrap();
    env.crm_write(
        Folder::Contacts,
        "crm-lost",
        Some(&contact("Lo", "St", "lost@example.com")),
    )
    .await;
    env.sim
        .world()
        .inject(Fault::LoseResponse, Some("CreateItem"));
    assert!(env.sync().await.is_err(), "the create's outcome is unknown");
    env.sync().await.unwrap();
    let stamped = env
        .items(Folder::Contacts)
        .into_iter()
        .filter(|i| harness::stamp(i).as_deref() == Some("crm-lost"))
        .count();
    assert_eq!(stamped, 1);
    env.assert_converged(Folder::Contacts).await;
}

#[tokio::test]
async fn a_busy_folder_does_not_keep_the_other_from_syncing() {
    let env = seeded(4, 3, 0).await;
    register(&env).await;
    // Another runner holds Contacts.
    let key = format!("sync/{}/{}", env.mailbox().to_lowercase(), Folder::Contacts);
    let held = env
        .store
        .acquire_lease(
            &key,
            "another-runner",
            std::time::Duration::from_mins(1),
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .expect("the lease was free");
    let err = env.sync().await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::Busy {
                folder: Folder::Contacts
            }
        ),
        "the first failure is the run's: {err}"
    );
    assert!(err.is_retryable());
    assert!(
        env.records(Folder::Contacts).await.is_empty(),
        "Contacts was not touched"
    );
    assert_eq!(
        env.records(Folder::Calendar).await.len(),
        3,
        "Calendar synced all the same"
    );
    let mailbox = env.store.get_mailbox(env.mailbox()).await.unwrap().unwrap();
    assert!(
        mailbox
            .last_error
            .is_some_and(|e| e.contains("another sync of contacts")),
        "the failure is recorded on the mailbox"
    );
    assert_eq!(mailbox.status, MailboxStatus::Active);

    env.store.release_lease(&held).await.unwrap();
    env.sync().await.unwrap();
    env.assert_converged(Folder::Contacts).await;
    env.assert_converged(Folder::Calendar).await;
}

#[tokio::test]
async fn a_second_runner_backs_off_and_a_run_cut_short_resumes_without_duplicates() {
    let env = seeded(1200, 0, 0).await;
    let short = mailbridge_sync::SyncConfig {
        owner: "runner-a".into(),
        lease_ttl: std::time::Duration::from_secs(3),
        ..mailbridge_sync::SyncConfig::default()
    };
    // Kill the first run once its first page is committed (the process dies: no cleanup,
    // the lease stays until it lapses).
    let run = env.sync_folder_with(Folder::Contacts, short.clone());
    let watch = async {
        loop {
            let cursor = env
                .store
                .get_cursor(env.mailbox(), Folder::Contacts)
                .await
                .unwrap();
            if cursor.feed_seq > 0 {
                return cursor;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    };
    let cut = tokio::select! {
        cursor = watch => cursor,
        result = run => panic!("the run finished before it could be cut: {result:?}"),
    };
    assert!(cut.feed_seq < 1200);
    // Another runner finds the lease held…
    let other = mailbridge_sync::SyncConfig {
        owner: "runner-b".into(),
        ..short.clone()
    };
    let busy = env.sync_folder_with(Folder::Contacts, other.clone()).await;
    assert!(matches!(busy, Err(SyncError::Busy { .. })), "{busy:?}");
    // …until it lapses; then it resumes where the dead run stopped.
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let (a, b) = tokio::join!(
        env.sync_folder_with(Folder::Contacts, other.clone()),
        env.sync_folder_with(
            Folder::Contacts,
            mailbridge_sync::SyncConfig {
                owner: "runner-c".into(),
                ..short
            }
        )
    );
    let busy = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(SyncError::Busy { .. })))
        .count();
    assert_eq!(
        busy, 1,
        "exactly one of two concurrent runners works: {a:?} {b:?}"
    );
    env.assert_converged(Folder::Contacts).await;
    assert_eq!(env.records(Folder::Contacts).await.len(), 1200);
}
