//! Recurring series: patterns, ranges, and their expansion into occurrences.
//!
//! Occurrences keep the series' first start time of day in UTC.
//! LIMIT: no daylight-saving shift across a series; the simulator keeps times in UTC.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};

use super::item::{Event, OccurrenceChange};

/// A day (or class of days) a pattern names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum DayOfWeek {
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    /// Any day.
    Day,
    /// Monday to Friday.
    Weekday,
    /// Saturday or Sunday.
    WeekendDay,
}

impl DayOfWeek {
    /// The protocol name.
    pub fn as_str(self) -> &'static str {
        match self {
            DayOfWeek::Sunday => "Sunday",
            DayOfWeek::Monday => "Monday",
            DayOfWeek::Tuesday => "Tuesday",
            DayOfWeek::Wednesday => "Wednesday",
            DayOfWeek::Thursday => "Thursday",
            DayOfWeek::Friday => "Friday",
            DayOfWeek::Saturday => "Saturday",
            DayOfWeek::Day => "Day",
            DayOfWeek::Weekday => "Weekday",
            DayOfWeek::WeekendDay => "WeekendDay",
        }
    }

    /// Parses a protocol name.
    pub fn parse(text: &str) -> Option<DayOfWeek> {
        ALL_DAYS.iter().copied().find(|d| d.as_str() == text)
    }

    fn matches(self, day: Weekday) -> bool {
        let weekend = matches!(day, Weekday::Sat | Weekday::Sun);
        match self {
            DayOfWeek::Day => true,
            DayOfWeek::Weekday => !weekend,
            DayOfWeek::WeekendDay => weekend,
            single => single.weekday() == Some(day),
        }
    }

    fn weekday(self) -> Option<Weekday> {
        Some(match self {
            DayOfWeek::Sunday => Weekday::Sun,
            DayOfWeek::Monday => Weekday::Mon,
            DayOfWeek::Tuesday => Weekday::Tue,
            DayOfWeek::Wednesday => Weekday::Wed,
            DayOfWeek::Thursday => Weekday::Thu,
            DayOfWeek::Friday => Weekday::Fri,
            DayOfWeek::Saturday => Weekday::Sat,
            _ => return None,
        })
    }
}

const ALL_DAYS: [DayOfWeek; 10] = [
    DayOfWeek::Sunday,
    DayOfWeek::Monday,
    DayOfWeek::Tuesday,
    DayOfWeek::Wednesday,
    DayOfWeek::Thursday,
    DayOfWeek::Friday,
    DayOfWeek::Saturday,
    DayOfWeek::Day,
    DayOfWeek::Weekday,
    DayOfWeek::WeekendDay,
];

/// Which matching day of the month a relative pattern means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum WeekIndex {
    First,
    Second,
    Third,
    Fourth,
    Last,
}

impl WeekIndex {
    /// The protocol name.
    pub fn as_str(self) -> &'static str {
        match self {
            WeekIndex::First => "First",
            WeekIndex::Second => "Second",
            WeekIndex::Third => "Third",
            WeekIndex::Fourth => "Fourth",
            WeekIndex::Last => "Last",
        }
    }

    /// Parses a protocol name.
    pub fn parse(text: &str) -> Option<WeekIndex> {
        [
            WeekIndex::First,
            WeekIndex::Second,
            WeekIndex::Third,
            WeekIndex::Fourth,
            WeekIndex::Last,
        ]
        .into_iter()
        .find(|i| i.as_str() == text)
    }
}

/// How often a series repeats. Months are 1 to 12.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Pattern {
    Daily {
        interval: u32,
    },
    Weekly {
        interval: u32,
        days: Vec<DayOfWeek>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first_day_of_week: Option<DayOfWeek>,
    },
    AbsoluteMonthly {
        interval: u32,
        day_of_month: u32,
    },
    RelativeMonthly {
        interval: u32,
        day: DayOfWeek,
        index: WeekIndex,
    },
    AbsoluteYearly {
        month: u32,
        day_of_month: u32,
    },
    RelativeYearly {
        month: u32,
        day: DayOfWeek,
        index: WeekIndex,
    },
}

/// Where a series starts and stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Range {
    NoEnd { start: NaiveDate },
    EndDate { start: NaiveDate, end: NaiveDate },
    Numbered { start: NaiveDate, count: u32 },
}

impl Range {
    /// The first date of the range.
    pub fn start(&self) -> NaiveDate {
        match self {
            Range::NoEnd { start }
            | Range::EndDate { start, .. }
            | Range::Numbered { start, .. } => *start,
        }
    }
}

