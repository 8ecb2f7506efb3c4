//! Every request the crate can build, and every response fixture that is not a fault or
//! deliberately broken, checked against Microsoft's EWS schemas with xmllint. Hostile
//! values must validate and, where a response would carry them back, read back unchanged.

mod limits;
mod requests;
mod round_trip;
mod xmllint;

use std::path::Path;

use mailbridge_ews::ops::{
    CalendarUpdate, ConflictResolution, CreateItem, DeleteItem, DeleteType, FindItem, GetFolder,
    GetItem, ItemChange, MessageDisposition, Restriction, SendInvitationsOrCancellations,
    SendMeetingCancellations, SendMeetingInvitations, SyncFolderItems, UpdateItem, Updates, View,
};
use mailbridge_ews::types::{
    BaseShape, BodyType, CRM_ID_PROPERTY, ChangeKey, DistinguishedFolder, FolderId, Item, ItemId,
    ItemShape, PropertyPath, SyncState,
};
use mailbridge_ews::{EwsError, Operation};
use requests::{HOSTILE, MAILBOX, id, long_text, utc};

/// One named document for xmllint.
fn doc(name: &str, envelope: Result<String, EwsError>) -> (String, Vec<u8>) {
    let envelope = envelope.unwrap_or_else(|err| panic!("{name}: the crate refused: {err}"));
    (name.to_owned(), envelope.into_bytes())
}

