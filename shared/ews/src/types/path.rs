//! Property paths and response shapes: which properties a request names or asks for.

use super::common::{BodyType, ExtendedFieldUri};
use crate::xml::XmlWriter;

/// A path to one property (`FieldURI`, `IndexedFieldURI` or `ExtendedFieldURI`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyPath {
    /// A plain property such as `item:Subject` or `contacts:GivenName`.
    Field(&'static str),
    /// One entry of a dictionary property, such as `contacts:EmailAddress` / `EmailAddress1`.
    Indexed {
        /// The dictionary property, such as `contacts:PhoneNumber`.
        uri: &'static str,
        /// The entry key, such as `MobilePhone`.
        index: &'static str,
    },
    /// An extended MAPI property.
    Extended(ExtendedFieldUri),
}

impl PropertyPath {
    pub(crate) fn write(self, w: &mut XmlWriter) {
        match self {
            PropertyPath::Field(uri) => {
                w.empty("t:FieldURI", &[("FieldURI", uri)]);
            }
            PropertyPath::Indexed { uri, index } => {
                w.empty(
                    "t:IndexedFieldURI",
                    &[("FieldURI", uri), ("FieldIndex", index)],
                );
            }
            PropertyPath::Extended(field) => field.write(w),
        }
    }
}

/// The base set of properties a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BaseShape {
    /// Only ids and change keys.
    #[default]
    IdOnly,
    /// The server's default set.
    Default,
    /// Every first-class property (extended properties still need naming).
    AllProperties,
}

impl BaseShape {
    fn as_str(self) -> &'static str {
        match self {
            BaseShape::IdOnly => "IdOnly",
            BaseShape::Default => "Default",
            BaseShape::AllProperties => "AllProperties",
        }
    }
}

/// What an item-returning operation should send back (`ItemShape`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ItemShape {
    /// The base property set.
    pub base: BaseShape,
    /// The body format wanted, if a body is returned.
    pub body_type: Option<BodyType>,
    /// Properties beyond the base set.
    pub additional: Vec<PropertyPath>,
}

impl ItemShape {
    /// Ids and change keys only, plus the CRM id property so our own items are known.
    pub fn ids_with_crm_id() -> ItemShape {
        ItemShape {
            base: BaseShape::IdOnly,
            body_type: None,
            additional: vec![PropertyPath::Extended(super::CRM_ID_PROPERTY)],
        }
    }

    /// Every first-class property with a plain-text body, plus the CRM id: what the sync
    /// needs to map an item.
    pub fn full_with_crm_id() -> ItemShape {
        ItemShape {
            base: BaseShape::AllProperties,
            body_type: Some(BodyType::Text),
            additional: vec![PropertyPath::Extended(super::CRM_ID_PROPERTY)],
        }
    }

    pub(crate) fn write(&self, w: &mut XmlWriter, element: &str) {
        w.open(element, &[]);
        w.text_element("t:BaseShape", self.base.as_str());
        if let Some(body_type) = self.body_type {
            w.text_element("t:BodyType", body_type.as_str());
        }
        if !self.additional.is_empty() {
            w.open("t:AdditionalProperties", &[]);
            for path in &self.additional {
                path.write(w);
            }
            w.close("t:AdditionalProperties");
        }
        w.close(element);
    }
}
