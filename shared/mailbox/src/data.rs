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

    /// The same data in canonical form: text trimmed with `\n` line ends, empty values
    /// dropped, e-mail addresses trimmed. Two versions that mean the same normalise equal.
    #[must_use]
    pub fn normalized(&self) -> ItemData {
        self.rebuilt(canonical_text)
    }

    /// The data as a mailbox should store it: every text exactly as given (surrounding
    /// spaces, tabs and `\r` included), except that a value that is empty or only white
    /// space is dropped, since the canonical form counts it as no value and a mailbox keeps
    /// none. E-mail addresses lose surrounding white space, which is no part of an address.
    /// Its canonical form is that of `self`.
    #[must_use]
    pub fn stored(&self) -> ItemData {
        self.rebuilt(kept_text)
    }

    /// A copy with every free text passed through `text`; the rest as the canonical form
    /// has it.
    fn rebuilt(&self, text: fn(Option<&String>) -> Option<String>) -> ItemData {
        let address = |value: Option<&Address>| {
            let a = value?;
            let a = Address {
                street: text(a.street.as_ref()),
                city: text(a.city.as_ref()),
                state: text(a.state.as_ref()),
                postal_code: text(a.postal_code.as_ref()),
                country: text(a.country.as_ref()),
            };
            (!a.is_empty()).then_some(a)
        };
        let categories = |list: &[String]| list.iter().filter_map(|c| text(Some(c))).collect();
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
                emails: c
                    .emails
                    .iter()
                    .filter_map(|e| canonical_text(Some(e)))
                    .collect(),
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
                time_zone: canonical_text(e.time_zone.as_ref())
                    .or_else(|| Some(UTC_ZONE.to_owned())),
                show_as: canonical_text(e.show_as.as_ref()).filter(|s| s != "Busy"),
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

/// A text in canonical form: `\n` line ends, trimmed, `None` when nothing is left.
fn canonical_text(value: Option<&String>) -> Option<String> {
    let value = value?.replace("\r\n", "\n").replace('\r', "\n");
    let trimmed = value.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// A text exactly as given, `None` when it is empty or only white space.
fn kept_text(value: Option<&String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty()).cloned()
}
