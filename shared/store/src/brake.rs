//! The way past the mass-delete brake. A sync that would delete most of a folder stops and
//! marks the mailbox as needing attention; once someone has checked that the owner really
//! meant those deletes, they say so here. The go-ahead is kept on the mailbox record, so
//! whichever runner syncs the mailbox next (a Lambda instance, the local runner, the CLI)
//! lets the deletes through once.

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::model::{AuditEvent, Expect, Mailbox, MailboxStatus};
use crate::state::{StateStore, StoreResult};

/// The audit action written when someone lets braked deletes through.
pub const DELETES_ACKNOWLEDGED: &str = "brake.acknowledged";

/// Records that `by` lets through the deletes the mass-delete brake stopped for `address`:
/// the mailbox is active again, and its next sync runs with the brake released (and then
/// forgets the go-ahead). Audited under [`DELETES_ACKNOWLEDGED`] with the reason the brake
/// gave.
///
/// Fails with `NotFound` for an unknown mailbox and `Invalid` (field `status`) for one the
/// brake did not stop, saying where it stands; other writers are retried over.
pub async fn acknowledge_deletes<S: StateStore>(
    store: &S,
    address: &str,
    by: &str,
    now: DateTime<Utc>,
) -> StoreResult<Mailbox> {
    let address = address.trim().to_lowercase();
    for _ in 0..5 {
        let mut mailbox =
            store
                .get_mailbox(&address)
                .await?
                .ok_or_else(|| StoreError::NotFound {
                    what: format!("mailbox {address}"),
                })?;
        if mailbox.status != MailboxStatus::NeedsAttention {
            return Err(StoreError::Invalid {
                field: "status",
                reason: format!(
                    "mailbox {address} is {}, not stopped by the mass-delete brake; there \
                     are no deletes to let through",
                    status_words(mailbox.status)
                ),
            });
        }
        let reason = mailbox.attention.take();
        mailbox.status = MailboxStatus::Active;
        mailbox.deletes_acknowledged_by = Some(by.to_owned());
        match store
            .put_mailbox(&mailbox, Expect::Version(mailbox.version))
            .await
        {
            Ok(version) => {
                mailbox.version = version;
                let event = AuditEvent {
                    mailbox: address.clone(),
                    at: now,
                    actor: by.to_owned(),
                    action: DELETES_ACKNOWLEDGED.to_owned(),
                    subject: address.clone(),
                    detail: serde_json::json!({ "brake": reason }).to_string(),
                };
                store.append_audit(&[event]).await?;
                return Ok(mailbox);
            }
            // A sync recording its outcome wrote in between: read again.
            Err(StoreError::Conflict { .. }) => {}
            Err(err) => return Err(err),
        }
    }
    Err(StoreError::Conflict {
        what: format!("mailbox {address}"),
        expected: None,
    })
}

fn status_words(status: MailboxStatus) -> &'static str {
    match status {
        MailboxStatus::Active => "active",
        MailboxStatus::NeedsAttention => "needing attention",
        MailboxStatus::Paused => "paused",
    }
}
