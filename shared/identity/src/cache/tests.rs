use std::time::{Duration, SystemTime};

use super::*;
use crate::fake_idp::FakeIdp;
use crate::{Cause, ClientSecret};

fn creds(tenant: &str) -> AppCredentials {
    AppCredentials::new(tenant, "app-123", ClientSecret::new("right-secret"))
}

/// Turns a hang (a caller blocked that should not be) into a test failure.
async fn within_10s<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("the call should not block")
}

fn spawn_token_calls(
    cache: &Arc<TokenCache>,
    tenant: &str,
    n: usize,
) -> Vec<tokio::task::JoinHandle<Result<AccessToken, IdentityError>>> {
    (0..n)
        .map(|_| {
            let cache = Arc::clone(cache);
            let creds = creds(tenant);
            tokio::spawn(async move { cache.token(&creds).await })
        })
        .collect()
}

/// Waits until `n` callers for `tenant` are queued behind the fetch in flight.
async fn until_waiting(cache: &TokenCache, tenant: &str, n: usize) {
    within_10s(async {
        while cache.waiting(&creds(tenant)) < n {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

async fn serials(
    calls: Vec<tokio::task::JoinHandle<Result<AccessToken, IdentityError>>>,
) -> Vec<u64> {
    let mut serials = Vec::new();
    for call in calls {
        serials.push(call.await.unwrap().unwrap().serial());
    }
    serials
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_for_one_tenant_cause_one_fetch() {
    let idp = FakeIdp::start_held().await;
    let cache = Arc::new(TokenCache::new(idp.client()));

    let calls = spawn_token_calls(&cache, "contoso.example", 32);
    idp.request_arrived().await;
    until_waiting(&cache, "contoso.example", 31).await;
    idp.release(100);
    let serials = serials(calls).await;

    assert_eq!(idp.hits("contoso.example"), 1);
    assert!(serials.iter().all(|s| *s == serials[0]), "{serials:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_share_a_fresh_token_even_if_it_is_short_lived() {
    let idp = FakeIdp::start_held().await;
    idp.set_expires_in(60);
    let cache = Arc::new(TokenCache::new(idp.client()));

    let calls = spawn_token_calls(&cache, "contoso.example", 32);
    idp.request_arrived().await;
    until_waiting(&cache, "contoso.example", 31).await;
    idp.release(100);
    let serials = serials(calls).await;

    assert_eq!(idp.hits("contoso.example"), 1);
    assert!(serials.iter().all(|s| *s == serials[0]), "{serials:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_fetch_for_one_tenant_does_not_block_another() {
    let idp = FakeIdp::start_held().await;
    let cache = Arc::new(TokenCache::new(idp.client()));

    let first = spawn_token_calls(&cache, "contoso.example", 1);
    assert_eq!(idp.request_arrived().await, "contoso.example");
    let second = spawn_token_calls(&cache, "fabrikam.example", 1);
    // Fabrikam's request reaches the endpoint while Contoso's is still held.
    assert_eq!(within_10s(idp.request_arrived()).await, "fabrikam.example");
    idp.release(2);
    serials(first).await;
    serials(second).await;

    assert_eq!(idp.hits("contoso.example"), 1);
    assert_eq!(idp.hits("fabrikam.example"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_renewals_of_one_stale_token_cause_one_fetch() {
    let idp = FakeIdp::start_held().await;
    let cache = Arc::new(TokenCache::new(idp.client()));
    idp.release(1);
    let stale = cache.token(&creds("contoso.example")).await.unwrap();
    idp.request_arrived().await;

    let calls: Vec<_> = (0..16)
        .map(|_| {
            let (cache, stale) = (Arc::clone(&cache), stale.clone());
            tokio::spawn(async move { cache.renew(&creds("contoso.example"), &stale).await })
        })
        .collect();
    idp.request_arrived().await;
    until_waiting(&cache, "contoso.example", 15).await;
    idp.release(100);
    let serials = serials(calls).await;

    assert_eq!(idp.hits("contoso.example"), 2);
    assert!(
        serials
            .iter()
            .all(|s| *s == serials[0] && *s > stale.serial()),
        "{serials:?}"
    );
}

#[tokio::test]
async fn renewing_an_already_replaced_token_returns_the_newer_one() {
    let idp = FakeIdp::start().await;
    let cache = TokenCache::new(idp.client());
    let creds = creds("contoso.example");
    let stale = cache.token(&creds).await.unwrap();
    let newer = cache.renew(&creds, &stale).await.unwrap();

    let again = cache.renew(&creds, &stale).await.unwrap();

    assert_eq!(again.serial(), newer.serial());
    assert_eq!(idp.hits("contoso.example"), 2);
}

#[tokio::test]
async fn a_cached_token_is_reused() {
    let idp = FakeIdp::start().await;
    let cache = TokenCache::new(idp.client());

    let first = cache.token(&creds("contoso.example")).await.unwrap();
    let second = cache.token(&creds("CONTOSO.example")).await.unwrap();

    assert_eq!(first.serial(), second.serial());
    assert_eq!(idp.hits("contoso.example"), 1);
}

#[tokio::test]
async fn a_token_inside_the_renew_ahead_margin_is_refetched() {
    let idp = FakeIdp::start().await;
    idp.set_expires_in(60);
    let cache = TokenCache::new(idp.client());

    let first = cache.token(&creds("contoso.example")).await.unwrap();
    let second = cache.token(&creds("contoso.example")).await.unwrap();

    assert_ne!(first.serial(), second.serial());
    assert_eq!(idp.hits("contoso.example"), 2);
}

#[tokio::test]
async fn a_smaller_margin_keeps_a_short_lived_token() {
    let idp = FakeIdp::start().await;
    idp.set_expires_in(60);
    let cache = TokenCache::new(idp.client()).with_renew_ahead(Duration::from_secs(10));

    cache.token(&creds("contoso.example")).await.unwrap();
    cache.token(&creds("contoso.example")).await.unwrap();

    assert_eq!(idp.hits("contoso.example"), 1);
    assert_eq!(cache.renew_ahead(), Duration::from_secs(10));
}

#[tokio::test]
async fn a_failed_fetch_is_not_cached() {
    let idp = FakeIdp::start().await;
    let cache = TokenCache::new(idp.client());
    let creds = creds("aadsts-7000215.example");

    let first = cache.token(&creds).await.unwrap_err();
    let second = cache.token(&creds).await.unwrap_err();

    assert_eq!(first.diagnosis().unwrap().kind(), Cause::WrongClientSecret);
    assert_eq!(second.diagnosis().unwrap().kind(), Cause::WrongClientSecret);
    assert_eq!(idp.hits("aadsts-7000215.example"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_share_a_failure_instead_of_each_retrying() {
    let idp = FakeIdp::start_held().await;
    let cache = Arc::new(TokenCache::new(idp.client()));

    let calls = spawn_token_calls(&cache, "aadsts-7000222.example", 8);
    idp.request_arrived().await;
    until_waiting(&cache, "aadsts-7000222.example", 7).await;
    idp.release(100);
    for call in calls {
        let err = call.await.unwrap().unwrap_err();
        assert_eq!(err.diagnosis().unwrap().kind(), Cause::ClientSecretExpired);
    }

    assert_eq!(idp.hits("aadsts-7000222.example"), 1);
}

#[tokio::test]
async fn forgetting_a_tenant_forces_a_new_fetch() {
    let idp = FakeIdp::start().await;
    let cache = TokenCache::new(idp.client());
    let first = cache.token(&creds("contoso.example")).await.unwrap();

    cache.forget("Contoso.Example");
    let second = cache.token(&creds("contoso.example")).await.unwrap();

    assert!(second.serial() > first.serial());
    assert_eq!(idp.hits("contoso.example"), 2);
}

#[tokio::test]
async fn a_retryable_refresh_failure_serves_the_still_valid_token() {
    let idp = FakeIdp::start().await;
    idp.set_expires_in(60);
    let cache = TokenCache::new(idp.client());
    let first = cache.token(&creds("flaky.example")).await.unwrap();

    let second = cache.token(&creds("flaky.example")).await.unwrap();

    assert_eq!(second.serial(), first.serial());
    assert_eq!(idp.hits("flaky.example"), 2);
}

#[tokio::test]
async fn a_renewal_never_falls_back_to_the_refused_token() {
    let idp = FakeIdp::start().await;
    idp.set_expires_in(60);
    let cache = TokenCache::new(idp.client());
    let stale = cache.token(&creds("flaky.example")).await.unwrap();

    let renewed = cache.renew(&creds("flaky.example"), &stale).await;
    let after = cache.token(&creds("flaky.example")).await;

    assert!(
        matches!(renewed, Err(IdentityError::Unavailable { .. })),
        "{renewed:?}"
    );
    assert!(
        matches!(after, Err(IdentityError::Unavailable { .. })),
        "{after:?}"
    );
}

#[tokio::test]
async fn a_rejected_refresh_is_reported_even_while_the_token_is_valid() {
    let idp = FakeIdp::start().await;
    idp.set_expires_in(60);
    let cache = TokenCache::new(idp.client());
    cache.token(&creds("revoked.example")).await.unwrap();

    let err = cache.token(&creds("revoked.example")).await.unwrap_err();

    assert_eq!(err.diagnosis().unwrap().kind(), Cause::ClientSecretExpired);
}

#[tokio::test]
async fn each_client_id_of_a_tenant_has_its_own_token() {
    let idp = FakeIdp::start().await;
    let cache = TokenCache::new(idp.client());
    let other_app = AppCredentials::new("contoso.example", "app-456", ClientSecret::new("x"));

    let first = cache.token(&creds("contoso.example")).await.unwrap();
    let second = cache.token(&other_app).await.unwrap();

    assert_ne!(first.serial(), second.serial());
    assert_eq!(idp.hits("contoso.example"), 2);
}

#[tokio::test]
async fn an_offered_token_saves_the_fetch_until_a_server_refuses_it() {
    let idp = FakeIdp::start().await;
    let cache = TokenCache::new(idp.client());
    let creds = creds("contoso.example");
    assert!(!cache.is_fresh(&creds));

    let stored = AccessToken::new(
        "from-the-store",
        SystemTime::now() + Duration::from_hours(1),
    );
    assert!(cache.offer(&creds, stored.clone()).await);
    assert!(cache.is_fresh(&creds));
    let used = cache.token(&creds).await.unwrap();
    assert_eq!(used.bearer(), "from-the-store");
    assert_eq!(idp.hits("contoso.example"), 0);

    let renewed = cache.renew(&creds, &used).await.unwrap();
    assert_ne!(renewed.bearer(), "from-the-store");
    assert_eq!(idp.hits("contoso.example"), 1);
}

#[tokio::test]
async fn an_offer_that_would_not_last_or_is_older_is_refused() {
    let idp = FakeIdp::start().await;
    let cache = TokenCache::new(idp.client());
    let creds = creds("contoso.example");

    let nearly_gone = AccessToken::new("short", SystemTime::now() + Duration::from_mins(2));
    assert!(!cache.offer(&creds, nearly_gone).await);
    assert!(!cache.is_fresh(&creds));

    let held = cache.token(&creds).await.unwrap();
    let older = AccessToken::new("older", held.expires_at() - Duration::from_mins(10));
    assert!(!cache.offer(&creds, older).await);
    assert_eq!(cache.token(&creds).await.unwrap().serial(), held.serial());
}
