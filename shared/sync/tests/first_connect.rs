//! A mailbox's first connect: its items matched to existing CRM records (address, then
//! name), the dry run's counts and listed actions, and a page planned again after its
//! commit lost a race keeping its matches.

#![allow(clippy::unwrap_used)]

mod common;
mod harness;

use common::*;

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
