//! The API's [`Operations`] on Lambda: Exchange work through `mailbridge-service` with the
//! tenant's stored credentials, and "sync now" as a message on the sync queue.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use mailbridge_api::{
    CalendarEntry, Diagnosis, Operations, OpsError, OutgoingMessage, SendReceipt, StepOutcome,
    VerifyReport, VerifyRequest, VerifyStep,
};
use mailbridge_ews::{ErrorKind, EwsClient, EwsError};
use mailbridge_fn_common::SyncRequest;
use mailbridge_fn_common::exchange::{MailboxClientError, client_for_mailbox};
use mailbridge_fn_common::queue::SyncQueue;
use mailbridge_fn_common::tokens::{TokenError, fetch_token};
use mailbridge_identity::TenantTokens;
use mailbridge_service::calendar::{self, CalendarError};
use mailbridge_service::tenants::{ClientError, TenantClients};
use mailbridge_service::{OutgoingMail, SendError, Verification, VerifyInput};
use mailbridge_store::{SecretStore, StateStore};

/// The reason written on sync requests the API queues.
pub const SYNC_REASON: &str = "api";

/// Exchange work for the API, on the function's stores, tenant clients and sync queue.
pub struct ExchangeOps<S, K, Q> {
    state: S,
    secrets: K,
    clients: TenantClients,
    queue: Q,
}

impl<S: StateStore, K: SecretStore, Q: SyncQueue> ExchangeOps<S, K, Q> {
    /// Operations on these stores, clients and queue.
    pub fn new(state: S, secrets: K, clients: TenantClients, queue: Q) -> ExchangeOps<S, K, Q> {
        ExchangeOps {
            state,
            secrets,
            clients,
            queue,
        }
    }

    /// The EWS client of the mailbox's tenant.
    async fn ews_for(&self, mailbox: &str) -> Result<Arc<EwsClient<TenantTokens>>, OpsError> {
        client_for_mailbox(&self.state, &self.secrets, &self.clients, mailbox)
            .await
            .map_err(|err| match err {
                MailboxClientError::UnknownMailbox(_) | MailboxClientError::UnknownTenant(_) => {
                    OpsError::NotFound {
                        what: "the mailbox".to_owned(),
                    }
                }
                MailboxClientError::Client(err) => client_error(err),
                MailboxClientError::Store(err) => OpsError::Unavailable {
                    message: format!("state store: {err}"),
                },
            })
    }
}