/// A series' pattern and range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurrence {
    /// How often.
    pub pattern: Pattern,
    /// From when to when.
    pub range: Range,
}

/// Why a recurrence cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidRecurrence(pub String);

/// Occurrences a series may hold, as Exchange bounds them.
pub const MAX_OCCURRENCES: u32 = 999;

impl Recurrence {
    /// Checks the values Exchange would refuse.
    pub fn validate(&self) -> Result<(), InvalidRecurrence> {
        let bad = |why: &str| Err(InvalidRecurrence(why.to_owned()));
        let interval = match &self.pattern {
            Pattern::Daily { interval }
            | Pattern::Weekly { interval, .. }
            | Pattern::AbsoluteMonthly { interval, .. }
            | Pattern::RelativeMonthly { interval, .. } => *interval,
            Pattern::AbsoluteYearly { .. } | Pattern::RelativeYearly { .. } => 1,
        };
        if !(1..=999).contains(&interval) {
            return bad("the interval must be 1 to 999");
        }
        match &self.pattern {
            Pattern::Weekly { days, .. } if days.is_empty() => {
                return bad("a weekly pattern needs at least one day");
            }
            Pattern::AbsoluteMonthly { day_of_month, .. } if !(1..=31).contains(day_of_month) => {
                return bad("the day of the month must be 1 to 31");
            }
            Pattern::AbsoluteYearly {
                month,
                day_of_month,
            } if !(1..=12).contains(month) || !(1..=31).contains(day_of_month) => {
                return bad("a yearly pattern needs a month 1 to 12 and a day 1 to 31");
            }
            Pattern::RelativeYearly { month, .. } if !(1..=12).contains(month) => {
                return bad("a yearly pattern needs a month 1 to 12");
            }
            _ => {}
        }
        match &self.range {
            Range::EndDate { start, end } if end < start => bad("the series ends before it starts"),
            Range::Numbered { count, .. } if !(1..=MAX_OCCURRENCES).contains(count) => {
                bad("the number of occurrences must be 1 to 999")
            }
            _ => Ok(()),
        }
    }

    /// The dates of the series, in order, from its start up to and including `until`.
    /// An invalid series has no dates.
    pub fn dates_until(&self, until: NaiveDate) -> Vec<NaiveDate> {
        if self.validate().is_err() {
            return Vec::new();
        }
        let start = self.range.start();
        let (last, count) = match &self.range {
            Range::NoEnd { .. } => (until, u32::MAX),
            Range::EndDate { end, .. } => ((*end).min(until), u32::MAX),
            Range::Numbered { count, .. } => (until, *count),
        };
        let mut out = Vec::new();
        let mut push = |date: NaiveDate| {
            if date >= start && date <= last && out.len() < count as usize {
                out.push(date);
                true
            } else {
                date <= last && out.len() < count as usize
            }
        };
        match &self.pattern {
            Pattern::Daily { interval } => {
                let mut date = start;
                while push(date) {
                    date += Duration::days(i64::from(*interval));
                }
            }
            Pattern::Weekly {
                interval,
                days,
                first_day_of_week,
            } => {
                let week_start = first_day_of_week
                    .and_then(DayOfWeek::weekday)
                    .unwrap_or(Weekday::Sun);
                let back = i64::from(start.weekday().days_since(week_start));
                let mut week = start - Duration::days(back);
                'weeks: loop {
                    for offset in 0..7 {
                        let date = week + Duration::days(offset);
                        if days.iter().any(|d| d.matches(date.weekday())) && !push(date) {
                            break 'weeks;
                        }
                    }
                    week += Duration::weeks(i64::from(*interval));
                }
            }
            Pattern::AbsoluteMonthly {
                interval,
                day_of_month,
            } => each_month(start, *interval, last, &mut |y, m| {
                push(clamped_day(y, m, *day_of_month))
            }),
            Pattern::RelativeMonthly {
                interval,
                day,
                index,
            } => each_month(start, *interval, last, &mut |y, m| {
                push(relative_day(y, m, *day, *index))
            }),
            Pattern::AbsoluteYearly {
                month,
                day_of_month,
            } => each_year(start, last, &mut |y| {
                push(clamped_day(y, *month, *day_of_month))
            }),
            Pattern::RelativeYearly { month, day, index } => {
                each_year(start, last, &mut |y| {
                    push(relative_day(y, *month, *day, *index))
                });
            }
        }
        out
    }
}

