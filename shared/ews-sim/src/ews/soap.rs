//! The SOAP layer: reading the request envelope's headers, writing response envelopes,
//! SOAP faults and the per-message success and error blocks every operation shares.

use super::xml::{ERRORS_NS, MESSAGES_NS, Node, Ns, SOAP_NS, TYPES_NS, XmlOut};

/// The server versions a request may name (the schema's `ExchangeVersionType`).
pub const SERVER_VERSIONS: [&str; 14] = [
    "Exchange2007",
    "Exchange2007_SP1",
    "Exchange2009",
    "Exchange2010",
    "Exchange2010_SP1",
    "Exchange2010_SP2",
    "Exchange2012",
    "Exchange2013",
    "Exchange2013_SP1",
    "Exchange2015",
    "Exchange2016",
    "V2015_10_05",
    "V2016_01_06",
    "V2016_04_13",
];

/// A request-level failure, answered with a SOAP fault (HTTP 500, as EWS sends them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The EWS response code.
    pub code: &'static str,
    /// What went wrong, in Exchange's words.
    pub message: String,
    /// `MessageXml` values (`BackOffMilliseconds`, `SmtpAddress`, ...).
    pub values: Vec<(&'static str, String)>,
}

impl Fault {
    /// A fault with no extra values.
    pub fn new(code: &'static str, message: impl Into<String>) -> Fault {
        Fault {
            code,
            message: message.into(),
            values: Vec::new(),
        }
    }

    /// A schema violation, naming what is wrong.
    pub fn schema(what: impl std::fmt::Display) -> Fault {
        Fault::new(
            "ErrorSchemaValidation",
            format!("The request failed schema validation: {what}"),
        )
    }

    /// Adds a `MessageXml` value.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Fault {
        self.values.push((name, value.into()));
        self
    }
}

/// A failure of one response message (one item of a batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgError {
    /// The EWS response code.
    pub code: &'static str,
    /// Exchange's text.
    pub text: String,
    /// `MessageXml` values.
    pub values: Vec<(&'static str, String)>,
}

impl MsgError {
    /// A message error with no extra values.
    pub fn new(code: &'static str, text: impl Into<String>) -> MsgError {
        MsgError {
            code,
            text: text.into(),
            values: Vec::new(),
        }
    }

    /// The item id names nothing this mailbox holds.
    pub fn not_found() -> MsgError {
        MsgError::new(
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        )
    }

    /// The item id is not one this server issued.
    pub fn malformed_id() -> MsgError {
        MsgError::new("ErrorInvalidIdMalformed", "Id is malformed.")
    }
}

impl From<Fault> for MsgError {
    fn from(fault: Fault) -> MsgError {
        MsgError {
            code: fault.code,
            text: fault.message,
            values: fault.values,
        }
    }
}

/// What the request envelope says besides its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The impersonated mailbox's address.
    pub impersonate: Option<String>,
    /// The operation element.
    pub body: &'a Node,
}

/// Reads the envelope: server version, impersonation, and the one operation element.
pub fn read_envelope(root: &Node) -> Result<Envelope<'_>, Fault> {
    if !root.is(Ns::Soap, "Envelope") {
        return Err(Fault::schema(format!(
            "the root element must be Envelope in {SOAP_NS}, not {}",
            root.name
        )));
    }
    let mut impersonate = None;
    if let Some(header) = root.child(Ns::Soap, "Header") {
        for part in &header.children {
            match (part.ns, part.name.as_str()) {
                (Ns::Types, "RequestServerVersion") => {
                    let version = part.attr("Version").unwrap_or_default();
                    if !SERVER_VERSIONS.contains(&version) {
                        return Err(Fault::new(
                            "ErrorInvalidServerVersion",
                            format!("The specified server version '{version}' is invalid."),
                        ));
                    }
                }
                (Ns::Types, "ExchangeImpersonation") => {
                    impersonate = Some(impersonated(part)?);
                }
                (Ns::Types, "TimeZoneContext" | "MailboxCulture" | "DateTimePrecision") => {}
                (Ns::Types, other) => {
                    return Err(Fault::schema(format!(
                        "the SOAP header holds an element {other} this server does not accept"
                    )));
                }
                _ => {}
            }
        }
    }
    let body = root
        .child(Ns::Soap, "Body")
        .ok_or_else(|| Fault::schema("the envelope has no Body"))?;
    let mut operations = body.children.iter();
    let op = operations
        .next()
        .ok_or_else(|| Fault::schema("the Body holds no operation"))?;
    if operations.next().is_some() {
        return Err(Fault::schema("the Body holds more than one operation"));
    }
    if op.ns != Ns::Messages {
        return Err(Fault::schema(format!(
            "the operation element {} is not in the namespace {MESSAGES_NS}",
            op.name
        )));
    }
    Ok(Envelope {
        impersonate,
        body: op,
    })
}

