//! The pull: the mailbox's changes, a page at a time, each page's effects committed with
//! the cursor after it.

use std::collections::{HashMap, HashSet};

use mailbridge_mailbox::{
    BackendError, Change, DeltaPage, FETCH_BATCH, ItemRef, MailboxBackend, RemoteItem,
};
use mailbridge_store::{Folder, Lease, Link, StateStore, StoreError};
use serde_json::json;
use tracing::{debug, info};

use crate::engine::{Engine, kind, link_put, parse};
use crate::error::SyncError;
use crate::matching::MatchIndex;
use crate::plan::{Action, CrmSide, brakes, plan_delete, plan_upsert};
use crate::report::FolderReport;

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

    /// The brake decides on the whole pull before the first page that deletes anything is
    /// committed: the pages after it are read ahead and their deletes counted. They are
    /// read again only if more deletes turn up than were counted. `false`: the cursor went
    /// invalid while reading ahead.
    async fn brake_whole_pull(
        &self,
        folder: Folder,
        lease: &mut Lease,
        page: &DeltaPage,
        planned: &PlannedPage,
        count: &mut DeleteCount,
        linked: usize,
    ) -> Result<bool, SyncError> {
        let so_far = count.gone + planned.gone;
        if planned.gone == 0 || count.cleared.is_some_and(|cleared| so_far <= cleared) {
            return Ok(true);
        }
        let ahead = if page.more {
            let Some(ahead) = self.gone_ahead(folder, lease, &page.cursor).await? else {
                return Ok(false);
            };
            ahead
        } else {
            0
        };
        self.brake(
            folder,
            count.deletes + planned.deletes + ahead,
            so_far + ahead,
            linked,
        )
        .await?;
        count.cleared = Some(so_far + ahead);
        Ok(true)
    }

    fn trips(&self, deletes: usize, gone: usize, linked: usize) -> bool {
        brakes(
            deletes,
            gone,
            linked,
            self.config.mass_delete_percent,
            self.config.mass_delete_min,
        )
    }

    /// The mass-delete brake: a pull that would delete too much at once (or finds the
    /// folder empty) stops before the deletes it counted. A person's go-ahead for this
    /// folder, covering this many deletes, lets it through, on the record.
    async fn brake(
        &self,
        folder: Folder,
        deletes: usize,
        gone: usize,
        linked: usize,
    ) -> Result<(), SyncError> {
        if !self.trips(deletes, gone, linked) {
            return Ok(());
        }
        let detail = json!({ "deletes": deletes, "gone": gone, "linked": linked });
        if let Some(go_ahead) = self
            .brake_released
            .as_ref()
            .filter(|g| g.folder == folder && deletes.max(gone) <= g.allows())
        {
            let mut event = self.audit("brake.released", folder.as_str(), detail);
            go_ahead.by.clone_into(&mut event.actor);
            self.store.append_audit(&[event]).await?;
            return Ok(());
        }
        let event = self.audit("brake", folder.as_str(), detail);
        self.store.append_audit(&[event]).await?;
        Err(SyncError::Braked {
            folder,
            deletes: deletes.max(gone),
            linked,
        })
    }

    /// Reads the rest of a pull ahead, from the cursor after the page at hand, without
    /// applying anything: how many linked items its later pages report deleted. Sync states
    /// can be read from again, so those pages are read once more as they are applied.
    /// Only the deleted ids are held, never the items. `None`: the cursor went invalid.
    async fn gone_ahead(
        &self,
        folder: Folder,
        lease: &mut Lease,
        cursor: &str,
    ) -> Result<Option<usize>, SyncError> {
        let mut gone: HashSet<String> = HashSet::new();
        let mut state = cursor.to_owned();
        loop {
            self.renew(lease).await?;
            let page = match self.backend.delta(kind(folder), Some(&state)).await {
                Ok(page) => page,
                Err(BackendError::CursorInvalid) => return Ok(None),
                Err(err) => return Err(err.into()),
            };
            for change in &page.changes {
                if let Change::Delete { id } = change
                    && !gone.contains(id)
                    && self
                        .store
                        .link_by_item_id(&self.mailbox, folder, id)
                        .await?
                        .is_some()
                {
                    gone.insert(id.clone());
                }
            }
            if !page.more {
                return Ok(Some(gone.len()));
            }
            state = page.cursor;
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

    async fn plan_page(
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
    async fn unseen(
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
