//! The audit trail: one partition per mailbox, sorted by time.

use chrono::Utc;
use mailbridge_store::{AuditEvent, Page, StoreResult};

use super::DynamoStateStore;
use super::action::Action;
use super::directory::{after, check_limit};
use super::items::{self, Fields, attr, key};
use super::keys::{audit_pk, check_id};
use super::requests::{Query, Range, TransactError, key_of};

impl DynamoStateStore {
    pub(crate) async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        // Events of the same instant keep the order they were appended in.
        let appended = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let call = fastrand::u32(..);
        let mut actions = Vec::with_capacity(events.len());
        for (index, event) in events.iter().enumerate() {
            check_id("audit.mailbox", &event.mailbox)?;
            let sk = format!(
                "{}#a#{appended:020}{call:08x}#{index:05}",
                items::time_text(event.at)
            );
            let mut item = key(audit_pk(&event.mailbox), sk);
            item.insert(attr::DOC.to_owned(), items::doc(event)?);
            actions.push(Action::put(item));
        }
        for chunk in actions.chunks(100) {
            match self.transact("append_audit", chunk).await {
                Ok(()) | Err(TransactError::Conditions(_)) => {}
                Err(TransactError::Store(err)) => return Err(err),
            }
        }
        Ok(())
    }

    pub(crate) async fn list_audit(
        &self,
        mailbox: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<AuditEvent>> {
        check_id("mailbox", mailbox)?;
        check_limit(limit)?;
        let pk = audit_pk(mailbox);
        let start = self::after(after)?.map(|after| key(pk.clone(), after));
        let query = Query {
            pk,
            index: false,
            range: Range::All,
        };
        let (items, more) = self.query("list_audit", &query, start, limit).await?;
        let events = items
            .iter()
            .map(|item| Fields::new(item, "audit event").doc::<AuditEvent>())
            .collect::<StoreResult<Vec<_>>>()?;
        // The token is the last event's sort key.
        let next = more
            .then(|| items.last().map(|item| key_of(item).1))
            .flatten();
        Ok(Page {
            items: events,
            next,
        })
    }
}
