//! Hostile text end to end: contacts and events written through `EwsMailbox` (the
//! `MailboxBackend` over our EWS client) into the simulator and read back with delta,
//! fetch and find, an update, and a message sent with `SendAndSaveCopy`. Markup, a CDATA
//! end, an injected element, every kind of line end, surrounding spaces, characters beyond
//! the BMP, combining marks and values at the length limit must come back byte for byte;
//! characters XML cannot carry must be refused before anything is sent; and every request
//! and response on the wire must validate against the EWS schemas.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod harness;

#[path = "hostile/values.rs"]
mod values;
#[allow(dead_code)]
#[path = "../../ews/tests/xmllint/mod.rs"]
mod xmllint;

use mailbridge_ews::ops::{CreateItem, FindItem, GetItem, View};
use mailbridge_ews::types::{
    BaseShape, Body, BodyType, DistinguishedFolder, Item, ItemShape, Mailbox, Message,
};
use mailbridge_ews::{EwsError, EwsMailbox};
use mailbridge_ews_sim::model::{self, FolderKind as SimFolder};
use mailbridge_ews_sim::{Recorded, World};
use mailbridge_mailbox::data::Address;
use mailbridge_mailbox::{
    BackendError, Change, ContactData, FolderKind, ItemData, ItemRef, MailboxBackend,
};
use values::{
    CRM_ID, INJECTED, MARKUP, SPACING, UNICODE, assert_same, at_limit, contact, edited_contact,
    edited_event, event, hostile,
};

async fn fetch(
    backend: &EwsMailbox<'_, mailbridge_identity::TenantTokens>,
    folder: FolderKind,
    id: &str,
) -> mailbridge_mailbox::RemoteItem {
    let mut results = backend.fetch(folder, &[id.to_owned()]).await.unwrap();
    assert_eq!(results.len(), 1);
    results.pop().unwrap().unwrap()
}

/// Creates `first` stamped with [`CRM_ID`], reads it back every way the sync engine does,
/// updates it to `second` and reads that back; returns the item as updated.
async fn round_trip(
    env: &harness::Env,
    folder: FolderKind,
    first: &ItemData,
    second: &ItemData,
) -> ItemRef {
    let backend = EwsMailbox::new(&env.ews, env.mailbox());
    first.validate().unwrap();
    second.validate().unwrap();
    assert_eq!(
        &ItemData::contact_from_json(&first.to_json())
            .or_else(|_| ItemData::event_from_json(&first.to_json()))
            .unwrap(),
        first,
        "the CRM's JSON carries the values exactly"
    );

    let created = backend.create(folder, CRM_ID, first).await.unwrap();
    let fetched = fetch(&backend, folder, &created.id).await;
    assert_eq!(fetched.item, created);
    assert_eq!(fetched.crm_id.as_deref(), Some(CRM_ID));
    assert_same("fetch after create", &fetched.data, first);

    let page = backend.delta(folder, None).await.unwrap();
    assert!(
        page.changes.contains(&Change::Upsert {
            item: created.clone(),
            crm_id: Some(CRM_ID.into()),
        }),
        "the delta lists the item with its stamp: {:?}",
        page.changes
    );
    let found = backend.find_by_crm_id(folder, CRM_ID).await.unwrap();
    let found = found.expect("the hostile stamp finds its item");
    assert_eq!(found.item, created);
    assert_same("find by CRM id", &found.data, first);

    let updated = backend
        .update(folder, &created, first, second)
        .await
        .unwrap();
    assert_eq!(updated.id, created.id);
    assert_ne!(updated.change_key, created.change_key);
    let fetched = fetch(&backend, folder, &updated.id).await;
    assert_eq!(fetched.item, updated);
    assert_same("fetch after update", &fetched.data, second);
    let next = backend.delta(folder, Some(&page.cursor)).await.unwrap();
    assert_eq!(
        next.changes,
        [Change::Upsert {
            item: updated.clone(),
            crm_id: Some(CRM_ID.into()),
        }]
    );
    updated
}

