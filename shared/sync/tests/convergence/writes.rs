//! The edits a case made, so the check can tell a lost edit from one the conflict rule
//! overrode, and the contacts and events the edits write.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use mailbridge_ews_sim::model as sim;
use mailbridge_mailbox::data::RecurrencePattern;
use mailbridge_mailbox::{ContactData, EventData, ItemData, RecurrenceData};
use mailbridge_store::Folder;

/// Which side made an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Crm,
    Owner,
}

/// An entity: a folder and the CRM id its record has (or will have).
pub type Entity = (Folder, String);

/// Every tracked value written (job titles of contacts, locations of events), by entity.
#[derive(Default)]
pub struct Writes {
    seq: u64,
    /// The last value written to each entity still alive, and by whom.
    pub last: BTreeMap<Entity, (String, Side)>,
    /// Entities deleted on one side, and the side.
    deleted: BTreeMap<Entity, Side>,
    /// Entities deleted on one side (the value) and then edited on the other before a
    /// sync could carry the delete over: the edit must win, and the conflict be audited.
    pub contested: BTreeMap<Entity, Side>,
}

impl Writes {
    /// A new value for the entity's tracked field, written by `side`.
    pub fn value(&mut self, entity: &Entity, side: Side) -> String {
        self.seq += 1;
        let value = format!("v{}", self.seq);
        if let Some(by) = self.deleted.get(entity).filter(|by| **by != side) {
            self.contested.insert(entity.clone(), *by);
        }
        self.last.insert(entity.clone(), (value.clone(), side));
        value
    }

    /// A delete ends the entity's story: whether it survives (an edit on the other side
    /// wins) and with which value is the deletion rule's business, not an edit's.
    pub fn deleted(&mut self, entity: &Entity, side: Side) {
        self.last.remove(entity);
        self.contested.remove(entity);
        self.deleted.insert(entity.clone(), side);
    }
}

/// The tracked field of a contact or event.
pub fn tracked(data: &ItemData) -> Option<&str> {
    match data {
        ItemData::Contact(c) => c.job_title.as_deref(),
        ItemData::Event(e) => e.location.as_deref(),
    }
}

/// Sets the tracked field.
pub fn set_tracked(data: &mut ItemData, value: String) {
    match data {
        ItemData::Contact(c) => c.job_title = Some(value),
        ItemData::Event(e) => e.location = Some(value),
    }
}

/// A CRM contact.
pub fn crm_contact(n: u64, title: String) -> ItemData {
    ItemData::Contact(ContactData {
        given_name: Some(format!("Given{n}")),
        surname: Some(format!("Surname{n}")),
        emails: vec![format!("person{n}@example.com")],
        job_title: Some(title),
        ..ContactData::default()
    })
}

fn start_of(n: u64) -> DateTime<Utc> {
    let base = Utc
        .with_ymd_and_hms(2026, 12, 20, 9, 0, 0)
        .single()
        .unwrap_or_default();
    base + Duration::hours(i64::try_from(n).unwrap_or(0))
}

/// A CRM event, a daily series of `count` when given.
pub fn crm_event(n: u64, count: Option<u32>, location: String) -> ItemData {
    let start = start_of(n);
    ItemData::Event(EventData {
        subject: Some(format!("Meeting {n}")),
        body: None,
        location: Some(location),
        start,
        end: start + Duration::minutes(30),
        all_day: false,
        time_zone: None,
        show_as: None,
        reminder_minutes: Some(15),
        attendees: Vec::new(),
        recurrence: count.map(|count| RecurrenceData {
            pattern: RecurrencePattern::Daily { interval: 1 },
            start: start.date_naive(),
            end: None,
            count: Some(count),
        }),
        categories: Vec::new(),
    })
}

/// Sets how many times a CRM series repeats; `false` for a single event.
pub fn set_crm_count(data: &mut ItemData, count: u32) -> bool {
    match data {
        ItemData::Event(EventData {
            recurrence: Some(r),
            ..
        }) => {
            r.end = None;
            r.count = Some(count);
            true
        }
        _ => false,
    }
}

/// A contact the owner makes in Outlook.
pub fn owner_contact(n: u64, title: String) -> sim::ItemContent {
    sim::ItemContent::contact(sim::Contact {
        given_name: Some(format!("Owner{n}")),
        surname: Some("Made".into()),
        job_title: Some(title),
        ..Default::default()
    })
}

/// An event the owner makes in Outlook, a daily series of `count` when given.
pub fn owner_event(n: u64, count: Option<u32>, location: String) -> sim::ItemContent {
    let start = start_of(n) + Duration::minutes(15);
    let mut event = sim::Event::new(
        format!("Owner meeting {n}"),
        start,
        start + Duration::minutes(45),
    );
    event.location = Some(location);
    event.recurrence = count.map(|count| sim::Recurrence {
        pattern: sim::Pattern::Daily { interval: 1 },
        range: sim::Range::Numbered {
            start: start.date_naive(),
            count,
        },
    });
    sim::ItemContent::event(event)
}

/// Sets how many times a series in the mailbox repeats; `false` for a single event.
pub fn set_owner_count(data: &mut sim::ItemData, count: u32) -> bool {
    match data {
        sim::ItemData::Event(sim::Event {
            recurrence: Some(r),
            ..
        }) => {
            let start = r.range.start();
            r.range = sim::Range::Numbered { start, count };
            true
        }
        _ => false,
    }
}

/// Sets the tracked field of an item in the mailbox.
pub fn set_owner_tracked(data: &mut sim::ItemData, value: String) {
    match data {
        sim::ItemData::Contact(c) => c.job_title = Some(value),
        sim::ItemData::Event(e) => e.location = Some(value),
        sim::ItemData::Message(_) => {}
    }
}
