//! `UpdateItem`'s changes: `SetItemField`, `AppendToItemField` and `DeleteItemField` applied
//! to a stored item, one property at a time.

use super::fields::{AddressPart, Field, Path};
use super::item_in::{ReadItem, read_item};
use super::soap::MsgError;
use super::xml::{Node, Ns};
use crate::model::{Address, Body, Contact, Event, ItemContent, ItemData, Message};

fn read_only(path: &Path) -> MsgError {
    MsgError::new(
        "ErrorInvalidPropertySet",
        format!("The property {} cannot be set.", path.describe()),
    )
}

/// Applies every change in `<t:Updates>` to `target`.
pub fn apply(updates: &Node, target: &mut ItemContent) -> Result<(), MsgError> {
    for change in &updates.children {
        let path_node = change
            .children
            .iter()
            .find(|c| {
                matches!(
                    c.name.as_str(),
                    "FieldURI" | "IndexedFieldURI" | "ExtendedFieldURI"
                )
            })
            .ok_or_else(|| {
                MsgError::from(super::soap::Fault::schema(format!(
                    "{} names no property",
                    change.name
                )))
            })?;
        let path = Path::read(path_node)?;
        match change.name.as_str() {
            "SetItemField" | "AppendToItemField" => {
                let value = change
                    .children
                    .iter()
                    .find(|c| {
                        c.ns == Ns::Types
                            && matches!(
                                c.name.as_str(),
                                "Contact" | "CalendarItem" | "Message" | "Item"
                            )
                    })
                    .ok_or_else(|| {
                        MsgError::new(
                            "ErrorIncorrectUpdatePropertyCount",
                            "An update must hold the item element with the new value.",
                        )
                    })?;
                let expected = match target.data {
                    ItemData::Contact(_) => "Contact",
                    ItemData::Event(_) => "CalendarItem",
                    ItemData::Message(_) => "Message",
                };
                if value.name != expected && value.name != "Item" {
                    return Err(MsgError::new(
                        "ErrorInvalidPropertySet",
                        format!("A {} value cannot update a {expected}.", value.name),
                    ));
                }
                if value.children.len() != 1 {
                    return Err(MsgError::new(
                        "ErrorIncorrectUpdatePropertyCount",
                        "Each update must hold exactly one property.",
                    ));
                }
                let mut node = value.clone();
                expected.clone_into(&mut node.name);
                let read = read_item(&node, true)?;
                if change.name == "AppendToItemField" {
                    append(&path, &read, target)?;
                } else {
                    set(&path, &read, target)?;
                }
            }
            "DeleteItemField" => delete(&path, target)?,
            other => {
                return Err(
                    super::soap::Fault::schema(format!("{other} is not an item change")).into(),
                );
            }
        }
    }
    Ok(())
}

fn set(path: &Path, from: &ReadItem, target: &mut ItemContent) -> Result<(), MsgError> {
    let src = &from.content;
    match path {
        Path::Extended(key) => {
            let value = src
                .common
                .extended_value(&key.set, &key.name)
                .map(str::to_owned);
            if value.is_none() {
                return Err(MsgError::new(
                    "ErrorIncorrectUpdatePropertyCount",
                    "The value does not hold the extended property the path names.",
                ));
            }
            target
                .common
                .set_extended(&key.set, &key.name, &key.kind, value);
            Ok(())
        }
        Path::Indexed { field, key, part } => set_entry(*field, key, *part, src, target, path),
        Path::Unsupported(_) => Err(read_only(path)),
        Path::Field(field) => set_field(*field, from, target, path),
    }
}

fn set_field(
    field: Field,
    from: &ReadItem,
    target: &mut ItemContent,
    path: &Path,
) -> Result<(), MsgError> {
    let src = &from.content;
    match field {
        Field::Sensitivity => target
            .common
            .sensitivity
            .clone_from(&src.common.sensitivity),
        Field::Importance => target.common.importance.clone_from(&src.common.importance),
        Field::Body => target.common.body.clone_from(&src.common.body),
        Field::Categories => target.common.categories.clone_from(&src.common.categories),
        _ => match (&mut target.data, &src.data) {
            (ItemData::Contact(t), ItemData::Contact(s)) => set_contact(field, s, t, path)?,
            (ItemData::Event(t), ItemData::Event(s)) => set_event(field, from, s, t, path)?,
            (ItemData::Message(t), ItemData::Message(s)) => set_message(field, s, t, path)?,
            _ => return Err(read_only(path)),
        },
    }
    Ok(())
}

