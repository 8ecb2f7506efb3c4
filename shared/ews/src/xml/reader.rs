//! A namespace-aware pull reader over any `BufRead`, built on `quick_xml::NsReader`.
//!
//! It never builds a tree: callers walk children one at a time and copy out only what
//! they keep, so memory stays bounded by the largest single text value.

use std::io::BufRead;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use super::Ns;
use super::writer::is_xml_char;
use crate::error::EwsError;

/// One element start: its namespace, local name and attributes (namespace declarations
/// left out).
#[derive(Debug, Clone)]
pub struct Element {
    /// The element's namespace, whatever prefix the document used for it.
    pub ns: Ns,
    /// The local name, without prefix.
    pub name: Name,
    attrs: Vec<(String, String)>,
}

impl Element {
    /// Whether this is `name` in namespace `ns`.
    pub fn is(&self, ns: Ns, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// The value of the attribute with this local name, unescaped.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Like [`Element::attr`], but a missing attribute is a malformed-response error.
    pub fn required_attr(&self, name: &str) -> Result<&str, EwsError> {
        self.attr(name)
            .ok_or_else(|| EwsError::malformed(format!("<{}> lacks attribute {name}", self.name)))
    }
}

/// An element's local name, stored inline: a sync page holds tens of thousands of
/// elements, and a heap allocation for each name was a tenth of the parse time.
///
/// Names longer than the inline room are cut at a character boundary; no EWS element
/// name comes near it, so only unknown (skipped) elements can be affected.
#[derive(Clone, Copy)]
pub struct Name {
    len: u8,
    bytes: [u8; Name::ROOM],
}

impl Name {
    const ROOM: usize = 62;

