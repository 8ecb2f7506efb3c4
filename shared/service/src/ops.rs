//! The API's [`Operations`] carried out with this crate: verification, sending, calendar
//! views and token refresh against Exchange, "sync now" handed to a [`SyncTrigger`] and
//! sends to retry handed to a [`SendRetryQueue`] (SQS queues in Lambda, channels to the
//! workers in the local runner).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use mailbridge_api::{
    CalendarEntry, Diagnosis, Operations, OpsError, OutgoingMessage, QueuedSend, SendReceipt,
    StepOutcome, VerifyReport, VerifyRequest, VerifyStep,
};
use mailbridge_ews::{EwsClient, EwsError};
use mailbridge_identity::TenantTokens;
use mailbridge_store::{SecretStore, StateStore};
use secrecy::{ExposeSecret, SecretString};

use crate::send::{Attachment, OutgoingMail, SendError};
use crate::tenants::{ClientError, TenantClients};
use crate::verify::{Verification, VerifyInput, verify};

/// Starts a sync of one mailbox soon.
pub trait SyncTrigger: Send + Sync {
    /// Queues a sync of `mailbox`; an error says why it could not be queued.
    fn trigger(&self, mailbox: &str) -> impl Future<Output = Result<(), String>> + Send;
}

/// Where sends that failed for now wait to be tried again.
pub trait SendRetryQueue: Send + Sync {
    /// Queues `queued` (its message is already spooled) to be tried after `delay`; an error
    /// says why it could not be queued.
    fn enqueue(
        &self,
        queued: &QueuedSend,
        delay: Duration,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// No retry queue: every send to retry is refused, so the API answers with the send's own
/// error.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRetryQueue;

impl SendRetryQueue for NoRetryQueue {
    async fn enqueue(&self, _queued: &QueuedSend, _delay: Duration) -> Result<(), String> {
        Err("this runner has no send retry queue".to_owned())
    }
}

/// [`Operations`] over the state and secret stores and the tenants' EWS clients.
pub struct ServiceOps<S, K, T, R = NoRetryQueue> {
    store: Arc<S>,
    secrets: Arc<K>,
    clients: Arc<TenantClients>,
    trigger: T,
    retry: R,
}

impl<S: StateStore, K: SecretStore, T: SyncTrigger> ServiceOps<S, K, T> {
    /// Operations over these stores and clients, without a retry queue (see
    /// [`ServiceOps::with_retry_queue`]).
    pub fn new(store: Arc<S>, secrets: Arc<K>, clients: Arc<TenantClients>, trigger: T) -> Self {
        ServiceOps {
            store,
            secrets,
            clients,
            trigger,
            retry: NoRetryQueue,
        }
    }
}

impl<S: StateStore, K: SecretStore, T: SyncTrigger, R: SendRetryQueue> ServiceOps<S, K, T, R> {
    /// The same operations, queueing sends that failed for now on `retry`.
    pub fn with_retry_queue<Q: SendRetryQueue>(self, retry: Q) -> ServiceOps<S, K, T, Q> {
        ServiceOps {
            store: self.store,
            secrets: self.secrets,
            clients: self.clients,
            trigger: self.trigger,
            retry,
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

/// The API's message as the sender takes it: attachments decoded from base64.
pub fn outgoing_mail(message: &OutgoingMessage) -> Result<OutgoingMail, OpsError> {
    let mut attachments = Vec::with_capacity(message.attachments.len());
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
    Ok(OutgoingMail {
        to: message.to.clone(),
        cc: message.cc.clone(),
        bcc: message.bcc.clone(),
        subject: message.subject.clone(),
        text: message.text.clone(),
        html: message.html.clone(),
        attachments,
    })
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

impl<S, K, T, R> Operations for ServiceOps<S, K, T, R>
where
    S: StateStore,
    K: SecretStore,
    T: SyncTrigger,
    R: SendRetryQueue,
{
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
        report(&verify(self.clients.http(), &input).await)
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
        let mail = outgoing_mail(message)?;
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

    async fn queue_send(&self, queued: &QueuedSend, delay: Duration) -> Result<(), OpsError> {
        self.retry.enqueue(queued, delay).await.map_err(unavailable)
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

/// A verification's outcome in the API's terms: its steps, and the failed step's diagnosis.
pub fn report(outcome: &Verification) -> VerifyReport {
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
        diagnosis: outcome.finding.as_ref().map(|f| Diagnosis {
            step: failed.unwrap_or("setup").to_owned(),
            cause: f.cause.clone(),
            fix: f.fix.clone(),
        }),
    }
}
