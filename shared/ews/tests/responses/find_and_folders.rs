//! `FindItem` (a calendar view and CRM-id restrictions) and `GetFolder`.

use mailbridge_ews::ops::{FindItem, FolderInfo, GetFolder};
use mailbridge_ews::types::{CalendarItemType, ChangeKey, Item};
use mailbridge_ews::{ErrorKind, ResponseCode};

use crate::{at, id, parse};

#[test]
fn a_calendar_view_lists_occurrences_exceptions_and_single_events() {
    let page = parse::<FindItem>("find_item/calendar_view.xml").unwrap();

    assert!(page.includes_last_item_in_range);
    assert_eq!(page.total_items_in_view, Some(3));
    assert_eq!(page.next_offset, None);
    let calendar: Vec<_> = page
        .items
        .iter()
        .map(|item| match item {
            Item::CalendarItem(c) => c,
            other => panic!("expected calendar items, got {other:?}"),
        })
        .collect();
    let kinds: Vec<_> = calendar.iter().map(|c| c.item_type).collect();
    assert_eq!(
        kinds,
        [
            Some(CalendarItemType::Occurrence),
            Some(CalendarItemType::Exception),
            Some(CalendarItemType::Single),
        ]
    );

    let occurrence = calendar[0];
    assert_eq!(
        occurrence.common.id,
        Some(id("AAMkAGI2T2NjMDEAAA==", "DwAAABYAAAD4ZjnzAACA"))
    );
    assert_eq!(
        occurrence.common.crm_id.as_deref(),
        Some("crm-meeting-0100")
    );
    assert_eq!(
        occurrence.subject.as_deref(),
        Some("Weekly sync & planning <Q1>")
    );
    assert_eq!(occurrence.start, Some(at("2026-03-02T08:00:00Z")));
    assert_eq!(occurrence.end, Some(at("2026-03-02T08:30:00Z")));
    let organizer = occurrence.organizer.as_ref().unwrap();
    assert_eq!(organizer.name.as_deref(), Some("Anna Lindqvist"));
    assert_eq!(organizer.email, "");

    assert_eq!(calendar[1].start, Some(at("2026-03-04T09:00:00Z")));
    assert_eq!(calendar[1].common.crm_id, None);
    assert!(calendar[2].is_cancelled);
    assert_eq!(
        calendar[2].location.as_deref(),
        Some("Fabrikam, Kungsgatan 5, Stockholm")
    );
}

#[test]
fn a_restriction_matching_nothing_is_an_empty_last_page() {
    let page = parse::<FindItem>("find_item/restriction_empty.xml").unwrap();

    assert!(page.items.is_empty());
    assert!(page.includes_last_item_in_range);
    assert_eq!(page.total_items_in_view, Some(0));
    assert_eq!(page.next_offset, Some(0));
}

#[test]
fn a_restriction_page_names_where_the_next_page_starts() {
    let page = parse::<FindItem>("find_item/restriction_one_match.xml").unwrap();

    assert!(!page.includes_last_item_in_range);
    assert_eq!(page.total_items_in_view, Some(12));
    assert_eq!(page.next_offset, Some(11));
    let [Item::Contact(contact)] = page.items.as_slice() else {
        panic!("{:?}", page.items);
    };
    assert_eq!(
        contact.common.id,
        Some(id("AAMkAGI2Q29udGFjdDQyAAA=", "EQAAABYAAAD4ZjnzAAAx"))
    );
    assert_eq!(contact.common.crm_id.as_deref(), Some("crm-contact-0042"));
}

#[test]
fn folders_read_back_one_result_each_and_a_missing_one_fails_alone() {
    let results = parse::<GetFolder>("get_folder/folders.xml").unwrap();

    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0],
        Ok(FolderInfo {
            kind: "ContactsFolder".into(),
            id: "AAMkAGI2Q29udGFjdHMAAA==".into(),
            change_key: Some(ChangeKey::new("AwAAABYAAAD4ZjnzAAAB")),
            display_name: Some("Kontakter".into()),
            total_count: Some(1234),
        })
    );
    assert_eq!(
        results[1],
        Ok(FolderInfo {
            kind: "CalendarFolder".into(),
            id: "AAMkAGI2Q2FsRm9sZGVyAAA=".into(),
            change_key: Some(ChangeKey::new("AgAAABYAAAD4ZjnzAAAC")),
            display_name: Some("Kalender & möten".into()),
            total_count: Some(0),
        })
    );
    let missing = results[2].as_ref().unwrap_err();
    assert_eq!(missing.code, ResponseCode::ErrorFolderNotFound);
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_eq!(
        missing.message,
        "The specified folder could not be found in the store."
    );
}
