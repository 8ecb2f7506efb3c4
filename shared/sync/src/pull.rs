//! The pull: the mailbox's changes, a page at a time, each page's effects committed with
//! the cursor after it.

use std::collections::HashSet;

use mailbridge_mailbox::{BackendError, Change, FETCH_BATCH, MailboxBackend};
use mailbridge_store::{Folder, Lease, StateStore, StoreError};
use tracing::{debug, info};

use crate::engine::{Engine, kind, link_put, parse};
use crate::error::SyncError;
use crate::matching::MatchIndex;
use crate::plan::{Action, plan_delete};
use crate::report::FolderReport;

mod brake;
mod page;

/// Links and records are listed in pages of this size.
const LIST_PAGE: usize = 500;

/// What one run knows while it enumerates a folder from scratch.
struct Enumeration {
    matching: MatchIndex,
    seen: HashSet<String>,
}

/// The mass-delete brake's count over one whole pull.
#[derive(Default)]
struct DeleteCount {
    /// CRM records deleted by the pages committed so far (planned so far, in a dry run).
    deletes: usize,
    /// Linked items those pages saw leave the mailbox.
    gone: usize,
    /// The whole pull's `gone`, as last read ahead and let through.
    cleared: Option<usize>,
}

/// A page's planned actions and what they delete.
struct PlannedPage {
    actions: Vec<Action>,
    /// CRM records deleted.
    deletes: usize,
    /// Linked items reported gone.
    gone: usize,
}

/// What one pass over a folder's links found.
#[derive(Default)]
struct LinkScan {
    count: usize,
    unconfirmed: Vec<String>,
    crm_ids: HashSet<String>,
}

