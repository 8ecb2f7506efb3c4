//! Tenants and mailboxes: whole documents with optimistic versions.

use mailbridge_store::{Expect, Mailbox, Page, StoreError, StoreResult, Tenant, Version};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::DynamoStateStore;
use super::action::Action;
use super::items::{Fields, Item, attr, doc, key, n, s};
use super::keys::{LSK, MAILBOXES, TENANTS, check_id, tenant_prefix};
use super::requests::{Query, Range};

/// Writes that lose a race under `Expect::Any` are tried again this often.
pub(crate) const ANY_ROUNDS: usize = 5;

/// Refuses a page size of zero, which could never make progress.
pub(crate) fn check_limit(limit: usize) -> StoreResult<()> {
    if limit == 0 {
        return Err(StoreError::Invalid {
            field: "limit",
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(())
}

/// The `after` of a listing, checked; an empty one means the start.
pub(crate) fn after(after: Option<&str>) -> StoreResult<Option<&str>> {
    match after {
        None | Some("") => Ok(None),
        Some(after) => check_id("after", after).map(|()| Some(after)),
    }
}

impl DynamoStateStore {
    pub(crate) async fn put_tenant(&self, tenant: &Tenant, expect: Expect) -> StoreResult<Version> {
        check_id("tenant.id", &tenant.id)?;
        let what = format!("tenant {}", tenant.id);
        self.put_doc(
            "put_tenant",
            &what,
            key(TENANTS, &tenant.id),
            expect,
            |version| {
                let mut stored = tenant.clone();
                stored.version = version;
                Ok(Item::from([(attr::DOC.to_owned(), doc(&stored)?)]))
            },
        )
        .await
    }

    pub(crate) async fn get_tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        check_id("tenant.id", id)?;
        let item = self.get("get_tenant", key(TENANTS, id)).await?;
        item.as_ref()
            .map(|item| versioned(item, "tenant"))
            .transpose()
    }

    pub(crate) async fn list_tenants(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Tenant>> {
        check_limit(limit)?;
        let query = Query {
            pk: TENANTS.to_owned(),
            index: false,
            range: Range::All,
        };
        let start = self::after(after)?.map(|after| key(TENANTS, after));
        let (items, more) = self.query("list_tenants", &query, start, limit).await?;
        let tenants = items
            .iter()
            .map(|item| versioned::<Tenant>(item, "tenant"))
            .collect::<StoreResult<Vec<_>>>()?;
        let next = more.then(|| tenants.last().map(|t| t.id.clone())).flatten();
        Ok(Page {
            items: tenants,
            next,
        })
    }

    pub(crate) async fn put_mailbox(
        &self,
        mailbox: &Mailbox,
        expect: Expect,
    ) -> StoreResult<Version> {
        check_id("mailbox.address", &mailbox.address)?;
        check_id("mailbox.tenant", &mailbox.tenant)?;
        let what = format!("mailbox {}", mailbox.address);
        let by_tenant = format!("{}{}", tenant_prefix(&mailbox.tenant), mailbox.address);
        self.put_doc(
            "put_mailbox",
            &what,
            key(MAILBOXES, &mailbox.address),
            expect,
            |version| {
                let mut stored = mailbox.clone();
                stored.version = version;
                Ok(Item::from([
                    (attr::DOC.to_owned(), doc(&stored)?),
                    (LSK.to_owned(), s(&by_tenant)),
                ]))
            },
        )
        .await
    }

    pub(crate) async fn get_mailbox(&self, address: &str) -> StoreResult<Option<Mailbox>> {
        check_id("address", address)?;
        let item = self.get("get_mailbox", key(MAILBOXES, address)).await?;
        item.as_ref()
            .map(|item| versioned(item, "mailbox"))
            .transpose()
    }

    pub(crate) async fn list_mailboxes(
        &self,
        tenant: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Mailbox>> {
        check_limit(limit)?;
        let after = self::after(after)?;
        let (query, start) = match tenant {
            None => (
                Query {
                    pk: MAILBOXES.to_owned(),
                    index: false,
                    range: Range::All,
                },
                after.map(|after| key(MAILBOXES, after)),
            ),
            Some(tenant) => {
                check_id("tenant", tenant)?;
                let prefix = tenant_prefix(tenant);
                // An index query resumes from the base key plus the index key.
                let start = after.map(|after| {
                    let mut start = key(MAILBOXES, after);
                    start.insert(LSK.to_owned(), s(format!("{prefix}{after}")));
                    start
                });
                let query = Query {
                    pk: MAILBOXES.to_owned(),
                    index: true,
                    range: Range::Prefix(prefix),
                };
                (query, start)
            }
        };
        let (items, more) = self.query("list_mailboxes", &query, start, limit).await?;
        let mailboxes = items
            .iter()
            .map(|item| versioned::<Mailbox>(item, "mailbox"))
            .collect::<StoreResult<Vec<_>>>()?;
        let next = more
            .then(|| mailboxes.last().map(|m| m.address.clone()))
            .flatten();
        Ok(Page {
            items: mailboxes,
            next,
        })
    }

    /// Writes a versioned document under `expect`; `attributes` builds the item's
    /// non-key attributes for the new version.
    async fn put_doc(
        &self,
        op: &'static str,
        what: &str,
        key: Item,
        expect: Expect,
        attributes: impl Fn(Version) -> StoreResult<Item>,
    ) -> StoreResult<Version> {
        for _ in 0..ANY_ROUNDS {
            let current = match expect {
                Expect::Any => match self.get(op, key.clone()).await? {
                    Some(item) => Some(Fields::new(&item, what).n(attr::VERSION)?),
                    None => None,
                },
                Expect::Absent => None,
                Expect::Version(version) => Some(version),
            };
            let version = current.map_or(1, |v| v + 1);
            let mut item = key.clone();
            item.extend(attributes(version)?);
            item.insert(attr::VERSION.to_owned(), n(version));
            let action = match current {
                None => Action::put(item).when("attribute_not_exists(#pk)"),
                Some(v) => Action::put(item).when("#version = :v").value(":v", n(v)),
            };
            if self.execute(op, action).await? {
                return Ok(version);
            }
            if expect != Expect::Any {
                return Err(StoreError::Conflict {
                    what: what.to_owned(),
                    expected: expect.expected(),
                });
            }
        }
        Err(StoreError::Unavailable {
            detail: format!("{what}: concurrent writers kept winning"),
        })
    }
}

/// Reads a document item and sets its version from the item.
fn versioned<T: DeserializeOwned + Serialize + HasVersion>(
    item: &Item,
    what: &str,
) -> StoreResult<T> {
    let fields = Fields::new(item, what);
    let mut value: T = fields.doc()?;
    value.set_version(fields.n(attr::VERSION)?);
    Ok(value)
}

/// A model type that carries its stored version.
trait HasVersion {
    fn set_version(&mut self, version: Version);
}

impl HasVersion for Tenant {
    fn set_version(&mut self, version: Version) {
        self.version = version;
    }
}

impl HasVersion for Mailbox {
    fn set_version(&mut self, version: Version) {
        self.version = version;
    }
}
