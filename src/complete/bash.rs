//! Bash's side of completion: which part of the line readline replaces, and the words that, put
//! there, give back exactly a candidate's value — and never run or expand anything, whatever the
//! quoting around the cursor.
//!
//! Readline replaces its "completion word" (from an unclosed `'`/`"` to the cursor, else from the
//! last unquoted `COMP_WORDBREAKS` character; bash passes it as `$2`) with the candidate, or with
//! the longest common prefix of several. With one candidate at the end of the line it then adds
//! the closing quote (unless the candidate already ends with it) and a space. A candidate that
//! starts with the open quote replaces that quote too, and one that ends with the quote found just
//! after the cursor replaces that one.
//!
//! The words written here:
//! - outside quotes: characters outside a small inert set are backslash-escaped (`FAILED\|ERROR`),
//!   so several candidates share no lone `'` as a common prefix;
//! - after an open quote: the quote is rewritten and every non-inert character steps out of it
//!   (`'FAILED'\|'ERROR'`), and the word closes its quote when the cursor is at the end of the line
//!   or just before the closing quote, else stays inside it, so the rest of the line reads as it
//!   did before;
//! - when the common prefix of several candidates would end inside one of those escapes, an extra
//!   candidate (that prefix cut at the escape) keeps readline from inserting half of it.
//!
//! Every non-inert character is written as a backslash escape, stepping out of the quote
//! believed open: whatever the shell's real state at that point (a continuation line, a command
//! substitution the engine cannot see), such a character is literal — a backslash protects it
//! outside quotes and inside double quotes (history expansion included), and inside single quotes
//! nothing is special. So a stored pattern can come out wrong in a state ee cannot see, but
//! never as code.

/// The part of the line readline replaces: its start (byte offset) and the quote open there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub start: usize,
    pub quote: Option<char>,
}

/// Readline's completion word for `line` with the cursor at byte `point`. `word` is bash's `$2`
/// (used for the start when no quote is open); without it the default word breaks are used.
pub fn region(line: &str, point: usize, word: Option<&str>) -> Region {
    let before = &line[..point];
    // Readline's scan for an unclosed quote: `\` escapes outside single quotes.
    let mut quote: Option<(char, usize)> = None;
    let mut pass_next = false;
    for (i, c) in before.char_indices() {
        if pass_next {
            pass_next = false;
            continue;
        }
        if c == '\\' && quote.map(|q| q.0) != Some('\'') {
            pass_next = true;
            continue;
        }
        match quote {
            Some((q, _)) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some((c, i)),
            None => {}
        }
    }
    if let Some((q, at)) = quote {
        return Region {
            start: at + 1,
            quote: Some(q),
        };
    }
    if let Some(w) = word.filter(|w| before.ends_with(*w)) {
        return Region {
            start: point - w.len(),
            quote: None,
        };
    }
    // The last word break that is not quoted (bash's char_is_quoted).
    let quoted = quoted_mask(before);
    let start = before
        .char_indices()
        .rev()
        .find(|&(i, c)| " \t\n\"'><=;|&(:".contains(c) && !quoted[i])
        .map_or(0, |(i, c)| i + c.len_utf8());
    Region { start, quote: None }
}

/// For each byte of `s`: is it quoted (inside quotes, quotes included, or after a backslash)?
fn quoted_mask(s: &str) -> Vec<bool> {
    let mut m = vec![false; s.len()];
    let mut quote: Option<(char, usize)> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            m[i] = true;
            continue;
        }
        match quote {
            Some((q, open)) => {
                if c == q {
                    m[open..i + 1].iter_mut().for_each(|b| *b = true);
                    quote = None;
                } else if q == '"' && c == '\\' {
                    escaped = true;
                }
            }
            None if c == '\'' || c == '"' => quote = Some((c, i)),
            None if c == '\\' => escaped = true,
            None => {}
        }
    }
    if let Some((_, open)) = quote {
        m[open..].iter_mut().for_each(|b| *b = true);
    }
    m
}

