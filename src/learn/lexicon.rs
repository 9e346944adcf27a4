//! The observation lexicon (error-like lines watched, never deciding, when ee run applies no
//! pattern of its own) and the generalization of such lines into candidate patterns.

use regex::Regex;

/// The lexicon, matched case-insensitively (ASCII: `(?-u)` keeps it cheap to compile, as it is
/// compiled on every `ee run`). Documented in the README (`learning`): the words error (also
/// `error[E0308]`, and any word ending in `error` or `exception`: `AssertionError`), exception,
/// fail/fails/failed/failure/failures, fatal, panic/panics/panicked, traceback, aborted; pytest's
/// `E   ` lines, `npm ERR!` and `segmentation fault`.
pub const LEXICON: &[&str] = &[
    r"(?-u)\b(\w*error|\w*exception|fail|fails|failed|failure|failures|fatal|panic|panics|panicked|traceback|aborted)\b",
    r"(?-u)^E {3}|npm ERR!|\bsegmentation fault\b",
];

/// Words whose token anchors a generalized pattern (lower case).
const ANCHORS: &[&str] = &[
    "error",
    "fail",
    "fails",
    "failed",
    "failure",
    "failures",
    "fatal",
    "panic",
    "panics",
    "panicked",
    "exception",
    "traceback",
    "err!",
    "aborted",
];

/// The lexicon as the owned pattern list a `PatternSpec` watches.
pub fn owned() -> Vec<String> {
    LEXICON.iter().map(|s| s.to_string()).collect()
}

/// The lexicon as one case-insensitive regex (for tests and generalization).
pub fn lexicon_regex() -> Regex {
    Regex::new(&format!("(?i){}", LEXICON.join("|"))).expect("static lexicon")
}

fn is_anchor(tok: &str) -> bool {
    let low = tok.to_ascii_lowercase();
    let core = low.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '!');
    if ANCHORS.contains(&core) {
        return true;
    }
    let word: String = low
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    ANCHORS.contains(&word.as_str())
        || (word.len() > 5 && (word.ends_with("error") || word.ends_with("exception")))
}

/// One token as a regex: numbers, hex ids and paths abstracted away, the rest escaped.
fn token_regex(tok: &str) -> String {
    // A word that could be a secret never becomes part of a stored, exported pattern.
    if tok.contains('/') || tok.contains('\\') || crate::redact::secret_like(tok) {
        return r"\S+".to_string();
    }
    let hexish = tok.len() >= 6
        && tok.chars().all(|c| c.is_ascii_hexdigit())
        && tok.chars().any(|c| c.is_ascii_digit());
    if hexish {
        return r"[0-9a-fA-F]+".to_string();
    }
    let mut out = String::new();
    let mut in_digits = false;
    for c in tok.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push_str(r"\d+");
            }
            in_digits = true;
            continue;
        }
        in_digits = false;
        let mut buf = [0u8; 4];
        out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
    }
    out
}

/// Candidate patterns generalized from one error-like line: the anchor word with up to two words
/// before it (short form), and the same plus one word after it (long form). Empty when the line
/// has no anchor word. Every candidate contains its anchor word literally, so the lexicon sees
/// every line a candidate can match.
pub fn generalize(line: &str) -> Vec<String> {
    let toks: Vec<&str> = line.split_whitespace().collect();
    let Some(at) = toks.iter().position(|t| is_anchor(t)) else {
        return Vec::new();
    };
    let from = at.saturating_sub(2);
    let join = |toks: &[&str]| {
        toks.iter()
            .map(|t| token_regex(t))
            .collect::<Vec<_>>()
            .join(r"\s+")
    };
    let anchored = |body: String| {
        if from == 0 && line.starts_with(toks[0]) {
            format!("^{body}")
        } else {
            body
        }
    };
    let mut out = vec![anchored(join(&toks[from..=at]))];
    if at + 1 < toks.len() {
        let long = anchored(join(&toks[from..=at + 1]));
        if !out.contains(&long) {
            out.push(long);
        }
    }
    out.retain(|p| p.len() <= 200 && Regex::new(p).is_ok());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_lines() {
        let re = lexicon_regex();
        for l in [
            "error: could not compile `x`",
            "error[E0308]: mismatched types",
            "FAILED test_x",
            "test a ... FAILED",
            "thread 'main' panicked at src/main.rs:3:5:",
            "E       assert 1 == 2",
            "npm ERR! code 1",
            "Traceback (most recent call last):",
            "AssertionError: boom",
            "Fatal: nope",
        ] {
            assert!(re.is_match(l), "{l}");
        }
        for l in [
            "all good",
            "test a ... ok",
            "errors are fine? no: terrorist",
        ] {
            assert!(!re.is_match(l), "{l}");
        }
    }

    #[test]
    fn generalized() {
        assert_eq!(
            generalize("FAILED test_x"),
            [r"^FAILED", r"^FAILED\s+test_x"]
        );
        assert_eq!(
            generalize("error[E0308]: mismatched types"),
            [r"^error\[E\d+\]:", r"^error\[E\d+\]:\s+mismatched"]
        );
        assert_eq!(
            generalize("FAILED tests/test_a.py::test_one - assert 0"),
            [r"^FAILED", r"^FAILED\s+\S+"]
        );
        assert_eq!(
            generalize("  at 12:01 job 3fa9c2d1 failed hard"),
            [
                r"job\s+[0-9a-fA-F]+\s+failed",
                r"job\s+[0-9a-fA-F]+\s+failed\s+hard"
            ]
        );
        assert!(generalize("all fine").is_empty());
        let re = lexicon_regex();
        for l in ["FAILED test_x", "error[E0308]: x", "x y z failed"] {
            for p in generalize(l) {
                assert!(Regex::new(&p).unwrap().is_match(l), "{p} vs {l}");
                assert!(re.is_match(l));
            }
        }
    }
}
