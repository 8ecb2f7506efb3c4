//! Mailbox items as the store holds them: contacts, calendar events and messages, with no
//! trace of the protocol that reads or writes them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::recurrence::Recurrence;

/// A named extended (MAPI) property, identified by its property set and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendedProperty {
    /// The property set GUID, lower-case.
    pub property_set: String,
    /// The property name.
    pub name: String,
    /// The MAPI type name the writer gave (`String`, `Integer`, ...).
    #[serde(default = "string_type")]
    pub kind: String,
    /// The value, as text.
    pub value: String,
}

fn string_type() -> String {
    "String".to_owned()
}

/// A message or item body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// `true` for HTML, `false` for plain text.
    #[serde(default)]
    pub html: bool,
    /// The content.
    pub content: String,
}

impl Body {
    /// A plain-text body.
    pub fn text(content: impl Into<String>) -> Body {
        Body {
            html: false,
            content: content.into(),
        }
    }
}

/// A person on a message or meeting: an address and an optional display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// SMTP address.
    pub address: String,
}

impl Person {
    /// A person known only by address.
    pub fn new(address: impl Into<String>) -> Person {
        Person {
            name: None,
            address: address.into(),
        }
    }
}

/// What every item kind carries besides its own fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Common {
    /// Categories (labels) the owner gave the item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// The body (a contact's notes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// `Normal`, `Personal`, `Private` or `Confidential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<String>,
    /// `Low`, `Normal` or `High`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<String>,
    /// Named extended properties, at most one per (property set, name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extended: Vec<ExtendedProperty>,
}

impl Common {
    /// The value of an extended property, matched case-insensitively on the set.
    pub fn extended_value(&self, property_set: &str, name: &str) -> Option<&str> {
        self.extended
            .iter()
            .find(|p| p.property_set.eq_ignore_ascii_case(property_set) && p.name == name)
            .map(|p| p.value.as_str())
    }

    /// Sets (or with `None` removes) an extended property.
    pub fn set_extended(
        &mut self,
        property_set: &str,
        name: &str,
        kind: &str,
        value: Option<String>,
    ) {
        self.extended
            .retain(|p| !(p.property_set.eq_ignore_ascii_case(property_set) && p.name == name));
        if let Some(value) = value {
            self.extended.push(ExtendedProperty {
                property_set: property_set.to_ascii_lowercase(),
                name: name.to_owned(),
                kind: kind.to_owned(),
                value,
            });
        }
    }
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Address {
    /// Street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Country or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

impl Address {
    /// Whether every part is empty.
    pub fn is_empty(&self) -> bool {
        [
            &self.street,
            &self.city,
            &self.state,
            &self.country,
            &self.postal_code,
        ]
        .iter()
        .all(|p| p.is_none())
    }
}

/// A contact. Slots (`EmailAddress1`, `MobilePhone`, `Business`) use Outlook's names, which
/// both EWS and Graph map onto.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_as: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    /// By slot: `EmailAddress1` to `EmailAddress3`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub emails: BTreeMap<String, String>,
    /// By slot: `BusinessPhone`, `MobilePhone`, ...
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub phones: BTreeMap<String, String>,
    /// By slot: `Home`, `Business`, `Other`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub addresses: BTreeMap<String, Address>,
    /// The birthday, as the date the owner entered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday: Option<NaiveDate>,
}

impl Contact {
    /// The name Outlook shows: the display name, else given name and surname.
    pub fn shown_name(&self) -> String {
        if let Some(name) = self.display_name.as_ref().filter(|n| !n.is_empty()) {
            return name.clone();
        }
        [&self.given_name, &self.surname]
            .iter()
            .filter_map(|p| p.as_deref())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// An attendee of a meeting and the answer they gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    /// Who.
    pub person: Person,
    /// `Unknown`, `Accept`, `Tentative`, `Decline` or `NoResponseReceived`.
    #[serde(default = "no_response")]
    pub response: String,
}

fn no_response() -> String {
    "NoResponseReceived".to_owned()
}

/// One changed occurrence of a series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OccurrenceChange {
    /// Where the occurrence would have started: its identity within the series.
    pub original_start: DateTime<Utc>,
    /// Its new start.
    pub start: DateTime<Utc>,
    /// Its new end.
    pub end: DateTime<Utc>,
    /// A subject of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// A location of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// A calendar event: single, or a recurring series with its exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Start (of the first occurrence, for a series).
    pub start: DateTime<Utc>,
    /// End (of the first occurrence, for a series).
    pub end: DateTime<Utc>,
    /// The Windows time zone id the writer named, kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_zone: Option<String>,
    #[serde(default)]
    pub all_day: bool,
    /// `Free`, `Tentative`, `Busy`, `OOF`, `WorkingElsewhere` or `NoData`.
    #[serde(default = "busy")]
    pub show_as: String,
    /// Minutes before start; `None` means no reminder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_minutes: Option<u32>,
    /// The iCalendar UID; assigned on create when missing.
    #[serde(default)]
    pub uid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizer: Option<Person>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<Attendee>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional: Vec<Attendee>,
    #[serde(default)]
    pub is_meeting: bool,
    #[serde(default)]
    pub is_cancelled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Recurrence>,
    /// Changed occurrences of a series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modified: Vec<OccurrenceChange>,
    /// Original starts of deleted occurrences of a series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<DateTime<Utc>>,
}

fn busy() -> String {
    "Busy".to_owned()
}

impl Event {
    /// A single event with only a subject and times.
    pub fn new(subject: impl Into<String>, start: DateTime<Utc>, end: DateTime<Utc>) -> Event {
        Event {
            subject: Some(subject.into()),
            location: None,
            start,
            end,
            start_time_zone: None,
            end_time_zone: None,
            all_day: false,
            show_as: busy(),
            reminder_minutes: None,
            uid: String::new(),
            organizer: None,
            required: Vec::new(),
            optional: Vec::new(),
            is_meeting: false,
            is_cancelled: false,
            recurrence: None,
            modified: Vec::new(),
            deleted: Vec::new(),
        }
    }