// Both walks also stop past `last`, so an unvalidated month can never loop forever.
fn each_month(
    start: NaiveDate,
    interval: u32,
    last: NaiveDate,
    visit: &mut dyn FnMut(i32, u32) -> bool,
) {
    let (mut year, mut month) = (start.year(), start.month());
    while year <= last.year() && visit(year, month) {
        month += interval;
        while month > 12 {
            month -= 12;
            year += 1;
        }
    }
}

fn each_year(start: NaiveDate, last: NaiveDate, visit: &mut dyn FnMut(i32) -> bool) {
    let mut year = start.year();
    while year <= last.year() && visit(year) {
        year += 1;
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).map_or(28, |d| d.day())
}

/// Day 31 in a 30-day month means its last day, as Outlook does it.
fn clamped_day(year: i32, month: u32, day: u32) -> NaiveDate {
    let day = day.min(days_in_month(year, month));
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or(NaiveDate::MIN)
}

fn relative_day(year: i32, month: u32, day: DayOfWeek, index: WeekIndex) -> NaiveDate {
    let matching: Vec<NaiveDate> = (1..=days_in_month(year, month))
        .filter_map(|d| NaiveDate::from_ymd_opt(year, month, d))
        .filter(|d| day.matches(d.weekday()))
        .collect();
    let pick = match index {
        WeekIndex::First => matching.first(),
        WeekIndex::Second => matching.get(1),
        WeekIndex::Third => matching.get(2),
        WeekIndex::Fourth => matching.get(3),
        WeekIndex::Last => matching.last(),
    };
    pick.copied().unwrap_or(NaiveDate::MIN)
}

/// What kind of calendar entry a view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryKind {
    /// A single event.
    Single,
    /// An unchanged occurrence of a series.
    Occurrence,
    /// A changed occurrence of a series.
    Exception,
}

/// One entry of a calendar view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What kind.
    pub kind: EntryKind,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// For occurrences and exceptions: where it would have started.
    pub original_start: Option<DateTime<Utc>>,
    /// For exceptions: what changed.
    pub change: Option<OccurrenceChange>,
}

/// Every original start of a series (occurrences, changed or not, but not deleted) up to
/// `until`.
pub fn original_starts(event: &Event, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut starts = pattern_starts(event, until);
    starts.retain(|s| !event.deleted.contains(s));
    starts
}

/// Every start the pattern gives up to `until`, deleted occurrences included: what an
/// `OccurrenceItemId`'s `InstanceIndex` counts, so that naming a deleted occurrence by its
/// index is `ErrorCalendarOccurrenceIsDeletedFromRecurrence`, not the next occurrence.
pub fn pattern_starts(event: &Event, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let Some(recurrence) = &event.recurrence else {
        return vec![event.start];
    };
    let time = event.start.time();
    recurrence
        .dates_until(until.date_naive())
        .into_iter()
        .map(|d| d.and_time(time).and_utc())
        .collect()
}

/// The entries of `event` that overlap `[start, end)`, in start order.
pub fn expand(event: &Event, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Entry> {
    let overlaps = |s: DateTime<Utc>, e: DateTime<Utc>| s < end && (e > start || s >= start);
    if event.recurrence.is_none() {
        return if overlaps(event.start, event.end) {
            vec![Entry {
                kind: EntryKind::Single,
                start: event.start,
                end: event.end,
                original_start: None,
                change: None,
            }]
        } else {
            Vec::new()
        };
    }
    let duration = event.end - event.start;
    // A changed occurrence may have moved far from its original slot, so look past the view.
    let moved_ahead = event
        .modified
        .iter()
        .map(|m| m.original_start - m.start)
        .max()
        .unwrap_or_default()
        .max(Duration::zero());
    let mut entries: Vec<Entry> = original_starts(event, end + moved_ahead + duration)
        .into_iter()
        .map(
            |original| match event.modified.iter().find(|m| m.original_start == original) {
                Some(change) => Entry {
                    kind: EntryKind::Exception,
                    start: change.start,
                    end: change.end,
                    original_start: Some(original),
                    change: Some(change.clone()),
                },
                None => Entry {
                    kind: EntryKind::Occurrence,
                    start: original,
                    end: original + duration,
                    original_start: Some(original),
                    change: None,
                },
            },
        )
        .filter(|e| overlaps(e.start, e.end))
        .collect();
    entries.sort_by_key(|e| e.start);
    entries
}

#[cfg(test)]
mod tests;
