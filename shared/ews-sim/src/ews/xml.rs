//! The simulator's own XML: requests are read into a small tree (they are small, and a tree
//! lets each operation look around freely), responses are written as text with the prefixes
//! Exchange uses. Nothing here is shared with the client in `shared/ews`, so a misreading of
//! the protocol on one side cannot hide on the other.

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

/// The SOAP 1.1 envelope namespace.
pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// EWS types (`t:`).
pub const TYPES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
/// EWS messages (`m:`).
pub const MESSAGES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
/// EWS SOAP fault details (`e:`).
pub const ERRORS_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";

const MAX_DEPTH: usize = 64;

/// The namespaces a request may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    /// SOAP envelope.
    Soap,
    /// EWS types.
    Types,
    /// EWS messages.
    Messages,
    /// No namespace, or one EWS does not define.
    Other,
}

/// An element of a request, with its text and children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Namespace.
    pub ns: Ns,
    /// Local name.
    pub name: String,
    /// Attributes by local name, unescaped (namespace declarations left out).
    pub attrs: Vec<(String, String)>,
    /// Character data directly inside the element, entities resolved.
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Node>,
}

impl Node {
    /// Whether the element is `name` in `ns`.
    pub fn is(&self, ns: Ns, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child named `name` in `ns`.
    pub fn child(&self, ns: Ns, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// Every child named `name` in `ns`.
    pub fn children_named<'a>(
        &'a self,
        ns: Ns,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// The text, trimmed of surrounding white space.
    pub fn value(&self) -> &str {
        self.text.trim()
    }
}

/// Why a request body is not XML the simulator will read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

/// Reads a whole document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Node, XmlError> {
    let mut reader = NsReader::from_reader(bytes);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.trim_text(false);
    let mut stack: Vec<Node> = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let position = reader.buffer_position();
        let (resolved, event) = reader
            .read_resolved_event_into(&mut buf)
            .map_err(|e| XmlError(format!("not well-formed XML near byte {position}: {e}")))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError(format!(
                        "elements are nested more than {MAX_DEPTH} deep"
                    )));
                }
                stack.push(element(&resolved, &start, position)?);
            }
            Event::Empty(start) => {
                let node = element(&resolved, &start, position)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::End(_) => {
                let Some(node) = stack.pop() else {
                    return Err(XmlError("an end tag without a start tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::Text(text) => {
                let text = text.xml10_content();
                check_chars(&text, position)?;
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&text);
                }
            }
            Event::CData(data) => {
                let text = data.xml10_content();
                check_chars(&text, position)?;
                if let Some(node) = stack.last_mut() {
                    node.text.push_str(&text);
                }
            }
            Event::GeneralRef(reference) => {
                let c = match reference
                    .resolve_char_ref()
                    .map_err(|e| XmlError(format!("bad character reference: {e}")))?
                {
                    Some(c) => c,
                    None => predefined(&reference)?,
                };
                // A reference must name a character a document could hold (XML 1.0,
                // Legal Character): `&#x1;` is as ill-formed as a literal U+0001.
                check_chars(c.encode_utf8(&mut [0; 4]), position)?;
                if let Some(node) = stack.last_mut() {
                    node.text.push(c);
                }
            }
            Event::DocType(_) => {
                return Err(XmlError(
                    "document type declarations are not allowed in EWS requests".into(),
                ));
            }
            Event::Eof => return Err(XmlError("the document ends before its root closes".into())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
}

/// Refuses characters XML 1.0 does not allow in a document at all (most C0 controls,
/// U+FFFE and U+FFFF), as Exchange's parser does: quick-xml passes them through.
fn check_chars(text: &str, position: u64) -> Result<(), XmlError> {
    // Every such character is an ASCII control or one of EF BF BE / EF BF BF in UTF-8.
    let bytes = text.as_bytes();
    let bad = bytes.iter().enumerate().find_map(|(at, &byte)| match byte {
        b'\t' | b'\n' | b'\r' => None,
        0..0x20 => Some(u32::from(byte)),
        0xEF => match bytes.get(at + 1..at + 3) {
            Some([0xBF, 0xBE]) => Some(0xFFFE),
            Some([0xBF, 0xBF]) => Some(0xFFFF),
            _ => None,
        },
        _ => None,
    });
    match bad {
        None => Ok(()),
        Some(code) => Err(XmlError(format!(
            "not well-formed XML near byte {position}: the character U+{code:04X} is not \
             allowed in XML 1.0"
        ))),
    }
}

fn element(
    resolved: &ResolveResult<'_>,
    start: &BytesStart<'_>,
    position: u64,
) -> Result<Node, XmlError> {
    let name = start.local_name().as_ref().to_owned();
    let ns = match resolved {
        ResolveResult::Bound(ns) => match ns.as_ref() {
            SOAP_NS => Ns::Soap,
            TYPES_NS => Ns::Types,
            MESSAGES_NS => Ns::Messages,
            _ => Ns::Other,
        },
        ResolveResult::Unbound => Ns::Other,
        ResolveResult::Unknown(prefix) => {
            return Err(XmlError(format!(
                "element {name} uses the undeclared prefix {prefix}"
            )));
        }
    };
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| XmlError(format!("bad attribute on {name}: {e}")))?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError(format!("bad attribute value on {name}: {e}")))?;
        check_chars(&value, position)
            .map_err(|e| XmlError(format!("{} (in an attribute of {name})", e.0)))?;
        attrs.push((
            attr.key.local_name().as_ref().to_owned(),
            value.into_owned(),
        ));
    }
    Ok(Node {
        ns,
        name,
        attrs,
        text: String::new(),
        children: Vec::new(),
    })
}

