//! A mailbox backend whose run can die or stall at a chosen call: a process killed
//! mid-run (between two delta pages, in the middle of a push, after a write was served
//! but before its answer was used), or one paused for longer than its lease.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use mailbridge_mailbox::{
    BackendResult, DeltaPage, FolderKind, ItemData, ItemRef, MailboxBackend, RemoteItem,
};
use tokio::sync::Notify;

/// What happens to a run at its `n`-th mailbox call (of any kind, or its `n`-th delta
/// call when `deltas`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Nothing.
    Live,
    /// The process dies before the call is sent.
    DieBefore { n: u32, deltas: bool },
    /// The call is served, then the process dies before using the answer.
    DieAfter { n: u32, deltas: bool },
    /// The run stops before the call until [`Mortal::resume`]. A run stalled before a
    /// create, whose lease is taken over meanwhile, makes the item a second time when it
    /// wakes (a fenced commit cannot undo a mailbox write); the next pull must remove the
    /// twin.
    StallBefore(u32),
}

/// The kinds of call the fates tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Delta,
    Create,
    Other,
}

/// Wraps a backend; see [`Fate`].
pub struct Mortal<B> {
    inner: B,
    fate: Fate,
    /// The call the fate strikes at.
    target: u32,
    calls: AtomicU32,
    deltas: AtomicU32,
    /// The last delta page said more pages follow.
    mid_pull: AtomicBool,
    /// The fate struck at a delta call continuing a pull: between two of its pages.
    between_pages: AtomicBool,
    struck: Notify,
    resumed: Notify,
}

impl<B: MailboxBackend> Mortal<B> {
    pub fn new(inner: B, fate: Fate) -> Self {
        let target = match fate {
            Fate::Live => 0,
            Fate::DieBefore { n, .. } | Fate::DieAfter { n, .. } | Fate::StallBefore(n) => n,
        };
        Mortal {
            inner,
            fate,
            target,
            calls: AtomicU32::new(0),
            deltas: AtomicU32::new(0),
            mid_pull: AtomicBool::new(false),
            between_pages: AtomicBool::new(false),
            struck: Notify::new(),
            resumed: Notify::new(),
        }
    }

    /// Completes once the fate has struck (the run is dead or stalled).
    pub async fn struck(&self) {
        self.struck.notified().await;
    }

    /// Lets a stalled run go on.
    pub fn resume(&self) {
        self.resumed.notify_one();
    }

    /// Whether the fate struck between two pages of one pull.
    pub fn between_pages(&self) -> bool {
        self.between_pages.load(Ordering::SeqCst)
    }

    /// Whether this call is the one the fate strikes at.
    fn due(&self, kind: Call) -> bool {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let d = if kind == Call::Delta {
            self.deltas.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            0
        };
        let target = self.target;
        let due = match self.fate {
            Fate::Live => false,
            Fate::DieBefore { deltas: true, .. } | Fate::DieAfter { deltas: true, .. } => {
                d == target
            }
            Fate::DieBefore { .. } | Fate::DieAfter { .. } | Fate::StallBefore(_) => n == target,
        };
        if due {
            self.between_pages.store(
                kind == Call::Delta && self.mid_pull.load(Ordering::SeqCst),
                Ordering::SeqCst,
            );
        }
        due
    }

    /// Runs `call` as the next mailbox call, meeting the fate if it is this one's.
    async fn guard<T>(&self, kind: Call, call: impl Future<Output = T>) -> T {
        if !self.due(kind) {
            return call.await;
        }
        match self.fate {
            Fate::DieBefore { .. } => {
                self.struck.notify_one();
                std::future::pending().await
            }
            Fate::StallBefore(_) => {
                self.struck.notify_one();
                self.resumed.notified().await;
                call.await
            }
            Fate::DieAfter { .. } => {
                let _served = call.await;
                self.struck.notify_one();
                std::future::pending().await
            }
            Fate::Live => call.await,
        }
    }
}

impl<B: MailboxBackend> MailboxBackend for Mortal<B> {
    async fn delta(&self, folder: FolderKind, cursor: Option<&str>) -> BackendResult<DeltaPage> {
        let page = self
            .guard(Call::Delta, self.inner.delta(folder, cursor))
            .await;
        self.mid_pull
            .store(page.as_ref().is_ok_and(|p| p.more), Ordering::SeqCst);
        page
    }

    async fn fetch(
        &self,
        folder: FolderKind,
        ids: &[String],
    ) -> BackendResult<Vec<BackendResult<RemoteItem>>> {
        self.guard(Call::Other, self.inner.fetch(folder, ids)).await
    }

    async fn find_by_crm_id(
        &self,
        folder: FolderKind,
        crm_id: &str,
    ) -> BackendResult<Option<RemoteItem>> {
        self.guard(Call::Other, self.inner.find_by_crm_id(folder, crm_id))
            .await
    }

    async fn create(
        &self,
        folder: FolderKind,
        crm_id: &str,
        data: &ItemData,
    ) -> BackendResult<ItemRef> {
        self.guard(Call::Create, self.inner.create(folder, crm_id, data))
            .await
    }

    async fn update(
        &self,
        folder: FolderKind,
        item: &ItemRef,
        old: &ItemData,
        new: &ItemData,
    ) -> BackendResult<ItemRef> {
        self.guard(Call::Other, self.inner.update(folder, item, old, new))
            .await
    }

    async fn delete(&self, folder: FolderKind, id: &str) -> BackendResult<()> {
        self.guard(Call::Other, self.inner.delete(folder, id)).await
    }
}
