//! The sync engine against the Exchange simulator and the embedded store: initial sync,
//! both directions, echoes, conflicts, deletes (an edit winning over a delete either way),
//! invalid cursors, the brake (over a whole pull, on a folder that reads empty, and the
//! operator's acknowledgement), matching, the dry run, lost responses, stale change keys
//! met for real (the owner editing between our read and our update), a recurring series,
//! a busy folder beside a free one, concurrent runners and runs cut short; hostile text
//! both ways (in `hostile/`).

#![allow(clippy::unwrap_used)]

mod harness;
mod hostile;

use mailbridge_ews::EwsMailbox;
use mailbridge_ews_sim::Fault;
use mailbridge_ews_sim::model::{ItemData as SimData, SeedSpec};
use mailbridge_mailbox::{
    BackendResult, ContactData, DeltaPage, EventData, FolderKind, ItemData, ItemRef,
    MailboxBackend, RemoteItem,
};
use mailbridge_store::{Folder, MailboxStatus, StateStore};
use mailbridge_sync::{Engine, SyncError};

fn contact(given: &str, surname: &str, email: &str) -> ItemData {
    ItemData::Contact(ContactData {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        emails: vec![email.into()],
        ..ContactData::default()
    })
}

async fn seeded(contacts: usize, events: usize, recurring: usize) -> harness::Env {
    let env = harness::start().await;
    env.sim
        .world()
        .seed(
            env.mailbox(),
            &SeedSpec {
                contacts,
                events,
                recurring,
                seed: 3,
                ..SeedSpec::default()
            },
        )
        .unwrap();
    env
}

/// Gives the mailbox a record, so that sync outcomes (the brake among them) land on it.
async fn register(env: &harness::Env) {
    env.store
        .put_mailbox(
            &mailbridge_store::Mailbox {
                address: env.mailbox().to_owned(),
                tenant: env.tenant.tenant_id.clone(),
                status: MailboxStatus::Active,
                attention: None,
                last_sync: None,
                last_error: None,
                back_off_until: None,
                braked: None,
                deletes_go_ahead: None,
                version: 0,
            },
            mailbridge_store::Expect::Absent,
        )
        .await
        .unwrap();
}

async fn mailbox_status(env: &harness::Env) -> (MailboxStatus, Option<String>) {
    let mailbox = env.store.get_mailbox(env.mailbox()).await.unwrap().unwrap();
    (mailbox.status, mailbox.attention)
}

async fn audit_actions(env: &harness::Env) -> Vec<mailbridge_store::AuditEvent> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = env
            .store
            .list_audit(env.mailbox(), after.as_deref(), 500)
            .await
            .unwrap();
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// The operator's acknowledgement of a brake: one run with the brake released.
async fn acknowledge(env: &harness::Env) -> Result<Vec<mailbridge_sync::FolderReport>, SyncError> {
    let backend = EwsMailbox::new(&env.ews, env.mailbox());
    Engine::new(&env.store, &backend, env.mailbox(), env.config())
        .acknowledge_brake("ops@contoso.example")
        .await
}

fn owner_delete_all(env: &harness::Env, items: &[mailbridge_ews_sim::ItemView]) {
    for item in items {
        env.sim
            .world()
            .owner_delete(env.mailbox(), &item.id)
            .unwrap();
    }
}

