//! What a mailbox can store: limits, shapes, and the characters XML can carry.
//!
//! Every backend speaks XML or JSON to Exchange, and Exchange's EWS parser refuses the
//! characters XML 1.0 cannot carry at all (U+0000 to U+0008, U+000B, U+000C, U+000E to
//! U+001F, U+FFFE and U+FFFF), not even as character references. Such characters are
//! refused here, naming the field, rather than dropped: silently changing a value would
//! make the two sides of a sync disagree about what was written.

use crate::data::{
    ContactData, EventData, ItemData, MAX_ATTENDEES, MAX_CATEGORIES, MAX_FIELD_CHARS,
    RecurrenceData, RecurrencePattern,
};
use crate::error::DataError;

/// Longest category name.
const MAX_CATEGORY_CHARS: usize = 255;
/// Longest e-mail address, in bytes (RFC 5321's path limit, rounded up as Exchange does).
const MAX_EMAIL_BYTES: usize = 320;

impl ItemData {
    /// Checks limits and shapes a backend could not store: every text at most
    /// [`MAX_FIELD_CHARS`] characters and free of characters XML cannot carry, addresses
    /// that look like addresses, names Exchange knows. The error names the first field
    /// that is wrong.
    pub fn validate(&self) -> Result<(), DataError> {
        match self {
            ItemData::Contact(c) => check_contact(c),
            ItemData::Event(e) => check_event(e),
        }
    }
}

fn check_contact(c: &ContactData) -> Result<(), DataError> {
    if c.emails.len() > 3 {
        return Err(DataError::field("emails", "at most three addresses"));
    }
    for email in &c.emails {
        check_email("emails", email)?;
    }
    for (name, value) in [
        ("given_name", &c.given_name),
        ("middle_name", &c.middle_name),
        ("surname", &c.surname),
        ("nickname", &c.nickname),
        ("display_name", &c.display_name),
        ("company", &c.company),
        ("department", &c.department),
        ("job_title", &c.job_title),
        ("business_phone", &c.business_phone),
        ("mobile_phone", &c.mobile_phone),
        ("home_phone", &c.home_phone),
        ("notes", &c.notes),
    ] {
        check_text(name, value.as_deref())?;
    }
    for (name, address) in [
        ("business_address", &c.business_address),
        ("home_address", &c.home_address),
    ] {
        let Some(a) = address else { continue };
        for (part, value) in [
            ("street", &a.street),
            ("city", &a.city),
            ("state", &a.state),
            ("postal_code", &a.postal_code),
            ("country", &a.country),
        ] {
            check_text(&format!("{name}.{part}"), value.as_deref())?;
        }
    }
    check_categories(&c.categories)
}

fn check_event(e: &EventData) -> Result<(), DataError> {
    if e.end < e.start {
        return Err(DataError::field("end", "must not be before start"));
    }
    if e.attendees.len() > MAX_ATTENDEES {
        return Err(DataError::field("attendees", "too many attendees"));
    }
    for a in &e.attendees {
        check_email("attendees.email", &a.email)?;
        check_text("attendees.name", a.name.as_deref())?;
    }
    if let Some(r) = &e.recurrence {
        check_recurrence(r)?;
    }
    for (name, value) in [
        ("subject", &e.subject),
        ("body", &e.body),
        ("location", &e.location),
        ("time_zone", &e.time_zone),
    ] {
        check_text(name, value.as_deref())?;
    }
    if let Some(show_as) = &e.show_as
        && !matches!(
            show_as.as_str(),
            "Free" | "Tentative" | "Busy" | "OOF" | "WorkingElsewhere" | "NoData"
        )
    {
        return Err(DataError::field(
            "show_as",
            "must be Free, Tentative, Busy, OOF or WorkingElsewhere",
        ));
    }
    check_categories(&e.categories)
}

/// Whether XML 1.0 allows `c` in a document (its `Char` production): what any text bound
/// for Exchange may hold.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn check_text(field: &str, value: Option<&str>) -> Result<(), DataError> {
    let Some(value) = value else {
        return Ok(());
    };
    if let Some(c) = value.chars().find(|c| !is_xml_char(*c)) {
        return Err(DataError::field(
            field,
            format!(
                "contains the character U+{:04X}, which XML cannot carry (control characters \
                 other than tab, line feed and carriage return are not allowed)",
                u32::from(c)
            ),
        ));
    }
    let chars = value.chars().count();
    if chars > MAX_FIELD_CHARS {
        return Err(DataError::field(
            field,
            format!("is too long: {chars} characters, at most {MAX_FIELD_CHARS}"),
        ));
    }
    Ok(())
}

