//! Reading `t:Contact`, `t:CalendarItem` and `t:Message` elements of a request into model
//! items, checking child order and values as the schema does.

use std::collections::HashSet;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::fields::{ADDRESS_KEYS, AddressPart, EMAIL_KEYS, PHONE_KEYS};
use super::schema_order::{
    CALENDAR_ORDER, CONTACT_ORDER, FREE_BUSY, IMPORTANCES, ITEM_ORDER, MESSAGE_ORDER, SENSITIVITIES,
};
use super::soap::Fault;
use super::xml::{Node, Ns};
use crate::model::{
    Address, Attachment, Attendee, Body, Common, Contact, Event, ItemContent, ItemData, Message,
    Person,
};

/// An item read from a request, with the names of the elements it carried.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadItem {
    /// The content.
    pub content: ItemContent,
    /// Elements present, by local name.
    pub seen: HashSet<String>,
}

/// Reads an item element. With `partial`, required properties may be missing (an
/// `UpdateItem` value carries one property).
pub fn read_item(node: &Node, partial: bool) -> Result<ReadItem, Fault> {
    let own: &[&str] = match node.name.as_str() {
        "Contact" => &CONTACT_ORDER,
        "CalendarItem" => &CALENDAR_ORDER,
        "Message" => &MESSAGE_ORDER,
        other => {
            return Err(Fault::new(
                "ErrorInvalidRequest",
                format!("This server stores contacts, calendar items and messages, not {other}."),
            ));
        }
    };
    check_order(node, own)?;
    let seen: HashSet<String> = node.children.iter().map(|c| c.name.clone()).collect();
    let common = read_common(node)?;
    let data = match node.name.as_str() {
        "Contact" => ItemData::Contact(read_contact(node)?),
        "CalendarItem" => ItemData::Event(read_event(node, partial)?),
        _ => ItemData::Message(read_message(node)?),
    };
    Ok(ReadItem {
        content: ItemContent { data, common },
        seen,
    })
}

fn check_order(node: &Node, own: &[&str]) -> Result<(), Fault> {
    let mut last = 0;
    for child in &node.children {
        let index = ITEM_ORDER
            .iter()
            .chain(own)
            .position(|n| *n == child.name)
            .filter(|_| child.ns == Ns::Types)
            .ok_or_else(|| {
                Fault::schema(format!(
                    "the element '{}' has invalid child element '{}'",
                    node.name, child.name
                ))
            })?;
        if index < last {
            return Err(Fault::schema(format!(
                "in '{}', the element '{}' is out of order",
                node.name, child.name
            )));
        }
        last = index;
    }
    Ok(())
}

fn text(node: &Node, name: &str) -> Option<String> {
    node.child(Ns::Types, name)
        .map(|c| c.text.clone())
        .filter(|t| !t.is_empty())
}

fn one_of(node: &Node, name: &str, allowed: &[&str]) -> Result<Option<String>, Fault> {
    match node.child(Ns::Types, name).map(Node::value) {
        None => Ok(None),
        Some(v) if allowed.contains(&v) => Ok(Some(v.to_owned())),
        Some(v) => Err(Fault::schema(format!(
            "{name} {v:?} is not one of {allowed:?}"
        ))),
    }
}

/// Reads an `xs:boolean`.
pub fn boolean(node: &Node) -> Result<bool, Fault> {
    match node.value() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        v => Err(Fault::schema(format!(
            "{} {v:?} is not a boolean",
            node.name
        ))),
    }
}

fn opt_bool(node: &Node, name: &str) -> Result<Option<bool>, Fault> {
    node.child(Ns::Types, name).map(boolean).transpose()
}

/// Reads an `xs:dateTime`; one without a zone is UTC.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

fn datetime_of(node: &Node) -> Result<DateTime<Utc>, Fault> {
    parse_datetime(node.value()).ok_or_else(|| {
        Fault::schema(format!(
            "{} {:?} is not an xs:dateTime",
            node.name,
            node.value()
        ))
    })
}

fn opt_datetime(node: &Node, name: &str) -> Result<Option<DateTime<Utc>>, Fault> {
    node.child(Ns::Types, name).map(datetime_of).transpose()
}

pub(crate) fn date_of(node: &Node) -> Result<NaiveDate, Fault> {
    let v = node.value();
    v.get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .filter(|_| v.len() == 10 || v[10..].starts_with(['Z', '+', '-']))
        .ok_or_else(|| Fault::schema(format!("{} {v:?} is not an xs:date", node.name)))
}

pub(crate) fn uint(node: &Node, range: std::ops::RangeInclusive<u32>) -> Result<u32, Fault> {
    node.value()
        .parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            Fault::schema(format!(
                "{} {:?} is not a whole number from {} to {}",
                node.name,
                node.value(),
                range.start(),
                range.end()
            ))
        })
}

