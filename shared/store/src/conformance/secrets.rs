//! The secret store: put, get, replace, delete, names, and values kept out of errors.

use secrecy::{ExposeSecret, SecretString};

use super::{Failure, Outcome, Runner};
use crate::error::SecretError;
use crate::secret::SecretStore;

pub(super) async fn run<S: SecretStore>(runner: &mut Runner, make: &impl AsyncFn() -> S) {
    cases!(
        runner,
        make,
        secret_absent_is_none,
        secret_put_then_get_returns_it,
        secret_put_again_replaces_it,
        secret_delete_removes_it_and_tolerates_absence,
        secret_names_do_not_overlap,
        secret_values_keep_every_character,
        secret_invalid_names_are_refused,
        secret_values_never_appear_in_errors,
    );
}

const NAME: &str = "tenants/6a1e0c77-5f0e-4f49-9d1a-0d6f2c1b7e10/client-secret";

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_owned())
}

async fn exposed<S: SecretStore>(store: &S, name: &str) -> Result<Option<String>, Failure> {
    Ok(store
        .get(name)
        .await?
        .map(|value| value.expose_secret().to_owned()))
}

async fn secret_absent_is_none<S: SecretStore>(store: &S) -> Outcome {
    check_eq!(exposed(store, NAME).await?, None);
    check_eq!(exposed(store, "a").await?, None);
    Ok(())
}

async fn secret_put_then_get_returns_it<S: SecretStore>(store: &S) -> Outcome {
    store.put(NAME, &secret("Xy7~secret.value")).await?;
    check_eq!(
        exposed(store, NAME).await?.as_deref(),
        Some("Xy7~secret.value")
    );
    check_eq!(exposed(store, "tenants/other/client-secret").await?, None);
    Ok(())
}

async fn secret_put_again_replaces_it<S: SecretStore>(store: &S) -> Outcome {
    store.put(NAME, &secret("first")).await?;
    store.put(NAME, &secret("second")).await?;
    check_eq!(exposed(store, NAME).await?.as_deref(), Some("second"));
    Ok(())
}

async fn secret_delete_removes_it_and_tolerates_absence<S: SecretStore>(store: &S) -> Outcome {
    store.put(NAME, &secret("value")).await?;
    store.put("tokens/keep", &secret("kept")).await?;
    store.delete(NAME).await?;
    check_eq!(exposed(store, NAME).await?, None);
    store.delete(NAME).await?;
    store.delete("never/stored").await?;
    check_eq!(
        exposed(store, "tokens/keep").await?.as_deref(),
        Some("kept")
    );

    store.put(NAME, &secret("again")).await?;
    check_eq!(exposed(store, NAME).await?.as_deref(), Some("again"));
    Ok(())
}

async fn secret_names_do_not_overlap<S: SecretStore>(store: &S) -> Outcome {
    let names = ["a/b", "a/b/c", "a.b", "a_b", "a-b", "A/B"];
    for name in names {
        store
            .put(name, &secret(&format!("value of {name}")))
            .await?;
    }
    for name in names {
        check_eq!(
            exposed(store, name).await?,
            Some(format!("value of {name}"))
        );
    }
    Ok(())
}

async fn secret_values_keep_every_character<S: SecretStore>(store: &S) -> Outcome {
    let values = [
        " leading and trailing ".to_owned(),
        "quotes ' \" \\ and % _ ; --".to_owned(),
        "ünïcödé 日本語 😀 𝄞".to_owned(),
        "line\nbreaks\r\nand\ttabs".to_owned(),
        "x".repeat(20_000),
    ];
    for (n, value) in values.iter().enumerate() {
        let name = format!("values/{n}");
        store.put(&name, &secret(value)).await?;
        check_eq!(exposed(store, &name).await?.as_ref(), Some(value));
    }
    Ok(())
}

async fn secret_invalid_names_are_refused<S: SecretStore>(store: &S) -> Outcome {
    let long = "n".repeat(257);
    let invalid = [
        "", "/lead", "trail/", "a//b", "a/../b", "..", "a b", "ünï", "a\\b", &long,
    ];
    for name in invalid {
        check_err!(
            store.put(name, &secret("value")).await,
            SecretError::InvalidName { .. }
        );
        check_err!(store.get(name).await, SecretError::InvalidName { .. });
        check_err!(store.delete(name).await, SecretError::InvalidName { .. });
    }
    Ok(())
}

async fn secret_values_never_appear_in_errors<S: SecretStore>(store: &S) -> Outcome {
    let value = "pl41n-V4lue-that-must-not-leak";
    let Err(error) = store.put("bad name", &secret(value)).await else {
        return Err(Failure::at(file!(), line!(), "bad name accepted"));
    };
    let shown = format!("{error} {error:?}");
    check!(!shown.contains(value), "the value leaks: {shown}");

    store.put(NAME, &secret(value)).await?;
    let fetched = store.get(NAME).await?;
    let shown = format!("{fetched:?}");
    check!(
        !shown.contains(value),
        "the value leaks through Debug: {shown}"
    );
    Ok(())
}
