//! `CreateItem`, `UpdateItem` and `DeleteItem`: new ids and change keys, and per-item
//! failures that do not sink the rest of the batch.

use mailbridge_ews::ops::{CreateItem, DeleteItem, UpdateItem};
use mailbridge_ews::types::ChangeKey;
use mailbridge_ews::{ErrorKind, ResponseCode, ResponseError};

use crate::{id, parse};

#[test]
fn a_created_contact_comes_back_with_its_id_and_change_key() {
    let results = parse::<CreateItem>("create_item/contact_created.xml").unwrap();

    assert_eq!(
        results,
        [Ok(Some(id(
            "AAMkAGI2TmV3Q29udGFjdAAA",
            "EQAAABYAAAD4ZjnzAADA"
        )))]
    );
}

#[test]
fn a_sent_message_comes_back_without_an_id() {
    // The fixture also starts with a UTF-8 byte order mark.
    let results = parse::<CreateItem>("create_item/message_sent.xml").unwrap();

    assert_eq!(results, [Ok(None)]);
}

#[test]
fn a_failed_create_stops_the_batch_with_warnings_for_the_rest() {
    let results = parse::<CreateItem>("create_item/batch_stopped.xml").unwrap();

    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0],
        Ok(Some(id("AAMkAGI2TmV3TWVldGluZwAA", "DwAAABYAAAD4ZjnzAADB")))
    );
    let quota = results[1].as_ref().unwrap_err();
    assert_eq!(quota.code, ResponseCode::ErrorQuotaExceeded);
    assert_eq!(quota.kind(), ErrorKind::Fatal);
    assert!(!quota.warning);
    let stopped = results[2].as_ref().unwrap_err();
    assert_eq!(
        stopped,
        &ResponseError {
            code: ResponseCode::ErrorBatchProcessingStopped,
            message: "This item was not processed because an earlier item in the batch failed."
                .into(),
            back_off: None,
            warning: true,
        }
    );
    assert_eq!(stopped.kind(), ErrorKind::Retryable);
}

#[test]
fn an_update_returns_the_new_change_key_or_a_conflict() {
    let results = parse::<UpdateItem>("update_item/success_and_conflict.xml").unwrap();

    assert_eq!(results.len(), 2);
    let updated = results[0].as_ref().unwrap().as_ref().unwrap();
    assert_eq!(updated.id, "AAMkAGI2Q29udGFjdDQyAAA=");
    assert_eq!(
        updated.change_key.as_ref().map(ChangeKey::as_str),
        Some("EQAAABYAAAD4ZjnzAAAy")
    );
    let conflict = results[1].as_ref().unwrap_err();
    assert_eq!(conflict.code, ResponseCode::ErrorIrresolvableConflict);
    assert_eq!(conflict.kind(), ErrorKind::Conflict);
    assert!(
        conflict
            .message
            .contains("does not match the current change key")
    );
    assert_eq!(
        conflict.to_string(),
        format!("ErrorIrresolvableConflict: {}", conflict.message)
    );
}

#[test]
fn a_delete_of_an_item_already_gone_fails_alone() {
    let results = parse::<DeleteItem>("delete_item/success_and_not_found.xml").unwrap();

    assert_eq!(results.len(), 2);
    assert_eq!(results[0], Ok(()));
    let gone = results[1].as_ref().unwrap_err();
    assert_eq!(gone.code, ResponseCode::ErrorItemNotFound);
    assert_eq!(gone.kind(), ErrorKind::NotFound);
    assert_eq!(
        gone.message,
        "The specified object was not found in the store., Can't find an item that matches the specified ID."
    );
}
