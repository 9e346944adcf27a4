//! Redaction of secrets before anything is stored: values of password/token/secret/key-like
//! options (`--token=X`, `--password X`), `NAME=value` assignments, credentials in URLs
//! (`https://user:pass@host`), `secret: value`-like text, bearer tokens and well-known token
//! shapes (GitHub, GitLab, Slack, AWS access keys, `sk-…` API keys). Values become `***`.
//!
//! The regexes are compiled only when a text contains a hint of a secret, so the common case
//! costs a substring scan.

use std::sync::OnceLock;

use regex::Regex;

use super::context::is_assignment;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Option names whose value is a secret (`--api-key`, `--password`, `--auth-token`, …).
fn secret_name(name: &str) -> bool {
    let n = name.trim_start_matches('-').to_ascii_lowercase();
    if n.contains("author") && !n.contains("authoriz") {
        return false;
    }
    [
        "pass",
        "pwd",
        "token",
        "secret",
        "key",
        "auth",
        "credential",
        "cookie",
        "session",
        "signature",
        "private",
        "bearer",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Redact command words.
pub fn redact_argv(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut value_next = false;
    let mut script_next = false;
    for w in argv {
        // The word after `-c` is a shell script: redact inside it instead of masking it whole.
        let script = std::mem::replace(&mut script_next, w == "-c");
        if value_next {
            value_next = false;
            if !w.starts_with('-') {
                out.push(MASK.to_string());
                continue;
            }
        }
        if w.starts_with('-') && w.len() > 1 {
            let (name, value) = match w.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (w.as_str(), None),
            };
            if name.len() > 2 && secret_name(name) {
                match value {
                    Some(_) => out.push(format!("{name}={MASK}")),
                    None => {
                        value_next = true;
                        out.push(w.clone());
                    }
                }
                continue;
            }
            out.push(redact_text(w));
            continue;
        }
        if is_assignment(w) && !script {
            let (name, value) = w.split_once('=').unwrap_or((w, ""));
            if value.is_empty() || value == MASK {
                out.push(w.clone());
            } else {
                out.push(format!("{name}={MASK}"));
            }
            continue;
        }
        out.push(redact_env_text(&redact_text(w)));
    }
    out
}

/// Cheap pre-check: could this text hold a secret the regexes look for?
fn hint(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "://",
        "pass",
        "pwd",
        "token",
        "secret",
        "key",
        "auth",
        "credential",
        "bearer",
        "basic ",
        "ghp_",
        "gho_",
        "ghu_",
        "ghs_",
        "ghr_",
        "github_pat",
        "xox",
        "akia",
        "sk-",
        "glpat-",
        "cookie",
        "session",
        "signature",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

struct Rx {
    url: Regex,
    assign: Regex,
    bearer: Regex,
    shapes: Regex,
}

fn rx() -> &'static Rx {
    static RX: OnceLock<Rx> = OnceLock::new();
    RX.get_or_init(|| Rx {
        url: Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/\s:@]+)(:[^/\s@]*)?@").unwrap(),
        assign: Regex::new(
            r#"(?i)([A-Za-z0-9_.-]*(?:password|passwd|pwd|token|secret|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth[A-Za-z_]*|credentials?|cookie|session[_-]?id|signature)[A-Za-z0-9_.-]*"?\s*[=:]\s*)((?i:bearer|basic|token)\s+[^\s&,;'"]+|"[^"]*"|'[^']*'|[^\s&,;'"]+)"#,
        )
        .unwrap(),
        bearer: Regex::new(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}").unwrap(),
        shapes: Regex::new(
            r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|sk-[A-Za-z0-9_-]{20,}|glpat-[A-Za-z0-9_-]{20,})",
        )
        .unwrap(),
    })
}

/// Redact secrets inside free text (a matched line, a context line, a script argument).
pub fn redact_text(text: &str) -> String {
    if !hint(text) {
        return text.to_string();
    }
    let r = rx();
    let t = r.url.replace_all(text, |c: &regex::Captures| {
        if c.get(3).is_some() {
            format!("{}{}:{MASK}@", &c[1], &c[2])
        } else {
            format!("{}{MASK}@", &c[1])
        }
    });
    let t = r.assign.replace_all(&t, |c: &regex::Captures| {
        if c[2].starts_with(MASK) {
            c[0].to_string()
        } else {
            format!("{}{MASK}", &c[1])
        }
    });
    let t = r.bearer.replace_all(&t, format!("$1 {MASK}").as_str());
    r.shapes.replace_all(&t, MASK).into_owned()
}

/// Redact `NAME=value` environment assignments inside a script argument (`sh -c 'X=1 cmd'`).
fn redact_env_text(text: &str) -> String {
    if !text.contains('=') || !text.contains(char::is_whitespace) {
        return text.to_string();
    }
    static ENV: OnceLock<Regex> = OnceLock::new();
    let re = ENV.get_or_init(|| {
        Regex::new(r#"(^|[\s;&|(])([A-Za-z_][A-Za-z0-9_]*=)("[^"]*"|'[^']*'|[^\s;&|)'"]+)"#)
            .unwrap()
    });
    re.replace_all(text, |c: &regex::Captures| {
        if &c[3] == MASK {
            c[0].to_string()
        } else {
            format!("{}{}{MASK}", &c[1], &c[2])
        }
    })
    .into_owned()
}

/// Cut a string to at most `max` bytes on a character boundary, marking the cut with `…`.
pub fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        shell_words::join(redact_argv(&shell_words::split(s).unwrap()))
    }

    #[test]
    fn argv() {
        assert_eq!(r("cargo test --release"), "cargo test --release");
        assert_eq!(r("curl --token abc123 x"), "curl --token '***' x");
        assert_eq!(
            r("mysql --password=hunter2 db"),
            "mysql '--password=***' db"
        );
        assert_eq!(
            r("deploy --api-key K1 --verbose"),
            "deploy --api-key '***' --verbose"
        );
        assert_eq!(
            r("API_KEY=zzz FOO=bar make"),
            "'API_KEY=***' 'FOO=***' make"
        );
        assert_eq!(
            r("git clone https://bob:s3cret@example.com/r.git"),
            "git clone 'https://bob:***@example.com/r.git'"
        );
        assert_eq!(
            r("sh -c 'TOKEN=abc ./run --x'"),
            "sh -c 'TOKEN=*** ./run --x'"
        );
        assert_eq!(r("git commit --author bob"), "git commit --author bob");
        assert_eq!(
            r("curl -H 'Authorization: Bearer abcdefghijkl' u"),
            "curl -H 'Authorization: ***' u"
        );
    }

    #[test]
    fn text() {
        assert_eq!(
            redact_text("error: password=hunter2 rejected"),
            "error: password=*** rejected"
        );
        assert_eq!(
            redact_text("fetch https://ghp_abcdefghijklmnopqrstuvwxyz@github.com failed"),
            "fetch https://***@github.com failed"
        );
        assert_eq!(
            redact_text(r#"{"api_key": "abc", "n": 1}"#),
            r#"{"api_key": ***, "n": 1}"#
        );
        assert_eq!(redact_text("AKIAABCDEFGHIJKLMNOP used"), "*** used");
        assert_eq!(redact_text("plain error line"), "plain error line");
        assert_eq!(cap("héllo", 2), "h…");
    }
}
