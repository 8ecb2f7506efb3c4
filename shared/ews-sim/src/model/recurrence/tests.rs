//! Expansion of series, with their exceptions, tested on fixed dates.

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn series(pattern: Pattern, range: Range) -> Recurrence {
    Recurrence { pattern, range }
}

#[test]
fn weekly_series_visit_each_named_day_every_interval() {
    let r = series(
        Pattern::Weekly {
            interval: 2,
            days: vec![DayOfWeek::Monday, DayOfWeek::Thursday],
            first_day_of_week: None,
        },
        Range::Numbered {
            start: date(2026, 12, 3),
            count: 4,
        },
    );
    assert_eq!(
        r.dates_until(date(2027, 12, 31)),
        [
            date(2026, 12, 3),
            date(2026, 12, 14),
            date(2026, 12, 17),
            date(2026, 12, 28)
        ]
    );
}

#[test]
fn monthly_day_31_falls_on_the_last_day_of_short_months() {
    let r = series(
        Pattern::AbsoluteMonthly {
            interval: 1,
            day_of_month: 31,
        },
        Range::EndDate {
            start: date(2027, 1, 1),
            end: date(2027, 4, 30),
        },
    );
    assert_eq!(
        r.dates_until(date(2030, 1, 1)),
        [
            date(2027, 1, 31),
            date(2027, 2, 28),
            date(2027, 3, 31),
            date(2027, 4, 30)
        ]
    );
}

#[test]
fn relative_patterns_pick_the_nth_or_last_matching_day() {
    let last_friday = series(
        Pattern::RelativeMonthly {
            interval: 1,
            day: DayOfWeek::Friday,
            index: WeekIndex::Last,
        },
        Range::Numbered {
            start: date(2026, 12, 1),
            count: 2,
        },
    );
    assert_eq!(
        last_friday.dates_until(date(2028, 1, 1)),
        [date(2026, 12, 25), date(2027, 1, 29)]
    );
    let thanksgiving = series(
        Pattern::RelativeYearly {
            month: 11,
            day: DayOfWeek::Thursday,
            index: WeekIndex::Fourth,
        },
        Range::NoEnd {
            start: date(2026, 1, 1),
        },
    );
    assert_eq!(
        thanksgiving.dates_until(date(2027, 12, 31)),
        [date(2026, 11, 26), date(2027, 11, 25)]
    );
    let second_weekday = series(
        Pattern::RelativeMonthly {
            interval: 1,
            day: DayOfWeek::Weekday,
            index: WeekIndex::Second,
        },
        Range::Numbered {
            start: date(2027, 5, 1),
            count: 1,
        },
    );
    assert_eq!(
        second_weekday.dates_until(date(2028, 1, 1)),
        [date(2027, 5, 4)]
    );
}

#[test]
fn invalid_recurrences_are_named() {
    let r = series(
        Pattern::Daily { interval: 0 },
        Range::NoEnd {
            start: date(2027, 1, 1),
        },
    );
    assert!(r.validate().unwrap_err().0.contains("interval"));
    let r = series(
        Pattern::Daily { interval: 1 },
        Range::EndDate {
            start: date(2027, 1, 2),
            end: date(2027, 1, 1),
        },
    );
    assert!(r.validate().is_err());
}

#[test]
fn expansion_applies_changed_and_deleted_occurrences() {
    let at = |d: u32, h: u32| date(2027, 3, d).and_hms_opt(h, 0, 0).unwrap().and_utc();
    let mut event = Event::new("stand-up", at(1, 9), at(1, 10));
    event.recurrence = Some(series(
        Pattern::Daily { interval: 1 },
        Range::Numbered {
            start: date(2027, 3, 1),
            count: 5,
        },
    ));
    event.deleted.push(at(2, 9));
    event.modified.push(OccurrenceChange {
        original_start: at(3, 9),
        start: at(5, 15),
        end: at(5, 16),
        subject: Some("moved".into()),
        location: None,
    });
    let view = expand(&event, at(1, 0), at(6, 0));
    let starts: Vec<_> = view.iter().map(|e| (e.kind, e.start)).collect();
    assert_eq!(
        starts,
        [
            (EntryKind::Occurrence, at(1, 9)),
            (EntryKind::Occurrence, at(4, 9)),
            (EntryKind::Occurrence, at(5, 9)),
            (EntryKind::Exception, at(5, 15)),
        ]
    );
    // A view of only the 5th still finds the occurrence moved there from the 3rd.
    assert_eq!(expand(&event, at(5, 12), at(6, 0)).len(), 1);
    assert!(expand(&event, at(6, 0), at(7, 0)).is_empty());
}
