//! `t:Recurrence` in both directions: a pattern element and a range element.

use super::item_in::date_of;
use super::soap::Fault;
use super::xml::{Node, Ns, XmlOut};
use crate::model::{DayOfWeek, Pattern, Range, Recurrence, WeekIndex};

/// Month names, January first.
pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn invalid(why: &str) -> Fault {
    Fault::new(
        "ErrorCalendarInvalidRecurrence",
        format!("The recurrence pattern is invalid: {why}"),
    )
}

/// The children of one pattern or range element.
struct Part<'a>(&'a Node);

impl Part<'_> {
    fn required(&self, name: &str) -> Result<&Node, Fault> {
        self.0
            .child(Ns::Types, name)
            .ok_or_else(|| Fault::schema(format!("{} lacks {name}", self.0.name)))
    }

    fn interval(&self) -> Result<u32, Fault> {
        self.0
            .child(Ns::Types, "Interval")
            .map_or(Ok(1), |i| int_in(i, 1..=999))
    }

    fn days(&self) -> Result<Vec<DayOfWeek>, Fault> {
        let text = self.required("DaysOfWeek")?.value();
        let days: Option<Vec<DayOfWeek>> = text.split_whitespace().map(DayOfWeek::parse).collect();
        days.filter(|d| !d.is_empty())
            .ok_or_else(|| Fault::schema(format!("DaysOfWeek {text:?} is not valid")))
    }

    fn day(&self) -> Result<DayOfWeek, Fault> {
        Ok(self.days()?[0])
    }

    fn index(&self) -> Result<WeekIndex, Fault> {
        let v = self.required("DayOfWeekIndex")?.value();
        WeekIndex::parse(v)
            .ok_or_else(|| Fault::schema(format!("DayOfWeekIndex {v:?} is not valid")))
    }

    fn month(&self) -> Result<u32, Fault> {
        let v = self.required("Month")?.value();
        MONTHS
            .iter()
            .position(|m| *m == v)
            .and_then(|i| u32::try_from(i + 1).ok())
            .ok_or_else(|| Fault::schema(format!("Month {v:?} is not valid")))
    }

    fn day_of_month(&self) -> Result<u32, Fault> {
        int_in(self.required("DayOfMonth")?, 1..=31)
    }

    fn start(&self) -> Result<chrono::NaiveDate, Fault> {
        date_of(self.required("StartDate")?)
    }
}

fn read_pattern(part: &Part<'_>) -> Result<Option<Pattern>, Fault> {
    Ok(Some(match part.0.name.as_str() {
        "DailyRecurrence" => Pattern::Daily {
            interval: part.interval()?,
        },
        "WeeklyRecurrence" => Pattern::Weekly {
            interval: part.interval()?,
            days: part.days()?,
            first_day_of_week: part
                .0
                .child(Ns::Types, "FirstDayOfWeek")
                .and_then(|d| DayOfWeek::parse(d.value())),
        },
        "AbsoluteMonthlyRecurrence" => Pattern::AbsoluteMonthly {
            interval: part.interval()?,
            day_of_month: part.day_of_month()?,
        },
        "RelativeMonthlyRecurrence" => Pattern::RelativeMonthly {
            interval: part.interval()?,
            day: part.day()?,
            index: part.index()?,
        },
        "AbsoluteYearlyRecurrence" => Pattern::AbsoluteYearly {
            month: part.month()?,
            day_of_month: part.day_of_month()?,
        },
        "RelativeYearlyRecurrence" => Pattern::RelativeYearly {
            month: part.month()?,
            day: part.day()?,
            index: part.index()?,
        },
        _ => return Ok(None),
    }))
}

fn read_range(part: &Part<'_>) -> Result<Option<Range>, Fault> {
    Ok(Some(match part.0.name.as_str() {
        "NoEndRecurrence" => Range::NoEnd {
            start: part.start()?,
        },
        "EndDateRecurrence" => Range::EndDate {
            start: part.start()?,
            end: date_of(part.required("EndDate")?)?,
        },
        "NumberedRecurrence" => Range::Numbered {
            start: part.start()?,
            count: int_in(part.required("NumberOfOccurrences")?, 1..=999)?,
        },
        _ => return Ok(None),
    }))
}

