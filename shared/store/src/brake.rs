//! The way past the mass-delete brake. A sync that would delete most of a folder stops,
//! records the pull it stopped on the mailbox and marks it as needing attention; once
//! someone has checked that the owner really meant those deletes, they say so here. The
//! go-ahead is kept on the mailbox record, so whichever runner syncs the mailbox next (a
//! Lambda instance, the local runner, the CLI) lets that folder's deletes through, about as
//! many as were checked, once.

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::model::{AuditEvent, DeletesGoAhead, Expect, Mailbox, MailboxStatus};
use crate::state::{StateStore, StoreResult};

/// The audit action written when someone lets braked deletes through.
pub const DELETES_ACKNOWLEDGED: &str = "brake.acknowledged";

/// Records that `by` lets through the deletes the mass-delete brake stopped for `address`:
/// the mailbox is active again, and its next sync applies that pull's deletes (see
/// [`DeletesGoAhead`]). Audited under [`DELETES_ACKNOWLEDGED`] with what the brake
/// reported.
///
/// A mailbox that needs attention with no braked pull on record (written before it was
/// kept) is made active without a go-ahead: its next sync brakes again if it must, and
/// records what it stopped.
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
        let braked = mailbox.braked.take();
        let reason = mailbox.attention.take();
        mailbox.status = MailboxStatus::Active;
        mailbox.deletes_go_ahead = braked.as_ref().map(|b| DeletesGoAhead {
            by: by.to_owned(),
            folder: b.folder,
            deletes: b.deletes,
        });
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
                    detail: serde_json::json!({ "brake": reason, "braked": braked }).to_string(),
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

/// Forgets `go_ahead` once the sync it allowed went through, unless someone gave another
/// meanwhile. `false` when other writers kept winning (the go-ahead then stays, bounded by
/// its folder and count).
pub async fn clear_go_ahead<S: StateStore>(
    store: &S,
    address: &str,
    go_ahead: &DeletesGoAhead,
) -> StoreResult<bool> {
    for _ in 0..5 {
        let Some(mut mailbox) = store.get_mailbox(address).await? else {
            return Ok(true);
        };
        if mailbox.deletes_go_ahead.as_ref() != Some(go_ahead) {
            return Ok(true);
        }
        mailbox.deletes_go_ahead = None;
        match store
            .put_mailbox(&mailbox, Expect::Version(mailbox.version))
            .await
        {
            Ok(_) => return Ok(true),
            Err(StoreError::Conflict { .. }) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(false)
}

fn status_words(status: MailboxStatus) -> &'static str {
    match status {
        MailboxStatus::Active => "active",
        MailboxStatus::NeedsAttention => "needing attention",
        MailboxStatus::Paused => "paused",
    }
}
