//! `DynamoDB`'s errors as the store's errors.
//!
//! Condition failures are told apart by the SDK's typed checks, never by message text;
//! everything else that is not the caller's fault becomes `Unavailable` (retryable).

use std::error::Error;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::CancellationReason;
use mailbridge_store::StoreError;

/// Maps an SDK error that is not a condition failure.
///
/// A `ValidationException` is `DynamoDB` refusing the request as built (an item over 400 KB,
/// a transaction over 4 MB): retrying cannot help, so it is `Invalid`. Throttling, network
/// failures and server errors are `Unavailable`.
pub(crate) fn sdk<E, R>(op: &'static str, err: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(_) if err.code() == Some("ValidationException") => {
            StoreError::Invalid {
                field: "item",
                reason: format!("DynamoDB refused {op}: {}", err.message().unwrap_or("")),
            }
        }
        SdkError::ServiceError(_) => StoreError::Unavailable {
            detail: format!(
                "{op}: {}: {}",
                err.code().unwrap_or("unknown error"),
                err.message().unwrap_or("")
            ),
        },
        _ => StoreError::Unavailable {
            detail: format!("{op}: {}", DisplayErrorContext(err)),
        },
    }
}

/// What one cancelled action of a transaction ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cancelled {
    /// Its condition did not hold.
    Condition,
    /// Nothing: another action cancelled the transaction.
    Nothing,
    /// Something retryable (a concurrent transaction, throttling).
    Other,
}

/// Reads a `TransactionCanceledException`'s reasons, one per action, in action order.
pub(crate) fn cancellation(reasons: &[CancellationReason]) -> Vec<Cancelled> {
    reasons
        .iter()
        .map(|reason| match reason.code() {
            Some("ConditionalCheckFailed") => Cancelled::Condition,
            None | Some("None") => Cancelled::Nothing,
            Some(_) => Cancelled::Other,
        })
        .collect()
}

/// The error for a cancelled transaction no condition explains.
pub(crate) fn cancelled_without_condition(
    op: &'static str,
    reasons: &[CancellationReason],
) -> StoreError {
    let codes: Vec<&str> = reasons
        .iter()
        .filter_map(CancellationReason::code)
        .collect();
    StoreError::Unavailable {
        detail: format!("{op}: transaction cancelled ({})", codes.join(", ")),
    }
}
