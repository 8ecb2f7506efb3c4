//! The SOAP 1.1 envelope: request headers (server version, impersonation) on the way out,
//! faults and response messages on the way back.

use std::io::BufRead;
use std::time::Duration;

use crate::error::{EwsError, ResponseError};
use crate::response_code::ResponseCode;
use crate::xml::{Element, MESSAGES_NS, Ns, SOAP_NS, TYPES_NS, XmlReader, XmlWriter};

/// The `RequestServerVersion` every request names.
pub const REQUEST_SERVER_VERSION: &str = "Exchange2013_SP1";

/// Wraps a request body in an envelope that impersonates `mailbox`.
pub(crate) fn write_envelope(
    mailbox: &str,
    body: impl FnOnce(&mut XmlWriter) -> Result<(), EwsError>,
) -> Result<String, EwsError> {
    let mut w = XmlWriter::new();
    w.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    w.open(
        "soap:Envelope",
        &[
            ("xmlns:soap", SOAP_NS),
            ("xmlns:t", TYPES_NS),
            ("xmlns:m", MESSAGES_NS),
        ],
    );
    w.open("soap:Header", &[]);
    w.empty(
        "t:RequestServerVersion",
        &[("Version", REQUEST_SERVER_VERSION)],
    );
    w.open("t:ExchangeImpersonation", &[]);
    w.open("t:ConnectingSID", &[]);
    w.text_element("t:PrimarySmtpAddress", mailbox);
    w.close("t:ConnectingSID");
    w.close("t:ExchangeImpersonation");
    w.close("soap:Header");
    w.open("soap:Body", &[]);
    body(&mut w)?;
    w.close("soap:Body");
    w.close("soap:Envelope");
    w.finish()
}

/// Reads an envelope whose body should hold `<m:{response}>`, handing the reader to
/// `read_body` once inside it. A SOAP fault becomes [`EwsError::SoapFault`].
pub(crate) fn read_envelope<R: BufRead, T>(
    r: &mut XmlReader<R>,
    response: &str,
    read_body: impl FnOnce(&mut XmlReader<R>) -> Result<T, EwsError>,
) -> Result<T, EwsError> {
    let root = r.root()?;
    if !root.is(Ns::Soap, "Envelope") {
        return Err(EwsError::malformed(format!(
            "expected a SOAP Envelope, found <{}>",
            root.name
        )));
    }
    let mut read_body = Some(read_body);
    let mut result = None;
    while let Some(child) = r.next_child()? {
        if !child.is(Ns::Soap, "Body") {
            r.skip()?;
            continue;
        }
        while let Some(content) = r.next_child()? {
            if content.is(Ns::Soap, "Fault") {
                return Err(read_fault(r)?);
            }
            match read_body.take() {
                Some(read) if content.is(Ns::Messages, response) => result = Some(read(r)?),
                _ => {
                    return Err(EwsError::malformed(format!(
                        "expected <{response}> in the SOAP Body, found <{}>",
                        content.name
                    )));
                }
            }
        }
    }
    result.ok_or_else(|| EwsError::malformed(format!("the response has no <{response}>")))
}

/// Reads a `<Fault>` already entered.
fn read_fault<R: BufRead>(r: &mut XmlReader<R>) -> Result<EwsError, EwsError> {
    let mut fault_code = String::new();
    let mut message = String::new();
    let mut detail_code = None;
    let mut back_off = None;
    while let Some(child) = r.next_child()? {
        match child.name.as_str() {
            "faultcode" => fault_code = r.read_text()?,
            "faultstring" => message = r.read_text()?,
            "detail" => {
                while let Some(detail) = r.next_child()? {
                    match detail.name.as_str() {
                        "ResponseCode" => detail_code = Some(r.read_text()?),
                        "Message" if message.is_empty() => message = r.read_text()?,
                        "MessageXml" => back_off = read_message_xml(r)?.or(back_off),
                        _ => r.skip()?,
                    }
                }
            }
            _ => r.skip()?,
        }
    }
    let code = ResponseCode::parse(detail_code.as_deref().unwrap_or(&fault_code));
    Ok(EwsError::SoapFault {
        code,
        message: message.trim().to_owned(),
        back_off,
    })
}

/// Reads `<MessageXml>` already entered; returns `BackOffMilliseconds` if present.
fn read_message_xml<R: BufRead>(r: &mut XmlReader<R>) -> Result<Option<Duration>, EwsError> {
    let mut back_off = None;
    while let Some(child) = r.next_child()? {
        if child.name == "Value" && child.attr("Name") == Some("BackOffMilliseconds") {
            let text = r.read_text()?;
            back_off = text.trim().parse::<u64>().ok().map(Duration::from_millis);
        } else {
            r.skip()?;
        }
    }
    Ok(back_off)
}

/// One response message: either the operation's payload or the failure it reported.
pub type MessageResult<T> = Result<T, ResponseError>;

/// Reads `<m:ResponseMessages>` inside an operation's response element already entered.
/// `read_field` handles the operation's own children of each message and returns whether
/// it did; everything else is skipped.
pub(crate) fn read_response_messages<R: BufRead, T: Default>(
    r: &mut XmlReader<R>,
    mut read_field: impl FnMut(&mut T, &Element, &mut XmlReader<R>) -> Result<bool, EwsError>,
) -> Result<Vec<MessageResult<T>>, EwsError> {
    let mut results = Vec::new();
    while let Some(child) = r.next_child()? {
        if !child.is(Ns::Messages, "ResponseMessages") {
            r.skip()?;
            continue;
        }
        while let Some(message) = r.next_child()? {
            let class = message
                .attr("ResponseClass")
                .unwrap_or("Success")
                .to_owned();
            let mut payload = T::default();
            let mut code = ResponseCode::NoError;
            let mut text = String::new();
            let mut back_off = None;
            while let Some(field) = r.next_child()? {
                match (field.ns, field.name.as_str()) {
                    (Ns::Messages, "ResponseCode") => code = ResponseCode::parse(&r.read_text()?),
                    (Ns::Messages, "MessageText") => text = r.read_text()?,
                    (Ns::Messages, "MessageXml") => back_off = read_message_xml(r)?,
                    _ => {
                        if !read_field(&mut payload, &field, r)? {
                            r.skip()?;
                        }
                    }
                }
            }
            // The class decides; a warning without a code is only advice.
            let failed = match class.as_str() {
                "Success" => false,
                "Warning" => code != ResponseCode::NoError,
                _ => true,
            };
            if failed {
                let warning = class == "Warning";
                results.push(Err(ResponseError {
                    code,
                    message: text,
                    back_off,
                    warning,
                }));
            } else {
                results.push(Ok(payload));
            }
        }
    }
    Ok(results)
}

/// For operations that send one request and expect exactly one message back.
pub(crate) fn single<T>(mut results: Vec<MessageResult<T>>) -> Result<T, EwsError> {
    if results.len() != 1 {
        return Err(EwsError::malformed(format!(
            "expected one response message, found {}",
            results.len()
        )));
    }
    results.pop().map_or_else(
        || Err(EwsError::malformed("no response message")),
        |r| r.map_err(EwsError::Response),
    )
}
