//! Planning one delta page: which changes to fetch, each item's plan (twins of one record
//! included), and at the end of an enumeration the linked items it did not see.

use std::collections::{HashMap, HashSet};

use mailbridge_mailbox::{BackendError, Change, ItemRef, MailboxBackend, RemoteItem};
use mailbridge_store::{Folder, Link, StateStore};

use super::{Enumeration, FETCH_BATCH, LIST_PAGE};
use crate::engine::{Engine, kind, parse};
use crate::error::SyncError;
use crate::plan::{Action, CrmSide, plan_delete, plan_upsert};
use crate::report::FolderReport;

impl<S: StateStore, B: MailboxBackend> Engine<'_, S, B> {
    pub(crate) async fn crm_side(
        &self,
        folder: Folder,
        crm_id: &str,
    ) -> Result<Option<CrmSide>, SyncError> {
        Ok(self
            .store
            .get_record(&self.mailbox, folder, crm_id)
            .await?
            .map(|r| CrmSide::from_record(&r, |d| parse(folder, d))))
    }

    pub(super) async fn plan_page(
        &self,
        folder: Folder,
        changes: &[Change],
        mut enumeration: Option<&mut Enumeration>,
        report: &mut FolderReport,
    ) -> Result<(Vec<Action>, usize), SyncError> {
        let mut actions = Vec::new();
        // Linked items this page reports deleted, for the brake.
        let mut gone = 0;
        let mut to_fetch: Vec<(ItemRef, Option<Link>)> = Vec::new();
        // Only the last change of an item in a page counts.
        let mut last_change: HashMap<&str, usize> = HashMap::new();
        for (n, change) in changes.iter().enumerate() {
            let id = match change {
                Change::Upsert { item, .. } => item.id.as_str(),
                Change::Delete { id } => id.as_str(),
            };
            last_change.insert(id, n);
        }
        for (n, change) in changes.iter().enumerate() {
            match change {
                Change::Upsert { item, crm_id } => {
                    if last_change.get(item.id.as_str()) != Some(&n) {
                        continue;
                    }
                    if let Some(e) = enumeration.as_deref_mut() {
                        e.seen.insert(item.id.clone());
                    }
                    let mut link = self
                        .store
                        .link_by_item_id(&self.mailbox, folder, &item.id)
                        .await?;
                    if link.is_none()
                        && let Some(stamp) = crm_id
                    {
                        link = self
                            .store
                            .link_by_crm_id(&self.mailbox, folder, stamp)
                            .await?;
                    }
                    match link {
                        // Our own write coming back, or a change already taken in.
                        Some(l) if l.item_id == item.id && l.change_key == item.change_key => {
                            actions.push(Action::Refresh {
                                crm_id: l.crm_id,
                                item: item.clone(),
                            });
                        }
                        link => to_fetch.push((item.clone(), link)),
                    }
                }
                Change::Delete { id } => {
                    if last_change.get(id.as_str()) != Some(&n) {
                        continue;
                    }
                    let link = self
                        .store
                        .link_by_item_id(&self.mailbox, folder, id)
                        .await?;
                    let crm = match &link {
                        Some(l) => {
                            gone += 1;
                            self.crm_side(folder, &l.crm_id).await?
                        }
                        None => None,
                    };
                    actions.push(plan_delete(id, link.as_ref(), crm.as_ref()));
                }
            }
        }
        for batch in to_fetch.chunks(FETCH_BATCH) {
            let ids: Vec<String> = batch.iter().map(|(item, _)| item.id.clone()).collect();
            let fetched = self.backend.fetch(kind(folder), &ids).await?;
            report.fetched += fetched.len();
            for ((_, link), result) in batch.iter().zip(fetched) {
                let remote = match result {
                    Ok(remote) => remote,
                    // Gone since the delta was read: its delete arrives with a later page.
                    Err(BackendError::NotFound) => continue,
                    Err(err) => return Err(err.into()),
                };
                let remote = match self.twin(folder, remote, link.as_ref()).await? {
                    Ok(action) => {
                        actions.push(action);
                        continue;
                    }
                    Err(remote) => remote,
                };
                let action = self
                    .plan_fetched(folder, remote, link.as_ref(), enumeration.as_deref_mut())
                    .await?;
                actions.push(action);
            }
        }
        Ok((actions, gone))
    }

    /// When `remote` found its link by our stamp but the link names another item, and the
    /// mailbox still holds that one, `remote` is planned by [`crate::plan::plan_twin`]
    /// (`Ok`); otherwise it is handed back to be planned as usual (`Err`). The linked item
    /// is read once more, only in this case (a move gives an item a new id, and then the
    /// old one is gone).
    async fn twin(
        &self,
        folder: Folder,
        remote: RemoteItem,
        link: Option<&Link>,
    ) -> Result<Result<Action, RemoteItem>, SyncError> {
        let Some(link) = link.filter(|l| l.item_id != remote.item.id) else {
            return Ok(Err(remote));
        };
        let fetched = self
            .backend
            .fetch(kind(folder), std::slice::from_ref(&link.item_id))
            .await?;
        match fetched.into_iter().next() {
            Some(Ok(_)) => {
                let record = self.crm_side(folder, &link.crm_id).await?;
                let data = record.as_ref().and_then(|r| r.data.as_ref());
                Ok(Ok(crate::plan::plan_twin(
                    remote,
                    link,
                    data,
                    &link.item_id,
                )))
            }
            Some(Err(BackendError::NotFound)) | None => Ok(Err(remote)),
            Some(Err(err)) => Err(err.into()),
        }
    }

    async fn plan_fetched(
        &self,
        folder: Folder,
        remote: RemoteItem,
        link: Option<&Link>,
        enumeration: Option<&mut Enumeration>,
    ) -> Result<Action, SyncError> {
        let crm = match link {
            Some(l) => self.crm_side(folder, &l.crm_id).await?,
            None => None,
        };
        // The planner asks for at most two records by id (the stamp, or the id derived
        // from the item, and a match); read them up front so planning stays pure.
        let mut known: HashMap<String, Option<CrmSide>> = HashMap::new();
        if link.is_none() {
            let mut wanted = vec![crate::plan::crm_id_for_item(&remote.item.id)];
            wanted.extend(remote.crm_id.clone());
            if let Some(e) = enumeration.as_deref()
                && let crate::matching::MatchOutcome::Matched(id, _) = e.matching.peek(&remote.data)
            {
                wanted.push(id);
            }
            for id in wanted {
                let side = self.crm_side(folder, &id).await?;
                known.insert(id, side);
            }
        }
        Ok(plan_upsert(
            remote,
            link,
            crm.as_ref(),
            enumeration.map(|e| &mut e.matching),
            |id| known.get(id).cloned().flatten(),
        ))
    }

    /// At the end of an enumeration: linked items the mailbox no longer has.
    pub(super) async fn unseen(
        &self,
        folder: Folder,
        seen: &HashSet<String>,
    ) -> Result<Vec<Action>, SyncError> {
        let mut actions = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list_links(&self.mailbox, folder, after.as_deref(), LIST_PAGE)
                .await?;
            for link in page.items {
                if seen.contains(&link.item_id) {
                    continue;
                }
                let crm = self.crm_side(folder, &link.crm_id).await?;
                actions.push(plan_delete(&link.item_id, Some(&link), crm.as_ref()));
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(actions),
            }
        }
    }
}
