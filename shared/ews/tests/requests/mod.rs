//! Sample items filled in every field the crate writes, with text chosen to break naive
//! escaping: markup, quotes, a CDATA terminator, a non-BMP character, CR/LF and tabs.

mod updates;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use mailbridge_ews::types::{
    AddressKey, Attendee, Body, BodyType, CalendarItem, Contact, DayOfWeekIndex, EmailKey,
    FileAttachment, Importance, ItemCommon, ItemId, LegacyFreeBusy, Mailbox, Message, Month,
    PhoneKey, PhysicalAddress, Recurrence, RecurrencePattern, RecurrenceRange, Sensitivity,
    Weekday,
};

pub use updates::{calendar_deletes, calendar_sets, contact_deletes, contact_sets};

/// The impersonated mailbox.
pub const MAILBOX: &str = "anna.lindqvist@contoso.example";

/// One string that exercises every escaping path of the writer.
pub const HOSTILE: &str = "A <b>x</b> & y; \"double\" 'single' ]]> 😀 𝄞\r\nCRLF\rCR\nLF\ttab &amp;";

/// A value far longer than any real field, to catch truncation or buffer limits.
pub fn long_text() -> String {
    "Grüße <&> 😀 ".repeat(8_000)
}

/// A UTC instant.
pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("a valid UTC instant")
}

/// A calendar date.
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid calendar date")
}

fn mailbox(name: Option<&str>, email: &str) -> Mailbox {
    Mailbox {
        name: name.map(str::to_owned),
        email: email.to_owned(),
    }
}

/// An item id with a change key.
pub fn id(value: &str, change_key: &str) -> ItemId {
    ItemId::new(
        value,
        Some(mailbridge_ews::types::ChangeKey::new(change_key)),
    )
}

/// A postal address with every part set, `text` in the street.
pub fn address(text: &str) -> PhysicalAddress {
    PhysicalAddress {
        street: Some(format!("Storgatan 1\n{text}")),
        city: Some("Malmö".into()),
        state: Some("Skåne".into()),
        country: Some("Sweden".into()),
        postal_code: Some("211 34".into()),
    }
}

/// A contact with every field the crate writes, `text` mixed into each string.
pub fn full_contact(text: &str) -> Contact {
    Contact {
        common: ItemCommon {
            crm_id: Some(format!("crm-contact-0042 {text}")),
            categories: vec!["CRM".into(), format!("VIP {text}")],
            ..ItemCommon::default()
        },
        file_as: Some(format!("Lindqvist, Anna {text}")),
        display_name: Some(format!("Anna Lindqvist {text}")),
        given_name: Some(format!("Anna {text}")),
        middle_name: Some("Maria".into()),
        nickname: Some(format!("Annie {text}")),
        surname: Some(format!("Lindqvist {text}")),
        company_name: Some(format!("Contoso & Söner {text}")),
        department: Some(format!("R&D {text}")),
        job_title: Some(format!("Head of <Research> {text}")),
        emails: [
            (EmailKey::EmailAddress1, "anna@contoso.example".to_owned()),
            (EmailKey::EmailAddress2, format!("anna+{text}@home.example")),
            (EmailKey::EmailAddress3, "a.l@fabrikam.example".to_owned()),
        ]
        .into(),
        phones: [
            (PhoneKey::BusinessPhone, "+46 40 123 45 67".to_owned()),
            (PhoneKey::MobilePhone, format!("+46 70 765 43 21 {text}")),
            (PhoneKey::HomePhone, "+46 40 98 76 54".to_owned()),
            (PhoneKey::Isdn, "+46 40 11 11 11".to_owned()),
            (PhoneKey::TtyTddPhone, "+46 40 22 22 22".to_owned()),
        ]
        .into(),
        addresses: [
            (AddressKey::Business, address(text)),
            (
                AddressKey::Home,
                PhysicalAddress {
                    city: Some("Lund".into()),
                    ..PhysicalAddress::default()
                },
            ),
        ]
        .into(),
        birthday: Some(date(1984, 2, 29)),
        notes: Some(format!("Met at the fair.\n{text}")),
    }
}

