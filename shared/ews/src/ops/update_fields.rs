//! Field-level changes for `UpdateItem`: each becomes one `SetItemField` or
//! `DeleteItemField`, so only what changed is sent.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::types::REMINDER_MINUTES;
use crate::types::{
    AddressKey, Attendee, Body, CRM_ID_PROPERTY, EmailKey, ExtendedProperty, LegacyFreeBusy,
    PhoneKey, PhysicalAddress, PropertyPath, Recurrence, Sensitivity,
};
use crate::xml::XmlWriter;

/// One change to a contact. `None` (or an empty value) deletes the property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactUpdate {
    /// File-as text.
    FileAs(Option<String>),
    /// Display name.
    DisplayName(Option<String>),
    /// First name.
    GivenName(Option<String>),
    /// Middle name.
    MiddleName(Option<String>),
    /// Nickname.
    Nickname(Option<String>),
    /// Last name.
    Surname(Option<String>),
    /// Company.
    CompanyName(Option<String>),
    /// Department.
    Department(Option<String>),
    /// Job title.
    JobTitle(Option<String>),
    /// One e-mail slot.
    Email(EmailKey, Option<String>),
    /// One phone slot.
    Phone(PhoneKey, Option<String>),
    /// One address slot, all its parts.
    Address(AddressKey, Option<PhysicalAddress>),
    /// Birthday.
    Birthday(Option<NaiveDate>),
    /// Notes (the body).
    Notes(Option<String>),
    /// Categories; empty deletes them.
    Categories(Vec<String>),
    /// The CRM id stamp.
    CrmId(Option<String>),
}

/// One change to a calendar item. `None` (or an empty value) deletes the property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarUpdate {
    /// Subject.
    Subject(Option<String>),
    /// Body.
    Body(Option<Body>),
    /// Location.
    Location(Option<String>),
    /// Start.
    Start(DateTime<Utc>),
    /// End.
    End(DateTime<Utc>),
    /// Windows time zone id for the start.
    StartTimeZone(String),
    /// Windows time zone id for the end.
    EndTimeZone(String),
    /// All-day flag.
    IsAllDay(bool),
    /// Free/busy.
    ShowAs(LegacyFreeBusy),
    /// Sensitivity.
    Sensitivity(Sensitivity),
    /// Reminder minutes before start; `None` turns the reminder off.
    Reminder(Option<u32>),
    /// Categories; empty deletes them.
    Categories(Vec<String>),
    /// Required attendees, the whole list.
    RequiredAttendees(Vec<Attendee>),
    /// Optional attendees, the whole list.
    OptionalAttendees(Vec<Attendee>),
    /// The series pattern; `None` makes it a single event.
    Recurrence(Option<Recurrence>),
    /// The CRM id stamp.
    CrmId(Option<String>),
}

/// The changes to one item, of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updates {
    /// Changes to a contact.
    Contact(Vec<ContactUpdate>),
    /// Changes to a calendar item.
    CalendarItem(Vec<CalendarUpdate>),
}

impl Updates {
    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        match self {
            Updates::Contact(list) => list.is_empty(),
            Updates::CalendarItem(list) => list.is_empty(),
        }
    }

    pub(crate) fn write(&self, w: &mut XmlWriter) {
        match self {
            Updates::Contact(list) => list.iter().for_each(|u| write_contact_update(w, u)),
            Updates::CalendarItem(list) => list.iter().for_each(|u| write_calendar_update(w, u)),
        }
    }
}

const CONTACT: &str = "t:Contact";
const CALENDAR: &str = "t:CalendarItem";

fn set(w: &mut XmlWriter, path: PropertyPath, item: &str, value: impl FnOnce(&mut XmlWriter)) {
    w.open("t:SetItemField", &[]);
    path.write(w);
    w.open(item, &[]);
    value(w);
    w.close(item);
    w.close("t:SetItemField");
}

fn delete(w: &mut XmlWriter, path: PropertyPath) {
    w.open("t:DeleteItemField", &[]);
    path.write(w);
    w.close("t:DeleteItemField");
}

