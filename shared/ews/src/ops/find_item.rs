//! `FindItem`: a calendar view of a time range, or items carrying a CRM id.

use std::io::BufRead;

use chrono::{DateTime, Datelike, Utc};

use super::Operation;
use crate::error::EwsError;
use crate::soap::{read_response_messages, single};
use crate::types::{FolderId, Item, ItemShape, PropertyPath, write_datetime};
use crate::xml::{Ns, XmlReader, XmlWriter};

/// Which items `FindItem` returns, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// Occurrences (series expanded) overlapping a time range.
    Calendar {
        /// Range start.
        start: DateTime<Utc>,
        /// Range end.
        end: DateTime<Utc>,
        /// At most this many occurrences.
        max_entries: Option<u32>,
    },
    /// A page of the folder's items.
    Indexed {
        /// Page size.
        max_entries: u32,
        /// Items to skip from the start.
        offset: u32,
    },
}

/// A filter on one property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restriction {
    /// The property equals the value.
    IsEqualTo(PropertyPath, String),
}

/// Searches a folder.
#[derive(Debug, Clone)]
pub struct FindItem {
    /// The folder.
    pub folder: FolderId,
    /// Properties to return.
    pub shape: ItemShape,
    /// Range or paging.
    pub view: View,
    /// Filter; EWS does not allow one together with a calendar view.
    pub restriction: Option<Restriction>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FindItemPage {
    /// The items.
    pub items: Vec<Item>,
    /// Whether this page reaches the end.
    pub includes_last_item_in_range: bool,
    /// Items in the whole view.
    pub total_items_in_view: Option<u32>,
    /// Where the next page starts, for an indexed view.
    pub next_offset: Option<u32>,
}

impl Operation for FindItem {
    type Response = FindItemPage;
    const NAME: &'static str = "FindItem";

    fn write_body(&self, w: &mut XmlWriter) -> Result<(), EwsError> {
        w.open("m:FindItem", &[("Traversal", "Shallow")]);
        self.shape.write(w, "m:ItemShape");
        let max_entries = match &self.view {
            View::Calendar { max_entries, .. } => *max_entries,
            View::Indexed {
                max_entries,
                offset,
            } => {
                check_int("Offset", *offset)?;
                Some(*max_entries)
            }
        };
        if let Some(max) = max_entries {
            check_int("MaxEntriesReturned", max)?;
        }
        match &self.view {
            View::Calendar {
                start,
                end,
                max_entries,
            } => {
                if self.restriction.is_some() {
                    return Err(EwsError::invalid(
                        "Restriction",
                        "cannot be combined with a CalendarView",
                    ));
                }
                if end <= start {
                    return Err(EwsError::invalid(
                        "CalendarView",
                        "EndDate must be after StartDate",
                    ));
                }
                w.check_year("StartDate", start.year());
                w.check_year("EndDate", end.year());
                let (start, end) = (write_datetime(start), write_datetime(end));
                let max = max_entries.map(|m| m.to_string());
                let mut attrs = vec![("StartDate", start.as_str()), ("EndDate", end.as_str())];
                if let Some(max) = &max {
                    attrs.insert(0, ("MaxEntriesReturned", max.as_str()));
                }
                w.empty("m:CalendarView", &attrs);
            }
            View::Indexed {
                max_entries,
                offset,
            } => {
                if *max_entries == 0 {
                    return Err(EwsError::invalid(
                        "IndexedPageItemView",
                        "MaxEntriesReturned must be at least 1",
                    ));
                }
                let (max, offset) = (max_entries.to_string(), offset.to_string());
                w.empty(
                    "m:IndexedPageItemView",
                    &[
                        ("MaxEntriesReturned", &max),
                        ("Offset", &offset),
                        ("BasePoint", "Beginning"),
                    ],
                );
            }
        }
        if let Some(Restriction::IsEqualTo(path, value)) = &self.restriction {
            w.open("m:Restriction", &[]);
            w.open("t:IsEqualTo", &[]);
            path.write(w);
            w.open("t:FieldURIOrConstant", &[]);
            w.empty("t:Constant", &[("Value", value)]);
            w.close("t:FieldURIOrConstant");
            w.close("t:IsEqualTo");
            w.close("m:Restriction");
        }
        w.open("m:ParentFolderIds", &[]);
        self.folder.write(w);
        w.close("m:ParentFolderIds");
        w.close("m:FindItem");
        Ok(())
    }

    fn read_response<R: BufRead>(r: &mut XmlReader<R>) -> Result<FindItemPage, EwsError> {
        single(read_response_messages(
            r,
            |page: &mut FindItemPage, field, r| {
                if !field.is(Ns::Messages, "RootFolder") {
                    return Ok(false);
                }
                page.includes_last_item_in_range = matches!(
                    field.attr("IncludesLastItemInRange").map(str::trim),
                    Some("true" | "1")
                );
                page.total_items_in_view =
                    field.attr("TotalItemsInView").and_then(|v| v.parse().ok());
                page.next_offset = field
                    .attr("IndexedPagingOffset")
                    .and_then(|v| v.parse().ok());
                while let Some(child) = r.next_child()? {
                    if child.is(Ns::Types, "Items") {
                        page.items = Item::read_list(r)?;
                    } else {
                        r.skip()?;
                    }
                }
                Ok(true)
            },
        )?)
    }
}

/// Paging attributes are `xs:int`.
fn check_int(field: &str, value: u32) -> Result<(), EwsError> {
    if i32::try_from(value).is_err() {
        return Err(EwsError::invalid(
            field,
            format!("{value} is larger than {}", i32::MAX),
        ));
    }
    Ok(())
}
