//! Verification of a tenant's setup: a token, the test mailbox's folders with impersonation,
//! a read-only sync, a stamped test contact written and deleted, and optionally a test
//! message to the mailbox itself. The first failing step is diagnosed in plain words with
//! the administrator's fix, keyed to the setup stages.

use std::time::Instant;

use base64::Engine as _;
use chrono::{NaiveDate, Utc};
use mailbridge_ews::ops::{
    CreateItem, DeleteItem, DeleteType, GetFolder, SendMeetingCancellations, SyncFolderItems,
};
use mailbridge_ews::types::{Contact, DistinguishedFolder, Item, ItemId};
use mailbridge_ews::{EwsClient, EwsError, ResponseCode, RetryPolicy};
use mailbridge_identity::{
    AppCredentials, Authority, Cause, ClientSecret, IdentityError, StaticToken,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// What an administrator hands over.
#[derive(Debug, Clone)]
pub struct VerifyInput {
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// Application (client) id.
    pub client_id: String,
    /// The client secret's value.
    pub client_secret: SecretString,
    /// When the secret expires, as the administrator read it in Entra ID.
    pub secret_expires: Option<NaiveDate>,
    /// An ordinary mailbox of the tenant to test with.
    pub test_mailbox: String,
    /// The identity authority, when not Microsoft's.
    pub authority: Option<String>,
    /// The EWS endpoint, when not Exchange Online's.
    pub ews_endpoint: Option<String>,
    /// Also send a test message from the test mailbox to itself.
    pub send_test_message: bool,
}

/// The setup stage a finding points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SetupStage {
    /// The directory (tenant) id.
    TenantId,
    /// The application (client) id, or the app registration itself.
    ClientId,
    /// The client secret's value.
    ClientSecret,
    /// The client secret has expired.
    SecretExpired,
    /// The `full_access_as_app` application permission.
    Permission,
    /// Admin consent for the permission.
    AdminConsent,
    /// The test mailbox: unknown, unlicensed or in another tenant.
    TestMailbox,
    /// The app's access scope (application access policy or RBAC for applications).
    MailboxScope,
    /// EWS switched off for the tenant or the mailbox, or the app not on the EWS allow-list.
    EwsAccess,
    /// The network, TLS or the endpoints.
    Network,
    /// Something the checks cannot attribute; the message says what happened.
    Other,
}

/// A diagnosis: the cause in plain words and the administrator's fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The setup stage to revisit.
    pub stage: SetupStage,
    /// What is wrong.
    pub cause: String,
    /// What to do about it.
    pub fix: String,
}

/// One verification step and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `token`, `folders`, `sync`, `write`, `send`.
    pub name: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// How long it took, in milliseconds.
    pub millis: u64,
    /// What happened, in plain words.
    pub detail: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Every step passed.
    pub verified: bool,
    /// The steps run, in order; the first failure ends the run.
    pub steps: Vec<Step>,
    /// Why it cannot be verified.
    pub finding: Option<Finding>,
    /// Things to look at even when verified (a secret expiring soon).
    pub warnings: Vec<String>,
}

fn finding(stage: SetupStage, cause: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding {
        stage,
        cause: cause.into(),
        fix: fix.into(),
    }
}

/// How many days ahead an expiring secret is flagged.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Verifies a tenant's setup with `http` (a client the caller configured: timeouts, TLS).
pub async fn verify(http: &reqwest::Client, input: &VerifyInput) -> Verification {
    let mut run = Run {
        steps: Vec::new(),
        warnings: expiry_warnings(input.secret_expires),
    };
    let finding = run.steps(http, input).await.err();
    Verification {
        verified: finding.is_none(),
        steps: run.steps,
        finding,
        warnings: run.warnings,
    }
}

/// The identity platform's word on expiry set against the administrator's date: a secret
/// it calls expired while the date given is still ahead is most likely another, older
/// secret's value handed over with the new secret's date.
fn with_expiry_check(mut finding: Finding, given: Option<NaiveDate>) -> Finding {
    let today = Utc::now().date_naive();
    if finding.stage == SetupStage::SecretExpired
        && let Some(given) = given
        && given >= today
    {
        finding.cause = format!(
            "{} The expiry date given ({given}) is still ahead, so the value handed over is most likely an older secret's, not the one created with that date.",
            finding.cause.trim_end()
        );
        finding.fix = format!(
            "{} Copy the value of the secret that expires on {given} (it is shown only right after it was created; if it was not copied, create another).",
            finding.fix.trim_end()
        );
    }
    finding
}

