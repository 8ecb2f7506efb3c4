//! Between EWS item types and the protocol-neutral contact and event data.

use mailbridge_mailbox::data::{Address, RecurrencePattern as Pattern};
use mailbridge_mailbox::{AttendeeData, ContactData, EventData, ItemData, RecurrenceData};

use crate::ops::{CalendarUpdate, ContactUpdate, Updates};
use crate::types::{
    AddressKey, Attendee, Body, CalendarItem, Contact, DayOfWeekIndex, EmailKey, Item,
    LegacyFreeBusy, Mailbox, Month, PhoneKey, PhysicalAddress, Recurrence, RecurrencePattern,
    RecurrenceRange, Weekday,
};

const EMAIL_KEYS: [EmailKey; 3] = [
    EmailKey::EmailAddress1,
    EmailKey::EmailAddress2,
    EmailKey::EmailAddress3,
];

/// Why neutral data cannot be written as EWS.
#[derive(Debug)]
pub(crate) struct Unwritable(pub String);

/// Reads an EWS item as neutral data; `None` for kinds mailbridge does not sync.
pub(crate) fn from_item(item: &Item) -> Option<ItemData> {
    match item {
        Item::Contact(c) => Some(ItemData::Contact(contact_data(c))),
        Item::CalendarItem(e) => event_data(e).map(ItemData::Event),
        Item::Message(_) | Item::Other { .. } => None,
    }
}

fn contact_data(c: &Contact) -> ContactData {
    let address = |key| c.addresses.get(&key).map(address_data);
    let mut data = ContactData {
        given_name: c.given_name.clone(),
        middle_name: c.middle_name.clone(),
        surname: c.surname.clone(),
        nickname: c.nickname.clone(),
        display_name: c.display_name.clone(),
        company: c.company_name.clone(),
        department: c.department.clone(),
        job_title: c.job_title.clone(),
        emails: EMAIL_KEYS
            .iter()
            .filter_map(|k| c.emails.get(k).cloned())
            .collect(),
        business_phone: c.phones.get(&PhoneKey::BusinessPhone).cloned(),
        mobile_phone: c.phones.get(&PhoneKey::MobilePhone).cloned(),
        home_phone: c.phones.get(&PhoneKey::HomePhone).cloned(),
        business_address: address(AddressKey::Business),
        home_address: address(AddressKey::Home),
        birthday: c.birthday,
        notes: c.notes.clone(),
        categories: c.common.categories.clone(),
    };
    // Exchange makes up a display name from the parts when none was given; it is not a
    // change anyone made, so it is not synced as one.
    let derived = [&data.given_name, &data.middle_name, &data.surname]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let short = [&data.given_name, &data.surname]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .collect::<Vec<_>>()
        .join(" ");
    if data
        .display_name
        .as_deref()
        .is_some_and(|d| d.trim() == derived || d.trim() == short)
    {
        data.display_name = None;
    }
    data
}

fn address_data(a: &PhysicalAddress) -> Address {
    Address {
        street: a.street.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
    }
}

fn physical(a: &Address) -> PhysicalAddress {
    PhysicalAddress {
        street: a.street.clone(),
        city: a.city.clone(),
        state: a.state.clone(),
        country: a.country.clone(),
        postal_code: a.postal_code.clone(),
    }
}

fn event_data(e: &CalendarItem) -> Option<EventData> {
    let (start, end) = (e.start?, e.end?);
    let attendees = e
        .required_attendees
        .iter()
        .map(|a| (a, false))
        .chain(e.optional_attendees.iter().map(|a| (a, true)))
        .map(|(a, optional)| AttendeeData {
            email: a.mailbox.email.clone(),
            name: a.mailbox.name.clone(),
            optional,
        })
        .collect();
    Some(EventData {
        subject: e.subject.clone(),
        body: e.body.as_ref().map(|b| b.content.clone()),
        location: e.location.clone(),
        start,
        end,
        all_day: e.is_all_day,
        time_zone: e.start_time_zone.clone(),
        show_as: e.show_as.map(|s| s.as_str().to_owned()),
        reminder_minutes: if e.reminder_is_set == Some(false) {
            None
        } else {
            e.reminder_minutes
        },
        attendees,
        recurrence: e.recurrence.as_ref().map(recurrence_data),
        categories: e.common.categories.clone(),
    })
}

