//! The state store on one `DynamoDB` table.

mod action;
mod audit;
mod commit;
mod coordination;
mod directory;
mod failure;
mod folder;
mod items;
mod keys;
mod requests;
mod spool;
mod state;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use mailbridge_store::StoreError;

use keys::{LSI, LSK, PK, SK, TTL};

/// mailbridge's state in one `DynamoDB` table (layout: `infra/dynamodb.md`).
///
/// Every read is strongly consistent, including the index queries (the index is local), so
/// a sync run always sees its own earlier commits. Throttling and network failures come back
/// as `StoreError::Unavailable`; items that do not decode as `StoreError::Corrupt`.
#[derive(Debug, Clone)]
pub struct DynamoStateStore {
    client: Client,
    table: String,
}

impl DynamoStateStore {
    /// A store on an existing table (see [`DynamoStateStore::create_table`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStateStore {
            client,
            table: table.into(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table with its index, waits until it is active and turns on TTL.
    ///
    /// For tests and local use; deployments create the table from the SAM template. Does
    /// nothing to a table that already exists beyond turning TTL on.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let op = "create_table";
        let string = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
        };
        let built = |err: aws_sdk_dynamodb::error::BuildError| StoreError::Invalid {
            field: "table",
            reason: err.to_string(),
        };
        let index = LocalSecondaryIndex::builder()
            .index_name(LSI)
            .key_schema(key(PK, KeyType::Hash).map_err(built)?)
            .key_schema(key(LSK, KeyType::Range).map_err(built)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(built)?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(string(PK).map_err(built)?)
            .attribute_definitions(string(SK).map_err(built)?)
            .attribute_definitions(string(LSK).map_err(built)?)
            .key_schema(key(PK, KeyType::Hash).map_err(built)?)
            .key_schema(key(SK, KeyType::Range).map_err(built)?)
            .local_secondary_indexes(index)
            .send()
            .await;
        if let Err(err) = created {
            let exists = err
                .as_service_error()
                .is_some_and(CreateTableError::is_resource_in_use_exception);
            if !exists {
                return Err(failure::sdk(op, &err));
            }
        }

        self.wait_until_active().await?;

        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|err| failure::sdk(op, &err))?;
        let enabled = ttl
            .time_to_live_description()
            .and_then(|d| d.attribute_name())
            == Some(TTL);
        if !enabled {
            self.client
                .update_time_to_live()
                .table_name(&self.table)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(TTL)
                        .enabled(true)
                        .build()
                        .map_err(built)?,
                )
                .send()
                .await
                .map_err(|err| failure::sdk(op, &err))?;
        }
        Ok(())
    }

    async fn wait_until_active(&self) -> Result<(), StoreError> {
        for _ in 0..120 {
            let table = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|err| failure::sdk("create_table", &err))?;
            if table.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(StoreError::Unavailable {
            detail: format!("table {} did not become active within a minute", self.table),
        })
    }
}
