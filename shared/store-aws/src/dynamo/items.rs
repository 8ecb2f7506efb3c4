//! Items as `DynamoDB` stores them, and the model types read back from them.
//!
//! Tenants, mailboxes, links and audit events are kept whole as a JSON document (`doc`)
//! beside the attributes the table indexes, so a field added to the model later needs no
//! migration. CRM records, outbox entries and cursors are plain attributes, because
//! writes update parts of them (a CRM write keeps the record's feed position).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use mailbridge_store::{CrmRecord, Cursor, Origin, OutboxEntry, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::{PK, SK};

/// One item: attribute name to value.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// Attribute names beyond the keys.
pub(crate) mod attr {
    pub(crate) const DOC: &str = "doc";
    pub(crate) const VERSION: &str = "version";
    pub(crate) const LAST_COMMIT: &str = "last_commit";
    pub(crate) const CRM_ID: &str = "crm_id";
    pub(crate) const DATA: &str = "data";
    pub(crate) const ORIGIN: &str = "origin";
    pub(crate) const FEED_SEQ: &str = "feed_seq";
    pub(crate) const UPDATED: &str = "updated";
    pub(crate) const SYNC_STATE: &str = "sync_state";
    pub(crate) const ENUMERATED: &str = "enumerated";
    /// The cursor's `feed_seq`: named apart from a record's, which the feed reads.
    pub(crate) const HORIZON: &str = "horizon";
    pub(crate) const RECORD_VERSION: &str = "record_version";
    pub(crate) const ATTEMPTS: &str = "attempts";
    pub(crate) const LAST_ERROR: &str = "last_error";
}

/// A string value.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number value.
pub(crate) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A signed number value (epoch milliseconds, which may precede 1970).
pub(crate) fn ni(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The primary key of an item.
pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// Serialises a model value to its `doc` attribute.
pub(crate) fn doc(value: &impl Serialize) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|err| StoreError::Invalid {
            field: "document",
            reason: format!("cannot be encoded as JSON: {err}"),
        })
}

/// Reads one item's attributes, naming the item in every `Corrupt` error.
pub(crate) struct Fields<'a> {
    item: &'a Item,
    what: &'a str,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(item: &'a Item, what: &'a str) -> Self {
        Fields { item, what }
    }

    fn corrupt(&self, name: &str, problem: &str) -> StoreError {
        StoreError::Corrupt {
            detail: format!("{}: attribute {name} {problem}", self.what),
        }
    }

    pub(crate) fn opt_s(&self, name: &str) -> Result<Option<&'a str>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(value)) => Ok(Some(value)),
            Some(_) => Err(self.corrupt(name, "is not a string")),
        }
    }

    pub(crate) fn s(&self, name: &str) -> Result<&'a str, StoreError> {
        self.opt_s(name)?
            .ok_or_else(|| self.corrupt(name, "is missing"))
    }

    pub(crate) fn opt_n(&self, name: &str) -> Result<Option<u64>, StoreError> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(value)) => value
                .parse()
                .map(Some)
                .map_err(|_| self.corrupt(name, "is not a whole number")),
            Some(_) => Err(self.corrupt(name, "is not a number")),
        }
    }

    pub(crate) fn n(&self, name: &str) -> Result<u64, StoreError> {
        self.opt_n(name)?
            .ok_or_else(|| self.corrupt(name, "is missing"))
    }

    pub(crate) fn signed(&self, name: &str) -> Result<i64, StoreError> {
        match self.item.get(name) {
            Some(AttributeValue::N(value)) => value
                .parse()
                .map_err(|_| self.corrupt(name, "is not a whole number")),
            Some(_) => Err(self.corrupt(name, "is not a number")),
            None => Err(self.corrupt(name, "is missing")),
        }
    }

    pub(crate) fn flag(&self, name: &str) -> Result<bool, StoreError> {
        match self.item.get(name) {
            None => Ok(false),
            Some(AttributeValue::Bool(value)) => Ok(*value),
            Some(_) => Err(self.corrupt(name, "is not a boolean")),
        }
    }

    pub(crate) fn time(&self, name: &str) -> Result<DateTime<Utc>, StoreError> {
        DateTime::parse_from_rfc3339(self.s(name)?)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| self.corrupt(name, "is not an RFC 3339 time"))
    }

    pub(crate) fn doc<T: DeserializeOwned>(&self) -> Result<T, StoreError> {
        serde_json::from_str(self.s(attr::DOC)?)
            .map_err(|err| self.corrupt(attr::DOC, &format!("does not decode: {err}")))
    }
}

