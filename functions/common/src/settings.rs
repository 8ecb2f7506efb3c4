//! The functions' settings, read from the environment variables `template.yaml` sets.

use std::time::Duration;

/// The `DynamoDB` table that holds mailbridge's state.
pub const TABLE_NAME: &str = "TABLE_NAME";
/// The prefix of every secret mailbridge keeps in Secrets Manager, e.g. `mailbridge/prod/`.
pub const SECRET_PREFIX: &str = "SECRET_PREFIX";
/// The deployment stage (`dev`, `prod`…), a dimension of every metric.
pub const STAGE: &str = "STAGE";
/// The `CloudWatch` namespace of the functions' metrics (default `mailbridge`).
pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
/// The URL of the SQS queue that carries mailbox sync requests.
pub const SYNC_QUEUE_URL: &str = "SYNC_QUEUE_URL";
/// The URL of the SQS queue that carries sends to retry.
pub const SEND_RETRY_QUEUE_URL: &str = "SEND_RETRY_QUEUE_URL";
/// The `EventBridge` bus for the stage's events (a client secret nearing expiry).
pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
/// Minutes between two syncs of one mailbox: match it to the sync schedule's rate.
pub const SYNC_INTERVAL_MINUTES: &str = "SYNC_INTERVAL_MINUTES";

/// The sync interval when [`SYNC_INTERVAL_MINUTES`] is not set (the template's default
/// schedule, `rate(5 minutes)`).
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_mins(5);
/// The metric namespace when [`METRICS_NAMESPACE`] is not set.
pub const DEFAULT_METRICS_NAMESPACE: &str = "mailbridge";

/// A setting that is missing or unusable. The message names the variable to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The variable is not set (or empty).
    #[error("environment variable {name} is not set: it must hold {what}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// What it must hold.
        what: &'static str,
    },
    /// The variable is set to something that cannot be used.
    #[error("environment variable {name} is not usable: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
}

/// Everything a function reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// [`TABLE_NAME`].
    pub table_name: String,
    /// [`SECRET_PREFIX`].
    pub secret_prefix: String,
    /// [`STAGE`].
    pub stage: String,
    /// [`METRICS_NAMESPACE`], or [`DEFAULT_METRICS_NAMESPACE`].
    pub metrics_namespace: String,
    /// [`SYNC_QUEUE_URL`], which only the functions that queue syncs need.
    pub sync_queue_url: Option<String>,
    /// [`SEND_RETRY_QUEUE_URL`], which only the functions that queue sends need.
    pub send_retry_queue_url: Option<String>,
    /// [`EVENT_BUS_NAME`], which only token-refresh needs.
    pub event_bus: Option<String>,
    /// [`SYNC_INTERVAL_MINUTES`], or [`DEFAULT_SYNC_INTERVAL`].
    pub sync_interval: Duration,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, which returns a variable's value (tests pass a
    /// map here instead of changing the process environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let get = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let required = |name: &'static str, what: &'static str| {
            get(name).ok_or(SettingsError::Missing { name, what })
        };

        let table_name = required(TABLE_NAME, "the name of the DynamoDB state table")?;
        check_table_name(&table_name)?;
        let secret_prefix = required(SECRET_PREFIX, "the Secrets Manager name prefix")?;
        check_secret_prefix(&secret_prefix)?;
        let stage = required(STAGE, "the deployment stage, e.g. prod")?;
        check_stage(&stage)?;
        let metrics_namespace =
            get(METRICS_NAMESPACE).unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned());
        check_namespace(&metrics_namespace)?;
        let sync_queue_url = get(SYNC_QUEUE_URL);
        if let Some(url) = &sync_queue_url {
            check_queue_url(SYNC_QUEUE_URL, url)?;
        }
        let send_retry_queue_url = get(SEND_RETRY_QUEUE_URL);
        if let Some(url) = &send_retry_queue_url {
            check_queue_url(SEND_RETRY_QUEUE_URL, url)?;
        }
        let event_bus = get(EVENT_BUS_NAME);
        let sync_interval = match get(SYNC_INTERVAL_MINUTES) {
            Some(text) => parse_minutes(&text)?,
            None => DEFAULT_SYNC_INTERVAL,
        };

        Ok(Settings {
            table_name,
            secret_prefix,
            stage,
            metrics_namespace,
            sync_queue_url,
            send_retry_queue_url,
            event_bus,
            sync_interval,
        })
    }

    /// The sync queue's URL, for the functions that cannot work without it.
    pub fn require_sync_queue_url(&self) -> Result<&str, SettingsError> {
        self.sync_queue_url
            .as_deref()
            .ok_or(SettingsError::Missing {
                name: SYNC_QUEUE_URL,
                what: "the URL of the SQS queue for mailbox syncs",
            })
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// `DynamoDB`'s rule for table names: 3 to 255 of letters, digits, `_`, `-` and `.`.
fn check_table_name(name: &str) -> Result<(), SettingsError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
    if (3..=255).contains(&name.len()) && name.chars().all(allowed) {
        Ok(())
    } else {
        Err(invalid(
            TABLE_NAME,
            "a table name is 3 to 255 letters, digits, '_', '-' or '.'",
        ))
    }
}