fn recurrence_data(r: &Recurrence) -> RecurrenceData {
    let pattern = match &r.pattern {
        RecurrencePattern::Daily { interval } => Pattern::Daily {
            interval: *interval,
        },
        RecurrencePattern::Weekly { interval, days, .. } => Pattern::Weekly {
            interval: *interval,
            days: days.iter().map(|d| d.as_str().to_owned()).collect(),
        },
        RecurrencePattern::AbsoluteMonthly {
            interval,
            day_of_month,
        } => Pattern::AbsoluteMonthly {
            interval: *interval,
            day_of_month: *day_of_month,
        },
        RecurrencePattern::RelativeMonthly {
            interval,
            day,
            index,
        } => Pattern::RelativeMonthly {
            interval: *interval,
            day: day.as_str().to_owned(),
            index: index.as_str().to_owned(),
        },
        RecurrencePattern::AbsoluteYearly {
            day_of_month,
            month,
        } => Pattern::AbsoluteYearly {
            day_of_month: *day_of_month,
            month: month.as_str().to_owned(),
        },
        RecurrencePattern::RelativeYearly { day, index, month } => Pattern::RelativeYearly {
            day: day.as_str().to_owned(),
            index: index.as_str().to_owned(),
            month: month.as_str().to_owned(),
        },
    };
    let (start, end, count) = match r.range {
        RecurrenceRange::NoEnd { start } => (start, None, None),
        RecurrenceRange::EndDate { start, end } => (start, Some(end), None),
        RecurrenceRange::Numbered { start, count } => (start, None, Some(count)),
    };
    RecurrenceData {
        pattern,
        start,
        end,
        count,
    }
}