/// Checks every recorded request and XML response against the EWS schemas, and that the
/// injected element reached the wire only as escaped text.
fn assert_wire_valid(world: &World, at_least: usize) {
    let recorded: Vec<Recorded> = world.take_recorded();
    assert!(
        recorded.len() >= at_least,
        "only {} exchanges were recorded",
        recorded.len()
    );
    let mut documents = Vec::new();
    for (n, r) in recorded.iter().enumerate() {
        assert!(
            !r.request.contains("<t:Body>x</t:Body>") && !r.body.contains("<t:Body>x</t:Body>"),
            "{n} {}: the injected element reached the wire as markup",
            r.op
        );
        assert_eq!(r.status, 200, "{n} {}: {}", r.op, r.body);
        documents.push((
            format!("{n:02}-{}-request", r.op),
            r.request.clone().into_bytes(),
        ));
        documents.push((
            format!("{n:02}-{}-response", r.op),
            r.body.clone().into_bytes(),
        ));
    }
    xmllint::assert_valid(&documents);
}

#[tokio::test]
async fn contacts_round_trip_exactly_through_create_fetch_delta_find_and_update() {
    let env = harness::start().await;
    let world = env.sim.world();
    world.record_responses(true);

    let (first, second) = (contact(), edited_contact());
    let updated = round_trip(&env, FolderKind::Contacts, &first, &second).await;

    // The simulator's own reader kept every value too: what it holds is what was sent.
    let held = world.item(env.mailbox(), &updated.id).unwrap();
    let (model::ItemData::Contact(c), ItemData::Contact(want)) = (&held.content.data, &second)
    else {
        panic!("a contact")
    };
    assert_eq!(c.given_name, want.given_name);
    assert_eq!(c.middle_name, want.middle_name);
    assert_eq!(c.surname, want.surname);
    assert_eq!(c.display_name, want.display_name);
    let street = c.addresses.get("Business").and_then(|a| a.street.clone());
    assert_eq!(street, want.business_address.as_ref().unwrap().street);
    let notes = held.content.common.body.as_ref().map(|b| b.content.clone());
    assert_eq!(notes, want.notes);
    assert_eq!(held.content.common.categories, want.categories);

    assert_wire_valid(world, 8);
}

#[tokio::test]
async fn events_round_trip_exactly_and_their_invitations_carry_the_same_text() {
    let env = harness::start().await;
    let world = env.sim.world();
    world.record_responses(true);

    let (first, second) = (event(), edited_event());
    let updated = round_trip(&env, FolderKind::Calendar, &first, &second).await;

    let held = world.item(env.mailbox(), &updated.id).unwrap();
    let (model::ItemData::Event(e), ItemData::Event(want)) = (&held.content.data, &second) else {
        panic!("an event")
    };
    assert_eq!(e.subject, want.subject);
    assert_eq!(e.location, want.location);
    assert_eq!(e.required[0].person.name, want.attendees[0].name);
    let body = held.content.common.body.as_ref().map(|b| b.content.clone());
    assert_eq!(body, want.body);

    // The invitation and the update went out with the subjects and bodies as written.
    let outbox = world.outbox();
    let ItemData::Event(original) = &first else {
        unreachable!()
    };
    let invite = outbox
        .iter()
        .find(|d| d.kind == "meeting_request")
        .expect("an invitation");
    assert_eq!(invite.message.subject, original.subject);
    assert_eq!(
        invite.body.as_ref().map(|b| b.content.clone()),
        original.body
    );
    assert_eq!(invite.message.to[0].name, original.attendees[0].name);
    assert_eq!(invite.message.cc[0].name.as_deref(), Some(INJECTED));
    let update = outbox
        .iter()
        .find(|d| d.kind == "meeting_update")
        .expect("an update to the attendees");
    assert_eq!(update.message.subject, Some(format!("Updated: {INJECTED}")));

    assert_wire_valid(world, 8);
}

