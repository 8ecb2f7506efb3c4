//! First-connect matching: pairing mailbox items with CRM records that already exist,
//! by e-mail address first, then by full name.

use std::collections::{BTreeMap, BTreeSet};

use mailbridge_mailbox::ItemData;

/// How an item was matched to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The CRM id stamped on the item.
    Stamp,
    /// A shared e-mail address.
    Email,
    /// The same full name (contacts) or subject and start (events).
    Name,
}

/// What matching found for one mailbox item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchOutcome {
    /// Exactly one unlinked record fits.
    Matched(String, MatchedBy),
    /// More than one fits: nothing is linked, the item becomes a new record.
    Ambiguous(usize),
    /// None fits.
    None,
}

/// The CRM records not linked to any item yet, indexed for matching. A record is matched
/// at most once per run.
#[derive(Debug, Default, Clone)]
pub struct MatchIndex {
    by_email: BTreeMap<String, BTreeSet<String>>,
    by_name: BTreeMap<String, BTreeSet<String>>,
    taken: BTreeSet<String>,
}

impl MatchIndex {
    /// Adds an unlinked record.
    pub fn add(&mut self, crm_id: &str, data: &ItemData) {
        for email in data.match_emails() {
            self.by_email
                .entry(email)
                .or_default()
                .insert(crm_id.to_owned());
        }
        if let Some(name) = data.match_name() {
            self.by_name
                .entry(name)
                .or_default()
                .insert(crm_id.to_owned());
        }
    }

    /// Whether no record is left to match.
    pub fn is_empty(&self) -> bool {
        self.by_email.is_empty() && self.by_name.is_empty()
    }

    fn free<'a>(&self, ids: Option<&'a BTreeSet<String>>) -> Vec<&'a String> {
        ids.into_iter()
            .flatten()
            .filter(|id| !self.taken.contains(*id))
            .collect()
    }

    /// What matching would find for a mailbox item, without taking anything.
    pub fn peek(&self, data: &ItemData) -> MatchOutcome {
        let mut by_email: BTreeSet<&String> = BTreeSet::new();
        for email in data.match_emails() {
            by_email.extend(self.free(self.by_email.get(&email)));
        }
        let outcome = match by_email.len() {
            1 => by_email
                .first()
                .map(|id| MatchOutcome::Matched((*id).clone(), MatchedBy::Email)),
            0 => None,
            n => Some(MatchOutcome::Ambiguous(n)),
        };
        outcome.unwrap_or_else(|| {
            let by_name = data
                .match_name()
                .map(|name| self.free(self.by_name.get(&name)))
                .unwrap_or_default();
            match by_name.as_slice() {
                [] => MatchOutcome::None,
                [one] => MatchOutcome::Matched((*one).clone(), MatchedBy::Name),
                many => MatchOutcome::Ambiguous(many.len()),
            }
        })
    }

    /// Finds the record for a mailbox item and, when one fits alone, takes it.
    pub fn find(&mut self, data: &ItemData) -> MatchOutcome {
        let outcome = self.peek(data);
        if let MatchOutcome::Matched(id, _) = &outcome {
            self.take(id);
        }
        outcome
    }

    /// Marks a record as linked by other means (its stamp), so matching skips it.
    pub fn take(&mut self, crm_id: &str) {
        self.taken.insert(crm_id.to_owned());
    }

    /// What has been matched so far, to go back to ([`MatchIndex::rewind`]) when a page
    /// whose commit failed is planned again: its matches were never stored.
    pub fn mark(&self) -> BTreeSet<String> {
        self.taken.clone()
    }

    /// Forgets the matches made since `mark`.
    pub fn rewind(&mut self, mark: BTreeSet<String>) {
        self.taken = mark;
    }
}