fn parsed<T>(field: &str, value: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, Unwritable> {
    parse(value)
        .ok_or_else(|| Unwritable(format!("{field}: {value:?} is not a name Exchange knows")))
}

fn recurrence(r: &RecurrenceData) -> Result<Recurrence, Unwritable> {
    let pattern = match &r.pattern {
        Pattern::Daily { interval } => RecurrencePattern::Daily {
            interval: *interval,
        },
        Pattern::Weekly { interval, days } => RecurrencePattern::Weekly {
            interval: *interval,
            days: days
                .iter()
                .map(|d| parsed("recurrence.days", d, Weekday::parse))
                .collect::<Result<_, _>>()?,
            first_day_of_week: None,
        },
        Pattern::AbsoluteMonthly {
            interval,
            day_of_month,
        } => RecurrencePattern::AbsoluteMonthly {
            interval: *interval,
            day_of_month: *day_of_month,
        },
        Pattern::RelativeMonthly {
            interval,
            day,
            index,
        } => RecurrencePattern::RelativeMonthly {
            interval: *interval,
            day: parsed("recurrence.day", day, Weekday::parse)?,
            index: parsed("recurrence.index", index, DayOfWeekIndex::parse)?,
        },
        Pattern::AbsoluteYearly {
            day_of_month,
            month,
        } => RecurrencePattern::AbsoluteYearly {
            day_of_month: *day_of_month,
            month: parsed("recurrence.month", month, Month::parse)?,
        },
        Pattern::RelativeYearly { day, index, month } => RecurrencePattern::RelativeYearly {
            day: parsed("recurrence.day", day, Weekday::parse)?,
            index: parsed("recurrence.index", index, DayOfWeekIndex::parse)?,
            month: parsed("recurrence.month", month, Month::parse)?,
        },
    };
    let range = match (r.end, r.count) {
        (Some(end), _) => RecurrenceRange::EndDate {
            start: r.start,
            end,
        },
        (None, Some(count)) => RecurrenceRange::Numbered {
            start: r.start,
            count,
        },
        (None, None) => RecurrenceRange::NoEnd { start: r.start },
    };
    Ok(Recurrence { pattern, range })
}

fn show_as(value: Option<&String>) -> Result<LegacyFreeBusy, Unwritable> {
    value.map_or(Ok(LegacyFreeBusy::Busy), |v| {
        parsed("show_as", v, LegacyFreeBusy::parse)
    })
}

fn attendees(list: &[AttendeeData], optional: bool) -> Vec<Attendee> {
    list.iter()
        .filter(|a| a.optional == optional)
        .map(|a| {
            Attendee::new(Mailbox {
                name: a.name.clone(),
                ..Mailbox::new(a.email.trim())
            })
        })
        .collect()
}

/// Writes neutral data as a new EWS item stamped with `crm_id`. Text goes as it was given
/// (surrounding spaces and `\r` included), so that the mailbox holds what the user typed;
/// only blank values are left out ([`ItemData::stored`]).
pub(crate) fn to_item(data: &ItemData, crm_id: &str) -> Result<Item, Unwritable> {
    let data = data.stored();
    Ok(match &data {
        ItemData::Contact(c) => {
            let mut contact = Contact {
                given_name: c.given_name.clone(),
                middle_name: c.middle_name.clone(),
                surname: c.surname.clone(),
                nickname: c.nickname.clone(),
                display_name: c.display_name.clone(),
                company_name: c.company.clone(),
                department: c.department.clone(),
                job_title: c.job_title.clone(),
                birthday: c.birthday,
                notes: c.notes.clone(),
                ..Contact::default()
            };
            contact.common.crm_id = Some(crm_id.to_owned());
            contact.common.categories.clone_from(&c.categories);
            for (key, email) in EMAIL_KEYS.iter().zip(&c.emails) {
                contact.emails.insert(*key, email.clone());
            }
            for (key, phone) in [
                (PhoneKey::BusinessPhone, &c.business_phone),
                (PhoneKey::MobilePhone, &c.mobile_phone),
                (PhoneKey::HomePhone, &c.home_phone),
            ] {
                if let Some(phone) = phone {
                    contact.phones.insert(key, phone.clone());
                }
            }
            for (key, address) in [
                (AddressKey::Business, &c.business_address),
                (AddressKey::Home, &c.home_address),
            ] {
                if let Some(address) = address {
                    contact.addresses.insert(key, physical(address));
                }
            }
            Item::Contact(Box::new(contact))
        }
        ItemData::Event(e) => {
            let mut event = CalendarItem {
                subject: e.subject.clone(),
                body: e.body.as_ref().map(|b| Body::text(b.clone())),
                reminder_is_set: Some(e.reminder_minutes.is_some()),
                reminder_minutes: e.reminder_minutes,
                start: Some(e.start),
                end: Some(e.end),
                start_time_zone: e.time_zone.clone(),
                end_time_zone: e.time_zone.clone(),
                is_all_day: e.all_day,
                show_as: Some(show_as(e.show_as.as_ref())?),
                location: e.location.clone(),
                required_attendees: attendees(&e.attendees, false),
                optional_attendees: attendees(&e.attendees, true),
                recurrence: e.recurrence.as_ref().map(recurrence).transpose()?,
                ..CalendarItem::default()
            };
            event.common.crm_id = Some(crm_id.to_owned());
            event.common.categories.clone_from(&e.categories);
            Item::CalendarItem(Box::new(event))
        }
    })
}

/// The field updates that turn `old` into `new`: the fields whose meaning changed, each
/// written exactly as `new` has it.
pub(crate) fn updates(old: &ItemData, new: &ItemData) -> Result<Updates, Unwritable> {
    let fields = mailbridge_mailbox::changed_fields(old, new);
    let new = new.stored();
    match &new {
        ItemData::Contact(c) => {
            let mut list = Vec::new();
            for field in &fields {
                match field.as_str() {
                    "given_name" => list.push(ContactUpdate::GivenName(c.given_name.clone())),
                    "middle_name" => list.push(ContactUpdate::MiddleName(c.middle_name.clone())),
                    "surname" => list.push(ContactUpdate::Surname(c.surname.clone())),
                    "nickname" => list.push(ContactUpdate::Nickname(c.nickname.clone())),
                    "display_name" => list.push(ContactUpdate::DisplayName(c.display_name.clone())),
                    "company" => list.push(ContactUpdate::CompanyName(c.company.clone())),
                    "department" => list.push(ContactUpdate::Department(c.department.clone())),
                    "job_title" => list.push(ContactUpdate::JobTitle(c.job_title.clone())),
                    "emails" => {
                        for (n, key) in EMAIL_KEYS.iter().enumerate() {
                            list.push(ContactUpdate::Email(*key, c.emails.get(n).cloned()));
                        }
                    }
                    "business_phone" => list.push(ContactUpdate::Phone(
                        PhoneKey::BusinessPhone,
                        c.business_phone.clone(),
                    )),
                    "mobile_phone" => list.push(ContactUpdate::Phone(
                        PhoneKey::MobilePhone,
                        c.mobile_phone.clone(),
                    )),
                    "home_phone" => {
                        list.push(ContactUpdate::Phone(
                            PhoneKey::HomePhone,
                            c.home_phone.clone(),
                        ));
                    }
                    "business_address" => list.push(ContactUpdate::Address(
                        AddressKey::Business,
                        c.business_address.as_ref().map(physical),
                    )),
                    "home_address" => list.push(ContactUpdate::Address(
                        AddressKey::Home,
                        c.home_address.as_ref().map(physical),
                    )),
                    "birthday" => list.push(ContactUpdate::Birthday(c.birthday)),
                    "notes" => list.push(ContactUpdate::Notes(c.notes.clone())),
                    "categories" => list.push(ContactUpdate::Categories(c.categories.clone())),
                    other => return Err(Unwritable(format!("{other}: not a contact field"))),
                }
            }
            Ok(Updates::Contact(list))
        }
        ItemData::Event(e) => {
            let mut list = Vec::new();
            for field in &fields {
                match field.as_str() {
                    "subject" => list.push(CalendarUpdate::Subject(e.subject.clone())),
                    "body" => list.push(CalendarUpdate::Body(
                        e.body.as_ref().map(|b| Body::text(b.clone())),
                    )),
                    "location" => list.push(CalendarUpdate::Location(e.location.clone())),
                    "start" => list.push(CalendarUpdate::Start(e.start)),
                    "end" => list.push(CalendarUpdate::End(e.end)),
                    "all_day" => list.push(CalendarUpdate::IsAllDay(e.all_day)),
                    "time_zone" => {
                        if let Some(tz) = &e.time_zone {
                            list.push(CalendarUpdate::StartTimeZone(tz.clone()));
                            list.push(CalendarUpdate::EndTimeZone(tz.clone()));
                        }
                    }
                    "show_as" => list.push(CalendarUpdate::ShowAs(show_as(e.show_as.as_ref())?)),
                    "reminder_minutes" => list.push(CalendarUpdate::Reminder(e.reminder_minutes)),
                    "attendees" => {
                        list.push(CalendarUpdate::RequiredAttendees(attendees(
                            &e.attendees,
                            false,
                        )));
                        list.push(CalendarUpdate::OptionalAttendees(attendees(
                            &e.attendees,
                            true,
                        )));
                    }
                    "recurrence" => list.push(CalendarUpdate::Recurrence(
                        e.recurrence.as_ref().map(recurrence).transpose()?,
                    )),
                    "categories" => list.push(CalendarUpdate::Categories(e.categories.clone())),
                    other => return Err(Unwritable(format!("{other}: not an event field"))),
                }
            }
            Ok(Updates::CalendarItem(list))
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    const EXACT: &str = "  <b>&amp;</b> ]]>\tone\r\ntwo\rthree \u{1F600}e\u{301}  ";

    #[test]
    fn text_goes_out_and_comes_back_exactly_as_given() {
        let contact = ItemData::Contact(ContactData {
            given_name: Some(EXACT.into()),
            display_name: Some(format!("{EXACT}!")),
            notes: Some(EXACT.into()),
            business_address: Some(Address {
                street: Some(EXACT.into()),
                ..Address::default()
            }),
            emails: vec!["ada@example.com".into()],
            categories: vec![EXACT.into()],
            ..ContactData::default()
        });
        let item = to_item(&contact, "crm-1").unwrap();
        assert_eq!(from_item(&item), Some(contact));

        let event = ItemData::Event(EventData {
            subject: Some(EXACT.into()),
            body: Some(EXACT.into()),
            location: Some(EXACT.into()),
            start: Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2027, 3, 1, 10, 0, 0).unwrap(),
            all_day: false,
            time_zone: Some("UTC".into()),
            show_as: Some("Free".into()),
            reminder_minutes: Some(15),
            attendees: vec![AttendeeData {
                email: "bo@example.com".into(),
                name: Some(EXACT.into()),
                optional: true,
            }],
            recurrence: None,
            categories: Vec::new(),
        });
        let item = to_item(&event, "crm-2").unwrap();
        assert_eq!(from_item(&item), Some(event));
    }

    #[test]
    fn updates_write_the_new_text_exactly_and_skip_changes_of_no_meaning() {
        let old = ItemData::Contact(ContactData {
            surname: Some("Berg".into()),
            notes: Some("old".into()),
            ..ContactData::default()
        });
        let new = ItemData::Contact(ContactData {
            surname: Some(" Berg\r\n".into()),
            notes: Some(EXACT.into()),
            company: Some(" \t ".into()),
            ..ContactData::default()
        });
        let Updates::Contact(list) = updates(&old, &new).unwrap() else {
            panic!("contact updates")
        };
        assert_eq!(list, [ContactUpdate::Notes(Some(EXACT.into()))]);
    }
}
