//! Reading requests: JSON bodies within the route's size limit, query parameters and path
//! segments, each refusal naming the field as a problem response.

use std::str::FromStr;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use http::header;
use http::request::Parts;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, FieldError};
use crate::request::RouteInfo;

/// The body limit of a route that sets none (256 KiB).
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// A JSON body of type `T`: `application/json`, within the route's size limit, no unknown
/// fields (the types deny them), every refusal naming the field.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let limit = request
            .extensions()
            .get::<RouteInfo>()
            .map_or(DEFAULT_BODY_LIMIT, |route| route.body_limit);
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }

        let bytes = match Limited::new(request.into_body(), limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => return Err(ApiError::TooLarge { limit }),
            Err(_) => return Err(ApiError::malformed("body", "could not be read in full")),
        };
        parse_json(&bytes).map(JsonBody)
    }
}

/// Reads JSON, naming the field that is wrong: 400 when it is not JSON at all, 422 when it
/// is JSON of the wrong shape.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_data() {
            let (named, reason) = plain_reason(&inner.to_string());
            ApiError::Invalid(vec![FieldError::new(join_path(&path, named), reason)])
        } else {
            ApiError::malformed("body", "is not valid JSON")
        }
    })?;
    deserializer
        .end()
        .map_err(|_| ApiError::malformed("body", "has data after the JSON value"))?;
    Ok(value)
}

/// `path` (serde's, `.` at the top) with a field named by the message appended, unless
/// the path already ends with it (serde's path includes an unknown field, not a missing one).
pub fn join_path(path: &str, named: Option<String>) -> String {
    match (path, named) {
        (".", Some(name)) => name,
        (".", None) => "body".to_owned(),
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => {
            path.to_owned()
        }
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    }
}

/// A serde message in plain words, without the position and without the offending value
/// (which could be a secret typed into the wrong field). Returns the field the message
/// names (unknown and missing fields are reported at their parent) and the reason.
pub fn plain_reason(message: &str) -> (Option<String>, String) {
    let message = message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at]);
    let quoted = message.split('`').nth(1).map(str::to_owned);
    let expected = message
        .split_once(", expected ")
        .map(|(_, expected)| expected.to_owned());
    if message.starts_with("unknown field") {
        return (quoted, "is not a known field".to_owned());
    }
    if message.starts_with("missing field") {
        return (quoted, "is required".to_owned());
    }
    if message.starts_with("invalid type")
        || message.starts_with("invalid value")
        || message.starts_with("invalid length")
        || message.starts_with("unknown variant")
    {
        let reason = expected.map_or_else(
            || "has the wrong type".to_owned(),
            |e| format!("must be {e}"),
        );
        return (None, reason);
    }
    (None, message.to_owned())
}

/// The query string, taken one parameter at a time; anything not taken is refused.
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Ok(QueryParams { pairs })
    }
}

impl QueryParams {
    /// The parameter's value; an empty value counts as absent, a repeated one is refused.
    pub fn take(&mut self, name: &str) -> Result<Option<String>, ApiError> {
        let mut found: Vec<String> = Vec::new();
        self.pairs.retain(|(k, v)| {
            if k == name {
                found.push(v.clone());
                false
            } else {
                true
            }
        });
        if found.len() > 1 {
            return Err(ApiError::malformed(name, "is given more than once"));
        }
        Ok(found.pop().filter(|v| !v.is_empty()))
    }

    /// The parameter read as `T`; `what` describes the expected form.
    pub fn parse<T: FromStr>(&mut self, name: &str, what: &str) -> Result<Option<T>, ApiError> {
        self.take(name)?
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| ApiError::malformed(name, format!("must be {what}")))
            })
            .transpose()
    }

    /// A page size: `default` when absent, 1 to `max`.
    pub fn limit(&mut self, default: usize, max: usize) -> Result<usize, ApiError> {
        let limit = self
            .parse::<usize>("limit", "a whole number")?
            .unwrap_or(default);
        if limit == 0 || limit > max {
            return Err(ApiError::malformed("limit", format!("must be 1 to {max}")));
        }
        Ok(limit)
    }

    /// Refuses parameters no one took.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.pairs.is_empty() {
            return Ok(());
        }
        Err(ApiError::Malformed(
            self.pairs
                .into_iter()
                .map(|(k, _)| FieldError::new(k, "is not a known parameter"))
                .collect(),
        ))
    }
}

/// Path segments, refused as a problem when they do not decode.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| PathParams(value))
            .map_err(|_| ApiError::malformed("path", "a path segment is not valid UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_reason_drops_the_offending_value() {
        let (field, reason) =
            plain_reason("invalid type: string \"hunter2\", expected u64 at line 1 column 20");
        assert_eq!(field, None);
        assert_eq!(reason, "must be u64");
        assert!(!reason.contains("hunter2"));
    }

    #[test]
    fn plain_reason_names_unknown_and_missing_fields() {
        let (field, reason) = plain_reason("unknown field `colour`, expected one of `a`, `b`");
        assert_eq!(
            (field.as_deref(), reason.as_str()),
            (Some("colour"), "is not a known field")
        );
        let (field, reason) = plain_reason("missing field `subject` at line 1 column 2");
        assert_eq!(
            (field.as_deref(), reason.as_str()),
            (Some("subject"), "is required")
        );
    }

    #[test]
    fn json_errors_name_nested_fields() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Inner {
            #[allow(dead_code)]
            n: u32,
        }
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        struct Outer {
            #[allow(dead_code)]
            items: Vec<Inner>,
        }
        let Err(ApiError::Invalid(errors)) = parse_json::<Outer>(br#"{"items":[{"n":1},{"m":2}]}"#)
        else {
            panic!("expected a field error");
        };
        assert_eq!(errors[0].field, "items[1].m");
        assert!(matches!(
            parse_json::<Outer>(b"{not json"),
            Err(ApiError::Malformed(_))
        ));
    }
}
