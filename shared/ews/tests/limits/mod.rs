//! Values EWS cannot take must be refused with `InvalidInput` before anything is sent. A
//! value the crate accepts instead must still give a request that validates: otherwise the
//! server answers `ErrorSchemaValidation` for the whole batch, which the caller cannot
//! tell from a bug of its own.

use chrono::{DateTime, NaiveDate, Utc};
use mailbridge_ews::ops::{
    CalendarUpdate, ContactUpdate, CreateItem, FindItem, ItemChange, UpdateItem, Updates, View,
};
use mailbridge_ews::types::{
    Attendee, CalendarItem, Contact, DistinguishedFolder, Item, ItemShape, Mailbox, Recurrence,
    RecurrencePattern, RecurrenceRange,
};
use mailbridge_ews::{EwsError, Operation};

use crate::requests::{self, MAILBOX, date, id, utc};
use crate::xmllint;

/// Checks that each case was refused with `InvalidInput` or built a valid request, and
/// panics naming `bug` and every case that did neither.
fn assert_refused_or_valid(bug: &str, cases: Vec<(&str, Result<String, EwsError>)>) {
    let mut built = Vec::new();
    for (name, result) in cases {
        match result {
            Err(EwsError::InvalidInput { .. }) => {}
            Err(other) => panic!("{name}: refused with the wrong error: {other:?}"),
            Ok(envelope) => built.push((name.to_owned(), envelope.into_bytes())),
        }
    }
    if built.is_empty() {
        return;
    }
    let failures: Vec<String> = xmllint::validate(&built)
        .into_iter()
        .filter_map(|(name, verdict)| verdict.err().map(|err| format!("{name}:\n{err}")))
        .collect();
    assert!(
        failures.is_empty(),
        "SRC BUG ({bug}): the crate accepted these values and built requests that the EWS \
         schema rejects; it should return EwsError::InvalidInput instead.\n\n{}",
        failures.join("\n\n")
    );
}

fn create_calendar(item: CalendarItem) -> Result<String, EwsError> {
    CreateItem::save_in(
        DistinguishedFolder::Calendar,
        vec![Item::CalendarItem(Box::new(item))],
    )
    .to_envelope(MAILBOX)
}

fn update_calendar(updates: Vec<CalendarUpdate>) -> Result<String, EwsError> {
    UpdateItem::guarded(vec![ItemChange {
        id: id("AAMkAGI2AAC=", "DwAAABYAAAA="),
        updates: Updates::CalendarItem(updates),
    }])
    .to_envelope(MAILBOX)
}

fn with_recurrence(pattern: RecurrencePattern, range: RecurrenceRange) -> CalendarItem {
    CalendarItem {
        recurrence: Some(Recurrence { pattern, range }),
        ..requests::full_calendar_item("x")
    }
}

#[test]
fn values_xml_cannot_carry_are_refused_before_sending() {
    for bad in [
        "bell\u{7}",
        "nul\u{0}",
        "noncharacter\u{FFFF}",
        "escape\u{1B}[0m",
    ] {
        let contact = Contact {
            job_title: Some(bad.into()),
            ..Contact::default()
        };
        let op = CreateItem::save_in(
            DistinguishedFolder::Contacts,
            vec![Item::Contact(Box::new(contact))],
        );
        match op.to_envelope(MAILBOX) {
            Err(EwsError::InvalidInput { field, reason }) => {
                assert_eq!(field, "JobTitle", "{bad:?}: {reason}");
            }
            other => panic!("{bad:?} should be refused, got {other:?}"),
        }
    }
}

#[test]
fn empty_e_mail_addresses_are_refused_before_sending() {
    let nobody = || Mailbox::new("");
    let mut message = requests::full_message("x");
    message.cc = vec![nobody()];
    let meeting = CalendarItem {
        optional_attendees: vec![Attendee::new(nobody())],
        ..requests::full_calendar_item("x")
    };

    assert_refused_or_valid(
        "an empty Mailbox.email is written as <t:EmailAddress></t:EmailAddress>, but \
         EmailAddress is a NonEmptyStringType",
        vec![
            (
                "message with an empty Cc address",
                CreateItem::send_and_save_copy(message).to_envelope(MAILBOX),
            ),
            (
                "meeting with an empty attendee address",
                create_calendar(meeting),
            ),
            (
                "update to an empty attendee address",
                update_calendar(vec![CalendarUpdate::RequiredAttendees(vec![
                    Attendee::new(nobody()),
                ])]),
            ),
        ],
    );
}

