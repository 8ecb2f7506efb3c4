//! The `OpenAPI` description against the router: it parses, it lists exactly the routes the
//! router serves (with their operation names and path parameters), its references resolve,
//! and every route it lists answers rather than falling through to "no such route".

#![allow(clippy::unwrap_used)]

mod harness;

use std::collections::BTreeSet;

use harness::{ADMIN_KEY, Harness, MAILBOX_A, TENANT_A, req};
use mailbridge_api::{OPENAPI_JSON, served_routes};
use mailbridge_store::{LocalSecretFile, SqliteStore};
use serde_json::Value;

const METHODS: [&str; 4] = ["get", "post", "put", "delete"];

fn doc() -> Value {
    serde_json::from_str(OPENAPI_JSON).unwrap()
}

/// (METHOD, path, operationId) of every operation in the description.
fn documented(doc: &Value) -> BTreeSet<(String, String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                METHODS.contains(&method.as_str()),
                "{path}: unexpected key {method}"
            );
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            found.insert((method.to_uppercase(), path.clone(), id));
        }
    }
    found
}

/// Follows a `$ref` within the document.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> Option<&'a Value> {
    match value["$ref"].as_str() {
        Some(reference) => doc.pointer(reference.strip_prefix('#')?),
        None => Some(value),
    }
}

/// Every `$ref` anywhere in `value`.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => references(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

#[test]
fn the_description_lists_exactly_the_routes_the_router_serves() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");

    let served: BTreeSet<(String, String, String)> =
        served_routes::<SqliteStore, LocalSecretFile, harness::TestOps>()
            .into_iter()
            .map(|r| {
                (
                    r.verb.as_str().to_owned(),
                    r.path.to_owned(),
                    r.op.to_owned(),
                )
            })
            .collect();

    assert_eq!(documented(&doc), served);
}

#[test]
fn every_reference_resolves_and_every_path_parameter_is_described() {
    let doc = doc();
    let mut refs = Vec::new();
    references(&doc, &mut refs);
    assert!(refs.len() > 50);
    for reference in &refs {
        let target = doc.pointer(reference.strip_prefix('#').unwrap());
        assert!(target.is_some(), "{reference} does not resolve");
    }

    for (path, item) in doc["paths"].as_object().unwrap() {
        let segments: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for (method, op) in item.as_object().unwrap() {
            let params: Vec<&Value> = op["parameters"]
                .as_array()
                .map(|ps| ps.iter().filter_map(|p| resolve(&doc, p)).collect())
                .unwrap_or_default();
            let in_path: BTreeSet<&str> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(in_path, segments, "{method} {path}");
            assert!(
                params
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .all(|p| p["required"] == true)
            );
        }
    }
}

#[test]
fn errors_are_described_as_problems() {
    let doc = doc();
    let problem = &doc["components"]["schemas"]["Problem"];
    let required: Vec<&str> = problem["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, ["type", "title", "status", "detail", "errors"]);
    assert_eq!(
        problem["properties"]["errors"]["items"]["$ref"],
        "#/components/schemas/FieldError"
    );

    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for (status, response) in responses.iter().filter(|(s, _)| s.as_str() >= "400") {
                let response = resolve(&doc, response).unwrap();
                let schema = &response["content"]["application/problem+json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
            if path != "/openapi.json" {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents no 401"
                );
            }
        }
    }
}

#[tokio::test]
async fn the_served_description_is_the_same_and_every_listed_route_answers() {
    let (h, _, _) = Harness::with_two_tenants().await;
    let served = req("GET", "/openapi.json").send(&h).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.headers["content-type"], "application/json");
    assert_eq!(served.body, doc());

    for (method, path, _) in documented(&doc()) {
        let concrete = path
            .replace("{id}", TENANT_A)
            .replace("{address}", MAILBOX_A)
            .replace("{crm_id}", "c1");
        let answer = req(&method, &concrete).key(ADMIN_KEY).send(&h).await;
        assert_ne!(
            answer.body["type"], "urn:mailbridge:problem:no-such-route",
            "{method} {path}"
        );
        assert_ne!(answer.status, 405, "{method} {path}");
    }
}
