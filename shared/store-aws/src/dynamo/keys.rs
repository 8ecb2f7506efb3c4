//! Where each record lives in the table: partition and sort keys, and the attribute names.
//!
//! The layout is described, with its reasons, in `infra/dynamodb.md`. Values that sit in the
//! middle of a key are escaped so that `#` always separates; a value at the end of a sort
//! key is kept as it is, so Query returns it in the byte order every store lists in.

use mailbridge_store::{Folder, StoreError};

/// Partition key attribute.
pub(crate) const PK: &str = "pk";
/// Sort key attribute.
pub(crate) const SK: &str = "sk";
/// Sort key of the local secondary index (links by item id, the feed, the outbox, mailboxes
/// by tenant). Only items that need one of those lookups carry it.
pub(crate) const LSK: &str = "lsk";
/// Name of the local secondary index.
pub(crate) const LSI: &str = "by_lsk";
/// Epoch seconds after which `DynamoDB` may delete the item (leases, idempotency records,
/// spooled payloads).
pub(crate) const TTL: &str = "ttl";

// LIMIT: every tenant shares one partition, and so does every mailbox, so listing them is
// one ordered Query. That caps writes to mailbox items at about 1,000 a second across the
// deployment, far above what a sync every few minutes needs.

/// The partition holding every tenant.
pub(crate) const TENANTS: &str = "tenants";
/// The partition holding every mailbox.
pub(crate) const MAILBOXES: &str = "mailboxes";
/// Sort key of a folder's cursor item.
pub(crate) const CURSOR: &str = "cursor";
/// Sort-key prefix of links.
pub(crate) const LINK: &str = "link#";
/// Sort-key prefix of CRM records.
pub(crate) const RECORD: &str = "rec#";
/// Sort-key prefix of outbox entries.
pub(crate) const OUTBOX: &str = "out#";
/// Index-key prefix of links (followed by the item id).
pub(crate) const ITEM: &str = "item#";
/// Index-key prefix of records written by the mailbox side (followed by the feed position).
pub(crate) const FEED: &str = "feed#";

/// Longest id (tenant, address, CRM id, item id, lease key, …) in bytes. Keeps every key
/// well inside `DynamoDB`'s limits (2048 bytes for a partition key, 1024 for a sort key).
const MAX_ID: usize = 512;

/// Refuses an id that cannot be part of a key.
pub(crate) fn check_id(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::Invalid {
            field,
            reason: "must not be empty".to_owned(),
        });
    }
    if value.len() > MAX_ID {
        return Err(StoreError::Invalid {
            field,
            reason: format!("must be at most {MAX_ID} bytes, is {}", value.len()),
        });
    }
    Ok(())
}

/// Escapes a value that sits between `#` separators.
pub(crate) fn escape(value: &str) -> String {
    value.replace('%', "%25").replace('#', "%23")
}

/// The partition of one folder of one mailbox: cursor, links, records and outbox.
pub(crate) fn folder_pk(mailbox: &str, folder: Folder) -> String {
    format!("f#{}#{folder}", escape(mailbox))
}

/// Index key of a mailbox in its tenant's listing.
pub(crate) fn tenant_prefix(tenant: &str) -> String {
    format!("t#{}#", escape(tenant))
}

/// Index key of a record at a feed position; zero-padded so text order is number order.
pub(crate) fn feed_key(seq: u64) -> String {
    format!("{FEED}{seq:020}")
}

/// The partition of one lease.
pub(crate) fn lease_pk(key: &str) -> String {
    format!("lease#{key}")
}

/// The partition of one idempotency record.
pub(crate) fn idempotency_pk(scope: &str, key: &str) -> String {
    format!("idem#{}#{key}", escape(scope))
}

/// The partition of one spooled payload: its head item and its parts.
pub(crate) fn spool_pk(mailbox: &str, key: &str) -> String {
    format!("spool#{}#{key}", escape(mailbox))
}

/// The partition of a mailbox's audit trail.
pub(crate) fn audit_pk(mailbox: &str) -> String {
    format!("audit#{mailbox}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_values_cannot_forge_a_separator() {
        assert_ne!(
            idempotency_pk("a#b", "c"),
            idempotency_pk("a", "b#c"),
            "scope and key must stay apart"
        );
        assert_ne!(
            spool_pk("a#b", "c"),
            spool_pk("a", "b#c"),
            "mailbox and key must stay apart"
        );
        assert_eq!(escape("50%#x"), "50%25%23x");
        assert_ne!(
            tenant_prefix("t-"),
            tenant_prefix("t-a")[..tenant_prefix("t-").len()]
        );
    }

    #[test]
    fn feed_keys_sort_like_their_numbers() {
        assert!(feed_key(9) < feed_key(10));
        assert!(feed_key(u64::MAX - 1) < feed_key(u64::MAX));
    }

    #[test]
    fn ids_are_bounded() {
        assert!(check_id("crm_id", "").is_err());
        assert!(check_id("crm_id", &"x".repeat(513)).is_err());
        assert!(check_id("crm_id", "crm-17").is_ok());
    }
}
