//! Errors about contact and event data.

/// Data that cannot be stored as it is; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct DataError {
    /// The field, e.g. `emails` or `recurrence.days`.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl DataError {
    /// An error about `field`.
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> DataError {
        DataError {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A JSON document that does not fit the shape, at the path serde reached.
    pub(crate) fn json(err: serde_path_to_error::Error<serde_json::Error>) -> DataError {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        // Unknown and missing fields are reported at their parent: name the field itself.
        let named = message
            .split('`')
            .nth(1)
            .filter(|_| message.contains("field `"));
        let field = match (path.as_str(), named) {
            (".", Some(name)) => name.to_owned(),
            (".", None) => "body".to_owned(),
            (path, Some(name))
                if message.contains("unknown field") || message.contains("missing field") =>
            {
                format!("{path}.{name}")
            }
            (path, _) => path.to_owned(),
        };
        DataError {
            field,
            reason: message,
        }
    }
}
