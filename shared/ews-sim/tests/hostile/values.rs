//! Hostile text and the sample items built from it, shared by the end-to-end tests of the
//! simulator and of the sync engine (which includes this file by path).

#![allow(dead_code)]

use chrono::{NaiveDate, TimeZone, Utc};
use mailbridge_mailbox::data::{Address, MAX_FIELD_CHARS};
use mailbridge_mailbox::{AttendeeData, ContactData, EventData, ItemData};

/// Markup that must stay text, the entity spelled out among it.
pub const MARKUP: &str = r#"< > & &amp; &lt;b&gt; ]]> <![CDATA[x]]> " ' <!-- c --> <?pi x?>"#;
/// An element a careless writer would let through as markup.
pub const INJECTED: &str = "</t:Subject><t:Body>x</t:Body>";
/// Every kind of line end, and tabs; XML readers turn a literal CR into LF.
pub const SPACING: &str = "\ttab\rCR\nLF\r\nCRLF\n\rLFCR\r\r\n\n";
/// Beyond the BMP (to U+10FFFF), combining marks, and characters some parsers treat as
/// white space or line ends.
pub const UNICODE: &str = "\u{1F600} \u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467} \u{1D11E} \u{10300} \
                       \u{20000} \u{10FFFD}\u{10FFFF} \u{E000}\u{FFFD} e\u{301} a\u{308}\u{323} \
                       Z\u{336} \u{200B}\u{FEFF}\u{2028}\u{85}";
/// A CRM id that is hostile too: it travels as an extended property and in a restriction.
pub const CRM_ID: &str = "crm:<&amp;>\"']]>\r\n\t\u{1F600} ";

/// A value with everything above, surrounded by spaces, `label` telling fields apart.
pub fn hostile(label: &str) -> String {
    format!("  {label} {MARKUP} {INJECTED}{SPACING}{UNICODE}  ")
}

/// `seed` repeated to exactly the longest text the data model accepts.
pub fn at_limit(seed: &str) -> String {
    seed.chars().cycle().take(MAX_FIELD_CHARS).collect()
}

pub fn address(label: &str) -> Address {
    Address {
        street: Some(hostile(&format!("{label} street"))),
        city: Some(INJECTED.into()),
        state: Some(format!("{SPACING}{label}")),
        postal_code: Some(" &amp; ".into()),
        country: Some(UNICODE.into()),
    }
}

pub fn contact() -> ItemData {
    ItemData::Contact(ContactData {
        given_name: Some(hostile("given")),
        middle_name: Some(INJECTED.into()),
        surname: Some(hostile("surname")),
        nickname: Some(SPACING.into()),
        display_name: Some(hostile("display")),
        company: Some(hostile("company")),
        department: Some("&amp;".into()),
        job_title: Some("]]>".into()),
        emails: vec![
            "o'brien&sons@example.com".into(),
            "first.last+tag@example.com".into(),
        ],
        business_phone: Some("+1 <555> & 0100\t".into()),
        mobile_phone: Some("\u{202D}+46 70 123\u{202C}".into()),
        home_phone: None,
        business_address: Some(address("business")),
        home_address: Some(address("home")),
        birthday: NaiveDate::from_ymd_opt(1984, 5, 17),
        notes: Some(at_limit(&hostile("notes"))),
        categories: vec![hostile("category"), "<&>".into()],
    })
}

/// Every text of [`contact`] changed to another hostile value.
pub fn edited_contact() -> ItemData {
    let ItemData::Contact(mut c) = contact() else {
        unreachable!()
    };
    c.given_name = Some(hostile("given, edited"));
    c.middle_name = Some(format!("\r{INJECTED}\rx"));
    c.surname = Some(format!("\r\n{MARKUP}"));
    c.display_name = Some(INJECTED.into());
    c.company = Some(format!(" {UNICODE} "));
    c.emails = vec!["x]]>y@example.com".into()];
    c.business_address = Some(address("moved"));
    c.home_address = None;
    c.notes = Some(hostile("notes, edited"));
    c.categories = vec![MARKUP.into()];
    ItemData::Contact(c)
}

pub fn event() -> ItemData {
    ItemData::Event(EventData {
        subject: Some(hostile("subject")),
        body: Some(at_limit(&hostile("body"))),
        location: Some(hostile("location")),
        start: Utc.with_ymd_and_hms(2027, 3, 4, 9, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2027, 3, 4, 10, 30, 0).unwrap(),
        all_day: false,
        time_zone: Some("W. Europe Standard Time".into()),
        show_as: Some("Tentative".into()),
        reminder_minutes: Some(30),
        attendees: vec![
            AttendeeData {
                email: "bo@fabrikam.example".into(),
                name: Some(hostile("attendee")),
                optional: false,
            },
            AttendeeData {
                email: "cy@fabrikam.example".into(),
                name: Some(INJECTED.into()),
                optional: true,
            },
        ],
        recurrence: None,
        categories: vec![hostile("category")],
    })
}

pub fn edited_event() -> ItemData {
    let ItemData::Event(mut e) = event() else {
        unreachable!()
    };
    e.subject = Some(INJECTED.into());
    e.location = Some(format!("\r{MARKUP}\r"));
    e.body = Some(hostile("body, edited"));
    e.attendees[0].name = Some(format!("{UNICODE}\r\n"));
    ItemData::Event(e)
}

/// Compares field by field, so that a failure names the field rather than printing two
/// 32 768-character values.
pub fn assert_same(what: &str, got: &ItemData, want: &ItemData) {
    let (got, want) = (
        serde_json::to_value(got).unwrap(),
        serde_json::to_value(want).unwrap(),
    );
    let (got, want) = (got.as_object().unwrap(), want.as_object().unwrap());
    for key in got.keys().chain(want.keys()) {
        let (g, w) = (got.get(key), want.get(key));
        if g != w {
            let show = |v: Option<&serde_json::Value>| {
                let text = v.map(ToString::to_string).unwrap_or_default();
                text.chars().take(300).collect::<String>()
            };
            panic!(
                "{what}: field {key} changed on the way\n  wrote: {}\n  read:  {}",
                show(w),
                show(g)
            );
        }
    }
}