fn edit_job(env: &harness::Env, id: &str, job: &str) {
    let job = job.to_owned();
    env.sim
        .world()
        .owner_edit(env.mailbox(), id, move |c| {
            if let SimData::Contact(contact) = &mut c.data {
                contact.job_title = Some(job);
            }
        })
        .unwrap();
}

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
    let link = env
        .store
        .link_by_item_id(env.mailbox(), Folder::Contacts, &item.id)
        .await
        .unwrap()
        .unwrap();
    let record = env
        .store
        .get_record(env.mailbox(), Folder::Contacts, &link.crm_id)
        .await
        .unwrap()
        .unwrap();
    let ItemData::Contact(mut c) =
        ItemData::contact_from_json(record.data.as_deref().unwrap()).unwrap()
    else {
        panic!()
    };
    // CRM: department and job; owner: job (differently) and nickname.
    c.department = Some("Commercial".into());
    c.job_title = Some("CRM title".into());
    env.crm_write(Folder::Contacts, &link.crm_id, Some(&ItemData::Contact(c)))
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
        .get_record(env.mailbox(), Folder::Contacts, &link.crm_id)
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
        .find(|e| e.action == "conflict" && e.subject == link.crm_id)
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
async fn the_mass_delete_brake_stops_and_keeps_the_data() {
    let env = seeded(30, 0, 0).await;
    register(&env).await;
    env.sync().await.unwrap();
    for item in env.items(Folder::Contacts).iter().take(20) {
        env.sim
            .world()
            .owner_delete(env.mailbox(), &item.id)
            .unwrap();
    }
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
async fn first_connect_matches_existing_crm_contacts_and_the_dry_run_shows_it() {
    let env = harness::start().await;
    let world = env.sim.world();
    let mk = |given: &str, surname: &str, email: Option<&str>| {
        let mut c = mailbridge_ews_sim::model::Contact {
            given_name: Some(given.into()),
            surname: Some(surname.into()),
            ..Default::default()
        };
        if let Some(e) = email {
            c.emails.insert("EmailAddress1".into(), e.into());
        }
        mailbridge_ews_sim::model::ItemContent::contact(c)
    };
    let folder = mailbridge_ews_sim::model::FolderKind::Contacts;
    world
        .owner_create(
            env.mailbox(),
            folder,
            mk("Ada", "Berg", Some("ada@example.com")),
        )
        .unwrap();
    world
        .owner_create(env.mailbox(), folder, mk("Bo", "Lind", None))
        .unwrap();
    world
        .owner_create(env.mailbox(), folder, mk("Cy", "Holm", None))
        .unwrap();
    world
        .owner_create(env.mailbox(), folder, mk("New", "Person", None))
        .unwrap();
    env.crm_write(
        Folder::Contacts,
        "crm-ada",
        Some(&contact("Ada", "B.", "ADA@example.com")),
    )
    .await;
    let bo = ItemData::Contact(ContactData {
        given_name: Some("Bo".into()),
        surname: Some("Lind".into()),
        ..ContactData::default()
    });
    env.crm_write(Folder::Contacts, "crm-bo", Some(&bo)).await;
    let cy = ItemData::Contact(ContactData {
        given_name: Some("Cy".into()),
        surname: Some("Holm".into()),
        ..ContactData::default()
    });
    env.crm_write(Folder::Contacts, "crm-cy1", Some(&cy)).await;
    env.crm_write(Folder::Contacts, "crm-cy2", Some(&cy)).await;

    let before = env.requests();
    let dry = env.dry_run(Folder::Contacts).await.unwrap();
    assert_eq!(
        (dry.matched, dry.crm_created, dry.ambiguous),
        (2, 2, 1),
        "{dry}"
    );
    assert!(dry.to_string().contains("match (Email)"), "{dry}");
    assert_eq!(
        env.records(Folder::Contacts).await.len(),
        4,
        "a dry run writes nothing"
    );
    assert!(env.requests() - before <= 3, "reads only");

    env.sync().await.unwrap();
    // 4 CRM records + 2 new from the mailbox; the ambiguous Cy makes one more item in
    // the mailbox for the other Cy record... and both CRM Cy records reach the mailbox.
    env.assert_converged(Folder::Contacts).await;
    // Ada matched by address; her surname differed, and the CRM's value was kept.
    let ada = env
        .store
        .link_by_crm_id(env.mailbox(), Folder::Contacts, "crm-ada")
        .await
        .unwrap()
        .unwrap();
    let ada_item = env.sim.world().item(env.mailbox(), &ada.item_id).unwrap();
    let SimData::Contact(c) = &ada_item.content.data else {
        panic!()
    };
    assert_eq!(c.surname.as_deref(), Some("B."));
    assert_eq!(env.items(Folder::Contacts).len(), 6);
}

#[tokio::test]
async fn the_dry_run_lists_push_actions_by_kind() {
    let env = seeded(3, 0, 0).await;
    env.sync().await.unwrap();
    let items = env.items(Folder::Contacts);
    let (edited, mut c) = linked_contact(&env, &items[0].id).await;
    c.job_title = Some("Edited in the CRM".into());
    env.crm_write(Folder::Contacts, &edited, Some(&ItemData::Contact(c)))
        .await;
    let (deleted, _) = linked_contact(&env, &items[1].id).await;
    env.crm_write(Folder::Contacts, &deleted, None).await;
    env.crm_write(
        Folder::Contacts,
        "crm-new",
        Some(&contact("New", "Person", "new@example.com")),
    )
    .await;

    let before = env.requests();
    let dry = env.dry_run(Folder::Contacts).await.unwrap();
    let text = dry.to_string();
    assert!(text.contains("mailbox create crm-new"), "{text}");
    assert!(
        text.contains(&format!("mailbox update {edited} (job_title)")),
        "{text}"
    );
    assert!(
        text.contains(&format!("mailbox delete {deleted} (to Deleted Items)")),
        "{text}"
    );
    assert!(!text.contains("CRM change"), "{text}");
    assert_eq!(
        (
            dry.mailbox_created,
            dry.mailbox_updated,
            dry.mailbox_deleted
        ),
        (1, 1, 1)
    );
    assert_eq!(
        env.requests() - before,
        1,
        "one delta read, nothing written"
    );
    assert_eq!(env.items(Folder::Contacts).len(), 3);

    // The run does what the dry run said.
    let reports = env.sync().await.unwrap();
    assert_eq!(
        (
            reports[0].mailbox_created,
            reports[0].mailbox_updated,
            reports[0].mailbox_deleted
        ),
        (1, 1, 1)
    );
    env.assert_converged(Folder::Contacts).await;
}

/// Writes (creates and updates) the simulator has served so far.
fn mailbox_writes(env: &harness::Env) -> u64 {
    let stats = env.sim.world().stats();
    ["CreateItem", "UpdateItem", "DeleteItem", "MoveItem"]
        .iter()
        .filter_map(|op| stats.requests.get(*op))
        .sum()
}

/// The calendar record `crm_id` as the CRM holds it.
async fn event_record(env: &harness::Env, crm_id: &str) -> EventData {
    let record = env
        .store
        .get_record(env.mailbox(), Folder::Calendar, crm_id)
        .await
        .unwrap()
        .unwrap();
    match ItemData::event_from_json(record.data.as_deref().unwrap()).unwrap() {
        ItemData::Event(e) => e,
        ItemData::Contact(_) => unreachable!(),
    }
}

/// A sync that finds nothing to do: no write to either side.
async fn assert_quiet(env: &harness::Env, folder: Folder) {
    let (writes, feed) = (mailbox_writes(env), feed_len(env, folder).await);
    let report = env.sync_folder(folder).await.unwrap();
    assert_eq!(
        report.crm_created
            + report.crm_updated
            + report.crm_deleted
            + report.mailbox_created
            + report.mailbox_updated
            + report.mailbox_deleted,
        0,
        "{report}"
    );
    assert_eq!(mailbox_writes(env), writes, "no echo to the mailbox");
    assert_eq!(feed_len(env, folder).await, feed, "no echo to the CRM");
}

async fn feed_len(env: &harness::Env, folder: Folder) -> usize {
    env.store
        .read_feed(env.mailbox(), folder, 0, 10_000)
        .await
        .unwrap()
        .len()
}

fn day(month: u32, day: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2027, month, day).unwrap()
}

