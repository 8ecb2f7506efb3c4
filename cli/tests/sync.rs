//! `mailbridge sync` run as the real binary on a data directory that `mailbridge verify
//! --data` filled, against the Exchange simulator on loopback: the dry run's first-connect
//! counts with nothing written, the real run doing the work, and each thing that is not
//! ready named with its exit status.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{Days, Utc};
use mailbridge_ews_sim::Simulator;
use mailbridge_ews_sim::model::{Contact, FolderKind, ItemContent};
use mailbridge_ews_sim::preset::{PresetTenant, contoso};
use mailbridge_mailbox::{ContactData, ItemData};
use mailbridge_store::{Expect, Folder, SqliteStore, StateStore, TenantStatus};

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `mailbridge <args>` off the async runtime, so the simulator keeps serving.
async fn mailbridge(args: Vec<String>, secret: Option<String>) -> Outcome {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailbridge"));
    command
        .args(args)
        .env_remove("MAILBRIDGE_CLIENT_SECRET")
        .env_remove("MAILBRIDGE_DATA")
        .stdin(Stdio::null());
    if let Some(secret) = secret {
        command.env("MAILBRIDGE_CLIENT_SECRET", secret);
    }
    tokio::task::spawn_blocking(move || {
        let output = command.output().unwrap();
        Outcome {
            code: output.status.code().unwrap(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

/// A simulated mailbox with four contacts, stored in a data directory by `mailbridge verify
/// --data`, and a CRM side that already knows some of them.
struct Env {
    /// `None` once stopped.
    sim: Option<Simulator>,
    tenant: PresetTenant,
    data: PathBuf,
}

impl Env {
    fn sim(&self) -> &Simulator {
        self.sim.as_ref().unwrap()
    }

    fn mailbox(&self) -> &str {
        &self.tenant.mailboxes[0]
    }

    fn store(&self) -> SqliteStore {
        SqliteStore::open(self.data.join("state.db")).unwrap()
    }

    /// `mailbridge sync --data DIR --mailbox MAILBOX` and `more`.
    async fn sync(&self, more: &[&str]) -> Outcome {
        let mut args: Vec<String> = vec![
            "sync".into(),
            "--data".into(),
            self.data.to_str().unwrap().into(),
            "--mailbox".into(),
            self.mailbox().into(),
        ];
        args.extend(more.iter().map(|s| (*s).to_owned()));
        mailbridge(args, None).await
    }

    fn contacts_in_mailbox(&self) -> usize {
        self.sim()
            .world()
            .items(self.mailbox(), FolderKind::Contacts)
            .unwrap()
            .len()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn owner_contact(given: &str, surname: &str, email: Option<&str>) -> ItemContent {
    let mut contact = Contact {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        ..Contact::default()
    };
    if let Some(email) = email {
        contact.emails.insert("EmailAddress1".into(), email.into());
    }
    ItemContent::contact(contact)
}

fn crm_contact(given: &str, surname: &str, email: Option<&str>) -> String {
    ItemData::Contact(ContactData {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        emails: email.into_iter().map(str::to_owned).collect(),
        ..ContactData::default()
    })
    .to_json()
}

/// The mailbox holds Ada (by address), Bo and Cy (by name) and a new person; the CRM holds
/// Ada under a capitalised address, Bo, and Cy twice. So a first connect matches Ada and
/// Bo, finds Cy ambiguous, and makes Cy and the new person new CRM records.
async fn setup(what: &str) -> Env {
    let sim = Simulator::start().await.unwrap();
    let tenant = contoso(sim.world()).unwrap();
    let data = std::env::temp_dir().join(format!("mailbridge-{what}-{:016x}", fastrand::u64(..)));
    let env = Env {
        sim: Some(sim),
        tenant,
        data,
    };
    for (given, surname, email) in [
        ("Ada", "Berg", Some("ada@example.com")),
        ("Bo", "Lind", None),
        ("Cy", "Holm", None),
        ("New", "Person", None),
    ] {
        env.sim()
            .world()
            .owner_create(
                env.mailbox(),
                FolderKind::Contacts,
                owner_contact(given, surname, email),
            )
            .unwrap();
    }
    let expires = Utc::now().date_naive() + Days::new(200);
    let verify = mailbridge(
        [
            "verify",
            "--tenant-id",
            &env.tenant.tenant_id,
            "--client-id",
            &env.tenant.client_id,
            "--mailbox",
            env.mailbox(),
            "--secret-expires",
            &expires.to_string(),
            "--authority",
            &env.sim().base_url(),
            "--ews-url",
            &env.sim().ews_url(),
            "--data",
            env.data.to_str().unwrap(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        Some(env.tenant.client_secret.clone()),
    )
    .await;
    assert_eq!(verify.code, 0, "{}", verify.all());
    let store = env.store();
    for (crm_id, given, surname, email) in [
        ("crm-ada", "Ada", "B.", Some("ADA@example.com")),
        ("crm-bo", "Bo", "Lind", None),
        ("crm-cy1", "Cy", "Holm", None),
        ("crm-cy2", "Cy", "Holm", None),
    ] {
        store
            .crm_write(
                env.mailbox(),
                Folder::Contacts,
                crm_id,
                Expect::Any,
                Some(&crm_contact(given, surname, email)),
            )
            .await
            .unwrap();
    }
    // Verify wrote and deleted a test contact; what follows counts from here.
    env.sim().world().reset_stats();
    env
}

/// Whether the store shows any trace of a sync of the contacts.
async fn synced_anything(store: &SqliteStore, mailbox: &str) -> bool {
    let cursor = store.get_cursor(mailbox, Folder::Contacts).await.unwrap();
    let links = store
        .list_links(mailbox, Folder::Contacts, None, 100)
        .await
        .unwrap();
    let outbox = store
        .list_outbox(mailbox, Folder::Contacts, 100)
        .await
        .unwrap();
    let record = store.get_mailbox(mailbox).await.unwrap().unwrap();
    cursor.enumerated
        || cursor.sync_state.is_some()
        || !links.items.is_empty()
        || outbox.len() != 4
        || record.last_sync.is_some()
}

#[tokio::test]
async fn a_dry_run_shows_the_first_connect_and_writes_nothing_then_a_real_run_syncs() {
    let env = setup("sync-first").await;

    let dry = env.sync(&["--dry-run"]).await;

    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(
        dry.stdout.contains(
            "contacts: first connect: 2 matched, 2 new, 1 ambiguous; 4 CRM changes waiting"
        ),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout
            .contains("calendar: first connect: 0 matched, 0 new, 0 ambiguous"),
        "{}",
        dry.stdout
    );
    // The listed actions, by the kinds the engine names them with.
    assert!(dry.stdout.contains("match (Email)"), "{}", dry.stdout);
    assert!(dry.stdout.contains("match (Name)"), "{}", dry.stdout);
    assert!(dry.stdout.contains("crm create"), "{}", dry.stdout);
    assert!(dry.stdout.contains("ambiguous"), "{}", dry.stdout);
    let store = env.store();
    assert!(
        !synced_anything(&store, env.mailbox()).await,
        "a dry run writes nothing to the state store"
    );
    assert_eq!(env.contacts_in_mailbox(), 4, "nor to the mailbox");
    let writes = env.sim().world().stats().requests;
    for op in ["CreateItem", "UpdateItem", "DeleteItem"] {
        assert!(!writes.contains_key(op), "{op}: {writes:?}");
    }

    let contacts_only = env.sync(&["--dry-run", "--folder", "contacts"]).await;
    assert_eq!(contacts_only.code, 0, "{}", contacts_only.all());
    assert!(contacts_only.stdout.contains("contacts: first connect"));
    assert!(
        !contacts_only.stdout.contains("calendar:"),
        "{}",
        contacts_only.stdout
    );

    let real = env.sync(&[]).await;

    assert_eq!(real.code, 0, "{}", real.all());
    assert!(real.stdout.contains("synced in"), "{}", real.stdout);
    assert!(
        real.stdout
            .contains("to the CRM 2 new, 0 changed, 0 deleted (2 matched, 1 ambiguous)"),
        "{}",
        real.stdout
    );
    assert!(synced_anything(&store, env.mailbox()).await);
    let ada = store
        .link_by_crm_id(env.mailbox(), Folder::Contacts, "crm-ada")
        .await
        .unwrap();
    assert!(ada.is_some(), "Ada is linked to her CRM record");
    let mailbox = store.get_mailbox(env.mailbox()).await.unwrap().unwrap();
    assert!(mailbox.last_sync.is_some(), "the sync is recorded");
    assert!(
        store
            .list_outbox(env.mailbox(), Folder::Contacts, 100)
            .await
            .unwrap()
            .is_empty(),
        "the CRM's changes were pushed"
    );
    // The two Cy records could not be told apart; the one not paired reached the mailbox.
    assert_eq!(env.contacts_in_mailbox(), 6);

    let after = env.sync(&["--dry-run"]).await;
    assert_eq!(after.code, 0, "{}", after.all());
    assert!(
        after.stdout.contains(
            "contacts: since the last sync: 0 new, 0 changed, 0 deleted in the mailbox; 0 CRM changes waiting"
        ),
        "{}",
        after.stdout
    );
}

#[tokio::test]
async fn what_is_not_there_or_not_ready_is_named_with_exit_3_and_bad_flags_with_2() {
    let env = setup("sync-not-ready").await;
    let missing = env.data.join("no-such-dir");
    let empty = env.data.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = |data: &Path, mailbox: &str| {
        let args = [
            "sync",
            "--data",
            data.to_str().unwrap(),
            "--mailbox",
            mailbox,
            "--dry-run",
        ];
        mailbridge(args.iter().map(|s| (*s).to_owned()).collect(), None)
    };

    let cases = [
        (
            run(&missing, env.mailbox()).await,
            missing.to_str().unwrap().to_owned(),
        ),
        (
            run(&empty, env.mailbox()).await,
            "state.db is missing".to_owned(),
        ),
        (
            run(&env.data, "nobody@contoso.example").await,
            format!(
                "--mailbox nobody@contoso.example: not in {}",
                env.data.display()
            ),
        ),
    ];
    for (outcome, named) in &cases {
        assert_eq!(outcome.code, 3, "{named}: {}", outcome.all());
        assert!(
            outcome.stderr.contains(named),
            "{named}: {}",
            outcome.stderr
        );
    }
    assert!(
        cases[2].0.stderr.contains(env.mailbox()),
        "the stored mailboxes are listed: {}",
        cases[2].0.stderr
    );

    let store = env.store();
    let mut tenant = store
        .get_tenant(&env.tenant.tenant_id)
        .await
        .unwrap()
        .unwrap();
    tenant.status = TenantStatus::Pending;
    store
        .put_tenant(&tenant, Expect::Version(tenant.version))
        .await
        .unwrap();
    let pending = env.sync(&[]).await;
    assert_eq!(pending.code, 3, "{}", pending.all());
    assert!(
        pending
            .stderr
            .contains(&format!("tenant {} is not verified", env.tenant.tenant_id)),
        "{}",
        pending.stderr
    );
    assert!(!synced_anything(&store, env.mailbox()).await);

    for (args, named) in [
        (&["--folder", "tasks"][..], "--folder"),
        (&["--colour"][..], "--colour"),
    ] {
        let bad = env.sync(args).await;
        assert_eq!(bad.code, 2, "{named}: {}", bad.all());
        assert!(bad.stderr.contains(named), "{named}: {}", bad.stderr);
    }
    let no_mailbox = mailbridge(vec!["sync".into(), "--dry-run".into()], None).await;
    assert_eq!(no_mailbox.code, 2, "{}", no_mailbox.all());
    assert!(no_mailbox.stderr.contains("missing --mailbox"));
}

#[tokio::test]
async fn an_unreachable_exchange_is_named_with_exit_1_and_recorded_on_the_mailbox() {
    let mut env = setup("sync-unreachable").await;
    let ews_url = env.sim().ews_url();
    env.sim = None;

    let run = env.sync(&[]).await;

    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("the sync of"), "{}", run.stderr);
    assert!(run.stderr.contains(&ews_url), "{}", run.stderr);
    let mailbox = env
        .store()
        .get_mailbox(env.mailbox())
        .await
        .unwrap()
        .unwrap();
    assert!(mailbox.last_error.is_some(), "{mailbox:?}");
    assert!(mailbox.last_sync.is_none());
}

#[tokio::test]
async fn braked_deletes_wait_for_the_go_ahead_then_go_through() {
    let env = setup("sync-brake").await;
    let first = env.sync(&[]).await;
    assert_eq!(first.code, 0, "{}", first.all());
    let linked = env.contacts_in_mailbox();
    assert!(linked >= 4, "{linked}");

    // Nothing braked yet: nothing to let through.
    let early = env.sync(&["--acknowledge-deletes"]).await;
    assert_eq!(early.code, 3, "{}", early.all());
    assert!(
        early
            .stderr
            .contains("not stopped by the mass-delete brake"),
        "{}",
        early.stderr
    );

    // The owner empties the folder: the brake stops the sync and keeps the CRM's records.
    let world = env.sim().world();
    for item in world.items(env.mailbox(), FolderKind::Contacts).unwrap() {
        world.owner_delete(env.mailbox(), &item.id).unwrap();
    }
    let braked = env.sync(&[]).await;
    assert_eq!(braked.code, 1, "{}", braked.all());
    assert!(
        braked.stderr.contains("--acknowledge-deletes"),
        "the brake names the way past it: {}",
        braked.stderr
    );
    let store = env.store();
    let kept = store
        .list_links(env.mailbox(), Folder::Contacts, None, 100)
        .await
        .unwrap()
        .items
        .len();
    assert_eq!(kept, linked, "the brake kept every link");
    let refused = env.sync(&[]).await;
    assert_eq!(refused.code, 3, "{}", refused.all());
    assert!(
        refused.stderr.contains("--acknowledge-deletes"),
        "the refusal says the way out: {}",
        refused.stderr
    );

    let go = env.sync(&["--acknowledge-deletes"]).await;
    assert_eq!(go.code, 0, "{}", go.all());
    assert!(
        go.stdout.contains("braked deletes let through by cli:"),
        "{}",
        go.stdout
    );
    let store = env.store();
    let links = store
        .list_links(env.mailbox(), Folder::Contacts, None, 100)
        .await
        .unwrap();
    assert!(links.items.is_empty(), "the deletes went through");
    let mailbox = store.get_mailbox(env.mailbox()).await.unwrap().unwrap();
    assert_eq!(mailbox.status, mailbridge_store::MailboxStatus::Active);
    assert_eq!(mailbox.deletes_go_ahead, None);
}
