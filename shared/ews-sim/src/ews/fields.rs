//! Property paths (`FieldURI`, `IndexedFieldURI`, `ExtendedFieldURI`) and response shapes.

use super::soap::Fault;
use super::xml::{Node, Ns};

/// The item properties the simulator stores, by the name of their element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Field {
    ItemClass,
    ParentFolderId,
    Subject,
    Sensitivity,
    Body,
    Attachments,
    DateTimeReceived,
    Size,
    Categories,
    Importance,
    DateTimeSent,
    DateTimeCreated,
    ReminderIsSet,
    ReminderMinutesBeforeStart,
    HasAttachments,
    LastModifiedTime,
    FileAs,
    DisplayName,
    GivenName,
    MiddleName,
    Nickname,
    CompanyName,
    EmailAddresses,
    PhysicalAddresses,
    PhoneNumbers,
    Birthday,
    Department,
    JobTitle,
    Surname,
    Uid,
    Start,
    End,
    OriginalStart,
    IsAllDayEvent,
    LegacyFreeBusyStatus,
    Location,
    IsMeeting,
    IsCancelled,
    IsRecurring,
    CalendarItemType,
    Organizer,
    RequiredAttendees,
    OptionalAttendees,
    Recurrence,
    ModifiedOccurrences,
    DeletedOccurrences,
    StartTimeZone,
    EndTimeZone,
    Sender,
    ToRecipients,
    CcRecipients,
    BccRecipients,
    From,
    InternetMessageId,
    IsRead,
    ReplyTo,
}

/// `FieldURI` values and the fields they name.
const URIS: [(&str, Field); 56] = [
    ("item:ItemClass", Field::ItemClass),
    ("item:ParentFolderId", Field::ParentFolderId),
    ("item:Subject", Field::Subject),
    ("item:Sensitivity", Field::Sensitivity),
    ("item:Body", Field::Body),
    ("item:Attachments", Field::Attachments),
    ("item:DateTimeReceived", Field::DateTimeReceived),
    ("item:Size", Field::Size),
    ("item:Categories", Field::Categories),
    ("item:Importance", Field::Importance),
    ("item:DateTimeSent", Field::DateTimeSent),
    ("item:DateTimeCreated", Field::DateTimeCreated),
    ("item:ReminderIsSet", Field::ReminderIsSet),
    (
        "item:ReminderMinutesBeforeStart",
        Field::ReminderMinutesBeforeStart,
    ),
    ("item:HasAttachments", Field::HasAttachments),
    ("item:LastModifiedTime", Field::LastModifiedTime),
    ("contacts:FileAs", Field::FileAs),
    ("contacts:DisplayName", Field::DisplayName),
    ("contacts:GivenName", Field::GivenName),
    ("contacts:MiddleName", Field::MiddleName),
    ("contacts:Nickname", Field::Nickname),
    ("contacts:CompanyName", Field::CompanyName),
    ("contacts:EmailAddresses", Field::EmailAddresses),
    ("contacts:PhysicalAddresses", Field::PhysicalAddresses),
    ("contacts:PhoneNumbers", Field::PhoneNumbers),
    ("contacts:Birthday", Field::Birthday),
    ("contacts:Department", Field::Department),
    ("contacts:JobTitle", Field::JobTitle),
    ("contacts:Surname", Field::Surname),
    ("calendar:UID", Field::Uid),
    ("calendar:Start", Field::Start),
    ("calendar:End", Field::End),
    ("calendar:OriginalStart", Field::OriginalStart),
    ("calendar:IsAllDayEvent", Field::IsAllDayEvent),
    ("calendar:LegacyFreeBusyStatus", Field::LegacyFreeBusyStatus),
    ("calendar:Location", Field::Location),
    ("calendar:IsMeeting", Field::IsMeeting),
    ("calendar:IsCancelled", Field::IsCancelled),
    ("calendar:IsRecurring", Field::IsRecurring),
    ("calendar:CalendarItemType", Field::CalendarItemType),
    ("calendar:Organizer", Field::Organizer),
    ("calendar:RequiredAttendees", Field::RequiredAttendees),
    ("calendar:OptionalAttendees", Field::OptionalAttendees),
    ("calendar:Recurrence", Field::Recurrence),
    ("calendar:ModifiedOccurrences", Field::ModifiedOccurrences),
    ("calendar:DeletedOccurrences", Field::DeletedOccurrences),
    ("calendar:StartTimeZone", Field::StartTimeZone),
    ("calendar:EndTimeZone", Field::EndTimeZone),
    ("message:Sender", Field::Sender),
    ("message:ToRecipients", Field::ToRecipients),
    ("message:CcRecipients", Field::CcRecipients),
    ("message:BccRecipients", Field::BccRecipients),
    ("message:From", Field::From),
    ("message:InternetMessageId", Field::InternetMessageId),
    ("message:IsRead", Field::IsRead),
    ("message:ReplyTo", Field::ReplyTo),
];