/// Every Monday from 4 January 2027 to the end of March.
fn monday_series() -> EventData {
    use chrono::{TimeZone, Utc};
    use mailbridge_mailbox::{RecurrenceData, data::RecurrencePattern};
    EventData {
        subject: Some("Weekly viewing round".into()),
        body: Some("Keys at the office".into()),
        location: Some("Harbour Street 4".into()),
        start: Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2027, 1, 4, 9, 30, 0).unwrap(),
        all_day: false,
        time_zone: Some("W. Europe Standard Time".into()),
        show_as: Some("Busy".into()),
        reminder_minutes: Some(15),
        attendees: Vec::new(),
        recurrence: Some(RecurrenceData {
            pattern: RecurrencePattern::Weekly {
                interval: 1,
                days: vec!["Monday".into()],
            },
            start: day(1, 4),
            end: Some(day(3, 29)),
            count: None,
        }),
        categories: Vec::new(),
    }
}

fn sim_event(env: &harness::Env, id: &str) -> mailbridge_ews_sim::model::Event {
    match env
        .sim
        .world()
        .item(env.mailbox(), id)
        .unwrap()
        .content
        .data
    {
        SimData::Event(e) => e,
        other => panic!("{other:?}"),
    }
}

/// The owner renames the series in Outlook and ends it on 15 March.
fn owner_renames_and_ends_early(env: &harness::Env, id: &str) {
    use mailbridge_ews_sim::model::Range;
    env.sim
        .world()
        .owner_edit(env.mailbox(), id, |content| {
            let SimData::Event(e) = &mut content.data else {
                panic!()
            };
            e.subject = Some("Viewing round (spring)".into());
            if let Some(r) = &mut e.recurrence {
                r.range = Range::EndDate {
                    start: r.range.start(),
                    end: day(3, 15),
                };
            }
        })
        .unwrap();
}

