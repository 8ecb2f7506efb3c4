//! The protocol-neutral [`MailboxBackend`] over EWS: one mailbox, impersonated.

mod convert;

use mailbridge_identity::TokenSource;
use mailbridge_mailbox::{
    BackendError, BackendResult, Change, DeltaPage, FETCH_BATCH, FolderKind, ItemData, ItemRef,
    MailboxBackend, RemoteItem,
};

use crate::client::EwsClient;
use crate::error::{ErrorKind, EwsError};
use crate::ops::{
    CreateItem, DeleteItem, FindItem, GetItem, ItemChange, MAX_CHANGES_RETURNED, Restriction,
    SendMeetingInvitations, SyncChange, SyncFolderItems, UpdateItem, View,
};
use crate::types::{
    CRM_ID_PROPERTY, ChangeKey, DistinguishedFolder, Item, ItemId, ItemShape, PropertyPath,
    SyncState,
};

/// The largest page [`EwsMailbox::with_page_size`] accepts: what one `SyncFolderItems`
/// call may return, and the default.
pub const MAX_PAGE_SIZE: usize = MAX_CHANGES_RETURNED as usize;

/// One mailbox reached through EWS with impersonation.
pub struct EwsMailbox<'c, T: TokenSource> {
    client: &'c EwsClient<T>,
    mailbox: String,
    page_size: usize,
}

impl<'c, T: TokenSource> EwsMailbox<'c, T> {
    /// The mailbox `address`, through `client`, with full-size pages.
    pub fn new(client: &'c EwsClient<T>, address: impl Into<String>) -> Self {
        EwsMailbox {
            client,
            mailbox: address.into(),
            page_size: MAX_PAGE_SIZE,
        }
    }

    /// Smaller pages: each delta page holds at most `size` changes (`MaxChangesReturned`)
    /// and a fetch reads at most `size` items per `GetItem` request. Each page costs a
    /// round trip and a commit, so this is for mailboxes whose large items strain a
    /// response, and for tests that need a folder to span many pages.
    ///
    /// # Errors
    ///
    /// [`EwsError::InvalidInput`] unless `size` is 1 to [`MAX_PAGE_SIZE`] (Exchange refuses
    /// anything else).
    pub fn with_page_size(mut self, size: usize) -> Result<Self, EwsError> {
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(EwsError::invalid(
                "page size",
                format!("must be 1 to {MAX_PAGE_SIZE}, not {size}"),
            ));
        }
        self.page_size = size;
        Ok(self)
    }

    /// The page size in force.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    fn sync_op(&self, kind: FolderKind, cursor: Option<&str>) -> SyncFolderItems {
        let mut op = SyncFolderItems::new(folder(kind), cursor.map(SyncState::new));
        // In range by construction: `with_page_size` checks against the same bound.
        op.max_changes = u16::try_from(self.page_size).unwrap_or(MAX_CHANGES_RETURNED);
        op
    }
}

fn folder(kind: FolderKind) -> DistinguishedFolder {
    match kind {
        FolderKind::Contacts => DistinguishedFolder::Contacts,
        FolderKind::Calendar => DistinguishedFolder::Calendar,
    }
}

/// Maps an EWS failure onto what the sync engine acts on. Messages carry no secrets: EWS
/// errors never hold token or secret values.
fn backend_error(err: &EwsError) -> BackendError {
    match err.kind() {
        ErrorKind::Retryable => BackendError::Transient(err.to_string()),
        ErrorKind::Throttling => BackendError::Throttled {
            back_off: err.back_off(),
        },
        ErrorKind::Auth => BackendError::Auth(err.to_string()),
        ErrorKind::Permission => BackendError::Permission(err.to_string()),
        ErrorKind::NotFound => BackendError::NotFound,
        ErrorKind::Conflict => BackendError::Conflict,
        ErrorKind::InvalidSyncState => BackendError::CursorInvalid,
        ErrorKind::Fatal => match err {
            EwsError::InvalidInput { .. } => BackendError::Invalid(err.to_string()),
            _ => BackendError::Fatal(err.to_string()),
        },
    }
}

fn item_ref(id: &ItemId) -> ItemRef {
    ItemRef {
        id: id.id.clone(),
        change_key: id
            .change_key
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
    }
}

/// Whether an item is of the kind the folder syncs (a distribution list in Contacts or a
/// stray message is left alone).
fn synced_kind(kind: FolderKind, item: &Item) -> bool {
    matches!(
        (kind, item),
        (FolderKind::Contacts, Item::Contact(_)) | (FolderKind::Calendar, Item::CalendarItem(_))
    )
}

fn remote(kind: FolderKind, item: &Item) -> BackendResult<RemoteItem> {
    let id = item
        .id()
        .ok_or_else(|| BackendError::Fatal("the server returned an item without an id".into()))?;
    if !synced_kind(kind, item) {
        return Err(BackendError::NotFound);
    }
    let data = convert::from_item(item).ok_or_else(|| {
        BackendError::Fatal("the server returned an event without start or end".into())
    })?;
    Ok(RemoteItem {
        item: item_ref(id),
        crm_id: item.crm_id().map(str::to_owned),
        data,
    })
}

