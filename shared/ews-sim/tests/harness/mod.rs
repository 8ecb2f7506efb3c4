//! Starts a simulator with the Contoso preset and builds our EWS client against it.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use mailbridge_ews::{EwsClient, RetryPolicy};
use mailbridge_ews_sim::Simulator;
use mailbridge_ews_sim::preset::{PresetTenant, contoso};
use mailbridge_identity::{
    AppCredentials, Authority, ClientSecret, TenantTokens, TokenCache, TokenClient,
};

/// A running simulator, its tenant, and a client for the tenant's app.
pub struct Env {
    pub sim: Simulator,
    pub tenant: PresetTenant,
    pub http: reqwest::Client,
    pub ews: EwsClient<TenantTokens>,
}

impl Env {
    /// The tenant's test mailbox.
    pub fn mailbox(&self) -> &str {
        &self.tenant.mailboxes[0]
    }

    /// A token client against the simulator's identity endpoint.
    pub fn token_client(&self) -> TokenClient {
        TokenClient::new(self.http.clone(), authority(&self.sim))
    }

    /// A client for other credentials of the same simulator.
    pub fn client_for(
        &self,
        tenant_id: &str,
        client_id: &str,
        secret: &str,
    ) -> EwsClient<TenantTokens> {
        client(&self.sim, &self.http, tenant_id, client_id, secret)
    }
}

pub fn authority(sim: &Simulator) -> Authority {
    Authority::new(&sim.base_url()).expect("a loopback authority is allowed")
}

/// Retries that wait milliseconds, so fault tests stay fast.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        max_elapsed: Duration::from_secs(20),
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
    }
}

pub fn client(
    sim: &Simulator,
    http: &reqwest::Client,
    tenant_id: &str,
    client_id: &str,
    secret: &str,
) -> EwsClient<TenantTokens> {
    let cache = Arc::new(TokenCache::new(TokenClient::new(
        http.clone(),
        authority(sim),
    )));
    let creds = AppCredentials::new(tenant_id, client_id, ClientSecret::new(secret));
    EwsClient::new(
        http.clone(),
        &sim.ews_url(),
        TenantTokens::new(cache, creds),
    )
    .expect("a loopback endpoint is allowed")
    .with_retry(fast_retry())
}

/// A simulator with Contoso and a client for its app.
pub async fn start() -> Env {
    let sim = Simulator::start().await.expect("the simulator starts");
    let tenant = contoso(sim.world()).expect("a fresh world takes the preset");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client");
    let ews = client(
        &sim,
        &http,
        &tenant.tenant_id,
        &tenant.client_id,
        &tenant.client_secret,
    );
    Env {
        sim,
        tenant,
        http,
        ews,
    }
}

/// A fixed instant in March 2027, so calendar tests do not depend on today.
pub fn at(day: u32, hour: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone as _;
    chrono::Utc
        .with_ymd_and_hms(2027, 3, day, hour, 0, 0)
        .single()
        .expect("a valid date")
}

/// The id a create returned.
pub fn id_of(
    result: &Result<Option<mailbridge_ews::types::ItemId>, mailbridge_ews::ResponseError>,
) -> mailbridge_ews::types::ItemId {
    result
        .as_ref()
        .expect("the item was created")
        .clone()
        .expect("the response names the new item")
}
