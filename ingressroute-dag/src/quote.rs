//! Go's `strconv.Quote`, which Contour's status messages use (`%q`).
//!
//! Go decides what to escape with `unicode.IsPrint`. Rust has no Unicode category
//! table in `std`, so this follows Go exactly for ASCII, and for other characters
//! escapes control characters, non-ASCII white space and the format characters that
//! appear in practice (zero-width and bidirectional marks, BOM). Unassigned code points,
//! which Go would also escape, are kept as they are.

use std::fmt::Write as _;

/// Quotes `s` the way Go's `strconv.Quote` (and so `fmt`'s `%q`) does: double quotes,
/// with `"`, `\` and non-printable characters escaped.
#[must_use]
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x1_0000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0x00AD
        | 0x0600..=0x0605
        | 0x061C
        | 0x06DD
        | 0x070F
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0xE000..=0xF8FF
        | 0xFEFF
        | 0xFFF9..=0xFFFB
        | 0xF_0000..=0x10_FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn plain_text_is_wrapped_in_double_quotes() {
        assert_eq!(go_quote("/foo"), r#""/foo""#);
        assert_eq!(go_quote(""), r#""""#);
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(go_quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn control_characters_use_go_escapes() {
        assert_eq!(go_quote("a\nb\tc\r\u{7}\u{0}\u{7f}"), r#""a\nb\tc\r\a\x00\x7f""#);
    }

    #[test]
    fn printable_unicode_is_kept_and_invisible_unicode_is_escaped() {
        assert_eq!(go_quote("héllo 世界"), "\"héllo 世界\"");
        assert_eq!(go_quote("a\u{200b}b\u{a0}"), r#""a\u200bb\u00a0""#);
        assert_eq!(go_quote("\u{f0000}"), r#""\U000f0000""#);
    }
}
