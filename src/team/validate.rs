//! Checks applied to every row pulled from the team database before it reaches the local cache:
//! the team database is shared, so a broken or malicious row must neither crash ee, nor hang it,
//! nor carry control characters into a terminal or a completion script, nor stop runs it could
//! not have earned. A rejected row is dropped (and counted in `ee team status`).

use super::identity;
use super::local::{Ev, INTS};
use crate::learn::aggregates::Source;

/// Longest scope name accepted.
pub const MAX_SCOPE: usize = 512;
/// Longest pattern accepted (bytes).
pub const MAX_PATTERN: usize = 1024;
/// Largest count accepted: beyond any real number of runs.
pub const MAX_COUNT: i64 = 1_000_000_000_000;
/// Largest [`cost`] of a pulled pattern.
pub const MAX_COST: u64 = 200_000;

/// A rough bound on the size of a pattern's compiled program: literal bytes and class ranges,
/// multiplied out by repetitions (`(a{1000}){1000}` is 1,002,001). Parsing and this walk take
/// microseconds, where compiling every pulled pattern would take the whole pull's budget.
pub fn cost(h: &regex_syntax::hir::Hir) -> u64 {
    use regex_syntax::hir::{Class, HirKind};
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(l) => l.0.len() as u64,
        HirKind::Class(Class::Unicode(c)) => c.ranges().len().max(1) as u64 * 4,
        HirKind::Class(Class::Bytes(c)) => c.ranges().len().max(1) as u64,
        HirKind::Repetition(r) => {
            let times = u64::from(r.max.unwrap_or(r.min).max(r.min)) + 1;
            cost(&r.sub).saturating_mul(times)
        }
        HirKind::Capture(c) => cost(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => {
            v.iter().fold(1u64, |a, h| a.saturating_add(cost(h)))
        }
    }
}

fn clean(s: &str) -> bool {
    !s.chars().any(|c| {
        c.is_control()
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

/// Why a pulled row is refused, or `Ok` when it may be cached.
pub fn check(e: &Ev) -> Result<(), String> {
    texts(e)?;
    pattern(&e.pattern)?;
    numbers(e)
}

/// [`check`], remembering the verdict on each pattern (a pull checks many rows of few patterns).
pub fn check_memo(
    e: &Ev,
    memo: &mut std::collections::HashMap<String, Result<(), String>>,
) -> Result<(), String> {
    texts(e)?;
    match memo.get(&e.pattern) {
        Some(r) => r.clone()?,
        None => {
            let r = pattern(&e.pattern);
            memo.insert(e.pattern.clone(), r.clone());
            r?
        }
    }
    numbers(e)
}

fn texts(e: &Ev) -> Result<(), String> {
    if !identity::valid(&e.project) {
        return Err("project identity is not 32 hex digits".into());
    }
    if e.scope.len() > MAX_SCOPE || !clean(&e.scope) {
        return Err("scope too long or has control characters".into());
    }
    if !["cmd:", "prog:", "type:", super::local::PORTABLE]
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
    Ok(())
}

/// The checks of [`check`] on a pattern alone (parse and size bound).
pub fn pattern(p: &str) -> Result<(), String> {
    if !p.is_empty() {
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(p)
            .map_err(|_| format!("invalid pattern: {p:.60}"))?;
        if cost(&hir) > MAX_COST {
            return Err(format!("pattern too large once compiled: {p:.60}"));
        }
    }
    Ok(())
}

fn numbers(e: &Ev) -> Result<(), String> {
    let source_ok = e.source.len() <= 64
        && ((e.pattern.is_empty() && e.source.is_empty())
            || match Source::parse(&e.source) {
                Some(Source::User | Source::Mined) => true,
                Some(Source::Profile(n)) => {
                    !n.is_empty()
                        && n.bytes().all(|b| {
                            b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'
                        })
                }
                None => false,
            });
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
        for ok in [
            r"^FAILED\s+test_\w+",
            r"\berror\[E\d{4}\]",
            r"(?-u:\xff)x",
            r"^\S+\.py [.sxX]*[FE]",
        ] {
            let mut e = ev();
            e.pattern = ok.into();
            assert!(check(&e).is_ok(), "{ok}");
        }
        let bad: Vec<fn(&mut Ev)> = vec![
            |e| e.pattern = "(".into(),
            |e| e.pattern = "a\nb".into(),
            |e| e.pattern = "\x1b[2J".into(),
            |e| e.pattern = "x".repeat(5000),
            |e| e.pattern = "(a{1000}){1000}".into(),
            |e| e.pattern = r"\w{500}\w{500}".into(),
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
