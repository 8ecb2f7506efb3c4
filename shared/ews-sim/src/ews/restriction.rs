//! `FindItem` restrictions: a search filter read from the request and tested on each item.

use std::cmp::Ordering;

use super::fields::{AddressPart, Field, Path};
use super::item_out::datetime;
use super::soap::Fault;
use super::xml::{Node, Ns};
use crate::model::{ItemContent, ItemData};

/// How `Contains` matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Containment {
    /// The whole value.
    FullString,
    /// The start of the value.
    Prefixed,
    /// Anywhere in the value.
    Substring,
}

/// A compiled filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// A comparison with a constant.
    Compare(Path, Ordering, bool, String),
    /// The property has a value.
    Exists(Path),
    /// The property contains the text.
    Contains(Path, Containment, bool, String),
    /// None of it.
    Not(Box<Filter>),
    /// All of them.
    And(Vec<Filter>),
    /// Any of them.
    Or(Vec<Filter>),
}

impl Filter {
    /// Reads the one filter inside `<m:Restriction>`.
    pub fn read(restriction: &Node) -> Result<Filter, Fault> {
        let mut parts = restriction.children.iter();
        let (Some(only), None) = (parts.next(), parts.next()) else {
            return Err(Fault::schema(
                "Restriction must hold exactly one search expression",
            ));
        };
        read_expression(only)
    }

    /// Whether the item passes.
    pub fn matches(&self, item: &ItemContent) -> bool {
        match self {
            Filter::Compare(path, wanted, or_equal, constant) => {
                values(path, item).iter().any(|v| {
                    let order = compare(v, constant);
                    order == *wanted || (*or_equal && order == Ordering::Equal)
                })
            }
            Filter::Exists(path) => !values(path, item).is_empty(),
            Filter::Contains(path, mode, ignore_case, text) => {
                let fold = |s: &str| {
                    if *ignore_case {
                        s.to_lowercase()
                    } else {
                        s.to_owned()
                    }
                };
                let text = fold(text);
                values(path, item).iter().any(|v| {
                    let v = fold(v);
                    match mode {
                        Containment::FullString => v == text,
                        Containment::Prefixed => v.starts_with(&text),
                        Containment::Substring => v.contains(&text),
                    }
                })
            }
            Filter::Not(inner) => !inner.matches(item),
            Filter::And(all) => all.iter().all(|f| f.matches(item)),
            Filter::Or(any) => any.iter().any(|f| f.matches(item)),
        }
    }
}

fn read_expression(node: &Node) -> Result<Filter, Fault> {
    let path = || -> Result<Path, Fault> {
        let path_node = node
            .children
            .iter()
            .find(|c| {
                matches!(
                    c.name.as_str(),
                    "FieldURI" | "IndexedFieldURI" | "ExtendedFieldURI"
                )
            })
            .ok_or_else(|| Fault::schema(format!("{} names no property", node.name)))?;
        let path = Path::read(path_node)?;
        if matches!(path, Path::Unsupported(_)) {
            return Err(Fault::new(
                "ErrorUnsupportedPathForQuery",
                format!("The property {} cannot be searched.", path.describe()),
            ));
        }
        Ok(path)
    };
    let constant = |holder: &Node| -> Result<String, Fault> {
        holder
            .child(Ns::Types, "Constant")
            .and_then(|c| c.attr("Value"))
            .map(str::to_owned)
            .ok_or_else(|| Fault::schema(format!("{} lacks a Constant with a Value", node.name)))
    };
    let compare_with = |order: Ordering, or_equal: bool, negate: bool| -> Result<Filter, Fault> {
        let holder = node
            .child(Ns::Types, "FieldURIOrConstant")
            .ok_or_else(|| Fault::schema(format!("{} lacks FieldURIOrConstant", node.name)))?;
        let filter = Filter::Compare(path()?, order, or_equal, constant(holder)?);
        Ok(if negate {
            Filter::Not(Box::new(filter))
        } else {
            filter
        })
    };
    let children =
        || -> Result<Vec<Filter>, Fault> { node.children.iter().map(read_expression).collect() };
    match node.name.as_str() {
        "IsEqualTo" => compare_with(Ordering::Equal, true, false),
        "IsNotEqualTo" => compare_with(Ordering::Equal, true, true),
        "IsGreaterThan" => compare_with(Ordering::Greater, false, false),
        "IsGreaterThanOrEqualTo" => compare_with(Ordering::Greater, true, false),
        "IsLessThan" => compare_with(Ordering::Less, false, false),
        "IsLessThanOrEqualTo" => compare_with(Ordering::Less, true, false),
        "Exists" => Ok(Filter::Exists(path()?)),
        "Contains" => {
            let mode = match node.attr("ContainmentMode").unwrap_or("FullString") {
                "FullString" | "ExactPhrase" => Containment::FullString,
                "Prefixed" | "PrefixOnWords" => Containment::Prefixed,
                "Substring" => Containment::Substring,
                other => {
                    return Err(Fault::schema(format!(
                        "ContainmentMode {other:?} is not valid"
                    )));
                }
            };
            let ignore_case = node
                .attr("ContainmentComparison")
                .is_some_and(|c| c.contains("IgnoreCase") || c == "Loose");
            Ok(Filter::Contains(
                path()?,
                mode,
                ignore_case,
                constant(node)?,
            ))
        }
        "Not" => {
            let inner = node
                .children
                .first()
                .ok_or_else(|| Fault::schema("Not holds no expression"))?;
            Ok(Filter::Not(Box::new(read_expression(inner)?)))
        }
        "And" => Ok(Filter::And(children()?)),
        "Or" => Ok(Filter::Or(children()?)),
        other => Err(Fault::new(
            "ErrorUnsupportedQueryFilter",
            format!("The search expression {other} is not supported."),
        )),
    }
}

