//! One write (or condition check) on one item, and how it goes into a request.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};

use super::items::Item;

/// What an action does to its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Put,
    Update,
    Delete,
    Check,
}

/// One write (or condition check) on one item.
///
/// Expressions name attributes as `#name`; the name map is derived from the text, so an
/// attribute that happens to be a reserved word (`data`, `ttl`) needs no care.
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub(crate) op: Op,
    /// The whole item for a put, the key otherwise.
    pub(crate) item: Item,
    pub(crate) condition: Option<String>,
    pub(crate) update: Option<String>,
    pub(crate) values: Item,
}

impl Action {
    pub(crate) fn put(item: Item) -> Self {
        Action::new(Op::Put, item)
    }

    pub(crate) fn update(key: Item, expression: impl Into<String>) -> Self {
        let mut action = Action::new(Op::Update, key);
        action.update = Some(expression.into());
        action
    }

    pub(crate) fn delete(key: Item) -> Self {
        Action::new(Op::Delete, key)
    }

    pub(crate) fn check(key: Item, condition: impl Into<String>) -> Self {
        Action::new(Op::Check, key).when(condition)
    }

    fn new(op: Op, item: Item) -> Self {
        Action {
            op,
            item,
            condition: None,
            update: None,
            values: Item::new(),
        }
    }

    /// Adds a condition the item must meet.
    pub(crate) fn when(mut self, condition: impl Into<String>) -> Self {
        self.condition = Some(condition.into());
        self
    }

    /// Binds a `:placeholder`.
    pub(crate) fn value(
        mut self,
        name: &str,
        value: aws_sdk_dynamodb::types::AttributeValue,
    ) -> Self {
        self.values.insert(name.to_owned(), value);
        self
    }

    pub(crate) fn names(&self) -> Option<HashMap<String, String>> {
        let mut names = HashMap::new();
        for text in [&self.condition, &self.update].into_iter().flatten() {
            names.extend(placeholders(text));
        }
        (!names.is_empty()).then_some(names)
    }

    pub(crate) fn values(&self) -> Option<Item> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    /// Rough size in bytes, to keep a transaction under `DynamoDB`'s 4 MB.
    pub(crate) fn size(&self) -> usize {
        self.item
            .iter()
            .chain(&self.values)
            .map(|(name, value)| name.len() + value.as_s().map_or(16, String::len))
            .sum()
    }

    pub(crate) fn transact_item(&self, table: &str) -> Result<TransactWriteItem, BuildError> {
        let names = self.names();
        let values = self.values();
        let builder = TransactWriteItem::builder();
        Ok(match self.op {
            Op::Put => builder.put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(self.item.clone()))
                    .set_condition_expression(self.condition.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()?,
            ),
            Op::Update => builder.update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(self.item.clone()))
                    .set_update_expression(self.update.clone())
                    .set_condition_expression(self.condition.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()?,
            ),
            Op::Delete => builder.delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(self.item.clone()))
                    .set_condition_expression(self.condition.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()?,
            ),
            Op::Check => builder.condition_check(
                ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(self.item.clone()))
                    .set_condition_expression(self.condition.clone())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()?,
            ),
        }
        .build())
    }
}

/// `#name` placeholders in an expression, mapped to the attribute names.
fn placeholders(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    text.split('#').skip(1).filter_map(|rest| {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        (!name.is_empty()).then(|| (format!("#{name}"), name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_name_every_attribute_once() {
        let mut names: Vec<(String, String)> =
            placeholders("#version = :v OR (#last_commit = :id AND attribute_exists(#pk))")
                .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ("#last_commit".to_owned(), "last_commit".to_owned()),
                ("#pk".to_owned(), "pk".to_owned()),
                ("#version".to_owned(), "version".to_owned()),
            ]
        );
    }
}