#[test]
fn numbers_beyond_the_schemas_ranges_are_refused_before_sending() {
    let big = u32::MAX;
    let view = |view| FindItem {
        folder: DistinguishedFolder::Calendar.into(),
        shape: ItemShape::ids_with_crm_id(),
        view,
        restriction: None,
    };
    let start = date(2026, 1, 1);

    assert_refused_or_valid(
        "u32 values above i32::MAX are written into xs:int fields, and reminders above \
         2629800 minutes into ReminderMinutesBeforeStartType",
        vec![
            (
                "reminder of 3,000,000 minutes",
                create_calendar(CalendarItem {
                    reminder_minutes: Some(3_000_000),
                    ..requests::full_calendar_item("x")
                }),
            ),
            (
                "update to a reminder of 3,000,000 minutes",
                update_calendar(vec![CalendarUpdate::Reminder(Some(3_000_000))]),
            ),
            (
                "daily interval u32::MAX",
                create_calendar(with_recurrence(
                    RecurrencePattern::Daily { interval: big },
                    RecurrenceRange::NoEnd { start },
                )),
            ),
            (
                "u32::MAX occurrences",
                create_calendar(with_recurrence(
                    RecurrencePattern::Daily { interval: 1 },
                    RecurrenceRange::Numbered { start, count: big },
                )),
            ),
            (
                "day of month u32::MAX",
                create_calendar(with_recurrence(
                    RecurrencePattern::AbsoluteMonthly {
                        interval: 1,
                        day_of_month: big,
                    },
                    RecurrenceRange::NoEnd { start },
                )),
            ),
            (
                "indexed view of u32::MAX entries from offset u32::MAX",
                view(View::Indexed {
                    max_entries: big,
                    offset: big,
                })
                .to_envelope(MAILBOX),
            ),
            (
                "calendar view of u32::MAX entries",
                view(View::Calendar {
                    start: utc(2026, 1, 1, 0, 0),
                    end: utc(2026, 2, 1, 0, 0),
                    max_entries: Some(big),
                })
                .to_envelope(MAILBOX),
            ),
        ],
    );
}

#[test]
fn dates_beyond_year_9999_are_refused_before_sending() {
    let far: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;
    let year_10000 = NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap();
    let mut contact = requests::full_contact("x");
    contact.birthday = Some(NaiveDate::from_ymd_opt(12_345, 6, 7).unwrap());

    assert_refused_or_valid(
        "chrono writes years above 9999 with a sign and five or more digits (+12345-...), \
         which xs:dateTime and xs:date reject",
        vec![
            (
                "birthday in year 12345",
                CreateItem::save_in(
                    DistinguishedFolder::Contacts,
                    vec![Item::Contact(Box::new(contact))],
                )
                .to_envelope(MAILBOX),
            ),
            (
                "update to a birthday in year 10000",
                UpdateItem::guarded(vec![ItemChange {
                    id: id("AAMkAGI2AAA=", "EQAAABYAAAA="),
                    updates: Updates::Contact(vec![ContactUpdate::Birthday(Some(year_10000))]),
                }])
                .to_envelope(MAILBOX),
            ),
            (
                "meeting at the end of chrono's range",
                create_calendar(CalendarItem {
                    start: Some(far),
                    end: Some(far),
                    ..requests::full_calendar_item("x")
                }),
            ),
            (
                "update to a start at the end of chrono's range",
                update_calendar(vec![CalendarUpdate::Start(far)]),
            ),
            (
                "series from year 10000",
                create_calendar(with_recurrence(
                    RecurrencePattern::Daily { interval: 1 },
                    RecurrenceRange::NoEnd { start: year_10000 },
                )),
            ),
        ],
    );
}
