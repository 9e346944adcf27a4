//! `ee suggest [--json] [--] COMMAND…`: what learning recommends for a command — its top patterns
//! with precision, recall and score, the recommended timeout with its confidence, the quiet gap
//! after a match, and the rationale (how many similar runs it is based on, or which profile).

use crate::app::CmdResult;
use crate::cli::SuggestArgs;
use crate::context::RunContext;
use crate::learn::rank::{rationale, Advice};
use crate::learn::stats::{
    CHECK_EVERY, CONFIRM_TN, CONFIRM_TP, HANG_FACTOR, HANG_MARGIN, HANG_QUIET_MIN,
    MAX_TIMEOUT_STOPS, MIN_BURST_SAMPLES, MIN_TIMEOUT_SAMPLES, Z,
};

/// Most patterns listed in the text output.
const SHOW: usize = 8;

/// The rules and thresholds, as printed.
pub fn thresholds() -> String {
    format!(
        "A pattern (built-in profile, mined or yours) stops runs of this project and command only \
         once confirmed here: it caught {CONFIRM_TP} failed runs that ended by themselves and was \
         watched in {CONFIRM_TN} passing runs without matching; until then it runs in shadow. One \
         match in a passing run withdraws it here. After {CHECK_EVERY} stops (or 7 days) the next \
         run it matches is let finish as a shadow check. Ranking: confirmed first, then score = \
         lower bound of the Wilson interval (z = {Z}) on precision × recall (shown rounded \
         down), fewer false positives, more clean passing runs. Timeout: a hang detector after \
         {MIN_TIMEOUT_SAMPLES} normal runs of this project and command, max({HANG_FACTOR} × base, \
         base + {HANG_MARGIN}s) with base the second-longest recent normal run, and then only \
         after {HANG_QUIET_MIN}s (or a quarter of the limit) without output; never for a bare \
         interpreter; not after it stopped {MAX_TIMEOUT_STOPS} runs in a row, until one ends by \
         itself. A learned quiet gap after {MIN_BURST_SAMPLES} observed bursts."
    )
}

pub fn run(a: SuggestArgs) -> CmdResult {
    let ctx = crate::app::run::context_of(&a.command.argv);
    let conn = crate::store::db::open_lookup(std::time::Duration::from_millis(200));
    let advice = crate::learn::advise(crate::team::lookup::knowledge(conn.as_ref(), &ctx), &ctx);
    if a.plot {
        return plot(conn.as_ref(), &ctx.key, advice.timeout.as_ref(), a.json);
    }
    let why = rationale(&advice, &ctx.key, ctx.project_type);
    let out = if a.json {
        let mut v = serde_json::to_value(&advice).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("command".into(), serde_json::json!(ctx.argv));
            o.insert("key".into(), serde_json::json!(ctx.key));
            o.insert("program".into(), serde_json::json!(ctx.program));
            o.insert("project_type".into(), serde_json::json!(ctx.project_type));
            o.insert("category".into(), serde_json::json!(ctx.category));
            o.insert("rationale".into(), serde_json::json!(why));
            o.insert("formula".into(), serde_json::json!(thresholds()));
        }
        format!("{v}\n")
    } else {
        text(&advice, &ctx, &why)
    };
    crate::output::write_bytes(crate::escape::escape_lines(&out).as_bytes());
    Ok(0)
}

fn text(a: &Advice, ctx: &RunContext, why: &str) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "Suggestions for `{}` (key `{}`, {} project, category {})\n{why}.\n",
        shell_words::join(&ctx.argv),
        ctx.key,
        ctx.project_type,
        ctx.category
    ));
    let learned = a.ranked.iter().any(|r| {
        crate::learn::aggregates::Source::profile_of(&r.source).is_none() || r.tp + r.fp > 0
    });
    match (&a.profile, learned) {
        (Some(p), false) => s.push_str(&format!(
            "Cold start: no pattern learned yet, using the built-in profile `{p}`.\n"
        )),
        (Some(p), true) => s.push_str(&format!(
            "Profile: `{p}` (its patterns are judged like any other).\n"
        )),
        (None, _) => {}
    }
    s.push('\n');
    if a.ranked.is_empty() {
        s.push_str("Patterns: none yet (no error-like line has recurred in failing runs).\n");
    } else {
        s.push_str("Patterns, best first (score: the confidence that a match means failure):\n");
        s.push_str("  score  precision  recall    tp   fp   fn clean stops checks  pattern\n");
        for r in a.ranked.iter().take(SHOW) {
            let judged = r.tp + r.fp + r.fneg > 0;
            let num = |x: f64| {
                if judged {
                    format!("{x:.2}")
                } else {
                    "-".to_string()
                }
            };
            s.push_str(&format!(
                "  {:>5}  {:>9}  {:>6}  {:>4} {:>4} {:>4} {:>5} {:>5} {:>6}  /{}/  {}{}\n",
                num(r.score),
                num(r.precision),
                num(r.recall),
                r.tp,
                r.fp,
                r.fneg,
                r.tn,
                r.uses,
                r.checks,
                r.pattern,
                if r.applied {
                    "applied: "
                } else {
                    "not applied: "
                },
                r.why
            ));
        }
        if a.ranked.len() > SHOW {
            s.push_str(&format!(
                "  … and {} more (--json lists all)\n",
                a.ranked.len() - SHOW
            ));
        }
    }
    match &a.timeout {
        Some(t) => s.push_str(&format!(
            "Timeout: {} (mean {:.2}s, σ {:.2}s over {} normal runs); {}{}\n",
            if t.seconds > 0.0 {
                format!("{:.1}s, decided by {}", t.seconds, t.term)
            } else {
                "none yet".to_string()
            },
            t.mean,
            t.stddev,
            t.samples,
            if t.applied {
                "applied: "
            } else {
                "not applied: "
            },
            t.why
        )),
        None => s.push_str(&format!(
            "Timeout: none (no normal run of this project and command recorded, or a bare \
             interpreter; needs {MIN_TIMEOUT_SAMPLES})\n"
        )),
    }
    s.push_str(&format!(
        "Quiet gap after a match: {:.2}s ({})\n",
        a.quiet.seconds, a.quiet.why
    ));
    s.push('\n');
    s.push_str(&thresholds());
    s.push('\n');
    s
}

/// `ee suggest --plot [--json]`: the command's runtimes as a histogram, the hang limit marked.
fn plot(
    conn: Option<&rusqlite::Connection>,
    key: &str,
    timeout: Option<&crate::learn::rank::TimeoutAdvice>,
    json: bool,
) -> CmdResult {
    use crate::plot::{histogram, render_runtimes, runtimes};
    let (normal, failed) = runtimes(conn, key);
    let r = histogram(
        key,
        normal,
        failed,
        timeout.map(|t| t.seconds),
        timeout.is_some_and(|t| t.applied),
        12,
    );
    crate::plot::print(json, &r, render_runtimes);
    Ok(0)
}
