//! `GetItem`: items by id, in batches, one result per id.

use std::io::BufRead;

use super::Operation;
use crate::error::EwsError;
use crate::soap::{MessageResult, read_response_messages};
use crate::types::{Item, ItemId, ItemShape};
use crate::xml::{Ns, XmlReader, XmlWriter};

/// The most ids mailbridge puts in one `GetItem` (Exchange Online's default batch limit).
pub const MAX_GET_ITEM_BATCH: usize = 100;

/// Fetches items by id.
#[derive(Debug, Clone)]
pub struct GetItem {
    /// The items; 1 to [`MAX_GET_ITEM_BATCH`].
    pub ids: Vec<ItemId>,
    /// Which properties to return.
    pub shape: ItemShape,
}

impl GetItem {
    /// Everything the sync needs to map the items.
    pub fn full(ids: Vec<ItemId>) -> GetItem {
        GetItem {
            ids,
            shape: ItemShape::full_with_crm_id(),
        }
    }
}

impl Operation for GetItem {
    /// One result per requested id, in request order.
    type Response = Vec<MessageResult<Item>>;
    const NAME: &'static str = "GetItem";

    fn write_body(&self, w: &mut XmlWriter) -> Result<(), EwsError> {
        check_batch("ItemIds", self.ids.len(), MAX_GET_ITEM_BATCH)?;
        w.open("m:GetItem", &[]);
        self.shape.write(w, "m:ItemShape");
        w.open("m:ItemIds", &[]);
        for id in &self.ids {
            id.write(w, "t:ItemId");
        }
        w.close("m:ItemIds");
        w.close("m:GetItem");
        Ok(())
    }

    fn read_response<R: BufRead>(r: &mut XmlReader<R>) -> Result<Self::Response, EwsError> {
        let results = read_response_messages(r, |slot: &mut Option<Item>, field, r| {
            if field.is(Ns::Messages, "Items") {
                *slot = Item::read_list(r)?.into_iter().next();
                return Ok(true);
            }
            Ok(false)
        })?;
        results
            .into_iter()
            .map(|result| match result {
                Ok(Some(item)) => Ok(Ok(item)),
                Ok(None) => Err(EwsError::malformed(
                    "a successful GetItem message holds no item",
                )),
                Err(err) => Ok(Err(err)),
            })
            .collect()
    }
}

/// Batch sizes are checked before sending, with the field named.
pub(crate) fn check_batch(field: &str, len: usize, max: usize) -> Result<(), EwsError> {
    if len == 0 {
        return Err(EwsError::invalid(field, "is empty"));
    }
    if len > max {
        return Err(EwsError::invalid(
            field,
            format!("holds {len} entries; at most {max} per request"),
        ));
    }
    Ok(())
}
