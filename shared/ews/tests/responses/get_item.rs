//! `GetItem`: a full contact (two spellings of the same content), a batch with a missing
//! item, calendar items of each kind, and a sent message.

use mailbridge_ews::ops::GetItem;
use mailbridge_ews::types::{
    AddressKey, Attendee, Body, BodyType, CalendarItem, CalendarItemType, Contact, DayOfWeekIndex,
    EmailKey, ExtendedProperty, FileAttachment, IDEMPOTENCY_KEY_PROPERTY, Importance, Item,
    ItemCommon, LegacyFreeBusy, Mailbox, Month, PhoneKey, PhysicalAddress, Recurrence,
    RecurrencePattern, RecurrenceRange, ResponseKind, Sensitivity, Weekday,
};
use mailbridge_ews::{ErrorKind, MessageResult, ResponseCode};

use crate::{at, date, id, parse};

fn items(path: &str) -> Vec<MessageResult<Item>> {
    parse::<GetItem>(path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn only_contact(path: &str) -> Contact {
    match items(path).as_slice() {
        [Ok(Item::Contact(contact))] => (**contact).clone(),
        other => panic!("{path}: expected one contact, got {other:?}"),
    }
}

fn expected_full_contact() -> Contact {
    Contact {
        common: ItemCommon {
            id: Some(id("AAMkAGI2Q29udGFjdDQyAAA=", "EQAAABYAAAD4ZjnzAAAx")),
            crm_id: Some("crm-contact-0042".into()),
            categories: vec!["CRM".into(), "VIP & Partner".into()],
            last_modified: Some(at("2026-01-15T10:20:30Z")),
            extended: Vec::new(),
        },
        file_as: Some("Lindqvist, Anna".into()),
        display_name: Some("Anna Lindqvist".into()),
        given_name: Some("Anna".into()),
        middle_name: Some("Maria".into()),
        nickname: Some("Annie".into()),
        surname: Some("Lindqvist".into()),
        company_name: Some("Contoso & Söner AB".into()),
        department: Some("R&D".into()),
        job_title: Some("Head of Research".into()),
        emails: [
            (EmailKey::EmailAddress1, "anna.lindqvist@contoso.example"),
            (EmailKey::EmailAddress2, "anna@lindqvist.example"),
            (EmailKey::EmailAddress3, "\"Anna L.\" <al@fabrikam.example>"),
        ]
        .map(|(key, value)| (key, value.to_owned()))
        .into(),
        // The empty Pager entry is left out.
        phones: [
            (PhoneKey::BusinessPhone, "+46 40 123 45 67"),
            (PhoneKey::MobilePhone, "+46 70 765 43 21"),
            (PhoneKey::HomePhone, "+46 46 98 76 54"),
        ]
        .map(|(key, value)| (key, value.to_owned()))
        .into(),
        addresses: [
            (
                AddressKey::Business,
                PhysicalAddress {
                    street: Some("Storgatan 1\nBox 17".into()),
                    city: Some("Malmö".into()),
                    state: Some("Skåne".into()),
                    country: Some("Sweden".into()),
                    postal_code: Some("211 34".into()),
                },
            ),
            (
                AddressKey::Home,
                PhysicalAddress {
                    city: Some("Lund".into()),
                    country: Some("Sweden".into()),
                    ..PhysicalAddress::default()
                },
            ),
        ]
        .into(),
        birthday: Some(date(1984, 2, 29)),
        notes: Some(
            "Met at the Malmö fair.\nPrefers e-mail, not phone & never before 9 <am>. 😀".into(),
        ),
    }
}

#[test]
fn a_full_contact_reads_every_mapped_field() {
    let contact = only_contact("get_item/full_contact.xml");

    // Spot checks first, so a failure names the field before the whole-struct diff.
    assert_eq!(
        contact.emails[&EmailKey::EmailAddress1],
        "anna.lindqvist@contoso.example"
    );
    assert_eq!(contact.phones[&PhoneKey::MobilePhone], "+46 70 765 43 21");
    assert!(!contact.phones.contains_key(&PhoneKey::Pager));
    assert_eq!(
        contact.addresses[&AddressKey::Business].city.as_deref(),
        Some("Malmö")
    );
    assert_eq!(contact.birthday, Some(date(1984, 2, 29)));
    assert_eq!(contact.common.crm_id.as_deref(), Some("crm-contact-0042"));
    // CompleteName nests MiddleName and Nickname of its own; they must not leak out.
    assert_eq!(contact.middle_name.as_deref(), Some("Maria"));
    assert_eq!(contact, expected_full_contact());
}

#[test]
fn entities_char_refs_cdata_and_default_namespaces_read_the_same() {
    let entities = only_contact("get_item/full_contact.xml");
    let cdata_and_default_namespaces = only_contact("get_item/full_contact_default_ns.xml");

    assert_eq!(cdata_and_default_namespaces, entities);
}

#[test]
fn a_missing_item_fails_alone_and_the_batch_goes_on() {
    let results = items("get_item/batch_of_three.xml");

    assert_eq!(results.len(), 3);
    let Ok(Item::Contact(first)) = &results[0] else {
        panic!("{:?}", results[0]);
    };
    assert_eq!(
        first.common.id,
        Some(id("AAMkAGI2QmF0Y2gxAAA=", "EQAAABYAAAD4ZjnzAABB"))
    );
    assert_eq!(first.common.crm_id.as_deref(), Some("crm-contact-0101"));
    assert_eq!(
        first.emails[&EmailKey::EmailAddress1],
        "bo.ek@contoso.example"
    );

    let missing = results[1].as_ref().unwrap_err();
    assert_eq!(missing.code, ResponseCode::ErrorItemNotFound);
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(
        missing
            .message
            .starts_with("The specified object was not found in the store.")
    );
    assert!(!missing.warning);
    assert_eq!(missing.back_off, None);

    let Ok(Item::Contact(third)) = &results[2] else {
        panic!("{:?}", results[2]);
    };
    assert_eq!(third.display_name.as_deref(), Some("Cleo Berg"));
    assert_eq!(third.phones[&PhoneKey::MobilePhone], "+46 70 111 22 33");
    assert_eq!(third.common.crm_id, None);
}

fn calendar_items(path: &str) -> Vec<CalendarItem> {
    items(path)
        .into_iter()
        .map(|r| match r {
            Ok(Item::CalendarItem(c)) => *c,
            other => panic!("{path}: expected a calendar item, got {other:?}"),
        })
        .collect()
}

#[test]
fn a_meeting_reads_back_with_organizer_attendees_and_time_zones() {
    let calendar = calendar_items("get_item/calendar_item.xml");
    assert_eq!(calendar.len(), 3);

    let meeting = &calendar[0];
    assert_eq!(
        meeting.common.id,
        Some(id("AAMkAGI2TWVldGluZzEAAA==", "DwAAABYAAAD4ZjnzAABX"))
    );
    assert_eq!(meeting.common.crm_id.as_deref(), Some("crm-meeting-0200"));
    assert_eq!(meeting.common.categories, ["Customer"]);
    assert_eq!(
        meeting.subject.as_deref(),
        Some("Contract review – Fabrikam")
    );
    assert_eq!(
        meeting.body,
        Some(Body {
            kind: BodyType::Html,
            content: "<html><body><p>Bring the <b>signed</b> copy &amp; the NDA.</p></body></html>"
                .into(),
        })
    );
    assert_eq!(meeting.sensitivity, Some(Sensitivity::Private));
    assert_eq!(meeting.reminder_is_set, Some(true));
    assert_eq!(meeting.reminder_minutes, Some(10));
    assert_eq!(meeting.start, Some(at("2026-03-10T09:00:00Z")));
    assert_eq!(meeting.end, Some(at("2026-03-10T10:30:00Z")));
    assert_eq!(
        meeting.start_time_zone.as_deref(),
        Some("W. Europe Standard Time")
    );
    assert_eq!(meeting.end_time_zone.as_deref(), Some("GMT Standard Time"));
    assert_eq!(meeting.show_as, Some(LegacyFreeBusy::Tentative));
    assert_eq!(meeting.item_type, Some(CalendarItemType::Single));
    assert!(meeting.is_meeting && !meeting.is_cancelled && !meeting.is_all_day);
    assert_eq!(meeting.recurrence, None);
    assert_eq!(
        meeting.organizer,
        Some(Mailbox {
            name: Some("Frida Nyberg".into()),
            email: "frida.nyberg@fabrikam.example".into(),
        })
    );
    assert_eq!(
        meeting.required_attendees,
        [
            Attendee {
                mailbox: Mailbox {
                    name: Some("Anna Lindqvist".into()),
                    email: "anna.lindqvist@contoso.example".into(),
                },
                response: Some(ResponseKind::Tentative),
                last_response_time: Some(at("2026-02-20T16:44:59Z")),
            },
            Attendee {
                mailbox: Mailbox::new("legal@fabrikam.example"),
                response: Some(ResponseKind::Unknown),
                last_response_time: None,
            },
        ]
    );
    assert!(meeting.optional_attendees.is_empty());
}

#[test]
fn series_read_back_with_monthly_and_yearly_patterns() {
    let calendar = calendar_items("get_item/calendar_item.xml");

    assert_eq!(
        calendar[1].recurrence,
        Some(Recurrence {
            pattern: RecurrencePattern::RelativeMonthly {
                interval: 1,
                day: Weekday::Tuesday,
                index: DayOfWeekIndex::Second,
            },
            range: RecurrenceRange::Numbered {
                start: date(2026, 1, 13),
                count: 12,
            },
        })
    );
    assert_eq!(
        calendar[1].item_type,
        Some(CalendarItemType::RecurringMaster)
    );

    let anniversary = &calendar[2];
    assert_eq!(
        anniversary.recurrence,
        Some(Recurrence {
            pattern: RecurrencePattern::AbsoluteYearly {
                day_of_month: 1,
                month: Month::September,
            },
            range: RecurrenceRange::NoEnd {
                start: date(2026, 9, 1),
            },
        })
    );
    assert!(anniversary.is_all_day);
    assert_eq!(anniversary.show_as, Some(LegacyFreeBusy::Free));
}

#[test]
fn a_sent_message_reads_back_with_its_idempotency_key() {
    let results = items("get_item/sent_message.xml");
    let [Ok(Item::Message(message))] = results.as_slice() else {
        panic!("expected one message, got {results:?}");
    };

    assert_eq!(
        message.common.id,
        Some(id("AAMkAGI2U2VudDEAAA==", "CQAAABYAAAD4ZjnzAABa"))
    );
    assert_eq!(message.common.crm_id.as_deref(), Some("crm-mail-99"));
    assert_eq!(
        message.common.extended,
        [ExtendedProperty {
            field: IDEMPOTENCY_KEY_PROPERTY,
            value: "send-7f3a9c".into(),
        }]
    );
    assert_eq!(message.subject.as_deref(), Some("Your offer, ref. 2026-17"));
    assert_eq!(
        message.body,
        Some(Body {
            kind: BodyType::Html,
            content: "<html><body><p>Hello &amp; welcome</p></body></html>".into(),
        })
    );
    // Base64 content may be wrapped across lines.
    assert_eq!(
        message.attachments,
        [FileAttachment {
            name: "offer.pdf".into(),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.4\n".to_vec(),
        }]
    );
    assert_eq!(message.importance, Some(Importance::High));
    assert_eq!(message.sent, Some(at("2026-02-01T12:00:05Z")));
    assert_eq!(
        message.internet_message_id.as_deref(),
        Some("<DB9PR10MB1234.eurprd10.prod.outlook.com@contoso.example>")
    );
    assert_eq!(
        message.to,
        [Mailbox {
            name: Some("Erik Sund".into()),
            email: "erik.sund@fabrikam.example".into(),
        }]
    );
    assert_eq!(message.cc, [Mailbox::new("finance@contoso.example")]);
    assert!(message.bcc.is_empty());
    assert_eq!(
        message.from,
        Some(Mailbox {
            name: Some("Anna Lindqvist".into()),
            email: "anna.lindqvist@contoso.example".into(),
        })
    );
    assert_eq!(
        message.reply_to,
        [Mailbox {
            name: Some("Sales".into()),
            email: "sales@contoso.example".into(),
        }]
    );
}
