//! `FindItem`: a folder's items through a paged view, a restriction and a sort order, or a
//! calendar view with recurring series expanded into occurrences.

use chrono::{DateTime, Duration, Utc};

use super::{Ctx, folder_of, required};
use crate::ews::fields::{Path, Shape};
use crate::ews::item_in::parse_datetime;
use crate::ews::item_out::ItemWriter;
use crate::ews::restriction::{Filter, values};
use crate::ews::soap::{self, Fault, MsgError};
use crate::ews::xml::{Node, Ns, XmlOut};
use crate::model::recurrence::{Entry, expand};
use crate::model::{FolderKind, ItemData, StoredItem};

const OP: &str = "FindItem";

/// Exchange Online returns at most this many items per `FindItem` page.
const FIND_LIMIT: usize = 1000;

/// The longest calendar view Exchange serves.
const MAX_VIEW_DAYS: i64 = 2 * 366;

enum View {
    Indexed {
        max: Option<usize>,
        offset: usize,
        from_end: bool,
    },
    Calendar {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        max: Option<usize>,
    },
    Contacts {
        from: Option<String>,
        to: Option<String>,
        max: Option<usize>,
    },
    All,
}

struct Sort {
    path: Path,
    descending: bool,
}

pub(crate) fn run(body: &Node, ctx: &mut Ctx<'_>) -> Result<String, Fault> {
    match body.attr("Traversal") {
        Some("Shallow") => {}
        Some("Deep" | "SoftDeleted" | "Associated") => {
            return Err(Fault::new(
                "ErrorInvalidRequest",
                "This server supports only Shallow traversal.",
            ));
        }
        other => return Err(Fault::schema(format!("Traversal {other:?} is not valid"))),
    }
    let shape = Shape::read(required(body, Ns::Messages, "ItemShape")?)?;
    let view = read_view(body)?;
    let filter = body
        .child(Ns::Messages, "Restriction")
        .map(Filter::read)
        .transpose()?;
    let sort = body
        .child(Ns::Messages, "SortOrder")
        .map(read_sort)
        .transpose()?;
    if matches!(view, View::Calendar { .. }) && (filter.is_some() || sort.is_some()) {
        return Err(Fault::new(
            "ErrorInvalidRequest",
            "A CalendarView cannot be combined with a Restriction or a SortOrder.",
        ));
    }
    let folders = required(body, Ns::Messages, "ParentFolderIds")?;
    if folders.children.is_empty() {
        return Err(Fault::schema("ParentFolderIds is empty"));
    }
    let resolved: Vec<Result<FolderKind, MsgError>> =
        folders.children.iter().map(|f| folder_of(f, ctx)).collect();
    let writer = ItemWriter {
        mailbox: ctx.mailbox_number(),
        shape: &shape,
    };
    let store = &*ctx.store;
    Ok(soap::envelope(|w| {
        soap::open_response(w, OP);
        for folder in resolved {
            let items = store.items_in(folder.as_ref().copied().unwrap_or(FolderKind::Inbox));
            let result = folder.and_then(|folder| match &view {
                View::Calendar { start, end, max } if folder == FolderKind::Calendar => {
                    calendar_page(w, &writer, &items, *start, *end, *max);
                    Ok(())
                }
                View::Calendar { .. } => Err(MsgError::new(
                    "ErrorInvalidOperation",
                    "A CalendarView can only be used on a calendar folder.",
                )),
                _ => {
                    item_page(w, &writer, &items, &view, filter.as_ref(), sort.as_ref());
                    Ok(())
                }
            });
            if let Err(err) = result {
                soap::error_message(w, OP, &err);
            }
        }
        soap::close_response(w, OP);
    }))
}

fn max_attr(node: &Node) -> Result<Option<usize>, Fault> {
    node.attr("MaxEntriesReturned")
        .map(|m| {
            m.parse::<usize>()
                .ok()
                .filter(|m| *m >= 1 && i32::try_from(*m).is_ok())
                .ok_or_else(|| Fault::schema(format!("MaxEntriesReturned {m:?} is not valid")))
        })
        .transpose()
}

fn read_view(body: &Node) -> Result<View, Fault> {
    if let Some(v) = body.child(Ns::Messages, "IndexedPageItemView") {
        let offset = v
            .attr("Offset")
            .and_then(|o| o.parse::<usize>().ok())
            .ok_or_else(|| Fault::schema("IndexedPageItemView needs a numeric Offset"))?;
        let from_end = match v.attr("BasePoint") {
            Some("Beginning") => false,
            Some("End") => true,
            other => return Err(Fault::schema(format!("BasePoint {other:?} is not valid"))),
        };
        return Ok(View::Indexed {
            max: max_attr(v)?,
            offset,
            from_end,
        });
    }
    if let Some(v) = body.child(Ns::Messages, "CalendarView") {
        let date = |name: &str| {
            v.attr(name)
                .and_then(parse_datetime)
                .ok_or_else(|| Fault::schema(format!("CalendarView needs an xs:dateTime {name}")))
        };
        let (start, end) = (date("StartDate")?, date("EndDate")?);
        if end < start {
            return Err(Fault::new(
                "ErrorCalendarEndDateIsEarlierThanStartDate",
                "EndDate is earlier than StartDate.",
            ));
        }
        if end - start > Duration::days(MAX_VIEW_DAYS) {
            return Err(Fault::new(
                "ErrorCalendarViewRangeTooBig",
                "The calendar view range is larger than two years.",
            ));
        }
        return Ok(View::Calendar {
            start,
            end,
            max: max_attr(v)?,
        });
    }
    if let Some(v) = body.child(Ns::Messages, "ContactsView") {
        return Ok(View::Contacts {
            from: v.attr("InitialName").map(str::to_lowercase),
            to: v.attr("FinalName").map(str::to_lowercase),
            max: max_attr(v)?,
        });
    }
    if body.child(Ns::Messages, "FractionalPageItemView").is_some()
        || body
            .child(Ns::Messages, "SeekToConditionPageItemView")
            .is_some()
    {
        return Err(Fault::new(
            "ErrorInvalidRequest",
            "This server supports IndexedPageItemView, CalendarView and ContactsView.",
        ));
    }
    Ok(View::All)
}

