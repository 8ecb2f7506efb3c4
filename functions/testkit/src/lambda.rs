//! Lambda invocation contexts and event files for handler tests.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Context, LambdaEvent};
use serde::de::DeserializeOwned;

/// A context for one invocation with `request_id` and five minutes left, as Lambda gives.
pub fn context(request_id: &str) -> Context {
    let deadline = SystemTime::now() + Duration::from_mins(5);
    let mut context = Context::default();
    request_id.clone_into(&mut context.request_id);
    context.deadline = deadline.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    });
    "arn:aws:lambda:us-east-1:123456789012:function:mailbridge-test"
        .clone_into(&mut context.invoked_function_arn);
    context
}

/// The event in the JSON file at `path`, with a fresh context, as the runtime would hand it
/// to a handler. `{{name}}` in the file is replaced by the value `vars` gives for `name`.
pub fn event<T: DeserializeOwned>(path: impl AsRef<Path>, vars: &[(&str, &str)]) -> LambdaEvent<T> {
    let path = path.as_ref();
    let mut text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    for (name, value) in vars {
        text = text.replace(&format!("{{{{{name}}}}}"), value);
    }
    let payload = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not the expected event: {err}", path.display()));
    LambdaEvent::new(payload, context("c0ffee00-0000-4000-8000-000000000001"))
}
