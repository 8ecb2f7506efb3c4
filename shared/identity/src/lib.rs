//! App-only identity for mailbridge.
