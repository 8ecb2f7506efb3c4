//! Our EWS client (`shared/ews`) against the simulator, for every operation: what comes
//! back must be what the mailbox holds.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod harness;

use harness::{at, id_of};

use chrono::Duration;
use mailbridge_ews::ops::{
    ContactUpdate, CreateItem, DeleteItem, FindItem, GetFolder, GetItem, ItemChange, Restriction,
    SyncChange, SyncFolderItems, UpdateItem, Updates, View,
};
use mailbridge_ews::types::{
    Body, CRM_ID_PROPERTY, CalendarItem, Contact, DistinguishedFolder, EmailKey, FileAttachment,
    FolderId, Item, ItemId, ItemShape, Mailbox, Message, PhoneKey, PropertyPath,
};
use mailbridge_ews::{EwsError, ResponseCode};
use mailbridge_ews_sim::model::{self, FolderKind, ItemContent, ItemData, SeedSpec};

fn contact(given: &str, surname: &str, email: &str, crm_id: &str) -> Item {
    let mut c = Contact {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        display_name: Some(format!("{given} {surname}")),
        company_name: Some("Harbour Realty".into()),
        ..Contact::default()
    };
    c.emails.insert(EmailKey::EmailAddress1, email.into());
    c.phones
        .insert(PhoneKey::MobilePhone, "+44 7700 900123".into());
    c.common.crm_id = Some(crm_id.into());
    c.notes = Some("Prefers mornings".into());
    Item::Contact(Box::new(c))
}

#[tokio::test]
async fn get_folder_reports_each_folder_and_its_count() {
    let env = harness::start().await;
    env.sim
        .world()
        .seed(
            env.mailbox(),
            &SeedSpec {
                contacts: 7,
                events: 3,
                ..SeedSpec::default()
            },
        )
        .unwrap();
    let op = GetFolder {
        folders: vec![
            DistinguishedFolder::Contacts.into(),
            DistinguishedFolder::Calendar.into(),
            DistinguishedFolder::SentItems.into(),
            FolderId::Id {
                id: "bm90IGEgZm9sZGVy".into(),
                change_key: None,
            },
        ],
    };
    let folders = env.ews.execute(env.mailbox(), &op).await.unwrap();
    let contacts = folders[0].as_ref().unwrap();
    assert_eq!(contacts.kind, "ContactsFolder");
    assert_eq!(contacts.total_count, Some(7));
    assert_eq!(folders[1].as_ref().unwrap().total_count, Some(3));
    assert_eq!(
        folders[2].as_ref().unwrap().display_name.as_deref(),
        Some("Sent Items")
    );
    assert_eq!(
        folders[3].as_ref().unwrap_err().code,
        ResponseCode::ErrorInvalidIdMalformed
    );

    // The id it returns works as a folder id.
    let by_id = GetFolder {
        folders: vec![FolderId::Id {
            id: contacts.id.clone(),
            change_key: None,
        }],
    };
    let again = env.ews.execute(env.mailbox(), &by_id).await.unwrap();
    assert_eq!(again[0].as_ref().unwrap().total_count, Some(7));
}

#[tokio::test]
async fn sync_pages_through_a_large_folder_then_reports_only_changes() {
    let env = harness::start().await;
    let world = env.sim.world();
    world
        .seed(
            env.mailbox(),
            &SeedSpec {
                contacts: 1200,
                seed: 3,
                ..SeedSpec::default()
            },
        )
        .unwrap();

    let mut state = None;
    let mut pages = Vec::new();
    let mut seen = std::collections::HashSet::new();
    loop {
        let op = SyncFolderItems::new(DistinguishedFolder::Contacts, state.clone());
        let page = env.ews.execute(env.mailbox(), &op).await.unwrap();
        for change in &page.changes {
            let SyncChange::Create(item) = change else {
                panic!("a first sync holds only creates, got {change:?}");
            };
            assert!(seen.insert(item.id().unwrap().id.clone()), "no item twice");
        }
        pages.push(page.changes.len());
        state = page.sync_state;
        if page.includes_last_item_in_range {
            break;
        }
    }
    assert_eq!(pages, [512, 512, 176]);

    // Nothing changed: one request, no changes.
    let op = SyncFolderItems::new(DistinguishedFolder::Contacts, state.clone());
    let quiet = env.ews.execute(env.mailbox(), &op).await.unwrap();
    assert!(quiet.changes.is_empty() && quiet.includes_last_item_in_range);

    // The owner edits one contact twice, deletes one, adds one and deletes it again.
    let items = world.items(env.mailbox(), FolderKind::Contacts).unwrap();
    let edited = &items[10];
    for name in ["First edit", "Second edit"] {
        world
            .owner_edit(env.mailbox(), &edited.id, |c| {
                if let ItemData::Contact(c) = &mut c.data {
                    c.display_name = Some(name.into());
                }
            })
            .unwrap();
    }
    world.owner_delete(env.mailbox(), &items[20].id).unwrap();
    let fleeting = world
        .owner_create(
            env.mailbox(),
            FolderKind::Contacts,
            ItemContent::contact(model::Contact::default()),
        )
        .unwrap();
    world.owner_delete(env.mailbox(), &fleeting.id).unwrap();

    let mut op = SyncFolderItems::new(DistinguishedFolder::Contacts, state);
    op.shape = ItemShape::full_with_crm_id();
    let delta = env.ews.execute(env.mailbox(), &op).await.unwrap();
    assert_eq!(delta.changes.len(), 2, "{:?}", delta.changes);
    let SyncChange::Update(Item::Contact(updated)) = &delta.changes[0] else {
        panic!("an update first: {:?}", delta.changes[0]);
    };
    assert_eq!(updated.display_name.as_deref(), Some("Second edit"));
    assert_eq!(
        delta.changes[1],
        SyncChange::Delete(ItemId::new(items[20].id.clone(), None))
    );
}