impl<T: TokenSource> MailboxBackend for EwsMailbox<'_, T> {
    async fn delta(&self, kind: FolderKind, cursor: Option<&str>) -> BackendResult<DeltaPage> {
        let op = self.sync_op(kind, cursor);
        let page = self
            .client
            .execute(&self.mailbox, &op)
            .await
            .map_err(|e| backend_error(&e))?;
        let changes = page
            .changes
            .into_iter()
            .filter_map(|change| match change {
                SyncChange::Create(item) | SyncChange::Update(item) => {
                    let id = item.id()?;
                    synced_kind(kind, &item).then(|| Change::Upsert {
                        item: item_ref(id),
                        crm_id: item.crm_id().map(str::to_owned),
                    })
                }
                SyncChange::Delete(id) => Some(Change::Delete { id: id.id }),
                SyncChange::ReadFlagChange { .. } => None,
            })
            .collect();
        // A page without a new sync state leaves the cursor where it was.
        let cursor = page
            .sync_state
            .map(|s| s.as_str().to_owned())
            .or_else(|| cursor.map(str::to_owned))
            .ok_or_else(|| BackendError::Fatal("the server returned no sync state".into()))?;
        Ok(DeltaPage {
            cursor,
            more: !page.includes_last_item_in_range,
            changes,
        })
    }

    async fn fetch(
        &self,
        kind: FolderKind,
        ids: &[String],
    ) -> BackendResult<Vec<BackendResult<RemoteItem>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > FETCH_BATCH {
            return Err(BackendError::Invalid(format!(
                "ids: at most {FETCH_BATCH} items per fetch, got {}",
                ids.len()
            )));
        }
        let mut all = Vec::with_capacity(ids.len());
        for batch in ids.chunks(self.page_size) {
            let op = GetItem::full(batch.iter().map(|id| ItemId::new(id, None)).collect());
            let results = self
                .client
                .execute(&self.mailbox, &op)
                .await
                .map_err(|e| backend_error(&e))?;
            // Results pair with ids by position: a short or long answer would pin items
            // on the wrong ids.
            if results.len() != batch.len() {
                return Err(BackendError::Fatal(format!(
                    "GetItem answered {} items for {} ids",
                    results.len(),
                    batch.len()
                )));
            }
            all.extend(results.into_iter().map(|result| match result {
                Ok(item) => remote(kind, &item),
                Err(err) => Err(backend_error(&EwsError::Response(err))),
            }));
        }
        Ok(all)
    }

    async fn find_by_crm_id(
        &self,
        kind: FolderKind,
        crm_id: &str,
    ) -> BackendResult<Option<RemoteItem>> {
        let op = FindItem {
            folder: folder(kind).into(),
            shape: ItemShape::ids_with_crm_id(),
            view: View::Indexed {
                max_entries: 2,
                offset: 0,
            },
            restriction: Some(Restriction::IsEqualTo(
                PropertyPath::Extended(CRM_ID_PROPERTY),
                crm_id.to_owned(),
            )),
        };
        let page = self
            .client
            .execute(&self.mailbox, &op)
            .await
            .map_err(|e| backend_error(&e))?;
        let Some(id) = page
            .items
            .iter()
            .filter(|i| synced_kind(kind, i))
            .find_map(Item::id)
        else {
            return Ok(None);
        };
        // FindItem does not return every property (bodies among them); read the item whole.
        match self.fetch(kind, std::slice::from_ref(&id.id)).await?.pop() {
            Some(Ok(item)) => Ok(Some(item)),
            Some(Err(BackendError::NotFound)) | None => Ok(None),
            Some(Err(err)) => Err(err),
        }
    }

    async fn create(
        &self,
        kind: FolderKind,
        crm_id: &str,
        data: &ItemData,
    ) -> BackendResult<ItemRef> {
        let item = convert::to_item(data, crm_id).map_err(|e| BackendError::Invalid(e.0))?;
        let mut op = CreateItem::save_in(folder(kind), vec![item]);
        if let ItemData::Event(e) = data
            && !e.attendees.is_empty()
        {
            op.send_meeting_invitations = Some(SendMeetingInvitations::SendToAllAndSaveCopy);
        }
        let mut results = self
            .client
            .execute(&self.mailbox, &op)
            .await
            .map_err(|e| backend_error(&e))?;
        match results.pop() {
            Some(Ok(Some(id))) => Ok(item_ref(&id)),
            Some(Ok(None)) | None => Err(BackendError::Fatal(
                "the server created the item but returned no id".into(),
            )),
            Some(Err(err)) => Err(backend_error(&EwsError::Response(err))),
        }
    }

    async fn update(
        &self,
        _kind: FolderKind,
        item: &ItemRef,
        old: &ItemData,
        new: &ItemData,
    ) -> BackendResult<ItemRef> {
        let updates = convert::updates(old, new).map_err(|e| BackendError::Invalid(e.0))?;
        if updates.is_empty() {
            return Ok(item.clone());
        }
        let op = UpdateItem::guarded(vec![ItemChange {
            id: ItemId::new(&item.id, Some(ChangeKey::new(&item.change_key))),
            updates,
        }]);
        let mut results = self
            .client
            .execute(&self.mailbox, &op)
            .await
            .map_err(|e| backend_error(&e))?;
        match results.pop() {
            Some(Ok(Some(id))) => Ok(item_ref(&id)),
            Some(Ok(None)) | None => Err(BackendError::Fatal(
                "the server updated the item but returned no change key".into(),
            )),
            Some(Err(err)) => Err(backend_error(&EwsError::Response(err))),
        }
    }

    async fn delete(&self, _kind: FolderKind, id: &str) -> BackendResult<()> {
        let op = DeleteItem::move_to_deleted_items(vec![ItemId::new(id, None)]);
        let mut results = self
            .client
            .execute(&self.mailbox, &op)
            .await
            .map_err(|e| backend_error(&e))?;
        match results.pop() {
            Some(Ok(())) | None => Ok(()),
            Some(Err(err)) => Err(backend_error(&EwsError::Response(err))),
        }
    }
}
