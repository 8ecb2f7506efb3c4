//! One folder's partition: the cursor, links, CRM records, the change feed and the outbox.

use chrono::Utc;
use mailbridge_store::{
    CrmRecord, Cursor, Expect, Folder, Link, Origin, OutboxEntry, Page, StoreError, StoreResult,
    Version,
};

use super::DynamoStateStore;
use super::action::Action;
use super::directory::{ANY_ROUNDS, after, check_limit};
use super::items::{self, Fields, Item, attr, key, n, s};
use super::keys::{CURSOR, ITEM, LINK, LSK, OUTBOX, RECORD, check_id, feed_key, folder_pk};
use super::requests::{Query, Range, TransactError};

impl DynamoStateStore {
    pub(crate) async fn get_cursor(&self, mailbox: &str, folder: Folder) -> StoreResult<Cursor> {
        check_id("mailbox", mailbox)?;
        let item = self
            .get("get_cursor", key(folder_pk(mailbox, folder), CURSOR))
            .await?;
        items::cursor(item.as_ref())
    }

    pub(crate) async fn link_by_crm_id(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
    ) -> StoreResult<Option<Link>> {
        check_id("mailbox", mailbox)?;
        check_id("crm_id", crm_id)?;
        let pk = folder_pk(mailbox, folder);
        let item = self
            .get("link_by_crm_id", key(pk, format!("{LINK}{crm_id}")))
            .await?;
        item.as_ref()
            .map(|item| Fields::new(item, "link").doc())
            .transpose()
    }

    pub(crate) async fn link_by_item_id(
        &self,
        mailbox: &str,
        folder: Folder,
        item_id: &str,
    ) -> StoreResult<Option<Link>> {
        check_id("mailbox", mailbox)?;
        check_id("item_id", item_id)?;
        let index_key = format!("{ITEM}{item_id}");
        let query = Query {
            pk: folder_pk(mailbox, folder),
            index: true,
            range: Range::Between(index_key.clone(), index_key),
        };
        let (items, _) = self.query("link_by_item_id", &query, None, 1).await?;
        items
            .first()
            .map(|item| Fields::new(item, "link").doc())
            .transpose()
    }