impl Field {
    /// The field a `FieldURI` names.
    pub fn from_uri(uri: &str) -> Option<Field> {
        URIS.iter().find(|(u, _)| *u == uri).map(|(_, f)| *f)
    }

    /// Its `FieldURI`.
    pub fn uri(self) -> &'static str {
        URIS.iter().find(|(_, f)| *f == self).map_or("", |(u, _)| u)
    }
}

/// A part of a postal address, for `contacts:PhysicalAddress:*` paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AddressPart {
    Street,
    City,
    State,
    CountryOrRegion,
    PostalCode,
}

impl AddressPart {
    /// Every part, in schema order.
    pub const ALL: [AddressPart; 5] = [
        AddressPart::Street,
        AddressPart::City,
        AddressPart::State,
        AddressPart::CountryOrRegion,
        AddressPart::PostalCode,
    ];

    /// The element name.
    pub fn name(self) -> &'static str {
        match self {
            AddressPart::Street => "Street",
            AddressPart::City => "City",
            AddressPart::State => "State",
            AddressPart::CountryOrRegion => "CountryOrRegion",
            AddressPart::PostalCode => "PostalCode",
        }
    }
}

/// Dictionary keys the schema allows.
pub const EMAIL_KEYS: [&str; 3] = ["EmailAddress1", "EmailAddress2", "EmailAddress3"];
/// Phone dictionary keys.
pub const PHONE_KEYS: [&str; 19] = [
    "AssistantPhone",
    "BusinessFax",
    "BusinessPhone",
    "BusinessPhone2",
    "Callback",
    "CarPhone",
    "CompanyMainPhone",
    "HomeFax",
    "HomePhone",
    "HomePhone2",
    "Isdn",
    "MobilePhone",
    "OtherFax",
    "OtherTelephone",
    "Pager",
    "PrimaryPhone",
    "RadioPhone",
    "Telex",
    "TtyTddPhone",
];
/// Address dictionary keys.
pub const ADDRESS_KEYS: [&str; 3] = ["Home", "Business", "Other"];

/// An extended property's identity: property set (or distinguished set, or `tag`) and name
/// (or numeric id, or tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtKey {
    /// Property set GUID lower-cased, a distinguished set name, or `tag`.
    pub set: String,
    /// Property name, `#` and an id, or the tag.
    pub name: String,
    /// The declared MAPI type.
    pub kind: String,
    /// The element's attributes as given, to echo them back.
    pub attrs: Vec<(String, String)>,
}

/// A property path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    /// A whole property.
    Field(Field),
    /// One entry of a contact dictionary (`EmailAddress1`, `MobilePhone`, `Business`);
    /// for addresses, one part of it.
    Indexed {
        /// `EmailAddresses`, `PhoneNumbers` or `PhysicalAddresses`.
        field: Field,
        /// The key.
        key: String,
        /// The address part, for addresses.
        part: Option<AddressPart>,
    },
    /// An extended property.
    Extended(ExtKey),
    /// A path the schema allows but the simulator does not store.
    Unsupported(String),
}

impl Path {
    /// Reads a `FieldURI`, `IndexedFieldURI` or `ExtendedFieldURI` element.
    pub fn read(node: &Node) -> Result<Path, Fault> {
        let attr = |name: &str| {
            node.attr(name)
                .ok_or_else(|| Fault::schema(format!("{} lacks the attribute {name}", node.name)))
        };
        match node.name.as_str() {
            "FieldURI" => {
                let uri = attr("FieldURI")?;
                Ok(Field::from_uri(uri)
                    .map_or_else(|| Path::Unsupported(uri.to_owned()), Path::Field))
            }
            "IndexedFieldURI" => {
                let (uri, key) = (attr("FieldURI")?, attr("FieldIndex")?);
                let (field, keys, part) = match uri {
                    "contacts:EmailAddress" => (Field::EmailAddresses, &EMAIL_KEYS[..], None),
                    "contacts:PhoneNumber" => (Field::PhoneNumbers, &PHONE_KEYS[..], None),
                    _ => match uri
                        .strip_prefix("contacts:PhysicalAddress:")
                        .and_then(|p| AddressPart::ALL.into_iter().find(|a| a.name() == p))
                    {
                        Some(part) => (Field::PhysicalAddresses, &ADDRESS_KEYS[..], Some(part)),
                        None => return Ok(Path::Unsupported(format!("{uri}:{key}"))),
                    },
                };
                if !keys.contains(&key) {
                    return Err(Fault::schema(format!(
                        "FieldIndex {key:?} is not valid for {uri}"
                    )));
                }
                Ok(Path::Indexed {
                    field,
                    key: key.to_owned(),
                    part,
                })
            }
            "ExtendedFieldURI" => Ok(Path::Extended(ext_key(node)?)),
            other => Err(Fault::schema(format!("{other} is not a property path"))),
        }
    }