fn read_common(node: &Node) -> Result<Common, Fault> {
    let mut common = Common {
        sensitivity: one_of(node, "Sensitivity", &SENSITIVITIES)?,
        importance: one_of(node, "Importance", &IMPORTANCES)?,
        ..Common::default()
    };
    if let Some(body) = node.child(Ns::Types, "Body") {
        common.body = Some(read_body(body)?);
    }
    if let Some(list) = node.child(Ns::Types, "Categories") {
        common.categories = list
            .children_named(Ns::Types, "String")
            .map(|s| s.text.clone())
            .collect();
    }
    for prop in node.children_named(Ns::Types, "ExtendedProperty") {
        let uri = prop
            .child(Ns::Types, "ExtendedFieldURI")
            .ok_or_else(|| Fault::schema("ExtendedProperty lacks ExtendedFieldURI"))?;
        let super::fields::Path::Extended(key) = super::fields::Path::read(uri)? else {
            return Err(Fault::schema(
                "ExtendedProperty must name an ExtendedFieldURI",
            ));
        };
        // LIMIT: multi-valued properties (`Values`) are stored as one value per line.
        let value = match (
            prop.child(Ns::Types, "Value"),
            prop.child(Ns::Types, "Values"),
        ) {
            (Some(v), _) => v.text.clone(),
            (None, Some(list)) => list
                .children_named(Ns::Types, "Value")
                .map(|v| v.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            (None, None) => return Err(Fault::schema("ExtendedProperty lacks Value")),
        };
        common.set_extended(&key.set, &key.name, &key.kind, Some(value));
    }
    Ok(common)
}

/// Reads a `t:Body`.
pub fn read_body(node: &Node) -> Result<Body, Fault> {
    let html = match node.attr("BodyType") {
        Some("HTML") => true,
        Some("Text") => false,
        other => {
            return Err(Fault::schema(format!(
                "Body needs BodyType HTML or Text, not {other:?}"
            )));
        }
    };
    Ok(Body {
        html,
        content: node.text.clone(),
    })
}

fn read_contact(node: &Node) -> Result<Contact, Fault> {
    let mut c = Contact {
        file_as: text(node, "FileAs"),
        display_name: text(node, "DisplayName"),
        given_name: text(node, "GivenName"),
        middle_name: text(node, "MiddleName"),
        nickname: text(node, "Nickname"),
        company: text(node, "CompanyName"),
        department: text(node, "Department"),
        job_title: text(node, "JobTitle"),
        surname: text(node, "Surname"),
        ..Contact::default()
    };
    if let Some(list) = node.child(Ns::Types, "EmailAddresses") {
        for (key, entry) in entries(list, &EMAIL_KEYS)? {
            if !entry.text.is_empty() {
                c.emails.insert(key, entry.text.clone());
            }
        }
    }
    if let Some(list) = node.child(Ns::Types, "PhoneNumbers") {
        for (key, entry) in entries(list, &PHONE_KEYS)? {
            if !entry.text.is_empty() {
                c.phones.insert(key, entry.text.clone());
            }
        }
    }
    if let Some(list) = node.child(Ns::Types, "PhysicalAddresses") {
        for (key, entry) in entries(list, &ADDRESS_KEYS)? {
            let part = |p: AddressPart| text(entry, p.name());
            let address = Address {
                street: part(AddressPart::Street),
                city: part(AddressPart::City),
                state: part(AddressPart::State),
                country: part(AddressPart::CountryOrRegion),
                postal_code: part(AddressPart::PostalCode),
            };
            if !address.is_empty() {
                c.addresses.insert(key, address);
            }
        }
    }
    if let Some(birthday) = node.child(Ns::Types, "Birthday") {
        // The date the writer meant is the date in the zone it wrote, not in UTC.
        let v = birthday.value();
        let date = DateTime::parse_from_rfc3339(v)
            .map(|d| d.date_naive())
            .ok()
            .or_else(|| parse_datetime(v).map(|d| d.date_naive()))
            .ok_or_else(|| Fault::schema(format!("Birthday {v:?} is not an xs:dateTime")))?;
        c.birthday = Some(date);
    }
    Ok(c)
}

fn entries<'a>(list: &'a Node, keys: &[&str]) -> Result<Vec<(String, &'a Node)>, Fault> {
    list.children
        .iter()
        .map(|entry| {
            let key = entry.attr("Key").unwrap_or_default();
            if entry.name != "Entry" || !keys.contains(&key) {
                return Err(Fault::schema(format!(
                    "{} holds an entry with the key {key:?}, which is not one of {keys:?}",
                    list.name
                )));
            }
            Ok((key.to_owned(), entry))
        })
        .collect()
}

