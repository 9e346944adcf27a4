//! Learning (issue 4): which error pattern predicts a command's failures, how long its normal runs
//! take, and how long the burst of context after a match lasts — derived from the telemetry
//! history and applied by `ee run`.
//!
//! Owns: the aggregate tables (`aggregates`, updated in each run's own write transaction so a
//! lookup is one indexed read), the statistics (`stats`), ranking and the decisions of what to
//! apply (`rank`), the observation lexicon and the generalization of error lines into candidate
//! patterns (`lexicon`), and the pattern profiles (`profiles`). Never opens its own connection.

pub mod aggregates;
pub mod db;
pub mod judge;
pub mod lexicon;
pub mod profiles;
pub mod rank;
pub mod stats;
pub mod transfer;
pub mod validate;

use rusqlite::{Connection, Transaction};

use crate::context::RunContext;
use crate::engine::outcome::Outcome;

pub use rank::Advice;

/// Judge a run against what was known before it (read inside the run's write transaction,
/// before the run is inserted): `None` for runs learning ignores. Written by [`apply`] once the
/// run has its id.
pub fn judge(
    conn: &Connection,
    outcome: &Outcome,
    ctx: &RunContext,
) -> rusqlite::Result<Option<judge::Judgement>> {
    if outcome.mode == crate::engine::outcome::Mode::Pipe || ctx.program.is_empty() {
        return Ok(None);
    }
    let known = db::load(conn, &aggregates::scopes(ctx))?;
    let profile = profiles::for_command(profiles::list(), &ctx.argv);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    Ok(judge::judge(&known, outcome, ctx, profile.as_ref(), now))
}

/// Write a run's judgement, inside the run's own write transaction.
pub fn apply(tx: &Transaction, run_id: i64, j: &judge::Judgement) -> rusqlite::Result<()> {
    db::apply(tx, run_id, j)
}

/// Judge and apply in one step (the learning tests' shortcut for what `app::record` does).
#[cfg(test)]
pub fn update(
    tx: &Transaction,
    run_id: i64,
    outcome: &Outcome,
    ctx: &RunContext,
) -> rusqlite::Result<()> {
    match judge(tx, outcome, ctx)? {
        Some(j) => apply(tx, run_id, &j),
        None => Ok(()),
    }
}

/// Pin a pattern and/or timeout for the command of `ctx` (what `ee --watch` stores on
/// confirmation): applied by `ee run` ahead of anything learned.
pub fn pin(
    tx: &Transaction,
    ctx: &RunContext,
    pattern: Option<&str>,
    timeout: Option<f64>,
) -> rusqlite::Result<()> {
    let scopes = aggregates::scopes(ctx);
    db::pin(tx, &scopes[0], pattern, timeout)
}

/// What this machine learned about a context (empty without a database or when reading fails).
/// Team learning adds to it (`team::lookup::knowledge`).
pub fn knowledge(conn: Option<&Connection>, ctx: &RunContext) -> aggregates::Knowledge {
    let scopes = aggregates::scopes(ctx);
    conn.and_then(|c| db::load(c, &scopes).ok())
        .unwrap_or(aggregates::Knowledge {
            scopes,
            ..Default::default()
        })
}

/// What ee would apply for a context, given what is known about it ([`knowledge`], with the
/// team's evidence), and why.
pub fn advise(k: aggregates::Knowledge, ctx: &RunContext) -> Advice {
    let profile = profiles::for_command(profiles::list(), &ctx.argv);
    let mut advice = rank::advise(&k, profile.as_ref());
    // What the database says is applied only if it passes the full validation (compiled within
    // the size limits, not matching ordinary lines): a few compiles, for the applied ones only.
    for r in advice.ranked.iter_mut() {
        if r.applied && aggregates::Source::profile_of(&r.source).is_none() {
            if let Err(e) = validate::pattern(&r.pattern) {
                r.applied = false;
                r.why = format!("refused: {e}");
            }
        }
    }
    // Watched-only patterns from the database: valid ones, as many as local learning keeps.
    let mut others = 0;
    advice.observe.retain(|p| {
        if lexicon::LEXICON.contains(&p.as_str()) {
            return true;
        }
        others += 1;
        others <= aggregates::MAX_USER_PATTERNS + 8 && validate::pattern(p).is_ok()
    });
    advice
}

/// Patterns to offer in tab completion for a context: (pattern, short description saying where
/// it stands here: applied, shadow or withdrawn, with its counts). Patterns that matched in some
/// judged run, the user's own first, then best first; else the fitting profile's (or, without a
/// command, every profile's).
pub fn complete_patterns(mut k: aggregates::Knowledge, ctx: &RunContext) -> Vec<(String, String)> {
    let (profiles, _) = profiles::all();
    let fitting = profiles::for_command(&profiles, &ctx.argv);
    if fitting.is_some() {
        // The project type's patterns were learned for other commands (pytest's, for `cargo
        // test` in a Python project): a profile that fits this command knows better.
        k.patterns.retain(|p| !p.scope.starts_with("type:"));
    }
    let a = rank::advise(&k, fitting.as_ref());
    // The user's own earlier patterns first (their vocabulary), then in rank order.
    let mut ranked: Vec<&rank::Ranked> = a.ranked.iter().filter(|r| r.tp + r.fp > 0).collect();
    ranked.sort_by_key(|r| aggregates::Source::parse(&r.source) != Some(aggregates::Source::User));
    let judged: Vec<(String, String)> = ranked
        .into_iter()
        .map(|r| {
            let state = match (r.applied, r.state) {
                (true, _) => "applied",
                (false, rank::State::Confirmed) => "confirmed",
                (false, rank::State::Shadow) => "shadow",
                (false, rank::State::Withdrawn) => "withdrawn",
            };
            (
                r.pattern.clone(),
                format!(
                    "{state}: {} caught, {} false, {} clean passing runs, {} stops, {} checks",
                    r.tp, r.fp, r.tn, r.uses, r.checks
                ),
            )
        })
        .collect();
    if !judged.is_empty() {
        return judged;
    }
    let list: Vec<profiles::Profile> = match fitting {
        Some(p) => vec![p],
        None => profiles
            .into_iter()
            .filter(|p| {
                ctx.program.is_empty()
                    || p.commands
                        .iter()
                        .any(|c| c.split_whitespace().next() == Some(ctx.program.as_str()))
            })
            .collect(),
    };
    list.iter()
        .flat_map(|p| {
            p.patterns.iter().map(move |pat| {
                (
                    pat.clone(),
                    format!("profile {} (shadow until confirmed)", p.name),
                )
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