/// Does `word` hold an expansion or quoting the engine does not read (`$(`, `${`, `` ` ``, `$'`,
/// `$"`) outside single quotes?
fn has_expansion(word: &str) -> bool {
    let b = word.as_bytes();
    let (mut single, mut double, mut i) = (false, false, 0);
    while i < b.len() {
        match b[i] {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'\\' if !single => i += 1,
            b'`' if !single => return true,
            b'$' if !single && matches!(b.get(i + 1), Some(b'(' | b'{' | b'\'' | b'"')) => {
                return true
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Characters written as they are in every quoting state: nothing in bash gives them a meaning.
fn inert(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./,:+@%=-".contains(c) || !c.is_ascii()
}

/// The units of the word that replaces readline's region: each is inserted whole or not at all
/// (see `replies`). `rem` is the candidate's value from the region on.
fn units(rem: &str, quote: Option<char>, close: bool) -> Vec<String> {
    let mut u = Vec::new();
    if let Some(q) = quote {
        u.push(q.to_string());
    }
    for c in rem.chars() {
        u.push(match (inert(c), quote) {
            (true, _) => c.to_string(),
            (false, None) => format!("\\{c}"),
            (false, Some(q)) => format!("{q}\\{c}{q}"),
        });
    }
    if let (Some(q), true) = (quote, close) {
        u.push(q.to_string());
    }
    u
}

/// The words bash should insert for these candidates (full values of the word under the cursor).
/// `line`/`point`: the whole line and the cursor (bytes); `word_start`: where the shell word under
/// the cursor starts; `typed`: its value up to the cursor.
pub fn replies(
    line: &str,
    point: usize,
    region: Region,
    word_start: usize,
    typed: &str,
    candidates: &[String],
) -> Vec<String> {
    // Readline replaces from the open quote itself (our word starts with it).
    let from = match region.quote {
        Some(_) => region.start - 1,
        None => region.start,
    };
    if from < word_start || from > point {
        return Vec::new();
    }
    let before_region = &line[word_start..from];
    // What the engine cannot read reliably gets nothing (a safe answer, not a guess).
    let word_so_far = &line[word_start..point];
    if has_expansion(word_so_far) {
        return Vec::new();
    }
    let lead = super::line::split_line_value(crate::cli::Shell::Bash, before_region);
    let rest = &line[point..];
    let close = region
        .quote
        .is_some_and(|q| rest.is_empty() || rest.starts_with(q));
    let mut all: Vec<Vec<String>> = Vec::new();
    for v in candidates {
        if !v.starts_with(typed) || !v.starts_with(lead.as_str()) {
            continue;
        }
        all.push(units(&v[lead.len()..], region.quote, close));
    }
    let mut out: Vec<String> = all.iter().map(|u| u.concat()).collect();
    if out.len() > 1 {
        // Readline inserts the common prefix: keep it from ending inside a unit.
        let lcd = out.iter().skip(1).fold(out[0].len(), |n, s| {
            out[0]
                .bytes()
                .zip(s.bytes())
                .take(n)
                .take_while(|(a, b)| a == b)
                .count()
        });
        let mut at = 0;
        for u in &all[0] {
            if at + u.len() > lcd {
                break;
            }
            at += u.len();
        }
        if at < lcd {
            out.push(out[0][..at].to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readline_regions() {
        let r = |l: &str, w: Option<&str>| region(l, l.len(), w);
        assert_eq!(
            r("ee -e 'FA", None),
            Region {
                start: 7,
                quote: Some('\'')
            }
        );
        assert_eq!(r("ee -e 'a'b", None).start, 6);
        assert_eq!(r("ee -e a=b:c", None).start, 10);
        assert_eq!(r("ee -e a\\:c", None).start, 6);
        assert_eq!(r("ee -e \"a'b", None).quote, Some('"'));
        assert_eq!(r("ee -e 'a\\", None).quote, Some('\''));
        assert_eq!(r("ee -e x", Some("x")).start, 6);
    }

    #[test]
    fn units_are_literal() {
        assert_eq!(units("a|b", None, false).concat(), r"a\|b");
        assert_eq!(units("a|b", Some('\''), true).concat(), r"'a'\|'b'");
        assert_eq!(units("a$", Some('"'), true).concat(), r#""a"\$"""#);
    }

    #[test]
    fn common_prefix_never_ends_inside_an_escape() {
        let v = vec!["$(x)".to_string(), "!!".to_string()];
        let out = replies("ee -e ", 6, region("ee -e ", 6, Some("")), 6, "", &v);
        assert_eq!(out, [r"\$\(x\)", r"\!\!", ""]);
    }
}
