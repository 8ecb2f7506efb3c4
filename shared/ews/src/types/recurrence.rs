//! Recurrence patterns and ranges of calendar series.

use std::io::BufRead;

use chrono::NaiveDate;

use super::common::string_enum;
use crate::error::EwsError;
use crate::xml::{XmlReader, XmlWriter};

string_enum! {
    /// A day, or a class of days, as recurrence patterns name them (`DayOfWeekType`).
    Weekday {
        /// Sunday.
        Sunday = "Sunday",
        /// Monday.
        Monday = "Monday",
        /// Tuesday.
        Tuesday = "Tuesday",
        /// Wednesday.
        Wednesday = "Wednesday",
        /// Thursday.
        Thursday = "Thursday",
        /// Friday.
        Friday = "Friday",
        /// Saturday.
        Saturday = "Saturday",
        /// Any day.
        Day = "Day",
        /// Any weekday.
        Weekday = "Weekday",
        /// Any weekend day.
        WeekendDay = "WeekendDay",
    }
}

string_enum! {
    /// Which of the month's matching days (`DayOfWeekIndexType`).
    DayOfWeekIndex {
        /// The first.
        First = "First",
        /// The second.
        Second = "Second",
        /// The third.
        Third = "Third",
        /// The fourth.
        Fourth = "Fourth",
        /// The last.
        Last = "Last",
    }
}

string_enum! {
    /// A month of the year.
    Month {
        /// January.
        January = "January",
        /// February.
        February = "February",
        /// March.
        March = "March",
        /// April.
        April = "April",
        /// May.
        May = "May",
        /// June.
        June = "June",
        /// July.
        July = "July",
        /// August.
        August = "August",
        /// September.
        September = "September",
        /// October.
        October = "October",
        /// November.
        November = "November",
        /// December.
        December = "December",
    }
}

/// A set of days for a weekly pattern.
pub type DaysOfWeek = Vec<Weekday>;

/// How often a series repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecurrencePattern {
    /// Every `interval` days.
    Daily {
        /// Days between occurrences.
        interval: u32,
    },
    /// Every `interval` weeks on the given days.
    Weekly {
        /// Weeks between occurrences.
        interval: u32,
        /// The days of the week.
        days: DaysOfWeek,
        /// The day a week starts on, when the series says.
        first_day_of_week: Option<Weekday>,
    },
    /// Every `interval` months on a day number.
    AbsoluteMonthly {
        /// Months between occurrences.
        interval: u32,
        /// Day of the month, 1 to 31.
        day_of_month: u32,
    },
    /// Every `interval` months on, say, the second Tuesday.
    RelativeMonthly {
        /// Months between occurrences.
        interval: u32,
        /// The day (or class of days).
        day: Weekday,
        /// Which one of them in the month.
        index: DayOfWeekIndex,
    },
    /// Every year on a date.
    AbsoluteYearly {
        /// Day of the month.
        day_of_month: u32,
        /// The month.
        month: Month,
    },
    /// Every year on, say, the last Friday of November.
    RelativeYearly {
        /// The day (or class of days).
        day: Weekday,
        /// Which one of them in the month.
        index: DayOfWeekIndex,
        /// The month.
        month: Month,
    },
}

/// When a series starts and ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecurrenceRange {
    /// Never ends.
    NoEnd {
        /// First day of the series.
        start: NaiveDate,
    },
    /// Ends on a date.
    EndDate {
        /// First day of the series.
        start: NaiveDate,
        /// Last possible day.
        end: NaiveDate,
    },
    /// Ends after a number of occurrences.
    Numbered {
        /// First day of the series.
        start: NaiveDate,
        /// How many occurrences.
        count: u32,
    },
}

/// A series' pattern and range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// How often.
    pub pattern: RecurrencePattern,
    /// From when until when.
    pub range: RecurrenceRange,
}

