//! One step of a sync run: atomic when it fits in one transaction, otherwise chunked so that
//! a retry of the same commit is safe and partial work stays out of the feed.
//!
//! How a chunked commit stays safe:
//! - every chunk checks the lease (owner, token, not expired), so a fenced-off runner stops
//!   at its next chunk;
//! - a record write is conditioned on `version = expected OR last_commit = commit.id`, so a
//!   retry rewrites what the first attempt wrote, identically (feed positions count from
//!   the cursor, which has not moved);
//! - the cursor, with the new feed horizon and the commit id, goes in the last chunk, so
//!   readers of the feed see the records only once the whole commit is in;
//! - outbox changes are skipped when the entry already carries the commit id (or is gone),
//!   and audit events have keys made from the commit id, so they are written once.

use std::collections::HashSet;

use chrono::Utc;
use mailbridge_store::{Commit, Cursor, LinkChange, StoreError, StoreResult};

use super::DynamoStateStore;
use super::action::Action;
use super::coordination::held;
use super::directory::ANY_ROUNDS;
use super::items::{self, key, n, s};
use super::keys::{CURSOR, check_id, folder_pk};
use super::requests::TransactError;

mod plan;

use plan::{
    Found, Keys, last_commit, plan_audit, plan_cursor, plan_links, plan_outbox, plan_records,
};

/// Actions in one `TransactWriteItems`, `DynamoDB`'s limit.
const MAX_ACTIONS: usize = 100;
/// Bytes in one transaction, under `DynamoDB`'s 4 MB with room for attribute overhead.
const MAX_BYTES: usize = 3_500_000;

/// What a planned action is for, to explain a cancelled transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Lease,
    Record(usize),
    Link,
    Outbox,
    Audit,
    Cursor,
}

/// How one attempt at a commit ended.
enum Attempt {
    Done(Cursor),
    /// An outbox entry changed between reading and writing: plan again.
    Again,
}

impl DynamoStateStore {
    pub(crate) async fn commit(&self, commit: &Commit) -> StoreResult<Cursor> {
        check(commit)?;
        for attempt in 1..=ANY_ROUNDS {
            if let Attempt::Done(cursor) = self.try_commit(commit).await? {
                return Ok(cursor);
            }
            tracing::warn!(
                op = "commit",
                attempt,
                outcome = "retry",
                "outbox changed during commit"
            );
        }
        Err(StoreError::Unavailable {
            detail: "commit: the outbox kept changing under it".to_owned(),
        })
    }

    async fn try_commit(&self, commit: &Commit) -> StoreResult<Attempt> {
        let op = "commit";
        let folder = Keys::new(commit);

        // Read everything the plan depends on, so most refusals come before any write.
        let mut wanted = vec![folder.lease.clone(), folder.cursor.clone()];
        wanted.extend(commit.records.iter().map(|w| folder.record(&w.crm_id)));
        wanted.extend(commit.outbox_done.iter().map(|(id, _)| folder.outbox(id)));
        wanted.extend(commit.outbox_failed.iter().map(|(id, _)| folder.outbox(id)));
        let found = Found(self.get_many(op, wanted).await?);

        let now = Utc::now();
        if !held(found.get(&folder.lease), &commit.lease, now)? {
            return Err(lease_lost(commit));
        }
        let cursor_item = found.get(&folder.cursor);
        let cursor = items::cursor(cursor_item)?;
        if last_commit(cursor_item, "cursor")? == Some(commit.id.as_str()) {
            // The same commit went through before (its reply was lost): nothing to redo.
            return Ok(Attempt::Done(cursor));
        }

        let mut body = plan_records(commit, &folder, &found, &cursor, now)?;
        body.extend(plan_links(commit, &folder)?);
        body.extend(plan_outbox(commit, &folder, &found)?);
        body.extend(plan_audit(commit)?);
        let (cursor_write, next) = plan_cursor(commit, &folder, cursor_item, &cursor);
        let lease_check = Action::check(
            folder.lease.clone(),
            "#owner = :owner AND #token = :token AND #expires_ms > :now",
        )
        .value(":owner", s(&commit.lease.owner))
        .value(":token", n(commit.lease.token))
        .value(":now", items::ni(now.timestamp_millis()));

        let chunks = chunk(
            body,
            (cursor_write, Role::Cursor),
            (lease_check, Role::Lease),
        );
        if chunks.len() > 1 {
            tracing::debug!(op, chunks = chunks.len(), "commit split into transactions");
        }
        // LIMIT: a split commit is atomic per chunk only. A failure in a later chunk (a CRM
        // write raced it, the lease was taken over) leaves the earlier chunks' records
        // written, outside the feed but visible to `get_record`, until the same commit is
        // retried. DynamoDB has no transaction over 100 actions to do better.
        for chunk in chunks {
            let (actions, roles): (Vec<Action>, Vec<Role>) = chunk.into_iter().unzip();
            match self.transact(op, &actions).await {
                Ok(()) => {}
                Err(TransactError::Store(err)) => return Err(err),
                Err(TransactError::Conditions(failed)) => {
                    let roles: Vec<Role> = failed
                        .iter()
                        .filter_map(|&i| roles.get(i).copied())
                        .collect();
                    return self.explain(commit, &roles).await;
                }
            }
        }
        Ok(Attempt::Done(next))
    }

