//! Hostile text through the sync engine: CRM records with hostile values reach the mailbox
//! byte for byte, and hostile edits the owner makes in Outlook come back to the CRM byte
//! for byte too (markup, an injected element, characters beyond the BMP, combining marks,
//! surrounding white space and `\r\n` line ends). Only a value that is nothing but white
//! space counts as no value.

#[path = "../../../ews-sim/tests/hostile/values.rs"]
mod values;

use mailbridge_ews_sim::model::{Body as SimBody, ItemData as SimData};
use mailbridge_mailbox::{ItemData, RemoteItem};
use mailbridge_store::Folder;
use values::{CRM_ID, INJECTED, MARKUP, SPACING, UNICODE, assert_same, hostile};

use crate::harness::Env;

/// The mailbox item stamped with [`CRM_ID`], read through EWS.
async fn stamped(env: &Env, folder: Folder) -> RemoteItem {
    env.remote_items(folder)
        .await
        .into_iter()
        .find(|i| i.crm_id.as_deref() == Some(CRM_ID))
        .expect("the pushed item carries the hostile CRM id")
}

/// The CRM's record for [`CRM_ID`].
async fn record(env: &Env, folder: Folder) -> ItemData {
    let record = env
        .records(folder)
        .await
        .into_iter()
        .find(|r| r.crm_id == CRM_ID)
        .expect("the record exists");
    let json = record.data.as_deref().unwrap();
    match folder {
        Folder::Contacts => ItemData::contact_from_json(json),
        Folder::Calendar => ItemData::event_from_json(json),
    }
    .unwrap()
}

/// Checks that every EWS exchange since recording started succeeded (the simulator refuses
/// a request that is not well-formed) and that the injected element crossed only as text.
fn assert_wire_clean(env: &Env) {
    let recorded = env.sim.world().take_recorded();
    assert!(recorded.len() >= 10, "only {} exchanges", recorded.len());
    for r in recorded {
        assert_eq!(r.status, 200, "{}: {}", r.op, r.body);
        for xml in [&r.request, &r.body] {
            assert!(!xml.contains(INJECTED), "{}: an element was injected", r.op);
        }
    }
}

/// Pushes `crm` and `crm_edit` in turn and checks the mailbox holds each exactly; returns
/// the item's id.
async fn push_exactly(env: &Env, folder: Folder, crm: &ItemData, crm_edit: &ItemData) -> String {
    env.sim.world().record_responses(true);
    env.crm_write(folder, CRM_ID, Some(crm)).await;
    let report = env.sync_folder(folder).await.unwrap();
    assert_eq!(report.mailbox_created, 1, "{report:?}");
    let item = stamped(env, folder).await;
    assert_same("the mailbox after the CRM's create", &item.data, crm);

    // Our own write comes back in the next pull and is not mistaken for an edit.
    let report = env.sync_folder(folder).await.unwrap();
    assert_eq!(
        report.crm_updated + report.crm_created + report.mailbox_updated,
        0,
        "{report:?}"
    );

    env.crm_write(folder, CRM_ID, Some(crm_edit)).await;
    let report = env.sync_folder(folder).await.unwrap();
    assert_eq!(report.mailbox_updated, 1, "{report:?}");
    let item = stamped(env, folder).await;
    assert_same("the mailbox after the CRM's edit", &item.data, crm_edit);
    env.assert_converged(folder).await;
    item.item.id
}

#[tokio::test]
async fn hostile_contacts_sync_both_ways_without_breaking_or_injecting_xml() {
    let env = crate::harness::start().await;
    let (crm, crm_edit) = (values::contact(), values::edited_contact());
    let id = push_exactly(&env, Folder::Contacts, &crm, &crm_edit).await;

    // The owner edits the contact in Outlook with hostile values of their own.
    let owner_notes = hostile("owner's notes");
    let owner_job = format!("{INJECTED}{SPACING}");
    let (notes, job) = (owner_notes.clone(), owner_job.clone());
    env.sim
        .world()
        .owner_edit(env.mailbox(), &id, move |content| {
            let SimData::Contact(c) = &mut content.data else {
                panic!("a contact")
            };
            c.job_title = Some(job);
            c.surname = Some(INJECTED.into());
            c.department = Some(format!(" {UNICODE} {MARKUP} "));
            content.common.body = Some(SimBody::text(notes));
        })
        .unwrap();
    let report = env.sync_folder(Folder::Contacts).await.unwrap();
    assert_eq!(report.crm_updated, 1, "{report:?}");

    let ItemData::Contact(mut owner) = crm_edit else {
        unreachable!()
    };
    owner.job_title = Some(owner_job);
    owner.surname = Some(INJECTED.into());
    owner.department = Some(format!(" {UNICODE} {MARKUP} "));
    owner.notes = Some(owner_notes);
    let owner = ItemData::Contact(owner);
    assert_same(
        "the mailbox after the owner's edit",
        &stamped(&env, Folder::Contacts).await.data,
        &owner,
    );
    let got = record(&env, Folder::Contacts).await;
    assert_same("the CRM after the owner's edit", &got, &owner.stored());
    let ItemData::Contact(c) = &got else {
        unreachable!()
    };
    assert_eq!(
        c.surname.as_deref(),
        Some(INJECTED),
        "an injected element is text"
    );
    assert_eq!(
        c.department.as_deref(),
        Some(format!(" {UNICODE} {MARKUP} ").as_str()),
        "surrounding white space is kept"
    );

    // Settled: nothing echoes, both sides agree.
    let report = env.sync_folder(Folder::Contacts).await.unwrap();
    assert_eq!(report.crm_updated + report.mailbox_updated, 0, "{report:?}");
    env.assert_converged(Folder::Contacts).await;
    assert_wire_clean(&env);
}

#[tokio::test]
async fn hostile_events_sync_both_ways_without_breaking_or_injecting_xml() {
    let env = crate::harness::start().await;
    let (crm, crm_edit) = (values::event(), values::edited_event());
    let id = push_exactly(&env, Folder::Calendar, &crm, &crm_edit).await;

    let subject = format!("{SPACING}{INJECTED} {UNICODE}");
    let body = hostile("owner's agenda");
    let (s, b) = (subject.clone(), body.clone());
    env.sim
        .world()
        .owner_edit(env.mailbox(), &id, move |content| {
            let SimData::Event(e) = &mut content.data else {
                panic!("an event")
            };
            e.subject = Some(s);
            e.location = Some(MARKUP.into());
            content.common.body = Some(SimBody::text(b));
        })
        .unwrap();
    let report = env.sync_folder(Folder::Calendar).await.unwrap();
    assert_eq!(report.crm_updated, 1, "{report:?}");

    let ItemData::Event(mut owner) = crm_edit else {
        unreachable!()
    };
    owner.subject = Some(subject);
    owner.location = Some(MARKUP.into());
    owner.body = Some(body);
    let owner = ItemData::Event(owner);
    let got = record(&env, Folder::Calendar).await;
    assert_same("the CRM after the owner's edit", &got, &owner.stored());
    let ItemData::Event(e) = &got else {
        unreachable!()
    };
    assert_eq!(e.location.as_deref(), Some(MARKUP));
    env.assert_converged(Folder::Calendar).await;
    assert_wire_clean(&env);
}
