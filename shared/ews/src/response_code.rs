//! EWS `ResponseCode` values, each classified by what a caller must do about it.

use crate::error::ErrorKind;

macro_rules! response_codes {
    ($($code:ident => $kind:ident, $doc:literal;)*) => {
        /// An EWS `ResponseCode`. Codes this crate acts on have a variant of their own;
        /// any other keeps its raw text in [`ResponseCode::Other`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[allow(clippy::enum_variant_names)]
        pub enum ResponseCode {
            $(#[doc = $doc] $code,)*
            /// A code without a variant of its own; the raw code is kept.
            Other(String),
        }

        impl ResponseCode {
            /// Reads a code as it appears in `<ResponseCode>` or a fault's `faultcode`.
            pub fn parse(raw: &str) -> ResponseCode {
                // Fault codes carry a prefix (`a:ErrorServerBusy`); the code is what follows.
                let raw = raw.trim();
                let raw = raw.rsplit(':').next().unwrap_or(raw);
                match raw {
                    $(stringify!($code) => ResponseCode::$code,)*
                    other => ResponseCode::Other(other.to_owned()),
                }
            }

            /// The raw code, exactly as Exchange spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ResponseCode::$code => stringify!($code),)*
                    ResponseCode::Other(raw) => raw,
                }
            }

            /// What a caller should do about this code.
            pub fn kind(&self) -> ErrorKind {
                match self {
                    $(ResponseCode::$code => ErrorKind::$kind,)*
                    ResponseCode::Other(_) => ErrorKind::Fatal,
                }
            }
        }
    };
}

response_codes! {
    NoError => Fatal, "Success; never an error on its own.";
    ErrorServerBusy => Throttling, "The server is throttling this caller; wait for the back-off it names.";
    ErrorTooManyObjectsOpened => Throttling, "Too many objects are open for this mailbox; slow down.";
    ErrorExceededConnectionCount => Throttling, "Too many concurrent connections for this caller.";
    ErrorInternalServerTransientError => Retryable, "A transient server failure; retry.";
    ErrorInternalServerError => Retryable, "An internal server failure, usually transient.";
    ErrorMailboxStoreUnavailable => Retryable, "The mailbox database is unavailable for now.";
    ErrorMailboxMoveInProgress => Retryable, "The mailbox is being moved; retry later.";
    ErrorMailboxFailover => Retryable, "The mailbox database is failing over; retry later.";
    ErrorTimeoutExpired => Retryable, "The server timed out processing the request.";
    ErrorConnectionFailed => Retryable, "The server could not reach the mailbox server.";
    ErrorNoApplicableProxyCASServersAvailable => Retryable, "No front-end server could proxy the request.";
    ErrorBatchProcessingStopped => Retryable, "An earlier item in the batch failed, so this one was not tried.";
    ErrorAccessDenied => Permission, "The caller lacks permission for this action or mailbox.";
    ErrorImpersonateUserDenied => Permission, "The app may not impersonate this mailbox.";
    ErrorImpersonationDenied => Permission, "Impersonation is not allowed for this account.";
    ErrorImpersonationFailed => Permission, "Impersonation of the named mailbox failed.";
    ErrorSendAsDenied => Permission, "The caller may not send as this address.";
    ErrorNonExistentMailbox => NotFound, "The named mailbox does not exist.";
    ErrorItemNotFound => NotFound, "The item does not exist (deleted or never there).";
    ErrorFolderNotFound => NotFound, "The folder does not exist.";
    ErrorSyncFolderNotFound => NotFound, "The folder being synchronised does not exist.";
    ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange => NotFound, "No occurrence at that index.";
    ErrorIrresolvableConflict => Conflict, "The item changed since the change key was read.";
    ErrorStaleObject => Conflict, "The item changed since it was read.";
    ErrorInvalidChangeKey => Conflict, "The change key is not valid for this item.";
    ErrorInvalidSyncStateData => InvalidSyncState, "The sync state is no longer valid; resynchronise.";
    ErrorInvalidRequest => Fatal, "The request is not valid.";
    ErrorSchemaValidation => Fatal, "The request does not match the EWS schema.";
    ErrorInvalidIdMalformed => Fatal, "An item or folder id is malformed.";
    ErrorInvalidIdEmpty => Fatal, "An item or folder id is empty.";
    ErrorInvalidRecipients => Fatal, "A recipient address is not valid.";
    ErrorInvalidSmtpAddress => Fatal, "An SMTP address is not valid.";
    ErrorMessageSizeExceeded => Fatal, "The message is larger than the server accepts.";
    ErrorInvalidPropertySet => Fatal, "A property cannot be set this way.";
    ErrorInvalidPropertyRequest => Fatal, "A property cannot be requested this way.";
    ErrorInvalidExtendedPropertyValue => Fatal, "An extended property value is not valid.";
    ErrorInvalidExchangeImpersonationHeaderData => Fatal, "The impersonation header is not valid.";
    ErrorInvalidServerVersion => Fatal, "The requested server version is not supported.";
    ErrorChangeKeyRequiredForWriteOperations => Fatal, "An update was sent without a change key.";
    ErrorQuotaExceeded => Fatal, "The mailbox is over its quota.";
    ErrorCorruptData => Fatal, "The item's data is corrupt.";
    ErrorItemSave => Fatal, "The item could not be saved.";
    ErrorCannotDeleteObject => Fatal, "The item cannot be deleted.";
    ErrorMissingEmailAddress => Fatal, "The mailbox has no e-mail address.";
    ErrorMissingRecipients => Fatal, "A message to send has no recipients.";
    ErrorCalendarInvalidRecurrence => Fatal, "The recurrence is not valid.";
    ErrorCalendarEndDateIsEarlierThanStartDate => Fatal, "An event ends before it starts.";
    ErrorInvalidOperation => Fatal, "The operation is not valid for this item.";
    ErrorExceededFindCountLimit => Fatal, "The view asks for more items than the server returns at once.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_codes_keep_their_raw_text() {
        assert_eq!(
            ResponseCode::parse("ErrorServerBusy"),
            ResponseCode::ErrorServerBusy
        );
        assert_eq!(
            ResponseCode::parse("a:ErrorServerBusy").as_str(),
            "ErrorServerBusy"
        );
        let odd = ResponseCode::parse("ErrorSomethingNew");
        assert_eq!(odd, ResponseCode::Other("ErrorSomethingNew".into()));
        assert_eq!(odd.as_str(), "ErrorSomethingNew");
        assert_eq!(odd.kind(), ErrorKind::Fatal);
    }

    #[test]
    fn codes_are_classified_for_the_caller() {
        assert_eq!(ResponseCode::ErrorServerBusy.kind(), ErrorKind::Throttling);
        assert_eq!(
            ResponseCode::ErrorInvalidSyncStateData.kind(),
            ErrorKind::InvalidSyncState
        );
        assert_eq!(
            ResponseCode::ErrorIrresolvableConflict.kind(),
            ErrorKind::Conflict
        );
        assert_eq!(ResponseCode::ErrorItemNotFound.kind(), ErrorKind::NotFound);
        assert_eq!(
            ResponseCode::ErrorImpersonateUserDenied.kind(),
            ErrorKind::Permission
        );
        assert_eq!(
            ResponseCode::ErrorMailboxStoreUnavailable.kind(),
            ErrorKind::Retryable
        );
    }
}
