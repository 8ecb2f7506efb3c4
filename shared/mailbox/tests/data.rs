//! Validation, canonical form, hashing and merging of contact and event data.

use chrono::{TimeZone, Utc};
use mailbridge_mailbox::data::{Address, RecurrencePattern};
use mailbridge_mailbox::{
    CONFLICT_WINNER, ContactData, EventData, ItemData, RecurrenceData, Side, changed_fields,
    merge2, merge3,
};

fn contact(given: &str, surname: &str, email: &str) -> ContactData {
    ContactData {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        emails: vec![email.into()],
        ..ContactData::default()
    }
}

fn event() -> EventData {
    EventData {
        subject: Some("Showing".into()),
        body: None,
        location: Some("12 Elm St".into()),
        start: Utc.with_ymd_and_hms(2026, 12, 10, 9, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2026, 12, 10, 10, 0, 0).unwrap(),
        all_day: false,
        time_zone: None,
        show_as: None,
        reminder_minutes: Some(15),
        attendees: Vec::new(),
        recurrence: None,
        categories: Vec::new(),
    }
}

#[test]
fn equivalent_versions_hash_equal_and_different_ones_do_not() {
    let a = ItemData::Contact(contact("Ada", "Berg", "ada@example.com"));
    let mut padded = contact(" Ada ", "Berg", " ada@example.com");
    padded.notes = Some("   ".into());
    padded.company = Some(String::new());
    let b = ItemData::Contact(padded);
    assert_eq!(a.content_hash(), b.content_hash());
    let c = ItemData::Contact(contact("Ada", "Berg", "ada@other.example"));
    assert_ne!(a.content_hash(), c.content_hash());
    let crlf = ItemData::Contact(ContactData {
        notes: Some("line one\r\nline two".into()),
        ..contact("Ada", "Berg", "ada@example.com")
    });
    let lf = ItemData::Contact(ContactData {
        notes: Some("line one\nline two".into()),
        ..contact("Ada", "Berg", "ada@example.com")
    });
    assert_eq!(crlf.content_hash(), lf.content_hash());
}