fn expiry_warnings(expires: Option<NaiveDate>) -> Vec<String> {
    let Some(expires) = expires else {
        return vec!["no expiry date was given for the client secret: enter the date shown under Certificates & secrets, so mailbridge can warn before it lapses".into()];
    };
    let days = (expires - Utc::now().date_naive()).num_days();
    if days < 0 {
        vec![format!(
            "the expiry date given ({expires}) has passed: if the secret still works, the date is wrong; create a new secret and enter its value and expiry"
        )]
    } else if days <= EXPIRY_WARNING_DAYS {
        vec![format!(
            "the client secret expires in {days} days ({expires}): create a new secret and rotate it in mailbridge before then"
        )]
    } else {
        Vec::new()
    }
}

struct Run {
    steps: Vec<Step>,
    warnings: Vec<String>,
}

impl Run {
    fn record<T, E>(
        &mut self,
        name: &'static str,
        started: Instant,
        result: Result<T, E>,
        ok_detail: impl FnOnce(&T) -> String,
        diagnose: impl FnOnce(&E) -> Finding,
    ) -> Result<T, Finding> {
        let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(value) => {
                self.steps.push(Step {
                    name,
                    ok: true,
                    millis,
                    detail: ok_detail(&value),
                });
                Ok(value)
            }
            Err(err) => {
                let finding = diagnose(&err);
                self.steps.push(Step {
                    name,
                    ok: false,
                    millis,
                    detail: finding.cause.clone(),
                });
                Err(finding)
            }
        }
    }

    async fn steps(&mut self, http: &reqwest::Client, input: &VerifyInput) -> Result<(), Finding> {
        let authority = match &input.authority {
            Some(url) => Authority::new(url).map_err(|e| identity_finding(&e))?,
            None => Authority::microsoft(),
        };
        let creds = AppCredentials::new(
            &input.tenant_id,
            &input.client_id,
            ClientSecret::new(input.client_secret.expose_secret()),
        );
        let tokens = mailbridge_identity::TokenClient::new(http.clone(), authority);
        let started = Instant::now();
        let token = tokens.fetch(&creds).await;
        let token = self.record(
            "token",
            started,
            token,
            |_| "an app-only token for Exchange was issued".into(),
            |err| with_expiry_check(identity_finding(err), input.secret_expires),
        )?;
        if let Some(finding) = missing_role(token.bearer()) {
            self.steps.push(Step {
                name: "permission",
                ok: false,
                millis: 0,
                detail: finding.cause.clone(),
            });
            return Err(finding);
        }
        if let Some(expires) = input.secret_expires
            && expires < Utc::now().date_naive()
        {
            self.warnings.push(format!(
                "the identity platform accepted the secret although the expiry date given ({expires}) has passed: check the date under Certificates & secrets"
            ));
        }
        let endpoint = input
            .ews_endpoint
            .as_deref()
            .unwrap_or(mailbridge_ews::EXCHANGE_ONLINE_EWS);
        let ews = EwsClient::new(http.clone(), endpoint, StaticToken::new(token))
            .map_err(|e| ews_finding(&e))?
            // Verification answers within seconds: one retry for a blip, no long back-off.
            .with_retry(RetryPolicy {
                max_attempts: 2,
                ..RetryPolicy::default()
            });
        self.mailbox_steps(&ews, input).await
    }

    async fn mailbox_steps(
        &mut self,
        ews: &EwsClient<StaticToken>,
        input: &VerifyInput,
    ) -> Result<(), Finding> {
        let mailbox = input.test_mailbox.trim();
        let started = Instant::now();
        let folders = ews
            .execute(
                mailbox,
                &GetFolder {
                    folders: vec![
                        DistinguishedFolder::Contacts.into(),
                        DistinguishedFolder::Calendar.into(),
                    ],
                },
            )
            .await
            .and_then(|results| {
                results
                    .into_iter()
                    .map(|r| r.map_err(EwsError::Response))
                    .collect::<Result<Vec<_>, _>>()
            });
        self.record(
            "folders",
            started,
            folders,
            |f| {
                format!(
                    "{mailbox}'s Contacts and Calendar folders opened with impersonation ({} folders)",
                    f.len()
                )
            },
            |e| mailbox_finding(e, mailbox),
        )?;

        let started = Instant::now();
        let mut sync = SyncFolderItems::new(DistinguishedFolder::Contacts, None);
        sync.max_changes = 10;
        let page = ews.execute(mailbox, &sync).await;
        self.record(
            "sync",
            started,
            page,
            |p| {
                format!(
                    "read-only sync of Contacts: {} changes in the first page",
                    p.changes.len()
                )
            },
            |e| mailbox_finding(e, mailbox),
        )?;

        let started = Instant::now();
        let written = write_and_delete(ews, mailbox).await;
        self.record(
            "write",
            started,
            written,
            |stamp| format!("a test contact (stamped {stamp}) was written and deleted"),
            write_finding,
        )?;

        if input.send_test_message {
            let started = Instant::now();
            let sent = send_to_self(ews, mailbox).await;
            self.record(
                "send",
                started,
                sent,
                |()| format!("a test message was sent from {mailbox} to itself"),
                |e| mailbox_finding(e, mailbox),
            )?;
        }
        Ok(())
    }
}

