//! A recurring series synced both ways as a whole item, without echo.

#![allow(clippy::unwrap_used)]

mod common;
mod harness;

use common::*;

fn day(month: u32, day: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2027, month, day).unwrap()
}

/// Every Monday from 4 January 2027 to the end of March.
fn monday_series() -> EventData {
    use chrono::{TimeZone, Utc};
    use mailbridge_mailbox::{RecurrenceData, data::RecurrencePattern};
    EventData {
        subject: Some("Weekly viewing round".into()),
        body: Some("Keys at the office".into()),
        location: Some("Harbour Street 4".into()),
        start: Utc.with_ymd_and_hms(2027, 1, 4, 8, 0, 0).unwrap(),
        end: Utc.with_ymd_and_hms(2027, 1, 4, 9, 30, 0).unwrap(),
        all_day: false,
        time_zone: Some("W. Europe Standard Time".into()),
        show_as: Some("Busy".into()),
        reminder_minutes: Some(15),
        attendees: Vec::new(),
        recurrence: Some(RecurrenceData {
            pattern: RecurrencePattern::Weekly {
                interval: 1,
                days: vec!["Monday".into()],
            },
            start: day(1, 4),
            end: Some(day(3, 29)),
            count: None,
        }),
        categories: Vec::new(),
    }
}

fn sim_event(env: &harness::Env, id: &str) -> mailbridge_ews_sim::model::Event {
    match env
        .sim
        .world()
        .item(env.mailbox(), id)
        .unwrap()
        .content
        .data
    {
        SimData::Event(e) => e,
        other => panic!("{other:?}"),
    }
}

/// The owner renames the series in Outlook and ends it on 15 March.
fn owner_renames_and_ends_early(env: &harness::Env, id: &str) {
    use mailbridge_ews_sim::model::Range;
    env.sim
        .world()
        .owner_edit(env.mailbox(), id, |content| {
            let SimData::Event(e) = &mut content.data else {
                panic!()
            };
            e.subject = Some("Viewing round (spring)".into());
            if let Some(r) = &mut e.recurrence {
                r.range = Range::EndDate {
                    start: r.range.start(),
                    end: day(3, 15),
                };
            }
        })
        .unwrap();
}

#[tokio::test]
async fn a_recurring_series_round_trips_both_ways_without_echo() {
    use mailbridge_ews_sim::model::Range;
    use mailbridge_mailbox::{RecurrenceData, data::RecurrencePattern};

    let env = harness::start().await;
    let series = monday_series();
    env.crm_write(
        Folder::Calendar,
        "crm-series",
        Some(&ItemData::Event(series.clone())),
    )
    .await;

    // The CRM's series reaches the mailbox as one recurring item.
    let report = env.sync_folder(Folder::Calendar).await.unwrap();
    assert_eq!(report.mailbox_created, 1, "{report}");
    let items = env.items(Folder::Calendar);
    assert_eq!(items.len(), 1);
    let id = items[0].id.clone();
    let recurrence = sim_event(&env, &id)
        .recurrence
        .expect("a series, not a single event");
    assert_eq!(
        recurrence.range,
        Range::EndDate {
            start: day(1, 4),
            end: day(3, 29)
        }
    );
    env.assert_converged(Folder::Calendar).await;
    // Our own create comes back and is not taken for an edit.
    assert_quiet(&env, Folder::Calendar).await;
    assert_quiet(&env, Folder::Calendar).await;

    // The owner renames the series and ends it two weeks early: the CRM gets both.
    owner_renames_and_ends_early(&env, &id);
    let report = env.sync_folder(Folder::Calendar).await.unwrap();
    assert_eq!(
        (report.crm_updated, report.mailbox_updated),
        (1, 0),
        "{report}"
    );
    let record = event_record(&env, "crm-series").await;
    assert_eq!(record.subject.as_deref(), Some("Viewing round (spring)"));
    assert_eq!(
        record.recurrence.as_ref().and_then(|r| r.end),
        Some(day(3, 15))
    );
    assert_eq!(
        record.recurrence.as_ref().map(|r| &r.pattern),
        series.recurrence.as_ref().map(|r| &r.pattern)
    );
    env.assert_converged(Folder::Calendar).await;
    assert_quiet(&env, Folder::Calendar).await;

    // The CRM makes it fortnightly for ten occurrences: the mailbox gets it.
    let mut edited = record;
    edited.recurrence = Some(RecurrenceData {
        pattern: RecurrencePattern::Weekly {
            interval: 2,
            days: vec!["Monday".into()],
        },
        start: day(1, 4),
        end: None,
        count: Some(10),
    });
    env.crm_write(
        Folder::Calendar,
        "crm-series",
        Some(&ItemData::Event(edited)),
    )
    .await;
    let report = env.sync_folder(Folder::Calendar).await.unwrap();
    assert_eq!(
        (report.mailbox_updated, report.crm_updated),
        (1, 0),
        "{report}"
    );
    let e = sim_event(&env, &id);
    assert_eq!(e.subject.as_deref(), Some("Viewing round (spring)"));
    let recurrence = e.recurrence.expect("still a series");
    assert_eq!(
        recurrence.range,
        Range::Numbered {
            start: day(1, 4),
            count: 10
        }
    );
    assert!(
        matches!(
            recurrence.pattern,
            mailbridge_ews_sim::model::Pattern::Weekly { interval: 2, .. }
        ),
        "{:?}",
        recurrence.pattern
    );
    env.assert_converged(Folder::Calendar).await;
    assert_quiet(&env, Folder::Calendar).await;
    assert_eq!(env.items(Folder::Calendar).len(), 1, "still one item");
}
