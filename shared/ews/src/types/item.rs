//! What every item kind shares, and the `Item` enum that responses return.

use std::io::BufRead;

use chrono::{DateTime, Utc};

use super::common::{CRM_ID_PROPERTY, ExtendedProperty, parse_datetime};
use super::{CalendarItem, Contact, ItemId, Message};
use crate::error::EwsError;
use crate::xml::{Element, Ns, XmlReader, XmlWriter};

/// Properties every item kind carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemCommon {
    /// The item's id and change key; `None` on an item not yet created.
    pub id: Option<ItemId>,
    /// The CRM id from mailbridge's extended property, when the item carries one.
    pub crm_id: Option<String>,
    /// Categories (Outlook's coloured tags).
    pub categories: Vec<String>,
    /// When the server last changed the item (read-only).
    pub last_modified: Option<DateTime<Utc>>,
    /// Other mailbridge extended properties found on the item.
    pub extended: Vec<ExtendedProperty>,
}

impl ItemCommon {
    /// Handles `child` if it is a property common to all items; returns whether it did.
    pub(crate) fn read_field<R: BufRead>(
        &mut self,
        child: &Element,
        r: &mut XmlReader<R>,
    ) -> Result<bool, EwsError> {
        if child.ns != Ns::Types {
            return Ok(false);
        }
        match child.name.as_str() {
            "ItemId" => {
                self.id = Some(ItemId::from_element(child)?);
                r.skip()?;
            }
            "Categories" => self.categories = read_strings(r)?,
            "LastModifiedTime" => {
                self.last_modified = Some(r.read_parsed("LastModifiedTime", parse_datetime)?);
            }
            "ExtendedProperty" => match ExtendedProperty::read(r)? {
                Some(prop) if prop.field == CRM_ID_PROPERTY => self.crm_id = Some(prop.value),
                Some(prop) => self.extended.push(prop),
                None => {}
            },
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Writes categories (schema position after `Body`).
    pub(crate) fn write_categories(&self, w: &mut XmlWriter) {
        if !self.categories.is_empty() {
            write_strings(w, "t:Categories", &self.categories);
        }
    }

    /// Writes the CRM id and other extended properties (schema position after `Categories`).
    pub(crate) fn write_extended(&self, w: &mut XmlWriter) {
        if let Some(crm_id) = &self.crm_id {
            ExtendedProperty {
                field: CRM_ID_PROPERTY,
                value: crm_id.clone(),
            }
            .write(w);
        }
        for prop in &self.extended {
            prop.write(w);
        }
    }
}

/// Walks the children of an item element already entered: properties common to all
/// items go into `common`, EWS-typed ones to `field` (which returns whether it took
/// the child), and anything else is skipped.
pub(crate) fn read_item_fields<R: BufRead>(
    r: &mut XmlReader<R>,
    common: &mut ItemCommon,
    mut field: impl FnMut(&Element, &mut XmlReader<R>) -> Result<bool, EwsError>,
) -> Result<(), EwsError> {
    while let Some(child) = r.next_child()? {
        if common.read_field(&child, r)? {
            continue;
        }
        if child.ns != Ns::Types || !field(&child, r)? {
            r.skip()?;
        }
    }
    Ok(())
}

/// Reads an `ArrayOfStringsType` (`<String>` children).
pub(crate) fn read_strings<R: BufRead>(r: &mut XmlReader<R>) -> Result<Vec<String>, EwsError> {
    let mut out = Vec::new();
    while let Some(child) = r.next_child()? {
        if child.name == "String" {
            out.push(r.read_text()?);
        } else {
            r.skip()?;
        }
    }
    Ok(out)
}

/// Writes an `ArrayOfStringsType`.
pub(crate) fn write_strings(w: &mut XmlWriter, element: &str, values: &[String]) {
    w.open(element, &[]);
    for value in values {
        w.text_element("t:String", value);
    }
    w.close(element);
}

/// An item of a kind mailbridge handles, as a response returned it.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A contact.
    Contact(Box<Contact>),
    /// A calendar item (single, occurrence, exception or recurring master).
    CalendarItem(Box<CalendarItem>),
    /// A message.
    Message(Box<Message>),
    /// Any other kind; only its id is kept.
    Other {
        /// The element name, such as `DistributionList`.
        kind: String,
        /// Its id, when present.
        id: Option<ItemId>,
    },
}

impl Item {
    /// The item's id, whatever its kind.
    pub fn id(&self) -> Option<&ItemId> {
        match self {
            Item::Contact(c) => c.common.id.as_ref(),
            Item::CalendarItem(c) => c.common.id.as_ref(),
            Item::Message(m) => m.common.id.as_ref(),
            Item::Other { id, .. } => id.as_ref(),
        }
    }

    /// The CRM id the item carries, whatever its kind.
    pub fn crm_id(&self) -> Option<&str> {
        match self {
            Item::Contact(c) => c.common.crm_id.as_deref(),
            Item::CalendarItem(c) => c.common.crm_id.as_deref(),
            Item::Message(m) => m.common.crm_id.as_deref(),
            Item::Other { .. } => None,
        }
    }

    /// Reads the item whose element `el` was just entered.
    pub(crate) fn read<R: BufRead>(el: &Element, r: &mut XmlReader<R>) -> Result<Item, EwsError> {
        match el.name.as_str() {
            "Contact" => Ok(Item::Contact(Box::new(Contact::read(r)?))),
            "CalendarItem" => Ok(Item::CalendarItem(Box::new(CalendarItem::read(r)?))),
            "Message" => Ok(Item::Message(Box::new(Message::read(r)?))),
            other => {
                let mut id = None;
                while let Some(child) = r.next_child()? {
                    if child.is(Ns::Types, "ItemId") {
                        id = Some(ItemId::from_element(&child)?);
                    }
                    r.skip()?;
                }
                Ok(Item::Other {
                    kind: other.to_owned(),
                    id,
                })
            }
        }
    }

    /// Reads a list of items (`<Items>`).
    pub(crate) fn read_list<R: BufRead>(r: &mut XmlReader<R>) -> Result<Vec<Item>, EwsError> {
        let mut items = Vec::new();
        while let Some(child) = r.next_child()? {
            items.push(Item::read(&child, r)?);
        }
        Ok(items)
    }
}