/// Sets a plain text property, or deletes it when the value is missing or empty.
fn text(w: &mut XmlWriter, item: &str, uri: &'static str, value: Option<&str>) {
    let element = format!("t:{}", uri.rsplit(':').next().unwrap_or(uri));
    match value.filter(|v| !v.is_empty()) {
        Some(value) => set(w, PropertyPath::Field(uri), item, |w| {
            w.text_element(&element, value);
        }),
        None => delete(w, PropertyPath::Field(uri)),
    }
}

fn categories(w: &mut XmlWriter, item: &str, values: &[String]) {
    if values.is_empty() {
        delete(w, PropertyPath::Field("item:Categories"));
    } else {
        set(w, PropertyPath::Field("item:Categories"), item, |w| {
            crate::types::write_strings(w, "t:Categories", values);
        });
    }
}

fn crm_id(w: &mut XmlWriter, item: &str, value: Option<&str>) {
    let path = PropertyPath::Extended(CRM_ID_PROPERTY);
    match value.filter(|v| !v.is_empty()) {
        Some(value) => set(w, path, item, |w| {
            ExtendedProperty {
                field: CRM_ID_PROPERTY,
                value: value.to_owned(),
            }
            .write(w);
        }),
        None => delete(w, path),
    }
}

fn write_contact_update(w: &mut XmlWriter, update: &ContactUpdate) {
    match update {
        ContactUpdate::FileAs(v) => text(w, CONTACT, "contacts:FileAs", v.as_deref()),
        ContactUpdate::DisplayName(v) => text(w, CONTACT, "contacts:DisplayName", v.as_deref()),
        ContactUpdate::GivenName(v) => text(w, CONTACT, "contacts:GivenName", v.as_deref()),
        ContactUpdate::MiddleName(v) => text(w, CONTACT, "contacts:MiddleName", v.as_deref()),
        ContactUpdate::Nickname(v) => text(w, CONTACT, "contacts:Nickname", v.as_deref()),
        ContactUpdate::Surname(v) => text(w, CONTACT, "contacts:Surname", v.as_deref()),
        ContactUpdate::CompanyName(v) => text(w, CONTACT, "contacts:CompanyName", v.as_deref()),
        ContactUpdate::Department(v) => text(w, CONTACT, "contacts:Department", v.as_deref()),
        ContactUpdate::JobTitle(v) => text(w, CONTACT, "contacts:JobTitle", v.as_deref()),
        ContactUpdate::Email(key, v) => {
            let path = PropertyPath::Indexed {
                uri: "contacts:EmailAddress",
                index: key.as_str(),
            };
            indexed_entry(w, path, "t:EmailAddresses", key.as_str(), v.as_deref());
        }
        ContactUpdate::Phone(key, v) => {
            let path = PropertyPath::Indexed {
                uri: "contacts:PhoneNumber",
                index: key.as_str(),
            };
            indexed_entry(w, path, "t:PhoneNumbers", key.as_str(), v.as_deref());
        }
        ContactUpdate::Address(key, address) => {
            let address = address.clone().unwrap_or_default();
            for (element, uri, value) in address.parts() {
                let path = PropertyPath::Indexed {
                    uri,
                    index: key.as_str(),
                };
                match value.filter(|v| !v.is_empty()) {
                    Some(value) => set(w, path, CONTACT, |w| {
                        w.open("t:PhysicalAddresses", &[]);
                        w.open("t:Entry", &[("Key", key.as_str())]);
                        w.text_element(element, value);
                        w.close("t:Entry");
                        w.close("t:PhysicalAddresses");
                    }),
                    None => delete(w, path),
                }
            }
        }
        ContactUpdate::Birthday(v) => {
            if let Some(date) = v {
                w.check_year("t:Birthday", date.year());
            }
            let value = v.map(crate::types::birthday_value);
            text(w, CONTACT, "contacts:Birthday", value.as_deref());
        }
        ContactUpdate::Notes(v) => match v.as_deref().filter(|v| !v.is_empty()) {
            Some(notes) => set(w, PropertyPath::Field("item:Body"), CONTACT, |w| {
                Body::text(notes).write(w);
            }),
            None => delete(w, PropertyPath::Field("item:Body")),
        },
        ContactUpdate::Categories(v) => categories(w, CONTACT, v),
        ContactUpdate::CrmId(v) => crm_id(w, CONTACT, v.as_deref()),
    }
}