#[tokio::test]
async fn created_contacts_read_back_whole_and_are_found_by_crm_id() {
    let env = harness::start().await;
    let create = CreateItem::save_in(
        DistinguishedFolder::Contacts,
        vec![
            contact("Anna", "Lindqvist", "anna@buyers.example", "crm-1"),
            contact("Bo", "Øberg", "bo@buyers.example", "crm-2"),
        ],
    );
    let created = env.ews.execute(env.mailbox(), &create).await.unwrap();
    assert_eq!(created.len(), 2);
    let anna = id_of(&created[0]);

    let got = env
        .ews
        .execute(env.mailbox(), &GetItem::full(vec![anna.clone()]))
        .await
        .unwrap();
    let Ok(Item::Contact(c)) = &got[0] else {
        panic!("a contact: {got:?}");
    };
    assert_eq!(c.given_name.as_deref(), Some("Anna"));
    assert_eq!(c.surname.as_deref(), Some("Lindqvist"));
    assert_eq!(
        c.emails.get(&EmailKey::EmailAddress1).map(String::as_str),
        Some("anna@buyers.example")
    );
    assert_eq!(
        c.phones.get(&PhoneKey::MobilePhone).map(String::as_str),
        Some("+44 7700 900123")
    );
    assert_eq!(c.common.crm_id.as_deref(), Some("crm-1"));
    assert_eq!(c.notes.as_deref(), Some("Prefers mornings"));
    assert_eq!(c.common.id.as_ref(), Some(&anna));

    let find = FindItem {
        folder: DistinguishedFolder::Contacts.into(),
        shape: ItemShape::ids_with_crm_id(),
        view: View::Indexed {
            max_entries: 10,
            offset: 0,
        },
        restriction: Some(Restriction::IsEqualTo(
            PropertyPath::Extended(CRM_ID_PROPERTY),
            "crm-2".into(),
        )),
    };
    let found = env.ews.execute(env.mailbox(), &find).await.unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].crm_id(), Some("crm-2"));
    assert!(found.includes_last_item_in_range);

    let none = FindItem {
        restriction: Some(Restriction::IsEqualTo(
            PropertyPath::Extended(CRM_ID_PROPERTY),
            "crm-9".into(),
        )),
        ..find
    };
    assert!(
        env.ews
            .execute(env.mailbox(), &none)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    // A missing id, and one that was never issued, each fail on their own.
    let world = env.sim.world();
    let gone = world.owner_delete(env.mailbox(), &anna.id).unwrap();
    assert!(gone.is_some());
    let got = env
        .ews
        .execute(
            env.mailbox(),
            &GetItem::full(vec![anna, ItemId::new("AAAA", None)]),
        )
        .await
        .unwrap();
    assert_eq!(
        got[0].as_ref().unwrap_err().code,
        ResponseCode::ErrorItemNotFound
    );
    assert_eq!(
        got[1].as_ref().unwrap_err().code,
        ResponseCode::ErrorInvalidIdMalformed
    );
}

