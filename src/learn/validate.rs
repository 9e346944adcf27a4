//! Validation of learned data that ee did not compute itself in this process: documents from
//! `ee telemetry import-learned`, rows read back from the database at lookup (a file anyone with
//! write access may have edited), and rows pulled from a team server. Pure functions on plain
//! values, so every reader applies the same rules:
//!
//! - counts are integers in `0..=MAX_COUNT`, added with saturation;
//! - runtime statistics are finite, `0 ≤ mean ≤ MAX_SECONDS`, `0 ≤ m2` with a standard deviation
//!   within `MAX_SECONDS` — otherwise the statistics are dropped, never used;
//! - a pinned timeout is finite and within `MIN_PIN_TIMEOUT..=MAX_SECONDS`;
//! - scopes and patterns are short, free of control characters; a pattern compiles within
//!   `REGEX_SIZE_LIMIT` and does not match ordinary lines (`.`, `\w`, `^`, `x*` would stop
//!   every run at its first line).

use regex::{RegexBuilder, RegexSetBuilder};

/// Largest count kept (runs, true/false positives, samples…): far beyond any real history, far
/// below where `i64` arithmetic or SQLite's integer-to-real switch could happen.
pub const MAX_COUNT: i64 = 1_000_000_000;
/// Largest runtime, quiet gap or timeout accepted, in seconds (30 days).
pub const MAX_SECONDS: f64 = 30.0 * 86_400.0;
/// Shortest pinned timeout accepted from outside (seconds): a 0 s pin stops every run.
pub const MIN_PIN_TIMEOUT: f64 = 1.0;
/// Shortest pinned timeout used when read back from the database (seconds).
pub const MIN_READ_TIMEOUT: f64 = 0.1;
/// Longest pattern accepted (bytes).
pub const MAX_PATTERN_LEN: usize = 512;
/// Longest scope name accepted (bytes).
pub const MAX_SCOPE_LEN: usize = 300;
/// Compiled size limits of one pattern (program and lazy DFA), bounding compile time and memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Most pattern rows read per scope at lookup (the local caps are 40 mined + 8 user).
pub const MAX_ROWS_PER_SCOPE: usize = 48;

/// Ordinary lines that no deciding pattern may match.
const ORDINARY: &[&str] = &[
    "",
    " ",
    "a",
    "x",
    "0",
    "hello world",
    "total 0",
    "README.md",
    "git version 2.43.0",
    "Compiling foo v0.1.0",
];

/// A count from outside: negative reads as 0, beyond `MAX_COUNT` as `MAX_COUNT`.
pub fn count(v: i64) -> u64 {
    v.clamp(0, MAX_COUNT) as u64
}

/// A count from outside, checked: `None` when out of range.
pub fn count_checked(v: i64) -> Option<i64> {
    (0..=MAX_COUNT).contains(&v).then_some(v)
}

/// Add two counts without overflow, capped at `MAX_COUNT`.
pub fn add_counts(a: i64, b: i64) -> i64 {
    a.clamp(0, MAX_COUNT)
        .saturating_add(b.clamp(0, MAX_COUNT))
        .min(MAX_COUNT)
}

/// Running statistics (count, mean, sum of squared deviations) from outside: `Some` with the
/// count capped when usable, `None` when any value is not finite or out of range (the caller
/// then treats the statistics as empty).
pub fn moments(n: i64, mean: f64, m2: f64) -> Option<(u64, f64, f64)> {
    let n = count(n);
    if n == 0 {
        return Some((0, 0.0, 0.0));
    }
    if !mean.is_finite() || !m2.is_finite() || !(0.0..=MAX_SECONDS).contains(&mean) || m2 < 0.0 {
        return None;
    }
    // Sample variance m2 / (n - 1) must keep the standard deviation within MAX_SECONDS.
    if n > 1 && m2 / (n - 1) as f64 > MAX_SECONDS * MAX_SECONDS {
        return None;
    }
    if n == 1 && m2 != 0.0 {
        return None;
    }
    Some((n, mean, m2))
}

/// A timeout or duration from outside, in seconds: finite, within `min..=MAX_SECONDS`.
pub fn seconds(v: f64, min: f64) -> Option<f64> {
    (v.is_finite() && v >= min && v <= MAX_SECONDS).then_some(v)
}

/// A pinned timeout from outside.
pub fn pin_timeout(v: f64) -> Option<f64> {
    seconds(v, MIN_PIN_TIMEOUT)
}

/// Why a text cannot be stored or shown as a name: empty, too long, or with control characters.
fn plain_text(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("empty {what}"));
    }
    if s.len() > max {
        return Err(format!("{what} longer than {max} bytes"));
    }
    if s.chars().any(char::is_control) {
        return Err(format!(
            "{what} with control characters: {}",
            crate::escape::escape(s)
        ));
    }
    Ok(())
}