#[tokio::test]
async fn a_sent_message_keeps_hostile_subject_and_body_in_the_outbox_and_sent_items() {
    let env = harness::start().await;
    let world = env.sim.world();
    world.record_responses(true);
    let subject = hostile("subject");
    let text: String = hostile("body").chars().cycle().take(100_000).collect();
    let html = format!("<p title=\"{MARKUP}\">&amp; ]]&gt;</p>{SPACING}<!-- {INJECTED} -->");
    let to = Mailbox {
        name: Some(hostile("to")),
        email: "buyer@fabrikam.example".into(),
    };
    let cc = Mailbox {
        name: Some(INJECTED.into()),
        email: "partner@fabrikam.example".into(),
    };

    for body in [
        Body::text(text.clone()),
        Body {
            kind: BodyType::Html,
            content: html.clone(),
        },
    ] {
        let message = Message {
            subject: Some(subject.clone()),
            body: Some(body),
            to: vec![to.clone()],
            cc: vec![cc.clone()],
            ..Message::default()
        };
        let sent = env
            .ews
            .execute(env.mailbox(), &CreateItem::send_and_save_copy(message))
            .await
            .unwrap();
        assert!(sent[0].is_ok(), "{:?}", sent[0]);
    }

    // Delivered as written.
    let outbox = world.outbox();
    assert_eq!(outbox.len(), 2);
    for (delivered, (content, html_body)) in outbox.iter().zip([(&text, false), (&html, true)]) {
        assert_eq!(delivered.message.subject.as_ref(), Some(&subject));
        let body = delivered.body.as_ref().expect("the body was delivered");
        assert_eq!((&body.content, body.html), (content, html_body));
        assert_eq!(delivered.message.to[0].name, to.name);
        assert_eq!(delivered.message.cc[0].name, cc.name);
    }

    // Saved in Sent Items as written, in the simulator and read back through EWS.
    let copies = world.items(env.mailbox(), SimFolder::SentItems).unwrap();
    assert_eq!(copies.len(), 2);
    for (copy, content) in copies.iter().zip([&text, &html]) {
        let model::ItemData::Message(m) = &copy.content.data else {
            panic!("a message")
        };
        assert_eq!(m.subject.as_ref(), Some(&subject));
        let body = copy.content.common.body.as_ref().unwrap();
        assert_eq!(&body.content, content);
    }
    let find = FindItem {
        folder: DistinguishedFolder::SentItems.into(),
        shape: ItemShape::ids_with_crm_id(),
        view: View::Indexed {
            max_entries: 10,
            offset: 0,
        },
        restriction: None,
    };
    let page = env.ews.execute(env.mailbox(), &find).await.unwrap();
    let ids = page.items.iter().filter_map(Item::id).cloned().collect();
    // `Best` keeps each body in the type it was written in.
    let get = GetItem {
        ids,
        shape: ItemShape {
            base: BaseShape::AllProperties,
            body_type: None,
            additional: Vec::new(),
        },
    };
    let mut read: Vec<(String, BodyType)> = Vec::new();
    for result in env.ews.execute(env.mailbox(), &get).await.unwrap() {
        let Item::Message(m) = result.unwrap() else {
            panic!("a message")
        };
        assert_eq!(m.subject.as_ref(), Some(&subject));
        assert_eq!(m.to[0].name, to.name);
        assert_eq!(m.cc[0].name, cc.name);
        let body = m.body.unwrap();
        read.push((body.content, body.kind));
    }
    read.sort_by_key(|(content, _)| content.len());
    assert_eq!(read, [(html, BodyType::Html), (text, BodyType::Text)]);

    assert_wire_valid(world, 4);
}

/// Characters XML 1.0 cannot carry, even as character references.
const UNCARRIABLE: [char; 8] = [
    '\u{0}', '\u{1}', '\u{8}', '\u{B}', '\u{C}', '\u{1F}', '\u{FFFE}', '\u{FFFF}',
];