#[tokio::test]
async fn updates_change_only_named_fields_and_stale_change_keys_conflict() {
    let env = harness::start().await;
    let create = CreateItem::save_in(
        DistinguishedFolder::Contacts,
        vec![contact(
            "Carla",
            "Castillo",
            "carla@buyers.example",
            "crm-3",
        )],
    );
    let first = id_of(&env.ews.execute(env.mailbox(), &create).await.unwrap()[0]);

    let update = UpdateItem::guarded(vec![ItemChange {
        id: first.clone(),
        updates: Updates::Contact(vec![
            ContactUpdate::JobTitle(Some("Broker".into())),
            ContactUpdate::Email(EmailKey::EmailAddress2, Some("carla@home.example".into())),
            ContactUpdate::Phone(PhoneKey::MobilePhone, None),
        ]),
    }]);
    let updated = env.ews.execute(env.mailbox(), &update).await.unwrap();
    let second = id_of(&updated[0]);
    assert_eq!(second.id, first.id);
    assert_ne!(
        second.change_key, first.change_key,
        "every write changes the key"
    );

    let view = env.sim.world().item(env.mailbox(), &first.id).unwrap();
    let ItemData::Contact(c) = &view.content.data else {
        panic!("a contact")
    };
    assert_eq!(c.job_title.as_deref(), Some("Broker"));
    assert_eq!(
        c.emails.get("EmailAddress2").map(String::as_str),
        Some("carla@home.example")
    );
    assert_eq!(
        c.emails.get("EmailAddress1").map(String::as_str),
        Some("carla@buyers.example")
    );
    assert!(c.phones.is_empty());
    assert_eq!(c.given_name.as_deref(), Some("Carla"));

    // The first change key is stale now.
    let stale = env.ews.execute(env.mailbox(), &update).await.unwrap();
    assert_eq!(
        stale[0].as_ref().unwrap_err().code,
        ResponseCode::ErrorIrresolvableConflict
    );

    // Without a change key the update is refused unless it overwrites.
    let mut keyless = UpdateItem::guarded(vec![ItemChange {
        id: ItemId::new(first.id.clone(), None),
        updates: Updates::Contact(vec![ContactUpdate::Nickname(Some("C".into()))]),
    }]);
    // Our client refuses to send it at all (the simulator's own refusal,
    // ErrorChangeKeyRequiredForWriteOperations, is in tests/error_codes.rs).
    let world = env.sim.world();
    let sent_before = world.stats().requests.get("UpdateItem").copied();
    match env.ews.execute(env.mailbox(), &keyless).await {
        Err(EwsError::InvalidInput { field, .. }) => assert_eq!(field, "ChangeKey"),
        other => panic!("a keyless guarded update is refused before sending: {other:?}"),
    }
    assert_eq!(
        world.stats().requests.get("UpdateItem").copied(),
        sent_before
    );
    let untouched = env.sim.world().item(env.mailbox(), &first.id).unwrap();
    assert_eq!(
        untouched.change_key,
        second.change_key.as_ref().unwrap().as_str()
    );
    keyless.conflict_resolution = mailbridge_ews::ops::ConflictResolution::AlwaysOverwrite;
    let overwritten = env.ews.execute(env.mailbox(), &keyless).await.unwrap();
    let third = id_of(&overwritten[0]);
    assert_ne!(third.change_key, second.change_key);

    // A change key this server never issued is not a stale one: it is invalid.
    let forged = UpdateItem::guarded(vec![ItemChange {
        id: ItemId::new(
            first.id.clone(),
            Some(mailbridge_ews::types::ChangeKey::new("bm90IGEga2V5")),
        ),
        updates: Updates::Contact(vec![ContactUpdate::Nickname(Some("D".into()))]),
    }]);
    let invalid = env.ews.execute(env.mailbox(), &forged).await.unwrap();
    assert_eq!(
        invalid[0].as_ref().unwrap_err().code,
        ResponseCode::ErrorInvalidChangeKey
    );
}

#[tokio::test]
async fn deletes_move_items_to_deleted_items_and_then_sync_as_deletes() {
    let env = harness::start().await;
    let world = env.sim.world();
    world
        .seed(
            env.mailbox(),
            &SeedSpec {
                contacts: 3,
                ..SeedSpec::default()
            },
        )
        .unwrap();
    let sync = SyncFolderItems::new(DistinguishedFolder::Contacts, None);
    let page = env.ews.execute(env.mailbox(), &sync).await.unwrap();
    let victim = page.changes[0].clone();
    let SyncChange::Create(item) = victim else {
        panic!("creates")
    };
    let id = item.id().unwrap().clone();

    let deleted = env
        .ews
        .execute(
            env.mailbox(),
            &DeleteItem::move_to_deleted_items(vec![id.clone(), id.clone()]),
        )
        .await
        .unwrap();
    assert!(deleted[0].is_ok());
    assert_eq!(
        deleted[1].as_ref().unwrap_err().code,
        ResponseCode::ErrorItemNotFound
    );
    assert_eq!(
        world
            .items(env.mailbox(), FolderKind::Contacts)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        world
            .items(env.mailbox(), FolderKind::DeletedItems)
            .unwrap()
            .len(),
        1
    );

    let next = SyncFolderItems::new(DistinguishedFolder::Contacts, page.sync_state);
    let delta = env.ews.execute(env.mailbox(), &next).await.unwrap();
    assert_eq!(
        delta.changes,
        [SyncChange::Delete(ItemId::new(id.id, None))]
    );
}

