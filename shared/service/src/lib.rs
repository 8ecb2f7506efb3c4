//! What mailbridge does with a tenant's credentials, above the EWS core and below the
//! API and the functions:
//!
//! - [`verify`]: checks an administrator's setup step by step against the test mailbox and
//!   names the step to fix when one fails.

pub mod verify;

pub use verify::{Finding, SetupStage, Step, Verification, VerifyInput, verify};
