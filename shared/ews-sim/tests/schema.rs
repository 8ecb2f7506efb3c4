//! Every response the simulator returns validates against Microsoft's EWS schemas: each
//! operation's successes, each per-item error, each SOAP fault and each throttling answer,
//! recorded while real clients talk to it, checked with xmllint.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod harness;
mod raw;

use chrono::{TimeZone, Utc};
use mailbridge_ews::ops::{
    CalendarUpdate, ContactUpdate, CreateItem, DeleteItem, FindItem, GetFolder, GetItem,
    ItemChange, Restriction, SyncFolderItems, UpdateItem, Updates, View,
};
use mailbridge_ews::types::{
    CRM_ID_PROPERTY, CalendarItem, Contact, DistinguishedFolder, FolderId, Item, ItemId, ItemShape,
    Mailbox, Message, PropertyPath, SyncState,
};
use mailbridge_ews_sim::model::{FolderKind, SeedSpec};
use mailbridge_ews_sim::{Fault, Refusal, ThrottlePolicy};

use raw::{MESSAGES, SOAP, TYPES, xmllint};

/// Runs every operation, with successes and failures, through our client.
async fn exercise_the_client(env: &harness::Env) {
    let mb = env.mailbox();
    let world = env.sim.world();
    world
        .seed(
            mb,
            &SeedSpec {
                contacts: 40,
                events: 10,
                recurring: 3,
                seed: 9,
                from: None,
            },
        )
        .unwrap();

    let folders = GetFolder {
        folders: vec![
            DistinguishedFolder::Contacts.into(),
            DistinguishedFolder::Calendar.into(),
            DistinguishedFolder::Inbox.into(),
            FolderId::Id {
                id: "garbage".into(),
                change_key: None,
            },
        ],
    };
    drop(env.ews.execute(mb, &folders).await);

    for (folder, shape) in [
        (DistinguishedFolder::Contacts, ItemShape::ids_with_crm_id()),
        (DistinguishedFolder::Contacts, ItemShape::full_with_crm_id()),
        (DistinguishedFolder::Calendar, ItemShape::full_with_crm_id()),
    ] {
        let mut op = SyncFolderItems::new(folder, None);
        op.shape = shape;
        op.max_changes = 25;
        let page = env.ews.execute(mb, &op).await.unwrap();
        op.sync_state = page.sync_state;
        drop(env.ews.execute(mb, &op).await);
    }
    let bad_state =
        SyncFolderItems::new(DistinguishedFolder::Contacts, Some(SyncState::new("AAAA")));
    drop(env.ews.execute(mb, &bad_state).await);

    let mut c = Contact {
        display_name: Some("Ünïcødé & <Co> ]]>".into()),
        ..Contact::default()
    };
    c.common.crm_id = Some("crm-schema".into());
    let created = env
        .ews
        .execute(
            mb,
            &CreateItem::save_in(
                DistinguishedFolder::Contacts,
                vec![Item::Contact(Box::new(c))],
            ),
        )
        .await
        .unwrap();
    let id = created[0].clone().unwrap().unwrap();
    let start = Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap();
    let mut event = CalendarItem {
        subject: Some("Series".into()),
        start: Some(start),
        end: Some(start + chrono::Duration::hours(1)),
        ..CalendarItem::default()
    };
    event
        .required_attendees
        .push(mailbridge_ews::types::Attendee::new(Mailbox::new(
            "x@buyers.example",
        )));
    let backwards = CalendarItem {
        start: Some(start),
        end: Some(start - chrono::Duration::hours(1)),
        ..CalendarItem::default()
    };
    let calendar = CreateItem::save_in(
        DistinguishedFolder::Calendar,
        vec![
            Item::CalendarItem(Box::new(event)),
            Item::CalendarItem(Box::new(backwards)),
        ],
    );
    let events = env.ews.execute(mb, &calendar).await.unwrap();
    let event_id = events[0].clone().unwrap().unwrap();

    drop(
        env.ews
            .execute(
                mb,
                &GetItem::full(vec![id.clone(), ItemId::new("bm9wZQ==", None)]),
            )
            .await,
    );
    let find = FindItem {
        folder: DistinguishedFolder::Contacts.into(),
        shape: ItemShape::full_with_crm_id(),
        view: View::Indexed {
            max_entries: 5,
            offset: 0,
        },
        restriction: Some(Restriction::IsEqualTo(
            PropertyPath::Extended(CRM_ID_PROPERTY),
            "crm-schema".into(),
        )),
    };
    drop(env.ews.execute(mb, &find).await);
    let view = FindItem {
        folder: DistinguishedFolder::Calendar.into(),
        shape: ItemShape::full_with_crm_id(),
        view: View::Calendar {
            start,
            end: start + chrono::Duration::days(40),
            max_entries: Some(50),
        },
        restriction: None,
    };
    drop(env.ews.execute(mb, &view).await);

    let update = UpdateItem::guarded(vec![
        ItemChange {
            id: id.clone(),
            updates: Updates::Contact(vec![ContactUpdate::JobTitle(Some("Agent".into()))]),
        },
        ItemChange {
            id: event_id.clone(),
            updates: Updates::CalendarItem(vec![CalendarUpdate::Location(Some("Hall".into()))]),
        },
    ]);
    drop(env.ews.execute(mb, &update).await);
    drop(env.ews.execute(mb, &update).await);

    let message = Message {
        subject: Some("Hello".into()),
        to: vec![Mailbox::new("buyer@buyers.example")],
        ..Message::default()
    };
    drop(
        env.ews
            .execute(mb, &CreateItem::send_and_save_copy(message))
            .await,
    );
    let sent = world.items(mb, FolderKind::SentItems).unwrap();
    drop(
        env.ews
            .execute(
                mb,
                &GetItem::full(vec![ItemId::new(sent[0].id.clone(), None)]),
            )
            .await,
    );

    drop(
        env.ews
            .execute(
                mb,
                &DeleteItem::move_to_deleted_items(vec![id.clone(), event_id, id]),
            )
            .await,
    );
    drop(env.ews.execute("nobody@contoso.example", &folders).await);
}

