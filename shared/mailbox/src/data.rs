//! Contacts and events as mailbridge understands them, whichever protocol carried them.
//!
//! The CRM side stores these as JSON, the sync engine hashes and merges them field by
//! field, and each mailbox backend converts them to and from its own wire types.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DataError;

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    fn is_empty(&self) -> bool {
        self == &Address::default()
    }
}

/// A contact.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactData {
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Middle name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// The name as shown; Exchange derives one when it is not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// E-mail addresses, at most three (the mailbox keeps three), the first is primary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// Business phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_phone: Option<String>,
    /// Mobile phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    /// Home phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_phone: Option<String>,
    /// Business address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_address: Option<Address>,
    /// Home address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_address: Option<Address>,
    /// Birthday.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday: Option<NaiveDate>,
    /// Free-text notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Categories (Outlook's coloured labels).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

/// Someone invited to an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttendeeData {
    /// Their address.
    pub email: String,
    /// Their name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Optional rather than required.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// How a series repeats. Day, index and month names are Exchange's (`Monday`, `First`,
/// `January`; `Day`, `Weekday` and `WeekendDay` are allowed where Exchange allows them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RecurrencePattern {
    /// Every `interval` days.
    Daily {
        /// Days between occurrences.
        interval: u32,
    },
    /// Every `interval` weeks on `days`.
    Weekly {
        /// Weeks between occurrences.
        interval: u32,
        /// Days of the week.
        days: Vec<String>,
    },
    /// Every `interval` months on a day of the month.
    AbsoluteMonthly {
        /// Months between occurrences.
        interval: u32,
        /// Day of the month, 1 to 31.
        day_of_month: u32,
    },
    /// Every `interval` months on, e.g., the second Tuesday.
    RelativeMonthly {
        /// Months between occurrences.
        interval: u32,
        /// Day of the week.
        day: String,
        /// Which one: `First` … `Fourth`, `Last`.
        index: String,
    },
    /// Every year on a date.
    AbsoluteYearly {
        /// Day of the month.
        day_of_month: u32,
        /// Month name.
        month: String,
    },
    /// Every year on, e.g., the last Friday of March.
    RelativeYearly {
        /// Day of the week.
        day: String,
        /// Which one.
        index: String,
        /// Month name.
        month: String,
    },
}

/// When a series starts and ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecurrenceData {
    /// How it repeats.
    pub pattern: RecurrencePattern,
    /// The first day of the series.
    pub start: NaiveDate,
    /// The last day, if it ends on a date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<NaiveDate>,
    /// The number of occurrences, if it ends after a count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// A calendar event (a single one or a whole series).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventData {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Description, plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Start (UTC).
    pub start: DateTime<Utc>,
    /// End (UTC), not before the start.
    pub end: DateTime<Utc>,
    /// An all-day event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_day: bool,
    /// The Windows time zone it was planned in, e.g. `W. Europe Standard Time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Free/busy: `Free`, `Tentative`, `Busy`, `OOF`, `WorkingElsewhere`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_as: Option<String>,
    /// Minutes before the start to remind; `None`: no reminder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_minutes: Option<u32>,
    /// Invitees.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attendees: Vec<AttendeeData>,
    /// How it repeats; `None` for a single event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<RecurrenceData>,
    /// Categories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

/// A contact or an event.
// A contact is larger than an event, but items are handled a page at a time, never in
// large collections where boxing would pay off.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemData {
    /// A contact.
    Contact(ContactData),
    /// An event.
    Event(EventData),
}

/// The time zone of an event given without one.
pub const UTC_ZONE: &str = "UTC";

/// Longest text value accepted in any field (Exchange refuses far larger ones anyway).
pub const MAX_FIELD_CHARS: usize = 32_768;
/// Most attendees an event may have here.
pub const MAX_ATTENDEES: usize = 500;
/// Most categories.
pub const MAX_CATEGORIES: usize = 50;

impl ItemData {
    /// Reads a contact from JSON, naming the field that is wrong.
    pub fn contact_from_json(json: &str) -> Result<ItemData, DataError> {
        let contact: ContactData = from_json(json)?;
        let item = ItemData::Contact(contact);
        item.validate()?;
        Ok(item)
    }

    /// Reads an event from JSON, naming the field that is wrong.
    pub fn event_from_json(json: &str) -> Result<ItemData, DataError> {
        let event: EventData = from_json(json)?;
        let item = ItemData::Event(event);
        item.validate()?;
        Ok(item)
    }

