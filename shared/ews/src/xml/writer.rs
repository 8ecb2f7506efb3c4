//! An append-only XML writer with fixed prefixes (`soap:`, `t:`, `m:`).

use std::fmt::Write as _;
use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::error::EwsError;

/// Builds an XML document into a string, escaping every text and attribute value.
///
/// Values that XML 1.0 cannot carry at all (most control characters) are not silently
/// dropped: the first one found is reported by [`XmlWriter::finish`] with the field name.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
    invalid: Option<EwsError>,
}

impl XmlWriter {
    /// A writer with room for a typical request.
    pub fn new() -> XmlWriter {
        XmlWriter {
            out: String::with_capacity(2048),
            invalid: None,
        }
    }

    /// Opens `<name attr="value" ...>`; attribute values are escaped.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start_tag(name, attrs);
        self.out.push('>');
        self
    }

    /// Writes `<name attr="value" ... />`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        self.start_tag(name, attrs);
        self.out.push_str("/>");
        self
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// Writes `<name>text</name>`, escaping the text.
    pub fn text_element(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name, &[]);
        self.text(name, text);
        self.close(name)
    }

    /// Writes `<name>text</name>` when `text` is present.
    pub fn opt_element(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.text_element(name, text);
        }
        self
    }

    /// Writes `<name attr=..>text</name>`.
    pub fn text_element_with(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
        text: &str,
    ) -> &mut Self {
        self.open(name, attrs);
        self.text(name, text);
        self.close(name)
    }

    /// Appends escaped character data; `field` names the value in an error.
    pub fn text(&mut self, field: &str, text: &str) -> &mut Self {
        self.escape(field, text, false);
        self
    }

    /// Records that a value cannot be sent; [`XmlWriter::finish`] reports the first one.
    pub(crate) fn reject(&mut self, field: &str, reason: impl Into<String>) {
        if self.invalid.is_none() {
            let field = field.trim_start_matches("t:").trim_start_matches("m:");
            self.invalid = Some(EwsError::InvalidInput {
                field: field.into(),
                reason: reason.into(),
            });
        }
    }

    /// Writes a whole number, refusing one outside `range` (the schema's or Exchange's).
    pub(crate) fn int_element(
        &mut self,
        name: &str,
        value: u32,
        range: RangeInclusive<u32>,
    ) -> &mut Self {
        if !range.contains(&value) {
            self.reject(
                name,
                format!("must be {} to {}, not {value}", range.start(), range.end()),
            );
        }
        self.text_element(name, &value.to_string())
    }

    /// Writes an instant as `xs:dateTime` in UTC, refusing years `xs:dateTime` cannot hold
    /// without a sign.
    pub(crate) fn datetime_element(&mut self, name: &str, value: &DateTime<Utc>) -> &mut Self {
        self.check_year(name, value.year());
        self.text_element(name, &crate::types::write_datetime(value))
    }

    /// Writes a date as `xs:date`.
    pub(crate) fn date_element(&mut self, name: &str, value: NaiveDate) -> &mut Self {
        self.check_year(name, value.year());
        self.text_element(name, &value.format("%Y-%m-%d").to_string())
    }

    /// Refuses years outside 1 to 9999, which EWS dates cannot carry.
    pub(crate) fn check_year(&mut self, field: &str, year: i32) {
        if !(1..=9999).contains(&year) {
            self.reject(field, format!("year {year} is outside 1 to 9999"));
        }
    }

    /// Appends markup that is already well-formed (built by this crate, never user text).
    pub(crate) fn raw(&mut self, markup: &str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// The document, or the first value that XML cannot carry.
    pub fn finish(self) -> Result<String, EwsError> {
        match self.invalid {
            Some(err) => Err(err),
            None => Ok(self.out),
        }
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            self.escape(key, value, true);
            self.out.push('"');
        }
    }

    fn escape(&mut self, field: &str, text: &str, attribute: bool) {
        let mut rest = text;
        while let Some(pos) = rest.find(|c: char| needs_escape(c, attribute)) {
            self.out.push_str(&rest[..pos]);
            let c = rest[pos..].chars().next().unwrap_or('\0');
            match c {
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                '&' => self.out.push_str("&amp;"),
                '"' => self.out.push_str("&quot;"),
                // Attribute values are normalised by parsers; references keep them exact.
                '\t' | '\n' | '\r' => {
                    let _ = write!(self.out, "&#x{:X};", u32::from(c));
                }
                _ => self.reject(
                    field,
                    format!(
                        "contains the control character U+{:04X}, which XML cannot carry",
                        u32::from(c)
                    ),
                ),
            }
            rest = &rest[pos + c.len_utf8()..];
        }
        self.out.push_str(rest);
    }
}

fn needs_escape(c: char, attribute: bool) -> bool {
    match c {
        // A literal CR would be turned into LF by the reader; a reference keeps it.
        '<' | '>' | '&' | '\r' => true,
        '"' | '\t' | '\n' => attribute,
        _ => !is_xml_char(c),
    }
}

/// Whether XML 1.0 allows `c` in a document at all.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_text_and_attributes() {
        let mut w = XmlWriter::new();
        w.text_element_with("t:A", &[("Key", "a\"<b>&")], "x < y & ]]> z");
        assert_eq!(
            w.finish().unwrap(),
            "<t:A Key=\"a&quot;&lt;b&gt;&amp;\">x &lt; y &amp; ]]&gt; z</t:A>"
        );
    }

    #[test]
    fn keeps_carriage_returns_and_non_bmp_characters() {
        let mut w = XmlWriter::new();
        w.text_element("t:Body", "line\r\nnext 😀");
        assert_eq!(w.finish().unwrap(), "<t:Body>line&#xD;\nnext 😀</t:Body>");
    }

    #[test]
    fn reports_control_characters_with_the_field_name() {
        let mut w = XmlWriter::new();
        w.text_element("t:Subject", "bell\u{7}");
        let err = w.finish().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("Subject"), "{text}");
        assert!(text.contains("U+0007"), "{text}");
    }
}
