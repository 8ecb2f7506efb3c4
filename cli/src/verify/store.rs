//! `--data DIR`: a verified tenant stored where `mailbridge serve` keeps its state, through
//! the API's own onboarding route served in this process. So the command stores exactly what
//! an onboarding over HTTP stores (the secret in the encrypted secret file, the expiry, the
//! tenant active, its test mailbox, an audit event) and refuses what it refuses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mailbridge_api::{
    ApiConfig, App, CalendarEntry, Operations, OpsError, OutgoingMessage, SendReceipt,
    VerifyReport, VerifyRequest, hash_key, router,
};
use mailbridge_service::Verification;
use mailbridge_store::{LocalSecretFile, SqliteStore};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::options::Target;

/// The stores of a data directory, opened before verifying so a bad directory is named
/// before any time is spent.
pub struct DataDir {
    dir: PathBuf,
    state: SqliteStore,
    secrets: LocalSecretFile,
}

impl DataDir {
    /// Opens (creating when new) the state database and the secret file in `dir`.
    pub fn open(dir: &Path) -> Result<DataDir, String> {
        let (state, secrets) =
            crate::runner::open_stores(dir).map_err(|e| format!("--data: {e}"))?;
        Ok(DataDir {
            dir: dir.to_owned(),
            state,
            secrets,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Stores the tenant that `verification` verified. The error says why it was refused.
    pub async fn onboard(
        self,
        target: &Target,
        name: &str,
        secret: &SecretString,
        verification: &Verification,
    ) -> Result<(), String> {
        // A key for this one request: the route wants an administrator, and nobody else
        // can reach a router that is never bound to a port.
        let admin_key = format!("mba_{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let config = ApiConfig::new(&hash_key(&admin_key)).map_err(|e| e.to_string())?;
        let ops = Verified(mailbridge_service::ops::report(verification));
        let app = Arc::new(App::new(self.state, self.secrets, ops, config));
        let mut body = json!({
            "tenant_id": target.tenant_id,
            "name": name,
            "client_id": target.client_id,
            // LIMIT: the JSON body holds a plain copy of the secret until the route has read it.
            "client_secret": secret.expose_secret(),
            "secret_expires": target.secret_expires.to_string(),
            "test_mailbox": target.mailbox,
        });
        if let Some(url) = &target.authority {
            body["authority"] = json!(url);
        }
        if let Some(url) = &target.ews_url {
            body["ews_endpoint"] = json!(url);
        }
        let request = Request::post("/v1/tenants")
            .header(header::AUTHORIZATION, format!("Bearer {admin_key}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-actor", "mailbridge verify")
            .body(Body::from(body.to_string()))
            .map_err(|e| format!("building the onboarding request: {e}"))?;
        let response = router(app)
            .oneshot(request)
            .await
            .map_err(|e| format!("onboarding: {e}"))?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024)
            .await
            .map_err(|e| format!("reading the onboarding answer: {e}"))?;
        if status == StatusCode::CREATED {
            return Ok(());
        }
        let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Err(refusal(status, &problem))
    }
}

/// The problem document's detail and each named field, in one line.
fn refusal(status: StatusCode, problem: &Value) -> String {
    let mut text = problem["detail"]
        .as_str()
        .map_or_else(|| format!("the API answered {status}"), str::to_owned);
    let fields: Vec<String> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some(format!(
                "{}: {}",
                e["field"].as_str()?,
                e["reason"].as_str()?
            ))
        })
        .collect();
    if !fields.is_empty() {
        text = format!("{text} ({})", fields.join("; "));
    }
    text
}

/// Operations that answer the onboarding route's verification with the outcome this command
/// already has, so the tenant is verified once, with the command's own options.
struct Verified(VerifyReport);

fn not_here() -> OpsError {
    OpsError::Unavailable {
        message: "only onboarding is served while mailbridge verify stores a tenant".into(),
    }
}

impl Operations for Verified {
    async fn verify(&self, _request: &VerifyRequest) -> VerifyReport {
        self.0.clone()
    }

    async fn sync_now(&self, _mailbox: &str) -> Result<(), OpsError> {
        Err(not_here())
    }

    async fn send(
        &self,
        _mailbox: &str,
        _message: &OutgoingMessage,
        _idempotency_key: &str,
    ) -> Result<SendReceipt, OpsError> {
        Err(not_here())
    }

    async fn calendar_view(
        &self,
        _mailbox: &str,
        _start: chrono::DateTime<chrono::Utc>,
        _end: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<CalendarEntry>, OpsError> {
        Err(not_here())
    }

    async fn refresh_token(&self, _tenant: &str) -> Result<(), OpsError> {
        Err(not_here())
    }
}