fn indexed_entry(
    w: &mut XmlWriter,
    path: PropertyPath,
    dictionary: &str,
    key: &str,
    value: Option<&str>,
) {
    match value.filter(|v| !v.is_empty()) {
        Some(value) => set(w, path, CONTACT, |w| {
            w.open(dictionary, &[]);
            w.text_element_with("t:Entry", &[("Key", key)], value);
            w.close(dictionary);
        }),
        None => delete(w, path),
    }
}

fn write_calendar_update(w: &mut XmlWriter, update: &CalendarUpdate) {
    match update {
        CalendarUpdate::Subject(v) => text(w, CALENDAR, "item:Subject", v.as_deref()),
        CalendarUpdate::Location(v) => text(w, CALENDAR, "calendar:Location", v.as_deref()),
        CalendarUpdate::Body(v) => match v.as_ref().filter(|b| !b.content.is_empty()) {
            Some(body) => set(w, PropertyPath::Field("item:Body"), CALENDAR, |w| {
                body.write(w);
            }),
            None => delete(w, PropertyPath::Field("item:Body")),
        },
        CalendarUpdate::Start(v) => set(w, PropertyPath::Field("calendar:Start"), CALENDAR, |w| {
            w.datetime_element("t:Start", v);
        }),
        CalendarUpdate::End(v) => set(w, PropertyPath::Field("calendar:End"), CALENDAR, |w| {
            w.datetime_element("t:End", v);
        }),
        CalendarUpdate::StartTimeZone(id) => set(
            w,
            PropertyPath::Field("calendar:StartTimeZone"),
            CALENDAR,
            |w| {
                w.empty("t:StartTimeZone", &[("Id", id)]);
            },
        ),
        CalendarUpdate::EndTimeZone(id) => set(
            w,
            PropertyPath::Field("calendar:EndTimeZone"),
            CALENDAR,
            |w| {
                w.empty("t:EndTimeZone", &[("Id", id)]);
            },
        ),
        CalendarUpdate::IsAllDay(v) => {
            text(
                w,
                CALENDAR,
                "calendar:IsAllDayEvent",
                Some(crate::types::bool_str(*v)),
            );
        }
        CalendarUpdate::ShowAs(v) => text(
            w,
            CALENDAR,
            "calendar:LegacyFreeBusyStatus",
            Some(v.as_str()),
        ),
        CalendarUpdate::Sensitivity(v) => text(w, CALENDAR, "item:Sensitivity", Some(v.as_str())),
        CalendarUpdate::Reminder(minutes) => {
            text(
                w,
                CALENDAR,
                "item:ReminderIsSet",
                Some(crate::types::bool_str(minutes.is_some())),
            );
            if let Some(minutes) = *minutes {
                let path = PropertyPath::Field("item:ReminderMinutesBeforeStart");
                set(w, path, CALENDAR, |w| {
                    w.int_element("t:ReminderMinutesBeforeStart", minutes, REMINDER_MINUTES);
                });
            }
        }
        CalendarUpdate::Categories(v) => categories(w, CALENDAR, v),
        CalendarUpdate::RequiredAttendees(list) => attendees(w, "calendar:RequiredAttendees", list),
        CalendarUpdate::OptionalAttendees(list) => attendees(w, "calendar:OptionalAttendees", list),
        CalendarUpdate::Recurrence(Some(recurrence)) => {
            set(
                w,
                PropertyPath::Field("calendar:Recurrence"),
                CALENDAR,
                |w| recurrence.write(w),
            );
        }
        CalendarUpdate::Recurrence(None) => delete(w, PropertyPath::Field("calendar:Recurrence")),
        CalendarUpdate::CrmId(v) => crm_id(w, CALENDAR, v.as_deref()),
    }
}

fn attendees(w: &mut XmlWriter, uri: &'static str, list: &[Attendee]) {
    let element = format!("t:{}", uri.rsplit(':').next().unwrap_or(uri));
    if list.is_empty() {
        delete(w, PropertyPath::Field(uri));
    } else {
        set(w, PropertyPath::Field(uri), CALENDAR, |w| {
            Attendee::write_list(w, &element, list);
        });
    }
}
