//! Test fixtures for the function crates, used only as a dev-dependency:
//!
//! - [`moto`]: the AWS emulator the tests talk to, and SDK configuration for it;
//! - [`Deployment`]: the stores of one test on their own table and secret prefix, with a
//!   tenant on the Exchange simulator onboarded into them;
//! - [`context`] and [`event`]: a Lambda invocation context and event files.
//!
//! Every helper panics on failure: in a test, that is the failure report.

// Test support: a panic here is the test failing, with the message saying why.
#![allow(clippy::missing_panics_doc)]

pub mod moto;

mod deployment;
mod lambda;

pub use deployment::{Deployment, Onboarded};
pub use lambda::{context, event};

/// A name no other test in this run uses: `{prefix}-{process}-{counter}-{random}`.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}-{:05x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        fastrand::u32(..0x000f_ffff)
    )
}
