//! Generated mailbox content: plausible contacts and events, the same for the same seed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::item::{Address, Attendee, Body, Contact, Event, ItemContent, OccurrenceChange, Person};
use super::recurrence::{DayOfWeek, Pattern, Range, Recurrence};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeedSpec {
    /// Contacts.
    #[serde(default)]
    pub contacts: usize,
    /// Single events.
    #[serde(default)]
    pub events: usize,
    /// Recurring series, some with changed and deleted occurrences.
    #[serde(default)]
    pub recurring: usize,
    /// The random seed; the same seed gives the same content.
    #[serde(default)]
    pub seed: u64,
    /// Events are spread over the 60 days from this day (default: today).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<NaiveDate>,
}

const GIVEN: [&str; 24] = [
    "Anna", "Bo", "Carla", "Dev", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemal",
    "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomás", "Ulla", "Viktor",
    "Wen", "Zoë",
];
const SURNAMES: [&str; 20] = [
    "Andersson",
    "Becker",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Haddad",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "O'Brien",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Øberg",
];
const COMPANIES: [&str; 8] = [
    "Harbour Realty",
    "Northgate Homes",
    "Bluestone & Partners",
    "Cedar Lane Properties",
    "Meridian Estates",
    "Oakridge Brokerage",
    "Riverside Lettings",
    "Summit Land Co.",
];
const TITLES: [&str; 6] = [
    "Broker",
    "Agent",
    "Office Manager",
    "Mortgage Adviser",
    "Surveyor",
    "Solicitor",
];
const CITIES: [&str; 6] = ["Bristol", "Lyon", "Malmö", "Porto", "Graz", "Utrecht"];
const SUBJECTS: [&str; 8] = [
    "Viewing",
    "Valuation",
    "Offer review",
    "Contract signing",
    "Call with buyer",
    "Survey visit",
    "Open house",
    "Key handover",
];

/// Generates the content `spec` asks for: contacts, then single events, then series.
pub fn generate(spec: &SeedSpec, owner: &str, today: NaiveDate) -> Vec<ItemContent> {
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let from = spec.from.unwrap_or(today);
    let mut out = Vec::with_capacity(spec.contacts + spec.events + spec.recurring);
    for n in 0..spec.contacts {
        out.push(contact(&mut rng, n));
    }
    for n in 0..spec.events {
        out.push(single_event(&mut rng, n, from, owner));
    }
    for n in 0..spec.recurring {
        out.push(series(&mut rng, n, from));
    }
    out
}

fn pick<'a>(rng: &mut fastrand::Rng, list: &[&'a str]) -> &'a str {
    list[rng.usize(..list.len())]
}

fn contact(rng: &mut fastrand::Rng, n: usize) -> ItemContent {
    let given = pick(rng, &GIVEN);
    let surname = pick(rng, &SURNAMES);
    let company = pick(rng, &COMPANIES);
    let local: String = format!("{given}.{surname}.{n}")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    let domain: String = company
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    let mut c = Contact {
        display_name: Some(format!("{given} {surname}")),
        file_as: Some(format!("{surname}, {given}")),
        given_name: Some(given.to_owned()),
        surname: Some(surname.to_owned()),
        company: Some(company.to_owned()),
        job_title: Some(pick(rng, &TITLES).to_owned()),
        ..Contact::default()
    };
    c.emails
        .insert("EmailAddress1".into(), format!("{local}@{domain}.example"));
    if rng.u8(..4) == 0 {
        c.emails
            .insert("EmailAddress2".into(), format!("{local}@home.example"));
    }
    c.phones.insert(
        "MobilePhone".into(),
        format!("+44 7700 {:06}", rng.u32(..1_000_000)),
    );
    if rng.bool() {
        c.phones.insert(
            "BusinessPhone".into(),
            format!("+44 20 7946 {:04}", rng.u32(..10_000)),
        );
    }
    c.addresses.insert(
        "Business".into(),
        Address {
            street: Some(format!(
                "{} {} Street",
                rng.u32(1..200),
                pick(rng, &SURNAMES)
            )),
            city: Some(pick(rng, &CITIES).to_owned()),
            postal_code: Some(format!("{:05}", rng.u32(..100_000))),
            country: Some("United Kingdom".to_owned()),
            state: None,
        },
    );
    if rng.u8(..3) == 0 {
        c.birthday = NaiveDate::from_ymd_opt(rng.i32(1950..2004), rng.u32(1..13), rng.u32(1..29));
    }
    let mut content = ItemContent::contact(c);
    if rng.u8(..4) == 0 {
        content.common.body = Some(Body::text(format!(
            "Met at the {} open day. Prefers calls after 17:00.",
            pick(rng, &CITIES)
        )));
    }
    if rng.bool() {
        content.common.categories.push("Clients".into());
    }
    content
}