/// Reads a `t:Recurrence`; an impossible series is `ErrorCalendarInvalidRecurrence`.
pub fn read(node: &Node) -> Result<Recurrence, Fault> {
    let mut pattern = None;
    let mut range = None;
    for child in &node.children {
        let part = Part(child);
        if let Some(p) = read_pattern(&part)? {
            pattern = Some(p);
        } else if let Some(r) = read_range(&part)? {
            range = Some(r);
        } else {
            return Err(invalid(&format!(
                "{} is not a calendar pattern or range",
                child.name
            )));
        }
    }
    let recurrence = Recurrence {
        pattern: pattern.ok_or_else(|| invalid("no pattern"))?,
        range: range.ok_or_else(|| invalid("no range"))?,
    };
    recurrence.validate().map_err(|e| invalid(&e.0))?;
    Ok(recurrence)
}

/// A count the schema types as `xs:int`: text that is no integer fails schema validation,
/// while an integer out of `range` is a valid request for an impossible series, which
/// Exchange refuses with `ErrorCalendarInvalidRecurrence`.
fn int_in(node: &Node, range: std::ops::RangeInclusive<u32>) -> Result<u32, Fault> {
    let value = node.value().trim();
    let Ok(number) = value.parse::<i64>() else {
        return Err(Fault::schema(format!(
            "{} {value:?} is not an xs:int",
            node.name
        )));
    };
    u32::try_from(number)
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            invalid(&format!(
                "{} {number} is not from {} to {}",
                node.name,
                range.start(),
                range.end()
            ))
        })
}

fn month_name(month: u32) -> &'static str {
    MONTHS
        .get(month.wrapping_sub(1) as usize)
        .copied()
        .unwrap_or("January")
}

fn write_pattern(w: &mut XmlOut, pattern: &Pattern) {
    let (element, interval) = match pattern {
        Pattern::RelativeYearly { .. } => ("t:RelativeYearlyRecurrence", None),
        Pattern::AbsoluteYearly { .. } => ("t:AbsoluteYearlyRecurrence", None),
        Pattern::RelativeMonthly { interval, .. } => {
            ("t:RelativeMonthlyRecurrence", Some(interval))
        }
        Pattern::AbsoluteMonthly { interval, .. } => {
            ("t:AbsoluteMonthlyRecurrence", Some(interval))
        }
        Pattern::Weekly { interval, .. } => ("t:WeeklyRecurrence", Some(interval)),
        Pattern::Daily { interval } => ("t:DailyRecurrence", Some(interval)),
    };
    w.open(element, &[]);
    if let Some(interval) = interval {
        w.leaf("t:Interval", &interval.to_string());
    }
    match pattern {
        Pattern::RelativeYearly { month, day, index } => {
            w.leaf("t:DaysOfWeek", day.as_str());
            w.leaf("t:DayOfWeekIndex", index.as_str());
            w.leaf("t:Month", month_name(*month));
        }
        Pattern::AbsoluteYearly {
            month,
            day_of_month,
        } => {
            w.leaf("t:DayOfMonth", &day_of_month.to_string());
            w.leaf("t:Month", month_name(*month));
        }
        Pattern::RelativeMonthly { day, index, .. } => {
            w.leaf("t:DaysOfWeek", day.as_str());
            w.leaf("t:DayOfWeekIndex", index.as_str());
        }
        Pattern::AbsoluteMonthly { day_of_month, .. } => {
            w.leaf("t:DayOfMonth", &day_of_month.to_string());
        }
        Pattern::Weekly {
            days,
            first_day_of_week,
            ..
        } => {
            let days: Vec<&str> = days.iter().map(|d| d.as_str()).collect();
            w.leaf("t:DaysOfWeek", &days.join(" "));
            w.opt_leaf("t:FirstDayOfWeek", first_day_of_week.map(DayOfWeek::as_str));
        }
        Pattern::Daily { .. } => {}
    }
    w.close(element);
}

/// Writes a `t:Recurrence` element.
pub fn write(w: &mut XmlOut, r: &Recurrence) {
    w.open("t:Recurrence", &[]);
    write_pattern(w, &r.pattern);
    let date = |d: &chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let (element, start) = match &r.range {
        Range::NoEnd { start } => ("t:NoEndRecurrence", start),
        Range::EndDate { start, .. } => ("t:EndDateRecurrence", start),
        Range::Numbered { start, .. } => ("t:NumberedRecurrence", start),
    };
    w.open(element, &[]);
    w.leaf("t:StartDate", &date(start));
    match &r.range {
        Range::EndDate { end, .. } => w.leaf("t:EndDate", &date(end)),
        Range::Numbered { count, .. } => w.leaf("t:NumberOfOccurrences", &count.to_string()),
        Range::NoEnd { .. } => {}
    }
    w.close(element);
    w.close("t:Recurrence");
}