fn predefined(name: &str) -> Result<char, XmlError> {
    Ok(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        other => return Err(XmlError(format!("the entity &{other}; is not defined"))),
    })
}

/// Writes response XML. Element names carry their prefix (`m:`, `t:`); the envelope
/// declares them once.
#[derive(Debug, Default)]
pub struct XmlOut {
    buf: String,
}

impl XmlOut {
    /// An empty document.
    pub fn new() -> XmlOut {
        XmlOut {
            buf: String::with_capacity(4096),
        }
    }

    /// Writes `<name attrs>`.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.buf.push('>');
    }

    /// Writes `<name attrs/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start_tag(name, attrs);
        self.buf.push_str("/>");
    }

    /// Writes `</name>`.
    pub fn close(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// Writes `<name>text</name>`.
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.leaf_with(name, &[], text);
    }

    /// Writes `<name attrs>text</name>`.
    pub fn leaf_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        escape_into(&mut self.buf, text, false);
        self.close(name);
    }

    /// Writes `<name>text</name>` when there is a text.
    pub fn opt_leaf(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }

    /// Writes markup as it is.
    pub fn raw(&mut self, markup: &str) {
        self.buf.push_str(markup);
    }

    /// The document so far.
    pub fn finish(self) -> String {
        self.buf
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.buf.push('<');
        self.buf.push_str(name);
        for (key, value) in attrs {
            self.buf.push(' ');
            self.buf.push_str(key);
            self.buf.push_str("=\"");
            escape_into(&mut self.buf, value, true);
            self.buf.push('"');
        }
    }
}

/// Escapes text for XML 1.0. Characters XML 1.0 cannot carry at all become U+FFFD, so a
/// value stored through the control API can never make a response unreadable.
fn escape_into(out: &mut String, text: &str, attribute: bool) {
    // Most values need no escaping: copy runs of plain text whole. Every character that
    // needs work is ASCII except U+FFFE and U+FFFF (EF BF BE, EF BF BF), so a byte scan
    // finds them all and only ever cuts the text at character boundaries.
    let bytes = text.as_bytes();
    let marks = if attribute {
        &ATTRIBUTE_MARKS
    } else {
        &TEXT_MARKS
    };
    let mut plain = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        if !marks[usize::from(byte)] {
            continue;
        }
        let (replacement, width) = match byte {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            // Attribute values would be normalised to spaces; references keep them.
            b'\t' => ("&#x9;", 1),
            b'\n' => ("&#xA;", 1),
            b'\r' => ("&#xD;", 1),
            0xEF if matches!(bytes.get(at + 1..at + 3), Some([0xBF, 0xBE | 0xBF])) => {
                ("\u{FFFD}", 3)
            }
            0xEF => continue,
            _ => ("\u{FFFD}", 1),
        };
        out.push_str(&text[plain..at]);
        out.push_str(replacement);
        plain = at + width;
    }
    out.push_str(&text[plain..]);
}

