//! Where tokens come from: the identity platform's base URL and its per-tenant token endpoint.

use std::net::IpAddr;

use url::{Host, Url};

use crate::IdentityError;

/// The Microsoft identity platform's global authority.
pub const MICROSOFT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Tenant ids that name a group of tenants rather than one; client credentials need one tenant.
const MULTI_TENANT_ALIASES: [&str; 3] = ["common", "organizations", "consumers"];

/// The base URL of an OAuth 2.0 authority, such as `https://login.microsoftonline.com`, a national
/// cloud, or a loopback simulator.
///
/// The token endpoint of a tenant is `{base}/{tenant}/oauth2/v2.0/token`. An authority must use
/// `https`, except on a loopback host (`127.0.0.0/8`, `::1`, `localhost`), because the token
/// request carries the client secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    base: Url,
}

impl Authority {
    /// Parses and checks an authority base URL.
    ///
    /// Fails with [`IdentityError::InsecureAuthority`] for plain `http` on a non-loopback host,
    /// and with [`IdentityError::InvalidAuthority`] for anything that is not an absolute
    /// `http(s)` URL without credentials, query or fragment.
    pub fn new(url: &str) -> Result<Self, IdentityError> {
        let invalid = |reason: &str| IdentityError::InvalidAuthority {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let mut base = Url::parse(url).map_err(|e| invalid(&e.to_string()))?;

        match base.scheme() {
            "https" => {}
            "http" if is_loopback(&base) => {}
            "http" => {
                return Err(IdentityError::InsecureAuthority {
                    url: url.to_owned(),
                });
            }
            _ => return Err(invalid("the scheme must be https")),
        }
        if base.host().is_none() {
            return Err(invalid("the URL has no host"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(invalid("the URL must not carry a user name or password"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("the URL must not have a query or a fragment"));
        }

        // Url::join would drop the last path segment of a base without a trailing slash.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self { base })
    }

    /// The Microsoft identity platform's global authority, [`MICROSOFT_AUTHORITY`].
    ///
    /// # Panics
    ///
    /// Never in practice: the constant is a valid `https` URL, which a unit test checks.
    pub fn microsoft() -> Self {
        Self::new(MICROSOFT_AUTHORITY).expect("the built-in authority URL is valid")
    }

    /// The base URL, always ending with `/`.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The token endpoint of `tenant_id`, after checking the tenant id is safe to put in a path.
    pub fn token_endpoint(&self, tenant_id: &str) -> Result<Url, IdentityError> {
        validate_tenant_id(tenant_id)?;

        let relative = format!("{tenant_id}/oauth2/v2.0/token");
        self.base
            .join(&relative)
            .map_err(|e| IdentityError::InvalidTenantId {
                tenant_id: tenant_id.to_owned(),
                reason: format!("it does not form a valid URL path ({e})"),
            })
    }
}

impl Default for Authority {
    fn default() -> Self {
        Self::microsoft()
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks that a tenant id is a GUID or a domain name (`contoso.onmicrosoft.com`).
///
/// Only ASCII letters, digits, `-` and `.` pass, so nothing can escape the URL path segment.
pub fn validate_tenant_id(tenant_id: &str) -> Result<(), IdentityError> {
    let refuse = |reason: &str| {
        Err(IdentityError::InvalidTenantId {
            tenant_id: tenant_id.to_owned(),
            reason: reason.to_owned(),
        })
    };

    if tenant_id.is_empty() {
        return refuse("it is empty");
    }
    if tenant_id.len() > 253 {
        return refuse("it is longer than a domain name can be (253 characters)");
    }
    if let Some(bad) = tenant_id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return refuse(&format!(
            "it contains {bad:?}; a tenant id is a GUID or a domain name (letters, digits, '-', '.')"
        ));
    }
    if MULTI_TENANT_ALIASES
        .iter()
        .any(|alias| tenant_id.eq_ignore_ascii_case(alias))
    {
        return refuse("app-only access needs one specific tenant, not a multi-tenant alias");
    }
    for label in tenant_id.split('.') {
        if label.is_empty() {
            return refuse("it has an empty part between dots");
        }
        if label.len() > 63 {
            return refuse("one of its dot-separated parts is longer than 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return refuse("a dot-separated part starts or ends with '-'");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_microsoft_global_authority() {
        let authority = Authority::default();

        let endpoint = authority.token_endpoint("contoso.onmicrosoft.com").unwrap();

        assert_eq!(
            endpoint.as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
    }

    #[test]
    fn plain_http_is_refused_for_a_remote_host() {
        for url in [
            "http://login.microsoftonline.com",
            "http://10.0.0.5:8080/",
            "http://[2001:db8::1]",
        ] {
            let err = Authority::new(url).unwrap_err();

            assert!(matches!(&err, IdentityError::InsecureAuthority { url: u } if u == url));
            assert!(err.to_string().contains(url), "{err}");
        }
    }

    #[test]
    fn plain_http_is_allowed_on_loopback() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.10.0.3",
            "http://localhost:9000/",
            "http://LOCALHOST",
            "http://[::1]:4000",
        ] {
            assert!(Authority::new(url).is_ok(), "{url} should be accepted");
        }
    }

    #[test]
    fn a_localhost_lookalike_is_not_loopback() {
        let err = Authority::new("http://localhost.evil.example").unwrap_err();

        assert!(matches!(err, IdentityError::InsecureAuthority { .. }));
    }

    #[test]
    fn a_base_path_is_kept_in_the_token_endpoint() {
        let authority = Authority::new("http://127.0.0.1:8080/idp").unwrap();

        let endpoint = authority.token_endpoint("contoso.example").unwrap();

        assert_eq!(
            endpoint.as_str(),
            "http://127.0.0.1:8080/idp/contoso.example/oauth2/v2.0/token"
        );
    }

    #[test]
    fn urls_with_credentials_query_or_other_schemes_are_refused() {
        for url in [
            "https://user:pw@login.example",
            "https://login.example/?x=1",
            "https://login.example/#f",
            "ftp://login.example",
            "not a url",
        ] {
            let err = Authority::new(url).unwrap_err();

            assert!(
                matches!(err, IdentityError::InvalidAuthority { .. }),
                "{url}: {err}"
            );
        }
    }

    #[test]
    fn guid_and_domain_tenant_ids_are_accepted() {
        for tenant in [
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "contoso.onmicrosoft.com",
            "fabrikam.com",
        ] {
            assert!(validate_tenant_id(tenant).is_ok(), "{tenant}");
        }
    }

    #[test]
    fn tenant_ids_that_could_escape_the_path_are_refused() {
        for tenant in [
            "",
            "../evil",
            "contoso/..",
            "a b",
            "x?y",
            "x%2F",
            "..",
            "-bad.com",
            "common",
            "Organizations",
        ] {
            let err = validate_tenant_id(tenant).unwrap_err();

            assert!(
                matches!(err, IdentityError::InvalidTenantId { .. }),
                "{tenant:?}"
            );
            assert!(err.to_string().contains("tenant"), "{err}");
        }
    }
}