    /// The JSON the CRM side stores.
    pub fn to_json(&self) -> String {
        // Plain data of strings, numbers and dates always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks limits and shapes a backend could not store.
    pub fn validate(&self) -> Result<(), DataError> {
        let mut texts: Vec<(&'static str, &str)> = Vec::new();
        match self {
            ItemData::Contact(c) => {
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
                    if let Some(v) = value {
                        texts.push((name, v));
                    }
                }
                check_categories(&c.categories)?;
            }
            ItemData::Event(e) => {
                if e.end < e.start {
                    return Err(DataError::field("end", "must not be before start"));
                }
                if e.attendees.len() > MAX_ATTENDEES {
                    return Err(DataError::field("attendees", "too many attendees"));
                }
                for a in &e.attendees {
                    check_email("attendees.email", &a.email)?;
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
                    if let Some(v) = value {
                        texts.push((name, v));
                    }
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
                check_categories(&e.categories)?;
            }
        }
        for (name, text) in texts {
            if text.chars().count() > MAX_FIELD_CHARS {
                return Err(DataError::field(name, "is too long"));
            }
        }
        Ok(())
    }

    /// The same data in canonical form: text trimmed with `\n` line ends, empty values
    /// dropped, e-mail addresses trimmed. Two versions that mean the same normalise equal.
    #[must_use]
    pub fn normalized(&self) -> ItemData {
        match self {
            ItemData::Contact(c) => ItemData::Contact(ContactData {
                given_name: text(c.given_name.as_ref()),
                middle_name: text(c.middle_name.as_ref()),
                surname: text(c.surname.as_ref()),
                nickname: text(c.nickname.as_ref()),
                display_name: text(c.display_name.as_ref()),
                company: text(c.company.as_ref()),
                department: text(c.department.as_ref()),
                job_title: text(c.job_title.as_ref()),
                emails: c.emails.iter().filter_map(|e| text(Some(e))).collect(),
                business_phone: text(c.business_phone.as_ref()),
                mobile_phone: text(c.mobile_phone.as_ref()),
                home_phone: text(c.home_phone.as_ref()),
                business_address: address(c.business_address.as_ref()),
                home_address: address(c.home_address.as_ref()),
                birthday: c.birthday,
                notes: text(c.notes.as_ref()),
                categories: categories(&c.categories),
            }),
            ItemData::Event(e) => ItemData::Event(EventData {
                subject: text(e.subject.as_ref()),
                body: text(e.body.as_ref()),
                location: text(e.location.as_ref()),
                start: e.start,
                end: e.end,
                all_day: e.all_day,
                // Exchange always reports a zone; an event planned without one is in UTC.
                time_zone: text(e.time_zone.as_ref()).or_else(|| Some(UTC_ZONE.to_owned())),
                show_as: text(e.show_as.as_ref()).filter(|s| s != "Busy"),
                reminder_minutes: e.reminder_minutes,
                attendees: e
                    .attendees
                    .iter()
                    .map(|a| AttendeeData {
                        email: a.email.trim().to_owned(),
                        name: text(a.name.as_ref()),
                        optional: a.optional,
                    })
                    .collect(),
                recurrence: e.recurrence.clone(),
                categories: categories(&e.categories),
            }),
        }
    }

    /// A hash of the normalised content: equal exactly when the normalised data is equal.
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_value(self.normalized())
            .map(|v| v.to_string())
            .unwrap_or_default();
        let digest = Sha256::digest(canonical.as_bytes());
        digest
            .iter()
            .take(16)
            .fold(String::with_capacity(32), |mut s, b| {
                use std::fmt::Write as _;
                let _ = write!(s, "{b:02x}");
                s
            })
    }

    /// The contact's addresses, lower case, for matching.
    pub fn match_emails(&self) -> Vec<String> {
        match self {
            ItemData::Contact(c) => c.emails.iter().map(|e| e.trim().to_lowercase()).collect(),
            ItemData::Event(_) => Vec::new(),
        }
    }

    /// A key for matching by name: the contact's full name, or the event's subject and
    /// start, folded to lower case with spaces collapsed. `None` when there is no name.
    pub fn match_name(&self) -> Option<String> {
        let raw = match self {
            ItemData::Contact(c) => [&c.given_name, &c.middle_name, &c.surname]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" "),
            ItemData::Event(e) => format!(
                "{} @ {}",
                e.subject.as_deref().unwrap_or_default(),
                e.start.to_rfc3339()
            ),
        };
        let folded = raw
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        (!folded.is_empty() && folded != "@").then_some(folded)
    }
}

fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, DataError> {
    let mut reader = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut reader).map_err(DataError::json)
}

fn text(value: Option<&String>) -> Option<String> {
    let value = value?.replace("\r\n", "\n").replace('\r', "\n");
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn address(value: Option<&Address>) -> Option<Address> {
    let a = value?;
    let a = Address {
        street: text(a.street.as_ref()),
        city: text(a.city.as_ref()),
        state: text(a.state.as_ref()),
        postal_code: text(a.postal_code.as_ref()),
        country: text(a.country.as_ref()),
    };
    (!a.is_empty()).then_some(a)
}

fn categories(list: &[String]) -> Vec<String> {
    list.iter().filter_map(|c| text(Some(c))).collect()
}

fn check_email(field: &'static str, email: &str) -> Result<(), DataError> {
    let email = email.trim();
    let valid = email.len() <= 320
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
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
    if list.iter().any(|c| c.chars().count() > 255) {
        return Err(DataError::field("categories", "a category is too long"));
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