fn check_email(field: &'static str, email: &str) -> Result<(), DataError> {
    let email = email.trim();
    let valid = email.len() <= MAX_EMAIL_BYTES
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || !is_xml_char(c));
    if valid {
        Ok(())
    } else {
        Err(DataError::field(field, "is not an e-mail address"))
    }
}

fn check_categories(list: &[String]) -> Result<(), DataError> {
    if list.len() > MAX_CATEGORIES {
        return Err(DataError::field("categories", "too many categories"));
    }
    for category in list {
        check_text("categories", Some(category))?;
        if category.chars().count() > MAX_CATEGORY_CHARS {
            return Err(DataError::field(
                "categories",
                format!("a category is too long: at most {MAX_CATEGORY_CHARS} characters"),
            ));
        }
    }
    Ok(())
}

const DAYS: [&str; 10] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Day",
    "Weekday",
    "WeekendDay",
];
const INDEXES: [&str; 5] = ["First", "Second", "Third", "Fourth", "Last"];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn check_recurrence(r: &RecurrenceData) -> Result<(), DataError> {
    let one_of = |field, value: &str, allowed: &[&str]| {
        if allowed.contains(&value) {
            Ok(())
        } else {
            Err(DataError::field(field, "is not a name Exchange knows"))
        }
    };
    let interval = |i: u32| {
        if (1..=999).contains(&i) {
            Ok(())
        } else {
            Err(DataError::field("recurrence.interval", "must be 1 to 999"))
        }
    };
    let day_of_month = |d: u32| {
        if (1..=31).contains(&d) {
            Ok(())
        } else {
            Err(DataError::field(
                "recurrence.day_of_month",
                "must be 1 to 31",
            ))
        }
    };
    match &r.pattern {
        RecurrencePattern::Daily { interval: i } => interval(*i)?,
        RecurrencePattern::Weekly { interval: i, days } => {
            interval(*i)?;
            if days.is_empty() {
                return Err(DataError::field(
                    "recurrence.days",
                    "needs at least one day",
                ));
            }
            for d in days {
                one_of("recurrence.days", d, &DAYS[..7])?;
            }
        }
        RecurrencePattern::AbsoluteMonthly {
            interval: i,
            day_of_month: d,
        } => {
            interval(*i)?;
            day_of_month(*d)?;
        }
        RecurrencePattern::RelativeMonthly {
            interval: i,
            day,
            index,
        } => {
            interval(*i)?;
            one_of("recurrence.day", day, &DAYS)?;
            one_of("recurrence.index", index, &INDEXES)?;
        }
        RecurrencePattern::AbsoluteYearly {
            day_of_month: d,
            month,
        } => {
            day_of_month(*d)?;
            one_of("recurrence.month", month, &MONTHS)?;
        }
        RecurrencePattern::RelativeYearly { day, index, month } => {
            one_of("recurrence.day", day, &DAYS)?;
            one_of("recurrence.index", index, &INDEXES)?;
            one_of("recurrence.month", month, &MONTHS)?;
        }
    }
    match (r.end, r.count) {
        (Some(_), Some(_)) => Err(DataError::field(
            "recurrence",
            "give an end date or a count, not both",
        )),
        (Some(end), None) if end < r.start => Err(DataError::field(
            "recurrence.end",
            "must not be before start",
        )),
        (None, Some(0)) => Err(DataError::field("recurrence.count", "must be at least 1")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::data::{Address, AttendeeData};

    /// Text every layer must carry as it is: markup, a CDATA end, an injected element,
    /// line ends of each kind, surrounding spaces, non-BMP and combining characters.
    const LEGAL: &str = " <a>&amp;]]><![CDATA[x]]>\"'</t:Subject><t:Body>x</t:Body>\t\r\n\r\n \
                         \u{1F600}\u{10FFFF}e\u{301}\u{FFFD}\u{85} ";

    fn event() -> EventData {
        EventData {
            subject: None,
            body: None,
            location: None,
            start: Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2027, 3, 1, 10, 0, 0).unwrap(),
            all_day: false,
            time_zone: None,
            show_as: None,
            reminder_minutes: None,
            attendees: Vec::new(),
            recurrence: None,
            categories: Vec::new(),
        }
    }

    fn contacts_with(text: &str) -> Vec<(&'static str, ContactData)> {
        let s = || Some(text.to_owned());
        vec![
            (
                "given_name",
                ContactData {
                    given_name: s(),
                    ..ContactData::default()
                },
            ),
            (
                "display_name",
                ContactData {
                    display_name: s(),
                    ..ContactData::default()
                },
            ),
            (
                "company",
                ContactData {
                    company: s(),
                    ..ContactData::default()
                },
            ),
            (
                "mobile_phone",
                ContactData {
                    mobile_phone: s(),
                    ..ContactData::default()
                },
            ),
            (
                "notes",
                ContactData {
                    notes: s(),
                    ..ContactData::default()
                },
            ),
            (
                "home_address.city",
                ContactData {
                    home_address: Some(Address {
                        city: s(),
                        ..Address::default()
                    }),
                    ..ContactData::default()
                },
            ),
            (
                "categories",
                ContactData {
                    categories: vec![text.into()],
                    ..ContactData::default()
                },
            ),
        ]
    }

    fn events_with(text: &str) -> Vec<(&'static str, EventData)> {
        let s = || Some(text.to_owned());
        vec![
            (
                "subject",
                EventData {
                    subject: s(),
                    ..event()
                },
            ),
            (
                "body",
                EventData {
                    body: s(),
                    ..event()
                },
            ),
            (
                "location",
                EventData {
                    location: s(),
                    ..event()
                },
            ),
            (
                "attendees.name",
                EventData {
                    attendees: vec![AttendeeData {
                        email: "ada@example.com".into(),
                        name: s(),
                        optional: false,
                    }],
                    ..event()
                },
            ),
        ]
    }

    fn refused(item: &ItemData) -> DataError {
        item.validate().expect_err("the value must be refused")
    }

    #[test]
    fn hostile_but_legal_text_is_accepted_in_every_field() {
        for (field, c) in contacts_with(LEGAL) {
            assert_eq!(ItemData::Contact(c).validate(), Ok(()), "{field}");
        }
        for (field, e) in events_with(LEGAL) {
            assert_eq!(ItemData::Event(e).validate(), Ok(()), "{field}");
        }
    }

    #[test]
    fn characters_xml_cannot_carry_are_refused_naming_the_field_and_character() {
        for bad in [
            '\u{0}', '\u{8}', '\u{B}', '\u{C}', '\u{1B}', '\u{1F}', '\u{FFFE}', '\u{FFFF}',
        ] {
            let text = format!("before{bad}after");
            let code = format!("U+{:04X}", u32::from(bad));
            for (field, c) in contacts_with(&text) {
                let err = refused(&ItemData::Contact(c));
                assert_eq!(err.field, field, "{code}");
                assert!(err.reason.contains(&code), "{field}: {err}");
            }
            for (field, e) in events_with(&text) {
                let err = refused(&ItemData::Event(e));
                assert_eq!(err.field, field, "{code}");
                assert!(err.reason.contains(&code), "{field}: {err}");
            }
        }
        // The JSON the CRM sends can spell them as escapes; they are refused all the same.
        let err = ItemData::contact_from_json(r#"{"surname":"a\u0001b"}"#).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.reason.contains("U+0001")),
            ("surname", true)
        );
        let err = ItemData::event_from_json(
            r#"{"subject":"\uFFFE","start":"2027-03-01T09:00:00Z","end":"2027-03-01T10:00:00Z"}"#,
        )
        .unwrap_err();
        assert_eq!(err.field, "subject");
        let err = ItemData::contact_from_json(r#"{"emails":["a\u0007@example.com"]}"#).unwrap_err();
        assert_eq!(err.field, "emails");
    }

    #[test]
    fn the_length_limit_counts_characters_and_names_the_field() {
        // Four bytes each in UTF-8, two UTF-16 units: only characters count.
        let at_limit = "\u{1F600}".repeat(MAX_FIELD_CHARS);
        let past = format!("{at_limit}x");
        for (field, c) in contacts_with(&at_limit) {
            if field != "categories" {
                assert_eq!(ItemData::Contact(c).validate(), Ok(()), "{field}");
            }
        }
        for (field, e) in events_with(&at_limit) {
            assert_eq!(ItemData::Event(e).validate(), Ok(()), "{field}");
        }
        for (field, c) in contacts_with(&past) {
            let err = refused(&ItemData::Contact(c));
            assert_eq!(err.field, field);
            assert!(err.reason.contains("too long"), "{field}: {err}");
        }
        for (field, e) in events_with(&past) {
            let err = refused(&ItemData::Event(e));
            assert_eq!(err.field, field);
            assert!(err.reason.contains(&MAX_FIELD_CHARS.to_string()), "{err}");
        }
        let category = "c".repeat(MAX_CATEGORY_CHARS);
        let ok = ContactData {
            categories: vec![category.clone()],
            ..ContactData::default()
        };
        assert_eq!(ItemData::Contact(ok).validate(), Ok(()));
        let long = ContactData {
            categories: vec![category + "c"],
            ..ContactData::default()
        };
        assert_eq!(refused(&ItemData::Contact(long)).field, "categories");
    }
}