/// Writes a contact stamped so it can always be found, then deletes it for good.
async fn write_and_delete(ews: &EwsClient<StaticToken>, mailbox: &str) -> Result<String, EwsError> {
    let stamp = format!("mailbridge-verify-{:016x}", fastrand::u64(..));
    let mut contact = Contact {
        given_name: Some("mailbridge".into()),
        surname: Some("verification".into()),
        notes: Some(
            "Written and deleted by mailbridge while verifying access. Safe to delete.".into(),
        ),
        ..Contact::default()
    };
    contact.common.crm_id = Some(stamp.clone());
    let created = ews
        .execute(
            mailbox,
            &CreateItem::save_in(
                DistinguishedFolder::Contacts,
                vec![Item::Contact(Box::new(contact))],
            ),
        )
        .await?;
    let id = match created.into_iter().next() {
        Some(Ok(Some(id))) => id,
        Some(Err(err)) => return Err(EwsError::Response(err)),
        _ => return Ok(stamp),
    };
    let delete = DeleteItem {
        ids: vec![ItemId::new(id.id, None)],
        delete_type: DeleteType::HardDelete,
        send_meeting_cancellations: SendMeetingCancellations::SendToNone,
    };
    for result in ews.execute(mailbox, &delete).await? {
        result.map_err(EwsError::Response)?;
    }
    Ok(stamp)
}

async fn send_to_self(ews: &EwsClient<StaticToken>, mailbox: &str) -> Result<(), EwsError> {
    let message = mailbridge_ews::types::Message {
        subject: Some("mailbridge verification".into()),
        body: Some(mailbridge_ews::types::Body::text(
            "mailbridge can send mail from this mailbox. This message can be deleted.",
        )),
        to: vec![mailbridge_ews::types::Mailbox::new(mailbox)],
        ..mailbridge_ews::types::Message::default()
    };
    for result in ews
        .execute(mailbox, &CreateItem::send_and_save_copy(message))
        .await?
    {
        result.map_err(EwsError::Response)?;
    }
    Ok(())
}

/// Whether the token lacks the `full_access_as_app` role. Tokens are opaque to clients in
/// principle; reading the role claim here only sharpens a diagnosis, nothing depends on it.
fn missing_role(bearer: &str) -> Option<Finding> {
    let payload = bearer.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let has_role = claims
        .get("roles")
        .and_then(|r| r.as_array())
        .is_some_and(|roles| roles.iter().any(|r| r == "full_access_as_app"));
    (!has_role).then(permission_missing)
}