    /// Turns the failed conditions of a cancelled chunk into the commit's outcome.
    async fn explain(&self, commit: &Commit, roles: &[Role]) -> StoreResult<Attempt> {
        if roles.contains(&Role::Lease) {
            return Err(lease_lost(commit));
        }
        if let Some(index) = roles.iter().find_map(|role| match role {
            Role::Record(index) => Some(*index),
            _ => None,
        }) {
            return Err(conflict(commit, index));
        }
        if roles.contains(&Role::Cursor) {
            // Another write moved the cursor; if it was this very commit, it is done.
            let pk = folder_pk(&commit.mailbox, commit.folder);
            let item = self.get("commit", key(pk, CURSOR)).await?;
            if last_commit(item.as_ref(), "cursor")? == Some(commit.id.as_str()) {
                return Ok(Attempt::Done(items::cursor(item.as_ref())?));
            }
            return Err(StoreError::Conflict {
                what: format!("cursor of {} {}", commit.mailbox, commit.folder),
                expected: None,
            });
        }
        Ok(Attempt::Again)
    }
}

/// Refuses commits that cannot be keyed or that name one item twice (a transaction may
/// touch each item once).
fn check(commit: &Commit) -> StoreResult<()> {
    check_id("commit.mailbox", &commit.mailbox)?;
    check_id("commit.id", &commit.id)?;
    check_id("commit.lease.key", &commit.lease.key)?;
    let mut records = HashSet::new();
    for write in &commit.records {
        check_id("commit.records.crm_id", &write.crm_id)?;
        if !records.insert(write.crm_id.as_str()) {
            return Err(twice("commit.records", &write.crm_id));
        }
    }
    for change in &commit.links {
        match change {
            LinkChange::Put(link) => {
                check_id("commit.links.crm_id", &link.crm_id)?;
                check_id("commit.links.item_id", &link.item_id)?;
            }
            LinkChange::Delete(crm_id) => check_id("commit.links.crm_id", crm_id)?,
        }
    }
    let outbox = commit.outbox_done.iter().map(|(id, _)| id);
    for crm_id in outbox.chain(commit.outbox_failed.iter().map(|(id, _)| id)) {
        check_id("commit.outbox.crm_id", crm_id)?;
    }
    for event in &commit.audit {
        check_id("commit.audit.mailbox", &event.mailbox)?;
    }
    Ok(())
}

fn twice(field: &'static str, crm_id: &str) -> StoreError {
    StoreError::Invalid {
        field,
        reason: format!("names {crm_id} more than once"),
    }
}

/// Splits the body into transactions, each ending with the lease check; the cursor goes
/// in the last one.
fn chunk(
    body: Vec<(Action, Role)>,
    cursor: (Action, Role),
    lease: (Action, Role),
) -> Vec<Vec<(Action, Role)>> {
    let room = MAX_ACTIONS - 1;
    let mut chunks = Vec::new();
    let mut current: Vec<(Action, Role)> = Vec::new();
    let mut bytes = lease.0.size();
    for planned in body.into_iter().chain([cursor]) {
        let size = planned.0.size();
        let full = current.len() == room || bytes + size > MAX_BYTES;
        if full && !current.is_empty() {
            current.push(lease.clone());
            chunks.push(std::mem::take(&mut current));
            bytes = lease.0.size();
        }
        bytes += size;
        current.push(planned);
    }
    current.push(lease);
    chunks.push(current);
    chunks
}

fn lease_lost(commit: &Commit) -> StoreError {
    StoreError::LeaseLost {
        key: commit.lease.key.clone(),
    }
}

fn conflict(commit: &Commit, index: usize) -> StoreError {
    let write = commit.records.get(index);
    StoreError::Conflict {
        what: format!("record {}", write.map_or("", |w| w.crm_id.as_str())),
        expected: write.and_then(|w| w.expected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::coordination::LEASE;

    fn planned(n: usize) -> Vec<(Action, Role)> {
        (0..n)
            .map(|i| (Action::put(key("p", format!("s{i}"))), Role::Record(i)))
            .collect()
    }

    fn lease() -> (Action, Role) {
        (
            Action::check(key("lease#x", LEASE), "#owner = :owner"),
            Role::Lease,
        )
    }

    #[test]
    fn a_commit_that_fits_is_one_transaction() {
        let chunks = chunk(
            planned(98),
            (Action::put(key("p", CURSOR)), Role::Cursor),
            lease(),
        );
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].len(), 100);
    }

    #[test]
    fn a_large_commit_puts_the_cursor_and_a_lease_check_in_the_last_chunk() {
        let chunks = chunk(
            planned(250),
            (Action::put(key("p", CURSOR)), Role::Cursor),
            lease(),
        );
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| c.len() <= MAX_ACTIONS));
        assert!(
            chunks
                .iter()
                .all(|c| c.last().map(|(_, r)| *r) == Some(Role::Lease))
        );
        let last = &chunks[2];
        assert_eq!(last[last.len() - 2].1, Role::Cursor);
        let records: usize = chunks
            .iter()
            .flatten()
            .filter(|(_, r)| matches!(r, Role::Record(_)))
            .count();
        assert_eq!(records, 250);
    }
}
