//! Keeping the client secret out of text that came from elsewhere (server answers, user input).

use url::form_urlencoded;

use crate::{AppCredentials, ClientSecret};

/// Shown in place of a removed secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// Removes every spelling of one client secret from text: raw, and percent-encoded the way a
/// server echoing the request body would show it.
pub(crate) struct Scrubber {
    needles: Vec<String>,
}

impl Scrubber {
    /// Prepares to remove `secret` (an empty secret removes nothing).
    pub(crate) fn new(secret: &ClientSecret) -> Self {
        let raw = secret.expose();
        if raw.is_empty() {
            return Self {
                needles: Vec::new(),
            };
        }

        let form: String = form_urlencoded::byte_serialize(raw.as_bytes()).collect();
        // The form encoding writes spaces as '+', a literal '+' having become %2B already.
        let percent = form.replace('+', "%20");
        let mut needles = vec![
            raw.to_owned(),
            lower_hex_escapes(&form),
            lower_hex_escapes(&percent),
            form,
            percent,
        ];
        needles.sort_by_key(|needle| std::cmp::Reverse(needle.len()));
        needles.dedup();
        Self { needles }
    }

    /// `text` with every occurrence of the secret replaced by `[redacted]`.
    pub(crate) fn clean(&self, text: &str) -> String {
        let mut cleaned = text.to_owned();
        for needle in &self.needles {
            if cleaned.contains(needle.as_str()) {
                cleaned = cleaned.replace(needle.as_str(), REDACTED);
            }
        }
        cleaned
    }

    /// Like [`Scrubber::clean`], for optional text.
    pub(crate) fn clean_opt(&self, text: Option<String>) -> Option<String> {
        text.map(|text| self.clean(&text))
    }
}

/// The tenant id of `creds`, safe to log even if the secret was pasted into it.
pub(crate) fn loggable_tenant(creds: &AppCredentials) -> String {
    Scrubber::new(&creds.secret).clean(&creds.tenant_id)
}

/// `%2B` → `%2b`: some servers echo percent-escapes in lower case.
fn lower_hex_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for c in encoded.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            out.push(c);
            if c == '%' {
                hex_left = 2;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
