//! The API's [`Operations`] carried out with this crate: verification, sending, calendar
//! views and token refresh against Exchange, and "sync now" handed to a [`SyncTrigger`]
//! (an SQS queue in Lambda, a channel to the worker in the local runner).

use std::future::Future;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use mailbridge_api::{
    CalendarEntry, Diagnosis, Operations, OpsError, OutgoingMessage, SendReceipt, StepOutcome,
    VerifyReport, VerifyRequest, VerifyStep,
};
use mailbridge_ews::{EwsClient, EwsError};
use mailbridge_identity::TenantTokens;
use mailbridge_store::{SecretStore, StateStore};
use secrecy::{ExposeSecret, SecretString};

use crate::send::{Attachment, OutgoingMail, SendError};
use crate::tenants::{ClientError, TenantClients};
use crate::verify::{VerifyInput, verify};

/// Starts a sync of one mailbox soon.
pub trait SyncTrigger: Send + Sync {
    /// Queues a sync of `mailbox`; an error says why it could not be queued.
    fn trigger(&self, mailbox: &str) -> impl Future<Output = Result<(), String>> + Send;
}

/// [`Operations`] over the state and secret stores and the tenants' EWS clients.
pub struct ServiceOps<S, K, T> {
    store: Arc<S>,
    secrets: Arc<K>,
    clients: Arc<TenantClients>,
    trigger: T,
}

impl<S: StateStore, K: SecretStore, T: SyncTrigger> ServiceOps<S, K, T> {
    /// Operations over these stores and clients.
    pub fn new(store: Arc<S>, secrets: Arc<K>, clients: Arc<TenantClients>, trigger: T) -> Self {
        ServiceOps {
            store,
            secrets,
            clients,
            trigger,
        }
    }

    async fn client_for(&self, mailbox: &str) -> Result<Arc<EwsClient<TenantTokens>>, OpsError> {
        let address = mailbox.trim().to_lowercase();
        let record = self
            .store
            .get_mailbox(&address)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| OpsError::NotFound {
                what: format!("mailbox {address}"),
            })?;
        let tenant = self
            .store
            .get_tenant(&record.tenant)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| OpsError::NotFound {
                what: format!("tenant {}", record.tenant),
            })?;
        self.clients
            .client(&tenant, &*self.secrets)
            .await
            .map_err(|e| match e {
                ClientError::Secrets(_) => unavailable(e),
                _ => OpsError::Upstream {
                    message: e.to_string(),
                },
            })
    }
}

fn unavailable(err: impl std::fmt::Display) -> OpsError {
    OpsError::Unavailable {
        message: err.to_string(),
    }
}

fn ews_error(err: &EwsError) -> OpsError {
    match err.kind() {
        mailbridge_ews::ErrorKind::Throttling => OpsError::Throttled {
            retry_after_secs: err.back_off().map_or(30, |d| d.as_secs().max(1)),
        },
        mailbridge_ews::ErrorKind::Retryable => unavailable(err),
        _ => OpsError::Upstream {
            message: err.to_string(),
        },
    }
}

impl<S: StateStore, K: SecretStore, T: SyncTrigger> Operations for ServiceOps<S, K, T> {
    async fn verify(&self, request: &VerifyRequest) -> VerifyReport {
        let input = VerifyInput {
            tenant_id: request.tenant_id.clone(),
            client_id: request.client_id.clone(),
            client_secret: SecretString::from(request.client_secret.expose_secret().to_owned()),
            secret_expires: Some(request.secret_expires),
            test_mailbox: request.test_mailbox.clone(),
            authority: request.authority.clone(),
            ews_endpoint: request.ews_endpoint.clone(),
            send_test_message: false,
        };
        let outcome = verify(self.clients.http(), &input).await;
        let failed = outcome.steps.iter().find(|s| !s.ok).map(|s| s.name);
        VerifyReport {
            verified: outcome.verified,
            steps: outcome
                .steps
                .iter()
                .map(|s| VerifyStep {
                    name: s.name.to_owned(),
                    outcome: if s.ok {
                        StepOutcome::Passed
                    } else {
                        StepOutcome::Failed
                    },
                    duration_ms: s.millis,
                    message: s.detail.clone(),
                })
                .collect(),
            diagnosis: outcome.finding.map(|f| Diagnosis {
                step: failed.unwrap_or("setup").to_owned(),
                cause: f.cause,
                fix: f.fix,
            }),
        }
    }

    async fn sync_now(&self, mailbox: &str) -> Result<(), OpsError> {
        self.trigger.trigger(mailbox).await.map_err(unavailable)
    }

    async fn send(
        &self,
        mailbox: &str,
        message: &OutgoingMessage,
        idempotency_key: &str,
    ) -> Result<SendReceipt, OpsError> {
        let mut attachments = Vec::new();
        for a in &message.attachments {
            let content = base64::engine::general_purpose::STANDARD
                .decode(a.content_base64.trim())
                .map_err(|_| OpsError::InvalidInput {
                    field: "attachments.content_base64".into(),
                    reason: "is not valid base64".into(),
                })?;
            attachments.push(Attachment {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                content,
            });
        }
        let mail = OutgoingMail {
            to: message.to.clone(),
            cc: message.cc.clone(),
            bcc: message.bcc.clone(),
            subject: message.subject.clone(),
            text: message.text.clone(),
            html: message.html.clone(),
            attachments,
        };
        let ews = self.client_for(mailbox).await?;
        match crate::send::send(&ews, mailbox.trim(), &mail, idempotency_key).await {
            Ok(sent) => Ok(SendReceipt {
                message_id: None,
                item_id: None,
                replayed: sent.replayed,
            }),
            Err(SendError::Invalid { field, reason }) => Err(OpsError::InvalidInput {
                field: field.to_owned(),
                reason,
            }),
            Err(SendError::Mailbox(err)) => Err(ews_error(&err)),
        }
    }

    async fn calendar_view(
        &self,
        mailbox: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<CalendarEntry>, OpsError> {
        let ews = self.client_for(mailbox).await?;
        let view = crate::calendar::view(&ews, mailbox.trim(), start, end)
            .await
            .map_err(|e| match e {
                crate::CalendarError::Invalid { field, reason } => OpsError::InvalidInput {
                    field: field.to_owned(),
                    reason,
                },
                crate::CalendarError::Mailbox(err) => ews_error(&err),
            })?;
        Ok(view
            .entries
            .into_iter()
            .map(|e| CalendarEntry {
                item_id: e.id,
                crm_id: e.crm_id,
                subject: e.subject,
                location: e.location,
                start: e.start,
                end: e.end,
                all_day: e.all_day,
                show_as: None,
                organizer: None,
                recurring: e.kind != "single",
            })
            .collect())
    }

    async fn refresh_token(&self, tenant: &str) -> Result<(), OpsError> {
        // A rotated or revoked secret must not live on in a cached client or token.
        self.clients.forget(tenant);
        Ok(())
    }
}