    pub(crate) async fn list_links(
        &self,
        mailbox: &str,
        folder: Folder,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Link>> {
        check_id("mailbox", mailbox)?;
        check_limit(limit)?;
        let pk = folder_pk(mailbox, folder);
        let start = self::after(after)?.map(|after| key(pk.clone(), format!("{LINK}{after}")));
        let query = Query {
            pk,
            index: false,
            range: Range::Prefix(LINK.to_owned()),
        };
        let (items, more) = self.query("list_links", &query, start, limit).await?;
        let links = items
            .iter()
            .map(|item| Fields::new(item, "link").doc::<Link>())
            .collect::<StoreResult<Vec<_>>>()?;
        let next = more
            .then(|| links.last().map(|l| l.crm_id.clone()))
            .flatten();
        Ok(Page { items: links, next })
    }

    pub(crate) async fn reset_folder(&self, mailbox: &str, folder: Folder) -> StoreResult<()> {
        check_id("mailbox", mailbox)?;
        let op = "reset_folder";
        let pk = folder_pk(mailbox, folder);
        let query = Query {
            pk: pk.clone(),
            index: false,
            range: Range::Prefix(LINK.to_owned()),
        };
        loop {
            let (items, more) = self.query(op, &query, None, 500).await?;
            let keys: Vec<Item> = items
                .iter()
                .map(|item| {
                    let (pk, sk) = super::requests::key_of(item);
                    key(pk, sk)
                })
                .collect();
            self.delete_many(op, keys).await?;
            if !more {
                break;
            }
        }

        // The feed position stays: feed readers remember positions, which must never repeat.
        let cursor = Action::update(
            key(pk, CURSOR),
            "SET #enumerated = :no, #version = #version + :one REMOVE #sync_state, #last_commit",
        )
        .when("attribute_exists(#pk)")
        .value(":no", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
        .value(":one", n(1));
        self.execute(op, cursor).await?;
        Ok(())
    }

    pub(crate) async fn get_record(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
    ) -> StoreResult<Option<CrmRecord>> {
        check_id("mailbox", mailbox)?;
        check_id("crm_id", crm_id)?;
        let pk = folder_pk(mailbox, folder);
        let item = self
            .get("get_record", key(pk, format!("{RECORD}{crm_id}")))
            .await?;
        item.as_ref().map(items::record).transpose()
    }

    pub(crate) async fn list_records(
        &self,
        mailbox: &str,
        folder: Folder,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<CrmRecord>> {
        check_id("mailbox", mailbox)?;
        check_limit(limit)?;
        let pk = folder_pk(mailbox, folder);
        let start = self::after(after)?.map(|after| key(pk.clone(), format!("{RECORD}{after}")));
        let query = Query {
            pk,
            index: false,
            range: Range::Prefix(RECORD.to_owned()),
        };
        let (items, more) = self.query("list_records", &query, start, limit).await?;
        let records = items
            .iter()
            .map(items::record)
            .collect::<StoreResult<Vec<_>>>()?;
        let next = more
            .then(|| records.last().map(|r| r.crm_id.clone()))
            .flatten();
        Ok(Page {
            items: records,
            next,
        })
    }

    pub(crate) async fn crm_write(
        &self,
        mailbox: &str,
        folder: Folder,
        crm_id: &str,
        expect: Expect,
        data: Option<&str>,
    ) -> StoreResult<Version> {
        check_id("mailbox", mailbox)?;
        check_id("crm_id", crm_id)?;
        let op = "crm_write";
        let pk = folder_pk(mailbox, folder);
        let record_key = key(pk.clone(), format!("{RECORD}{crm_id}"));
        let what = format!("record {crm_id}");

        for _ in 0..ANY_ROUNDS {
            let current = match expect {
                Expect::Any => match self.get(op, record_key.clone()).await? {
                    Some(item) => Some(Fields::new(&item, "CRM record").n(attr::VERSION)?),
                    None => None,
                },
                Expect::Absent => None,
                Expect::Version(version) => Some(version),
            };
            let version = current.map_or(1, |v| v + 1);
            let now = Utc::now();

            // The record leaves the feed (its index key goes) but keeps `feed_seq`, the
            // position of its last mailbox-side change. `last_commit` goes, so a retried sync
            // commit cannot overwrite this write.
            let set = "SET #crm_id = :crm_id, #version = :version, #origin = :origin, \
                       #updated = :updated";
            let record = match data {
                Some(data) => Action::update(
                    record_key.clone(),
                    format!("{set}, #data = :data REMOVE #last_commit, #lsk"),
                )
                .value(":data", s(data)),
                None => Action::update(
                    record_key.clone(),
                    format!("{set} REMOVE #data, #last_commit, #lsk"),
                ),
            }
            .value(":crm_id", s(crm_id))
            .value(":version", n(version))
            .value(":origin", items::origin(Origin::Crm))
            .value(":updated", items::time(now));
            let record = match current {
                None => record.when("attribute_not_exists(#pk)"),
                Some(v) => record.when("#version = :expected").value(":expected", n(v)),
            };

            // A record already queued keeps its place in the queue.
            let queued = format!(
                "{OUTBOX}{:020}#{crm_id}",
                now.timestamp_nanos_opt().unwrap_or_default()
            );
            let outbox = Action::update(
                key(pk.clone(), format!("{OUTBOX}{crm_id}")),
                "SET #crm_id = :crm_id, #record_version = :version, #attempts = :zero, \
                 #lsk = if_not_exists(#lsk, :queued) REMOVE #last_error, #last_commit",
            )
            .value(":crm_id", s(crm_id))
            .value(":version", n(version))
            .value(":zero", n(0))
            .value(":queued", s(queued));

            match self.transact(op, &[record, outbox]).await {
                Ok(()) => return Ok(version),
                Err(TransactError::Conditions(_)) if expect == Expect::Any => {}
                Err(TransactError::Conditions(_)) => {
                    return Err(StoreError::Conflict {
                        what,
                        expected: expect.expected(),
                    });
                }
                Err(TransactError::Store(err)) => return Err(err),
            }
        }
        Err(StoreError::Unavailable {
            detail: format!("{what}: concurrent writers kept winning"),
        })
    }

    pub(crate) async fn read_feed(
        &self,
        mailbox: &str,
        folder: Folder,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<CrmRecord>> {
        check_id("mailbox", mailbox)?;
        check_limit(limit)?;
        let op = "read_feed";
        let pk = folder_pk(mailbox, folder);

        // The horizon: positions past the cursor's belong to a commit still under way.
        let cursor = items::cursor(self.get(op, key(pk.clone(), CURSOR)).await?.as_ref())?;
        if after >= cursor.feed_seq {
            return Ok(Vec::new());
        }
        let query = Query {
            pk,
            index: true,
            range: Range::Between(feed_key(after + 1), feed_key(cursor.feed_seq)),
        };
        let (items, _) = self.query(op, &query, None, limit).await?;
        items.iter().map(items::record).collect()
    }

    pub(crate) async fn list_outbox(
        &self,
        mailbox: &str,
        folder: Folder,
        limit: usize,
    ) -> StoreResult<Vec<OutboxEntry>> {
        check_id("mailbox", mailbox)?;
        check_limit(limit)?;
        let query = Query {
            pk: folder_pk(mailbox, folder),
            index: true,
            range: Range::Prefix(OUTBOX.to_owned()),
        };
        let (items, _) = self.query("list_outbox", &query, None, limit).await?;
        items.iter().map(items::outbox_entry).collect()
    }
}

/// A link's item: keyed by its CRM id, indexed by its item id.
pub(crate) fn link_item(pk: &str, link: &Link) -> StoreResult<Item> {
    let mut item = key(pk, format!("{LINK}{}", link.crm_id));
    item.insert(attr::DOC.to_owned(), items::doc(link)?);
    item.insert(LSK.to_owned(), s(format!("{ITEM}{}", link.item_id)));
    Ok(item)
}