fn at(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, minute, 0)
        .unwrap_or_default()
        .and_utc()
}

fn single_event(rng: &mut fastrand::Rng, n: usize, from: NaiveDate, owner: &str) -> ItemContent {
    let day = from + Duration::days(rng.i64(0..60));
    let start = at(day, rng.u32(8..18), [0, 15, 30, 45][rng.usize(..4)]);
    let mut event = Event::new(
        format!("{} #{n}", pick(rng, &SUBJECTS)),
        start,
        start + Duration::minutes([30, 45, 60, 90][rng.usize(..4)]),
    );
    event.location = Some(format!("{} {}", rng.u32(1..200), pick(rng, &CITIES)));
    event.reminder_minutes = Some(15);
    if rng.u8(..3) == 0 {
        event.is_meeting = true;
        event.organizer = Some(Person::new(owner));
        event.required.push(Attendee {
            person: Person {
                name: Some(pick(rng, &GIVEN).to_owned()),
                address: format!("client{n}@buyers.example"),
            },
            response: "NoResponseReceived".into(),
        });
    }
    let mut content = ItemContent::event(event);
    content.common.body = Some(Body::text("Bring the brochure and the floor plan."));
    content
}

fn series(rng: &mut fastrand::Rng, n: usize, from: NaiveDate) -> ItemContent {
    let first = from + Duration::days(rng.i64(0..7));
    let start = at(first, rng.u32(8..17), 0);
    let mut event = Event::new(
        format!("Team meeting #{n}"),
        start,
        start + Duration::minutes(30),
    );
    let weekday = match first.weekday().num_days_from_sunday() {
        0 => DayOfWeek::Sunday,
        1 => DayOfWeek::Monday,
        2 => DayOfWeek::Tuesday,
        3 => DayOfWeek::Wednesday,
        4 => DayOfWeek::Thursday,
        5 => DayOfWeek::Friday,
        _ => DayOfWeek::Saturday,
    };
    let (pattern, step) = match n % 3 {
        0 => (Pattern::Daily { interval: 1 }, Duration::days(1)),
        1 => (
            Pattern::Weekly {
                interval: 1,
                days: vec![weekday],
                first_day_of_week: Some(DayOfWeek::Monday),
            },
            Duration::weeks(1),
        ),
        _ => (
            Pattern::AbsoluteMonthly {
                interval: 1,
                day_of_month: first.day(),
            },
            Duration::days(31),
        ),
    };
    event.recurrence = Some(Recurrence {
        pattern,
        range: Range::Numbered {
            start: first,
            count: 10,
        },
    });
    if matches!(
        event.recurrence.as_ref().map(|r| &r.pattern),
        Some(Pattern::Daily { .. })
    ) {
        // Daily series get one occurrence moved an hour later and one cancelled.
        let moved = start + step * 2;
        event.modified.push(OccurrenceChange {
            original_start: moved,
            start: moved + Duration::hours(1),
            end: moved + Duration::hours(1) + Duration::minutes(30),
            subject: Some(format!("Team meeting #{n} (moved)")),
            location: None,
        });
        event.deleted.push(start + step * 4);
    }
    ItemContent::event(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::item::ItemData;

    #[test]
    fn the_same_seed_gives_the_same_mailbox() {
        let spec = SeedSpec {
            contacts: 50,
            events: 10,
            recurring: 3,
            seed: 7,
            from: NaiveDate::from_ymd_opt(2027, 1, 4),
        };
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let a = generate(&spec, "owner@contoso.example", today);
        assert_eq!(a, generate(&spec, "owner@contoso.example", today));
        assert_eq!(a.len(), 63);
        let series = a
            .iter()
            .filter(|c| matches!(&c.data, ItemData::Event(e) if e.recurrence.is_some()))
            .count();
        assert_eq!(series, 3);
        let other = SeedSpec { seed: 8, ..spec };
        assert_ne!(a, generate(&other, "owner@contoso.example", today));
    }
}
