//! Every `ContactUpdate` and `CalendarUpdate` variant, in the form that sets the property and
//! the form that deletes it.

use mailbridge_ews::ops::{CalendarUpdate, ContactUpdate};
use mailbridge_ews::types::{
    AddressKey, Attendee, Body, BodyType, EmailKey, LegacyFreeBusy, Mailbox, PhoneKey,
    PhysicalAddress, Sensitivity,
};

use super::{address, date, every_recurrence, utc};

/// Each contact property set to a value carrying `text`.
pub fn contact_sets(text: &str) -> Vec<ContactUpdate> {
    let some = |prefix: &str| Some(format!("{prefix} {text}"));
    vec![
        ContactUpdate::FileAs(some("Lindqvist, Anna")),
        ContactUpdate::DisplayName(some("Anna Lindqvist")),
        ContactUpdate::GivenName(some("Anna")),
        ContactUpdate::MiddleName(some("Maria")),
        ContactUpdate::Nickname(some("Annie")),
        ContactUpdate::Surname(some("Lindqvist")),
        ContactUpdate::CompanyName(some("Contoso")),
        ContactUpdate::Department(some("R&D")),
        ContactUpdate::JobTitle(some("Head of Research")),
        ContactUpdate::Email(EmailKey::EmailAddress1, some("anna@contoso.example")),
        ContactUpdate::Email(EmailKey::EmailAddress2, some("anna@home.example")),
        ContactUpdate::Email(EmailKey::EmailAddress3, some("al@fabrikam.example")),
        ContactUpdate::Phone(PhoneKey::MobilePhone, some("+46 70 765 43 21")),
        ContactUpdate::Phone(PhoneKey::BusinessFax, some("+46 40 123 45 00")),
        ContactUpdate::Address(AddressKey::Business, Some(address(text))),
        // Parts left out of an address are deleted while the others are set.
        ContactUpdate::Address(
            AddressKey::Other,
            Some(PhysicalAddress {
                postal_code: Some("SE-211 34".into()),
                ..PhysicalAddress::default()
            }),
        ),
        ContactUpdate::Birthday(Some(date(1984, 2, 29))),
        ContactUpdate::Notes(some("Prefers e-mail.\r\n")),
        ContactUpdate::Categories(vec!["CRM".into(), format!("VIP {text}")]),
        ContactUpdate::CrmId(some("crm-contact-0042")),
    ]
}

/// Each contact property deleted, by `None` or by an empty value.
pub fn contact_deletes() -> Vec<ContactUpdate> {
    vec![
        ContactUpdate::FileAs(None),
        ContactUpdate::DisplayName(Some(String::new())),
        ContactUpdate::GivenName(None),
        ContactUpdate::MiddleName(None),
        ContactUpdate::Nickname(None),
        ContactUpdate::Surname(None),
        ContactUpdate::CompanyName(None),
        ContactUpdate::Department(None),
        ContactUpdate::JobTitle(None),
        ContactUpdate::Email(EmailKey::EmailAddress2, None),
        ContactUpdate::Phone(PhoneKey::HomePhone, Some(String::new())),
        ContactUpdate::Address(AddressKey::Home, None),
        ContactUpdate::Birthday(None),
        ContactUpdate::Notes(None),
        ContactUpdate::Categories(Vec::new()),
        ContactUpdate::CrmId(None),
    ]
}

/// Each calendar property set to a value carrying `text`, every recurrence pattern included.
pub fn calendar_sets(text: &str) -> Vec<CalendarUpdate> {
    let some = |prefix: &str| Some(format!("{prefix} {text}"));
    let attendee = |email: &str| {
        Attendee::new(Mailbox {
            name: Some(format!("Guest {text}")),
            email: email.into(),
        })
    };
    let mut updates = vec![
        CalendarUpdate::Subject(some("Quarterly review")),
        CalendarUpdate::Body(Some(Body {
            kind: BodyType::Html,
            content: format!("<p>{text}</p>"),
        })),
        CalendarUpdate::Location(some("Room 4")),
        CalendarUpdate::Start(utc(2026, 3, 2, 8, 30)),
        CalendarUpdate::End(utc(2026, 3, 2, 9, 30)),
        CalendarUpdate::StartTimeZone("W. Europe Standard Time".into()),
        CalendarUpdate::EndTimeZone(format!("Custom zone {text}")),
        CalendarUpdate::IsAllDay(true),
        CalendarUpdate::IsAllDay(false),
        CalendarUpdate::ShowAs(LegacyFreeBusy::Tentative),
        CalendarUpdate::ShowAs(LegacyFreeBusy::WorkingElsewhere),
        CalendarUpdate::Sensitivity(Sensitivity::Private),
        CalendarUpdate::Reminder(Some(30)),
        CalendarUpdate::Categories(vec![format!("Customer {text}")]),
        CalendarUpdate::RequiredAttendees(vec![
            attendee("bo.ek@contoso.example"),
            attendee("cleo@fabrikam.example"),
        ]),
        CalendarUpdate::OptionalAttendees(vec![attendee("dana@contoso.example")]),
        CalendarUpdate::CrmId(some("crm-meeting-7")),
    ];
    updates.extend(
        every_recurrence()
            .into_iter()
            .map(|r| CalendarUpdate::Recurrence(Some(r))),
    );
    updates
}

/// Each calendar property that can be removed, removed.
pub fn calendar_deletes() -> Vec<CalendarUpdate> {
    vec![
        CalendarUpdate::Subject(None),
        CalendarUpdate::Body(None),
        CalendarUpdate::Body(Some(Body::text(""))),
        CalendarUpdate::Location(Some(String::new())),
        CalendarUpdate::Reminder(None),
        CalendarUpdate::Categories(Vec::new()),
        CalendarUpdate::RequiredAttendees(Vec::new()),
        CalendarUpdate::OptionalAttendees(Vec::new()),
        CalendarUpdate::Recurrence(None),
        CalendarUpdate::CrmId(None),
    ]
}
