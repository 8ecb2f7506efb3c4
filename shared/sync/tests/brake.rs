//! The mass-delete brake against the simulator: it stops and keeps the data, counts the
//! whole pull, brakes on a folder that reads empty, and lets through only what a person's
//! go-ahead covers (that folder, about that many deletes).

#![allow(clippy::unwrap_used)]

mod common;
mod harness;

use common::*;

#[tokio::test]
async fn the_mass_delete_brake_stops_and_keeps_the_data() {
    let env = seeded(30, 0, 0).await;
    register(&env).await;
    env.sync().await.unwrap();
    owner_delete_all(&env, &env.items(Folder::Contacts)[..20]);
    let err = env.sync().await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::Braked {
                deletes: 20,
                linked: 30,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        env.records(Folder::Contacts).await.len(),
        30,
        "nothing deleted"
    );
    let (status, attention) = mailbox_status(&env).await;
    assert_eq!(status, MailboxStatus::NeedsAttention);
    assert!(attention.unwrap().contains("20 of 30"));
    assert!(matches!(
        env.sync().await.unwrap_err(),
        SyncError::Inactive { .. }
    ));
}

#[tokio::test]
async fn brake_counts_the_whole_pull() {
    // 1,000 of 1,200 deleted arrive as two delta pages of 512 and 488, each under half
    // of the folder: counted page by page, the brake would never trip.
    let env = seeded(1200, 0, 0).await;
    register(&env).await;
    env.sync().await.unwrap();
    let items = env.items(Folder::Contacts);
    owner_delete_all(&env, &items[..1000]);
    let feed_before = env
        .store
        .read_feed(env.mailbox(), Folder::Contacts, 0, 5000)
        .await
        .unwrap()
        .len();

    let err = env.sync().await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::Braked {
                folder: Folder::Contacts,
                deletes: 1000,
                linked: 1200
            }
        ),
        "{err}"
    );
    assert_eq!(
        env.records(Folder::Contacts).await.len(),
        1200,
        "no page of deletes was committed"
    );
    let feed_after = env
        .store
        .read_feed(env.mailbox(), Folder::Contacts, 0, 5000)
        .await
        .unwrap()
        .len();
    assert_eq!(feed_before, feed_after, "the CRM heard of no delete");
    let (status, attention) = mailbox_status(&env).await;
    assert_eq!(status, MailboxStatus::NeedsAttention);
    assert!(attention.unwrap().contains("1000 of 1200"));
    assert!(
        audit_actions(&env)
            .await
            .iter()
            .any(|e| e.action == "brake")
    );
    assert!(matches!(
        env.sync().await.unwrap_err(),
        SyncError::Inactive { .. }
    ));

    // A dry run says it would brake instead of failing.
    let dry = env.dry_run(Folder::Contacts).await.unwrap();
    assert_eq!(dry.would_brake, Some((1000, 1200)), "{dry}");
    assert!(dry.to_string().contains("would brake"), "{dry}");
    assert_eq!(env.records(Folder::Contacts).await.len(), 1200);

    // The operator checked and lets the deletes through, as the API does: the go-ahead is
    // kept on the mailbox, and the next scheduled sync (any runner) applies them, on the
    // record, then forgets it.
    let acknowledged = mailbridge_store::acknowledge_deletes(
        &env.store,
        env.mailbox(),
        "ops@contoso.example",
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(acknowledged.status, MailboxStatus::Active);
    assert_eq!(env.records(Folder::Contacts).await.len(), 1200, "not yet");
    let reports = env.sync().await.unwrap();
    assert_eq!(reports[0].crm_deleted, 1000, "{}", reports[0]);
    assert_eq!(env.records(Folder::Contacts).await.len(), 200);
    assert_eq!(mailbox_status(&env).await, (MailboxStatus::Active, None));
    let stored = env.store.get_mailbox(env.mailbox()).await.unwrap().unwrap();
    assert_eq!(stored.deletes_go_ahead, None, "the go-ahead is used once");
    let audit = audit_actions(&env).await;
    assert!(
        audit
            .iter()
            .any(|e| e.action == "brake.acknowledged" && e.actor == "ops@contoso.example")
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "brake.released" && e.actor == "ops@contoso.example")
    );
    env.sync().await.unwrap();
    env.assert_converged(Folder::Contacts).await;

    // With nothing braked there is nothing to let through, and the refusal says so.
    let err =
        mailbridge_store::acknowledge_deletes(&env.store, env.mailbox(), "ops", chrono::Utc::now())
            .await
            .unwrap_err();
    assert!(
        err.to_string()
            .contains("not stopped by the mass-delete brake"),
        "{err}"
    );
}

