//! Updates that meet a stale change key: read again and merged, with the owner's edit
//! made for real between the engine's read and its update (another field: both kept; the
//! same field: the CRM wins and the conflict is audited).

#![allow(clippy::unwrap_used)]

mod common;
mod harness;

use common::*;

#[tokio::test]
async fn a_stale_change_key_is_read_again_and_merged() {
    let env = seeded(2, 0, 0).await;
    env.sync().await.unwrap();
    let item = env.items(Folder::Contacts).remove(0);
    let (crm_id, mut c) = linked_contact(&env, &item.id).await;
    c.department = Some("From CRM".into());
    env.crm_write(Folder::Contacts, &crm_id, Some(&ItemData::Contact(c)))
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
