//! `mailbridge verify` run as the real binary against the Exchange simulator on loopback:
//! the exit status, what it prints, that the secret never shows, and what `--data` stores.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{Days, Utc};
use mailbridge_ews_sim::preset::{PresetTenant, contoso};
use mailbridge_ews_sim::{Simulator, World};
use mailbridge_store::{
    LocalSecretFile, MailboxStatus, SecretStore, SqliteStore, StateStore, TenantStatus,
};
use secrecy::ExposeSecret;

/// Where the command reads the secret from.
enum Secret<'a> {
    Env(&'a str),
    Stdin(&'a str),
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// Both streams, to search for what must (not) be shown.
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `mailbridge verify` off the async runtime, so the simulator keeps serving. Debug
/// logging is on, so the checks that the secret never shows cover the logs too.
async fn mailbridge_verify(args: Vec<String>, secret: Secret<'_>) -> Outcome {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailbridge"));
    command
        .arg("verify")
        .args(args)
        .env("RUST_LOG", "debug")
        .env_remove("MAILBRIDGE_CLIENT_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = match secret {
        Secret::Env(value) => {
            command.env("MAILBRIDGE_CLIENT_SECRET", value);
            String::new()
        }
        Secret::Stdin(value) => format!("{value}\n"),
    };
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        Outcome {
            code: output.status.code().unwrap(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// The flags for Contoso in `sim`, with `mailbox` as the test mailbox.
fn flags(sim: &Simulator, tenant: &PresetTenant, mailbox: &str) -> Vec<String> {
    let expires = Utc::now().date_naive() + Days::new(200);
    [
        "--tenant-id",
        &tenant.tenant_id,
        "--client-id",
        &tenant.client_id,
        "--mailbox",
        mailbox,
        "--secret-expires",
        &expires.to_string(),
        "--authority",
        &sim.base_url(),
        "--ews-url",
        &sim.ews_url(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn with(mut args: Vec<String>, more: &[&str]) -> Vec<String> {
    args.extend(more.iter().map(|s| (*s).to_owned()));
    args
}

fn temp_dir(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("mailbridge-{what}-{:016x}", fastrand::u64(..)))
}

fn stores(dir: &Path) -> (SqliteStore, LocalSecretFile) {
    (
        SqliteStore::open(dir.join("state.db")).unwrap(),
        LocalSecretFile::open(dir.join("secrets.bin"), dir.join("secrets.key")).unwrap(),
    )
}

#[tokio::test]
async fn a_correct_setup_is_verified_and_stored_for_serve_once() {
    let sim = Simulator::start().await.unwrap();
    let tenant = contoso(sim.world()).unwrap();
    let mailbox = tenant.mailboxes[0].clone();
    let data = temp_dir("verify-data");
    let args = with(
        flags(&sim, &tenant, &mailbox),
        &["--send-test", "--data", data.to_str().unwrap()],
    );

    let run = mailbridge_verify(args.clone(), Secret::Env(&tenant.client_secret)).await;

    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.lines().any(|l| l == "verified"),
        "{}",
        run.stdout
    );
    for step in ["token", "folders", "sync", "write", "send"] {
        assert!(
            run.stdout.contains(&format!("  {step} ")),
            "{step}: {}",
            run.stdout
        );
    }
    assert!(!run.all().contains(&tenant.client_secret), "{}", run.all());
    assert_eq!(sim.world().outbox().len(), 1, "the test message went out");
    let (state, secrets) = stores(&data);
    let stored = state.get_tenant(&tenant.tenant_id).await.unwrap().unwrap();
    assert_eq!(stored.status, TenantStatus::Active);
    assert_eq!(stored.client_id, tenant.client_id);
    assert_eq!(
        stored.secret_expires.unwrap().date_naive(),
        Utc::now().date_naive() + Days::new(200)
    );
    let secret = secrets
        .get(&mailbridge_service::tenants::secret_name(&tenant.tenant_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(secret.expose_secret(), tenant.client_secret);
    let test_mailbox = state.get_mailbox(&mailbox).await.unwrap().unwrap();
    assert_eq!(test_mailbox.status, MailboxStatus::Active);
    let raw = std::fs::read(data.join("secrets.bin")).unwrap();
    assert!(
        !String::from_utf8_lossy(&raw).contains(&tenant.client_secret),
        "the secret file is encrypted"
    );
    drop((state, secrets));

    let again = mailbridge_verify(args, Secret::Env(&tenant.client_secret)).await;
    std::fs::remove_dir_all(&data).unwrap();
    assert_eq!(again.code, 3, "{}", again.all());
    assert!(
        again.stderr.contains("already onboarded"),
        "{}",
        again.stderr
    );
    assert!(!again.all().contains(&tenant.client_secret));
}

#[tokio::test]
async fn a_wrong_secret_typed_on_stdin_is_diagnosed_without_showing_it_and_nothing_is_stored() {
    let sim = Simulator::start().await.unwrap();
    let tenant = contoso(sim.world()).unwrap();
    let wrong = "Xq8~wrongValue.notTheOneInEntra-1234";
    let data = temp_dir("verify-refused");
    let args = with(
        flags(&sim, &tenant, &tenant.mailboxes[0]),
        &["--data", data.to_str().unwrap()],
    );

    let run = mailbridge_verify(args, Secret::Stdin(wrong)).await;

    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("cannot be verified"), "{}", run.stdout);
    assert!(
        run.stdout.contains("stage: client_secret"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("fix:   enter the client secret's Value"),
        "{}",
        run.stdout
    );
    assert!(!run.all().contains(wrong), "{}", run.all());
    let (state, _) = stores(&data);
    let stored = state.get_tenant(&tenant.tenant_id).await.unwrap();
    std::fs::remove_dir_all(&data).unwrap();
    assert!(stored.is_none(), "nothing is stored: {stored:?}");
}

#[tokio::test]
async fn an_unknown_mailbox_is_diagnosed_in_json_with_the_secret_from_a_file() {
    let sim = Simulator::start().await.unwrap();
    let tenant = contoso(sim.world()).unwrap();
    let file = temp_dir("verify-secret");
    std::fs::write(&file, format!("{}\n", tenant.client_secret)).unwrap();
    let args = with(
        flags(&sim, &tenant, "nobody@contoso.example"),
        &["--json", "--secret-file", file.to_str().unwrap()],
    );

    let run = mailbridge_verify(args, Secret::Stdin("")).await;

    std::fs::remove_file(&file).unwrap();
    assert_eq!(run.code, 1, "{}", run.all());
    let outcome: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(outcome["verified"], false);
    assert_eq!(outcome["finding"]["stage"], "test_mailbox");
    assert!(
        outcome["finding"]["cause"]
            .as_str()
            .unwrap()
            .contains("nobody@contoso.example"),
        "{outcome:#}"
    );
    assert!(!outcome["finding"]["fix"].as_str().unwrap().is_empty());
    assert_eq!(outcome["steps"][0]["ok"], true, "the token was issued");
    assert!(!run.all().contains(&tenant.client_secret), "{}", run.all());
}

#[tokio::test]
async fn usage_mistakes_exit_2_naming_the_flag_and_never_repeating_a_secret() {
    let secret = "Zt5~mustNeverBeShown.anywhere-987";
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "--client-id",
                "c",
                "--mailbox",
                "a@b.example",
                "--secret-expires",
                "2030-01-01",
            ],
            "missing --tenant-id",
        ),
        (
            &["--tenant-id", "t", "--secret-expires", "01.02.2030"],
            "--secret-expires",
        ),
        (&["--client-secret", secret], "--client-secret"),
        (
            &["--simulator", "--authority", "http://login.example"],
            "--authority",
        ),
    ];
    for (args, named) in cases {
        let args = args.iter().map(|s| (*s).to_owned()).collect();

        let run = mailbridge_verify(args, Secret::Env(secret)).await;

        assert_eq!(run.code, 2, "{named}: {}", run.all());
        assert!(run.stderr.contains(named), "{named}: {}", run.stderr);
        assert!(!run.all().contains("panicked"), "{}", run.all());
        assert!(!run.all().contains(secret), "{}", run.all());
    }
}

#[tokio::test]
async fn the_simulator_option_verifies_on_a_machine_without_a_tenant() {
    // The simulated tenant is the same Contoso the command sets up, secret and all.
    let preset = contoso(&World::new()).unwrap();

    let run = mailbridge_verify(
        vec!["--simulator".into()],
        Secret::Env(&preset.client_secret),
    )
    .await;

    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("Exchange simulator on http://127.0.0.1:")
    );
    assert!(
        run.stdout.lines().any(|l| l == "verified"),
        "{}",
        run.stdout
    );
    assert!(!run.all().contains(&preset.client_secret), "{}", run.all());
}