impl Recurrence {
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.open("t:Recurrence", &[]);
        match &self.pattern {
            RecurrencePattern::Daily { interval } => {
                w.open("t:DailyRecurrence", &[]);
                w.int_element("t:Interval", *interval, 1..=999);
                w.close("t:DailyRecurrence");
            }
            RecurrencePattern::Weekly {
                interval,
                days,
                first_day_of_week,
            } => {
                w.open("t:WeeklyRecurrence", &[]);
                w.int_element("t:Interval", *interval, 1..=999);
                let days: Vec<&str> = days.iter().map(|d| d.as_str()).collect();
                w.text_element("t:DaysOfWeek", &days.join(" "));
                w.opt_element("t:FirstDayOfWeek", first_day_of_week.map(Weekday::as_str));
                w.close("t:WeeklyRecurrence");
            }
            RecurrencePattern::AbsoluteMonthly {
                interval,
                day_of_month,
            } => {
                w.open("t:AbsoluteMonthlyRecurrence", &[]);
                w.int_element("t:Interval", *interval, 1..=999);
                w.int_element("t:DayOfMonth", *day_of_month, 1..=31);
                w.close("t:AbsoluteMonthlyRecurrence");
            }
            RecurrencePattern::RelativeMonthly {
                interval,
                day,
                index,
            } => {
                w.open("t:RelativeMonthlyRecurrence", &[]);
                w.int_element("t:Interval", *interval, 1..=999);
                w.text_element("t:DaysOfWeek", day.as_str());
                w.text_element("t:DayOfWeekIndex", index.as_str());
                w.close("t:RelativeMonthlyRecurrence");
            }
            RecurrencePattern::AbsoluteYearly {
                day_of_month,
                month,
            } => {
                w.open("t:AbsoluteYearlyRecurrence", &[]);
                w.int_element("t:DayOfMonth", *day_of_month, 1..=31);
                w.text_element("t:Month", month.as_str());
                w.close("t:AbsoluteYearlyRecurrence");
            }
            RecurrencePattern::RelativeYearly { day, index, month } => {
                w.open("t:RelativeYearlyRecurrence", &[]);
                w.text_element("t:DaysOfWeek", day.as_str());
                w.text_element("t:DayOfWeekIndex", index.as_str());
                w.text_element("t:Month", month.as_str());
                w.close("t:RelativeYearlyRecurrence");
            }
        }
        match &self.range {
            RecurrenceRange::NoEnd { start } => {
                w.open("t:NoEndRecurrence", &[]);
                w.date_element("t:StartDate", *start);
                w.close("t:NoEndRecurrence");
            }
            RecurrenceRange::EndDate { start, end } => {
                w.open("t:EndDateRecurrence", &[]);
                w.date_element("t:StartDate", *start);
                w.date_element("t:EndDate", *end);
                w.close("t:EndDateRecurrence");
            }
            RecurrenceRange::Numbered { start, count } => {
                w.open("t:NumberedRecurrence", &[]);
                w.date_element("t:StartDate", *start);
                w.int_element("t:NumberOfOccurrences", *count, 1..=999);
                w.close("t:NumberedRecurrence");
            }
        }
        w.close("t:Recurrence");
    }

    /// Reads the children of a `<Recurrence>` already entered. A pattern this crate does not
    /// model (the task regeneration patterns) gives `None`.
    pub(crate) fn read<R: BufRead>(r: &mut XmlReader<R>) -> Result<Option<Recurrence>, EwsError> {
        let mut pattern = None;
        let mut range = None;
        while let Some(child) = r.next_child()? {
            match child.name.as_str() {
                "NoEndRecurrence" | "EndDateRecurrence" | "NumberedRecurrence" => {
                    range = Some(read_range(&child.name, r)?);
                }
                name if name.ends_with("Recurrence") => pattern = read_pattern(name, r)?,
                _ => r.skip()?,
            }
        }
        Ok(pattern
            .zip(range)
            .map(|(pattern, range)| Recurrence { pattern, range }))
    }
}

#[derive(Default)]
struct PatternFields {
    interval: Option<u32>,
    days: Vec<Weekday>,
    first_day: Option<Weekday>,
    day_of_month: Option<u32>,
    index: Option<DayOfWeekIndex>,
    month: Option<Month>,
}