#[tokio::test]
async fn a_recurring_series_round_trips_both_ways_without_echo() {
    use mailbridge_ews_sim::model::Range;
    use mailbridge_mailbox::{RecurrenceData, data::RecurrencePattern};

    let env = harness::start().await;
    let series = monday_series();
    env.crm_write(
        Folder::Calendar,
        "crm-series",
        Some(&ItemData::Event(series.clone())),
    )
    .await;

    // The CRM's series reaches the mailbox as one recurring item.
    let report = env.sync_folder(Folder::Calendar).await.unwrap();
    assert_eq!(report.mailbox_created, 1, "{report}");
    let items = env.items(Folder::Calendar);
    assert_eq!(items.len(), 1);
    let id = items[0].id.clone();
    let recurrence = sim_event(&env, &id)
        .recurrence
        .expect("a series, not a single event");
    assert_eq!(
        recurrence.range,
        Range::EndDate {
            start: day(1, 4),
            end: day(3, 29)
        }
    );
    env.assert_converged(Folder::Calendar).await;
    // Our own create comes back and is not taken for an edit.
    assert_quiet(&env, Folder::Calendar).await;
    assert_quiet(&env, Folder::Calendar).await;

    // The owner renames the series and ends it two weeks early: the CRM gets both.
    owner_renames_and_ends_early(&env, &id);
    let report = env.sync_folder(Folder::Calendar).await.unwrap();
    assert_eq!(
        (report.crm_updated, report.mailbox_updated),
        (1, 0),
        "{report}"
    );
    let record = event_record(&env, "crm-series").await;
    assert_eq!(record.subject.as_deref(), Some("Viewing round (spring)"));
    assert_eq!(
        record.recurrence.as_ref().and_then(|r| r.end),
        Some(day(3, 15))
    );
    assert_eq!(
        record.recurrence.as_ref().map(|r| &r.pattern),
        series.recurrence.as_ref().map(|r| &r.pattern)
    );
    env.assert_converged(Folder::Calendar).await;
    assert_quiet(&env, Folder::Calendar).await;

    // The CRM makes it fortnightly for ten occurrences: the mailbox gets it.
    let mut edited = record;
    edited.recurrence = Some(RecurrenceData {
        pattern: RecurrencePattern::Weekly {
            interval: 2,
            days: vec!["Monday".into()],
        },
        start: day(1, 4),
        end: None,
        count: Some(10),
    });
    env.crm_write(
        Folder::Calendar,
        "crm-series",
        Some(&ItemData::Event(edited)),
    )
    .await;
    let report = env.sync_folder(Folder::Calendar).await.unwrap();
    assert_eq!(
        (report.mailbox_updated, report.crm_updated),
        (1, 0),
        "{report}"
    );
    let e = sim_event(&env, &id);
    assert_eq!(e.subject.as_deref(), Some("Viewing round (spring)"));
    let recurrence = e.recurrence.expect("still a series");
    assert_eq!(
        recurrence.range,
        Range::Numbered {
            start: day(1, 4),
            count: 10
        }
    );
    assert!(
        matches!(
            recurrence.pattern,
            mailbridge_ews_sim::model::Pattern::Weekly { interval: 2, .. }
        ),
        "{:?}",
        recurrence.pattern
    );
    env.assert_converged(Folder::Calendar).await;
    assert_quiet(&env, Folder::Calendar).await;
    assert_eq!(env.items(Folder::Calendar).len(), 1, "still one item");
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
async fn a_stale_change_key_is_read_again_and_merged() {
    let env = seeded(2, 0, 0).await;
    env.sync().await.unwrap();
    let item = env.items(Folder::Contacts).remove(0);
    let link = env
        .store
        .link_by_item_id(env.mailbox(), Folder::Contacts, &item.id)
        .await
        .unwrap()
        .unwrap();
    let mut c = match ItemData::contact_from_json(
        &env.store
            .get_record(env.mailbox(), Folder::Contacts, &link.crm_id)
            .await
            .unwrap()
            .unwrap()
            .data
            .unwrap(),
    )
    .unwrap()
    {
        ItemData::Contact(c) => c,
        ItemData::Event(_) => unreachable!(),
    };
    c.department = Some("From CRM".into());
    env.crm_write(Folder::Contacts, &link.crm_id, Some(&ItemData::Contact(c)))
        .await;
    env.sim
        .world()
        .inject(Fault::ChangeKeyConflict, Some("UpdateItem"));
    env.sync().await.unwrap();
    env.assert_converged(Folder::Contacts).await;
    let now = env.sim.world().item(env.mailbox(), &item.id).unwrap();
    let SimData::Contact(c) = now.content.data else {
        panic!()
    };
    assert_eq!(c.department.as_deref(), Some("From CRM"));
}

/// Something that happens elsewhere (the owner editing in Outlook, a CRM write) at a chosen
/// moment of a run.
type Meanwhile<'c> =
    std::sync::Mutex<Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'c>>>>;

/// The mailbox against the simulator, with `edit` happening just before the engine's first
/// mailbox update: the owner editing the item in Outlook (that update then meets a stale
/// change key for real, and the item read again holds the owner's edit), or a CRM write
/// (the page's commit then loses the race and the page is planned again).
struct OwnerEditsBeforeUpdate<'c> {
    inner: EwsMailbox<'c, mailbridge_identity::TenantTokens>,
    edit: Meanwhile<'c>,
}

