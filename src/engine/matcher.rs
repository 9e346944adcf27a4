//! Compiled pattern sets and the classification of one line.
//!
//! Owns: building `regex::bytes` regexes from the user's patterns and flags (`-i -w -x -v`), the
//! combined "any interesting line" regex used to search whole buffers at once, per-line
//! classification (exclude → error → success → main → observe), and ANSI escape stripping.
//! Knows nothing about processes, streams or time.
//!
//! Two engines: the `regex` crate (the default, linear time) and, with `-P`, PCRE2 with its JIT
//! (look-around, backreferences). PCRE2 backtracks, so every `-P` pattern carries a match limit
//! ([`PCRE_MATCH_LIMIT`]); a line that hits it is a run error (exit 3), reported once by
//! [`take_pcre_failure`].

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};

/// The backtracking bound of `-P` patterns: PCRE2's match limit (`(*LIMIT_MATCH=…)`), the number
/// of internal match-function calls one search may make. About 20-30 ms of work on one line.
pub const PCRE_MATCH_LIMIT: u32 = 1_000_000;

/// The first `-P` search that failed (backtracking limit): one ee process is one run, so the
/// failure is process-wide; the engine stops the run when it is set.
static PCRE_FAILURE: OnceLock<String> = OnceLock::new();

/// The message of the first `-P` search that failed, the first time it is asked for after the
/// failure (so it is reported once).
pub fn take_pcre_failure() -> Option<&'static str> {
    use std::sync::atomic::{AtomicBool, Ordering};
    static TAKEN: AtomicBool = AtomicBool::new(false);
    let msg = PCRE_FAILURE.get()?;
    (!TAKEN.swap(true, Ordering::Relaxed)).then_some(msg.as_str())
}

/// A compiled regex of either engine.
#[derive(Debug, Clone)]
pub enum Re {
    Rust(Regex),
    Pcre(Box<pcre2::bytes::Regex>),
}

impl Re {
    /// The first match at or after `at`, as a byte span.
    #[inline]
    pub fn find_at(&self, hay: &[u8], at: usize) -> Option<(usize, usize)> {
        match self {
            Re::Rust(re) => re.find_at(hay, at).map(|m| (m.start(), m.end())),
            Re::Pcre(re) => match re.find_at(hay, at) {
                Ok(m) => m.map(|m| (m.start(), m.end())),
                Err(e) => {
                    pcre_failed(re.as_str(), &e);
                    None
                }
            },
        }
    }

    #[inline]
    pub fn find(&self, hay: &[u8]) -> Option<(usize, usize)> {
        self.find_at(hay, 0)
    }

    #[inline]
    pub fn is_match(&self, hay: &[u8]) -> bool {
        match self {
            Re::Rust(re) => re.is_match(hay),
            Re::Pcre(_) => self.find(hay).is_some(),
        }
    }
}

fn pcre_failed(pattern: &str, e: &pcre2::Error) {
    let pattern = pattern
        .strip_prefix(&format!("(*LIMIT_MATCH={PCRE_MATCH_LIMIT})"))
        .unwrap_or(pattern);
    let pattern = pattern
        .strip_prefix("(?:")
        .and_then(|p| p.strip_suffix(')'))
        .filter(|p| !p.contains("(?:"))
        .unwrap_or(pattern);
    let msg = e.to_string();
    let what = if msg.contains("limit") {
        format!("hit the backtracking limit ({PCRE_MATCH_LIMIT} steps) on one line")
    } else {
        format!("failed on one line: {}", one_line(&msg))
    };
    let _ = PCRE_FAILURE.set(format!(
        "-P pattern '{pattern}' {what}; make it less ambiguous (nested repetition, .* before a backreference)"
    ));
}

/// What a line was classified as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The main pattern matched (or, with `-v`, did not match).
    Match,
    /// A `--success-pattern` matched.
    Success,
    /// An `--error-pattern` matched.
    Error,
    /// No pattern of the user's matched but the line looks like an error (observation lexicon).
    Observed,
}