/// A scope name: `cmd:`, `prog:` or `type:` followed by a plain text.
pub fn scope(s: &str) -> Result<(), String> {
    plain_text("scope", s, MAX_SCOPE_LEN)?;
    if ["cmd:", "prog:", "type:"].iter().any(|p| s.starts_with(p)) {
        Ok(())
    } else {
        Err(format!("unknown scope {}", crate::escape::escape(s)))
    }
}

/// A pattern's text, cheaply (no compilation): for every row read at lookup.
pub fn pattern_text(p: &str) -> Result<(), String> {
    plain_text("pattern", p, MAX_PATTERN_LEN)
}

/// Most "weight" of a pattern (see [`weight`]): `\w+\s+\w+\s+\w+:` weighs about 2,400,
/// `\w{100}` about 77,000.
pub const MAX_WEIGHT: u64 = 4_000;

/// What compiling a pattern will cost, estimated from its syntax tree without compiling it: class
/// ranges and literal bytes, multiplied by the copies a counted repetition makes.
pub fn weight(h: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(l) => l.0.len() as u64,
        HirKind::Class(Class::Unicode(c)) => c.ranges().len() as u64,
        HirKind::Class(Class::Bytes(c)) => c.ranges().len() as u64,
        HirKind::Repetition(r) => {
            let copies = r.max.unwrap_or(r.min).max(1);
            weight(&r.sub).saturating_mul(u64::from(copies))
        }
        HirKind::Capture(c) => weight(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => {
            v.iter().map(weight).fold(0u64, u64::saturating_add)
        }
    }
}

/// A pattern, fully: its text, its estimated compile cost, compiled within the size limits,
/// and not matching ordinary lines. For imported patterns and for the few a lookup applies.
pub fn pattern(p: &str) -> Result<(), String> {
    syntax(p)?;
    let re = RegexBuilder::new(p)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(64)
        .build()
        .map_err(|e| invalid(p, &e.to_string()))?;
    match ORDINARY.iter().find(|l| re.is_match(l)) {
        Some(l) => Err(ordinary(p, l)),
        None => Ok(()),
    }
}

/// Several patterns judged as [`pattern`] judges each, for about the cost of one compile: those
/// whose text and syntax pass are compiled together in one set (within the size limits of one
/// pattern, so each would compile alone); should the set not build, each is judged alone.
pub fn patterns(ps: &[&str]) -> Vec<Result<(), String>> {
    let mut out: Vec<Result<(), String>> = ps.iter().map(|p| syntax(p)).collect();
    let passed: Vec<usize> = (0..ps.len()).filter(|&i| out[i].is_ok()).collect();
    if passed.is_empty() {
        return out;
    }
    let set = RegexSetBuilder::new(passed.iter().map(|&i| ps[i]))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(64)
        .build();
    let Ok(set) = set else {
        for &i in &passed {
            out[i] = pattern(ps[i]);
        }
        return out;
    };
    // Each pattern's first ordinary line, in `ORDINARY` order, as `pattern` reports it.
    for l in ORDINARY {
        for k in set.matches(l).iter() {
            let i = passed[k];
            if out[i].is_ok() {
                out[i] = Err(ordinary(ps[i], l));
            }
        }
    }
    out
}

/// A pattern's text and syntax tree, without compiling: the text is plain, it parses, and its
/// estimated compile cost ([`weight`]) is within `MAX_WEIGHT`.
fn syntax(p: &str) -> Result<(), String> {
    pattern_text(p)?;
    let hir = regex_syntax::ParserBuilder::new()
        .nest_limit(64)
        .build()
        .parse(p)
        .map_err(|e| invalid(p, &e.to_string()))?;
    if weight(&hir) > MAX_WEIGHT {
        return Err(format!(
            "pattern {} is too costly to compile",
            crate::escape::escape(p)
        ));
    }
    Ok(())
}

/// Why a pattern that does not parse or compile is refused: the last line of the error (the
/// regex crates put the pattern with a caret above it).
fn invalid(p: &str, error: &str) -> String {
    let last = error.lines().last().unwrap_or("").trim();
    format!(
        "invalid pattern {}: {}",
        crate::escape::escape(p),
        crate::escape::escape(last)
    )
}

/// Why a pattern that matches the ordinary line `l` is refused.
fn ordinary(p: &str, l: &str) -> String {
    format!(
        "pattern {} matches ordinary lines (like {l:?})",
        crate::escape::escape(p)
    )
}

