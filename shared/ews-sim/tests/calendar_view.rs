//! Calendar views through our EWS client against the simulator: series expanded with
//! their changed and deleted occurrences.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod harness;

use harness::{at, id_of};

use chrono::{NaiveDate, Utc};
use mailbridge_ews::ops::{CreateItem, FindItem, GetItem, View};
use mailbridge_ews::types::{
    CalendarItem, CalendarItemType, DistinguishedFolder, Item, ItemShape, Mailbox, Recurrence,
    RecurrencePattern, RecurrenceRange,
};
use mailbridge_ews_sim::model::{self, ItemData};

#[tokio::test]
async fn calendar_views_expand_series_with_their_changed_and_deleted_occurrences() {
    let env = harness::start().await;
    let series = CalendarItem {
        subject: Some("Stand-up".into()),
        start: Some(at(1, 9)),
        end: Some(at(1, 10)),
        location: Some("Room 4".into()),
        recurrence: Some(Recurrence {
            pattern: RecurrencePattern::Daily { interval: 1 },
            range: RecurrenceRange::Numbered {
                start: NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
                count: 5,
            },
        }),
        ..CalendarItem::default()
    };
    let single = CalendarItem {
        subject: Some("Viewing".into()),
        start: Some(at(3, 14)),
        end: Some(at(3, 15)),
        required_attendees: vec![mailbridge_ews::types::Attendee::new(Mailbox::new(
            "buyer@buyers.example",
        ))],
        ..CalendarItem::default()
    };
    let mut create = CreateItem::save_in(
        DistinguishedFolder::Calendar,
        vec![
            Item::CalendarItem(Box::new(series)),
            Item::CalendarItem(Box::new(single)),
        ],
    );
    create.send_meeting_invitations =
        Some(mailbridge_ews::ops::SendMeetingInvitations::SendToAllAndSaveCopy);
    let created = env.ews.execute(env.mailbox(), &create).await.unwrap();
    let master = id_of(&created[0]);

    // The owner moves the third occurrence and cancels the second.
    let world = env.sim.world();
    world
        .owner_edit(env.mailbox(), &master.id, |c| {
            if let ItemData::Event(e) = &mut c.data {
                e.deleted.push(at(2, 9));
                e.modified.push(model::OccurrenceChange {
                    original_start: at(3, 9),
                    start: at(3, 16),
                    end: at(3, 17),
                    subject: Some("Stand-up (late)".into()),
                    location: None,
                });
            }
        })
        .unwrap();

    let view = FindItem {
        folder: DistinguishedFolder::Calendar.into(),
        shape: ItemShape::full_with_crm_id(),
        view: View::Calendar {
            start: at(1, 0),
            end: at(6, 0),
            max_entries: None,
        },
        restriction: None,
    };
    let page = env.ews.execute(env.mailbox(), &view).await.unwrap();
    let entries: Vec<(Option<CalendarItemType>, String, chrono::DateTime<Utc>)> = page
        .items
        .iter()
        .map(|i| match i {
            Item::CalendarItem(c) => (
                c.item_type,
                c.subject.clone().unwrap_or_default(),
                c.start.unwrap(),
            ),
            other => panic!("calendar items only: {other:?}"),
        })
        .collect();
    assert_eq!(
        entries,
        [
            (
                Some(CalendarItemType::Occurrence),
                "Stand-up".into(),
                at(1, 9)
            ),
            (Some(CalendarItemType::Single), "Viewing".into(), at(3, 14)),
            (
                Some(CalendarItemType::Exception),
                "Stand-up (late)".into(),
                at(3, 16)
            ),
            (
                Some(CalendarItemType::Occurrence),
                "Stand-up".into(),
                at(4, 9)
            ),
            (
                Some(CalendarItemType::Occurrence),
                "Stand-up".into(),
                at(5, 9)
            ),
        ]
    );
    assert!(page.includes_last_item_in_range);

    // An occurrence id reads back as that occurrence.
    let occurrence = page.items[3].id().unwrap().clone();
    let got = env
        .ews
        .execute(env.mailbox(), &GetItem::full(vec![occurrence]))
        .await
        .unwrap();
    let Ok(Item::CalendarItem(c)) = &got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(
        (c.start, c.item_type),
        (Some(at(4, 9)), Some(CalendarItemType::Occurrence))
    );

    // The master carries its pattern and exceptions.
    let got = env
        .ews
        .execute(env.mailbox(), &GetItem::full(vec![master]))
        .await
        .unwrap();
    let Ok(Item::CalendarItem(m)) = &got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(m.item_type, Some(CalendarItemType::RecurringMaster));
    assert!(m.recurrence.is_some());
    assert_eq!(m.modified_occurrences.len(), 1);
    assert_eq!(m.deleted_occurrences.len(), 1);

    // The meeting's invitation went out.
    let outbox = world.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].kind, "meeting_request");
    assert_eq!(outbox[0].message.to[0].address, "buyer@buyers.example");

    // A view of a limited size says there is more.
    let limited = FindItem {
        view: View::Calendar {
            start: at(1, 0),
            end: at(6, 0),
            max_entries: Some(2),
        },
        ..view
    };
    let page = env.ews.execute(env.mailbox(), &limited).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(!page.includes_last_item_in_range);
    assert_eq!(page.total_items_in_view, Some(5));
}
