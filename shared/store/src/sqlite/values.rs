//! Moving values between Rust and `SQLite` columns.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StoreError;
use crate::model::Page;
use crate::state::StoreResult;

/// A count or version as `SQLite`'s signed integer.
pub(super) fn int(value: u64, field: &'static str) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::Invalid {
        field,
        reason: format!("{value} is larger than the store can hold"),
    })
}

/// A stored integer that must not be negative.
pub(super) fn uint(value: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        detail: format!("{what} holds a negative number"),
    })
}

/// A stored counter that must fit a `u32`.
pub(super) fn small(value: i64, what: &str) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt {
        detail: format!("{what} is out of range"),
    })
}

/// Times are stored as RFC 3339 text with nanoseconds, so they read back exactly.
pub(super) fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(super) fn time(text: &str, what: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt {
            detail: format!("{what} holds an unreadable time"),
        })
}

/// `now + ttl`, refused when the sum is beyond the calendar.
pub(super) fn later(now: DateTime<Utc>, ttl: Duration) -> StoreResult<DateTime<Utc>> {
    chrono::TimeDelta::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .ok_or_else(|| StoreError::Invalid {
            field: "ttl",
            reason: "is too long".to_owned(),
        })
}

pub(super) fn encode<T: Serialize>(value: &T, field: &'static str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|_| StoreError::Invalid {
        field,
        reason: "cannot be written as JSON".to_owned(),
    })
}

/// Reads a stored document; the error names the place, never the content.
pub(super) fn decode<T: DeserializeOwned>(doc: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
        detail: format!(
            "{what}: undecodable document (line {}, column {})",
            e.line(),
            e.column()
        ),
    })
}

/// A caller's `limit` as a SQL row count; zero is refused.
pub(super) fn row_limit(limit: usize) -> StoreResult<i64> {
    if limit == 0 {
        return Err(StoreError::Invalid {
            field: "limit",
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(i64::try_from(limit).unwrap_or(i64::MAX))
}

/// The row count to fetch for a page: one more than `limit`, to learn whether another
/// page follows.
pub(super) fn fetch_count(limit: usize) -> StoreResult<i64> {
    Ok(row_limit(limit)?.saturating_add(1))
}

/// The paging condition on `column` for parameter `?{param}`. Without a start it is a
/// constant, so the query still walks the key index instead of testing every row.
pub(super) fn after_clause(after: Option<&str>, column: &str, param: usize) -> String {
    if after.is_some() {
        format!("{column} > ?{param}")
    } else {
        format!("?{param} IS NULL")
    }
}

/// Cuts the extra row off and names it as the start of the next page.
pub(super) fn page<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
    if items.len() <= limit {
        return Page { items, next: None };
    }
    items.truncate(limit);
    let next = items.last().map(key);
    Page { items, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_names_its_last_item_only_when_more_follow() {
        let full = page(vec![1, 2, 3], 2, ToString::to_string);
        assert_eq!((full.items, full.next), (vec![1, 2], Some("2".to_owned())));
        let last = page(vec![1, 2], 2, ToString::to_string);
        assert_eq!((last.items, last.next), (vec![1, 2], None));
    }

    #[test]
    fn limits_are_checked_and_never_overflow() {
        assert!(matches!(
            fetch_count(0),
            Err(StoreError::Invalid { field: "limit", .. })
        ));
        assert_eq!(fetch_count(10).ok(), Some(11));
        assert_eq!(fetch_count(usize::MAX).ok(), Some(i64::MAX));
    }

    #[test]
    fn times_read_back_to_the_nanosecond() {
        let t = DateTime::from_timestamp(1_790_000_000, 123_456_789).unwrap_or_default();
        assert_eq!(time(&time_text(t), "t").ok(), Some(t));
        assert!(matches!(time("soon", "t"), Err(StoreError::Corrupt { .. })));
    }
}
