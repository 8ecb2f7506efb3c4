//! Values shared by every item kind: mailboxes, bodies, extended properties, dates.

use std::io::BufRead;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

use crate::error::EwsError;
use crate::xml::{Element, Ns, XmlReader, XmlWriter};

/// The property set that holds mailbridge's own extended properties.
pub const MAILBRIDGE_PROPERTY_SET: &str = "8c3f1f0e-5d2b-4a7e-9b61-6d61696c6272";

/// The extended property that carries the CRM id on every item mailbridge creates.
pub const CRM_ID_PROPERTY: ExtendedFieldUri = ExtendedFieldUri {
    property_set_id: MAILBRIDGE_PROPERTY_SET,
    property_name: "MailbridgeCrmId",
};

/// The extended property that carries a send request's idempotency key on a message.
pub const IDEMPOTENCY_KEY_PROPERTY: ExtendedFieldUri = ExtendedFieldUri {
    property_set_id: MAILBRIDGE_PROPERTY_SET,
    property_name: "MailbridgeIdempotencyKey",
};

/// A named, string-typed MAPI property in a property set (`ExtendedFieldURI`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtendedFieldUri {
    /// The property set GUID.
    pub property_set_id: &'static str,
    /// The property name within the set.
    pub property_name: &'static str,
}

impl ExtendedFieldUri {
    pub(crate) fn write(self, w: &mut XmlWriter) {
        w.empty(
            "t:ExtendedFieldURI",
            &[
                ("PropertySetId", self.property_set_id),
                ("PropertyName", self.property_name),
                ("PropertyType", "String"),
            ],
        );
    }

    fn matches(self, el: &Element) -> bool {
        el.attr("PropertySetId")
            .is_some_and(|s| s.eq_ignore_ascii_case(self.property_set_id))
            && el.attr("PropertyName") == Some(self.property_name)
    }
}

/// One extended property value read from or written to an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedProperty {
    /// Which property.
    pub field: ExtendedFieldUri,
    /// Its string value.
    pub value: String,
}

impl ExtendedProperty {
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.open("t:ExtendedProperty", &[]);
        self.field.write(w);
        w.text_element("t:Value", &self.value);
        w.close("t:ExtendedProperty");
    }

    /// Reads one `<ExtendedProperty>`; returns the known property it holds, if any.
    pub(crate) fn read<R: BufRead>(
        r: &mut XmlReader<R>,
    ) -> Result<Option<ExtendedProperty>, EwsError> {
        let mut field = None;
        let mut value = None;
        while let Some(child) = r.next_child()? {
            match child.name.as_str() {
                "ExtendedFieldURI" if child.ns == Ns::Types => {
                    field = [CRM_ID_PROPERTY, IDEMPOTENCY_KEY_PROPERTY]
                        .into_iter()
                        .find(|f| f.matches(&child));
                    r.skip()?;
                }
                "Value" if child.ns == Ns::Types => value = Some(r.read_text()?),
                _ => r.skip()?,
            }
        }
        Ok(field
            .zip(value)
            .map(|(field, value)| ExtendedProperty { field, value }))
    }
}

/// A mailbox address with an optional display name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mailbox {
    /// Display name.
    pub name: Option<String>,
    /// SMTP address.
    pub email: String,
}

impl Mailbox {
    /// A mailbox with just an address.
    pub fn new(email: impl Into<String>) -> Mailbox {
        Mailbox {
            name: None,
            email: email.into(),
        }
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        if self.email.trim().is_empty() {
            w.reject(
                "t:EmailAddress",
                "is empty; every recipient and attendee needs an address",
            );
        }
        w.open("t:Mailbox", &[]);
        w.opt_element("t:Name", self.name.as_deref());
        w.text_element("t:EmailAddress", &self.email);
        w.close("t:Mailbox");
    }

    /// Reads the children of a `<Mailbox>` element already entered.
    pub(crate) fn read<R: BufRead>(r: &mut XmlReader<R>) -> Result<Mailbox, EwsError> {
        let mut mailbox = Mailbox::default();
        while let Some(child) = r.next_child()? {
            match child.name.as_str() {
                "Name" => mailbox.name = Some(r.read_text()?),
                "EmailAddress" => mailbox.email = r.read_text()?,
                _ => r.skip()?,
            }
        }
        Ok(mailbox)
    }

    /// Reads a list of `<Mailbox>` children (`ToRecipients` and the like).
    pub(crate) fn read_list<R: BufRead>(r: &mut XmlReader<R>) -> Result<Vec<Mailbox>, EwsError> {
        let mut list = Vec::new();
        while let Some(child) = r.next_child()? {
            if child.name == "Mailbox" {
                list.push(Mailbox::read(r)?);
            } else {
                r.skip()?;
            }
        }
        Ok(list)
    }

    /// Reads a `<Mailbox>` nested one level down (`Organizer`, `From`).
    pub(crate) fn read_single<R: BufRead>(
        r: &mut XmlReader<R>,
    ) -> Result<Option<Mailbox>, EwsError> {
        Ok(Mailbox::read_list(r)?.into_iter().next())
    }
}

/// Whether a body is plain text or HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyType {
    /// Plain text.
    #[default]
    Text,
    /// HTML.
    Html,
}

impl BodyType {
    /// The `BodyType` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyType::Text => "Text",
            BodyType::Html => "HTML",
        }
    }
}

/// An item body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Body {
    /// Text or HTML.
    pub kind: BodyType,
    /// The content, unescaped.
    pub content: String,
}

impl Body {
    /// A plain-text body.
    pub fn text(content: impl Into<String>) -> Body {
        Body {
            kind: BodyType::Text,
            content: content.into(),
        }
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.text_element_with("t:Body", &[("BodyType", self.kind.as_str())], &self.content);
    }

    pub(crate) fn read<R: BufRead>(el: &Element, r: &mut XmlReader<R>) -> Result<Body, EwsError> {
        let kind = if el
            .attr("BodyType")
            .is_some_and(|k| k.eq_ignore_ascii_case("html"))
        {
            BodyType::Html
        } else {
            BodyType::Text
        };
        Ok(Body {
            kind,
            content: r.read_text()?,
        })
    }
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// The value as EWS spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// Reads the EWS spelling; `None` for a value this crate does not know.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// How private an item is.
    Sensitivity {
        /// Normal.
        Normal = "Normal",
        /// Personal.
        Personal = "Personal",
        /// Private.
        Private = "Private",
        /// Confidential.
        Confidential = "Confidential",
    }
}

string_enum! {
    /// A message's importance.
    Importance {
        /// Low.
        Low = "Low",
        /// Normal.
        Normal = "Normal",
        /// High.
        High = "High",
    }
}

/// Parses an `xs:dateTime`; a value without a zone is taken as UTC, as EWS sends them
/// when no `TimeZoneContext` is set.
pub(crate) fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

/// Formats an instant as EWS expects it: UTC with a `Z`.
pub(crate) fn write_datetime(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_with_offsets_or_no_zone_become_utc() {
        let a = parse_datetime("2026-12-03T10:00:00+01:00").unwrap();
        let b = parse_datetime("2026-12-03T09:00:00Z").unwrap();
        let c = parse_datetime("2026-12-03T09:00:00.000").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(write_datetime(&a), "2026-12-03T09:00:00Z");
        assert!(parse_datetime("yesterday").is_none());
    }
}
