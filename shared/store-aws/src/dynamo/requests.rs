//! The few request shapes the store sends, written once: single conditional writes,
//! transactions, consistent reads, paged queries and batch writes.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};
use mailbridge_store::StoreError;

use super::DynamoStateStore;
use super::action::{Action, Op};
use super::failure::{self, Cancelled};
use super::items::{Item, s};
use super::keys::{LSI, PK, SK};

/// Rounds of retrying the unprocessed part of a batch before giving up.
const BATCH_ROUNDS: u32 = 8;

/// Why a transaction did not apply.
#[derive(Debug)]
pub(crate) enum TransactError {
    /// These actions' conditions failed (indexes into the actions).
    Conditions(Vec<usize>),
    /// Anything else.
    Store(StoreError),
}

/// A query over one partition, on the table or its index.
pub(crate) struct Query {
    pub(crate) pk: String,
    /// On the local secondary index instead of the table.
    pub(crate) index: bool,
    /// The sort-key condition.
    pub(crate) range: Range,
}

/// A sort-key condition of a query.
pub(crate) enum Range {
    All,
    Prefix(String),
    Between(String, String),
}

fn request(err: &BuildError) -> StoreError {
    StoreError::Invalid {
        field: "request",
        reason: err.to_string(),
    }
}

impl DynamoStateStore {
    /// One conditional write; `Ok(false)` when its condition failed.
    pub(crate) async fn execute(
        &self,
        op: &'static str,
        action: Action,
    ) -> Result<bool, StoreError> {
        let names = action.names();
        let values = action.values();
        let result = match action.op {
            Op::Put => self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(action.item))
                .set_condition_expression(action.condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .send()
                .await
                .map(drop)
                .map_err(|err| {
                    let failed = err
                        .as_service_error()
                        .is_some_and(PutItemError::is_conditional_check_failed_exception);
                    (failed, failure::sdk(op, &err))
                }),
            Op::Update => self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(action.item))
                .set_update_expression(action.update)
                .set_condition_expression(action.condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .send()
                .await
                .map(drop)
                .map_err(|err| {
                    let failed = err
                        .as_service_error()
                        .is_some_and(UpdateItemError::is_conditional_check_failed_exception);
                    (failed, failure::sdk(op, &err))
                }),
            Op::Check => {
                return Err(StoreError::Invalid {
                    field: "request",
                    reason: "a condition check runs only inside a transaction".to_owned(),
                });
            }
            Op::Delete => self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(action.item))
                .set_condition_expression(action.condition)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .send()
                .await
                .map(drop)
                .map_err(|err| {
                    let failed = err
                        .as_service_error()
                        .is_some_and(DeleteItemError::is_conditional_check_failed_exception);
                    (failed, failure::sdk(op, &err))
                }),
        };
        match result {
            Ok(()) => Ok(true),
            Err((true, _)) => Ok(false),
            Err((false, err)) => Err(err),
        }
    }

    /// Applies actions in one `TransactWriteItems` (at most 100, all or nothing).
    pub(crate) async fn transact(
        &self,
        op: &'static str,
        actions: &[Action],
    ) -> Result<(), TransactError> {
        let items = actions
            .iter()
            .map(|action| action.transact_item(&self.table))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| TransactError::Store(request(&err)))?;
        let Err(err) = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        else {
            return Ok(());
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) =
            err.as_service_error()
        {
            let reasons = cancel.cancellation_reasons();
            let failed: Vec<usize> = failure::cancellation(reasons)
                .into_iter()
                .enumerate()
                .filter(|(_, why)| *why == Cancelled::Condition)
                .map(|(index, _)| index)
                .collect();
            if failed.is_empty() {
                return Err(TransactError::Store(failure::cancelled_without_condition(
                    op, reasons,
                )));
            }
            return Err(TransactError::Conditions(failed));
        }
        Err(TransactError::Store(failure::sdk(op, &err)))
    }

    /// A strongly consistent read of one item.
    pub(crate) async fn get(
        &self,
        op: &'static str,
        key: Item,
    ) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| failure::sdk(op, &err))?;
        Ok(output.item)
    }

    /// Strongly consistent reads of many items, keyed by `(pk, sk)`.
    pub(crate) async fn get_many(
        &self,
        op: &'static str,
        keys: Vec<Item>,
    ) -> Result<HashMap<(String, String), Item>, StoreError> {
        let mut found = HashMap::new();
        let mut seen = HashSet::new();
        let unique: Vec<Item> = keys
            .into_iter()
            .filter(|key| seen.insert(key_of(key)))
            .collect();
        for chunk in unique.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(|err| request(&err))?,
            );
            let mut round = 0;
            while let Some(keys) = pending.take() {
                if round == BATCH_ROUNDS {
                    return Err(StoreError::Unavailable {
                        detail: format!("{op}: reads stayed unprocessed (throttled)"),
                    });
                }
                back_off(round).await;
                round += 1;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await
                    .map_err(|err| failure::sdk(op, &err))?;
                for item in output
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    found.insert(key_of(&item), item);
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut rest| rest.remove(&self.table))
                    .filter(|rest| !rest.keys().is_empty());
            }
        }
        Ok(found)
    }

    /// Up to `limit` items of a query, after `start` (an exclusive start key), strongly
    /// consistent; the flag tells whether more follow.
    pub(crate) async fn query(
        &self,
        op: &'static str,
        query: &Query,
        start: Option<Item>,
        limit: usize,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let (sort, values) = match &query.range {
            Range::All => ("", HashMap::from([(":pk".to_owned(), s(&query.pk))])),
            Range::Prefix(prefix) => (
                " AND begins_with(#k, :lo)",
                HashMap::from([
                    (":pk".to_owned(), s(&query.pk)),
                    (":lo".to_owned(), s(prefix)),
                ]),
            ),
            Range::Between(lo, hi) => (
                " AND #k BETWEEN :lo AND :hi",
                HashMap::from([
                    (":pk".to_owned(), s(&query.pk)),
                    (":lo".to_owned(), s(lo)),
                    (":hi".to_owned(), s(hi)),
                ]),
            ),
        };
        let sort_attribute = if query.index { super::keys::LSK } else { SK };
        let mut names = HashMap::from([("#p".to_owned(), PK.to_owned())]);
        if !sort.is_empty() {
            names.insert("#k".to_owned(), sort_attribute.to_owned());
        }

        let mut items = Vec::new();
        let mut start = start;
        // One more than asked, to know whether a next page exists.
        while items.len() <= limit {
            let want = i32::try_from((limit + 1 - items.len()).min(1000)).unwrap_or(1000);
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(query.index.then(|| LSI.to_owned()))
                .key_condition_expression(format!("#p = :pk{sort}"))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .consistent_read(true)
                .limit(want)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|err| failure::sdk(op, &err))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(last) if !last.is_empty() => start = Some(last),
                _ => break,
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        Ok((items, more))
    }

    /// Deletes items by key, 25 to a batch, unconditionally.
    pub(crate) async fn delete_many(
        &self,
        op: &'static str,
        keys: Vec<Item>,
    ) -> Result<(), StoreError> {
        let requests = keys
            .into_iter()
            .map(|key| {
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|delete| WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<_, _>>()
            .map_err(|err| request(&err))?;
        self.write_many(op, requests).await
    }

    /// Puts whole items, 25 to a batch, unconditionally. A batch is at most 16 MB, so an
    /// item here must stay under 640 KB (`DynamoDB` refuses items over 400 KB anyway).
    pub(crate) async fn put_many(
        &self,
        op: &'static str,
        items: Vec<Item>,
    ) -> Result<(), StoreError> {
        let requests = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<_, _>>()
            .map_err(|err| request(&err))?;
        self.write_many(op, requests).await
    }

    /// Sends writes 25 to a `BatchWriteItem`, sending again what comes back unprocessed.
    async fn write_many(
        &self,
        op: &'static str,
        requests: Vec<WriteRequest>,
    ) -> Result<(), StoreError> {
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            let mut round = 0;
            while !pending.is_empty() {
                if round == BATCH_ROUNDS {
                    return Err(StoreError::Unavailable {
                        detail: format!("{op}: writes stayed unprocessed (throttled)"),
                    });
                }
                back_off(round).await;
                round += 1;
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, std::mem::take(&mut pending))
                    .send()
                    .await
                    .map_err(|err| failure::sdk(op, &err))?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut rest| rest.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}

/// The `(pk, sk)` of an item, for matching batch results to requests.
pub(crate) fn key_of(item: &Item) -> (String, String) {
    let text = |name| {
        item.get(name)
            .and_then(|value| value.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    (text(PK), text(SK))
}

/// Waits before a retry round of a batch (none before the first): `DynamoDB` returns part
/// of a batch unprocessed when it throttles.
async fn back_off(round: u32) {
    if round > 0 {
        let millis = 25u64 << round.min(6);
        let back_off_ms = millis + fastrand::u64(0..millis);
        tracing::warn!(
            attempt = round,
            back_off_ms,
            "batch partly unprocessed (throttled)"
        );
        tokio::time::sleep(Duration::from_millis(back_off_ms)).await;
    }
}