/// Requests no client of ours sends: other prefixes, throttling answered both ways.
async fn exercise_raw_requests(env: &harness::Env) {
    let token = raw::token(env).await;
    let mb = env.mailbox();
    let world = env.sim.world();

    // A default-namespace request in the style of other EWS libraries.
    let other_style = format!(
        r#"<Envelope xmlns="{SOAP}"><Header><ExchangeImpersonation xmlns="{TYPES}"><ConnectingSID><PrimarySmtpAddress>{mb}</PrimarySmtpAddress></ConnectingSID></ExchangeImpersonation></Header><Body><FindItem xmlns="{MESSAGES}" Traversal="Shallow"><ItemShape><BaseShape xmlns="{TYPES}">Default</BaseShape></ItemShape><IndexedPageItemView MaxEntriesReturned="3" Offset="0" BasePoint="Beginning"/><SortOrder><FieldOrder xmlns="{TYPES}" Order="Descending"><FieldURI FieldURI="contacts:Surname"/></FieldOrder></SortOrder><ParentFolderIds><DistinguishedFolderId xmlns="{TYPES}" Id="contacts"/></ParentFolderIds></FindItem></Body></Envelope>"#
    );
    let (status, body) = raw::post(env, &token, other_style).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("IncludesLastItemInRange=\"false\""), "{body}");

    // Throttling answered as Exchange does: a fault, and a per-message error.
    for refusal in [Refusal::ServerBusyFault, Refusal::ServerBusyMessage] {
        world.set_throttle(ThrottlePolicy {
            refusal,
            ..ThrottlePolicy::default()
        });
        world.inject(Fault::ServerBusy, None);
        let sync = SyncFolderItems::new(DistinguishedFolder::Contacts, None);
        let _ = env.ews.execute(mb, &sync).await;
    }
    world.set_throttle(ThrottlePolicy::default());
}

#[tokio::test]
async fn every_response_validates_against_the_ews_schemas() {
    let env = harness::start().await;
    env.sim.world().record_responses(true);
    exercise_the_client(&env).await;
    exercise_raw_requests(&env).await;
    let recorded = env.sim.world().take_recorded();

    let documents: Vec<(String, Vec<u8>)> = recorded
        .iter()
        .enumerate()
        .filter(|(_, r)| r.body.starts_with("<?xml"))
        .map(|(n, r)| {
            (
                format!("{n:03}-{}-{}", r.op, r.status),
                r.body.clone().into_bytes(),
            )
        })
        .collect();
    assert!(
        documents.len() >= 20,
        "only {} XML responses were recorded",
        documents.len()
    );

    // Every operation and every kind of failure was covered.
    let all = documents
        .iter()
        .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    for expected in [
        "GetFolderResponse",
        "SyncFolderItemsResponse",
        "GetItemResponse",
        "FindItemResponse",
        "CreateItemResponse",
        "UpdateItemResponse",
        "DeleteItemResponse",
        "ErrorItemNotFound",
        "ErrorInvalidIdMalformed",
        "ErrorIrresolvableConflict",
        "ErrorInvalidSyncStateData",
        "ErrorCalendarEndDateIsEarlierThanStartDate",
        "ErrorNonExistentMailbox",
        "ErrorServerBusy",
        "BackOffMilliseconds",
        "t:Recurrence",
        "t:ModifiedOccurrences",
        "t:DeletedOccurrences",
    ] {
        assert!(
            all.contains(expected),
            "no recorded response holds {expected}"
        );
    }

    let (faults, messages): (Vec<_>, Vec<_>) =
        documents.into_iter().partition(|(_, d)| raw::is_fault(d));
    raw::check_faults(&faults);
    assert!(faults.len() >= 2, "only {} faults", faults.len());

    let verdicts = xmllint::validate(&messages);
    let failures: Vec<String> = verdicts
        .iter()
        .filter_map(|(name, v)| v.as_ref().err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "responses that do not validate:\n{}",
        failures.join("\n")
    );
}
