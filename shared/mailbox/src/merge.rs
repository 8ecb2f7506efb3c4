//! Field-level comparison and merging of two versions of an item.
//!
//! Fields are the top-level members of the item's normalised JSON form, so an address or
//! the recurrence is one field: changing the city and the street on different sides is a
//! conflict on `business_address`, which keeps each merge easy to explain.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::data::ItemData;

/// Which side wins when both changed the same field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The CRM's value.
    Crm,
    /// The mailbox's value.
    Mailbox,
}

/// The documented rule: when the CRM and the mailbox changed the same field since they last
/// agreed, the CRM's value wins (the CRM is the system of record the agents work in), and
/// the conflict is recorded with both values.
pub const CONFLICT_WINNER: Side = Side::Crm;

/// One field both sides changed differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// The field.
    pub field: String,
    /// The CRM's value (`null` when cleared).
    pub crm: Value,
    /// The mailbox's value.
    pub mailbox: Value,
    /// Which one was kept.
    pub winner: Side,
}

/// The result of a merge.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// The merged item.
    pub data: ItemData,
    /// Fields where both sides changed and one value lost.
    pub conflicts: Vec<FieldConflict>,
}

fn fields(item: &ItemData) -> Map<String, Value> {
    match serde_json::to_value(item.normalized()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The fields whose normalised values differ between `old` and `new`.
pub fn changed_fields(old: &ItemData, new: &ItemData) -> BTreeSet<String> {
    let (old, new) = (fields(old), fields(new));
    old.keys()
        .chain(new.keys())
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect()
}

/// Three-way merge: each side's changes since `base` are kept; where both changed the same
/// field differently, [`CONFLICT_WINNER`] decides.
pub fn merge3(base: &ItemData, crm: &ItemData, mailbox: &ItemData) -> Merged {
    let (b, c, m) = (fields(base), fields(crm), fields(mailbox));
    combine(crm, mailbox, &c, &m, |key| {
        let (bv, cv, mv) = (b.get(key), c.get(key), m.get(key));
        if cv == mv || mv == bv {
            Pick::Crm
        } else if cv == bv {
            Pick::Mailbox
        } else {
            Pick::Conflict
        }
    })
}

/// Two-way merge without a common base (first connect): a field set on one side only is
/// taken from that side; a field set differently on both is a conflict [`CONFLICT_WINNER`]
/// decides.
pub fn merge2(crm: &ItemData, mailbox: &ItemData) -> Merged {
    let (c, m) = (fields(crm), fields(mailbox));
    combine(crm, mailbox, &c, &m, |key| match (c.get(key), m.get(key)) {
        (Some(cv), Some(mv)) if cv != mv => Pick::Conflict,
        (None, Some(_)) => Pick::Mailbox,
        _ => Pick::Crm,
    })
}

enum Pick {
    Crm,
    Mailbox,
    Conflict,
}

fn combine(
    crm: &ItemData,
    mailbox: &ItemData,
    c: &Map<String, Value>,
    m: &Map<String, Value>,
    mut pick: impl FnMut(&str) -> Pick,
) -> Merged {
    let keys: BTreeSet<&String> = c.keys().chain(m.keys()).collect();
    let mut out = Map::new();
    let mut conflicts = Vec::new();
    for key in keys {
        let chosen = match pick(key) {
            Pick::Crm => c.get(key),
            Pick::Mailbox => m.get(key),
            Pick::Conflict => {
                conflicts.push(FieldConflict {
                    field: key.clone(),
                    crm: c.get(key).cloned().unwrap_or(Value::Null),
                    mailbox: m.get(key).cloned().unwrap_or(Value::Null),
                    winner: CONFLICT_WINNER,
                });
                match CONFLICT_WINNER {
                    Side::Crm => c.get(key),
                    Side::Mailbox => m.get(key),
                }
            }
        };
        if let Some(value) = chosen {
            out.insert(key.clone(), value.clone());
        }
    }
    let merged = Value::Object(out);
    // A merge of two valid items of the same kind has that kind's shape; should the
    // fields not fit together (an event's end before a start taken from the other side),
    // the winner's whole version is kept rather than an invalid mix, and every field the
    // loser had different is reported, so nothing is dropped silently.
    let mixed = match crm {
        ItemData::Contact(_) => serde_json::from_value(merged).map(ItemData::Contact).ok(),
        ItemData::Event(_) => serde_json::from_value(merged).map(ItemData::Event).ok(),
    }
    .filter(|d: &ItemData| d.validate().is_ok());
    let data = if let Some(data) = mixed {
        data
    } else {
        let (winner, loser) = match CONFLICT_WINNER {
            Side::Crm => (crm, mailbox),
            Side::Mailbox => (mailbox, crm),
        };
        let (w, l) = (fields(winner), fields(loser));
        for key in w.keys().chain(l.keys()) {
            if w.get(key) != l.get(key) && !conflicts.iter().any(|c| &c.field == key) {
                conflicts.push(FieldConflict {
                    field: key.clone(),
                    crm: c.get(key).cloned().unwrap_or(Value::Null),
                    mailbox: m.get(key).cloned().unwrap_or(Value::Null),
                    winner: CONFLICT_WINNER,
                });
            }
        }
        winner.normalized()
    };
    Merged { data, conflicts }
}