fn impersonated(header: &Node) -> Result<String, Fault> {
    let bad = |why: &str| {
        Fault::new(
            "ErrorInvalidExchangeImpersonationHeaderData",
            format!("The impersonation header is not valid: {why}"),
        )
    };
    let sid = header
        .child(Ns::Types, "ConnectingSID")
        .ok_or_else(|| bad("ConnectingSID is missing"))?;
    let id = sid
        .children
        .first()
        .ok_or_else(|| bad("ConnectingSID names no account"))?;
    match id.name.as_str() {
        "PrimarySmtpAddress" | "SmtpAddress" | "PrincipalName" => {
            let value = id.value();
            if crate::model::directory::is_smtp_address(value) {
                Ok(value.to_owned())
            } else {
                Err(bad(&format!(
                    "{} {value:?} is not an SMTP address",
                    id.name
                )))
            }
        }
        "SID" => Err(bad(
            "this server resolves accounts by SMTP address, not SID",
        )),
        other => Err(bad(&format!("{other} cannot name an account"))),
    }
}

/// Exchange Online's version header, on every response.
fn server_version(w: &mut XmlOut) {
    w.empty(
        "h:ServerVersionInfo",
        &[
            ("MajorVersion", "15"),
            ("MinorVersion", "20"),
            ("MajorBuildNumber", "8835"),
            ("MinorBuildNumber", "27"),
            ("Version", "V2018_01_08"),
            ("xmlns:h", TYPES_NS),
        ],
    );
}

/// A whole response envelope around `body`, which writes one `m:` response element.
pub fn envelope(body: impl FnOnce(&mut XmlOut)) -> String {
    let mut w = XmlOut::new();
    w.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    w.open("s:Envelope", &[("xmlns:s", SOAP_NS)]);
    w.open("s:Header", &[]);
    server_version(&mut w);
    w.close("s:Header");
    w.open("s:Body", &[("xmlns:m", MESSAGES_NS), ("xmlns:t", TYPES_NS)]);
    body(&mut w);
    w.close("s:Body");
    w.close("s:Envelope");
    w.finish()
}

