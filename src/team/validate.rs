//! Checks applied to every row pulled from the team database before it reaches the local cache:
//! the team database is shared, so a broken or malicious row must neither crash ee, nor hang it,
//! nor carry control characters into a terminal or a completion script, nor stop runs it could
//! not have earned. A rejected row is dropped (and counted in `ee team status`).

use super::identity;
use super::local::{Ev, INTS};

/// Longest scope name accepted.
pub const MAX_SCOPE: usize = 512;
/// Longest pattern accepted (bytes).
pub const MAX_PATTERN: usize = 1024;
/// Largest count accepted: beyond any real number of runs.
pub const MAX_COUNT: i64 = 1_000_000_000_000;
/// Compiled size limit for a pulled pattern.
const REGEX_SIZE: usize = 1 << 20;

fn clean(s: &str) -> bool {
    !s.chars().any(|c| {
        c.is_control()
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

/// Why a pulled row is refused, or `Ok` when it may be cached.
pub fn check(e: &Ev) -> Result<(), String> {
    if !identity::valid(&e.project) {
        return Err("project identity is not 32 hex digits".into());
    }
    if e.scope.len() > MAX_SCOPE || !clean(&e.scope) {
        return Err("scope too long or has control characters".into());
    }
    if !["cmd:", "prog:", "type:"]
        .iter()
        .any(|p| e.scope.starts_with(p))
    {
        return Err(format!(
            "unknown scope kind: {:.40}",
            e.scope.escape_debug()
        ));
    }
    if e.pattern.len() > MAX_PATTERN {
        return Err(format!(
            "pattern of {} bytes (at most {MAX_PATTERN})",
            e.pattern.len()
        ));
    }
    if !clean(&e.pattern) {
        return Err("pattern has control characters".into());
    }
    if !e.pattern.is_empty() {
        regex::bytes::RegexBuilder::new(&e.pattern)
            .size_limit(REGEX_SIZE)
            .dfa_size_limit(REGEX_SIZE)
            .build()
            .map_err(|_| format!("invalid or too large pattern: {:.60}", e.pattern))?;
    }
    let source_ok = e.source.len() <= 64
        && ((e.pattern.is_empty() && e.source.is_empty())
            || e.source == "user"
            || e.source == "mined"
            || e.source.strip_prefix("profile:").is_some_and(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            }));
    if !source_ok {
        return Err(format!(
            "unknown pattern source: {:.40}",
            e.source.escape_debug()
        ));
    }
    for (i, v) in e.ints.iter().enumerate() {
        if *v < 0 || *v > MAX_COUNT {
            return Err(format!("{} = {v} out of range", INTS[i]));
        }
    }
    if e.floats.iter().any(|f| !f.is_finite() || f.abs() > 1e15) {
        return Err("a runtime sum is NaN, infinite or out of range".into());
    }
    // Sums of squares are never negative; runtimes never negative.
    if e.floats.iter().any(|f| *f < 0.0) {
        return Err("a runtime sum is negative".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev() -> Ev {
        Ev {
            project: "0123456789abcdef0123456789abcdef".into(),
            scope: "cmd:pytest".into(),
            pattern: "^FAILED".into(),
            source: "mined".into(),
            ..Default::default()
        }
    }

    #[test]
    fn refuses_bad_rows() {
        assert!(check(&ev()).is_ok());
        let bad: Vec<fn(&mut Ev)> = vec![
            |e| e.pattern = "(".into(),
            |e| e.pattern = "a\nb".into(),
            |e| e.pattern = "\x1b[2J".into(),
            |e| e.pattern = "x".repeat(5000),
            |e| e.pattern = "(a{1000}){1000}".into(),
            |e| e.ints[0] = -1,
            |e| e.floats[0] = f64::NAN,
            |e| e.floats[1] = -1.0,
            |e| e.project = "../../etc".into(),
            |e| e.scope = "evil".into(),
            |e| e.source = "$(rm -rf ~)".into(),
        ];
        for (i, f) in bad.iter().enumerate() {
            let mut e = ev();
            f(&mut e);
            assert!(check(&e).is_err(), "case {i}");
        }
    }
}
