//! The client secret, read from where `ps` and the shell history cannot see it: a file, the
//! environment, or standard input. It is wrapped the moment it is read and never repeated in
//! an error.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

/// The environment variable that may hold the client secret.
pub const SECRET_ENV: &str = "MAILBRIDGE_CLIENT_SECRET";

/// Longest secret accepted, as the API accepts (Entra ID's are 40 characters).
const MAX_SECRET: usize = 1024;

/// Reads the secret from `file` when given, else from [`SECRET_ENV`], else one line of
/// standard input.
pub fn read(file: Option<&Path>) -> Result<SecretString, String> {
    let (raw, source) = if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--secret-file {}: {e}", path.display()))?;
        (
            SecretString::from(text),
            "the file given with --secret-file",
        )
    } else if let Some(value) = std::env::var_os(SECRET_ENV) {
        let value = value
            .into_string()
            .map_err(|_| format!("{SECRET_ENV} is not valid UTF-8"))?;
        (SecretString::from(value), SECRET_ENV)
    } else {
        (read_stdin()?, "standard input")
    };
    checked(&raw, source)
}

fn read_stdin() -> Result<SecretString, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        // LIMIT: the typed secret is shown on the terminal; hiding it needs a terminal crate.
        eprint!(
            "client secret (its Value from Certificates & secrets; {SECRET_ENV} or --secret-file avoid typing it): "
        );
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    // Wrapped before the result is looked at, so even a partial read is zeroed on drop.
    let secret = SecretString::from(line);
    read.map_err(|e| format!("reading the client secret from standard input: {e}"))?;
    Ok(secret)
}

/// The secret without surrounding whitespace (a pasted line ends in a newline), or why it
/// cannot be one. The reason names where it came from, never the value.
fn checked(raw: &SecretString, source: &str) -> Result<SecretString, String> {
    let value = raw.expose_secret().trim();
    if value.is_empty() {
        return Err(format!(
            "no client secret in {source}: set {SECRET_ENV}, pass --secret-file PATH, or type it on standard input"
        ));
    }
    if value.chars().count() > MAX_SECRET {
        return Err(format!(
            "the client secret in {source} is longer than {MAX_SECRET} characters"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "the client secret in {source} holds line breaks or control characters: it must be the one line Entra ID shows"
        ));
    }
    Ok(SecretString::from(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: &str) -> Result<String, String> {
        checked(&SecretString::from(value.to_owned()), "test input")
            .map(|s| s.expose_secret().to_owned())
    }

    #[test]
    fn a_pasted_line_is_trimmed_and_bad_ones_are_refused_without_the_value() {
        assert_eq!(check("  abc~DEF.123\r\n").unwrap(), "abc~DEF.123");
        assert!(
            check(" \n")
                .unwrap_err()
                .contains("no client secret in test input")
        );
        let err = check("first-line\nsecond-line").unwrap_err();
        assert!(
            err.contains("line breaks") && !err.contains("first-line"),
            "{err}"
        );
        let err = check(&"x".repeat(MAX_SECRET + 1)).unwrap_err();
        assert!(
            err.contains("longer than") && !err.contains("xxxx"),
            "{err}"
        );
    }

    #[test]
    fn a_secret_file_is_read_and_a_missing_one_named() {
        let path =
            std::env::temp_dir().join(format!("mailbridge-secret-{:016x}", fastrand::u64(..)));
        std::fs::write(&path, "from-a-file\n").unwrap();
        let secret = read(Some(&path)).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(secret.expose_secret(), "from-a-file");
        let err = read(Some(&path)).unwrap_err();
        assert!(err.contains("--secret-file"), "{err}");
    }
}
