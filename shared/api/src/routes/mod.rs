//! The route handlers, one module per resource.

pub mod mailboxes;
pub mod records;
pub mod send;
pub mod tenant_state;
pub mod tenants;
