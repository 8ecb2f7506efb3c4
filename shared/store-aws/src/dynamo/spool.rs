//! Spooled payloads, which run to megabytes while an item holds at most 400 KB: each
//! payload is cut into parts of [`PART_BYTES`], one item each, under a head item that
//! names the write they belong to, how many there are and the payload's length.
//!
//! A put removes the head first, writes the parts, then writes the head: a reader finds
//! either no head (nothing spooled) or a head whose parts are all written. Every part
//! carries the write's id, so parts of an earlier write under the same key are never mixed
//! into a later one; whatever is off is reported as `Corrupt`, never returned.

use std::time::Duration;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, Utc};
use mailbridge_store::{StoreError, StoreResult};

use super::DynamoStateStore;
use super::action::Action;
use super::items::{Fields, Item, key, n, ni, s};
use super::keys::{TTL, check_id, spool_pk};

/// Bytes of payload per part item: with its key and attributes, well under 400 KB.
pub(crate) const PART_BYTES: usize = 300 * 1024;

/// Sort key of the head item.
const HEAD: &str = "head";

const PARTS: &str = "parts";
const LENGTH: &str = "length";
const WRITE: &str = "write";
const EXPIRES_MS: &str = "expires_ms";
const PAYLOAD: &str = "payload";

/// Sort key of part `index` (zero-padded, so the parts sort in order).
fn part(index: usize) -> String {
    format!("part#{index:06}")
}

/// What the head item says about the payload.
struct Head {
    parts: usize,
    length: usize,
    write: String,
    expires_ms: i64,
}

fn read_head(item: &Item) -> StoreResult<Head> {
    let fields = Fields::new(item, "spool head");
    let count = |name| {
        usize::try_from(fields.n(name)?).map_err(|_| StoreError::Corrupt {
            detail: format!("spool head: attribute {name} is out of range"),
        })
    };
    Ok(Head {
        parts: count(PARTS)?,
        length: count(LENGTH)?,
        write: fields.s(WRITE)?.to_owned(),
        expires_ms: fields.signed(EXPIRES_MS)?,
    })
}

fn missing(mailbox: &str, key: &str) -> StoreError {
    StoreError::NotFound {
        what: format!("spooled payload {key} of {mailbox}"),
    }
}

impl DynamoStateStore {
    pub(crate) async fn put_spool(
        &self,
        mailbox: &str,
        spool_key: &str,
        payload: &[u8],
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        check_id("mailbox", mailbox)?;
        check_id("key", spool_key)?;
        let op = "put_spool";
        let expires = TimeDelta::from_std(ttl)
            .ok()
            .and_then(|ttl| now.checked_add_signed(ttl))
            .ok_or_else(|| StoreError::Invalid {
                field: "ttl",
                reason: "is too long".to_owned(),
            })?;
        let pk = spool_pk(mailbox, spool_key);
        let write = format!("{:016x}", fastrand::u64(..));
        let lapse = (TTL.to_owned(), ni(expires.timestamp().max(0)));

        // Readers see nothing spooled until the new head is written.
        let earlier = self.get(op, key(pk.clone(), HEAD)).await?;
        self.execute(op, Action::delete(key(pk.clone(), HEAD)))
            .await?;

        let parts: Vec<Item> = payload
            .chunks(PART_BYTES)
            .enumerate()
            .map(|(index, bytes)| {
                let mut item = key(pk.clone(), part(index));
                item.extend([
                    (PAYLOAD.to_owned(), AttributeValue::B(Blob::new(bytes))),
                    (WRITE.to_owned(), s(&write)),
                    lapse.clone(),
                ]);
                item
            })
            .collect();
        let count = parts.len();
        self.put_many(op, parts).await?;
        // Parts of a longer earlier payload would otherwise linger until their TTL.
        if let Some(earlier) = earlier.as_ref().map(read_head).transpose()? {
            let extra = (count..earlier.parts).map(|i| key(pk.clone(), part(i)));
            self.delete_many(op, extra.collect()).await?;
        }

        let mut head = key(pk, HEAD);
        head.extend([
            (PARTS.to_owned(), n(count as u64)),
            (LENGTH.to_owned(), n(payload.len() as u64)),
            (WRITE.to_owned(), s(&write)),
            (EXPIRES_MS.to_owned(), ni(expires.timestamp_millis())),
            lapse,
        ]);
        self.execute(op, Action::put(head)).await?;
        Ok(())
    }

    pub(crate) async fn get_spool(
        &self,
        mailbox: &str,
        spool_key: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<u8>> {
        check_id("mailbox", mailbox)?;
        check_id("key", spool_key)?;
        let op = "get_spool";
        let pk = spool_pk(mailbox, spool_key);
        let Some(head) = self.get(op, key(pk.clone(), HEAD)).await? else {
            return Err(missing(mailbox, spool_key));
        };
        let head = read_head(&head)?;
        // TTL deletion lags by days; lapse is decided by the stored expiry.
        if head.expires_ms <= now.timestamp_millis() {
            return Err(missing(mailbox, spool_key));
        }

        let part_keys = (0..head.parts).map(|i| key(pk.clone(), part(i))).collect();
        let found = self.get_many(op, part_keys).await?;
        let incomplete = |why: String| StoreError::Corrupt {
            detail: format!("spooled payload {spool_key} of {mailbox} is incomplete: {why}"),
        };
        let mut payload = Vec::with_capacity(head.length);
        for index in 0..head.parts {
            let number = index + 1;
            let item = found
                .get(&(pk.clone(), part(index)))
                .ok_or_else(|| incomplete(format!("part {number} of {} is missing", head.parts)))?;
            let fields = Fields::new(item, "spool part");
            if fields.s(WRITE)? != head.write {
                return Err(incomplete(format!(
                    "part {number} of {} belongs to another write",
                    head.parts
                )));
            }
            match item.get(PAYLOAD) {
                Some(AttributeValue::B(bytes)) => payload.extend_from_slice(bytes.as_ref()),
                _ => return Err(incomplete(format!("part {number} holds no bytes"))),
            }
        }
        if payload.len() != head.length {
            return Err(incomplete(format!(
                "{} bytes read, {} written",
                payload.len(),
                head.length
            )));
        }
        Ok(payload)
    }

    pub(crate) async fn delete_spool(&self, mailbox: &str, spool_key: &str) -> StoreResult<()> {
        check_id("mailbox", mailbox)?;
        check_id("key", spool_key)?;
        let op = "delete_spool";
        let pk = spool_pk(mailbox, spool_key);
        let Some(head) = self.get(op, key(pk.clone(), HEAD)).await? else {
            // LIMIT: parts of a put that died before its head are not found here; TTL ends them.
            return Ok(());
        };
        let head = read_head(&head)?;
        // The head goes first: a reader then finds nothing rather than missing parts.
        self.execute(op, Action::delete(key(pk.clone(), HEAD)))
            .await?;
        let parts = (0..head.parts).map(|i| key(pk.clone(), part(i)));
        self.delete_many(op, parts.collect()).await
    }
}