/// The characters Secrets Manager allows in names; the store checks the rest.
fn check_secret_prefix(prefix: &str) -> Result<(), SettingsError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c);
    if prefix.len() <= 256 && prefix.chars().all(allowed) {
        Ok(())
    } else {
        Err(invalid(
            SECRET_PREFIX,
            "a prefix holds at most 256 letters, digits or / _ + = . @ -",
        ))
    }
}

fn check_stage(stage: &str) -> Result<(), SettingsError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-';
    if stage.len() <= 32 && stage.chars().all(allowed) {
        Ok(())
    } else {
        Err(invalid(
            STAGE,
            "a stage is at most 32 letters, digits or '-'",
        ))
    }
}

fn check_queue_url(name: &'static str, text: &str) -> Result<(), SettingsError> {
    let url = url::Url::parse(text).map_err(|err| invalid(name, err.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(invalid(name, "a queue URL is an http(s) URL"));
    }
    Ok(())
}

/// `CloudWatch`'s rule for namespaces, less the ones reserved for AWS.
fn check_namespace(namespace: &str) -> Result<(), SettingsError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-/#:".contains(c);
    if (1..=255).contains(&namespace.len())
        && namespace.chars().all(allowed)
        && !namespace.starts_with("AWS/")
    {
        Ok(())
    } else {
        Err(invalid(
            METRICS_NAMESPACE,
            "a namespace is 1 to 255 letters, digits or . _ - / # :, not starting with AWS/",
        ))
    }
}

fn parse_minutes(text: &str) -> Result<Duration, SettingsError> {
    match text.parse::<u64>() {
        Ok(minutes @ 1..=1440) => Ok(Duration::from_mins(minutes)),
        _ => Err(invalid(
            SYNC_INTERVAL_MINUTES,
            format!("{text:?} is not a whole number of minutes from 1 to 1440"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    const BASE: [(&str, &str); 3] = [
        (TABLE_NAME, "mailbridge-prod-state"),
        (SECRET_PREFIX, "mailbridge/prod/"),
        (STAGE, "prod"),
    ];

    #[test]
    fn the_required_variables_are_enough() {
        let settings = read(&BASE).unwrap();
        assert_eq!(settings.table_name, "mailbridge-prod-state");
        assert_eq!(settings.metrics_namespace, "mailbridge");
        assert_eq!(settings.event_bus, None);
        assert_eq!(settings.secret_prefix, "mailbridge/prod/");
        assert_eq!(settings.stage, "prod");
        assert_eq!(settings.sync_interval, DEFAULT_SYNC_INTERVAL);
        assert_eq!(settings.sync_queue_url, None);
    }

    #[test]
    fn each_missing_variable_is_named() {
        for skip in [TABLE_NAME, SECRET_PREFIX, STAGE] {
            let vars: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != skip).collect();
            let err = read(&vars).unwrap_err();
            assert!(
                matches!(err, SettingsError::Missing { name, .. } if name == skip),
                "{err}"
            );
            assert!(err.to_string().contains(skip), "{err}");
        }
    }

    #[test]
    fn an_empty_variable_counts_as_missing() {
        let mut vars = BASE.to_vec();
        vars[0].1 = "  ";
        assert!(matches!(
            read(&vars),
            Err(SettingsError::Missing {
                name: TABLE_NAME,
                ..
            })
        ));
    }

    #[test]
    fn bad_values_are_refused_naming_the_variable() {
        let cases = [
            (TABLE_NAME, "no spaces allowed"),
            (METRICS_NAMESPACE, "AWS/Lambda"),
            (SEND_RETRY_QUEUE_URL, "send-retry"),
            (SECRET_PREFIX, "mailbridge/prod/#"),
            (STAGE, "prod stage"),
            (SYNC_QUEUE_URL, "sqs-queue"),
            (SYNC_QUEUE_URL, "ftp://queue.example/1/q"),
            (SYNC_INTERVAL_MINUTES, "0"),
            (SYNC_INTERVAL_MINUTES, "five"),
            (SYNC_INTERVAL_MINUTES, "99999"),
        ];
        for (name, value) in cases {
            let mut vars: Vec<_> = BASE.iter().copied().filter(|(k, _)| *k != name).collect();
            vars.push((name, value));
            let err = read(&vars).unwrap_err();
            assert!(
                matches!(&err, SettingsError::Invalid { name: n, .. } if *n == name),
                "{name}={value}: {err}"
            );
        }
    }

    #[test]
    fn the_queue_url_and_interval_are_read_when_set() {
        let mut vars = BASE.to_vec();
        vars.push((
            SYNC_QUEUE_URL,
            "https://sqs.eu-west-1.amazonaws.com/123456789012/mailbridge-sync",
        ));
        vars.push((SYNC_INTERVAL_MINUTES, "15"));
        let settings = read(&vars).unwrap();
        assert_eq!(settings.sync_interval, Duration::from_mins(15));
        assert_eq!(
            settings.require_sync_queue_url().unwrap(),
            "https://sqs.eu-west-1.amazonaws.com/123456789012/mailbridge-sync"
        );
    }

    #[test]
    fn a_function_that_needs_the_queue_says_so() {
        let err = read(&BASE).unwrap().require_sync_queue_url().unwrap_err();
        assert!(err.to_string().contains(SYNC_QUEUE_URL), "{err}");
    }
}
