//! The command line of `mailbridge sync`: flags read and checked, each mistake naming its
//! flag.

use std::path::PathBuf;

use mailbridge_store::Folder;

/// The flags as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The local runner's data directory.
    pub data: PathBuf,
    /// The mailbox to sync, as stored (lower case).
    pub mailbox: String,
    /// One folder, or both when `None`.
    pub folder: Option<Folder>,
    /// Plan only: read the mailbox, write nothing.
    pub dry_run: bool,
    /// Let through the deletes the mass-delete brake stopped, then sync.
    pub acknowledge_deletes: bool,
}

impl Options {
    /// Reads the flags; a mistake is an error naming the flag.
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut data = None;
        let mut mailbox = None;
        let mut folder = None;
        let mut dry_run = false;
        let mut acknowledge_deletes = false;
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--dry-run" => dry_run = true,
                "--acknowledge-deletes" => acknowledge_deletes = true,
                "--data" => data = Some(PathBuf::from(value(&mut args, flag)?)),
                "--mailbox" => {
                    let address = value(&mut args, flag)?.trim().to_lowercase();
                    if !address.contains('@') {
                        return Err(format!(
                            "--mailbox takes an e-mail address, not {address:?}"
                        ));
                    }
                    mailbox = Some(address);
                }
                "--folder" => {
                    let name = value(&mut args, flag)?;
                    folder = Some(Folder::parse(&name).ok_or_else(|| {
                        format!("--folder takes contacts or calendar, not {name:?}")
                    })?);
                }
                "--simulator" => {
                    return Err("--simulator: sync works on a data directory, whose tenant points at an Exchange that outlives the command; start one with mailbridge simulate --port N and store its tenant with mailbridge verify --data DIR".into());
                }
                other => {
                    return Err(format!(
                        "unknown option {other:?} (mailbridge help lists the options)"
                    ));
                }
            }
        }
        if acknowledge_deletes && dry_run {
            return Err(
                "--acknowledge-deletes applies the deletes it lets through, so it \
                        cannot go with --dry-run (a dry run alone shows them)"
                    .into(),
            );
        }
        if acknowledge_deletes && folder.is_some() {
            return Err(
                "--acknowledge-deletes lets through a whole mailbox's braked \
                        deletes: leave out --folder"
                    .into(),
            );
        }
        Ok(Options {
            data: data.unwrap_or_else(crate::runner::default_data_dir),
            mailbox: mailbox.ok_or("missing --mailbox ADDRESS: the mailbox to sync")?,
            folder,
            dry_run,
            acknowledge_deletes,
        })
    }
}

fn value<'a>(args: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<String, String> {
    args.next()
        .filter(|v| !v.starts_with("--"))
        .cloned()
        .ok_or_else(|| format!("{flag} needs a value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<Options, String> {
        Options::parse(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_are_read_and_mistakes_named() {
        let o = parse(&[
            "--data",
            "/tmp/d",
            "--mailbox",
            " Anna@Contoso.example ",
            "--folder",
            "calendar",
            "--dry-run",
        ])
        .unwrap();
        assert_eq!(o.data, PathBuf::from("/tmp/d"));
        assert_eq!(o.mailbox, "anna@contoso.example");
        assert_eq!(o.folder, Some(Folder::Calendar));
        assert!(o.dry_run);
        assert!(!o.acknowledge_deletes);
        let go = parse(&["--mailbox", "a@b.example", "--acknowledge-deletes"]).unwrap();
        assert!(go.acknowledge_deletes);
        let both = parse(&["--mailbox", "a@b.example"]).unwrap();
        assert_eq!((both.folder, both.dry_run), (None, false));
        for (args, named) in [
            (&["--data", "d"][..], "missing --mailbox"),
            (
                &["--mailbox", "a@b.example", "--folder", "tasks"],
                "--folder",
            ),
            (&["--mailbox", "anna"], "--mailbox"),
            (&["--mailbox", "--dry-run"], "--mailbox needs a value"),
            (&["--mailbox", "a@b.example", "--colour"], "--colour"),
            (&["--simulator"], "mailbridge simulate"),
            (
                &[
                    "--mailbox",
                    "a@b.example",
                    "--acknowledge-deletes",
                    "--dry-run",
                ],
                "cannot go with --dry-run",
            ),
            (
                &[
                    "--mailbox",
                    "a@b.example",
                    "--acknowledge-deletes",
                    "--folder",
                    "contacts",
                ],
                "leave out --folder",
            ),
        ] {
            let err = parse(args).unwrap_err();
            assert!(err.contains(named), "{named}: {err}");
        }
    }
}
