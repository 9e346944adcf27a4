//! Control characters made visible: every place ee prints stored or user-supplied text (patterns,
//! command lines, scopes, file names, values from the environment or an imported document) goes
//! through [`escape`], so an ESC, BEL or C1 byte in that text can never drive the terminal.

use std::borrow::Cow;

/// Whether a character is a control character a terminal may act on: C0 (including TAB, CR and
/// LF), DEL, and the C1 range (U+0080–U+009F, e.g. the one-byte CSI U+009B).
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// The text with each control character written as a visible escape (`\e`, `\a`, `\n`, `\t`,
/// `\r`, `\x7f`, `\u{9b}`); anything else, backslashes included, is unchanged. Borrowed when
/// there is nothing to escape.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\x1b' => out.push_str("\\e"),
            '\x07' => out.push_str("\\a"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && is_control(c) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if is_control(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`escape`] for a text of several lines ee composed itself: its line breaks stay, every other
/// control character (from the stored or user-supplied parts) becomes visible.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_control(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&escape(line));
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible() {
        assert_eq!(escape("plain \\d+ ✓"), "plain \\d+ ✓");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b[31mred\x07"), "a\\e[31mred\\a");
        assert_eq!(escape("x\ny\tz\r"), "x\\ny\\tz\\r");
        assert_eq!(escape("\x00\x7f\u{9b}2J"), "\\x00\\x7f\\u{9b}2J");
        assert_eq!(escape_lines("a\x1b[2J\nb\x07\n"), "a\\e[2J\nb\\a\n");
        for s in ["\x1b]0;title\x07", "\u{85}", "\x08\x0c"] {
            assert!(!escape(s).chars().any(is_control), "{s:?}");
        }
    }
}
