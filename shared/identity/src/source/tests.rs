use std::time::{Duration, SystemTime};

use super::*;
use crate::ClientSecret;
use crate::fake_idp::FakeIdp;

fn fixed_token() -> AccessToken {
    AccessToken::new("fixed", SystemTime::now() + Duration::from_mins(10))
}

/// Stands in for the EWS client, which only sees the trait.
async fn token_then_renew(source: &impl TokenSource) -> (AccessToken, AccessToken) {
    let first = source.token().await.unwrap();
    let second = source.renew(&first).await.unwrap();
    (first, second)
}

#[tokio::test]
async fn tenant_tokens_fetch_through_the_shared_cache() {
    let idp = FakeIdp::start().await;
    let cache = Arc::new(TokenCache::new(idp.client()));
    let creds = AppCredentials::new("contoso.example", "app", ClientSecret::new("pw"));
    let tokens = TenantTokens::new(Arc::clone(&cache), creds.clone());

    let (first, renewed) = token_then_renew(&tokens).await;
    let cached = cache.token(&creds).await.unwrap();

    assert!(renewed.serial() > first.serial());
    assert_eq!(cached.serial(), renewed.serial());
    assert_eq!(tokens.tenant_id(), "contoso.example");
    assert_eq!(idp.hits("contoso.example"), 2);
}

#[tokio::test]
async fn a_static_token_renews_to_itself() {
    let source = StaticToken::new(fixed_token());

    let (first, renewed) = token_then_renew(&source).await;

    assert_eq!(first.serial(), renewed.serial());
    assert_eq!(renewed.bearer(), "fixed");
}

#[tokio::test]
async fn a_shared_source_is_a_source() {
    let source = Arc::new(StaticToken::new(fixed_token()));

    let (first, _) = token_then_renew(&source).await;

    assert_eq!(first.bearer(), "fixed");
}
