//! The mailbox's calendar between two instants, recurring series expanded into their
//! occurrences and exceptions (EWS `CalendarView`).

use chrono::{DateTime, Utc};
use mailbridge_ews::ops::{FindItem, View};
use mailbridge_ews::types::{CalendarItemType, DistinguishedFolder, Item, ItemShape};
use mailbridge_ews::{EwsClient, EwsError};
use mailbridge_identity::TokenSource;
use serde::Serialize;

/// Longest range one view may cover, in days (Exchange's own cap is two years; a CRM view
/// rarely needs more than a quarter, and a bounded range keeps responses bounded).
pub const MAX_RANGE_DAYS: i64 = 92;
/// Most entries one view returns.
pub const MAX_ENTRIES: u32 = 1_000;

/// One entry of a calendar view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarEntry {
    /// The item or occurrence id.
    pub id: String,
    /// Title.
    pub subject: Option<String>,
    /// Start (UTC).
    pub start: DateTime<Utc>,
    /// End (UTC).
    pub end: DateTime<Utc>,
    /// An all-day event.
    pub all_day: bool,
    /// Where.
    pub location: Option<String>,
    /// `single`, `occurrence` (of a series) or `exception` (a changed occurrence).
    pub kind: &'static str,
    /// The CRM id of the event (or its series), when mailbridge wrote it.
    pub crm_id: Option<String>,
}

/// A calendar view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarView {
    /// The entries, by start.
    pub entries: Vec<CalendarEntry>,
    /// More entries fall in the range than one view returns; narrow the range.
    pub truncated: bool,
}

/// Why a view could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The range is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// `start` or `end`.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Exchange refused or failed.
    #[error("the mailbox's calendar could not be read: {0}")]
    Mailbox(#[from] EwsError),
}

/// Reads `mailbox`'s calendar from `start` to `end`.
pub async fn view<T: TokenSource>(
    ews: &EwsClient<T>,
    mailbox: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<CalendarView, CalendarError> {
    if end <= start {
        return Err(CalendarError::Invalid {
            field: "end",
            reason: "must be after start".into(),
        });
    }
    if (end - start).num_days() > MAX_RANGE_DAYS {
        return Err(CalendarError::Invalid {
            field: "end",
            reason: format!("a view covers at most {MAX_RANGE_DAYS} days"),
        });
    }
    let find = FindItem {
        folder: DistinguishedFolder::Calendar.into(),
        // Times, subject and type come with the default shape; bodies are not needed.
        shape: ItemShape::full_with_crm_id(),
        view: View::Calendar {
            start,
            end,
            max_entries: Some(MAX_ENTRIES),
        },
        restriction: None,
    };
    let page = ews.execute(mailbox, &find).await?;
    let mut entries: Vec<CalendarEntry> = page
        .items
        .iter()
        .filter_map(|item| match item {
            Item::CalendarItem(e) => Some(CalendarEntry {
                id: e.common.id.as_ref()?.id.clone(),
                subject: e.subject.clone(),
                start: e.start?,
                end: e.end?,
                all_day: e.is_all_day,
                location: e.location.clone(),
                kind: match e.item_type {
                    Some(CalendarItemType::Occurrence) => "occurrence",
                    Some(CalendarItemType::Exception) => "exception",
                    _ => "single",
                },
                crm_id: e.common.crm_id.clone(),
            }),
            _ => None,
        })
        .collect();
    entries.sort_by_key(|e| (e.start, e.end));
    Ok(CalendarView {
        entries,
        truncated: !page.includes_last_item_in_range,
    })
}