/// Every class with its name as reported and stored (`kind` in `--json`, in the database and in
/// `--test-pattern`): the one table both directions read, in declaration order.
const CLASS_NAMES: [(Class, &str); 4] = [
    (Class::Match, "match"),
    (Class::Success, "success"),
    (Class::Error, "error"),
    (Class::Observed, "observed"),
];

impl Class {
    pub fn as_str(self) -> &'static str {
        CLASS_NAMES[self as usize].1
    }

    /// The class named `name` (as [`Class::as_str`] spells it).
    pub fn from_name(name: &str) -> Option<Class> {
        CLASS_NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(c, _)| *c)
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Class {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The user's patterns and flags, before compilation.
#[derive(Debug, Clone, Default)]
pub struct PatternSpec {
    pub main: Option<String>,
    pub success: Vec<String>,
    pub error: Vec<String>,
    pub exclude: Vec<String>,
    /// Error-like lexicon watched (but never deciding) when no pattern is applied.
    pub observe: Vec<String>,
    pub ignore_case: bool,
    pub invert: bool,
    pub word: bool,
    pub line: bool,
    /// `-P`: main, success, error and exclude patterns are PCRE2 patterns.
    pub pcre: bool,
}

impl PatternSpec {
    /// True when some pattern can decide the outcome.
    pub fn decides(&self) -> bool {
        self.main.is_some() || !self.success.is_empty() || !self.error.is_empty()
    }
}

/// A compiled pattern with its source text, for reports.
#[derive(Debug, Clone)]
pub struct Pat {
    pub source: String,
    pub re: Re,
}

/// An observation pattern, compiled on first use (`(?i-u:…)`).
#[derive(Debug, Clone)]
pub struct LazyPat {
    pub source: String,
    re: OnceLock<Option<Regex>>,
}

impl LazyPat {
    fn get(&self) -> Option<&Regex> {
        self.re
            .get_or_init(|| {
                let p = &self.source;
                build(p, &format!("(?i-u:{p})"), false)
                    .or_else(|_| build(p, &format!("(?i:{p})"), false))
                    .ok()
            })
            .as_ref()
    }
}

/// Error compiling a pattern: a one-line message.
#[derive(Debug)]
pub struct PatternError(pub String);

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The compiled matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub main: Option<Pat>,
    pub success: Vec<Pat>,
    pub error: Vec<Pat>,
    pub exclude: Vec<Pat>,
    pub observe: Vec<LazyPat>,
    pub invert: bool,
    /// Regex matching any line that may be interesting (main/success/error/observe); `None` when
    /// nothing is searched or when every line must be looked at (`-v`).
    any: Option<Any>,
    /// Source of the regex of the text to highlight: the deciding patterns (none with `-v`).
    hl_source: Option<(String, bool)>,
}

/// The combined search of a matcher.
#[derive(Debug, Clone)]
enum Any {
    /// Built with the matcher (`-P`).
    Ready(Re),
    /// Rust syntax, built at first use: the deciding patterns (each already compiled alone, so
    /// their syntax is known good), then the watched lexicon.
    Lazy {
        deciding: Vec<String>,
        observe: Vec<String>,
        re: OnceLock<Re>,
    },
}

/// Build a lazy combined search. The lexicon is ASCII words, compiled without Unicode classes
/// (a fraction of the time); a watched pattern that needs Unicode (`\p{Greek}`) falls back to
/// Unicode mode. Should even that not build (its size limit; every part compiled alone), a
/// search that stops at every line start makes each line be classified on its own: slower,
/// never wrong.
fn combine(deciding: &[String], observe: &[String]) -> Re {
    let join = |flag: &str| {
        deciding
            .iter()
            .cloned()
            .chain(observe.iter().map(|p| format!("({flag}:{p})")))
            .collect::<Vec<_>>()
            .join("|")
    };
    let re = build("(combined)", &join("?i-u"), false)
        .or_else(|_| build("(combined)", &join("?i"), false))
        .or_else(|_| build("(every line)", "(?m)^", false));
    match re {
        Ok(re) => Re::Rust(re),
        Err(e) => unreachable!("`(?m)^` always compiles: {}", e.0),
    }
}

/// Longest line prefix that is matched; the rest of a longer line is passed through unmatched.
pub const MAX_LINE: usize = 1 << 20;