/// A pattern's source label: `user`, `mined` or `profile:<name>`.
pub fn source(s: &str) -> Result<(), String> {
    plain_text("source", s, 100)?;
    if super::aggregates::Source::parse(s).is_some() {
        Ok(())
    } else {
        Err(format!(
            "unknown pattern source {}",
            crate::escape::escape(s)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate() {
        assert_eq!(count(-5), 0);
        assert_eq!(count(i64::MAX), MAX_COUNT as u64);
        assert_eq!(count(7), 7);
        assert_eq!(count_checked(i64::MAX), None);
        assert_eq!(count_checked(-1), None);
        assert_eq!(add_counts(i64::MAX, i64::MAX), MAX_COUNT);
        assert_eq!(add_counts(2, 3), 5);
        assert_eq!(add_counts(-2, 3), 3);
    }

    #[test]
    fn moments_in_range_only() {
        assert_eq!(moments(0, f64::NAN, 1e308), Some((0, 0.0, 0.0)));
        assert_eq!(moments(3, 1.5, 0.2), Some((3, 1.5, 0.2)));
        for (n, mean, m2) in [
            (3, -100.0, 0.0),
            (3, 1e300, 0.0),
            (3, 1.0, 1e308),
            (3, f64::NAN, 0.0),
            (3, 1.0, f64::INFINITY),
            (3, 1.0, -1.0),
            (1, 1.0, 5.0),
        ] {
            assert_eq!(moments(n, mean, m2), None, "{n} {mean} {m2}");
        }
        assert_eq!(
            moments(i64::MAX, 1.0, 0.0),
            Some((MAX_COUNT as u64, 1.0, 0.0))
        );
    }

    #[test]
    fn pinned_timeouts() {
        assert_eq!(pin_timeout(30.0), Some(30.0));
        for t in [0.0, -1.0, 1e300, f64::NAN, f64::INFINITY, 0.5] {
            assert_eq!(pin_timeout(t), None, "{t}");
        }
    }

    #[test]
    fn single_patterns() {
        for ok in [
            "^FAILED",
            r"error\[E\d+\]",
            "(?i)panicked at",
            "npm ERR!",
            r"\w+\s+\w+\s+\w+:",
            r"^FAILED\s+\S+\s+[0-9a-fA-F]+",
        ] {
            assert_eq!(pattern(ok), Ok(()), "{ok}");
        }
        for bad in [".", r"\w", "^", "x*", "", "(", "a\x1b[2Jb", "o"] {
            assert!(pattern(bad).is_err(), "{bad:?}");
        }
        assert!(pattern(&"a".repeat(MAX_PATTERN_LEN + 1)).is_err());
        // Compiles beyond the size limit are refused, quickly.
        let t = std::time::Instant::now();
        assert!(pattern(r"\w{1000}\w{1000}").is_err());
        assert!(pattern(r"FAILED\w{100}{100}{100}").is_err());
        assert!(pattern(r"FAILED(?:a{100}){100}").is_err());
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
        assert!(pattern_text("x\ny").is_err());
    }

    #[test]
    fn a_batch_is_judged_as_each_alone() {
        let mix = [
            "^FAILED",
            ".",
            r"error\[E\d+\]",
            "(",
            "x*",
            r"\w{1000}\w{1000}",
            "",
            "o",
            "^FAILED",
            r"^ERROR\s+case_1\s+\S+",
            "(?i)panicked at",
            "a\x1b[2Jb",
            r"^\d",
            "README",
        ];
        let each: Vec<Result<(), String>> = mix.iter().map(|p| pattern(p)).collect();
        assert_eq!(patterns(&mix), each);
        // Every kind of verdict is in the mix: the batch is compared on each.
        assert!(each.iter().filter(|r| r.is_ok()).count() >= 4, "{each:?}");
        assert!(each
            .iter()
            .any(|r| r.as_ref().is_err_and(|e| e.contains("ordinary"))));
        assert!(each
            .iter()
            .any(|r| r.as_ref().is_err_and(|e| e.contains("invalid"))));
        assert!(each
            .iter()
            .any(|r| r.as_ref().is_err_and(|e| e.contains("costly"))));
        // Only valid ones, none, one, and a set too large to build (judged one by one).
        let valid = ["^FAILED", r"error\[E\d+\]", "(?i)panicked at"];
        assert_eq!(patterns(&valid), vec![Ok(()); 3]);
        assert_eq!(patterns(&[]), Vec::<Result<(), String>>::new());
        assert_eq!(patterns(&["."]), vec![pattern(".")]);
        let big: Vec<String> = (0..200)
            .map(|i| format!(r"^E{i}\w{{20}}\s\S{{20}}"))
            .collect();
        let big: Vec<&str> = big.iter().map(String::as_str).collect();
        let each: Vec<Result<(), String>> = big.iter().map(|p| pattern(p)).collect();
        assert_eq!(patterns(&big), each);
    }

    #[test]
    fn scopes_and_sources() {
        assert!(scope("cmd:cargo test").is_ok());
        assert!(scope("type:test/python").is_ok());
        assert!(scope("cmd:x\x07").is_err());
        assert!(scope("other:x").is_err());
        assert!(scope(&format!("cmd:{}", "x".repeat(400))).is_err());
        assert!(source("profile:pytest").is_ok());
        assert!(source("mined").is_ok());
        assert!(source("evil").is_err());
    }
}
