//! The XML layer: a namespace-aware pull reader and an escaping writer.
//!
//! Both are free of transport so that every operation can be tested with plain strings.

mod reader;
mod writer;

pub use reader::{Element, Name, XmlReader};
pub use writer::XmlWriter;

/// XML namespaces that EWS messages use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    /// SOAP 1.1 envelope.
    Soap,
    /// EWS types (`t:`).
    Types,
    /// EWS messages (`m:`).
    Messages,
    /// EWS errors, used in SOAP fault details.
    Errors,
    /// No namespace at all.
    None,
    /// Any namespace we do not know; such elements are skipped.
    Other,
}

/// SOAP 1.1 envelope namespace.
pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// EWS types namespace.
pub const TYPES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
/// EWS messages namespace.
pub const MESSAGES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
/// EWS errors namespace.
pub const ERRORS_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";

impl Ns {
    pub(crate) fn from_uri(uri: &str) -> Ns {
        match uri {
            "http://schemas.xmlsoap.org/soap/envelope/" => Ns::Soap,
            "http://schemas.microsoft.com/exchange/services/2006/types" => Ns::Types,
            "http://schemas.microsoft.com/exchange/services/2006/messages" => Ns::Messages,
            "http://schemas.microsoft.com/exchange/services/2006/errors" => Ns::Errors,
            _ => Ns::Other,
        }
    }
}
