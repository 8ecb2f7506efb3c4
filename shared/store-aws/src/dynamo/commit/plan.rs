//! The actions of one commit, planned from what was read before it.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use mailbridge_store::{Commit, Cursor, LinkChange, Origin, StoreResult};

use super::Role;
use super::conflict;
use crate::dynamo::action::Action;
use crate::dynamo::coordination::LEASE;
use crate::dynamo::folder::link_item;
use crate::dynamo::items::{self, Fields, Item, attr, key, n, s};
use crate::dynamo::keys::{
    CURSOR, LINK, LSK, OUTBOX, RECORD, audit_pk, escape, feed_key, folder_pk, lease_pk,
};
use crate::dynamo::requests::key_of;

/// The keys a commit touches.
pub(super) struct Keys {
    pub(super) pk: String,
    pub(super) lease: Item,
    pub(super) cursor: Item,
}

impl Keys {
    pub(super) fn new(commit: &Commit) -> Self {
        let pk = folder_pk(&commit.mailbox, commit.folder);
        Keys {
            lease: key(lease_pk(&commit.lease.key), LEASE),
            cursor: key(pk.clone(), CURSOR),
            pk,
        }
    }

    pub(super) fn record(&self, crm_id: &str) -> Item {
        key(self.pk.clone(), format!("{RECORD}{crm_id}"))
    }

    pub(super) fn outbox(&self, crm_id: &str) -> Item {
        key(self.pk.clone(), format!("{OUTBOX}{crm_id}"))
    }
}

/// The items read before planning, by key.
pub(super) struct Found(pub(super) HashMap<(String, String), Item>);

impl Found {
    pub(super) fn get(&self, key: &Item) -> Option<&Item> {
        self.0.get(&key_of(key))
    }
}

/// Record writes, each conditioned on the version read (or on being this commit's own
/// earlier write), at the next feed positions.
pub(super) fn plan_records(
    commit: &Commit,
    keys: &Keys,
    found: &Found,
    cursor: &Cursor,
    now: DateTime<Utc>,
) -> StoreResult<Vec<(Action, Role)>> {
    let mut planned = Vec::with_capacity(commit.records.len());
    for (index, write) in commit.records.iter().enumerate() {
        let key = keys.record(&write.crm_id);
        let current = found.get(&key);
        let version = match current {
            Some(item) => Some(Fields::new(item, "CRM record").n(attr::VERSION)?),
            None => None,
        };
        let retried = last_commit(current, "CRM record")? == Some(commit.id.as_str());
        if !retried && version != write.expected {
            return Err(conflict(commit, index));
        }
        let seq = cursor.feed_seq + 1 + index as u64;
        let mut item = key;
        item.extend([
            (attr::CRM_ID.to_owned(), s(&write.crm_id)),
            (
                attr::VERSION.to_owned(),
                n(write.expected.map_or(1, |v| v + 1)),
            ),
            (attr::ORIGIN.to_owned(), items::origin(Origin::Mailbox)),
            (attr::FEED_SEQ.to_owned(), n(seq)),
            (LSK.to_owned(), s(feed_key(seq))),
            (attr::UPDATED.to_owned(), items::time(now)),
            (attr::LAST_COMMIT.to_owned(), s(&commit.id)),
        ]);
        if let Some(data) = &write.data {
            item.insert(attr::DATA.to_owned(), s(data));
        }
        let action = match write.expected {
            None => Action::put(item).when("attribute_not_exists(#pk) OR #last_commit = :commit"),
            Some(v) => Action::put(item)
                .when("#version = :expected OR #last_commit = :commit")
                .value(":expected", n(v)),
        };
        planned.push((action.value(":commit", s(&commit.id)), Role::Record(index)));
    }
    Ok(planned)
}

pub(super) fn plan_links(commit: &Commit, keys: &Keys) -> StoreResult<Vec<(Action, Role)>> {
    last_change_per_link(&commit.links)
        .into_iter()
        .map(|change| {
            let action = match change {
                LinkChange::Put(link) => Action::put(link_item(&keys.pk, link)?),
                LinkChange::Delete(crm_id) => {
                    Action::delete(key(keys.pk.clone(), format!("{LINK}{crm_id}")))
                }
            };
            Ok((action, Role::Link))
        })
        .collect()
}