impl MailboxBackend for OwnerEditsBeforeUpdate<'_> {
    async fn delta(&self, folder: FolderKind, cursor: Option<&str>) -> BackendResult<DeltaPage> {
        self.inner.delta(folder, cursor).await
    }

    async fn fetch(
        &self,
        folder: FolderKind,
        ids: &[String],
    ) -> BackendResult<Vec<BackendResult<RemoteItem>>> {
        self.inner.fetch(folder, ids).await
    }

    async fn find_by_crm_id(
        &self,
        folder: FolderKind,
        crm_id: &str,
    ) -> BackendResult<Option<RemoteItem>> {
        self.inner.find_by_crm_id(folder, crm_id).await
    }

    async fn create(
        &self,
        folder: FolderKind,
        crm_id: &str,
        data: &ItemData,
    ) -> BackendResult<ItemRef> {
        self.inner.create(folder, crm_id, data).await
    }

    async fn update(
        &self,
        folder: FolderKind,
        item: &ItemRef,
        old: &ItemData,
        new: &ItemData,
    ) -> BackendResult<ItemRef> {
        let edit = self.edit.lock().unwrap().take();
        if let Some(edit) = edit {
            edit.await;
        }
        self.inner.update(folder, item, old, new).await
    }

    async fn delete(&self, folder: FolderKind, id: &str) -> BackendResult<()> {
        self.inner.delete(folder, id).await
    }
}

/// The CRM record linked to `item_id`, its id and its contact data.
async fn linked_contact(env: &harness::Env, item_id: &str) -> (String, ContactData) {
    let link = env
        .store
        .link_by_item_id(env.mailbox(), Folder::Contacts, item_id)
        .await
        .unwrap()
        .unwrap();
    let record = env
        .store
        .get_record(env.mailbox(), Folder::Contacts, &link.crm_id)
        .await
        .unwrap()
        .unwrap();
    match ItemData::contact_from_json(record.data.as_deref().unwrap()).unwrap() {
        ItemData::Contact(c) => (link.crm_id, c),
        ItemData::Event(_) => unreachable!(),
    }
}