    /// Every attendee, required then optional.
    pub fn attendees(&self) -> impl Iterator<Item = &Attendee> {
        self.required.iter().chain(&self.optional)
    }
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// The bytes.
    #[serde(with = "base64_bytes")]
    pub content: Vec<u8>,
}

/// A message: a draft, a sent copy, or one delivered to the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct Message {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Person>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<Person>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Person>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bcc: Vec<Person>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_to: Vec<Person>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<DateTime<Utc>>,
    #[serde(default)]
    pub internet_message_id: String,
    #[serde(default)]
    pub is_read: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl Message {
    /// Every recipient: to, cc and bcc.
    pub fn recipients(&self) -> impl Iterator<Item = &Person> {
        self.to.iter().chain(&self.cc).chain(&self.bcc)
    }
}

/// What an item is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ItemData {
    Contact(Contact),
    Event(Event),
    Message(Message),
}

impl ItemData {
    /// A short name for the kind, for messages and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ItemData::Contact(_) => "contact",
            ItemData::Event(_) => "event",
            ItemData::Message(_) => "message",
        }
    }
}

/// An item's content: its kind's fields plus what every item has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemContent {
    /// The kind's own fields.
    #[serde(flatten)]
    pub data: ItemData,
    /// Categories, body, extended properties.
    #[serde(default)]
    pub common: Common,
}

impl ItemContent {
    /// A contact with nothing else set.
    pub fn contact(contact: Contact) -> ItemContent {
        ItemContent {
            data: ItemData::Contact(contact),
            common: Common::default(),
        }
    }

    /// An event with nothing else set.
    pub fn event(event: Event) -> ItemContent {
        ItemContent {
            data: ItemData::Event(event),
            common: Common::default(),
        }
    }

    /// A message with nothing else set.
    pub fn message(message: Message) -> ItemContent {
        ItemContent {
            data: ItemData::Message(message),
            common: Common::default(),
        }
    }

    /// The subject line as Exchange computes it (a contact's is its name).
    pub fn subject(&self) -> Option<String> {
        match &self.data {
            ItemData::Contact(c) => Some(c.shown_name()).filter(|s| !s.is_empty()),
            ItemData::Event(e) => e.subject.clone(),
            ItemData::Message(m) => m.subject.clone(),
        }
    }

    /// A rough size in bytes, as the store would count it.
    pub fn size(&self) -> usize {
        let body = self.common.body.as_ref().map_or(0, |b| b.content.len());
        let attachments = match &self.data {
            ItemData::Message(m) => m.attachments.iter().map(|a| a.content.len()).sum(),
            _ => 0,
        };
        let mut fields = ByteCount(0);
        // Counting instead of building the JSON keeps a page of sizes free of allocations.
        let fields = serde_json::to_writer(&mut fields, &self.data).map_or(0, |()| fields.0);
        fields + body + attachments
    }
}

/// A writer that only counts what it is given.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}