/// The three texts every writer is tried with: plain, hostile and very long.
fn texts() -> [(&'static str, String); 3] {
    [
        ("plain", "plain".to_owned()),
        ("hostile", HOSTILE.to_owned()),
        ("long", long_text()),
    ]
}

#[test]
fn sync_folder_items_requests_validate() {
    let contacts_first = SyncFolderItems::new(DistinguishedFolder::Contacts, None);
    let calendar_next = SyncFolderItems::new(
        DistinguishedFolder::Calendar,
        Some(SyncState::new(
            "H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0oQiAYBMk2JBAEOzBiM3mkuwdaUcjKasqgcplVmVdZhZAzO2dvPfee++999577733/",
        )),
    );
    let by_id_full_shape = SyncFolderItems {
        folder: FolderId::Id {
            id: "AAMkADk0N2E5ZjdlLTk3YTgtNGY0NS1iZGM4LWM0NWE0ZjkzMTRlNgAuAAAAAA==".into(),
            change_key: Some(ChangeKey::new("AQAAABYAAAA=")),
        },
        sync_state: Some(SyncState::new(HOSTILE)),
        shape: ItemShape::full_with_crm_id(),
        max_changes: 1,
    };
    xmllint::assert_valid(&[
        doc("contacts, first page", contacts_first.to_envelope(MAILBOX)),
        doc("calendar, next page", calendar_next.to_envelope(MAILBOX)),
        doc(
            "folder id, full shape",
            by_id_full_shape.to_envelope(MAILBOX),
        ),
    ]);
}

#[test]
fn get_item_requests_validate() {
    let full = GetItem::full(vec![
        id("AAMkAGI2AAA=", "EQAAABYAAAA="),
        ItemId::new(HOSTILE, None),
    ]);
    let html_default = GetItem {
        ids: vec![id("AAMkAGI2AAB=", "EQAAABYAAAB=")],
        shape: ItemShape {
            base: BaseShape::Default,
            body_type: Some(BodyType::Html),
            additional: vec![
                PropertyPath::Field("item:Categories"),
                PropertyPath::Indexed {
                    uri: "contacts:EmailAddress",
                    index: "EmailAddress1",
                },
                PropertyPath::Extended(CRM_ID_PROPERTY),
            ],
        },
    };
    xmllint::assert_valid(&[
        doc("full shape with CRM id", full.to_envelope(MAILBOX)),
        doc("default shape, HTML", html_default.to_envelope(MAILBOX)),
    ]);
}

#[test]
fn find_item_requests_validate() {
    let calendar_view = |max_entries| FindItem {
        folder: DistinguishedFolder::Calendar.into(),
        shape: ItemShape::full_with_crm_id(),
        view: View::Calendar {
            start: utc(2026, 3, 1, 0, 0),
            end: utc(2026, 4, 1, 0, 0),
            max_entries,
        },
        restriction: None,
    };
    let by_crm_id = |value: &str| FindItem {
        folder: DistinguishedFolder::Contacts.into(),
        shape: ItemShape::ids_with_crm_id(),
        view: View::Indexed {
            max_entries: 10,
            offset: 20,
        },
        restriction: Some(Restriction::IsEqualTo(
            PropertyPath::Extended(CRM_ID_PROPERTY),
            value.to_owned(),
        )),
    };
    let mut docs = vec![
        doc("calendar view", calendar_view(None).to_envelope(MAILBOX)),
        doc(
            "calendar view, max 50",
            calendar_view(Some(50)).to_envelope(MAILBOX),
        ),
    ];
    for (name, text) in texts() {
        docs.push(doc(
            &format!("CRM id restriction, {name}"),
            by_crm_id(&text).to_envelope(MAILBOX),
        ));
    }
    xmllint::assert_valid(&docs);
}

#[test]
fn get_folder_request_validates() {
    let op = GetFolder {
        folders: vec![
            DistinguishedFolder::Contacts.into(),
            DistinguishedFolder::Calendar.into(),
            DistinguishedFolder::SentItems.into(),
            DistinguishedFolder::DeletedItems.into(),
            DistinguishedFolder::Drafts.into(),
            DistinguishedFolder::Inbox.into(),
            FolderId::Id {
                id: "AQMkAGI2AAA=".into(),
                change_key: None,
            },
        ],
    };
    xmllint::assert_valid(&[doc("every folder kind", op.to_envelope(MAILBOX))]);
}

#[test]
fn create_item_contact_requests_validate() {
    let mut docs: Vec<_> = texts()
        .into_iter()
        .map(|(name, text)| {
            let contact = Item::Contact(Box::new(requests::full_contact(&text)));
            let op = CreateItem::save_in(DistinguishedFolder::Contacts, vec![contact]);
            doc(&format!("contact, {name}"), op.to_envelope(MAILBOX))
        })
        .collect();
    let empty = CreateItem::save_in(
        DistinguishedFolder::Contacts,
        vec![Item::Contact(Box::default())],
    );
    docs.push(doc("empty contact", empty.to_envelope(MAILBOX)));
    xmllint::assert_valid(&docs);
}

#[test]
fn create_item_calendar_requests_validate() {
    let mut docs = Vec::new();
    for (name, text) in texts() {
        let series = Item::CalendarItem(Box::new(requests::full_calendar_item(&text)));
        let all_day = Item::CalendarItem(Box::new(requests::all_day_event(&text)));
        let op = CreateItem::save_in(DistinguishedFolder::Calendar, vec![series, all_day]);
        docs.push(doc(
            &format!("series and all-day, {name}"),
            op.to_envelope(MAILBOX),
        ));
    }
    for invitations in [
        SendMeetingInvitations::SendOnlyToAll,
        SendMeetingInvitations::SendToAllAndSaveCopy,
    ] {
        let meeting = Item::CalendarItem(Box::new(requests::full_calendar_item("x")));
        let mut op = CreateItem::save_in(DistinguishedFolder::Calendar, vec![meeting]);
        op.send_meeting_invitations = Some(invitations);
        docs.push(doc(&format!("{invitations:?}"), op.to_envelope(MAILBOX)));
    }
    xmllint::assert_valid(&docs);
}

#[test]
fn create_item_message_requests_validate() {
    let mut docs: Vec<_> = texts()
        .into_iter()
        .map(|(name, text)| {
            let op = CreateItem::send_and_save_copy(requests::full_message(&text));
            doc(&format!("message, {name}"), op.to_envelope(MAILBOX))
        })
        .collect();
    for disposition in [MessageDisposition::SaveOnly, MessageDisposition::SendOnly] {
        let mut op = CreateItem::send_and_save_copy(requests::full_message("x"));
        op.message_disposition = Some(disposition);
        op.saved_item_folder = None;
        docs.push(doc(&format!("{disposition:?}"), op.to_envelope(MAILBOX)));
    }
    xmllint::assert_valid(&docs);
}

#[test]
fn update_item_contact_requests_validate() {
    let mut docs = Vec::new();
    for (name, text) in texts() {
        let op = UpdateItem::guarded(vec![
            ItemChange {
                id: id("AAMkAGI2AAA=", "EQAAABYAAAA="),
                updates: Updates::Contact(requests::contact_sets(&text)),
            },
            ItemChange {
                id: id("AAMkAGI2AAB=", "EQAAABYAAAB="),
                updates: Updates::Contact(requests::contact_deletes()),
            },
        ]);
        docs.push(doc(
            &format!("contact sets and deletes, {name}"),
            op.to_envelope(MAILBOX),
        ));
    }
    xmllint::assert_valid(&docs);
}

#[test]
fn update_item_calendar_requests_validate() {
    let mut docs = Vec::new();
    for (name, text) in texts() {
        let op = UpdateItem::guarded(vec![
            ItemChange {
                id: id("AAMkAGI2AAC=", "DwAAABYAAAA="),
                updates: Updates::CalendarItem(requests::calendar_sets(&text)),
            },
            ItemChange {
                id: id("AAMkAGI2AAD=", "DwAAABYAAAB="),
                updates: Updates::CalendarItem(requests::calendar_deletes()),
            },
        ]);
        docs.push(doc(
            &format!("calendar sets and deletes, {name}"),
            op.to_envelope(MAILBOX),
        ));
    }
    let options = [
        (
            ConflictResolution::AutoResolve,
            SendInvitationsOrCancellations::SendToNone,
        ),
        (
            ConflictResolution::AlwaysOverwrite,
            SendInvitationsOrCancellations::SendOnlyToAll,
        ),
        (
            ConflictResolution::NeverOverwrite,
            SendInvitationsOrCancellations::SendOnlyToChanged,
        ),
        (
            ConflictResolution::NeverOverwrite,
            SendInvitationsOrCancellations::SendToAllAndSaveCopy,
        ),
    ];
    for (conflict, send) in options {
        let op = UpdateItem {
            changes: vec![ItemChange {
                id: id("AAMkAGI2AAC=", "DwAAABYAAAA="),
                updates: Updates::CalendarItem(vec![CalendarUpdate::Subject(Some("x".into()))]),
            }],
            conflict_resolution: conflict,
            send_invitations_or_cancellations: send,
        };
        docs.push(doc(
            &format!("{conflict:?}, {send:?}"),
            op.to_envelope(MAILBOX),
        ));
    }
    xmllint::assert_valid(&docs);
}

#[test]
fn delete_item_requests_validate() {
    let ids = vec![
        id("AAMkAGI2AAA=", "EQAAABYAAAA="),
        ItemId::new("AAMkAGI2AAB=", None),
    ];
    let mut docs = vec![doc(
        "move to deleted items",
        DeleteItem::move_to_deleted_items(ids.clone()).to_envelope(MAILBOX),
    )];
    for (delete_type, cancellations) in [
        (DeleteType::HardDelete, SendMeetingCancellations::SendToNone),
        (
            DeleteType::SoftDelete,
            SendMeetingCancellations::SendOnlyToAll,
        ),
    ] {
        let op = DeleteItem {
            ids: ids.clone(),
            delete_type,
            send_meeting_cancellations: cancellations,
        };
        docs.push(doc(&format!("{delete_type:?}"), op.to_envelope(MAILBOX)));
    }
    xmllint::assert_valid(&docs);
}

#[test]
fn the_schema_check_is_not_vacuous() {
    let good = CreateItem::save_in(
        DistinguishedFolder::Contacts,
        vec![Item::Contact(Box::new(requests::full_contact("x")))],
    )
    .to_envelope(MAILBOX)
    .unwrap();
    // Surname belongs after JobTitle; moved first it breaks the schema's sequence.
    let misordered = good.replacen("<t:FileAs>", "<t:Surname>Early</t:Surname><t:FileAs>", 1);
    let unknown = good.replacen("<t:FileAs>", "<t:NoSuchProperty/><t:FileAs>", 1);
    let verdicts = xmllint::validate(&[
        ("good".into(), good.into_bytes()),
        ("misordered".into(), misordered.into_bytes()),
        ("unknown".into(), unknown.into_bytes()),
    ]);
    assert_eq!(verdicts["good"], Ok(()));
    let misordered = verdicts["misordered"].as_ref().unwrap_err();
    assert!(
        misordered.contains("This element is not expected"),
        "{misordered}"
    );
    let unknown = verdicts["unknown"].as_ref().unwrap_err();
    assert!(unknown.contains("NoSuchProperty"), "{unknown}");
}

/// Fixture folders whose files are not EWS response messages: SOAP faults (the schema has
/// no fault type), deliberately broken bodies, and responses with what a newer server adds.
const NOT_SCHEMA_VALID: [&str; 3] = ["faults", "broken", "newer_schema"];

#[test]
fn response_fixtures_validate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut docs = Vec::new();
    let mut folders: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let folder_name = folder.file_name().unwrap().to_string_lossy().into_owned();
        if NOT_SCHEMA_VALID.contains(&folder_name.as_str()) {
            continue;
        }
        let mut files: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort();
        for file in files {
            let name = file.strip_prefix(&root).unwrap().display().to_string();
            docs.push((name, std::fs::read(&file).unwrap()));
        }
    }
    for folder in [
        "sync_folder_items",
        "get_item",
        "find_item",
        "get_folder",
        "create_item",
        "update_item",
        "delete_item",
    ] {
        assert!(
            docs.iter().any(|(name, _)| name.starts_with(folder)),
            "no fixtures under tests/fixtures/{folder}"
        );
    }
    xmllint::assert_valid(&docs);
}