fn set_contact(field: Field, s: &Contact, t: &mut Contact, path: &Path) -> Result<(), MsgError> {
    match field {
        Field::FileAs => t.file_as.clone_from(&s.file_as),
        Field::DisplayName => t.display_name.clone_from(&s.display_name),
        Field::GivenName => t.given_name.clone_from(&s.given_name),
        Field::MiddleName => t.middle_name.clone_from(&s.middle_name),
        Field::Nickname => t.nickname.clone_from(&s.nickname),
        Field::CompanyName => t.company.clone_from(&s.company),
        Field::Department => t.department.clone_from(&s.department),
        Field::JobTitle => t.job_title.clone_from(&s.job_title),
        Field::Surname => t.surname.clone_from(&s.surname),
        Field::Birthday => t.birthday = s.birthday,
        Field::EmailAddresses => t.emails.clone_from(&s.emails),
        Field::PhoneNumbers => t.phones.clone_from(&s.phones),
        Field::PhysicalAddresses => t.addresses.clone_from(&s.addresses),
        _ => return Err(read_only(path)),
    }
    Ok(())
}

fn set_event(
    field: Field,
    from: &ReadItem,
    s: &Event,
    t: &mut Event,
    path: &Path,
) -> Result<(), MsgError> {
    match field {
        Field::Subject => t.subject.clone_from(&s.subject),
        Field::Location => t.location.clone_from(&s.location),
        Field::Start => t.start = s.start,
        Field::End => t.end = s.end,
        Field::IsAllDayEvent => t.all_day = s.all_day,
        Field::LegacyFreeBusyStatus => t.show_as.clone_from(&s.show_as),
        Field::StartTimeZone => t.start_time_zone.clone_from(&s.start_time_zone),
        Field::EndTimeZone => t.end_time_zone.clone_from(&s.end_time_zone),
        Field::RequiredAttendees => t.required.clone_from(&s.required),
        Field::OptionalAttendees => t.optional.clone_from(&s.optional),
        Field::Uid => t.uid.clone_from(&s.uid),
        Field::ReminderIsSet => {
            t.reminder_minutes = match (from.seen.contains("ReminderIsSet"), s.reminder_minutes) {
                (true, None) => None,
                _ => Some(t.reminder_minutes.unwrap_or(15)),
            };
        }
        Field::ReminderMinutesBeforeStart => t.reminder_minutes = s.reminder_minutes,
        Field::Recurrence => {
            // A new pattern replaces the series; its old exceptions no longer apply.
            t.recurrence.clone_from(&s.recurrence);
            t.modified.clear();
            t.deleted.clear();
        }
        _ => return Err(read_only(path)),
    }
    Ok(())
}

fn set_message(field: Field, s: &Message, t: &mut Message, path: &Path) -> Result<(), MsgError> {
    match field {
        Field::Subject => t.subject.clone_from(&s.subject),
        Field::ToRecipients => t.to.clone_from(&s.to),
        Field::CcRecipients => t.cc.clone_from(&s.cc),
        Field::BccRecipients => t.bcc.clone_from(&s.bcc),
        Field::ReplyTo => t.reply_to.clone_from(&s.reply_to),
        Field::IsRead => t.is_read = s.is_read,
        Field::From => t.from.clone_from(&s.from),
        _ => return Err(read_only(path)),
    }
    Ok(())
}

fn set_entry(
    field: Field,
    key: &str,
    part: Option<AddressPart>,
    src: &ItemContent,
    target: &mut ItemContent,
    path: &Path,
) -> Result<(), MsgError> {
    let (ItemData::Contact(t), ItemData::Contact(s)) = (&mut target.data, &src.data) else {
        return Err(read_only(path));
    };
    let missing = || {
        MsgError::new(
            "ErrorIncorrectUpdatePropertyCount",
            format!("The value does not hold the entry {key} the path names."),
        )
    };
    match (field, part) {
        (Field::EmailAddresses, _) => {
            t.emails.insert(
                key.to_owned(),
                s.emails.get(key).cloned().ok_or_else(missing)?,
            );
        }
        (Field::PhoneNumbers, _) => {
            t.phones.insert(
                key.to_owned(),
                s.phones.get(key).cloned().ok_or_else(missing)?,
            );
        }
        (Field::PhysicalAddresses, Some(part)) => {
            let value = s
                .addresses
                .get(key)
                .and_then(|a| read_part(a, part).cloned())
                .ok_or_else(missing)?;
            *address_part(t.addresses.entry(key.to_owned()).or_default(), part) = Some(value);
        }
        _ => return Err(read_only(path)),
    }
    Ok(())
}

fn read_part(address: &Address, part: AddressPart) -> Option<&String> {
    match part {
        AddressPart::Street => address.street.as_ref(),
        AddressPart::City => address.city.as_ref(),
        AddressPart::State => address.state.as_ref(),
        AddressPart::CountryOrRegion => address.country.as_ref(),
        AddressPart::PostalCode => address.postal_code.as_ref(),
    }
}

fn address_part(address: &mut Address, part: AddressPart) -> &mut Option<String> {
    match part {
        AddressPart::Street => &mut address.street,
        AddressPart::City => &mut address.city,
        AddressPart::State => &mut address.state,
        AddressPart::CountryOrRegion => &mut address.country,
        AddressPart::PostalCode => &mut address.postal_code,
    }
}