#[tokio::test]
async fn sent_mail_reaches_the_outbox_and_a_copy_lands_in_sent_items() {
    let env = harness::start().await;
    let mut message = Message {
        subject: Some("Your viewing on Friday".into()),
        body: Some(Body::text("See you at 10:00 <sharp> & on time.")),
        to: vec![Mailbox::new("buyer@buyers.example")],
        cc: vec![Mailbox::new("partner@buyers.example")],
        attachments: vec![FileAttachment {
            name: "plan.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.7 floor plan".to_vec(),
        }],
        ..Message::default()
    };
    message
        .common
        .extended
        .push(mailbridge_ews::types::ExtendedProperty {
            field: mailbridge_ews::types::IDEMPOTENCY_KEY_PROPERTY,
            value: "send-42".into(),
        });
    let sent = env
        .ews
        .execute(env.mailbox(), &CreateItem::send_and_save_copy(message))
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].as_ref().unwrap(),
        &None,
        "Exchange names no id for a sent message"
    );

    let world = env.sim.world();
    let outbox = world.outbox();
    assert_eq!(outbox.len(), 1);
    let delivered = &outbox[0];
    assert_eq!(delivered.mailbox, env.mailbox());
    assert_eq!(
        delivered.message.from.as_ref().unwrap().address,
        env.mailbox()
    );
    assert_eq!(
        delivered.message.attachments[0].content,
        b"%PDF-1.7 floor plan"
    );
    assert!(delivered.message.internet_message_id.starts_with('<'));
    assert!(delivered.extended.iter().any(|p| p.value == "send-42"));

    let copies = world.items(env.mailbox(), FolderKind::SentItems).unwrap();
    assert_eq!(copies.len(), 1);
    assert_eq!(
        copies[0].content.common.body.as_ref().unwrap().content,
        "See you at 10:00 <sharp> & on time."
    );

    // The copy is found by the stamped idempotency key, as a retried send looks for it.
    let find = FindItem {
        folder: DistinguishedFolder::SentItems.into(),
        shape: ItemShape::ids_with_crm_id(),
        view: View::Indexed {
            max_entries: 5,
            offset: 0,
        },
        restriction: Some(Restriction::IsEqualTo(
            PropertyPath::Extended(mailbridge_ews::types::IDEMPOTENCY_KEY_PROPERTY),
            "send-42".into(),
        )),
    };
    assert_eq!(
        env.ews
            .execute(env.mailbox(), &find)
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    // An invalid recipient is refused and nothing is delivered.
    let bad = Message {
        subject: Some("x".into()),
        to: vec![Mailbox::new("not an address")],
        ..Message::default()
    };
    let refused = env
        .ews
        .execute(env.mailbox(), &CreateItem::send_and_save_copy(bad))
        .await
        .unwrap();
    assert_eq!(
        refused[0].as_ref().unwrap_err().code,
        ResponseCode::ErrorInvalidRecipients
    );
    assert_eq!(world.outbox().len(), 1);
}

#[tokio::test]
async fn bad_requests_get_exchange_errors_not_crashes() {
    let env = harness::start().await;
    let event = CalendarItem {
        subject: Some("Backwards".into()),
        start: Some(at(2, 10)),
        end: Some(at(2, 9)),
        ..CalendarItem::default()
    };
    let create = CreateItem::save_in(
        DistinguishedFolder::Calendar,
        vec![Item::CalendarItem(Box::new(event))],
    );
    let result = env.ews.execute(env.mailbox(), &create).await.unwrap();
    assert_eq!(
        result[0].as_ref().unwrap_err().code,
        ResponseCode::ErrorCalendarEndDateIsEarlierThanStartDate
    );

    let stale = SyncFolderItems::new(
        DistinguishedFolder::Contacts,
        Some(mailbridge_ews::types::SyncState::new(
            "H4sIAAAAAAAEAGNgYGBgYGRg+/8fAA==",
        )),
    );
    match env.ews.execute(env.mailbox(), &stale).await {
        Err(EwsError::Response(err)) => {
            assert_eq!(err.code, ResponseCode::ErrorInvalidSyncStateData);
        }
        other => panic!("an invalid sync state is refused: {other:?}"),
    }

    let too_long = FindItem {
        folder: DistinguishedFolder::Calendar.into(),
        shape: ItemShape::ids_with_crm_id(),
        view: View::Calendar {
            start: at(1, 0),
            end: at(1, 0) + Duration::days(800),
            max_entries: None,
        },
        restriction: None,
    };
    match env.ews.execute(env.mailbox(), &too_long).await {
        Err(EwsError::SoapFault { code, .. }) => {
            assert_eq!(code, ResponseCode::parse("ErrorCalendarViewRangeTooBig"));
        }
        other => panic!("a view over two years is refused: {other:?}"),
    }
}