/// A SOAP fault envelope.
pub fn fault_envelope(fault: &Fault) -> String {
    let mut w = XmlOut::new();
    w.raw("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    w.open("s:Envelope", &[("xmlns:s", SOAP_NS)]);
    w.open("s:Body", &[]);
    w.open("s:Fault", &[]);
    let code = format!("a:{}", fault.code);
    w.leaf_with("faultcode", &[("xmlns:a", TYPES_NS)], &code);
    w.leaf_with("faultstring", &[("xml:lang", "en-US")], &fault.message);
    w.open("detail", &[]);
    w.leaf_with("e:ResponseCode", &[("xmlns:e", ERRORS_NS)], fault.code);
    w.leaf_with("e:Message", &[("xmlns:e", ERRORS_NS)], &fault.message);
    if !fault.values.is_empty() {
        w.open("t:MessageXml", &[("xmlns:t", TYPES_NS)]);
        for (name, value) in &fault.values {
            w.leaf_with("t:Value", &[("Name", name)], value);
        }
        w.close("t:MessageXml");
    }
    w.close("detail");
    w.close("s:Fault");
    w.close("s:Body");
    w.close("s:Envelope");
    w.finish()
}

/// Opens `<m:{op}Response><m:ResponseMessages>`.
pub fn open_response(w: &mut XmlOut, op: &str) {
    w.open(&format!("m:{op}Response"), &[]);
    w.open("m:ResponseMessages", &[]);
}

/// Closes what [`open_response`] opened.
pub fn close_response(w: &mut XmlOut, op: &str) {
    w.close("m:ResponseMessages");
    w.close(&format!("m:{op}Response"));
}

/// Opens a successful response message and writes its `NoError` code.
pub fn open_ok(w: &mut XmlOut, op: &str) {
    w.open(
        &format!("m:{op}ResponseMessage"),
        &[("ResponseClass", "Success")],
    );
    w.leaf("m:ResponseCode", "NoError");
}

/// Opens a failed response message and writes its text, code and details.
pub fn open_error(w: &mut XmlOut, op: &str, err: &MsgError) {
    w.open(
        &format!("m:{op}ResponseMessage"),
        &[("ResponseClass", "Error")],
    );
    w.leaf("m:MessageText", &err.text);
    w.leaf("m:ResponseCode", err.code);
    w.leaf("m:DescriptiveLinkKey", "0");
    if !err.values.is_empty() {
        w.open("m:MessageXml", &[]);
        for (name, value) in &err.values {
            w.leaf_with("t:Value", &[("Name", name)], value);
        }
        w.close("m:MessageXml");
    }
}

/// Closes a response message.
pub fn close_message(w: &mut XmlOut, op: &str) {
    w.close(&format!("m:{op}ResponseMessage"));
}

/// A complete failed message: what each operation's schema requires after the common part
/// is added (`GetItem`, `CreateItem` and `UpdateItem` messages must hold `Items`).
pub fn error_message(w: &mut XmlOut, op: &str, err: &MsgError) {
    open_error(w, op, err);
    if matches!(op, "GetItem" | "CreateItem" | "UpdateItem") {
        w.empty("m:Items", &[]);
    }
    close_message(w, op);
}

/// A response holding one failed message: how a whole-request refusal that Exchange reports
/// per message (a busy server, an invalid sync state) is written.
pub fn error_response(op: &str, err: &MsgError) -> String {
    envelope(|w| {
        open_response(w, op);
        error_message(w, op, err);
        close_response(w, op);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ews::xml::parse;

    fn request(header: &str, body: &str) -> String {
        format!(
            r#"<s:Envelope xmlns:s="{SOAP_NS}" xmlns:t="{TYPES_NS}" xmlns:m="{MESSAGES_NS}"><s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
        )
    }

    #[test]
    fn impersonation_and_version_are_read_and_checked() {
        let header = r#"<t:RequestServerVersion Version="Exchange2013_SP1"/><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>anna@contoso.example</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"#;
        let doc = parse(request(header, "<m:GetFolder/>").as_bytes()).unwrap();
        let env = read_envelope(&doc).unwrap();
        assert_eq!(env.impersonate.as_deref(), Some("anna@contoso.example"));
        assert_eq!(env.body.name, "GetFolder");

        let doc = parse(
            request(
                r#"<t:RequestServerVersion Version="Exchange1999"/>"#,
                "<m:GetFolder/>",
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            read_envelope(&doc).unwrap_err().code,
            "ErrorInvalidServerVersion"
        );
        let bad = r"<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>not an address</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>";
        let doc = parse(request(bad, "<m:GetFolder/>").as_bytes()).unwrap();
        assert_eq!(
            read_envelope(&doc).unwrap_err().code,
            "ErrorInvalidExchangeImpersonationHeaderData"
        );
        let doc = parse(request("", "<m:GetFolder/><m:GetItem/>").as_bytes()).unwrap();
        assert_eq!(
            read_envelope(&doc).unwrap_err().code,
            "ErrorSchemaValidation"
        );
    }
}