fn append(path: &Path, from: &ReadItem, target: &mut ItemContent) -> Result<(), MsgError> {
    let src = &from.content;
    match (path, &mut target.data, &src.data) {
        (Path::Field(Field::Body), _, _) => {
            let extra = src.common.body.clone().unwrap_or_else(|| Body::text(""));
            match &mut target.common.body {
                Some(body) => body.content.push_str(&extra.content),
                None => target.common.body = Some(extra),
            }
        }
        (Path::Field(Field::RequiredAttendees), ItemData::Event(t), ItemData::Event(s)) => {
            t.required.extend(s.required.iter().cloned());
        }
        (Path::Field(Field::OptionalAttendees), ItemData::Event(t), ItemData::Event(s)) => {
            t.optional.extend(s.optional.iter().cloned());
        }
        (Path::Field(Field::ToRecipients), ItemData::Message(t), ItemData::Message(s)) => {
            t.to.extend(s.to.iter().cloned());
        }
        (Path::Field(Field::CcRecipients), ItemData::Message(t), ItemData::Message(s)) => {
            t.cc.extend(s.cc.iter().cloned());
        }
        (Path::Field(Field::BccRecipients), ItemData::Message(t), ItemData::Message(s)) => {
            t.bcc.extend(s.bcc.iter().cloned());
        }
        _ => {
            return Err(MsgError::new(
                "ErrorInvalidPropertyAppend",
                format!("The property {} cannot be appended to.", path.describe()),
            ));
        }
    }
    Ok(())
}

fn delete(path: &Path, target: &mut ItemContent) -> Result<(), MsgError> {
    let denied = || {
        MsgError::new(
            "ErrorInvalidPropertyDelete",
            format!("The property {} cannot be deleted.", path.describe()),
        )
    };
    match path {
        Path::Extended(key) => target
            .common
            .set_extended(&key.set, &key.name, &key.kind, None),
        Path::Indexed { field, key, part } => {
            let ItemData::Contact(c) = &mut target.data else {
                return Err(denied());
            };
            match (field, part) {
                (Field::EmailAddresses, _) => {
                    c.emails.remove(key);
                }
                (Field::PhoneNumbers, _) => {
                    c.phones.remove(key);
                }
                (Field::PhysicalAddresses, Some(part)) => {
                    if let Some(address) = c.addresses.get_mut(key) {
                        *address_part(address, *part) = None;
                        if address.is_empty() {
                            c.addresses.remove(key);
                        }
                    }
                }
                _ => return Err(denied()),
            }
        }
        Path::Unsupported(_) => return Err(denied()),
        Path::Field(field) => match (field, &mut target.data) {
            (Field::Body, _) => target.common.body = None,
            (Field::Categories, _) => target.common.categories.clear(),
            (Field::Sensitivity, _) => target.common.sensitivity = None,
            (Field::Importance, _) => target.common.importance = None,
            (_, ItemData::Contact(c)) => {
                let slot = match field {
                    Field::FileAs => &mut c.file_as,
                    Field::DisplayName => &mut c.display_name,
                    Field::GivenName => &mut c.given_name,
                    Field::MiddleName => &mut c.middle_name,
                    Field::Nickname => &mut c.nickname,
                    Field::CompanyName => &mut c.company,
                    Field::Department => &mut c.department,
                    Field::JobTitle => &mut c.job_title,
                    Field::Surname => &mut c.surname,
                    Field::Birthday => {
                        c.birthday = None;
                        return Ok(());
                    }
                    Field::EmailAddresses => {
                        c.emails.clear();
                        return Ok(());
                    }
                    Field::PhoneNumbers => {
                        c.phones.clear();
                        return Ok(());
                    }
                    Field::PhysicalAddresses => {
                        c.addresses.clear();
                        return Ok(());
                    }
                    _ => return Err(denied()),
                };
                *slot = None;
            }
            (_, ItemData::Event(e)) => match field {
                Field::Subject => e.subject = None,
                Field::Location => e.location = None,
                Field::ReminderIsSet | Field::ReminderMinutesBeforeStart => {
                    e.reminder_minutes = None;
                }
                Field::RequiredAttendees => e.required.clear(),
                Field::OptionalAttendees => e.optional.clear(),
                Field::Recurrence => {
                    e.recurrence = None;
                    e.modified.clear();
                    e.deleted.clear();
                }
                _ => return Err(denied()),
            },
            (_, ItemData::Message(m)) => match field {
                Field::Subject => m.subject = None,
                Field::ToRecipients => m.to.clear(),
                Field::CcRecipients => m.cc.clear(),
                Field::BccRecipients => m.bcc.clear(),
                Field::ReplyTo => m.reply_to.clear(),
                _ => return Err(denied()),
            },
        },
    }
    Ok(())
}
