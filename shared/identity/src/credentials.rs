//! What a customer's administrator hands over: tenant id, client id and client secret.

use std::fmt;

use crate::ClientSecret;

/// The app-only credentials of one tenant's app registration.
///
/// `Debug` shows the tenant and client ids but never the secret. The tenant id is checked
/// (GUID or domain name) when a token is requested, not here, so that a mistyped id still
/// produces a diagnosis naming the field.
#[derive(Clone)]
pub struct AppCredentials {
    /// Directory (tenant) ID, a GUID, or one of the tenant's verified domain names.
    pub tenant_id: String,
    /// Application (client) ID of the app registration.
    pub client_id: String,
    /// The client secret's value.
    pub secret: ClientSecret,
}

impl AppCredentials {
    /// Bundles the three values an administrator provides.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        secret: ClientSecret,
    ) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            secret,
        }
    }
}

impl fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredentials")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("secret", &self.secret)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_names_tenant_and_client_but_not_the_secret() {
        let creds = AppCredentials::new("contoso.example", "app-123", ClientSecret::new("pw-42"));

        let printed = format!("{creds:?}");

        assert!(printed.contains("contoso.example"), "{printed}");
        assert!(printed.contains("app-123"), "{printed}");
        assert!(!printed.contains("pw-42"), "{printed}");
    }
}
