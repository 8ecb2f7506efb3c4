//! The simulator's control interface over HTTP, as the demo and other languages' tests use it.

#![allow(dead_code)]

use serde_json::Value;

/// An item id as one path segment: ids are base64, so `/`, `+` and `=` are escaped.
pub fn segment(id: &str) -> String {
    id.replace('%', "%25")
        .replace('/', "%2F")
        .replace('+', "%2B")
        .replace('=', "%3D")
}

/// A JSON client for `/_sim/...`.
pub struct Control {
    pub http: reqwest::Client,
    pub base: String,
}

impl Control {
    pub fn of(env: &crate::harness::Env) -> Control {
        Control {
            http: env.http.clone(),
            base: env.sim.base_url(),
        }
    }

    /// Sends `method path` with an optional JSON body; returns the status and the body as
    /// JSON (`Null` when empty).
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the control interface answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{path}: a JSON body, not {text:?}: {e}"))
        };
        (status, value)
    }

    /// Sends raw bytes with a content type, for bodies that are not JSON.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .body(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("the control interface answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: a JSON body, not {text:?}: {e}"));
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call("PUT", path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call("DELETE", path, None).await
    }
}