/// Compares as dates when both are dates, as numbers when both are numbers, else as text
/// ignoring case (Exchange compares strings case-insensitively).
fn compare(value: &str, constant: &str) -> Ordering {
    let date = |s: &str| super::item_in::parse_datetime(s);
    if let (Some(a), Some(b)) = (date(value), date(constant)) {
        return a.cmp(&b);
    }
    if let (Ok(a), Ok(b)) = (value.parse::<f64>(), constant.parse::<f64>()) {
        return a.partial_cmp(&b).unwrap_or(Ordering::Equal);
    }
    value.to_lowercase().cmp(&constant.to_lowercase())
}

/// The values a path has on an item, as text.
pub fn values(path: &Path, item: &ItemContent) -> Vec<String> {
    let one = |v: Option<&String>| v.cloned().into_iter().collect::<Vec<_>>();
    match path {
        Path::Extended(key) => item
            .common
            .extended_value(&key.set, &key.name)
            .map(str::to_owned)
            .into_iter()
            .collect(),
        Path::Indexed { field, key, part } => match &item.data {
            ItemData::Contact(c) => match (field, part) {
                (Field::EmailAddresses, _) => one(c.emails.get(key)),
                (Field::PhoneNumbers, _) => one(c.phones.get(key)),
                (Field::PhysicalAddresses, Some(part)) => {
                    let address = c.addresses.get(key);
                    one(address.and_then(|a| match part {
                        AddressPart::Street => a.street.as_ref(),
                        AddressPart::City => a.city.as_ref(),
                        AddressPart::State => a.state.as_ref(),
                        AddressPart::CountryOrRegion => a.country.as_ref(),
                        AddressPart::PostalCode => a.postal_code.as_ref(),
                    }))
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        },
        Path::Unsupported(_) => Vec::new(),
        Path::Field(field) => field_values(*field, item),
    }
}

fn field_values(field: Field, item: &ItemContent) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().into_iter().collect::<Vec<_>>();
    match (field, &item.data) {
        (Field::Subject, _) => item.subject().into_iter().collect(),
        (Field::Categories, _) => item.common.categories.clone(),
        (Field::Body, _) => item.common.body.iter().map(|b| b.content.clone()).collect(),
        (Field::ItemClass, ItemData::Contact(_)) => vec!["IPM.Contact".into()],
        (Field::ItemClass, ItemData::Event(_)) => vec!["IPM.Appointment".into()],
        (Field::ItemClass, ItemData::Message(_)) => vec!["IPM.Note".into()],
        (_, ItemData::Contact(c)) => match field {
            Field::FileAs => opt(&c.file_as),
            Field::DisplayName => opt(&c.display_name),
            Field::GivenName => opt(&c.given_name),
            Field::MiddleName => opt(&c.middle_name),
            Field::Nickname => opt(&c.nickname),
            Field::CompanyName => opt(&c.company),
            Field::Department => opt(&c.department),
            Field::JobTitle => opt(&c.job_title),
            Field::Surname => opt(&c.surname),
            Field::EmailAddresses => c.emails.values().cloned().collect(),
            Field::PhoneNumbers => c.phones.values().cloned().collect(),
            Field::Birthday => c
                .birthday
                .iter()
                .map(|d| format!("{d}T11:59:00Z"))
                .collect(),
            _ => Vec::new(),
        },
        (_, ItemData::Event(e)) => match field {
            Field::Location => opt(&e.location),
            Field::Start => vec![datetime(&e.start)],
            Field::End => vec![datetime(&e.end)],
            Field::Uid => vec![e.uid.clone()],
            Field::IsAllDayEvent => vec![e.all_day.to_string()],
            Field::LegacyFreeBusyStatus => vec![e.show_as.clone()],
            Field::RequiredAttendees => e
                .required
                .iter()
                .map(|a| a.person.address.clone())
                .collect(),
            Field::OptionalAttendees => e
                .optional
                .iter()
                .map(|a| a.person.address.clone())
                .collect(),
            _ => Vec::new(),
        },
        (_, ItemData::Message(m)) => match field {
            Field::ToRecipients => m.to.iter().map(|p| p.address.clone()).collect(),
            Field::CcRecipients => m.cc.iter().map(|p| p.address.clone()).collect(),
            Field::BccRecipients => m.bcc.iter().map(|p| p.address.clone()).collect(),
            Field::InternetMessageId => vec![m.internet_message_id.clone()],
            Field::IsRead => vec![m.is_read.to_string()],
            Field::DateTimeSent => m.sent.iter().map(datetime).collect(),
            _ => Vec::new(),
        },
    }
}
