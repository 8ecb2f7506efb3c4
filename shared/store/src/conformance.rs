//! The behaviour every store must have, as runnable suites.
//!
//! An implementation's tests call [`state_store_suite`] and [`secret_store_suite`] with a
//! factory that returns a fresh, empty store; each case gets its own store. Every case runs
//! even when an earlier one fails; at the end the suite panics with the names and reasons
//! of all failed cases (a panic inside the store is caught and reported the same way).
//!
//! ```no_run
//! use mailbridge_store::SqliteStore;
//! use mailbridge_store::conformance::state_store_suite;
//!
//! # async fn run() {
//! state_store_suite(async || SqliteStore::in_memory().expect("in-memory database")).await;
//! # }
//! ```
//!
//! Set `MAILBRIDGE_STORE_CASE` to part of a case name to run only the matching cases.
//!
//! Two rules beyond the trait docs are checked because the sync engine relies on them:
//! `reset_folder` keeps the cursor's `feed_seq` (feed positions never go back, so readers
//! that remember a position miss nothing), and a retried commit (same `id`) right after it
//! succeeded changes nothing and returns the same cursor.

use std::any::Any;
use std::fmt::Write as _;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{SecretError, StoreError};
use crate::secret::SecretStore;
use crate::state::StateStore;

/// Fails the current case unless the condition holds.
macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::conformance::Failure::at(file!(), line!(), &format!($($msg)+)));
        }
    };
}

/// Fails the current case unless both sides are equal, showing both.
macro_rules! check_eq {
    ($got:expr, $want:expr $(,)?) => {
        match (&$got, &$want) {
            (got, want) => {
                if got != want {
                    return Err($crate::conformance::Failure::at(
                        file!(),
                        line!(),
                        &format!("{}:\n   got {:?}\n  want {:?}", stringify!($got), got, want),
                    ));
                }
            }
        }
    };
}

/// Fails the current case unless the result is an error matching the pattern.
macro_rules! check_err {
    ($result:expr, $pattern:pat $(,)?) => {
        match $result {
            Err($pattern) => {}
            other => {
                return Err($crate::conformance::Failure::at(
                    file!(),
                    line!(),
                    &format!(
                        "{}: got {:?}, want Err({})",
                        stringify!($result),
                        other,
                        stringify!($pattern)
                    ),
                ));
            }
        }
    };
}

/// Runs each named case function against a fresh store from the factory.
macro_rules! cases {
    ($runner:expr, $make:expr, $($case:ident),+ $(,)?) => {
        $(
            $runner
                .case(stringify!($case), async {
                    let store = $make().await;
                    $case(&store).await
                })
                .await;
        )+
    };
}

mod coordination;
mod feed;
mod fixtures;
mod links;
mod secrets;
mod spool;
mod sync;
mod tenants;

/// Runs every state-store case; panics listing the failed ones.
///
/// `make` must return a new, empty store on every call.
pub async fn state_store_suite<S: StateStore>(make: impl AsyncFn() -> S) {
    let mut runner = Runner::new("state store");
    tenants::run(&mut runner, &make).await;
    sync::run(&mut runner, &make).await;
    links::run(&mut runner, &make).await;
    feed::run(&mut runner, &make).await;
    coordination::run(&mut runner, &make).await;
    spool::run(&mut runner, &make).await;
    runner.finish();
}

/// Runs every secret-store case; panics listing the failed ones.
///
/// `make` must return a new, empty store on every call.
pub async fn secret_store_suite<S: SecretStore>(make: impl AsyncFn() -> S) {
    let mut runner = Runner::new("secret store");
    secrets::run(&mut runner, &make).await;
    runner.finish();
}

/// Why a case failed, with the place in the suite that noticed.
#[derive(Debug)]
pub(crate) struct Failure(String);

impl Failure {
    pub(crate) fn at(file: &str, line: u32, message: &str) -> Failure {
        Failure(format!("{file}:{line}: {message}"))
    }
}

impl From<StoreError> for Failure {
    #[track_caller]
    fn from(error: StoreError) -> Failure {
        let at = Location::caller();
        Failure::at(
            at.file(),
            at.line(),
            &format!("unexpected error: {error:?}"),
        )
    }
}

impl From<SecretError> for Failure {
    #[track_caller]
    fn from(error: SecretError) -> Failure {
        let at = Location::caller();
        Failure::at(
            at.file(),
            at.line(),
            &format!("unexpected error: {error:?}"),
        )
    }
}

/// What a case returns.
pub(crate) type Outcome = Result<(), Failure>;

/// Runs cases one after the other and collects the failures.
pub(crate) struct Runner {
    suite: &'static str,
    only: Option<String>,
    ran: usize,
    failures: Vec<(&'static str, String)>,
}

impl Runner {
    fn new(suite: &'static str) -> Runner {
        Runner {
            suite,
            only: std::env::var("MAILBRIDGE_STORE_CASE")
                .ok()
                .filter(|s| !s.is_empty()),
            ran: 0,
            failures: Vec::new(),
        }
    }

    pub(crate) async fn case(&mut self, name: &'static str, case: impl Future<Output = Outcome>) {
        if self
            .only
            .as_deref()
            .is_some_and(|only| !name.contains(only))
        {
            return;
        }
        self.ran += 1;
        match (CatchUnwind(Box::pin(case))).await {
            Ok(Ok(())) => {}
            Ok(Err(Failure(reason))) => self.failures.push((name, reason)),
            Err(panic) => self
                .failures
                .push((name, format!("panicked: {}", panic_message(&*panic)))),
        }
    }

    fn finish(self) {
        assert!(
            self.ran > 0,
            "no {} conformance case matches MAILBRIDGE_STORE_CASE={:?}",
            self.suite,
            self.only.unwrap_or_default()
        );
        if self.failures.is_empty() {
            return;
        }
        let mut report = format!(
            "{} of {} {} conformance cases failed:",
            self.failures.len(),
            self.ran,
            self.suite
        );
        for (name, reason) in &self.failures {
            let _ = write!(report, "\n\n[{name}]\n{reason}");
        }
        panic!("{report}");
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(message) = panic.downcast_ref::<&str>() {
        message
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message
    } else {
        "(not a string)"
    }
}

/// Turns a panic while polling the inner future into an error value, so one broken case
/// does not hide the others.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.get_mut().0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}
