//! Verification against the simulator configured with each setup mistake an administrator
//! can make: every one ends in "cannot be verified" with the stage to fix.

#![allow(clippy::unwrap_used)]

use chrono::{Duration, NaiveDate, Utc};
use mailbridge_ews_sim::Simulator;
use mailbridge_ews_sim::preset::{PresetTenant, contoso};
use mailbridge_service::{SetupStage, Verification, VerifyInput, verify};
use secrecy::SecretString;

struct Env {
    sim: Simulator,
    tenant: PresetTenant,
}

async fn start() -> Env {
    let sim = Simulator::start().await.unwrap();
    let tenant = contoso(sim.world()).unwrap();
    Env { sim, tenant }
}

impl Env {
    fn input(&self) -> VerifyInput {
        VerifyInput {
            tenant_id: self.tenant.tenant_id.clone(),
            client_id: self.tenant.client_id.clone(),
            client_secret: SecretString::from(self.tenant.client_secret.clone()),
            secret_expires: Some(Utc::now().date_naive() + Duration::days(300)),
            test_mailbox: self.tenant.mailboxes[0].clone(),
            authority: Some(self.sim.base_url()),
            ews_endpoint: Some(self.sim.ews_url()),
            send_test_message: false,
        }
    }

    async fn run(&self, input: &VerifyInput) -> Verification {
        verify(&reqwest::Client::new(), input).await
    }

    fn app(&self, edit: impl FnOnce(&mut mailbridge_ews_sim::model::AppConfig)) {
        let client = self.tenant.client_id.clone();
        self.sim
            .world()
            .update_tenant(&self.tenant.tenant_id, |t| {
                edit(t.apps.iter_mut().find(|a| a.client_id == client).unwrap());
            })
            .unwrap();
    }
}

fn assert_stage(v: &Verification, stage: SetupStage) {
    assert!(!v.verified, "{v:#?}");
    let finding = v.finding.as_ref().unwrap();
    assert_eq!(finding.stage, stage, "{v:#?}");
    assert!(!finding.cause.is_empty() && !finding.fix.is_empty());
    assert!(!v.steps.last().unwrap().ok);
}

#[tokio::test]
async fn a_correct_setup_is_verified_step_by_step_and_leaves_nothing_behind() {
    let env = start().await;
    let mut input = env.input();
    input.send_test_message = true;
    let v = env.run(&input).await;
    assert!(v.verified, "{v:#?}");
    let names: Vec<&str> = v.steps.iter().map(|s| s.name).collect();
    assert_eq!(names, ["token", "folders", "sync", "write", "send"]);
    assert!(v.warnings.is_empty(), "{:?}", v.warnings);
    let mailbox = &env.tenant.mailboxes[0];
    let contacts = env
        .sim
        .world()
        .items(mailbox, mailbridge_ews_sim::model::FolderKind::Contacts)
        .unwrap();
    assert!(contacts.is_empty(), "the test contact is gone");
    let deleted = env
        .sim
        .world()
        .items(mailbox, mailbridge_ews_sim::model::FolderKind::DeletedItems)
        .unwrap();
    assert!(deleted.is_empty(), "and not lingering in Deleted Items");
    assert_eq!(
        env.sim.world().outbox().len(),
        1,
        "the test message went out"
    );
}

#[tokio::test]
async fn identity_mistakes_name_their_stage() {
    let env = start().await;
    let mut input = env.input();
    input.tenant_id = "0b0b0b0b-1111-4222-8333-444455556666".into();
    assert_stage(&env.run(&input).await, SetupStage::TenantId);

    let mut input = env.input();
    input.tenant_id = "contoso-but-not-a-guid".into();
    assert_stage(&env.run(&input).await, SetupStage::TenantId);

    let mut input = env.input();
    input.client_id = "11111111-2222-4333-8444-555555555555".into();
    assert_stage(&env.run(&input).await, SetupStage::ClientId);

    let mut input = env.input();
    input.client_secret = SecretString::from("not-the-secret-value".to_owned());
    assert_stage(&env.run(&input).await, SetupStage::ClientSecret);
}