#[tokio::test]
async fn values_xml_cannot_carry_are_refused_before_anything_is_sent() {
    let env = harness::start().await;
    let world = env.sim.world();
    let backend = EwsMailbox::new(&env.ews, env.mailbox());
    let plain = ItemData::Contact(ContactData {
        given_name: Some("Ada".into()),
        ..ContactData::default()
    });
    let item = backend
        .create(FolderKind::Contacts, "crm-plain", &plain)
        .await
        .unwrap();
    let requests = || world.stats().requests.values().sum::<u64>();

    for bad in UNCARRIABLE {
        let code = format!("U+{:04X}", u32::from(bad));
        let text = format!("before {bad} after");
        let cases = [
            (
                "notes",
                "Body",
                ItemData::Contact(ContactData {
                    notes: Some(text.clone()),
                    ..ContactData::default()
                }),
            ),
            (
                "business_address.city",
                "City",
                ItemData::Contact(ContactData {
                    business_address: Some(Address {
                        city: Some(text.clone()),
                        ..Address::default()
                    }),
                    ..ContactData::default()
                }),
            ),
            ("subject", "Subject", {
                let ItemData::Event(mut e) = event() else {
                    unreachable!()
                };
                e.subject = Some(text.clone());
                ItemData::Event(e)
            }),
            ("attendees.name", "Name", {
                let ItemData::Event(mut e) = event() else {
                    unreachable!()
                };
                e.attendees[1].name = Some(text.clone());
                ItemData::Event(e)
            }),
        ];
        for (field, element, data) in cases {
            // The data layer names the field.
            let err = data.validate().unwrap_err();
            assert_eq!(err.field, field, "{code}");
            assert!(err.reason.contains(&code), "{err}");

            // Handed the data anyway, the backend refuses it without sending a request.
            let folder = match data {
                ItemData::Contact(_) => FolderKind::Contacts,
                ItemData::Event(_) => FolderKind::Calendar,
            };
            let before = requests();
            let err = backend.create(folder, "crm-bad", &data).await.unwrap_err();
            let BackendError::Invalid(message) = &err else {
                panic!("{field} {code}: refused as {err:?}")
            };
            assert!(message.contains(element), "{message}");
            assert!(message.contains(&code), "{message}");
            assert_eq!(requests(), before, "{field} {code}: a request was sent");
        }

        let before = requests();
        let bad_notes = ItemData::Contact(ContactData {
            notes: Some(text.clone()),
            ..ContactData::default()
        });
        let err = backend
            .update(FolderKind::Contacts, &item, &plain, &bad_notes)
            .await
            .unwrap_err();
        assert!(
            matches!(err, BackendError::Invalid(ref m) if m.contains(&code)),
            "{err:?}"
        );
        assert_eq!(requests(), before);

        let message = Message {
            subject: Some(text.clone()),
            to: vec![Mailbox::new("buyer@fabrikam.example")],
            ..Message::default()
        };
        let err = env
            .ews
            .execute(env.mailbox(), &CreateItem::send_and_save_copy(message))
            .await
            .unwrap_err();
        let EwsError::InvalidInput { field, reason } = &err else {
            panic!("{code}: a message refused as {err:?}")
        };
        assert_eq!(field, "Subject");
        assert!(reason.contains(&code), "{reason}");
        assert_eq!(requests(), before);
    }
    assert!(world.outbox().is_empty());
    assert_eq!(
        world.item(env.mailbox(), &item.id).unwrap().change_key,
        item.change_key,
        "the refused updates left the item alone"
    );
}

#[test]
fn one_character_past_the_limit_is_a_data_error_naming_the_field() {
    let past = |seed: &str| format!("{}x", at_limit(seed));
    let ItemData::Contact(mut c) = contact() else {
        unreachable!()
    };
    c.notes = Some(past(&hostile("notes")));
    let err = ItemData::contact_from_json(&ItemData::Contact(c.clone()).to_json()).unwrap_err();
    assert_eq!(err.field, "notes");
    assert!(err.reason.contains("too long"), "{err}");
    c.notes = None;
    c.given_name = Some(past("\u{1F600}"));
    let err = ItemData::contact_from_json(&ItemData::Contact(c).to_json()).unwrap_err();
    assert_eq!(err.field, "given_name");

    let ItemData::Event(mut e) = event() else {
        unreachable!()
    };
    e.body = Some(past(&hostile("body")));
    let err = ItemData::event_from_json(&ItemData::Event(e.clone()).to_json()).unwrap_err();
    assert_eq!(err.field, "body");
    e.body = None;
    e.location = Some(past(UNICODE));
    let err = ItemData::event_from_json(&ItemData::Event(e).to_json()).unwrap_err();
    assert_eq!(err.field, "location");
}
