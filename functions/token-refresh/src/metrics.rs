//! `CloudWatch` metrics without an SDK call: Embedded Metric Format documents, one JSON
//! object per line on stdout, which `CloudWatch` Logs turns into metrics.
//! See <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// The metric namespace.
pub const NAMESPACE: &str = "mailbridge";

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

/// One EMF document: a set of dimensions and the metrics recorded under them.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    at: DateTime<Utc>,
    dimensions: Vec<(&'static str, String)>,
    metrics: Vec<(&'static str, Unit, i64)>,
}

impl Document {
    /// A document for the metrics recorded at `at`.
    pub fn new(at: DateTime<Utc>) -> Document {
        Document {
            at,
            dimensions: Vec::new(),
            metrics: Vec::new(),
        }
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
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": self.at.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
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
        let line = Document::new(at)
            .dimension("Stage", "prod")
            .dimension("Tenant", "6a1e2c4d")
            .metric("SecretDaysLeft", Unit::None, 9)
            .to_line();

        assert!(!line.contains('\n'));
        let doc: Value = serde_json::from_str(&line).unwrap();
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
    }
}