impl<S: StateStore, B: MailboxBackend> Engine<'_, S, B> {
    pub(crate) async fn pull(
        &self,
        folder: Folder,
        lease: &mut Lease,
        report: &mut FolderReport,
        dry_run: bool,
        verify: &[String],
    ) -> Result<(), SyncError> {
        let mut seen: HashSet<String> = HashSet::new();
        let cursor = self.store.get_cursor(&self.mailbox, folder).await?;
        let links = self.scan_links(folder, !cursor.enumerated).await?;
        let (linked, unconfirmed) = (links.count, links.unconfirmed);
        // An enumeration is only trusted whole: one cut short starts again from the top,
        // so that "not seen" reliably means "deleted".
        let mut enumeration = if cursor.enumerated {
            None
        } else {
            Some(self.start_enumeration(folder, Some(links.crm_ids)).await?)
        };
        let mut state = if cursor.enumerated {
            cursor.sync_state.clone()
        } else {
            None
        };
        let mut retries = 0;
        let mut count = DeleteCount::default();
        loop {
            if !dry_run {
                self.renew(lease).await?;
            }
            let page = match self.backend.delta(kind(folder), state.as_deref()).await {
                Ok(page) => page,
                Err(BackendError::CursorInvalid) if state.is_some() => {
                    enumeration = Some(self.enumerate_again(folder, report).await?);
                    state = None;
                    if dry_run {
                        // Nothing planned before counts: the enumeration plans it all again.
                        count = DeleteCount::default();
                        report.forget_planned();
                    }
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            report.pages += 1;
            seen.extend(page.changes.iter().filter_map(|c| match c {
                Change::Upsert { item, .. } => Some(item.id.clone()),
                Change::Delete { .. } => None,
            }));
            let mark = enumeration.as_ref().map(|e| e.matching.mark());
            let (mut actions, mut page_gone) = self
                .plan_page(folder, &page.changes, enumeration.as_mut(), report)
                .await?;
            let last = !page.more;
            if last && let Some(e) = &enumeration {
                let unseen = self.unseen(folder, &e.seen).await?;
                page_gone += unseen.len();
                actions.extend(unseen);
            }
            let planned = PlannedPage {
                deletes: actions
                    .iter()
                    .filter(|a| matches!(a, Action::CrmDelete { .. }))
                    .count(),
                gone: page_gone,
                actions,
            };
            if dry_run {
                self.plan_only(&planned, &mut count, last.then_some(linked), report);
            } else {
                if !self
                    .brake_whole_pull(folder, lease, &page, &planned, &mut count, linked)
                    .await?
                {
                    enumeration = Some(self.enumerate_again(folder, report).await?);
                    state = None;
                    continue;
                }
                let (deletes, gone) = (planned.deletes, planned.gone);
                let cursor = (page.cursor.clone(), last || enumeration.is_none());
                if !self
                    .commit_page(folder, lease, cursor, planned.actions, report, &mut retries)
                    .await?
                {
                    if let (Some(e), Some(mark)) = (enumeration.as_mut(), mark) {
                        e.matching.rewind(mark);
                    }
                    continue;
                }
                count.deletes += deletes;
                count.gone += gone;
            }
            state = Some(page.cursor);
            if last {
                if dry_run {
                    return Ok(());
                }
                let unreported = unreported(verify, &unconfirmed, &seen);
                return self
                    .verify_created(folder, lease, report, &unreported)
                    .await;
            }
        }
    }

    /// A dry run's page: its actions listed, its deletes counted, and on the last page
    /// (`linked` given) whether the brake would stop the pull.
    fn plan_only(
        &self,
        planned: &PlannedPage,
        count: &mut DeleteCount,
        linked: Option<usize>,
        report: &mut FolderReport,
    ) {
        count.deletes += planned.deletes;
        count.gone += planned.gone;
        if let Some(linked) = linked
            && self.trips(count.deletes, count.gone, linked)
        {
            report.would_brake = Some((count.deletes.max(count.gone), linked));
        }
        for action in &planned.actions {
            report.count(action);
            report.planned.push(action.to_string());
        }
    }

    /// The folder's cursor is no longer valid: enumerate it from scratch.
    async fn enumerate_again(
        &self,
        folder: Folder,
        report: &mut FolderReport,
    ) -> Result<Enumeration, SyncError> {
        info!(%folder, "sync cursor invalid: enumerating the folder again");
        report.reenumerated = true;
        self.start_enumeration(folder, None).await
    }

    /// Commits a page's actions with the cursor after it (and whether an enumeration is
    /// complete with it). `false`: the commit lost a race with a CRM write, and the page
    /// is to be planned again from the same cursor (sync states can be reused).
    async fn commit_page(
        &self,
        folder: Folder,
        lease: &Lease,
        (cursor, complete): (String, bool),
        actions: Vec<Action>,
        report: &mut FolderReport,
        retries: &mut u32,
    ) -> Result<bool, SyncError> {
        let mut commit = self.commit(folder, lease);
        commit.cursor = Some((Some(cursor), complete));
        for action in actions {
            self.apply(folder, action, &mut commit, report).await?;
        }
        match self.store.commit(&commit).await {
            Ok(_) => {
                *retries = 0;
                Ok(true)
            }
            Err(StoreError::Conflict { what, .. }) if *retries < self.config.commit_retries => {
                debug!(%what, "commit lost a race with a CRM write; planning the page again");
                *retries += 1;
                Ok(false)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Items we created that the pull did not report: those gone from the mailbox were
    /// deleted before we could see them, and their records follow.
    // LIMIT: these deletes do not count towards the mass-delete brake (only items created in the last run and never seen by a pull are checked here).
    async fn verify_created(
        &self,
        folder: Folder,
        lease: &Lease,
        report: &mut FolderReport,
        ids: &[String],
    ) -> Result<(), SyncError> {
        for batch in ids.chunks(FETCH_BATCH) {
            let fetched = self.backend.fetch(kind(folder), batch).await?;
            let mut commit = self.commit(folder, lease);
            for (id, result) in batch.iter().zip(fetched) {
                match result {
                    Err(BackendError::NotFound) => {
                        let link = self
                            .store
                            .link_by_item_id(&self.mailbox, folder, id)
                            .await?;
                        let crm = match &link {
                            Some(l) => self.crm_side(folder, &l.crm_id).await?,
                            None => None,
                        };
                        let action = plan_delete(id, link.as_ref(), crm.as_ref());
                        self.apply(folder, action, &mut commit, report).await?;
                    }
                    Ok(_) => {
                        // Still there: a later pull reports any change to it as usual.
                        if let Some(mut link) = self
                            .store
                            .link_by_item_id(&self.mailbox, folder, id)
                            .await?
                        {
                            link.unconfirmed = false;
                            commit.links.push(link_put(link));
                        }
                    }
                    Err(err) => return Err(err.into()),
                }
            }
            if !commit.records.is_empty() || !commit.links.is_empty() {
                self.store.commit(&commit).await?;
            }
        }
        Ok(())
    }

    /// The folder's links as a pull starts: how many, which of their items we created
    /// without a pull having seen them since, and, when `with_ids` (an enumeration
    /// follows), their CRM ids.
    async fn scan_links(&self, folder: Folder, with_ids: bool) -> Result<LinkScan, SyncError> {
        let mut scan = LinkScan::default();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list_links(&self.mailbox, folder, after.as_deref(), LIST_PAGE)
                .await?;
            scan.count += page.items.len();
            for link in page.items {
                if link.unconfirmed {
                    scan.unconfirmed.push(link.item_id);
                }
                if with_ids {
                    scan.crm_ids.insert(link.crm_id);
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(scan),
            }
        }
    }

    /// Starts enumerating `folder`: CRM records no link knows become candidates for
    /// matching. `linked` is the linked CRM ids when the caller just read them; `None`
    /// reads them now (the links may have changed since the pull began).
    async fn start_enumeration(
        &self,
        folder: Folder,
        linked: Option<HashSet<String>>,
    ) -> Result<Enumeration, SyncError> {
        let linked = match linked {
            Some(linked) => linked,
            None => self.scan_links(folder, true).await?.crm_ids,
        };
        let mut matching = MatchIndex::default();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list_records(&self.mailbox, folder, after.as_deref(), LIST_PAGE)
                .await?;
            for record in &page.items {
                if linked.contains(&record.crm_id) {
                    continue;
                }
                if let Some(data) = record.data.as_deref().and_then(|d| parse(folder, d)) {
                    matching.add(&record.crm_id, &data);
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        Ok(Enumeration {
            matching,
            seen: HashSet::new(),
        })
    }
}

/// The items we created that no page of the pull reported: this run's creates (`verify`)
/// and those of runs that died before a pull saw them (`unconfirmed`).
fn unreported(verify: &[String], unconfirmed: &[String], seen: &HashSet<String>) -> Vec<String> {
    let mut unreported: Vec<String> = verify
        .iter()
        .chain(unconfirmed)
        .filter(|id| !seen.contains(*id))
        .cloned()
        .collect();
    unreported.sort();
    unreported.dedup();
    unreported
}
