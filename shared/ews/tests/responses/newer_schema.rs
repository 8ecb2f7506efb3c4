//! Responses with what a newer server may add: unknown elements, attributes, namespaces,
//! change kinds, item kinds and values, and elements in an unexpected order.

use mailbridge_ews::ops::{GetItem, SyncChange, SyncFolderItems};
use mailbridge_ews::types::{
    DayOfWeekIndex, EmailKey, Item, Month, PhoneKey, Recurrence, RecurrencePattern,
    RecurrenceRange, ResponseKind, SyncState, Weekday,
};

use crate::{at, date, id, parse};

#[test]
fn unknown_changes_items_and_properties_are_skipped() {
    let page = parse::<SyncFolderItems>("newer_schema/sync_folder_items.xml").unwrap();

    assert_eq!(
        page.sync_state,
        Some(SyncState::new(
            "H4sIAAAAAAAEAGNgYGBgYGRgYGFhZWBk/A8AnewerAA="
        ))
    );
    assert!(page.includes_last_item_in_range);
    // The FlagChange kind is newer than this client and left out.
    assert_eq!(page.changes.len(), 3, "{:#?}", page.changes);

    let SyncChange::Create(Item::Contact(contact)) = &page.changes[0] else {
        panic!("{:?}", page.changes[0]);
    };
    assert_eq!(
        contact.common.id,
        Some(id("AAMkAGI2TmV3ZXIxAAA=", "EQAAABYAAAD4ZjnzAAEA"))
    );
    assert_eq!(contact.common.crm_id.as_deref(), Some("crm-contact-0500"));
    // The foreign-namespace DisplayName comes first and must not win.
    assert_eq!(contact.display_name.as_deref(), Some("Gustav Ek"));
    assert_eq!(contact.given_name.as_deref(), Some("Gustav"));
    assert_eq!(
        contact.emails.iter().collect::<Vec<_>>(),
        [(
            &EmailKey::EmailAddress1,
            &"gustav.ek@contoso.example".to_owned()
        )]
    );
    assert_eq!(
        contact.phones.iter().collect::<Vec<_>>(),
        [(&PhoneKey::MobilePhone, &"+46 70 555 01 01".to_owned())]
    );

    assert_eq!(
        page.changes[1],
        SyncChange::Create(Item::Other {
            kind: "StickyNote".into(),
            id: Some(id("AAMkAGI2Tm90ZTEAAA==", "BwAAABYAAAD4ZjnzAAEB")),
        })
    );
    assert_eq!(
        page.changes[2],
        SyncChange::Delete(id("AAMkAGI2TmV3ZXIyAAA=", "EQAAABYAAAD4ZjnzAAED"))
    );
}

#[test]
fn unknown_values_are_none_and_order_does_not_matter() {
    let results = parse::<GetItem>("newer_schema/get_item_calendar.xml").unwrap();
    let [
        Ok(Item::CalendarItem(review)),
        Ok(Item::CalendarItem(standup)),
    ] = results.as_slice()
    else {
        panic!("{results:?}");
    };

    assert_eq!(
        review.common.id,
        Some(id("AAMkAGI2RnV0dXJlMQAA", "DwAAABYAAAD4ZjnzAAEE"))
    );
    assert_eq!(review.start, Some(at("2026-04-01T10:00:00Z")));
    assert_eq!(review.end, Some(at("2026-04-01T11:00:00Z")));
    assert_eq!(review.subject.as_deref(), Some("Design review"));
    assert_eq!(review.show_as, None);
    assert_eq!(review.sensitivity, None);
    assert_eq!(review.item_type, None);
    // The range comes before the pattern here.
    assert_eq!(
        review.recurrence,
        Some(Recurrence {
            pattern: RecurrencePattern::RelativeYearly {
                day: Weekday::Friday,
                index: DayOfWeekIndex::Last,
                month: Month::November,
            },
            range: RecurrenceRange::EndDate {
                start: date(2026, 4, 1),
                end: date(2026, 12, 31),
            },
        })
    );
    let [hanna, ivar] = review.required_attendees.as_slice() else {
        panic!("{:?}", review.required_attendees);
    };
    assert_eq!(hanna.mailbox.email, "hanna@contoso.example");
    assert_eq!(hanna.mailbox.name.as_deref(), Some("Hanna"));
    assert_eq!(hanna.response, None);
    assert_eq!(ivar.response, Some(ResponseKind::Accept));
    assert_eq!(ivar.last_response_time, Some(at("2026-03-30T08:00:00Z")));

    // A recurrence pattern this crate does not model is no recurrence, not an error.
    assert_eq!(standup.subject.as_deref(), Some("Stand-up"));
    assert_eq!(standup.recurrence, None);
}