fn read_pattern<R: BufRead>(
    name: &str,
    r: &mut XmlReader<R>,
) -> Result<Option<RecurrencePattern>, EwsError> {
    let mut f = PatternFields::default();
    while let Some(child) = r.next_child()? {
        match child.name.as_str() {
            "Interval" => f.interval = Some(r.read_parsed("Interval", |s| s.parse().ok())?),
            "DayOfMonth" => f.day_of_month = Some(r.read_parsed("DayOfMonth", |s| s.parse().ok())?),
            "DaysOfWeek" => {
                f.days = r.read_parsed("DaysOfWeek", |s| {
                    s.split_whitespace().map(Weekday::parse).collect()
                })?;
            }
            "FirstDayOfWeek" => {
                f.first_day = Some(r.read_parsed("FirstDayOfWeek", Weekday::parse)?);
            }
            "DayOfWeekIndex" => {
                f.index = Some(r.read_parsed("DayOfWeekIndex", DayOfWeekIndex::parse)?);
            }
            "Month" => f.month = Some(r.read_parsed("Month", Month::parse)?),
            _ => r.skip()?,
        }
    }
    let missing = |what: &str| EwsError::malformed(format!("<{name}> lacks {what}"));
    let interval = f.interval.unwrap_or(1);
    let first_day = f.days.first().copied();
    Ok(Some(match name {
        "DailyRecurrence" => RecurrencePattern::Daily { interval },
        "WeeklyRecurrence" => RecurrencePattern::Weekly {
            interval,
            days: f.days,
            first_day_of_week: f.first_day,
        },
        "AbsoluteMonthlyRecurrence" => RecurrencePattern::AbsoluteMonthly {
            interval,
            day_of_month: f.day_of_month.ok_or_else(|| missing("DayOfMonth"))?,
        },
        "RelativeMonthlyRecurrence" => RecurrencePattern::RelativeMonthly {
            interval,
            day: first_day.ok_or_else(|| missing("DaysOfWeek"))?,
            index: f.index.ok_or_else(|| missing("DayOfWeekIndex"))?,
        },
        "AbsoluteYearlyRecurrence" => RecurrencePattern::AbsoluteYearly {
            day_of_month: f.day_of_month.ok_or_else(|| missing("DayOfMonth"))?,
            month: f.month.ok_or_else(|| missing("Month"))?,
        },
        "RelativeYearlyRecurrence" => RecurrencePattern::RelativeYearly {
            day: first_day.ok_or_else(|| missing("DaysOfWeek"))?,
            index: f.index.ok_or_else(|| missing("DayOfWeekIndex"))?,
            month: f.month.ok_or_else(|| missing("Month"))?,
        },
        _ => return Ok(None),
    }))
}

fn read_range<R: BufRead>(name: &str, r: &mut XmlReader<R>) -> Result<RecurrenceRange, EwsError> {
    let mut start = None;
    let mut end = None;
    let mut count = None;
    while let Some(child) = r.next_child()? {
        match child.name.as_str() {
            "StartDate" => start = Some(r.read_parsed("StartDate", parse_date)?),
            "EndDate" => end = Some(r.read_parsed("EndDate", parse_date)?),
            "NumberOfOccurrences" => {
                count = Some(r.read_parsed("NumberOfOccurrences", |s| s.parse().ok())?);
            }
            _ => r.skip()?,
        }
    }
    let missing = |what: &str| EwsError::malformed(format!("<{name}> lacks {what}"));
    let start = start.ok_or_else(|| missing("StartDate"))?;
    match name {
        "EndDateRecurrence" => Ok(RecurrenceRange::EndDate {
            start,
            end: end.ok_or_else(|| missing("EndDate"))?,
        }),
        "NumberedRecurrence" => Ok(RecurrenceRange::Numbered {
            start,
            count: count.ok_or_else(|| missing("NumberOfOccurrences"))?,
        }),
        _ => Ok(RecurrenceRange::NoEnd { start }),
    }
}

/// `xs:date` may carry a zone suffix (`2026-12-03Z`, `2026-12-03-08:00`); the date is what counts.
fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}