fn wrap(p: &str, spec: &PatternSpec, deciding: bool) -> String {
    let mut s = format!("(?:{p})");
    if deciding && spec.word {
        s = format!(r"\b{s}\b");
    }
    if deciding && spec.line {
        s = format!("^{s}$");
    }
    s
}

fn build(src: &str, wrapped: &str, ci: bool) -> Result<Regex, PatternError> {
    RegexBuilder::new(wrapped)
        .case_insensitive(ci)
        .multi_line(true)
        .crlf(true)
        .size_limit(64 << 20)
        .build()
        .map_err(|e| {
            let why = one_line(&e.to_string());
            let hint = if why.contains("look-around") || why.contains("backreferences") {
                " (-P/--pcre accepts them)"
            } else {
                ""
            };
            PatternError(format!("invalid pattern '{src}': {why}{hint}"))
        })
}

/// Compile a `-P` pattern with PCRE2 (JIT when available), bounded by [`PCRE_MATCH_LIMIT`].
fn build_pcre(src: &str, wrapped: &str, ci: bool) -> Result<Re, PatternError> {
    pcre2::bytes::RegexBuilder::new()
        .caseless(ci)
        .multi_line(true)
        .crlf(true)
        .jit_if_available(true)
        .max_jit_stack_size(Some(1 << 20))
        .build(&format!("(*LIMIT_MATCH={PCRE_MATCH_LIMIT}){wrapped}"))
        .map(|re| Re::Pcre(Box::new(re)))
        .map_err(|e| {
            // "PCRE2: error compiling pattern at offset N: why"; the offset counts our prefix.
            let msg = e.to_string();
            let why = msg.rsplit(": ").next().unwrap_or(&msg).to_string();
            PatternError(format!("invalid pattern '{src}' (-P): {}", one_line(&why)))
        })
}

