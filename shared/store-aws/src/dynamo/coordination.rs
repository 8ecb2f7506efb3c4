//! Leases with fencing tokens, and idempotency records; both lapse by time.
//!
//! `DynamoDB`'s TTL deletes lapsed items eventually (within days, and moto never does), so
//! lapse is decided by comparing stored expiry times, never by whether the item is gone.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use mailbridge_store::{Idempotency, Lease, StoreError, StoreResult};

use super::DynamoStateStore;
use super::action::Action;
use super::directory::ANY_ROUNDS;
use super::items::{self, Fields, Item, key, n, ni, s};
use super::keys::{TTL, check_id, idempotency_pk, lease_pk};

/// Sort key of a lease item.
pub(crate) const LEASE: &str = "lease";
/// Sort key of an idempotency item.
const IDEMPOTENCY: &str = "idem";

/// How long after a lease lapses `DynamoDB` may delete it. Deleting restarts the fencing
/// token at 1, which is safe only once no holder of the old tokens can still be running.
const LEASE_GRACE: TimeDelta = TimeDelta::days(1);

const OWNER: &str = "owner";
const TOKEN: &str = "token";
const EXPIRES: &str = "expires";
const EXPIRES_MS: &str = "expires_ms";
const REQUEST_HASH: &str = "request_hash";
const STATE: &str = "state";
const RESPONSE: &str = "response";

/// Whether a stored lease item is `lease`, still unexpired at `now`.
pub(crate) fn held(item: Option<&Item>, lease: &Lease, now: DateTime<Utc>) -> StoreResult<bool> {
    let Some(item) = item else {
        return Ok(false);
    };
    let fields = Fields::new(item, "lease");
    Ok(fields.s(OWNER)? == lease.owner
        && fields.n(TOKEN)? == lease.token
        && fields.signed(EXPIRES_MS)? > now.timestamp_millis())
}

fn after(now: DateTime<Utc>, ttl: Duration) -> StoreResult<DateTime<Utc>> {
    TimeDelta::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .ok_or_else(|| StoreError::Invalid {
            field: "ttl",
            reason: "is too long".to_owned(),
        })
}

/// The TTL attribute: epoch seconds.
fn ttl_at(at: DateTime<Utc>) -> (String, aws_sdk_dynamodb::types::AttributeValue) {
    (TTL.to_owned(), ni(at.timestamp().max(0)))
}

