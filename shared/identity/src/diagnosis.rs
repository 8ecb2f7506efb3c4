//! What went wrong with a token request, in words an administrator can act on.

use std::fmt;

/// Why a token request failed, decoded from the identity platform's `AADSTS` codes or from how
/// the exchange itself failed.
///
/// Each cause has plain-words text ([`Cause::cause`]) and the setup step that fixes it
/// ([`Cause::admin_fix`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cause {
    /// `AADSTS90002`: no tenant with this id exists.
    TenantNotFound,
    /// `AADSTS900023`: the tenant id is not a GUID or domain name the platform accepts.
    TenantIdMalformed,
    /// `AADSTS700016`: the client id names no application in this tenant's directory.
    ApplicationNotFound,
    /// `AADSTS7000215`: the client secret is wrong.
    WrongClientSecret,
    /// `AADSTS7000222`: the client secret has expired.
    ClientSecretExpired,
    /// `AADSTS65001`: no administrator has consented to the application's permissions.
    AdminConsentMissing,
    /// `AADSTS70011` or `AADSTS1002012`: the requested scope is not valid for client credentials.
    InvalidScope,
    /// `AADSTS7000112`: the application is disabled in the tenant.
    ApplicationDisabled,
    /// `AADSTS500011`: the tenant has no service principal for Exchange Online.
    ExchangeNotInTenant,
    /// `AADSTS53003`: a Conditional Access policy blocked the request.
    BlockedByConditionalAccess,
    /// `AADSTS90014`: a required field of the request was missing.
    MalformedRequest,
    /// An `AADSTS` code this crate does not decode; the code and the server's description are
    /// kept in the [`Diagnosis`].
    Other(u32),
    /// The platform refused the request without any `AADSTS` code.
    Unrecognised,
    /// The token endpoint could not be reached: DNS, connection refused, or TLS failure.
    Unreachable,
    /// The token endpoint did not answer in time.
    TimedOut,
    /// The connection broke before the answer was complete.
    ConnectionLost,
    /// The identity platform is throttling this application's token requests (HTTP 429).
    Throttled,
    /// The identity platform answered with a server error (HTTP 5xx).
    PlatformUnavailable,
}

impl Cause {
    /// Decodes one `AADSTS` code; unknown codes become [`Cause::Other`].
    pub fn from_aadsts(code: u32) -> Self {
        match code {
            90002 => Self::TenantNotFound,
            900_023 => Self::TenantIdMalformed,
            700_016 => Self::ApplicationNotFound,
            7_000_215 => Self::WrongClientSecret,
            7_000_222 => Self::ClientSecretExpired,
            65001 => Self::AdminConsentMissing,
            70011 | 1_002_012 => Self::InvalidScope,
            7_000_112 => Self::ApplicationDisabled,
            500_011 => Self::ExchangeNotInTenant,
            53003 => Self::BlockedByConditionalAccess,
            90014 => Self::MalformedRequest,
            other => Self::Other(other),
        }
    }

    /// What went wrong, in plain words.
    pub fn cause(self) -> &'static str {
        match self {
            Self::TenantNotFound => "the tenant id does not match any Microsoft Entra tenant",
            Self::TenantIdMalformed => "the tenant id is not a valid tenant GUID or domain name",
            Self::ApplicationNotFound => {
                "no application with this client id exists in the tenant's directory"
            }
            Self::WrongClientSecret => {
                "the client secret is not a valid secret of this application"
            }
            Self::ClientSecretExpired => "the client secret has expired",
            Self::AdminConsentMissing => {
                "no administrator has granted consent to the application's permissions"
            }
            Self::InvalidScope => "the requested scope is not valid for app-only access",
            Self::ApplicationDisabled => "the application is disabled in the tenant",
            Self::ExchangeNotInTenant => "Exchange Online was not found in the tenant",
            Self::BlockedByConditionalAccess => "a Conditional Access policy blocked the request",
            Self::MalformedRequest => "the token request was missing a required field",
            Self::Other(_) | Self::Unrecognised => {
                "the identity platform refused the request for a reason mailbridge does not decode"
            }
            Self::Unreachable => {
                "the identity platform could not be reached (DNS, connection or TLS failure)"
            }
            Self::TimedOut => "the identity platform did not answer in time",
            Self::ConnectionLost => "the connection broke before the answer was complete",
            Self::Throttled => "the identity platform is throttling this application's requests",
            Self::PlatformUnavailable => "the identity platform is temporarily unavailable",
        }
    }

    /// The setup step that removes the cause, addressed to the customer's administrator (or,
    /// for transient failures, to whoever runs mailbridge).
    pub fn admin_fix(self) -> &'static str {
        match self {
            Self::TenantNotFound | Self::TenantIdMalformed => {
                "enter the Directory (tenant) ID shown on the app registration's Overview page in \
                 the Microsoft Entra admin center, or the tenant's primary domain \
                 (contoso.onmicrosoft.com)"
            }
            Self::ApplicationNotFound => {
                "enter the Application (client) ID from App registrations > the app > Overview, \
                 and check the app is registered in this tenant"
            }
            Self::WrongClientSecret => {
                "enter the client secret's Value (not its Secret ID) from App registrations > \
                 the app > Certificates & secrets, or create a new secret there"
            }
            Self::ClientSecretExpired => {
                "create a new client secret under App registrations > the app > Certificates & \
                 secrets, rotate it into mailbridge, and note its expiry date"
            }
            Self::AdminConsentMissing => {
                "under App registrations > the app > API permissions, add Office 365 Exchange \
                 Online > Application permissions > full_access_as_app, then select Grant admin \
                 consent"
            }
            Self::InvalidScope => {
                "request the scope https://outlook.office365.com/.default; client credentials \
                 accept only a resource's /.default scope"
            }
            Self::ApplicationDisabled => {
                "in Enterprise applications > the app > Properties, set Enabled for users to \
                 sign-in to Yes"
            }
            Self::ExchangeNotInTenant => {
                "make sure the tenant has an Exchange Online subscription, then grant admin \
                 consent to full_access_as_app again"
            }
            Self::BlockedByConditionalAccess => {
                "in Entra admin center > Conditional Access, exclude this application's service \
                 principal from the blocking policy, or allow the addresses mailbridge connects \
                 from"
            }
            Self::MalformedRequest => {
                "check that the client id and client secret are both filled in; if they are, \
                 report the correlation id to mailbridge support"
            }
            Self::Other(_) | Self::Unrecognised => {
                "look up the AADSTS code and the server's description in Microsoft's Entra \
                 authentication error code reference"
            }
            Self::Unreachable => {
                "check that this host can reach the authority URL over HTTPS (DNS, firewall, \
                 proxy) and that the authority URL is right"
            }
            Self::TimedOut | Self::ConnectionLost => {
                "nothing to change in the setup if it passes; if it repeats, check the network \
                 path and proxies between mailbridge and the authority"
            }
            Self::Throttled => {
                "nothing to change in the setup: wait for the Retry-After time; if it repeats, \
                 something requests tokens too often instead of caching them"
            }
            Self::PlatformUnavailable => {
                "nothing to change in the setup: retry later, and check Microsoft 365 service \
                 health if it lasts"
            }
        }
    }
}

