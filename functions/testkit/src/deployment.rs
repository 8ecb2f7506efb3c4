//! One test's deployment on moto: a state table, a secret prefix, a sync queue and a send
//! retry queue of its own, and tenants of the Exchange simulator onboarded into them.

use aws_config::SdkConfig;
use chrono::{DateTime, Duration, Utc};
use mailbridge_ews_sim::Simulator;
use mailbridge_ews_sim::model::SeedSpec;
use mailbridge_ews_sim::preset::{PresetTenant, contoso};
use mailbridge_fn_common::metrics::Metrics;
use mailbridge_fn_common::settings::{
    SECRET_PREFIX, SEND_RETRY_QUEUE_URL, STAGE, SYNC_QUEUE_URL, TABLE_NAME,
};
use mailbridge_fn_common::{Services, Settings};
use mailbridge_service::tenants::secret_name;
use mailbridge_store::{
    Expect, Mailbox, MailboxStatus, SecretStore, StateStore, Tenant, TenantStatus,
};
use secrecy::SecretString;

use crate::{moto, unique};

/// A function's services on fresh moto resources, and the SDK configuration for reading
/// them back.
pub struct Deployment {
    /// What the handlers get.
    pub services: Services,
    /// SDK configuration for moto.
    pub aws: SdkConfig,
}

/// A simulator with one tenant set up in it and onboarded into a [`Deployment`].
pub struct Onboarded {
    /// The running simulator (dropping it stops the server).
    pub sim: Simulator,
    /// The tenant as its administrator handed it over.
    pub tenant: PresetTenant,
}

impl Deployment {
    /// A new table, secret prefix and SQS queues, and services built on them through the
    /// same settings path a function takes.
    pub async fn new() -> Deployment {
        let aws = moto::config().await;
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let queue_url = create_queue(&sqs, "sync").await;
        let retry_queue_url = create_queue(&sqs, "send-retry").await;

        let table = unique("state");
        let prefix = format!("{}/", unique("mailbridge-test"));
        let vars = [
            (TABLE_NAME, table),
            (SECRET_PREFIX, prefix),
            (STAGE, "test".to_owned()),
            (SYNC_QUEUE_URL, queue_url),
            (SEND_RETRY_QUEUE_URL, retry_queue_url),
        ];
        let settings = Settings::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        })
        .expect("test settings are valid");
        let services = services_on(settings, &aws);
        services
            .state
            .create_table()
            .await
            .expect("create the state table on moto");
        Deployment { services, aws }
    }

    /// Services on the same table, secret prefix and queues, for a handler that takes its
    /// services by value while the test keeps reading through [`Deployment::services`].
    pub fn fresh_services(&self) -> Services {
        services_on(self.services.settings.clone(), &self.aws)
    }

    /// An SQS client on moto.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.aws)
    }

    /// The sync queue's URL.
    pub fn queue_url(&self) -> &str {
        self.services
            .settings
            .sync_queue_url
            .as_deref()
            .expect("the test deployment has a queue")
    }

    /// The send retry queue's URL.
    pub fn retry_queue_url(&self) -> &str {
        self.services
            .settings
            .send_retry_queue_url
            .as_deref()
            .expect("the test deployment has a send retry queue")
    }

    /// Starts a simulator with the Contoso tenant, seeds its first mailbox with `contacts`
    /// contacts, and onboards it with a secret expiring `secret_expires_in` from now.
    pub async fn contoso(&self, contacts: usize, secret_expires_in: Duration) -> Onboarded {
        let sim = Simulator::start().await.expect("start the simulator");
        let tenant = contoso(sim.world()).expect("set up Contoso in the simulator");
        let spec = SeedSpec {
            contacts,
            seed: 7,
            ..SeedSpec::default()
        };
        sim.world()
            .seed(&tenant.mailboxes[0], &spec)
            .expect("seed the test mailbox");
        self.onboard(&sim, &tenant, Some(Utc::now() + secret_expires_in))
            .await;
        Onboarded { sim, tenant }
    }

    /// Stores `tenant` (pointed at `sim`), its client secret and its mailboxes, all active.
    pub async fn onboard(
        &self,
        sim: &Simulator,
        tenant: &PresetTenant,
        secret_expires: Option<DateTime<Utc>>,
    ) {
        let record = Tenant {
            id: tenant.tenant_id.clone(),
            name: tenant.domain.clone(),
            client_id: tenant.client_id.clone(),
            secret_expires,
            status: TenantStatus::Active,
            status_reason: None,
            authority: Some(sim.base_url()),
            ews_endpoint: Some(sim.ews_url()),
            api_key_hashes: Vec::new(),
            version: 0,
        };
        let state = &self.services.state;
        state
            .put_tenant(&record, Expect::Absent)
            .await
            .expect("store the tenant");
        self.services
            .secrets
            .put(
                &secret_name(&record.id),
                &SecretString::from(tenant.client_secret.clone()),
            )
            .await
            .expect("store the client secret");
        for address in &tenant.mailboxes {
            let mailbox = Mailbox {
                address: address.clone(),
                tenant: record.id.clone(),
                status: MailboxStatus::Active,
                attention: None,
                last_sync: None,
                last_error: None,
                back_off_until: None,
                braked: None,
                deletes_go_ahead: None,
                version: 0,
            };
            state
                .put_mailbox(&mailbox, Expect::Absent)
                .await
                .expect("store the mailbox");
        }
    }
}

/// A new queue on moto named after `purpose`; its URL.
async fn create_queue(sqs: &aws_sdk_sqs::Client, purpose: &str) -> String {
    let queue = sqs
        .create_queue()
        .queue_name(unique(purpose))
        .send()
        .await
        .unwrap_or_else(|err| panic!("create the {purpose} queue on moto: {err}"));
    queue
        .queue_url()
        .expect("moto returns the queue URL")
        .to_owned()
}

/// Services on moto whose metric lines are kept for the test to read.
fn services_on(settings: Settings, aws: &SdkConfig) -> Services {
    let http = mailbridge_fn_common::services::http_client().expect("build the HTTP client");
    let mut services = Services::on_aws(settings, aws, http).expect("services build on moto");
    services.metrics = Metrics::captured(
        services.settings.metrics_namespace.clone(),
        services.settings.stage.clone(),
    );
    services
}
