//! SOAP faults become typed errors with the EWS code, message and back-off; broken or
//! hostile bodies become malformed-response errors, never panics.

use std::time::Duration;

use mailbridge_ews::ops::{CreateItem, DeleteItem, GetItem, SyncFolderItems};
use mailbridge_ews::{ErrorKind, EwsError, Operation, ResponseCode};

use crate::{load, parse};

/// The fault a fixture holds, checked to be the same whichever operation reads it.
fn fault(path: &str) -> (ResponseCode, String, Option<Duration>, EwsError) {
    let bytes = load(path);
    let texts = [
        SyncFolderItems::parse_envelope(bytes.as_slice()).map(drop),
        GetItem::parse_envelope(bytes.as_slice()).map(drop),
        CreateItem::parse_envelope(bytes.as_slice()).map(drop),
        DeleteItem::parse_envelope(bytes.as_slice()).map(drop),
    ]
    .map(|result| result.expect_err("a fault is an error").to_string());
    assert!(texts.iter().all(|t| *t == texts[0]), "{texts:?}");

    match parse::<GetItem>(path).expect_err("a fault is an error") {
        EwsError::SoapFault {
            code,
            message,
            back_off,
        } => {
            let err = EwsError::SoapFault {
                code: code.clone(),
                message: message.clone(),
                back_off,
            };
            (code, message, back_off, err)
        }
        other => panic!("{path}: expected a SOAP fault, got {other:?}"),
    }
}

#[test]
fn impersonation_refused_is_a_permission_problem() {
    let (code, message, back_off, err) = fault("faults/impersonate_user_denied.xml");

    assert_eq!(code, ResponseCode::ErrorImpersonateUserDenied);
    assert_eq!(
        message,
        "The account does not have permission to impersonate the requested user."
    );
    assert_eq!(back_off, None);
    assert_eq!(err.kind(), ErrorKind::Permission);
    assert!(!err.is_retryable());
    assert_eq!(
        err.response_code(),
        Some(&ResponseCode::ErrorImpersonateUserDenied)
    );
}

#[test]
fn an_unknown_mailbox_is_not_found() {
    let (code, message, back_off, err) = fault("faults/non_existent_mailbox.xml");

    assert_eq!(code, ResponseCode::ErrorNonExistentMailbox);
    assert_eq!(
        message,
        "The SMTP address has no mailbox associated with it."
    );
    // A MessageXml value that is not a back-off is no back-off.
    assert_eq!(back_off, None);
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn a_busy_fault_carries_the_back_off_from_its_detail() {
    let (code, _, back_off, err) = fault("faults/server_busy.xml");

    assert_eq!(code, ResponseCode::ErrorServerBusy);
    assert_eq!(back_off, Some(Duration::from_millis(297_749)));
    assert_eq!(err.kind(), ErrorKind::Throttling);
    assert!(err.is_retryable());
    assert_eq!(err.back_off(), Some(Duration::from_millis(297_749)));
    assert!(err.to_string().contains("ErrorServerBusy"), "{err}");
}

#[test]
fn a_schema_validation_fault_is_fatal_and_keeps_the_servers_explanation() {
    let (code, message, back_off, err) = fault("faults/schema_validation.xml");

    assert_eq!(code, ResponseCode::ErrorSchemaValidation);
    assert!(
        message.starts_with("The request failed schema validation: The element 'Contact'"),
        "{message}"
    );
    assert!(
        message.contains("invalid child element 'Surname'"),
        "{message}"
    );
    assert_eq!(back_off, None);
    assert_eq!(err.kind(), ErrorKind::Fatal);
    assert!(!err.is_retryable());
}

#[test]
fn the_detail_code_wins_over_a_generic_fault_code() {
    let (code, message, _, err) = fault("faults/invalid_impersonation_header.xml");

    // faultcode says only `s:Client`; the EWS code is in the detail.
    assert_eq!(
        code,
        ResponseCode::ErrorInvalidExchangeImpersonationHeaderData
    );
    assert_eq!(
        message,
        "The impersonation header is not valid: <PrimarySmtpAddress> is empty or malformed."
    );
    assert_eq!(err.kind(), ErrorKind::Fatal);
}

/// The malformed-response detail for a broken fixture.
fn malformed(path: &str) -> String {
    match parse::<SyncFolderItems>(path) {
        Err(EwsError::Malformed { detail }) => detail,
        other => panic!("{path}: expected a malformed-response error, got {other:?}"),
    }
}

#[test]
fn hostile_and_broken_bodies_are_malformed_responses() {
    let cases = [
        ("broken/truncated.xml", "end of input"),
        ("broken/empty.xml", "ends early"),
        ("broken/not_xml.txt", "ends early"),
        ("broken/html_error_page.html", "document type"),
        ("broken/doctype_entity.xml", "document type"),
        ("broken/external_entity.xml", "document type"),
        ("broken/not_soap.xml", "SOAP Envelope"),
        ("broken/undeclared_prefix.xml", "undeclared prefix t"),
        ("broken/mismatched_end_tag.xml", "</m:SyncStat>"),
        ("broken/bad_char_ref.xml", "character reference"),
        ("broken/unknown_entity.xml", "nbsp"),
        ("broken/invalid_utf8.xml", "utf-8"),
        ("broken/sync_without_sync_state.xml", "SyncState"),
    ];
    for (path, hint) in cases {
        let detail = malformed(path);
        assert!(
            detail.to_lowercase().contains(&hint.to_lowercase()),
            "{path}: {detail:?} does not mention {hint:?}"
        );
    }
    let all_broken = crate::all_fixtures()
        .into_iter()
        .filter(|f| f.starts_with("broken/"))
        .count();
    assert_eq!(all_broken, cases.len(), "a broken fixture has no case here");
}

#[test]
fn a_malformed_response_may_have_taken_effect_and_is_retryable() {
    let err = parse::<CreateItem>("broken/truncated.xml").unwrap_err();

    assert!(err.may_have_taken_effect());
    assert_eq!(err.kind(), ErrorKind::Retryable);
}

#[test]
fn a_response_for_another_operation_is_malformed() {
    let err = parse::<SyncFolderItems>("get_item/full_contact.xml").unwrap_err();

    let EwsError::Malformed { detail } = &err else {
        panic!("{err:?}");
    };
    assert!(detail.contains("SyncFolderItemsResponse"), "{detail}");
    assert!(detail.contains("GetItemResponse"), "{detail}");
}
