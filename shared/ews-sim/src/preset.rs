//! Ready-made tenants: a correctly set-up one, and helpers to break it the ways an
//! administrator can.

use chrono::Duration;

use crate::model::{AppConfig, MailboxConfig, TenantConfig};
use crate::world::{ControlError, World};

/// A tenant as an administrator hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetTenant {
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// Primary domain.
    pub domain: String,
    /// Application (client) id.
    pub client_id: String,
    /// The client secret's value.
    pub client_secret: String,
    /// Mailbox addresses, the test mailbox first.
    pub mailboxes: Vec<String>,
}

/// Contoso: one app with `full_access_as_app` and admin consent, a secret valid for a year,
/// and two mailboxes.
pub fn contoso(world: &World) -> Result<PresetTenant, ControlError> {
    tenant(
        world,
        "6a1e2c4d-8b3f-4e5a-9c7d-0f1e2d3c4b5a",
        "contoso.example",
        &["anna.berg", "bo.lind"],
    )
}

/// A correctly set-up tenant with mailboxes `{local}@{domain}`.
pub fn tenant(
    world: &World,
    tenant_id: &str,
    domain: &str,
    locals: &[&str],
) -> Result<PresetTenant, ControlError> {
    let client_id = format!("{}-app0-4000-8000-00000000c11e", &tenant_id[..8]);
    let client_secret = format!("sim~{}~secret-value", &tenant_id[..8]);
    let expires = world.now() + Duration::days(365);
    let mut config = TenantConfig::new(tenant_id, domain);
    config
        .apps
        .push(AppConfig::new(&client_id, &client_secret, expires));
    world.add_tenant(config)?;
    let mut mailboxes = Vec::new();
    for local in locals {
        let address = format!("{local}@{domain}");
        let name = local
            .split('.')
            .map(|part| {
                let mut chars = part.chars();
                chars
                    .next()
                    .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(" ");
        world.add_mailbox(MailboxConfig::new(tenant_id, &address, &name))?;
        mailboxes.push(address);
    }
    Ok(PresetTenant {
        tenant_id: tenant_id.to_owned(),
        domain: domain.to_owned(),
        client_id,
        client_secret,
        mailboxes,
    })
}