fn permission_missing() -> Finding {
    finding(
        SetupStage::Permission,
        "the app's token does not carry the full_access_as_app permission",
        "in Entra ID > App registrations > the app > API permissions, add Office 365 Exchange Online > Application permissions > full_access_as_app, then select Grant admin consent",
    )
}

fn identity_finding(err: &IdentityError) -> Finding {
    let Some(diagnosis) = err.diagnosis() else {
        return finding(
            SetupStage::Other,
            err.to_string(),
            "check the tenant id, client id and secret, then verify again",
        );
    };
    let stage = match diagnosis.kind() {
        Cause::TenantNotFound | Cause::TenantIdMalformed => SetupStage::TenantId,
        Cause::ApplicationNotFound | Cause::ApplicationDisabled => SetupStage::ClientId,
        Cause::WrongClientSecret => SetupStage::ClientSecret,
        Cause::ClientSecretExpired => SetupStage::SecretExpired,
        Cause::AdminConsentMissing => SetupStage::AdminConsent,
        Cause::InvalidScope | Cause::ExchangeNotInTenant => SetupStage::Permission,
        Cause::Unreachable
        | Cause::TimedOut
        | Cause::ConnectionLost
        | Cause::PlatformUnavailable => SetupStage::Network,
        _ => SetupStage::Other,
    };
    finding(stage, diagnosis.cause(), diagnosis.admin_fix())
}

fn ews_finding(err: &EwsError) -> Finding {
    match err {
        EwsError::Network { .. } | EwsError::InsecureEndpoint { .. } => finding(
            SetupStage::Network,
            format!("Exchange could not be reached: {err}"),
            "check that this service may reach outlook.office365.com over HTTPS (proxy, firewall, TLS inspection)",
        ),
        _ => finding(
            SetupStage::Other,
            err.to_string(),
            "verify again; if it persists, contact support with this message",
        ),
    }
}

fn mailbox_finding(err: &EwsError, mailbox: &str) -> Finding {
    if let EwsError::Unauthorized { reason } = err
        && reason.as_deref().is_some_and(|r| r.contains("scope"))
    {
        return permission_missing();
    }
    if let EwsError::Forbidden { reason } = err {
        let reason = reason.as_deref().unwrap_or_default();
        let fix = if reason.contains("allow-list") || reason.contains("EwsAllowedAppIDs") {
            "the organisation only allows listed apps to use EWS: add this app's client id with Set-OrganizationConfig -EwsAllowedAppIDs (Exchange Online PowerShell), or ask Microsoft to allow-list it while EWS is being retired"
        } else if reason.contains("mailbox") {
            "EWS is switched off for the test mailbox: run Set-CASMailbox <mailbox> -EwsEnabled $true, or pick another test mailbox"
        } else {
            "EWS is switched off for the organisation: run Set-OrganizationConfig -EwsEnabled $true (Exchange Online PowerShell)"
        };
        return finding(
            SetupStage::EwsAccess,
            format!("Exchange refused EWS access: {reason}"),
            fix,
        );
    }
    match err.response_code() {
        Some(ResponseCode::ErrorNonExistentMailbox) => finding(
            SetupStage::TestMailbox,
            format!(
                "{mailbox} has no mailbox in this tenant (unknown, unlicensed, or in another organisation)"
            ),
            "enter the address of an ordinary, licensed user mailbox of this tenant",
        ),
        Some(ResponseCode::ErrorImpersonateUserDenied) => finding(
            SetupStage::MailboxScope,
            format!(
                "the app may not reach {mailbox}: an application access policy or RBAC for applications scope leaves it out"
            ),
            "add the mailbox to the group or management scope the app's access policy (New-ApplicationAccessPolicy) or RBAC assignment (New-ManagementRoleAssignment -CustomResourceScope) allows, or remove the restriction",
        ),
        _ => ews_finding(err),
    }
}

fn write_finding(err: &EwsError) -> Finding {
    match err.response_code() {
        Some(ResponseCode::ErrorAccessDenied) => finding(
            SetupStage::MailboxScope,
            "the app may read the mailbox but not write to it",
            "grant full_access_as_app (not a read-only permission) and check that no access policy restricts writes",
        ),
        _ => mailbox_finding(err, "the test mailbox"),
    }
}