    /// Reads every path among `node`'s children.
    pub fn read_all(node: &Node) -> Result<Vec<Path>, Fault> {
        node.children
            .iter()
            .filter(|c| c.ns == Ns::Types)
            .map(Path::read)
            .collect()
    }

    /// The name a message uses for it.
    pub fn describe(&self) -> String {
        match self {
            Path::Field(f) => f.uri().to_owned(),
            Path::Indexed { field, key, part } => match part {
                Some(part) => format!("contacts:PhysicalAddress:{}:{key}", part.name()),
                None => format!("{}:{key}", field.uri()),
            },
            Path::Extended(k) => format!("extended property {}/{}", k.set, k.name),
            Path::Unsupported(uri) => uri.clone(),
        }
    }
}

fn ext_key(node: &Node) -> Result<ExtKey, Fault> {
    let kind = node
        .attr("PropertyType")
        .ok_or_else(|| Fault::schema("ExtendedFieldURI lacks PropertyType"))?;
    let set = node
        .attr("PropertySetId")
        .map(str::to_ascii_lowercase)
        .or_else(|| node.attr("DistinguishedPropertySetId").map(str::to_owned));
    let name = node
        .attr("PropertyName")
        .map(str::to_owned)
        .or_else(|| node.attr("PropertyId").map(|id| format!("#{id}")));
    let (set, name) = match (set, name, node.attr("PropertyTag")) {
        (Some(set), Some(name), None) => (set, name),
        (None, None, Some(tag)) => {
            let tag = tag.trim().to_ascii_lowercase();
            let number = tag
                .strip_prefix("0x")
                .map_or_else(
                    || tag.parse::<u32>().ok(),
                    |hex| u32::from_str_radix(hex, 16).ok(),
                )
                .ok_or_else(|| Fault::schema(format!("PropertyTag {tag:?} is not a number")))?;
            ("tag".to_owned(), format!("0x{number:04x}"))
        }
        _ => {
            return Err(Fault::new(
                "ErrorInvalidExtendedProperty",
                "An extended property is named by PropertyTag alone, or by a property set and a name or id.",
            ));
        }
    };
    Ok(ExtKey {
        set,
        name,
        kind: kind.to_owned(),
        attrs: node.attrs.clone(),
    })
}

/// How much of each item a response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseShape {
    /// Ids only.
    IdOnly,
    /// The common properties.
    Default,
    /// Everything.
    AllProperties,
}

/// What a body comes back as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyWanted {
    /// As stored.
    Best,
    /// Plain text.
    Text,
    /// HTML.
    Html,
}

/// A response shape: `ItemShape`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Base shape.
    pub base: BaseShape,
    /// Body type.
    pub body: BodyWanted,
    /// Extra properties.
    pub additional: Vec<Path>,
}

impl Shape {
    /// Reads an `ItemShape` element.
    pub fn read(node: &Node) -> Result<Shape, Fault> {
        let base = match node.child(Ns::Types, "BaseShape").map(Node::value) {
            Some("IdOnly") => BaseShape::IdOnly,
            Some("Default" | "PcxPeopleSearch") => BaseShape::Default,
            Some("AllProperties") => BaseShape::AllProperties,
            Some(other) => return Err(Fault::schema(format!("BaseShape {other:?} is not valid"))),
            None => return Err(Fault::schema(format!("{} lacks BaseShape", node.name))),
        };
        let body = match node.child(Ns::Types, "BodyType").map(Node::value) {
            None | Some("Best") => BodyWanted::Best,
            Some("Text") => BodyWanted::Text,
            Some("HTML") => BodyWanted::Html,
            Some(other) => return Err(Fault::schema(format!("BodyType {other:?} is not valid"))),
        };
        let additional = match node.child(Ns::Types, "AdditionalProperties") {
            Some(list) => Path::read_all(list)?,
            None => Vec::new(),
        };
        Ok(Shape {
            base,
            body,
            additional,
        })
    }

    /// Whether the shape asks for the whole of `field`.
    pub fn wants(&self, field: Field, default: bool) -> bool {
        match self.base {
            BaseShape::AllProperties => true,
            BaseShape::Default if default => true,
            _ => self.additional.contains(&Path::Field(field)),
        }
    }

    /// The dictionary keys of `field` the shape asks for: `None` for the whole dictionary.
    pub fn wanted_keys(
        &self,
        field: Field,
        default: bool,
    ) -> Option<Vec<(String, Option<AddressPart>)>> {
        if self.wants(field, default) {
            return None;
        }
        Some(
            self.additional
                .iter()
                .filter_map(|p| match p {
                    Path::Indexed {
                        field: f,
                        key,
                        part,
                    } if *f == field => Some((key.clone(), *part)),
                    _ => None,
                })
                .collect(),
        )
    }

    /// The extended properties the shape asks for.
    pub fn extended(&self) -> impl Iterator<Item = &ExtKey> {
        self.additional.iter().filter_map(|p| match p {
            Path::Extended(k) => Some(k),
            _ => None,
        })
    }
}