/// Outbox changes still to make: entries gone, re-queued or already counted are skipped.
pub(super) fn plan_outbox(
    commit: &Commit,
    keys: &Keys,
    found: &Found,
) -> StoreResult<Vec<(Action, Role)>> {
    // A transaction touches an item once: the first change named for an entry wins, and a
    // failure reported for an entry pushed in the same commit does not count (it is gone).
    let mut touched = HashSet::new();
    let mut planned = Vec::new();
    for (crm_id, version) in &commit.outbox_done {
        let key = keys.outbox(crm_id);
        let Some(entry) = found.get(&key) else {
            continue;
        };
        if items::outbox_entry(entry)?.record_version == *version && touched.insert(crm_id) {
            let action = Action::delete(key)
                .when("#record_version = :v")
                .value(":v", n(*version));
            planned.push((action, Role::Outbox));
        }
    }
    for (crm_id, error) in &commit.outbox_failed {
        let key = keys.outbox(crm_id);
        let Some(item) = found.get(&key) else {
            continue;
        };
        if last_commit(Some(item), "outbox entry")? == Some(commit.id.as_str())
            || !touched.insert(crm_id)
        {
            continue;
        }
        let entry = items::outbox_entry(item)?;
        let action = Action::update(
            key,
            "SET #attempts = :next, #last_error = :error, #last_commit = :commit",
        )
        .when("#attempts = :attempts AND #record_version = :v")
        .value(":next", n(u64::from(entry.attempts) + 1))
        .value(":attempts", n(u64::from(entry.attempts)))
        .value(":v", n(entry.record_version))
        .value(":error", s(error))
        .value(":commit", s(&commit.id));
        planned.push((action, Role::Outbox));
    }
    Ok(planned)
}

/// Audit events under keys made from the commit id, so a retry rewrites the same items.
pub(super) fn plan_audit(commit: &Commit) -> StoreResult<Vec<(Action, Role)>> {
    commit
        .audit
        .iter()
        .enumerate()
        .map(|(index, event)| {
            let sk = format!(
                "{}#c#{}#{index:05}",
                items::time_text(event.at),
                escape(&commit.id)
            );
            let mut item = key(audit_pk(&event.mailbox), sk);
            item.insert(attr::DOC.to_owned(), items::doc(event)?);
            Ok((Action::put(item), Role::Audit))
        })
        .collect()
}

/// The cursor write (the new horizon and this commit's id) and the cursor it leaves.
pub(super) fn plan_cursor(
    commit: &Commit,
    keys: &Keys,
    stored: Option<&Item>,
    cursor: &Cursor,
) -> (Action, Cursor) {
    let (sync_state, enumerated) = commit
        .cursor
        .clone()
        .unwrap_or((cursor.sync_state.clone(), cursor.enumerated));
    let next = Cursor {
        sync_state,
        enumerated,
        feed_seq: cursor.feed_seq + commit.records.len() as u64,
        version: cursor.version + 1,
    };
    let mut item = keys.cursor.clone();
    item.extend([
        (
            attr::ENUMERATED.to_owned(),
            AttributeValue::Bool(next.enumerated),
        ),
        (attr::HORIZON.to_owned(), n(next.feed_seq)),
        (attr::VERSION.to_owned(), n(next.version)),
        (attr::LAST_COMMIT.to_owned(), s(&commit.id)),
    ]);
    if let Some(state) = &next.sync_state {
        item.insert(attr::SYNC_STATE.to_owned(), s(state));
    }
    let action = match stored {
        None => Action::put(item).when("attribute_not_exists(#pk)"),
        Some(_) => Action::put(item)
            .when("#version = :v")
            .value(":v", n(cursor.version)),
    };
    (action, next)
}

/// Link changes with only the last one per CRM id kept, in the order given.
pub(super) fn last_change_per_link(changes: &[LinkChange]) -> Vec<&LinkChange> {
    let crm_id = |change: &LinkChange| match change {
        LinkChange::Put(link) => link.crm_id.clone(),
        LinkChange::Delete(crm_id) => crm_id.clone(),
    };
    let last: HashMap<String, usize> = changes
        .iter()
        .enumerate()
        .map(|(index, change)| (crm_id(change), index))
        .collect();
    changes
        .iter()
        .enumerate()
        .filter(|(index, change)| last.get(&crm_id(change)) == Some(index))
        .map(|(_, change)| change)
        .collect()
}

/// The commit id an item was last written by, if any.
pub(super) fn last_commit<'a>(
    item: Option<&'a Item>,
    what: &'a str,
) -> StoreResult<Option<&'a str>> {
    item.map_or(Ok(None), |item| {
        Fields::new(item, what).opt_s(attr::LAST_COMMIT)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_last_change_of_a_link_counts() {
        let changes = vec![
            LinkChange::Delete("a".to_owned()),
            LinkChange::Delete("b".to_owned()),
            LinkChange::Delete("a".to_owned()),
        ];
        let kept = last_change_per_link(&changes);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[1], &changes[2]);
        assert_eq!(kept[0], &changes[1]);
    }
}