impl<S, K, Q> Operations for ExchangeOps<S, K, Q>
where
    S: StateStore,
    K: SecretStore,
    Q: SyncQueue,
{
    async fn verify(&self, request: &VerifyRequest) -> VerifyReport {
        let input = VerifyInput {
            tenant_id: request.tenant_id.clone(),
            client_id: request.client_id.clone(),
            client_secret: request.client_secret.clone(),
            secret_expires: Some(request.secret_expires),
            test_mailbox: request.test_mailbox.clone(),
            authority: request.authority.clone(),
            ews_endpoint: request.ews_endpoint.clone(),
            send_test_message: false,
        };
        report(&mailbridge_service::verify(self.clients.http(), &input).await)
    }

    async fn sync_now(&self, mailbox: &str) -> Result<(), OpsError> {
        let request = SyncRequest::new(mailbox, SYNC_REASON);
        let failures = self
            .queue
            .send_batch(std::slice::from_ref(&request))
            .await
            .map_err(|err| OpsError::Unavailable {
                message: err.to_string(),
            })?;
        match failures.first() {
            Some(failure) => Err(OpsError::Unavailable {
                message: format!("the sync queue refused the request ({})", failure.code),
            }),
            None => Ok(()),
        }
    }

    async fn send(
        &self,
        mailbox: &str,
        message: &OutgoingMessage,
        idempotency_key: &str,
    ) -> Result<SendReceipt, OpsError> {
        let mail = outgoing_mail(message)?;
        let ews = self.ews_for(mailbox).await?;
        let sent = mailbridge_service::send(&ews, mailbox, &mail, idempotency_key)
            .await
            .map_err(|err| match err {
                SendError::Invalid { field, reason } => OpsError::InvalidInput {
                    field: field.to_owned(),
                    reason,
                },
                SendError::Mailbox(err) => ews_error(&err),
            })?;
        // LIMIT: service::send does not report the Message-ID or the Sent Items copy's id,
        // so the receipt leaves them out.
        Ok(SendReceipt {
            message_id: None,
            item_id: None,
            replayed: sent.replayed,
        })
    }

    async fn calendar_view(
        &self,
        mailbox: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<CalendarEntry>, OpsError> {
        let ews = self.ews_for(mailbox).await?;
        // LIMIT: a view cut short at the service's entry limit is returned as it is; the
        // API's entry list has no way to say it is truncated.
        let view = calendar::view(&ews, mailbox, start, end)
            .await
            .map_err(|err| match err {
                CalendarError::Invalid { field, reason } => OpsError::InvalidInput {
                    field: field.to_owned(),
                    reason,
                },
                CalendarError::Mailbox(err) => ews_error(&err),
            })?;
        Ok(view
            .entries
            .into_iter()
            .map(|entry| CalendarEntry {
                item_id: entry.id,
                crm_id: entry.crm_id,
                subject: entry.subject,
                location: entry.location,
                start: entry.start,
                end: entry.end,
                all_day: entry.all_day,
                show_as: None,
                organizer: None,
                recurring: entry.kind != "single",
            })
            .collect())
    }

    async fn refresh_token(&self, tenant: &str) -> Result<(), OpsError> {
        // After a rotation: drop the client and tokens made with the old secret.
        self.clients.forget(tenant);
        let record = self
            .state
            .get_tenant(tenant)
            .await
            .map_err(|err| OpsError::Unavailable {
                message: format!("state store: {err}"),
            })?
            .ok_or_else(|| OpsError::NotFound {
                what: "the tenant".to_owned(),
            })?;
        fetch_token(&self.clients, &record, &self.secrets)
            .await
            .map_err(|err| token_error(&err))
    }
}

/// The service's verification in the API's terms.
fn report(verification: &Verification) -> VerifyReport {
    let steps: Vec<VerifyStep> = verification
        .steps
        .iter()
        .map(|step| VerifyStep {
            name: step.name.to_owned(),
            outcome: if step.ok {
                StepOutcome::Passed
            } else {
                StepOutcome::Failed
            },
            duration_ms: step.millis,
            message: step.detail.clone(),
        })
        .collect();
    let failed_step = steps
        .iter()
        .find(|step| step.outcome == StepOutcome::Failed)
        .map(|step| step.name.clone());
    let diagnosis = verification.finding.as_ref().map(|finding| Diagnosis {
        step: failed_step.unwrap_or_else(|| format!("{:?}", finding.stage)),
        cause: finding.cause.clone(),
        fix: finding.fix.clone(),
    });
    VerifyReport {
        verified: verification.verified,
        steps,
        diagnosis,
    }
}

/// The API's message as the service's, attachments decoded.
fn outgoing_mail(message: &OutgoingMessage) -> Result<OutgoingMail, OpsError> {
    let attachments = message
        .attachments
        .iter()
        .enumerate()
        .map(|(n, attachment)| {
            let content = STANDARD
                .decode(attachment.content_base64.as_bytes())
                .map_err(|_| OpsError::InvalidInput {
                    field: format!("attachments[{n}].content_base64"),
                    reason: "is not standard padded base64".to_owned(),
                })?;
            Ok(mailbridge_service::Attachment {
                name: attachment.name.clone(),
                content_type: attachment.content_type.clone(),
                content,
            })
        })
        .collect::<Result<Vec<_>, OpsError>>()?;
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

fn client_error(err: ClientError) -> OpsError {
    match err {
        ClientError::Secrets(message) => OpsError::Unavailable {
            message: format!("secret store: {message}"),
        },
        other => OpsError::Upstream {
            message: other.to_string(),
        },
    }
}

fn ews_error(err: &EwsError) -> OpsError {
    let message = err.to_string();
    match err.kind() {
        ErrorKind::Throttling => OpsError::Throttled {
            retry_after_secs: err.back_off().map_or(30, |wait| wait.as_secs().max(1)),
        },
        ErrorKind::Retryable => OpsError::Unavailable { message },
        ErrorKind::NotFound => OpsError::NotFound {
            what: "the mailbox (in Exchange)".to_owned(),
        },
        ErrorKind::Auth
        | ErrorKind::Permission
        | ErrorKind::Conflict
        | ErrorKind::InvalidSyncState
        | ErrorKind::Fatal => OpsError::Upstream { message },
    }
}

fn token_error(err: &TokenError) -> OpsError {
    if err.is_retryable() {
        return OpsError::Unavailable {
            message: err.to_string(),
        };
    }
    let message = match err.admin_fix() {
        Some(fix) => format!("{err}; {fix}"),
        None => err.to_string(),
    };
    OpsError::Upstream { message }
}