/// The regex crate's messages span several lines (with a caret diagram); keep the last line.
fn one_line(msg: &str) -> String {
    msg.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(msg)
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

/// Compile a [`Matcher::highlight_source`].
pub fn compile_highlight(src: &str, pcre: bool) -> Option<Re> {
    if pcre {
        build_pcre(src, src, false).ok()
    } else {
        build(src, src, false).ok().map(Re::Rust)
    }
}

/// Compile a standalone regex (stuck/progress patterns), with the same one-line errors.
pub fn compile_plain(src: &str) -> Result<Regex, PatternError> {
    build(src, src, false)
}

impl Matcher {
    pub fn new(spec: &PatternSpec) -> Result<Matcher, PatternError> {
        let ci = spec.ignore_case;
        let comp = |p: &String, deciding: bool, ci: bool| -> Result<Pat, PatternError> {
            let wrapped = wrap(p, spec, deciding);
            Ok(Pat {
                source: p.clone(),
                re: if spec.pcre {
                    build_pcre(p, &wrapped, ci)?
                } else {
                    Re::Rust(build(p, &wrapped, ci)?)
                },
            })
        };
        let main = spec.main.as_ref().map(|p| comp(p, true, ci)).transpose()?;
        let success = spec
            .success
            .iter()
            .map(|p| comp(p, true, ci))
            .collect::<Result<Vec<_>, _>>()?;
        let error = spec
            .error
            .iter()
            .map(|p| comp(p, true, ci))
            .collect::<Result<Vec<_>, _>>()?;
        let exclude = spec
            .exclude
            .iter()
            .map(|p| comp(p, false, ci))
            .collect::<Result<Vec<_>, _>>()?;
        // The observation lexicon is ASCII words: compiled without Unicode classes it builds in
        // a fraction of the time, and each word's own regex is built only when a line first hits
        // the combined search (this is on every `ee run` start).
        let observe: Vec<LazyPat> = spec
            .observe
            .iter()
            .map(|p| LazyPat {
                source: p.clone(),
                re: OnceLock::new(),
            })
            .collect();
        let any = if spec.invert && main.is_some() {
            None
        } else if spec.pcre {
            // The observation lexicon is Rust syntax: with it every line is classified one by one.
            let parts: Vec<String> = main
                .iter()
                .chain(&success)
                .chain(&error)
                .map(|p| wrap(&p.source, spec, true))
                .collect();
            if parts.is_empty() || !observe.is_empty() {
                None
            } else {
                Some(Any::Ready(build_pcre("(combined)", &parts.join("|"), ci)?))
            }
        } else {
            let flag = if ci { "(?i)" } else { "" };
            let deciding: Vec<String> = main
                .iter()
                .chain(&success)
                .chain(&error)
                .map(|p| format!("(?:{flag}{})", wrap(&p.source, spec, true)))
                .collect();
            if deciding.is_empty() && observe.is_empty() {
                None
            } else {
                // Built at the first output: a command that prints nothing (most of what a
                // routed `true`-like command does) never pays for the lexicon's regex.
                Some(Any::Lazy {
                    deciding,
                    observe: observe.iter().map(|p| p.source.clone()).collect(),
                    re: OnceLock::new(),
                })
            }
        };
        let deciding: Vec<String> = main
            .iter()
            .chain(&success)
            .chain(&error)
            .map(|p| wrap(&p.source, spec, true))
            .collect();
        let hl_source = (!deciding.is_empty() && !spec.invert).then(|| {
            let flag = if ci { "(?i)" } else { "" };
            (format!("{flag}(?:{})", deciding.join("|")), spec.pcre)
        });
        Ok(Matcher {
            main,
            success,
            error,
            exclude,
            observe,
            invert: spec.invert,
            any,
            hl_source,
        })
    }

    /// The source of the regex of the text to highlight (`--color`) and whether it is `-P`;
    /// compiled by [`compile_highlight`] only when highlighting applies.
    pub fn highlight_source(&self) -> Option<(String, bool)> {
        self.hl_source.clone()
    }

    /// The `--exclude` regexes.
    pub fn exclude_res(&self) -> Vec<Re> {
        self.exclude.iter().map(|p| p.re.clone()).collect()
    }

    /// True when nothing needs to be searched at all.
    pub fn is_empty(&self) -> bool {
        self.main.is_none()
            && self.success.is_empty()
            && self.error.is_empty()
            && self.observe.is_empty()
    }

    /// True when every line must be classified one by one (no combined search possible).
    pub fn needs_every_line(&self) -> bool {
        self.any.is_none() && !self.is_empty()
    }

    /// The combined regex for searching whole buffers, if any (built on the first call).
    pub fn any(&self) -> Option<&Re> {
        match self.any.as_ref()? {
            Any::Ready(re) => Some(re),
            Any::Lazy {
                deciding,
                observe,
                re,
            } => Some(re.get_or_init(|| combine(deciding, observe))),
        }
    }

    /// Does an `--exclude` pattern match this line?
    pub fn is_excluded(&self, line: &[u8]) -> bool {
        self.exclude.iter().any(|p| p.re.is_match(line))
    }

    /// Classify one line (without its line terminator, ANSI already stripped). Returns the class
    /// and the span of the matched text within the line.
    pub fn classify(&self, line: &[u8]) -> Option<(Class, usize, usize, &str)> {
        if self.is_excluded(line) {
            return None;
        }
        for p in &self.error {
            if let Some((s, e)) = p.re.find(line) {
                return Some((Class::Error, s, e, &p.source));
            }
        }
        for p in &self.success {
            if let Some((s, e)) = p.re.find(line) {
                return Some((Class::Success, s, e, &p.source));
            }
        }
        if let Some(p) = &self.main {
            match (p.re.find(line), self.invert) {
                (Some((s, e)), false) => return Some((Class::Match, s, e, &p.source)),
                (None, true) => return Some((Class::Match, 0, line.len(), &p.source)),
                _ => {}
            }
        }
        for p in &self.observe {
            if let Some(m) = p.get().and_then(|re| re.find(line)) {
                return Some((Class::Observed, m.start(), m.end(), &p.source));
            }
        }
        None
    }
}

/// Remove ANSI escape sequences (CSI, OSC, and two-byte escapes) from a line.
pub fn strip_ansi(line: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(0x1b, line).is_none() {
        return Cow::Borrowed(line);
    }
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b != 0x1b {
            out.push(b);
            i += 1;
            continue;
        }
        i += 1;
        match line.get(i) {
            Some(b'[') => {
                // CSI: parameters and intermediates, then one final byte 0x40..=0x7e.
                i += 1;
                while i < line.len() && !(0x40..=0x7e).contains(&line[i]) {
                    i += 1;
                }
                i += 1;
            }
            Some(b']') => {
                // OSC: until BEL or ESC \.
                i += 1;
                while i < line.len() {
                    if line[i] == 0x07 {
                        i += 1;
                        break;
                    }
                    if line[i] == 0x1b && line.get(i + 1) == Some(&b'\\') {
                        i += 2;
                        break;
                    }
                    i += 1;
                }
            }
            // Charset designation, three bytes: ESC ( B (part of tput sgr0).
            Some(b'(' | b')' | b'*' | b'+' | b'-' | b'.' | b'/') => i += 2,
            Some(_) => i += 1,
            None => {}
        }
    }
    Cow::Owned(out)
}