fn sim_contact(env: &harness::Env, item_id: &str) -> mailbridge_ews_sim::model::Contact {
    match env
        .sim
        .world()
        .item(env.mailbox(), item_id)
        .unwrap()
        .content
        .data
    {
        SimData::Contact(c) => c,
        other => panic!("{other:?}"),
    }
}

/// The CRM writes `crm_edit` to the first contact's record; the owner applies `owner_edit`
/// to its item while the push is under way. Returns the item id, the CRM id and the run's
/// contacts report.
async fn push_meets_an_owner_edit(
    env: &harness::Env,
    crm_edit: impl FnOnce(&mut ContactData),
    owner_edit: impl FnOnce(&mut mailbridge_ews_sim::model::Contact) + Send + 'static,
) -> (String, String, mailbridge_sync::FolderReport) {
    env.sync().await.unwrap();
    let item = env.items(Folder::Contacts).remove(0);
    let (crm_id, mut c) = linked_contact(env, &item.id).await;
    crm_edit(&mut c);
    env.crm_write(Folder::Contacts, &crm_id, Some(&ItemData::Contact(c)))
        .await;
    let world = env.sim.world().clone();
    let (mailbox, id) = (env.mailbox().to_owned(), item.id.clone());
    let backend = OwnerEditsBeforeUpdate {
        inner: EwsMailbox::new(&env.ews, env.mailbox()),
        edit: std::sync::Mutex::new(Some(Box::pin(async move {
            world
                .owner_edit(&mailbox, &id, |content| {
                    if let SimData::Contact(contact) = &mut content.data {
                        owner_edit(contact);
                    }
                })
                .unwrap();
        }))),
    };
    let updates = |env: &harness::Env| {
        env.sim
            .world()
            .stats()
            .requests
            .get("UpdateItem")
            .copied()
            .unwrap_or(0)
    };
    let before = updates(env);
    let mut reports = Engine::new(&env.store, &backend, env.mailbox(), env.config())
        .sync_mailbox()
        .await
        .unwrap();
    assert!(
        backend.edit.lock().unwrap().is_none(),
        "the owner edited between the read and the update"
    );
    assert_eq!(
        updates(env) - before,
        2,
        "one update refused for its stale change key, one with the merge"
    );
    (item.id, crm_id, reports.remove(0))
}

#[tokio::test]
async fn a_stale_change_key_merges_the_owners_edit_to_another_field() {
    let env = seeded(2, 0, 0).await;
    let (item_id, crm_id, report) = push_meets_an_owner_edit(
        &env,
        |c| c.department = Some("From CRM".into()),
        |c| c.job_title = Some("From the owner".into()),
    )
    .await;
    assert_eq!(
        (report.mailbox_updated, report.crm_updated, report.conflicts),
        (1, 1, 0),
        "{report}"
    );
    // Both fields on both sides.
    let item = sim_contact(&env, &item_id);
    assert_eq!(item.department.as_deref(), Some("From CRM"));
    assert_eq!(item.job_title.as_deref(), Some("From the owner"));
    let (_, record) = linked_contact(&env, &item_id).await;
    assert_eq!(record.department.as_deref(), Some("From CRM"));
    assert_eq!(record.job_title.as_deref(), Some("From the owner"));
    env.assert_converged(Folder::Contacts).await;
    assert!(
        !audit_actions(&env)
            .await
            .iter()
            .any(|e| e.action == "conflict" && e.subject == crm_id),
        "different fields are no conflict"
    );
    // Settled: the next run writes nothing either way.
    let reports = env.sync().await.unwrap();
    assert_eq!(
        reports[0].mailbox_updated + reports[0].crm_updated + reports[0].crm_created,
        0,
        "{}",
        reports[0]
    );
}