/// A decoded token failure: its [`Cause`], the raw `AADSTS` codes, and the server's own words.
///
/// The server's description has already been scrubbed of the client secret. Boxed inside, so
/// errors that carry one stay small.
#[derive(Clone, PartialEq, Eq)]
pub struct Diagnosis(Box<Details>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    kind: Cause,
    codes: Vec<u32>,
    oauth_error: Option<String>,
    description: Option<String>,
}

impl Diagnosis {
    /// A diagnosis of a failure that carries no server details (network, throttling).
    pub(crate) fn of(kind: Cause) -> Self {
        Self(Box::new(Details {
            kind,
            codes: Vec::new(),
            oauth_error: None,
            description: None,
        }))
    }

    /// Decodes the identity platform's error fields. The first code this crate knows decides the
    /// cause; codes missing from `error_codes` are looked for in the description.
    pub(crate) fn from_platform(
        mut codes: Vec<u32>,
        oauth_error: Option<String>,
        description: Option<String>,
    ) -> Self {
        if codes.is_empty() {
            codes = description
                .as_deref()
                .map(codes_in_text)
                .unwrap_or_default();
        }
        let kind = codes
            .iter()
            .map(|code| Cause::from_aadsts(*code))
            .find(|kind| !matches!(kind, Cause::Other(_)))
            .or_else(|| codes.first().map(|code| Cause::Other(*code)))
            .unwrap_or(Cause::Unrecognised);

        Self(Box::new(Details {
            kind,
            codes,
            oauth_error,
            description,
        }))
    }

    /// Replaces the cause while keeping the server's details, e.g. a 503 that still carried codes.
    pub(crate) fn with_kind(mut self, kind: Cause) -> Self {
        self.0.kind = kind;
        self
    }

    /// The decoded cause.
    pub fn kind(&self) -> Cause {
        self.0.kind
    }

    /// What went wrong, in plain words.
    pub fn cause(&self) -> &str {
        self.0.kind.cause()
    }

    /// The setup step that fixes it.
    pub fn admin_fix(&self) -> &str {
        self.0.kind.admin_fix()
    }

    /// Every `AADSTS` code the server sent, in its order.
    pub fn codes(&self) -> &[u32] {
        &self.0.codes
    }

    /// The code the cause was decoded from, if any.
    pub fn code(&self) -> Option<u32> {
        self.0
            .codes
            .iter()
            .copied()
            .find(|code| Cause::from_aadsts(*code) == self.0.kind)
            .or_else(|| self.0.codes.first().copied())
    }

    /// The OAuth 2.0 `error` field, such as `invalid_client`.
    pub fn oauth_error(&self) -> Option<&str> {
        self.0.oauth_error.as_deref()
    }

    /// The server's `error_description`, scrubbed of the client secret.
    pub fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
}

impl fmt::Debug for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnosis")
            .field("kind", &self.0.kind)
            .field("codes", &self.0.codes)
            .field("oauth_error", &self.0.oauth_error)
            .field("description", &self.0.description)
            .finish()
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(code) = self.code() {
            write!(f, "AADSTS{code}: ")?;
        }
        write!(f, "{}; to fix: {}", self.cause(), self.admin_fix())?;
        if matches!(self.kind(), Cause::Other(_) | Cause::Unrecognised)
            && let Some(first_line) = self.description().and_then(|d| d.lines().next())
        {
            write!(f, " (the server said: {first_line})")?;
        }
        Ok(())
    }
}

/// Finds `AADSTS<digits>` codes in free text, in order.
fn codes_in_text(text: &str) -> Vec<u32> {
    text.match_indices("AADSTS")
        .filter_map(|(at, marker)| {
            let digits: String = text[at + marker.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests;