impl DynamoStateStore {
    pub(crate) async fn acquire_lease(
        &self,
        key_: &str,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Lease>> {
        check_id("lease.key", key_)?;
        check_id("lease.owner", owner)?;
        let op = "acquire_lease";
        let lease_key = key(lease_pk(key_), LEASE);
        let expires = after(now, ttl)?;

        for _ in 0..ANY_ROUNDS {
            let current = self.get(op, lease_key.clone()).await?;
            let (token, action) = match &current {
                None => (1, None),
                Some(item) => {
                    let fields = Fields::new(item, "lease");
                    let (holder, token) = (fields.s(OWNER)?, fields.n(TOKEN)?);
                    if holder != owner && fields.signed(EXPIRES_MS)? > now.timestamp_millis() {
                        return Ok(None);
                    }
                    (token + 1, Some(token))
                }
            };
            let mut item = lease_key.clone();
            item.extend([
                (OWNER.to_owned(), s(owner)),
                (TOKEN.to_owned(), n(token)),
                (EXPIRES.to_owned(), items::time(expires)),
                (EXPIRES_MS.to_owned(), ni(expires.timestamp_millis())),
                ttl_at(expires + LEASE_GRACE),
            ]);
            // Compare-and-set on the token seen: of two runners racing, one wins.
            let put = match action {
                None => Action::put(item).when("attribute_not_exists(#pk)"),
                Some(seen) => Action::put(item)
                    .when("#token = :seen")
                    .value(":seen", n(seen)),
            };
            if self.execute(op, put).await? {
                return Ok(Some(Lease {
                    key: key_.to_owned(),
                    owner: owner.to_owned(),
                    token,
                    expires,
                }));
            }
        }
        Ok(None)
    }

    pub(crate) async fn renew_lease(
        &self,
        lease: &Lease,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Lease> {
        check_id("lease.key", &lease.key)?;
        let expires = after(now, ttl)?;
        let (ttl_name, ttl_value) = ttl_at(expires + LEASE_GRACE);
        let renew = Action::update(
            key(lease_pk(&lease.key), LEASE),
            format!("SET #expires = :expires, #expires_ms = :expires_ms, #{ttl_name} = :ttl"),
        )
        .when("#owner = :owner AND #token = :token AND #expires_ms > :now")
        .value(":expires", items::time(expires))
        .value(":expires_ms", ni(expires.timestamp_millis()))
        .value(":ttl", ttl_value)
        .value(":owner", s(&lease.owner))
        .value(":token", n(lease.token))
        .value(":now", ni(now.timestamp_millis()));
        if !self.execute("renew_lease", renew).await? {
            return Err(StoreError::LeaseLost {
                key: lease.key.clone(),
            });
        }
        Ok(Lease {
            expires,
            ..lease.clone()
        })
    }

    pub(crate) async fn release_lease(&self, lease: &Lease) -> StoreResult<()> {
        check_id("lease.key", &lease.key)?;
        // The item stays (expired) so the next holder's token is still larger.
        let release = Action::update(
            key(lease_pk(&lease.key), LEASE),
            "SET #expires = :expires, #expires_ms = :zero",
        )
        .when("#owner = :owner AND #token = :token")
        .value(":expires", items::time(DateTime::UNIX_EPOCH))
        .value(":zero", n(0))
        .value(":owner", s(&lease.owner))
        .value(":token", n(lease.token));
        self.execute("release_lease", release).await?;
        Ok(())
    }

    pub(crate) async fn begin_idempotent(
        &self,
        scope: &str,
        key_: &str,
        request_hash: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Idempotency> {
        check_id("scope", scope)?;
        check_id("key", key_)?;
        let op = "begin_idempotent";
        let item_key = key(idempotency_pk(scope, key_), IDEMPOTENCY);
        let expires = after(now, ttl)?;

        for _ in 0..ANY_ROUNDS {
            let mut item = item_key.clone();
            item.extend([
                (REQUEST_HASH.to_owned(), s(request_hash)),
                (STATE.to_owned(), s("claimed")),
                (EXPIRES_MS.to_owned(), ni(expires.timestamp_millis())),
                ttl_at(expires),
            ]);
            let claim = Action::put(item)
                .when("attribute_not_exists(#pk) OR #expires_ms <= :now")
                .value(":now", ni(now.timestamp_millis()));
            if self.execute(op, claim).await? {
                return Ok(Idempotency::Claimed);
            }

            let Some(item) = self.get(op, item_key.clone()).await? else {
                continue;
            };
            let fields = Fields::new(&item, "idempotency record");
            if fields.signed(EXPIRES_MS)? <= now.timestamp_millis() {
                continue;
            }
            if fields.s(REQUEST_HASH)? != request_hash {
                return Ok(Idempotency::Mismatch);
            }
            return Ok(match fields.s(STATE)? {
                "done" => Idempotency::Done(fields.s(RESPONSE)?.to_owned()),
                _ => Idempotency::InProgress,
            });
        }
        Err(StoreError::Unavailable {
            detail: "begin_idempotent: the record kept changing".to_owned(),
        })
    }

    pub(crate) async fn finish_idempotent(
        &self,
        scope: &str,
        key_: &str,
        response: &str,
    ) -> StoreResult<()> {
        check_id("scope", scope)?;
        check_id("key", key_)?;
        // LIMIT: a finished record lapses `ttl` after its claim, not after the finish: the
        // finish call is given no clock and no ttl.
        let finish = Action::update(
            key(idempotency_pk(scope, key_), IDEMPOTENCY),
            "SET #state = :done, #response = :response",
        )
        .when("attribute_exists(#pk)")
        .value(":done", s("done"))
        .value(":response", s(response));
        if self.execute("finish_idempotent", finish).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound {
                what: format!("idempotency key {key_} in {scope}"),
            })
        }
    }
}
