//! The directory: tenants, their app registrations and their mailboxes, with every setting
//! an administrator can get wrong.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A client secret of an app registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretConfig {
    /// The secret's value, as the admin copied it.
    pub value: String,
    /// When it stops working.
    pub expires: DateTime<Utc>,
}

/// An app registration in a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppConfig {
    /// Application (client) id.
    pub client_id: String,
    /// Its client secrets.
    #[serde(default)]
    pub secrets: Vec<SecretConfig>,
    /// Whether `full_access_as_app` is among its API permissions.
    #[serde(default = "yes")]
    pub full_access_as_app: bool,
    /// Whether an administrator granted consent to its permissions.
    #[serde(default = "yes")]
    pub admin_consent: bool,
    /// Whether sign-in is enabled for its service principal.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The mailboxes an application access policy (or RBAC for Applications scope) lets it
    /// reach; `None` means every mailbox of the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailbox_scope: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

impl AppConfig {
    /// A correctly set-up app with one secret.
    pub fn new(client_id: &str, secret: &str, expires: DateTime<Utc>) -> AppConfig {
        AppConfig {
            client_id: client_id.to_owned(),
            secrets: vec![SecretConfig {
                value: secret.to_owned(),
                expires,
            }],
            full_access_as_app: true,
            admin_consent: true,
            enabled: true,
            mailbox_scope: None,
        }
    }

    /// Whether the app's scope lets it reach `address`.
    pub fn may_reach(&self, address: &str) -> bool {
        self.mailbox_scope
            .as_ref()
            .is_none_or(|scope| scope.iter().any(|a| a.eq_ignore_ascii_case(address)))
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantConfig {
    /// Directory (tenant) id, a GUID.
    pub tenant_id: String,
    /// Its domains, the first one primary (`contoso.onmicrosoft.com`).
    pub domains: Vec<String>,
    /// App registrations.
    #[serde(default)]
    pub apps: Vec<AppConfig>,
    /// Whether EWS is enabled for the organisation.
    #[serde(default = "yes")]
    pub ews_enabled: bool,
    /// Application ids allowed to use EWS; empty means every app (no allow-list).
    #[serde(default)]
    pub ews_allowed_app_ids: Vec<String>,
}

impl TenantConfig {
    /// A tenant with one domain and no apps.
    pub fn new(tenant_id: &str, domain: &str) -> TenantConfig {
        TenantConfig {
            tenant_id: tenant_id.to_owned(),
            domains: vec![domain.to_owned()],
            apps: Vec::new(),
            ews_enabled: true,
            ews_allowed_app_ids: Vec::new(),
        }
    }

    /// Whether `key` names this tenant, by id or by one of its domains.
    pub fn is_named(&self, key: &str) -> bool {
        self.tenant_id.eq_ignore_ascii_case(key)
            || self.domains.iter().any(|d| d.eq_ignore_ascii_case(key))
    }

    /// The app with this client id.
    pub fn app(&self, client_id: &str) -> Option<&AppConfig> {
        self.apps
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
    }

    /// Whether the tenant's EWS policy lets `client_id` use EWS.
    pub fn ews_allows(&self, client_id: &str) -> bool {
        self.ews_enabled
            && (self.ews_allowed_app_ids.is_empty()
                || self
                    .ews_allowed_app_ids
                    .iter()
                    .any(|id| id.eq_ignore_ascii_case(client_id)))
    }
}

/// A mailbox's directory settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxConfig {
    /// Primary SMTP address.
    pub address: String,
    /// The owner's name.
    #[serde(default)]
    pub display_name: String,
    /// The tenant id it belongs to.
    pub tenant_id: String,
    /// Without a licence the user has no mailbox: Exchange answers as for an unknown address.
    #[serde(default = "yes")]
    pub licensed: bool,
    /// `Set-CASMailbox -EwsEnabled`.
    #[serde(default = "yes")]
    pub ews_enabled: bool,
}

impl MailboxConfig {
    /// A licensed mailbox with EWS on.
    pub fn new(tenant_id: &str, address: &str, display_name: &str) -> MailboxConfig {
        MailboxConfig {
            address: address.to_owned(),
            display_name: display_name.to_owned(),
            tenant_id: tenant_id.to_owned(),
            licensed: true,
            ews_enabled: true,
        }
    }
}

/// Whether `text` has the shape of a GUID.
pub fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether `text` has the shape of a DNS name (`contoso.onmicrosoft.com`).
pub fn is_domain(text: &str) -> bool {
    text.contains('.')
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Whether `text` is a plausible SMTP address.
pub fn is_smtp_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"".contains(c))
        && is_domain(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_recognised_by_shape() {
        assert!(is_guid("3f2504e0-4f89-11d3-9a0c-0305e82c3301"));
        assert!(!is_guid("3f2504e0-4f89-11d3-9a0c-0305e82c330"));
        assert!(is_domain("contoso.onmicrosoft.com"));
        assert!(!is_domain("contoso"));
        assert!(!is_domain("bad_name.example"));
        assert!(is_smtp_address("anna.berg@contoso.example"));
        assert!(!is_smtp_address("anna berg@contoso.example"));
        assert!(!is_smtp_address("@contoso.example"));
        assert!(!is_smtp_address("anna@localhost"));
    }

    #[test]
    fn the_ews_allow_list_is_open_until_it_names_an_app() {
        let mut tenant = TenantConfig::new("t", "contoso.example");
        assert!(tenant.ews_allows("app-1"));
        tenant.ews_allowed_app_ids.push("APP-2".into());
        assert!(!tenant.ews_allows("app-1"));
        assert!(tenant.ews_allows("app-2"));
        tenant.ews_enabled = false;
        assert!(!tenant.ews_allows("app-2"));
    }
}