/// Formats a time the way items keep it: RFC 3339, UTC, nanoseconds, fixed width.
pub(crate) fn time(at: DateTime<Utc>) -> AttributeValue {
    s(time_text(at))
}

/// The text of [`time`], which also orders audit events in their partition.
pub(crate) fn time_text(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Reads a CRM record item.
pub(crate) fn record(item: &Item) -> Result<CrmRecord, StoreError> {
    let fields = Fields::new(item, "CRM record");
    let origin = match fields.s(attr::ORIGIN)? {
        "crm" => Origin::Crm,
        "mailbox" => Origin::Mailbox,
        _ => {
            return Err(StoreError::Corrupt {
                detail: "CRM record: attribute origin is neither crm nor mailbox".to_owned(),
            });
        }
    };
    Ok(CrmRecord {
        crm_id: fields.s(attr::CRM_ID)?.to_owned(),
        version: fields.n(attr::VERSION)?,
        data: fields.opt_s(attr::DATA)?.map(str::to_owned),
        origin,
        feed_seq: fields.opt_n(attr::FEED_SEQ)?,
        updated: fields.time(attr::UPDATED)?,
    })
}

/// The stored name of an origin.
pub(crate) fn origin(origin: Origin) -> AttributeValue {
    s(match origin {
        Origin::Crm => "crm",
        Origin::Mailbox => "mailbox",
    })
}

/// Reads an outbox item.
pub(crate) fn outbox_entry(item: &Item) -> Result<OutboxEntry, StoreError> {
    let fields = Fields::new(item, "outbox entry");
    Ok(OutboxEntry {
        crm_id: fields.s(attr::CRM_ID)?.to_owned(),
        record_version: fields.n(attr::RECORD_VERSION)?,
        attempts: u32::try_from(fields.n(attr::ATTEMPTS)?).unwrap_or(u32::MAX),
        last_error: fields.opt_s(attr::LAST_ERROR)?.map(str::to_owned),
    })
}

/// Reads a cursor item; `None` gives the cursor of a folder never synced.
pub(crate) fn cursor(item: Option<&Item>) -> Result<Cursor, StoreError> {
    let Some(item) = item else {
        return Ok(Cursor::default());
    };
    let fields = Fields::new(item, "cursor");
    Ok(Cursor {
        sync_state: fields.opt_s(attr::SYNC_STATE)?.map(str::to_owned),
        enumerated: fields.flag(attr::ENUMERATED)?,
        feed_seq: fields.n(attr::HORIZON)?,
        version: fields.n(attr::VERSION)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_attribute_types_are_corrupt_not_panics() {
        let item = Item::from([
            (attr::VERSION.to_owned(), s("seven")),
            (attr::DOC.to_owned(), s("{not json")),
            (attr::HORIZON.to_owned(), AttributeValue::N("-1".to_owned())),
        ]);
        let fields = Fields::new(&item, "tenant");
        assert!(matches!(
            fields.n(attr::VERSION),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            fields.doc::<serde_json::Value>(),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            cursor(Some(&item)),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(record(&item), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn times_keep_nanoseconds_and_sort_as_text() {
        let early = DateTime::from_timestamp(1_800_000_000, 5).unwrap_or_default();
        let late = DateTime::from_timestamp(1_800_000_000, 40).unwrap_or_default();
        let (AttributeValue::S(a), AttributeValue::S(b)) = (time(early), time(late)) else {
            panic!("times are strings");
        };
        assert!(a < b);
        let item = Item::from([(attr::UPDATED.to_owned(), s(a))]);
        assert_eq!(
            Fields::new(&item, "x").time(attr::UPDATED).ok(),
            Some(early)
        );
    }
}