fn read_sort(node: &Node) -> Result<Sort, Fault> {
    // LIMIT: only the first FieldOrder is applied; later ones only break ties in Exchange.
    let order = node
        .children_named(Ns::Types, "FieldOrder")
        .next()
        .ok_or_else(|| Fault::schema("SortOrder holds no FieldOrder"))?;
    let descending = match order.attr("Order") {
        Some("Ascending") => false,
        Some("Descending") => true,
        other => return Err(Fault::schema(format!("Order {other:?} is not valid"))),
    };
    let path_node = order
        .children
        .first()
        .ok_or_else(|| Fault::schema("FieldOrder names no property"))?;
    Ok(Sort {
        path: Path::read(path_node)?,
        descending,
    })
}

fn sort_key(item: &StoredItem, sort: &Sort) -> String {
    let mut v = values(&sort.path, &item.content);
    v.sort();
    v.into_iter().next().unwrap_or_default().to_lowercase()
}

fn item_page(
    w: &mut XmlOut,
    writer: &ItemWriter<'_>,
    items: &[&StoredItem],
    view: &View,
    filter: Option<&Filter>,
    sort: Option<&Sort>,
) {
    let mut matching: Vec<&StoredItem> = items
        .iter()
        .copied()
        .filter(|i| filter.is_none_or(|f| f.matches(&i.content)))
        .collect();
    if let View::Contacts { from, to, .. } = view {
        matching.retain(|i| {
            let name = match &i.content.data {
                ItemData::Contact(c) => c.file_as.clone().unwrap_or_else(|| c.shown_name()),
                _ => String::new(),
            }
            .to_lowercase();
            from.as_ref().is_none_or(|f| name >= *f) && to.as_ref().is_none_or(|t| name <= *t)
        });
    }
    if let Some(sort) = sort {
        matching.sort_by_cached_key(|i| sort_key(i, sort));
        if sort.descending {
            matching.reverse();
        }
    }
    let total = matching.len();
    let (max, offset, from_end) = match view {
        View::Indexed {
            max,
            offset,
            from_end,
        } => (*max, *offset, *from_end),
        View::Contacts { max, .. } => (*max, 0, false),
        _ => (None, 0, false),
    };
    let limit = max.unwrap_or(FIND_LIMIT).min(FIND_LIMIT);
    let (first, taken) = if from_end {
        let end = total.saturating_sub(offset);
        let start = end.saturating_sub(limit);
        (start, end - start)
    } else {
        let start = offset.min(total);
        (start, limit.min(total - start))
    };
    let page = &matching[first..first + taken];
    let last = if from_end {
        first == 0
    } else {
        first + taken >= total
    };
    let next = if from_end {
        offset + taken
    } else {
        first + taken
    };
    soap::open_ok(w, OP);
    let (next, total_text) = (next.to_string(), total.to_string());
    let mut attrs = vec![("IndexedPagingOffset", next.as_str())];
    attrs.push(("TotalItemsInView", total_text.as_str()));
    attrs.push((
        "IncludesLastItemInRange",
        if last { "true" } else { "false" },
    ));
    w.open("m:RootFolder", &attrs);
    w.open("t:Items", &[]);
    for item in page {
        writer.item(w, item);
    }
    w.close("t:Items");
    w.close("m:RootFolder");
    soap::close_message(w, OP);
}

fn calendar_page(
    w: &mut XmlOut,
    writer: &ItemWriter<'_>,
    items: &[&StoredItem],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    max: Option<usize>,
) {
    let mut entries: Vec<(&StoredItem, Entry)> = Vec::new();
    for item in items {
        if let ItemData::Event(event) = &item.content.data {
            entries.extend(expand(event, start, end).into_iter().map(|e| (*item, e)));
        }
    }
    entries.sort_by_key(|(item, e)| (e.start, item.number));
    let total = entries.len();
    let limit = max.unwrap_or(FIND_LIMIT).min(FIND_LIMIT);
    entries.truncate(limit);
    let last = entries.len() == total;
    soap::open_ok(w, OP);
    let total = total.to_string();
    w.open(
        "m:RootFolder",
        &[
            ("TotalItemsInView", &total),
            (
                "IncludesLastItemInRange",
                if last { "true" } else { "false" },
            ),
        ],
    );
    w.open("t:Items", &[]);
    for (item, entry) in &entries {
        writer.entry(w, item, entry);
    }
    w.close("t:Items");
    w.close("m:RootFolder");
    soap::close_message(w, OP);
}