    fn new(name: &str) -> Name {
        let mut end = name.len().min(Name::ROOM);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0u8; Name::ROOM];
        bytes[..end].copy_from_slice(&name.as_bytes()[..end]);
        Name {
            len: u8::try_from(end).unwrap_or(0),
            bytes,
        }
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::ops::Deref for Name {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Walks an XML document element by element.
///
/// After [`XmlReader::next_child`] returns an element, the caller must consume it with
/// exactly one of: [`XmlReader::read_text`], [`XmlReader::skip`], or calls to
/// `next_child` until it returns `None`.
pub struct XmlReader<R> {
    inner: NsReader<R>,
    buf: Vec<u8>,
}

impl<'a> XmlReader<&'a [u8]> {
    /// A reader over a complete document in memory.
    pub fn from_bytes(bytes: &'a [u8]) -> Self {
        XmlReader::new(bytes)
    }
}

impl<R: BufRead> XmlReader<R> {
    /// A reader over any buffered source; the document is pulled as it is read.
    pub fn new(source: R) -> Self {
        let mut inner = NsReader::from_reader(source);
        let config = inner.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
        XmlReader {
            inner,
            buf: Vec::with_capacity(512),
        }
    }

    /// The document's root element.
    pub fn root(&mut self) -> Result<Element, EwsError> {
        self.next_child()?
            .ok_or_else(|| EwsError::malformed("the document has no root element"))
    }

    /// The next child element of the element most recently entered, or `None` once that
    /// element's end tag has been read. Text between children is ignored.
    pub fn next_child(&mut self) -> Result<Option<Element>, EwsError> {
        loop {
            self.buf.clear();
            let (resolved, event) = self
                .inner
                .read_resolved_event_into(&mut self.buf)
                .map_err(xml_err)?;
            match event {
                Event::Start(start) => {
                    let ns = namespace_of(&resolved, start.local_name().as_ref())?;
                    let name = Name::new(start.local_name().as_ref());
                    let mut attrs = Vec::new();
                    for attr in start.attributes() {
                        let attr =
                            attr.map_err(|e| EwsError::malformed(format!("bad attribute: {e}")))?;
                        if attr.key.as_namespace_binding().is_some() {
                            continue;
                        }
                        let key = attr.key.local_name().as_ref().to_owned();
                        let value = attr
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map_err(xml_err)?
                            .into_owned();
                        attrs.push((key, value));
                    }
                    return Ok(Some(Element { ns, name, attrs }));
                }
                Event::End(_) => return Ok(None),
                Event::Eof => {
                    return Err(EwsError::malformed("the document ends early (truncated)"));
                }
                Event::DocType(_) => {
                    return Err(EwsError::malformed(
                        "document type declarations are refused",
                    ));
                }
                Event::Empty(_)
                | Event::Text(_)
                | Event::CData(_)
                | Event::GeneralRef(_)
                | Event::Comment(_)
                | Event::Decl(_)
                | Event::PI(_) => {}
            }
        }
    }

    /// The character data of the element just entered, with entities, character references
    /// and CDATA sections resolved. Child elements inside it are skipped.
    ///
    /// A character XML 1.0 does not allow (NUL and the other C0 controls but tab, LF and
    /// CR, U+FFFE, U+FFFF) becomes U+FFFD, whether written literally or as a reference.
    /// Reading it as it is would hand on a value that no EWS request, and no mailbridge
    /// data, can carry; refusing it would lose the whole response for one odd item.
    pub fn read_text(&mut self) -> Result<String, EwsError> {
        let mut text = String::new();
        let mut nested = 0usize;
        loop {
            self.buf.clear();
            let event = self.inner.read_event_into(&mut self.buf).map_err(xml_err)?;
            match event {
                Event::Text(t) if nested == 0 => push_xml_chars(&mut text, &t.xml10_content()),
                Event::CData(c) if nested == 0 => push_xml_chars(&mut text, &c.xml10_content()),
                Event::GeneralRef(r) if nested == 0 => text.push(resolve_reference(&r)?),
                Event::Start(_) => nested += 1,
                Event::End(_) if nested == 0 => return Ok(text),
                Event::End(_) => nested -= 1,
                Event::Eof => {
                    return Err(EwsError::malformed("the document ends inside a text value"));
                }
                Event::DocType(_) => {
                    return Err(EwsError::malformed(
                        "document type declarations are refused",
                    ));
                }
                _ => {}
            }
        }
    }

    /// Skips the rest of the element just entered, whatever it holds.
    pub fn skip(&mut self) -> Result<(), EwsError> {
        let mut nested = 0usize;
        loop {
            self.buf.clear();
            match self.inner.read_event_into(&mut self.buf).map_err(xml_err)? {
                Event::Start(_) => nested += 1,
                Event::End(_) if nested == 0 => return Ok(()),
                Event::End(_) => nested -= 1,
                Event::Eof => {
                    return Err(EwsError::malformed("the document ends early (truncated)"));
                }
                Event::DocType(_) => {
                    return Err(EwsError::malformed(
                        "document type declarations are refused",
                    ));
                }
                _ => {}
            }
        }
    }

    /// Reads the text of the element just entered and parses it with `parse`; a value
    /// that does not parse is a malformed-response error naming the element.
    pub fn read_parsed<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, EwsError> {
        let text = self.read_text()?;
        parse(text.trim())
            .ok_or_else(|| EwsError::malformed(format!("<{name}> has an invalid value {text:?}")))
    }

    /// Reads a boolean (`true`/`false`/`1`/`0`) from the element just entered.
    pub fn read_bool(&mut self, name: &str) -> Result<bool, EwsError> {
        self.read_parsed(name, |s| match s {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        })
    }
}

fn namespace_of(resolved: &ResolveResult<'_>, local: &str) -> Result<Ns, EwsError> {
    match resolved {
        ResolveResult::Bound(ns) => Ok(Ns::from_uri(ns.as_ref())),
        ResolveResult::Unbound => Ok(Ns::None),
        ResolveResult::Unknown(prefix) => Err(EwsError::malformed(format!(
            "element {local} uses the undeclared prefix {prefix}"
        ))),
    }
}

/// The character a reference stands for; one XML cannot carry becomes U+FFFD.
fn resolve_reference(reference: &str) -> Result<char, EwsError> {
    let Some(number) = reference.strip_prefix('#') else {
        return predefined_entity(reference);
    };
    // Exchange sends references to NUL and other controls in item text, which no XML
    // parser accepts (OfficeDev/ews-managed-api#136, OfficeDev/ews-java-api#156).
    let code = match number.strip_prefix('x') {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => number.parse::<u32>(),
    };
    let code = code
        .ok()
        .filter(|_| {
            number
                .trim_start_matches('x')
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
        })
        .ok_or_else(|| EwsError::malformed(format!("bad character reference &{reference};")))?;
    let c = char::from_u32(code)
        .ok_or_else(|| EwsError::malformed(format!("bad character reference &{reference};")))?;
    Ok(if is_xml_char(c) {
        c
    } else {
        char::REPLACEMENT_CHARACTER
    })
}

/// Appends `chunk`, each character XML cannot carry replaced by U+FFFD.
fn push_xml_chars(text: &mut String, chunk: &str) {
    // Such characters are ASCII controls or start with the byte EF (U+FFFE, U+FFFF), so
    // most chunks are copied whole after one byte scan.
    let suspect = chunk
        .bytes()
        .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF);
    if suspect {
        text.extend(chunk.chars().map(|c| {
            if is_xml_char(c) {
                c
            } else {
                char::REPLACEMENT_CHARACTER
            }
        }));
    } else {
        text.push_str(chunk);
    }
}

fn predefined_entity(name: &str) -> Result<char, EwsError> {
    match name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        other => Err(EwsError::malformed(format!("unknown entity &{other};"))),
    }
}

fn xml_err(err: impl std::fmt::Display) -> EwsError {
    EwsError::malformed(format!("XML error: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(xml: &str) -> Vec<(Ns, String, String)> {
        let mut r = XmlReader::from_bytes(xml.as_bytes());
        let root = r.root().unwrap();
        assert_eq!(root.name, "Root");
        let mut out = Vec::new();
        while let Some(child) = r.next_child().unwrap() {
            let text = r.read_text().unwrap();
            out.push((child.ns, child.name.to_string(), text));
        }
        out
    }

    #[test]
    fn resolves_any_prefix_or_default_namespace() {
        let a = texts(
            r#"<x:Root xmlns:x="urn:a" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Name>A</t:Name></x:Root>"#,
        );
        let b = texts(
            r#"<Root xmlns="http://schemas.microsoft.com/exchange/services/2006/types"><Name>A</Name></Root>"#,
        );
        assert_eq!(a, vec![(Ns::Types, "Name".into(), "A".into())]);
        assert_eq!(a, b);
    }

    #[test]
    fn resolves_entities_char_refs_and_cdata() {
        let got = texts(
            "<Root><A>a &lt;&amp;&gt; &#x1F600;&#65;<![CDATA[<raw> ]]]]><![CDATA[>]]></A></Root>",
        );
        assert_eq!(got[0].2, "a <&> 😀A<raw> ]]>");
    }

    #[test]
    fn skips_nested_elements_inside_text_and_comments() {
        let got = texts("<Root><A>x<!-- c --><B>ignored</B>y</A><C/></Root>");
        assert_eq!(got[0].2, "xy");
        assert_eq!(got[1].1, "C");
        assert_eq!(got[1].2, "");
    }

    #[test]
    fn normalises_line_ends_but_keeps_char_ref_carriage_returns() {
        let got = texts("<Root><A>a\r\nb&#xD;</A></Root>");
        assert_eq!(got[0].2, "a\nb\r");
    }

    #[test]
    fn characters_xml_cannot_carry_are_read_as_replacement_characters() {
        let got = texts(
            "<Root><A>&#x0;&#0;a&#x1;b&#xB;c&#xFFFE;d\u{1F}e\u{FFFF}f<![CDATA[\u{8}]]>\u{FFFD}\u{FF01}&#x9;</A></Root>",
        );
        assert_eq!(
            got[0].2,
            "\u{FFFD}\u{FFFD}a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}e\u{FFFD}f\u{FFFD}\u{FFFD}\u{FF01}\t"
        );
    }

    #[test]
    fn references_to_no_character_are_refused() {
        for doc in ["&#x110000;", "&#xZ;", "&#+1;", "&#;", "&#X41;"] {
            let xml = format!("<Root><A>{doc}</A></Root>");
            let mut r = XmlReader::from_bytes(xml.as_bytes());
            r.root().unwrap();
            r.next_child().unwrap();
            assert!(r.read_text().is_err(), "{doc}");
        }
    }

    #[test]
    fn truncated_document_is_an_error_not_a_panic() {
        let mut r = XmlReader::from_bytes(b"<Root><A>abc");
        r.root().unwrap();
        r.next_child().unwrap();
        assert!(r.read_text().unwrap_err().to_string().contains("ends"));
    }

    #[test]
    fn undeclared_prefix_and_doctype_are_refused() {
        let mut r = XmlReader::from_bytes(b"<q:Root/>");
        assert!(r.root().is_err());
        let mut r = XmlReader::from_bytes(b"<!DOCTYPE x [<!ENTITY a 'b'>]><Root>&a;</Root>");
        assert!(r.root().is_err());
    }

    #[test]
    fn unknown_entity_is_refused() {
        let mut r = XmlReader::from_bytes(b"<Root><A>&nbsp;</A></Root>");
        r.root().unwrap();
        r.next_child().unwrap();
        assert!(r.read_text().is_err());
    }

    #[test]
    fn attributes_are_unescaped_and_namespace_declarations_hidden() {
        let mut r = XmlReader::from_bytes(br#"<Root xmlns:a="urn:x" Id="a&amp;b&#x9;c"/>"#);
        let root = r.root().unwrap();
        assert_eq!(root.attr("Id"), Some("a&b\tc"));
        assert_eq!(root.attr("a"), None);
    }
}