#[tokio::test]
async fn a_stale_change_key_on_the_same_field_keeps_the_crm_value_and_audits_both() {
    let env = seeded(2, 0, 0).await;
    let (item_id, crm_id, report) = push_meets_an_owner_edit(
        &env,
        |c| c.job_title = Some("CRM title".into()),
        |c| c.job_title = Some("Owner title".into()),
    )
    .await;
    assert_eq!(
        (report.mailbox_updated, report.crm_updated, report.conflicts),
        (1, 0, 1),
        "{report}"
    );
    // The documented winner, the CRM, on both sides.
    assert_eq!(
        mailbridge_mailbox::CONFLICT_WINNER,
        mailbridge_mailbox::Side::Crm
    );
    assert_eq!(
        sim_contact(&env, &item_id).job_title.as_deref(),
        Some("CRM title")
    );
    let (_, record) = linked_contact(&env, &item_id).await;
    assert_eq!(record.job_title.as_deref(), Some("CRM title"));
    env.assert_converged(Folder::Contacts).await;
    let audit = audit_actions(&env).await;
    let conflict = audit
        .iter()
        .find(|e| e.action == "conflict" && e.subject == crm_id)
        .expect("the conflict is audited");
    assert!(
        conflict.detail.contains("job_title")
            && conflict.detail.contains("CRM title")
            && conflict.detail.contains("Owner title")
            && conflict.detail.contains(r#""kept":"Crm""#),
        "{}",
        conflict.detail
    );
    let reports = env.sync().await.unwrap();
    assert_eq!(
        reports[0].mailbox_updated + reports[0].crm_updated,
        0,
        "{}",
        reports[0]
    );
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

async fn braked(env: &harness::Env) -> Option<mailbridge_store::BrakedPull> {
    env.store
        .get_mailbox(env.mailbox())
        .await
        .unwrap()
        .unwrap()
        .braked
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

#[tokio::test]
async fn a_first_connect_page_planned_again_after_a_crm_write_still_matches() {
    // The mailbox and the CRM both know Ada, by address; her surname differs, so the match
    // writes the CRM's value to the mailbox. Just then the CRM edits her record: the page's
    // commit loses the race and the page is planned again. The match must hold, not turn
    // into a second Ada.
    let env = harness::start().await;
    let mut ada = mailbridge_ews_sim::model::Contact {
        given_name: Some("Ada".into()),
        surname: Some("Berg".into()),
        ..Default::default()
    };
    ada.emails
        .insert("EmailAddress1".into(), "ada@example.com".into());
    env.sim
        .world()
        .owner_create(
            env.mailbox(),
            mailbridge_ews_sim::model::FolderKind::Contacts,
            mailbridge_ews_sim::model::ItemContent::contact(ada),
        )
        .unwrap();
    env.crm_write(
        Folder::Contacts,
        "crm-ada",
        Some(&contact("Ada", "B.", "ada@example.com")),
    )
    .await;
    let edited = ItemData::Contact(ContactData {
        job_title: Some("Broker".into()),
        ..match contact("Ada", "B.", "ada@example.com") {
            ItemData::Contact(c) => c,
            ItemData::Event(_) => unreachable!(),
        }
    });
    let backend = OwnerEditsBeforeUpdate {
        inner: EwsMailbox::new(&env.ews, env.mailbox()),
        edit: std::sync::Mutex::new(Some(Box::pin(async {
            env.crm_write(Folder::Contacts, "crm-ada", Some(&edited))
                .await;
        }))),
    };
    Engine::new(&env.store, &backend, env.mailbox(), env.config())
        .sync_mailbox()
        .await
        .unwrap();
    env.sync().await.unwrap();

    assert_eq!(
        env.records(Folder::Contacts).await.len(),
        1,
        "one Ada in the CRM"
    );
    assert_eq!(
        env.items(Folder::Contacts).len(),
        1,
        "one Ada in the mailbox"
    );
    let (crm_id, data) = linked_contact(&env, &env.items(Folder::Contacts)[0].id).await;
    assert_eq!(crm_id, "crm-ada");
    assert_eq!(
        data.job_title.as_deref(),
        Some("Broker"),
        "the CRM's edit stands"
    );
    env.assert_converged(Folder::Contacts).await;
}
