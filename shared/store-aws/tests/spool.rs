//! Spooled payloads on `DynamoDB` (moto): what the conformance suite cannot see, namely that
//! a payload is cut into parts each under the 400 KB item limit, and that a payload missing a
//! part, or holding a part of another write, is reported instead of returned.

#![allow(clippy::unwrap_used)]

mod moto;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use mailbridge_store::{StateStore, StoreError};
use mailbridge_store_aws::DynamoStateStore;

const MB: &str = "agent@brokerage.example";
const KEY: &str = "crm-outbox-17";
const DAY: Duration = Duration::from_hours(24);
/// The partition of (`MB`, `KEY`), as `infra/dynamodb.md` lays it out.
const PK: &str = "spool#agent@brokerage.example#crm-outbox-17";

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
}

async fn client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&moto::config_for(moto::url()).await)
}

/// Every item of the spool partition, in sort-key order (a query page holds 1 MB).
async fn items(store: &DynamoStateStore) -> Vec<HashMap<String, AttributeValue>> {
    let client = client().await;
    let mut all = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .query()
            .table_name(store.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(PK.to_owned()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        all.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key.filter(|key| !key.is_empty());
        if start.is_none() {
            return all;
        }
    }
}

#[tokio::test]
async fn a_payload_of_megabytes_is_cut_into_parts_under_the_item_limit() {
    let store = moto::state_store().await;
    let now = Utc::now();
    let big = payload(2 * 1024 * 1024 + 5);

    store.put_spool(MB, KEY, &big, DAY, now).await.unwrap();

    let stored = items(&store).await;
    let sort_keys: Vec<&str> = stored
        .iter()
        .map(|i| i["sk"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(sort_keys.first(), Some(&"head"), "{sort_keys:?}");
    assert_eq!(stored.len(), 1 + 7, "{sort_keys:?}");
    for item in &stored[1..] {
        let bytes = item["payload"].as_b().unwrap().as_ref().len();
        assert!(bytes <= 300 * 1024, "a part holds {bytes} bytes");
        assert_eq!(
            item["ttl"].as_n().unwrap().parse::<i64>().unwrap(),
            now.timestamp() + 86_400
        );
    }
    assert_eq!(store.get_spool(MB, KEY, now).await.unwrap(), big);

    store.delete_spool(MB, KEY).await.unwrap();
    assert!(
        items(&store).await.is_empty(),
        "delete leaves no part behind"
    );
}

#[tokio::test]
async fn a_payload_missing_a_part_is_reported_incomplete() {
    let store = moto::state_store().await;
    let now = Utc::now();
    store
        .put_spool(MB, KEY, &payload(1024 * 1024), DAY, now)
        .await
        .unwrap();
    client()
        .await
        .delete_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(PK.to_owned()))
        .key("sk", AttributeValue::S("part#000001".to_owned()))
        .send()
        .await
        .unwrap();

    let err = store.get_spool(MB, KEY, now).await.unwrap_err();

    let StoreError::Corrupt { detail } = &err else {
        panic!("want Corrupt, got {err:?}");
    };
    assert!(detail.contains("part 2 of 4 is missing"), "{detail}");
    assert!(detail.contains(KEY) && detail.contains(MB), "{detail}");
}

#[tokio::test]
async fn a_part_left_by_another_write_is_reported_not_mixed_in() {
    let store = moto::state_store().await;
    let now = Utc::now();
    store
        .put_spool(MB, KEY, &payload(700 * 1024), DAY, now)
        .await
        .unwrap();
    client()
        .await
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(PK.to_owned()))
        .key("sk", AttributeValue::S("part#000000".to_owned()))
        .update_expression("SET #w = :other")
        .expression_attribute_names("#w", "write")
        .expression_attribute_values(":other", AttributeValue::S("0123456789abcdef".to_owned()))
        .send()
        .await
        .unwrap();

    let err = store.get_spool(MB, KEY, now).await.unwrap_err();

    assert!(
        matches!(&err, StoreError::Corrupt { detail } if detail.contains("another write")),
        "{err:?}"
    );
}

#[tokio::test]
async fn parts_without_their_head_read_as_nothing_spooled_until_a_put_completes() {
    let store = moto::state_store().await;
    let now = Utc::now();
    let first = payload(400 * 1024);
    store.put_spool(MB, KEY, &first, DAY, now).await.unwrap();
    // A put that died after its first step (removing the head) leaves parts and no head.
    client()
        .await
        .delete_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(PK.to_owned()))
        .key("sk", AttributeValue::S("head".to_owned()))
        .send()
        .await
        .unwrap();

    assert!(matches!(
        store.get_spool(MB, KEY, now).await,
        Err(StoreError::NotFound { .. })
    ));

    let second = payload(100);
    store.put_spool(MB, KEY, &second, DAY, now).await.unwrap();
    assert_eq!(store.get_spool(MB, KEY, now).await.unwrap(), second);
}

#[tokio::test]
async fn a_smaller_payload_replacing_a_larger_one_removes_its_extra_parts() {
    let store = moto::state_store().await;
    let now = Utc::now();
    store
        .put_spool(MB, KEY, &payload(1024 * 1024), DAY, now)
        .await
        .unwrap();

    store.put_spool(MB, KEY, b"short", DAY, now).await.unwrap();

    assert_eq!(items(&store).await.len(), 2, "the head and one part");
    assert_eq!(store.get_spool(MB, KEY, now).await.unwrap(), b"short");
}
