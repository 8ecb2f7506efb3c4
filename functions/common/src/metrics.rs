//! `CloudWatch` metrics without an SDK call: Embedded Metric Format documents, one JSON
//! object per line on stdout, which `CloudWatch` Logs turns into metrics.
//! See <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.
//!
//! Every document carries the `Stage` dimension (`infra/monitoring.md`), and a `level` so
//! that Lambda's log level filter keeps the ones alarms depend on.

use std::io::Write as _;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// A metric's unit, as `CloudWatch` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count of things.
    Count,
    /// A plain number (`CloudWatch` has no "days").
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::None => "None",
        }
    }
}

/// Where metric lines go, with the namespace and stage every document carries.
#[derive(Debug)]
pub struct Metrics {
    namespace: String,
    stage: String,
    captured: Option<Mutex<Vec<String>>>,
}

impl Metrics {
    /// Metrics written to stdout, where `CloudWatch` Logs reads them on Lambda.
    pub fn stdout(namespace: impl Into<String>, stage: impl Into<String>) -> Metrics {
        Metrics {
            namespace: namespace.into(),
            stage: stage.into(),
            captured: None,
        }
    }

    /// Metrics kept in memory, for tests to read with [`Metrics::lines`].
    pub fn captured(namespace: impl Into<String>, stage: impl Into<String>) -> Metrics {
        Metrics {
            captured: Some(Mutex::new(Vec::new())),
            ..Metrics::stdout(namespace, stage)
        }
    }

    /// A document at `at` in this namespace, with the `Stage` dimension.
    pub fn document(&self, at: DateTime<Utc>) -> Document {
        Document {
            at,
            namespace: self.namespace.clone(),
            level: None,
            dimensions: vec![("Stage", self.stage.clone())],
            metrics: Vec::new(),
        }
    }

    /// Writes the document as one line. A failed write is logged, never raised: metrics
    /// must not fail the work they describe.
    pub fn emit(&self, document: &Document) {
        let line = document.to_line();
        if let Some(captured) = &self.captured {
            captured
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(line);
            return;
        }
        let mut out = std::io::stdout().lock();
        if let Err(err) = writeln!(out, "{line}").and_then(|()| out.flush()) {
            tracing::warn!(error = %err, "a metric line could not be written");
        }
    }

    /// The lines emitted so far, when captured.
    pub fn lines(&self) -> Vec<String> {
        self.captured.as_ref().map_or_else(Vec::new, |captured| {
            captured
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        })
    }
}

/// One EMF document: a set of dimensions and the metrics recorded under them.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    at: DateTime<Utc>,
    namespace: String,
    level: Option<&'static str>,
    dimensions: Vec<(&'static str, String)>,
    metrics: Vec<(&'static str, Unit, i64)>,
}

impl Document {
    /// Gives the line a log `level` (`ERROR` for a metric an alarm reads, so that no log
    /// level setting drops it).
    #[must_use]
    pub fn level(mut self, level: &'static str) -> Document {
        self.level = Some(level);
        self
    }

    /// Adds a dimension.
    #[must_use]
    pub fn dimension(mut self, name: &'static str, value: impl Into<String>) -> Document {
        self.dimensions.push((name, value.into()));
        self
    }

    /// Adds a metric value.
    #[must_use]
    pub fn metric(mut self, name: &'static str, unit: Unit, value: i64) -> Document {
        self.metrics.push((name, unit, value));
        self
    }

    /// The document as one line of JSON.
    pub fn to_line(&self) -> String {
        let names: Vec<&str> = self.dimensions.iter().map(|(name, _)| *name).collect();
        let definitions: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit.as_str() }))
            .collect();
        let mut root = Map::new();
        if let Some(level) = self.level {
            root.insert("level".to_owned(), Value::from(level));
        }
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": self.at.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [names],
                    "Metrics": definitions,
                }],
            }),
        );
        for (name, value) in &self.dimensions {
            root.insert((*name).to_owned(), Value::from(value.as_str()));
        }
        for (name, _, value) in &self.metrics {
            root.insert((*name).to_owned(), Value::from(*value));
        }
        Value::Object(root).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_names_its_dimensions_and_metrics_beside_their_values() {
        let at = DateTime::from_timestamp_millis(1_733_299_200_000).unwrap();
        let metrics = Metrics::captured("mailbridge", "prod");
        metrics.emit(
            &metrics.document(at).dimension("Tenant", "6a1e2c4d").metric(
                "SecretDaysLeft",
                Unit::None,
                9,
            ),
        );
        let lines = metrics.lines();
        let [line] = lines.as_slice() else {
            panic!("{lines:?}")
        };

        assert!(!line.contains('\n'));
        let doc: Value = serde_json::from_str(line).unwrap();
        assert_eq!(doc["_aws"]["Timestamp"], 1_733_299_200_000_i64);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "mailbridge");
        assert_eq!(directive["Dimensions"], json!([["Stage", "Tenant"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{ "Name": "SecretDaysLeft", "Unit": "None" }])
        );
        assert_eq!(doc["Stage"], "prod");
        assert_eq!(doc["Tenant"], "6a1e2c4d");
        assert_eq!(doc["SecretDaysLeft"], 9);
        assert!(doc.get("level").is_none());
    }

    #[test]
    fn a_level_keeps_an_alarms_metric_past_the_log_level_filter() {
        let at = DateTime::from_timestamp_millis(1_764_831_492_417).unwrap();
        let line = Metrics::stdout("mailbridge", "dev")
            .document(at)
            .level("ERROR")
            .metric("SyncErrors", Unit::Count, 1)
            .to_line();

        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["level"], "ERROR");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Stage"]])
        );
        assert_eq!(doc["SyncErrors"], 1);
    }
}
