//! App-only identity for mailbridge: OAuth 2.0 client-credentials tokens for Exchange Online.
//!
//! A customer's administrator registers an app in Microsoft Entra ID and hands over its
//! [`AppCredentials`]. A [`TokenClient`] exchanges them for an [`AccessToken`] at an
//! [`Authority`]; a [`TokenCache`] reuses tokens per tenant with one fetch at a time; the EWS
//! client asks a [`TokenSource`] (usually [`TenantTokens`]) for tokens.
//!
//! When the identity platform refuses, the [`IdentityError`] carries a [`Diagnosis`] that
//! names the cause and the setup step that fixes it. Neither errors nor logs ever contain the
//! client secret or a token.

mod authority;
mod cache;
mod client;
mod credentials;
mod diagnosis;
mod error;
mod response;
mod scrub;
mod secret;
mod source;
mod token;

#[cfg(test)]
mod fake_idp;

pub use authority::{Authority, MICROSOFT_AUTHORITY, validate_tenant_id};
pub use cache::{DEFAULT_RENEW_AHEAD, TokenCache};
pub use client::{DEFAULT_TIMEOUT, EXCHANGE_SCOPE, TokenClient};
pub use credentials::AppCredentials;
pub use diagnosis::{Cause, Diagnosis};
pub use error::IdentityError;
pub use secret::ClientSecret;
pub use source::{StaticToken, TenantTokens, TokenSource};
pub use token::AccessToken;