/// Bytes that may need work in element text.
static TEXT_MARKS: [bool; 256] = marks(false);
/// Bytes that may need work in an attribute value.
static ATTRIBUTE_MARKS: [bool; 256] = marks(true);

const fn marks(attribute: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'\t' as usize] = attribute;
    table[b'\n' as usize] = attribute;
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'"' as usize] = attribute;
    table[0xEF] = true;
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_prefix_or_default_namespace_reads_the_same() {
        let a = parse(
            format!(
                r#"<x:A xmlns:x="{MESSAGES_NS}" xmlns:y="{TYPES_NS}"><y:B K="v">t</y:B></x:A>"#
            )
            .as_bytes(),
        )
        .unwrap();
        let b = parse(
            format!(r#"<A xmlns="{MESSAGES_NS}"><B xmlns="{TYPES_NS}" K="v">t</B></A>"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(a, b);
        assert!(a.is(Ns::Messages, "A"));
        let child = a.child(Ns::Types, "B").unwrap();
        assert_eq!((child.attr("K"), child.value()), (Some("v"), "t"));
    }

    #[test]
    fn entities_references_and_cdata_resolve() {
        let node = parse(b"<A>&lt;&amp;&#x1F600;<![CDATA[<b> ]]]]><![CDATA[>]]>x</A>").unwrap();
        assert_eq!(node.text, "<&\u{1F600}<b> ]]>x");
    }

    #[test]
    fn hostile_documents_are_refused_with_a_reason() {
        for (doc, why) in [
            (
                &b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"[..],
                "document type",
            ),
            (b"<a>&nbsp;</a>", "not defined"),
            (b"<a><b></a>", "well-formed"),
            (b"<q:a/>", "undeclared prefix"),
            (b"<a><b>", "ends before"),
        ] {
            let err = parse(doc).unwrap_err().0;
            assert!(err.contains(why), "{err}");
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).unwrap_err().0.contains("nested"));
    }

    #[test]
    fn characters_xml_cannot_carry_are_refused_literal_or_by_reference() {
        for (doc, code) in [
            ("<a>bell\u{7}</a>", "U+0007"),
            ("<a>&#x1;</a>", "U+0001"),
            ("<a>&#11;</a>", "U+000B"),
            ("<a><![CDATA[\u{1F}]]></a>", "U+001F"),
            ("<a>\u{FFFE}</a>", "U+FFFE"),
            ("<a>&#xFFFF;</a>", "U+FFFF"),
            ("<a k=\"&#xC;\"/>", "U+000C"),
            ("<a><b k=\"x\u{8}\">y</b></a>", "U+0008"),
        ] {
            let err = parse(doc.as_bytes()).unwrap_err().0;
            assert!(err.contains(code), "{doc:?}: {err}");
        }
    }

    #[test]
    fn carriage_returns_survive_only_as_references_and_every_plane_is_allowed() {
        let node = parse(
            "<a k=\"&#xD;&#x9;\r\n\">x\r\ny\rz&#xD;&#xA;\u{10FFFF}&#x10FFFD;\u{FFFD}</a>"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(node.text, "x\ny\nz\r\n\u{10FFFF}\u{10FFFD}\u{FFFD}");
        assert_eq!(node.attr("k"), Some("\r\t "));
    }

    #[test]
    fn output_escapes_markup_and_replaces_what_xml_cannot_carry() {
        let mut w = XmlOut::new();
        w.leaf_with("t:A", &[("K", "a\"b\tc")], "x<y&z]]>\u{1}\r");
        assert_eq!(
            w.finish(),
            "<t:A K=\"a&quot;b&#x9;c\">x&lt;y&amp;z]]&gt;\u{FFFD}&#xD;</t:A>"
        );
        // Non-characters go; their neighbours in the same UTF-8 range and beyond the BMP stay.
        let mut w = XmlOut::new();
        w.leaf("t:B", "\u{FFFE}é\u{FFFD}\u{FFFF}\u{FFEF}😀\n");
        assert_eq!(
            w.finish(),
            "<t:B>\u{FFFD}é\u{FFFD}\u{FFFD}\u{FFEF}😀\n</t:B>"
        );
    }
}
