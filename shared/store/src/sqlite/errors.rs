//! `SQLite` failures as store errors.

use rusqlite::ErrorCode;

use crate::error::StoreError;

/// Maps a `SQLite` failure: lock contention and I/O trouble may pass and are retryable;
/// anything about the stored bytes is not.
#[allow(clippy::needless_pass_by_value)] // used as `map_err(sql)`
pub(super) fn sql(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::PermissionDenied
            | ErrorCode::OutOfMemory
            | ErrorCode::FileLockingProtocolFailed
            | ErrorCode::OperationInterrupted
            | ErrorCode::NoLargeFileSupport => StoreError::Unavailable {
                detail: error.to_string(),
            },
            _ => StoreError::Corrupt {
                detail: error.to_string(),
            },
        },
        rusqlite::Error::InvalidPath(_) => StoreError::Unavailable {
            detail: "the database path cannot be used".to_owned(),
        },
        _ => StoreError::Corrupt {
            detail: error.to_string(),
        },
    }
}

/// Whether the failure is a uniqueness constraint (a second row for a unique key).
pub(super) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn contention_and_io_are_retryable_and_bad_bytes_are_not() {
        for code in [
            rusqlite::ffi::SQLITE_BUSY,
            rusqlite::ffi::SQLITE_IOERR,
            rusqlite::ffi::SQLITE_FULL,
        ] {
            assert!(sql(failure(code)).is_retryable(), "code {code}");
        }
        for code in [rusqlite::ffi::SQLITE_CORRUPT, rusqlite::ffi::SQLITE_NOTADB] {
            assert!(
                matches!(sql(failure(code)), StoreError::Corrupt { .. }),
                "code {code}"
            );
        }
        assert!(is_unique_violation(&failure(
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        )));
        assert!(!is_unique_violation(&failure(
            rusqlite::ffi::SQLITE_CONSTRAINT_NOTNULL
        )));
    }
}
