//! The command line of `mailbridge verify`: flags read and checked, each mistake naming its
//! flag. The client secret is never one of them.

use std::net::IpAddr;
use std::path::PathBuf;

use chrono::NaiveDate;

/// Flags that would carry the secret itself: refused, and their value never repeated.
const SECRET_FLAGS: [&str; 3] = ["--secret", "--client-secret", "--password"];

/// The flags as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub mailbox: Option<String>,
    pub secret_expires: Option<NaiveDate>,
    pub secret_file: Option<PathBuf>,
    pub authority: Option<String>,
    pub ews_url: Option<String>,
    pub name: Option<String>,
    pub data: Option<PathBuf>,
    pub send_test: bool,
    pub json: bool,
    pub simulator: bool,
}

/// What `--simulator` stands in for: the flags left out, and both endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    pub tenant_id: String,
    pub client_id: String,
    pub mailbox: String,
    pub secret_expires: NaiveDate,
    pub authority: String,
    pub ews_url: String,
}

/// Everything to verify but the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub tenant_id: String,
    pub client_id: String,
    pub mailbox: String,
    pub secret_expires: NaiveDate,
    pub authority: Option<String>,
    pub ews_url: Option<String>,
}

impl Options {
    /// Reads the flags; a mistake is an error naming the flag.
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let flag = arg.split('=').next().unwrap_or_default();
            if !flag.starts_with("--") {
                // A stray word may be a pasted secret, so it is not repeated.
                return Err("unexpected argument: mailbridge verify takes only --flags (mailbridge help lists them)".into());
            }
            if SECRET_FLAGS.contains(&flag) {
                return Err(format!(
                    "{flag}: the client secret is not taken on the command line, where ps and the shell history would keep it; set {}, pass --secret-file PATH, or type it on standard input",
                    super::secret::SECRET_ENV
                ));
            }
            if flag != arg {
                return Err(format!(
                    "{flag}: put its value after a space, not after '='"
                ));
            }
            match flag {
                "--send-test" => o.send_test = true,
                "--json" => o.json = true,
                "--simulator" => o.simulator = true,
                "--tenant-id" => put(&mut o.tenant_id, flag, value(&mut args, flag)?)?,
                "--client-id" => put(&mut o.client_id, flag, value(&mut args, flag)?)?,
                "--mailbox" => put(&mut o.mailbox, flag, value(&mut args, flag)?)?,
                "--name" => put(&mut o.name, flag, value(&mut args, flag)?)?,
                "--secret-expires" => {
                    let date = date(flag, &value(&mut args, flag)?)?;
                    put(&mut o.secret_expires, flag, date)?;
                }
                "--secret-file" => {
                    put(&mut o.secret_file, flag, value(&mut args, flag)?.into())?;
                }
                "--data" => put(&mut o.data, flag, value(&mut args, flag)?.into())?,
                "--authority" => {
                    let url = endpoint(flag, &value(&mut args, flag)?)?;
                    put(&mut o.authority, flag, url)?;
                }
                "--ews-url" => {
                    let url = endpoint(flag, &value(&mut args, flag)?)?;
                    put(&mut o.ews_url, flag, url)?;
                }
                other => {
                    return Err(format!(
                        "unknown option {other:?} (mailbridge help lists the options)"
                    ));
                }
            }
        }
        o.check_combinations()?;
        Ok(o)
    }

    fn check_combinations(&self) -> Result<(), String> {
        if self.simulator && (self.authority.is_some() || self.ews_url.is_some()) {
            return Err("--simulator points both endpoints at the simulator: leave out --authority and --ews-url".into());
        }
        if self.simulator && self.data.is_some() {
            return Err("--data stores the tenant for mailbridge serve, but the simulator --simulator starts stops with this command: leave out one of them".into());
        }
        if self.name.is_some() && self.data.is_none() {
            return Err("--name names the tenant stored with --data: give --data DIR too, or leave out --name".into());
        }
        Ok(())
    }

    /// The values to verify, from the flags and, with `--simulator`, the simulated tenant.
    pub fn target(&self, fallback: Option<&Fallback>) -> Result<Target, String> {
        let mut missing = Vec::new();
        let mut pick = |given: &Option<String>, flag: &'static str, simulated: Option<&String>| {
            given
                .clone()
                .or_else(|| simulated.cloned())
                .unwrap_or_else(|| {
                    missing.push(flag);
                    String::new()
                })
        };
        let tenant_id = pick(
            &self.tenant_id,
            "--tenant-id",
            fallback.map(|f| &f.tenant_id),
        );
        let client_id = pick(
            &self.client_id,
            "--client-id",
            fallback.map(|f| &f.client_id),
        );
        let mailbox = pick(&self.mailbox, "--mailbox", fallback.map(|f| &f.mailbox));
        let secret_expires = self.secret_expires.or(fallback.map(|f| f.secret_expires));
        if secret_expires.is_none() {
            missing.push("--secret-expires");
        }
        match secret_expires {
            Some(secret_expires) if missing.is_empty() => Ok(Target {
                tenant_id,
                client_id,
                mailbox,
                secret_expires,
                authority: fallback
                    .map(|f| f.authority.clone())
                    .or_else(|| self.authority.clone()),
                ews_url: fallback
                    .map(|f| f.ews_url.clone())
                    .or_else(|| self.ews_url.clone()),
            }),
            _ => Err(format!(
                "missing {} (mailbridge help lists the options)",
                missing.join(", ")
            )),
        }
    }
}