/// A weekly series of meetings with attendees, time zones and a reminder.
pub fn full_calendar_item(text: &str) -> CalendarItem {
    CalendarItem {
        common: ItemCommon {
            crm_id: Some(format!("crm-meeting-7 {text}")),
            categories: vec![format!("Customer {text}")],
            ..ItemCommon::default()
        },
        subject: Some(format!("Quarterly review {text}")),
        body: Some(Body {
            kind: BodyType::Html,
            content: format!("<p>Agenda &amp; notes</p><p>{text}</p>"),
        }),
        sensitivity: Some(Sensitivity::Confidential),
        reminder_is_set: Some(true),
        reminder_minutes: Some(15),
        uid: Some(format!("040000008200E00074C5B7101A82E008 {text}")),
        start: Some(utc(2026, 3, 2, 8, 30)),
        end: Some(utc(2026, 3, 2, 9, 30)),
        start_time_zone: Some("W. Europe Standard Time".into()),
        // An attribute value: the other escaping path of the writer.
        end_time_zone: Some(format!("W. Europe Standard Time {text}")),
        is_all_day: false,
        show_as: Some(LegacyFreeBusy::Busy),
        location: Some(format!("Room \"Öresund\" {text}")),
        required_attendees: vec![
            Attendee::new(mailbox(Some("Bo Ek"), "bo.ek@contoso.example")),
            Attendee::new(mailbox(
                Some(&format!("Cleo {text}")),
                "cleo@fabrikam.example",
            )),
        ],
        optional_attendees: vec![Attendee::new(mailbox(None, "dana@contoso.example"))],
        recurrence: Some(Recurrence {
            pattern: RecurrencePattern::Weekly {
                interval: 2,
                days: vec![Weekday::Monday, Weekday::Thursday],
                first_day_of_week: Some(Weekday::Monday),
            },
            range: RecurrenceRange::Numbered {
                start: date(2026, 3, 2),
                count: 10,
            },
        }),
        ..CalendarItem::default()
    }
}

/// An all-day single event with no attendees: the other branches of the calendar writer.
pub fn all_day_event(text: &str) -> CalendarItem {
    CalendarItem {
        subject: Some(format!("Trade fair {text}")),
        is_all_day: true,
        start: Some(utc(2026, 5, 12, 0, 0)),
        end: Some(utc(2026, 5, 13, 0, 0)),
        show_as: Some(LegacyFreeBusy::Oof),
        reminder_is_set: Some(false),
        ..CalendarItem::default()
    }
}

/// A message with every recipient kind, an HTML body, an attachment and an importance.
pub fn full_message(text: &str) -> Message {
    Message {
        common: ItemCommon {
            crm_id: Some(format!("crm-mail-99 {text}")),
            categories: vec!["Sent from CRM".into()],
            ..ItemCommon::default()
        },
        subject: Some(format!("Your offer {text}")),
        body: Some(Body {
            kind: BodyType::Html,
            content: format!("<html><body><p>Hello &amp; welcome</p><p>{text}</p></body></html>"),
        }),
        attachments: vec![FileAttachment {
            name: format!("offer {text}.pdf"),
            content_type: "application/pdf".into(),
            content: b"%PDF-1.4\n\x00\x01\xfe\xff binary".to_vec(),
        }],
        importance: Some(Importance::High),
        to: vec![mailbox(
            Some(&format!("Erik {text}")),
            "erik@fabrikam.example",
        )],
        cc: vec![mailbox(None, "finance@contoso.example")],
        bcc: vec![mailbox(Some("Archive"), "archive@contoso.example")],
        reply_to: vec![mailbox(Some("Sales"), "sales@contoso.example")],
        ..Message::default()
    }
}

/// Every recurrence pattern paired with every range, for the update writer.
pub fn every_recurrence() -> Vec<Recurrence> {
    let patterns = [
        RecurrencePattern::Daily { interval: 3 },
        RecurrencePattern::Weekly {
            interval: 1,
            days: vec![Weekday::Tuesday],
            first_day_of_week: None,
        },
        RecurrencePattern::AbsoluteMonthly {
            interval: 1,
            day_of_month: 31,
        },
        RecurrencePattern::RelativeMonthly {
            interval: 2,
            day: Weekday::Weekday,
            index: DayOfWeekIndex::Last,
        },
        RecurrencePattern::AbsoluteYearly {
            day_of_month: 29,
            month: Month::February,
        },
        RecurrencePattern::RelativeYearly {
            day: Weekday::Friday,
            index: DayOfWeekIndex::Fourth,
            month: Month::November,
        },
    ];
    let ranges = [
        RecurrenceRange::NoEnd {
            start: date(2026, 1, 1),
        },
        RecurrenceRange::EndDate {
            start: date(2026, 1, 1),
            end: date(2027, 12, 31),
        },
        RecurrenceRange::Numbered {
            start: date(2026, 1, 1),
            count: 5,
        },
    ];
    patterns
        .iter()
        .enumerate()
        .map(|(i, pattern)| Recurrence {
            pattern: pattern.clone(),
            range: ranges[i % ranges.len()].clone(),
        })
        .collect()
}