#[tokio::test]
async fn an_expired_secret_is_named_and_near_expiry_is_flagged() {
    let env = start().await;
    let yesterday = Utc::now() - Duration::days(1);
    env.app(|app| {
        for secret in &mut app.secrets {
            secret.expires = yesterday;
        }
    });
    let v = env.run(&env.input()).await;
    assert_stage(&v, SetupStage::SecretExpired);
    // The date handed over (300 days ahead) contradicts the identity platform.
    let finding = v.finding.unwrap();
    assert!(finding.cause.contains("older secret"), "{finding:?}");
    let mut input = env.input();
    input.secret_expires = Some(Utc::now().date_naive() - Duration::days(1));
    let finding = env.run(&input).await.finding.unwrap();
    assert!(!finding.cause.contains("older secret"), "{finding:?}");

    let env = start().await;
    let mut input = env.input();
    input.secret_expires = Some(Utc::now().date_naive() + Duration::days(12));
    let v = env.run(&input).await;
    assert!(v.verified);
    assert!(
        v.warnings.iter().any(|w| w.contains("expires in 12 days")),
        "{:?}",
        v.warnings
    );
    input.secret_expires = Some(NaiveDate::from_ymd_opt(2020, 1, 1).unwrap());
    let v = env.run(&input).await;
    assert!(
        v.warnings.iter().any(|w| w.contains("has passed")),
        "{:?}",
        v.warnings
    );
}

#[tokio::test]
async fn permission_and_consent_mistakes_name_their_stage() {
    let env = start().await;
    env.app(|app| app.full_access_as_app = false);
    assert_stage(&env.run(&env.input()).await, SetupStage::Permission);

    let env = start().await;
    env.app(|app| app.admin_consent = false);
    assert_stage(&env.run(&env.input()).await, SetupStage::AdminConsent);
}

#[tokio::test]
async fn mailbox_mistakes_name_their_stage() {
    let env = start().await;
    let mut input = env.input();
    input.test_mailbox = "nobody@contoso.example".into();
    assert_stage(&env.run(&input).await, SetupStage::TestMailbox);

    env.sim
        .world()
        .update_mailbox(&env.tenant.mailboxes[1], |m| m.licensed = false)
        .unwrap();
    let mut input = env.input();
    input.test_mailbox = env.tenant.mailboxes[1].clone();
    assert_stage(&env.run(&input).await, SetupStage::TestMailbox);

    let other = env.tenant.mailboxes[1].clone();
    env.app(|app| app.mailbox_scope = Some(vec![other]));
    assert_stage(&env.run(&env.input()).await, SetupStage::MailboxScope);
}

#[tokio::test]
async fn ews_switched_off_or_not_allow_listed_is_named() {
    let env = start().await;
    env.sim
        .world()
        .update_tenant(&env.tenant.tenant_id, |t| t.ews_enabled = false)
        .unwrap();
    let v = env.run(&env.input()).await;
    assert_stage(&v, SetupStage::EwsAccess);
    assert!(
        v.finding
            .unwrap()
            .fix
            .contains("Set-OrganizationConfig -EwsEnabled")
    );

    let env = start().await;
    env.sim
        .world()
        .update_tenant(&env.tenant.tenant_id, |t| {
            t.ews_allowed_app_ids = vec!["someone-else".into()];
        })
        .unwrap();
    let v = env.run(&env.input()).await;
    assert_stage(&v, SetupStage::EwsAccess);
    assert!(v.finding.unwrap().fix.contains("EwsAllowedAppIDs"));

    let env = start().await;
    env.sim
        .world()
        .update_mailbox(&env.tenant.mailboxes[0], |m| m.ews_enabled = false)
        .unwrap();
    let v = env.run(&env.input()).await;
    assert_stage(&v, SetupStage::EwsAccess);
    assert!(v.finding.unwrap().fix.contains("Set-CASMailbox"));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_network_finding() {
    let env = start().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut input = env.input();
    input.ews_endpoint = Some(format!("http://{closed}/EWS/Exchange.asmx"));
    assert_stage(&env.run(&input).await, SetupStage::Network);
    let mut input = env.input();
    input.authority = Some(format!("http://{closed}"));
    assert_stage(&env.run(&input).await, SetupStage::Network);
}

#[tokio::test]
async fn the_secret_never_appears_in_the_outcome() {
    let env = start().await;
    let secret = "sim~canary-secret-value~0123456789".to_owned();
    let mut input = env.input();
    input.client_secret = SecretString::from(secret.clone());
    let v = env.run(&input).await;
    assert_stage(&v, SetupStage::ClientSecret);
    let shown = format!("{v:?} {} {input:?}", serde_json::to_string(&v).unwrap());
    assert!(!shown.contains(&secret), "{shown}");
    let good = env.run(&env.input()).await;
    let shown = format!("{good:?} {}", serde_json::to_string(&good).unwrap());
    assert!(!shown.contains(&env.tenant.client_secret));
}