/// The value after `flag`; another flag in its place means it was left out.
fn value<'a>(args: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<String, String> {
    let value = args
        .next()
        .filter(|v| !v.starts_with("--"))
        .ok_or_else(|| format!("{flag} needs a value"))?;
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{flag} is empty"));
    }
    Ok(value.to_owned())
}

fn put<T>(slot: &mut Option<T>, flag: &str, value: T) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("{flag} is given twice"));
    }
    *slot = Some(value);
    Ok(())
}

fn date(flag: &str, value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        format!("{flag} takes the date Entra ID shows for the secret as YYYY-MM-DD, not {value:?}")
    })
}

/// An absolute URL on https, or on plain http only at a loopback host (a simulator), the
/// same rule the API applies to stored endpoints.
fn endpoint(flag: &str, value: &str) -> Result<String, String> {
    let refuse = |reason: &str| Err(format!("{flag} {reason}, not {value:?}"));
    let Ok(url) = reqwest::Url::parse(value) else {
        return refuse("takes an absolute URL");
    };
    let Some(host) = url.host_str() else {
        return refuse("takes a URL with a host");
    };
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return refuse("takes an https URL (plain http only on a loopback host)"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("takes a URL without a user name or password");
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<Options, String> {
        let args: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        Options::parse(&args)
    }

    #[test]
    fn flags_are_read_and_each_mistake_names_its_flag() {
        let o = parse(&[
            "--tenant-id",
            "t",
            "--client-id",
            "c",
            "--mailbox",
            "a@b.example",
            "--secret-expires",
            "2031-02-03",
            "--authority",
            "http://127.0.0.1:9/",
            "--send-test",
        ])
        .unwrap();
        let target = o.target(None).unwrap();
        assert_eq!(target.secret_expires.to_string(), "2031-02-03");
        assert_eq!(target.authority.as_deref(), Some("http://127.0.0.1:9/"));
        assert!(o.send_test && !o.json);

        let mistakes = [
            (vec!["--tenant-id"], "--tenant-id needs a value"),
            (vec!["--tenant-id", "--json"], "--tenant-id needs a value"),
            (vec!["--tenant-id", "a", "--tenant-id", "b"], "given twice"),
            (vec!["--secret-expires", "31/12/2030"], "--secret-expires"),
            (vec!["--authority", "http://login.example"], "--authority"),
            (vec!["--ews-url", "not a url"], "--ews-url"),
            (vec!["--colour", "red"], "--colour"),
            (vec!["--simulator", "--data", "d"], "--data"),
            (vec!["--name", "Contoso"], "--name"),
        ];
        for (args, named) in mistakes {
            let err = parse(&args).unwrap_err();
            assert!(err.contains(named), "{args:?}: {err}");
        }
    }

    #[test]
    fn a_secret_on_the_command_line_is_refused_without_repeating_it() {
        for args in [
            vec!["--client-secret", "pa55-word"],
            vec!["--client-secret=pa55-word"],
            vec!["--json", "pa55-word"],
        ] {
            let err = parse(&args).unwrap_err();
            assert!(!err.contains("pa55"), "{err}");
        }
    }

    #[test]
    fn missing_flags_are_all_named_unless_the_simulator_stands_in() {
        let o = parse(&["--client-id", "c"]).unwrap();
        let err = o.target(None).unwrap_err();
        for flag in ["--tenant-id", "--mailbox", "--secret-expires"] {
            assert!(err.contains(flag), "{err}");
        }
        assert!(!err.contains("--client-id"), "{err}");

        let fallback = Fallback {
            tenant_id: "sim-tenant".into(),
            client_id: "sim-app".into(),
            mailbox: "anna@sim.example".into(),
            secret_expires: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
            authority: "http://127.0.0.1:1".into(),
            ews_url: "http://127.0.0.1:1/EWS/Exchange.asmx".into(),
        };
        let target = o.target(Some(&fallback)).unwrap();
        assert_eq!(
            (target.tenant_id.as_str(), target.client_id.as_str()),
            ("sim-tenant", "c")
        );
        assert_eq!(target.ews_url.as_deref(), Some(fallback.ews_url.as_str()));
    }
}
