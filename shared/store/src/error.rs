//! What a store can refuse or fail with.

/// A state store's refusal or failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// An optimistic-concurrency check failed: someone else wrote first.
    #[error("{what} was changed by someone else (expected version {expected:?})")]
    Conflict {
        /// What was being written, e.g. `tenant 6a1e…` or `contact crm-17`.
        what: String,
        /// The version the writer expected; `None` means "must not exist yet".
        expected: Option<u64>,
    },
    /// The thing does not exist.
    #[error("{what} does not exist")]
    NotFound {
        /// What was asked for.
        what: String,
    },
    /// The writer's lease has expired or was taken over; its work must stop.
    #[error("the lease on {key} is no longer held by this runner")]
    LeaseLost {
        /// The lease key.
        key: String,
    },
    /// The input cannot be stored as it is.
    #[error("{field}: {reason}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The backend failed (I/O, network, throttling); the operation may be retried.
    #[error("state store unavailable: {detail}")]
    Unavailable {
        /// What went wrong, without any stored value.
        detail: String,
    },
    /// Stored data could not be read back: a bug or tampering, never retried.
    #[error("stored data is corrupt: {detail}")]
    Corrupt {
        /// What could not be read.
        detail: String,
    },
}

impl StoreError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

/// A secret store's refusal or failure. Never carries a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The secret's name is not acceptable.
    #[error("secret name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The local key or the stored file cannot be used (wrong key, tampered file).
    #[error("secret store cannot be opened: {detail}")]
    Locked {
        /// What is wrong.
        detail: String,
    },
    /// The backend failed; the operation may be retried.
    #[error("secret store unavailable: {detail}")]
    Unavailable {
        /// What went wrong.
        detail: String,
    },
}
