use super::*;

#[test]
fn the_raw_secret_is_replaced() {
    let scrubber = Scrubber::new(&ClientSecret::new("s3cr3t-VALUE-xyz"));

    let cleaned = scrubber.clean("you sent s3cr3t-VALUE-xyz twice: s3cr3t-VALUE-xyz");

    assert_eq!(cleaned, "you sent [redacted] twice: [redacted]");
}

#[test]
fn percent_encoded_spellings_are_replaced() {
    let scrubber = Scrubber::new(&ClientSecret::new("a+b/c d~e"));

    for echoed in [
        "a%2Bb%2Fc+d%7Ee",
        "a%2Bb%2Fc%20d%7Ee",
        "a%2bb%2fc%20d%7ee",
        "a+b/c d~e",
    ] {
        let cleaned = scrubber.clean(&format!("body: client_secret={echoed}&x=1"));

        assert_eq!(cleaned, "body: client_secret=[redacted]&x=1", "{echoed}");
    }
}

#[test]
fn an_empty_secret_removes_nothing() {
    let scrubber = Scrubber::new(&ClientSecret::new(""));

    assert_eq!(scrubber.clean("plain text"), "plain text");
}

/// End to end: every way a fetch can fail, with all logs captured at TRACE, leaks neither the
/// secret nor a token anywhere a person could read it.
mod hygiene {
    use std::cell::RefCell;
    use std::io;
    use std::sync::{Arc, Mutex, Once};

    use crate::fake_idp::{FakeIdp, hanging_up_authority, refusing_authority};
    use crate::{AppCredentials, ClientSecret, TenantTokens, TokenCache, TokenClient};

    const SECRET: &str = "s3cr3t-VALUE-xyz";
    /// Changes under percent-encoding, so an echoed request body spells it differently.
    const ENCODED_SECRET: &str = "p@ss w+rd/VALUE-42";

    thread_local! {
        static CAPTURE: RefCell<Option<Captured>> = const { RefCell::new(None) };
    }

    /// The log output of one test thread.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    /// Writes into the current thread's capture, if it has one.
    struct ThreadCapture;

    impl io::Write for ThreadCapture {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            CAPTURE.with_borrow(|capture| {
                if let Some(captured) = capture {
                    captured.0.lock().unwrap().extend_from_slice(bytes);
                }
            });
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Stops capturing when dropped.
    struct CaptureGuard;

    impl Drop for CaptureGuard {
        fn drop(&mut self) {
            CAPTURE.set(None);
        }
    }

    /// Captures every event this thread emits, at TRACE, through a `fmt` subscriber.
    fn capture_all_logs() -> (Captured, CaptureGuard) {
        // A thread-scoped subscriber (`set_default`) is not enough while other tests run:
        // tracing caches a callsite's interest from whichever thread hits it first, so a test
        // thread without a subscriber can switch our events off. One global TRACE subscriber
        // that writes per thread keeps every callsite enabled.
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(|| ThreadCapture)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
        });
        let captured = Captured::default();
        CAPTURE.set(Some(captured.clone()));
        (captured, CaptureGuard)
    }

    fn creds(tenant: &str, secret: &str) -> AppCredentials {
        AppCredentials::new(tenant, "app-123", ClientSecret::new(secret))
    }

    fn assert_clean(what: &str, text: &str) {
        for needle in [SECRET, ENCODED_SECRET, "p%40ss", "tok-"] {
            assert!(!text.contains(needle), "{what} leaks {needle:?}: {text}");
        }
    }

    #[tokio::test]
    async fn no_failure_leaks_the_secret_or_a_token() {
        let (logs, _guard) = capture_all_logs();
        let idp = FakeIdp::start().await;
        let cache = Arc::new(TokenCache::new(idp.client()));
        let attempts = [
            (idp.client(), creds("aadsts-7000215.example", SECRET)),
            (idp.client(), creds("aadsts-7000222.example", SECRET)),
            (idp.client(), creds("echo.example", SECRET)),
            (idp.client(), creds("echo-body.example", SECRET)),
            (idp.client(), creds("echo.example", ENCODED_SECRET)),
            (idp.client(), creds("echo-body.example", ENCODED_SECRET)),
            // The secret pasted into the other fields.
            (
                idp.client(),
                AppCredentials::new(format!("{SECRET}/x"), "a", ClientSecret::new(SECRET)),
            ),
            (
                idp.client(),
                AppCredentials::new("aadsts-700016.example", SECRET, ClientSecret::new(SECRET)),
            ),
            (
                TokenClient::new(reqwest::Client::new(), refusing_authority()),
                creds("contoso.example", SECRET),
            ),
            (
                TokenClient::new(reqwest::Client::new(), hanging_up_authority()),
                creds("contoso.example", SECRET),
            ),
        ];

        let token = cache
            .token(&creds("contoso.example", SECRET))
            .await
            .unwrap();
        let misplaced = AppCredentials::new(format!("{SECRET}/x"), "a", ClientSecret::new(SECRET));
        let cache_err = cache.token(&misplaced).await.unwrap_err();
        let tenant_tokens = TenantTokens::new(Arc::clone(&cache), creds("contoso.example", SECRET));
        let mut printed = vec![
            format!("{token:?}"),
            format!("{tenant_tokens:?}"),
            format!("{cache:?}"),
            format!("{:?}", creds("contoso.example", SECRET)),
            format!("{:?}", ClientSecret::new(SECRET)),
            format!("{cache_err} {cache_err:?}"),
        ];
        for (client, creds) in &attempts {
            let err = client.fetch(creds).await.unwrap_err();
            printed.push(format!("{err}"));
            printed.push(format!("{err:?}"));
            printed.push(format!("{:?}", err.diagnosis()));
        }

        assert!(token.bearer().starts_with("tok-"));
        for (i, text) in printed.iter().enumerate() {
            assert_clean(&format!("printed value {i}"), text);
        }
        let logs = logs.text();
        assert_clean("the logs", &logs);
        // The capture works and the failures were logged with their fields.
        assert!(logs.contains("token fetched"), "{logs}");
        assert!(logs.contains("token fetch failed"), "{logs}");
        assert!(logs.contains("aadsts=7000215"), "{logs}");
        assert!(logs.contains("[redacted]"), "{logs}");
        assert_eq!(
            logs.matches("token fetch failed").count(),
            attempts.len() + 1,
            "{logs}"
        );
    }

    #[tokio::test]
    async fn echoed_secrets_are_replaced_where_the_admin_reads_them() {
        let idp = FakeIdp::start().await;

        let err = idp
            .client()
            .fetch(&creds("echo.example", SECRET))
            .await
            .unwrap_err();

        let description = err.diagnosis().unwrap().description().unwrap();
        assert!(
            description.contains("provided: '[redacted]'"),
            "{description}"
        );
    }
}