/// Eight linked contacts, all deleted by the owner, then a sync: it must brake, whether the
/// deletes come as a delta or (`invalidate`) as an enumeration that sees none of them.
async fn emptied_and_braked(invalidate: bool) -> harness::Env {
    let env = seeded(8, 0, 0).await;
    register(&env).await;
    env.sync().await.unwrap();
    owner_delete_all(&env, &env.items(Folder::Contacts));
    if invalidate {
        env.sim
            .world()
            .invalidate_sync_states(
                env.mailbox(),
                mailbridge_ews_sim::model::FolderKind::Contacts,
            )
            .unwrap();
    }
    let err = env.sync().await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::Braked {
                deletes: 8,
                linked: 8,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(env.records(Folder::Contacts).await.len(), 8);
    assert_eq!(mailbox_status(&env).await.0, MailboxStatus::NeedsAttention);
    env
}

#[tokio::test]
async fn a_folder_that_reads_empty_brakes() {
    // Fewer than `mass_delete_min`, but a folder that suddenly reads empty brakes all the
    // same; a go-ahead lets it through.
    let env = emptied_and_braked(false).await;
    let reports = acknowledge(&env).await.unwrap();
    assert_eq!(reports[0].crm_deleted, 8);
    assert!(env.records(Folder::Contacts).await.is_empty());
    env.assert_converged(Folder::Contacts).await;

    // The same through an invalid cursor: the enumeration sees nothing of the folder.
    let env = emptied_and_braked(true).await;
    let dry = env.dry_run(Folder::Contacts).await.unwrap();
    assert!(dry.reenumerated);
    assert_eq!(dry.would_brake, Some((8, 8)), "{dry}");
    acknowledge(&env).await.unwrap();
    assert!(env.records(Folder::Contacts).await.is_empty());
    env.assert_converged(Folder::Contacts).await;

    // One of eight going is no emptying.
    let env = seeded(8, 0, 0).await;
    env.sync().await.unwrap();
    owner_delete_all(&env, &env.items(Folder::Contacts)[..1]);
    let reports = env.sync().await.unwrap();
    assert_eq!(reports[0].crm_deleted, 1);
}

#[tokio::test]
async fn a_go_ahead_covers_the_braked_folder_and_about_as_many_deletes() {
    let env = seeded(100, 40, 0).await;
    register(&env).await;
    env.sync().await.unwrap();
    let contacts = env.items(Folder::Contacts);
    let events = env.items(Folder::Calendar);
    owner_delete_all(&env, &contacts[..60]);
    owner_delete_all(&env, &events[..30]);

    // Contacts brake first; what they would lose is on the mailbox record.
    assert!(matches!(env.sync().await, Err(SyncError::Braked { .. })));
    assert_eq!(
        braked(&env).await,
        Some(mailbridge_store::BrakedPull {
            folder: Folder::Contacts,
            deletes: 60,
            linked: 100
        })
    );

    // The owner goes on deleting after someone checked the 60: 80 is more than the
    // go-ahead covers (60, and a tenth or at least ten more), so the brake holds.
    mailbridge_store::acknowledge_deletes(&env.store, env.mailbox(), "ops", chrono::Utc::now())
        .await
        .unwrap();
    owner_delete_all(&env, &contacts[60..80]);
    let err = env.sync().await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::Braked {
                folder: Folder::Contacts,
                deletes: 80,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(env.records(Folder::Contacts).await.len(), 100);
    let mailbox = env.store.get_mailbox(env.mailbox()).await.unwrap().unwrap();
    assert_eq!(mailbox.status, MailboxStatus::NeedsAttention);
    assert_eq!(
        mailbox.deletes_go_ahead, None,
        "the smaller go-ahead no longer holds"
    );
    assert_eq!(braked(&env).await.map(|b| b.deletes), Some(80));

    // A go-ahead for the 80 lets the contacts through, and only them: the calendar's
    // own mass delete brakes on its own.
    let err = acknowledge(&env).await.unwrap_err();
    assert!(
        matches!(
            err,
            SyncError::Braked {
                folder: Folder::Calendar,
                deletes: 30,
                linked: 40
            }
        ),
        "{err}"
    );
    assert_eq!(env.records(Folder::Contacts).await.len(), 20);
    assert_eq!(env.records(Folder::Calendar).await.len(), 40);
    let mailbox = env.store.get_mailbox(env.mailbox()).await.unwrap().unwrap();
    assert_eq!(mailbox.deletes_go_ahead, None, "used up by the contacts");
    assert_eq!(braked(&env).await.map(|b| b.folder), Some(Folder::Calendar));

    acknowledge(&env).await.unwrap();
    assert_eq!(env.records(Folder::Calendar).await.len(), 10);
    assert_eq!(mailbox_status(&env).await, (MailboxStatus::Active, None));
    env.assert_converged(Folder::Contacts).await;
    env.assert_converged(Folder::Calendar).await;
}