/// Remove colour/cursor escapes from output bound for a non-terminal, keeping everything else.
/// Only complete CSI and OSC sequences are removed.
pub fn strip_ansi_stream(buf: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&strip_ansi(buf));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_round_trip() {
        for (i, (c, name)) in CLASS_NAMES.iter().enumerate() {
            assert_eq!(*c as usize, i, "CLASS_NAMES is in declaration order");
            assert_eq!(c.as_str(), *name);
            assert_eq!(Class::from_name(name), Some(*c));
        }
        assert_eq!(Class::from_name("nonsense"), None);
    }

    fn spec(main: &str) -> PatternSpec {
        PatternSpec {
            main: Some(main.into()),
            ..Default::default()
        }
    }

    #[test]
    fn classify_order_and_flags() {
        let mut s = spec("fail");
        s.error.push("boom".into());
        s.exclude.push("ignore".into());
        let m = Matcher::new(&s).unwrap();
        assert_eq!(m.classify(b"a fail").unwrap().0, Class::Match);
        assert_eq!(m.classify(b"boom fail").unwrap().0, Class::Error);
        assert!(m.classify(b"fail ignore").is_none());
        s.word = true;
        let m = Matcher::new(&s).unwrap();
        assert!(m.classify(b"failure").is_none());
        s.line = true;
        let m = Matcher::new(&s).unwrap();
        assert!(m.classify(b"a fail").is_none());
        assert!(m.classify(b"fail\r").is_some());
    }

    #[test]
    fn invert_and_errors() {
        let mut s = spec("ok");
        s.invert = true;
        let m = Matcher::new(&s).unwrap();
        assert!(m.needs_every_line());
        assert!(m.classify(b"ok").is_none());
        assert!(m.classify(b"bad").is_some());
        let e = Matcher::new(&spec("x(")).unwrap_err();
        assert!(!e.0.contains('\n'), "{}", e.0);
        assert!(e.0.starts_with("invalid pattern 'x('"), "{}", e.0);
    }

    #[test]
    fn observation_is_case_insensitive_and_unicode_patterns_still_compile() {
        let s = PatternSpec {
            observe: vec![r"\bpanic\b".into(), r"\p{Greek}+ fail".into()],
            ..Default::default()
        };
        let m = Matcher::new(&s).unwrap();
        assert_eq!(m.classify(b"thread PANIC here").unwrap().0, Class::Observed);
        assert_eq!(
            m.classify("\u{3b1}\u{3b2} FAIL".as_bytes()).unwrap().3,
            r"\p{Greek}+ fail"
        );
        assert!(m.classify(b"all good").is_none());
    }

    #[test]
    fn ansi() {
        assert_eq!(&*strip_ansi(b"\x1b[31mFAILED\x1b[0m x"), b"FAILED x");
        assert_eq!(&*strip_ansi(b"\x1b]0;title\x07hi"), b"hi");
        assert_eq!(&*strip_ansi(b"plain"), b"plain");
        assert_eq!(
            &*strip_ansi(b"test x ... FAILED\x1b(B\x1b[m"),
            b"test x ... FAILED"
        );
    }
}
