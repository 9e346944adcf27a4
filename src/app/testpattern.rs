//! `--test-pattern`: read a log on stdin and report what the patterns would have done, running
//! nothing — lines, matches by kind, excluded lines, and where the first matches are.

use std::io::Read;

use crate::app::{CmdResult, Fail};
use crate::engine::matcher::{strip_ansi, Class, Matcher};
use crate::engine::plan::Plan;

/// How many first-match line numbers are listed.
const FIRST: usize = 10;

pub fn run(plan: &Plan, json: bool) -> CmdResult {
    let m: &Matcher = &plan.matcher;
    if m.is_empty() {
        return Err(Fail::usage("--test-pattern needs a PATTERN, -e or -s"));
    }
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut input)
        .map_err(|e| Fail::io(format!("cannot read stdin: {e}")))?;
    let (mut lines, mut excluded) = (0u64, 0u64);
    let mut counts = [0u64; 3]; // match, error, success
    let mut first: Vec<(u64, &'static str, String)> = Vec::new();
    let body = input.strip_suffix(b"\n").unwrap_or(&input);
    if !input.is_empty() {
        for raw in body.split(|&b| b == b'\n') {
            lines += 1;
            let line = strip_ansi(&raw[..raw.len().min(crate::engine::matcher::MAX_LINE)]);
            if m.is_excluded(&line) {
                excluded += 1;
                continue;
            }
            let hit = m.classify(&line);
            if let Some(msg) = crate::engine::matcher::take_pcre_failure() {
                return Err(Fail::usage(msg));
            }
            let Some((class, ..)) = hit else {
                continue;
            };
            let k = match class {
                Class::Match => 0,
                Class::Error => 1,
                Class::Success => 2,
                Class::Observed => continue,
            };
            counts[k] += 1;
            if first.len() < FIRST {
                first.push((
                    lines,
                    class.as_str(),
                    String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned(),
                ));
            }
        }
    }
    let matched: u64 = counts.iter().sum();
    if json {
        let v = serde_json::json!({
            "lines": lines,
            "matched": matched,
            "matches": counts[0],
            "error_matches": counts[1],
            "success_matches": counts[2],
            "excluded": excluded,
            "first_matches": first.iter().map(|(n, k, l)| serde_json::json!({"line_number": n, "kind": k, "line": l})).collect::<Vec<_>>(),
        });
        outln!("{v}");
    } else {
        outln!("lines:     {lines}");
        outln!(
            "matched:   {matched} (pattern {}, error {}, success {})",
            counts[0],
            counts[1],
            counts[2]
        );
        outln!("excluded:  {excluded}");
        if first.is_empty() {
            outln!("no line matched");
        } else {
            outln!("first matches:");
            for (n, k, l) in &first {
                outln!("  {n:>8}  {k:<7}  {l}");
            }
        }
    }
    Ok(if matched > 0 { 0 } else { 1 })
}