#[test]
fn bad_data_names_the_field() {
    let cases = [
        (r#"{"given_name": 5}"#, "given_name"),
        (r#"{"emails": ["not an address"]}"#, "emails"),
        (
            r#"{"emails": ["a@b.example","c@d.example","e@f.example","g@h.example"]}"#,
            "emails",
        ),
        (r#"{"favourite_colour": "blue"}"#, "favourite_colour"),
    ];
    for (json, field) in cases {
        let err = ItemData::contact_from_json(json).unwrap_err();
        assert!(
            err.field == field || err.reason.contains(field),
            "{json}: {err}"
        );
    }
    let err = ItemData::event_from_json(
        r#"{"start":"2026-12-10T10:00:00Z","end":"2026-12-10T09:00:00Z"}"#,
    )
    .unwrap_err();
    assert_eq!(err.field, "end");
    let err = ItemData::event_from_json(r#"{"subject":"x"}"#).unwrap_err();
    assert_eq!(err.field, "start");
    let err = ItemData::event_from_json(
        r#"{"start":"2026-12-10T09:00:00Z","end":"2026-12-10T10:00:00Z","recurrence":{"pattern":{"type":"weekly","interval":1,"days":["Funday"]},"start":"2026-12-10"}}"#,
    )
    .unwrap_err();
    assert_eq!(err.field, "recurrence.days");
    let long = "x".repeat(40_000);
    let err = ItemData::contact_from_json(&format!(r#"{{"notes":"{long}"}}"#)).unwrap_err();
    assert_eq!(err.field, "notes");
}

#[test]
fn json_round_trips_hostile_text_exactly() {
    let hostile = "<b>&amp;</b> ]]> \u{1F600} \"quoted\" 'single' \\ back";
    let item = ItemData::Contact(ContactData {
        notes: Some(hostile.into()),
        ..contact("Zoë", "Øberg", "zoe@example.com")
    });
    let back = ItemData::contact_from_json(&item.to_json()).unwrap();
    assert_eq!(back, item);
    let recurring = ItemData::Event(EventData {
        recurrence: Some(RecurrenceData {
            pattern: RecurrencePattern::Weekly {
                interval: 2,
                days: vec!["Monday".into(), "Thursday".into()],
            },
            start: Utc
                .with_ymd_and_hms(2026, 12, 10, 0, 0, 0)
                .unwrap()
                .date_naive(),
            end: None,
            count: Some(10),
        }),
        ..event()
    });
    assert_eq!(
        ItemData::event_from_json(&recurring.to_json()).unwrap(),
        recurring
    );
}

#[test]
fn changes_on_different_fields_merge_and_same_field_conflicts_are_reported() {
    let base = ItemData::Contact(contact("Ada", "Berg", "ada@example.com"));
    let crm = ItemData::Contact(ContactData {
        job_title: Some("Broker".into()),
        ..contact("Ada", "Berg", "ada@example.com")
    });
    let mailbox = ItemData::Contact(ContactData {
        mobile_phone: Some("+46 70 123".into()),
        ..contact("Ada", "Berg", "ada@example.com")
    });
    let merged = merge3(&base, &crm, &mailbox);
    assert!(merged.conflicts.is_empty());
    let ItemData::Contact(c) = &merged.data else {
        panic!("a contact")
    };
    assert_eq!(c.job_title.as_deref(), Some("Broker"));
    assert_eq!(c.mobile_phone.as_deref(), Some("+46 70 123"));

    let crm = ItemData::Contact(contact("Ada", "Lind", "ada@example.com"));
    let mailbox = ItemData::Contact(contact("Ada", "Strand", "ada@example.com"));
    let merged = merge3(&base, &crm, &mailbox);
    assert_eq!(merged.conflicts.len(), 1);
    let conflict = &merged.conflicts[0];
    assert_eq!(conflict.field, "surname");
    assert_eq!(conflict.crm, "Lind");
    assert_eq!(conflict.mailbox, "Strand");
    assert_eq!(CONFLICT_WINNER, Side::Crm);
    assert_eq!(merged.data, crm);
    assert_eq!(
        changed_fields(&base, &mailbox)
            .into_iter()
            .collect::<Vec<_>>(),
        ["surname"]
    );
}

#[test]
fn a_field_cleared_on_one_side_stays_cleared() {
    let base = ItemData::Contact(ContactData {
        company: Some("Oakridge".into()),
        ..contact("Ada", "Berg", "ada@example.com")
    });
    let crm = ItemData::Contact(contact("Ada", "Berg", "ada@example.com"));
    let merged = merge3(&base, &crm, &base);
    assert_eq!(merged.data, crm);
    assert!(merged.conflicts.is_empty());
}

#[test]
fn first_connect_merge_fills_gaps_from_both_sides() {
    let crm = ItemData::Contact(ContactData {
        business_address: Some(Address {
            city: Some("Malmö".into()),
            ..Address::default()
        }),
        ..contact("Ada", "Berg", "ada@example.com")
    });
    let mailbox = ItemData::Contact(ContactData {
        mobile_phone: Some("+46 70 1".into()),
        surname: Some("Berg-Lind".into()),
        ..contact("Ada", "Berg", "ada@example.com")
    });
    let merged = merge2(&crm, &mailbox);
    let ItemData::Contact(c) = &merged.data else {
        panic!("a contact")
    };
    assert_eq!(c.mobile_phone.as_deref(), Some("+46 70 1"));
    assert_eq!(c.surname.as_deref(), Some("Berg"));
    assert!(c.business_address.is_some());
    assert_eq!(merged.conflicts.len(), 1);
}

#[test]
fn an_invalid_mix_keeps_the_winner_whole_and_reports_the_loser() {
    let base = ItemData::Event(event());
    // Each side's change is valid alone; together the event would end before it starts.
    let mut crm = event();
    crm.start = Utc.with_ymd_and_hms(2026, 12, 10, 9, 45, 0).unwrap();
    let mut mailbox = event();
    mailbox.end = Utc.with_ymd_and_hms(2026, 12, 10, 9, 30, 0).unwrap();
    let merged = merge3(
        &base,
        &ItemData::Event(crm.clone()),
        &ItemData::Event(mailbox),
    );
    assert_eq!(merged.data, ItemData::Event(crm).normalized());
    let fields: Vec<&str> = merged.conflicts.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["end", "start"]);
}

#[test]
fn match_keys_fold_case_and_spaces() {
    let a = ItemData::Contact(contact("Ada ", " BERG", "Ada@Example.com"));
    assert_eq!(a.match_name().as_deref(), Some("ada berg"));
    assert_eq!(a.match_emails(), ["ada@example.com"]);
    assert_eq!(ItemData::Contact(ContactData::default()).match_name(), None);
}

#[test]
fn stored_form_keeps_text_exact_and_drops_only_blank_values() {
    let exact = "  <b>&amp;</b> ]]>\tline\r\nnext\rlast \u{1F600}e\u{301}  ";
    let item = ItemData::Contact(ContactData {
        given_name: Some(exact.into()),
        notes: Some(exact.into()),
        company: Some(" \r\n\t ".into()),
        nickname: Some(String::new()),
        business_address: Some(Address {
            street: Some(exact.into()),
            city: Some("   ".into()),
            ..Address::default()
        }),
        home_address: Some(Address {
            city: Some("\r\n".into()),
            ..Address::default()
        }),
        categories: vec![exact.into(), " ".into()],
        ..contact("Ada", "Berg", " ada@example.com\t")
    });
    let ItemData::Contact(stored) = item.stored() else {
        panic!("a contact")
    };
    assert_eq!(stored.given_name.as_deref(), Some(exact));
    assert_eq!(stored.notes.as_deref(), Some(exact));
    assert_eq!((stored.company, stored.nickname), (None, None));
    let street = stored.business_address.and_then(|a| a.street);
    assert_eq!(street.as_deref(), Some(exact));
    assert_eq!(stored.home_address, None);
    assert_eq!(stored.categories, [exact]);
    assert_eq!(stored.emails, ["ada@example.com"]);
    // What a mailbox stores means the same as what was given.
    assert_eq!(item.stored().content_hash(), item.content_hash());
    assert_eq!(item.stored().normalized(), item.normalized());

    let event = ItemData::Event(EventData {
        subject: Some(exact.into()),
        body: Some(exact.into()),
        location: Some("\t".into()),
        ..event()
    });
    let ItemData::Event(stored) = event.stored() else {
        panic!("an event")
    };
    assert_eq!(stored.subject.as_deref(), Some(exact));
    assert_eq!(stored.body.as_deref(), Some(exact));
    assert_eq!(stored.location, None);
    assert_eq!(stored.time_zone.as_deref(), Some("UTC"));
}
