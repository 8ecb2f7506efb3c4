//! `SyncFolderItems` pages: contacts and calendar changes, per-message errors, and the same
//! page spelled with different prefixes.

use std::time::Duration;

use mailbridge_ews::ops::{SyncChange, SyncFolderItems};
use mailbridge_ews::types::{
    Attendee, Body, BodyType, CalendarItem, CalendarItemType, DeletedOccurrence, Item, ItemCommon,
    LegacyFreeBusy, Mailbox, Occurrence, Recurrence, RecurrencePattern, RecurrenceRange,
    ResponseKind, Sensitivity, SyncState, Weekday,
};
use mailbridge_ews::{ErrorKind, EwsError, ResponseCode};

use crate::{at, date, id, parse};

fn page(path: &str) -> mailbridge_ews::ops::SyncPage {
    parse::<SyncFolderItems>(path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn mailbox(name: &str, email: &str) -> Mailbox {
    Mailbox {
        name: Some(name.into()),
        email: email.into(),
    }
}

fn attendee(name: &str, email: &str, response: ResponseKind, time: Option<&str>) -> Attendee {
    Attendee {
        mailbox: mailbox(name, email),
        response: Some(response),
        last_response_time: time.map(at),
    }
}

#[test]
fn contacts_page_reports_each_change_kind_and_that_more_follow() {
    let page = page("sync_folder_items/contacts_page.xml");

    assert_eq!(
        page.sync_state,
        Some(SyncState::new(
            "H4sIAAAAAAAEAGNgYGBkYGBiYGFhYGBhYGBkYGRgYGZgYGRgYGBkYGBkYGRgY+Bk/AcA"
        ))
    );
    assert!(!page.includes_last_item_in_range);
    assert_eq!(page.changes.len(), 6, "{:#?}", page.changes);

    let SyncChange::Create(Item::Contact(ours)) = &page.changes[0] else {
        panic!("first change: {:?}", page.changes[0]);
    };
    assert_eq!(
        ours.common.id,
        Some(id("AAMkAGI2TG93AAA=", "EQAAABYAAAD4Zjnz"))
    );
    assert_eq!(ours.common.crm_id.as_deref(), Some("crm-contact-0001"));

    let SyncChange::Create(Item::Contact(theirs)) = &page.changes[1] else {
        panic!("second change: {:?}", page.changes[1]);
    };
    assert_eq!(
        theirs.common.id,
        Some(id("AAMkAGI2TG94AAA=", "EQAAABYAAAD4Zjn0"))
    );
    assert_eq!(theirs.common.crm_id, None);

    assert_eq!(
        page.changes[2],
        SyncChange::Create(Item::Other {
            kind: "DistributionList".into(),
            id: Some(id("AAMkAGI2REwxAAA=", "EgAAABYAAAD4Zjn1")),
        })
    );
    // The property set id is a GUID: its case does not matter.
    let SyncChange::Update(updated) = &page.changes[3] else {
        panic!("fourth change: {:?}", page.changes[3]);
    };
    assert_eq!(
        updated.id(),
        Some(&id("AAMkAGI2TG95AAA=", "EQAAABYAAAD4Zjn2"))
    );
    assert_eq!(updated.crm_id(), Some("crm-contact-0002"));
    assert_eq!(
        page.changes[4],
        SyncChange::Delete(id("AAMkAGI2TG9aAAA=", "EQAAABYAAAD4Zjn3"))
    );
    // The id is spelled with character references in the fixture.
    assert_eq!(
        page.changes[5],
        SyncChange::ReadFlagChange {
            id: id("AAMkAGI2TG9bAAA=", "EQAAABYAAAD4Zjn4"),
            is_read: true,
        }
    );
}

fn expected_recurring_master() -> CalendarItem {
    CalendarItem {
        common: ItemCommon {
            id: Some(id("AAMkAGI2Q2FsMDEAAA==", "DwAAABYAAAD4ZjnzAAAQ")),
            crm_id: Some("crm-meeting-0100".into()),
            categories: vec!["Customer".into(), "CRM".into()],
            last_modified: Some(at("2025-12-22T14:03:11Z")),
            extended: Vec::new(),
        },
        subject: Some("Weekly sync & planning <Q1>".into()),
        body: Some(Body {
            kind: BodyType::Text,
            content: "Agenda:\n1. <Pipeline> review\n2. Q&A".into(),
        }),
        sensitivity: Some(Sensitivity::Normal),
        reminder_is_set: Some(true),
        reminder_minutes: Some(15),
        uid: Some(
            "040000008200E00074C5B7101A82E00800000000D0F3BA8F1C8ADC01000000000000000010000000\
             A1B2C3D4E5F60718293A4B5C6D7E8F90"
                .into(),
        ),
        start: Some(at("2026-01-05T08:00:00Z")),
        end: Some(at("2026-01-05T08:30:00Z")),
        start_time_zone: Some("W. Europe Standard Time".into()),
        end_time_zone: Some("W. Europe Standard Time".into()),
        is_all_day: false,
        show_as: Some(LegacyFreeBusy::Busy),
        location: Some("Room 4.12 / Teams".into()),
        is_meeting: true,
        is_cancelled: false,
        item_type: Some(CalendarItemType::RecurringMaster),
        organizer: Some(mailbox("Anna Lindqvist", "anna.lindqvist@contoso.example")),
        required_attendees: vec![
            attendee(
                "Bo Ek",
                "bo.ek@contoso.example",
                ResponseKind::Accept,
                Some("2025-12-20T09:15:00Z"),
            ),
            attendee(
                "Cleo Berg",
                "cleo.berg@fabrikam.example",
                ResponseKind::Tentative,
                Some("2025-12-21T09:00:00Z"),
            ),
        ],
        optional_attendees: vec![
            attendee(
                "Dana Holm",
                "dana.holm@contoso.example",
                ResponseKind::NoResponseReceived,
                None,
            ),
            attendee(
                "Erik Sund",
                "erik.sund@fabrikam.example",
                ResponseKind::Decline,
                Some("2025-12-22T08:01:30Z"),
            ),
        ],
        recurrence: Some(Recurrence {
            pattern: RecurrencePattern::Weekly {
                interval: 1,
                days: vec![Weekday::Monday, Weekday::Wednesday],
                first_day_of_week: Some(Weekday::Monday),
            },
            range: RecurrenceRange::EndDate {
                start: date(2026, 1, 5),
                end: date(2026, 6, 29),
            },
        }),
        modified_occurrences: vec![Occurrence {
            id: id("AAMkAGI2Q2FsMDFvY2MxMgA=", "DwAAABYAAAD4ZjnzAAAR"),
            start: at("2026-01-12T09:00:00Z"),
            end: at("2026-01-12T09:45:00Z"),
            original_start: at("2026-01-12T08:00:00Z"),
        }],
        deleted_occurrences: vec![
            DeletedOccurrence {
                start: at("2026-01-19T08:00:00Z"),
            },
            DeletedOccurrence {
                start: at("2026-02-16T08:00:00Z"),
            },
        ],
    }
}

#[test]
fn calendar_page_carries_whole_series_with_exceptions_and_attendees() {
    let page = page("sync_folder_items/calendar_page.xml");

    assert!(page.includes_last_item_in_range);
    assert!(
        page.sync_state
            .as_ref()
            .unwrap()
            .as_str()
            .starts_with("H4sIAAAAAAAEAO29B2")
    );
    assert_eq!(page.changes.len(), 3);
    assert_eq!(
        page.changes[0],
        SyncChange::Create(Item::CalendarItem(Box::new(expected_recurring_master())))
    );
    let single = CalendarItem {
        common: ItemCommon {
            id: Some(id("AAMkAGI2Q2FsMDIAAA==", "DwAAABYAAAD4ZjnzAAAS")),
            ..ItemCommon::default()
        },
        subject: Some("Trade fair, Göteborg".into()),
        reminder_is_set: Some(false),
        start: Some(at("2026-02-10T00:00:00Z")),
        end: Some(at("2026-02-11T00:00:00Z")),
        is_all_day: true,
        show_as: Some(LegacyFreeBusy::Oof),
        item_type: Some(CalendarItemType::Single),
        ..CalendarItem::default()
    };
    assert_eq!(
        page.changes[1],
        SyncChange::Update(Item::CalendarItem(Box::new(single)))
    );
    assert_eq!(
        page.changes[2],
        SyncChange::Delete(id("AAMkAGI2Q2FsMDMAAA==", "DwAAABYAAAD4ZjnzAAAT"))
    );
}

#[test]
fn an_invalid_sync_state_asks_for_a_full_resync() {
    let err = parse::<SyncFolderItems>("sync_folder_items/invalid_sync_state.xml").unwrap_err();

    let EwsError::Response(response) = &err else {
        panic!("expected a response error, got {err:?}");
    };
    assert_eq!(response.code, ResponseCode::ErrorInvalidSyncStateData);
    assert_eq!(response.code.as_str(), "ErrorInvalidSyncStateData");
    assert_eq!(
        response.message,
        "Synchronization state data is corrupt or otherwise invalid."
    );
    assert_eq!(response.back_off, None);
    assert!(!response.warning);
    assert_eq!(err.kind(), ErrorKind::InvalidSyncState);
    assert!(!err.is_retryable());
}

#[test]
fn a_busy_server_names_its_back_off_in_the_message() {
    let err = parse::<SyncFolderItems>("sync_folder_items/server_busy.xml").unwrap_err();

    let EwsError::Response(response) = &err else {
        panic!("expected a response error, got {err:?}");
    };
    assert_eq!(response.code, ResponseCode::ErrorServerBusy);
    assert_eq!(response.back_off, Some(Duration::from_secs(30)));
    assert_eq!(err.kind(), ErrorKind::Throttling);
    assert_eq!(err.back_off(), Some(Duration::from_secs(30)));
    assert!(err.is_retryable());
    assert_eq!(err.response_code(), Some(&ResponseCode::ErrorServerBusy));
}

#[test]
fn the_same_page_reads_the_same_whatever_the_prefixes() {
    let conventional = page("sync_folder_items/same_page_soap_t_m.xml");
    let default_namespaces = page("sync_folder_items/same_page_default_ns.xml");
    let rebound = page("sync_folder_items/same_page_rebound.xml");

    assert_eq!(default_namespaces, conventional);
    assert_eq!(rebound, conventional);

    assert_eq!(
        conventional.sync_state,
        Some(SyncState::new("H4sIAAAAAAAEAGNgYGBgYGRg+/8fAA=="))
    );
    assert!(!conventional.includes_last_item_in_range);
    let SyncChange::Create(Item::Contact(contact)) = &conventional.changes[0] else {
        panic!("{:?}", conventional.changes[0]);
    };
    assert_eq!(
        contact.display_name.as_deref(),
        Some("Anna & Bo <Lindqvist>")
    );
    assert_eq!(contact.common.crm_id.as_deref(), Some("crm-contact-0003"));
    assert_eq!(
        conventional.changes[3],
        SyncChange::ReadFlagChange {
            id: id("AAMkAGI2UDA0AAA=", "EQAAABYAAAD4ZjoC"),
            is_read: false,
        }
    );
    let SyncChange::Update(Item::Contact(updated)) = &conventional.changes[1] else {
        panic!("{:?}", conventional.changes[1]);
    };
    assert_eq!(updated.surname.as_deref(), Some("Öberg"));
    assert_eq!(
        conventional.changes[2],
        SyncChange::Delete(mailbridge_ews::types::ItemId::new("AAMkAGI2UDAzAAA=", None))
    );
}
