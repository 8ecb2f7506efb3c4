//! Where EWS requests go, and who they impersonate: both checked before anything is sent.

use std::net::IpAddr;

use url::Url;

use crate::error::EwsError;

/// Exchange Online's EWS endpoint.
pub const EXCHANGE_ONLINE_EWS: &str = "https://outlook.office365.com/EWS/Exchange.asmx";

/// Parses an EWS endpoint, refusing plain http unless the host is loopback (tests and the
/// local simulator), so that a bearer token never crosses a network in clear.
pub fn parse_endpoint(raw: &str) -> Result<Url, EwsError> {
    let url = Url::parse(raw)
        .map_err(|e| EwsError::invalid("endpoint", format!("{raw:?} is not a URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(EwsError::InsecureEndpoint {
            url: raw.to_owned(),
        }),
        other => Err(EwsError::invalid(
            "endpoint",
            format!("scheme {other} is not http(s)"),
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Checks that `mailbox` looks like one SMTP address before it goes into a header.
pub fn check_mailbox(mailbox: &str) -> Result<(), EwsError> {
    let invalid = |reason: &str| EwsError::invalid("mailbox", format!("{mailbox:?} {reason}"));
    if mailbox.is_empty() || mailbox.len() > 320 {
        return Err(invalid("must be an SMTP address of 1 to 320 characters"));
    }
    if mailbox.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("contains white space or control characters"));
    }
    match mailbox.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.contains('@') =>
        {
            Ok(())
        }
        _ => Err(invalid("is not an SMTP address (local@domain)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_on_loopback() {
        assert!(parse_endpoint(EXCHANGE_ONLINE_EWS).is_ok());
        assert!(parse_endpoint("http://127.0.0.1:8080/EWS/Exchange.asmx").is_ok());
        assert!(parse_endpoint("http://[::1]:8080/EWS/Exchange.asmx").is_ok());
        assert!(parse_endpoint("http://localhost/EWS/Exchange.asmx").is_ok());
        let err = parse_endpoint("http://mail.example.com/EWS/Exchange.asmx").unwrap_err();
        assert!(matches!(err, EwsError::InsecureEndpoint { .. }));
        assert!(parse_endpoint("ftp://x/").is_err());
        assert!(parse_endpoint("not a url").is_err());
    }

    #[test]
    fn mailbox_must_be_one_smtp_address() {
        assert!(check_mailbox("agent@brokerage.example").is_ok());
        for bad in [
            "",
            "agent",
            "a b@x.example",
            "agent@x",
            "a@b@c.example",
            "a\r\n@x.example",
        ] {
            let err = check_mailbox(bad).unwrap_err();
            assert!(err.to_string().contains("mailbox"), "{bad:?}: {err}");
        }
    }
}