/// Reads a `t:Mailbox` (or a recipient element holding one).
pub fn read_person(node: &Node) -> Result<Person, Fault> {
    let mailbox = if node.name == "Mailbox" {
        node
    } else {
        node.child(Ns::Types, "Mailbox")
            .ok_or_else(|| Fault::schema(format!("{} lacks Mailbox", node.name)))?
    };
    Ok(Person {
        name: text(mailbox, "Name"),
        address: mailbox
            .child(Ns::Types, "EmailAddress")
            .map(|e| e.value().to_owned())
            .unwrap_or_default(),
    })
}

fn people(node: &Node, name: &str) -> Result<Vec<Person>, Fault> {
    node.child(Ns::Types, name).map_or(Ok(Vec::new()), |list| {
        list.children_named(Ns::Types, "Mailbox")
            .map(read_person)
            .collect()
    })
}

/// Reads `t:RequiredAttendees` or `t:OptionalAttendees`.
pub fn read_attendees(list: &Node) -> Result<Vec<Attendee>, Fault> {
    list.children_named(Ns::Types, "Attendee")
        .map(|a| {
            Ok(Attendee {
                person: read_person(a)?,
                response: a
                    .child(Ns::Types, "ResponseType")
                    .map_or("NoResponseReceived", Node::value)
                    .to_owned(),
            })
        })
        .collect()
}

fn read_event(node: &Node, partial: bool) -> Result<Event, Fault> {
    let start = opt_datetime(node, "Start")?;
    let end = opt_datetime(node, "End")?;
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (s, e) if partial => {
            let any = s.or(e).unwrap_or_default();
            (s.unwrap_or(any), e.unwrap_or(any))
        }
        _ => {
            return Err(Fault::new(
                "ErrorInvalidRequest",
                "A calendar item needs a Start and an End.",
            ));
        }
    };
    let mut event = Event::new("", start, end);
    event.subject = text(node, "Subject");
    event.location = text(node, "Location");
    event.uid = text(node, "UID").unwrap_or_default();
    event.all_day = opt_bool(node, "IsAllDayEvent")?.unwrap_or(false);
    event.show_as =
        one_of(node, "LegacyFreeBusyStatus", &FREE_BUSY)?.unwrap_or_else(|| "Busy".into());
    let reminder_set = opt_bool(node, "ReminderIsSet")?;
    let minutes = node
        .child(Ns::Types, "ReminderMinutesBeforeStart")
        .map(|m| uint(m, 0..=2_629_800))
        .transpose()?;
    event.reminder_minutes = match (reminder_set, minutes) {
        (Some(false), _) | (None, None) => None,
        (_, Some(m)) => Some(m),
        (Some(true), None) => Some(15),
    };
    if let Some(list) = node.child(Ns::Types, "RequiredAttendees") {
        event.required = read_attendees(list)?;
    }
    if let Some(list) = node.child(Ns::Types, "OptionalAttendees") {
        event.optional = read_attendees(list)?;
    }
    if let Some(r) = node.child(Ns::Types, "Recurrence") {
        event.recurrence = Some(super::recurrence_xml::read(r)?);
    }
    event.start_time_zone = node
        .child(Ns::Types, "StartTimeZone")
        .and_then(|z| z.attr("Id"))
        .map(str::to_owned);
    event.end_time_zone = node
        .child(Ns::Types, "EndTimeZone")
        .and_then(|z| z.attr("Id"))
        .map(str::to_owned);
    Ok(event)
}

fn read_message(node: &Node) -> Result<Message, Fault> {
    let mut m = Message {
        subject: text(node, "Subject"),
        to: people(node, "ToRecipients")?,
        cc: people(node, "CcRecipients")?,
        bcc: people(node, "BccRecipients")?,
        reply_to: people(node, "ReplyTo")?,
        is_read: opt_bool(node, "IsRead")?.unwrap_or(false),
        ..Message::default()
    };
    if let Some(from) = node.child(Ns::Types, "From") {
        m.from = Some(read_person(from)?);
    }
    if let Some(list) = node.child(Ns::Types, "Attachments") {
        for attachment in &list.children {
            if attachment.name != "FileAttachment" {
                return Err(Fault::new(
                    "ErrorInvalidRequest",
                    format!(
                        "This server takes file attachments only, not {}.",
                        attachment.name
                    ),
                ));
            }
            let content = attachment
                .child(Ns::Types, "Content")
                .map_or("", |c| c.text.as_str());
            let cleaned: String = content.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(cleaned.as_bytes())
                .map_err(|e| Fault::schema(format!("attachment Content is not base64: {e}")))?;
            m.attachments.push(Attachment {
                name: text(attachment, "Name").unwrap_or_default(),
                content_type: text(attachment, "ContentType")
                    .unwrap_or_else(|| "application/octet-stream".into()),
                content: bytes,
            });
        }
    }
    Ok(m)
}
