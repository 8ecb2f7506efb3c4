//! Test support shared by the transport test binaries: a scripted loopback server and a
//! token source that counts renewals.

// Each test binary that includes this module uses a different part of it.
#![allow(dead_code)]

pub mod script_server;
pub mod tokens;
