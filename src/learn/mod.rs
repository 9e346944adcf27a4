//! Learning (issue 4): which error pattern predicts a command's failures, how long its normal runs
//! take, and how long the burst of context after a match lasts — derived from the telemetry
//! history and applied by `ee run`.
//!
//! Owns: the aggregate tables (`aggregates`, updated in each run's own write transaction so a
//! lookup is one indexed read), the statistics (`stats`), ranking and the decisions of what to
//! apply (`rank`), the observation lexicon and the generalization of error lines into candidate
//! patterns (`lexicon`), the pattern profiles (`profiles`), the pure decisions of a run's
//! judgement (`judge`), the learning tables' reads and writes (`db`), `ee feedback`'s corrections
//! (`feedback`), export and import (`transfer`) and the checks on stored values (`validate`).
//! Never opens its own connection.

pub mod aggregates;
pub mod db;
pub mod feedback;
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
    refuse_invalid(&mut advice);
    advice
}

/// What the database says is applied or watched is used only if it passes the full validation
/// (compiled within the size limits, not matching ordinary lines): the applied patterns (but a
/// profile's), and the watched ones beyond the lexicon as many as local learning keeps; all
/// compiled in one set (`validate::patterns`).
fn refuse_invalid(advice: &mut Advice) {
    let applied: Vec<usize> = (0..advice.ranked.len())
        .filter(|&i| {
            let r = &advice.ranked[i];
            r.applied && aggregates::Source::profile_of(&r.source).is_none()
        })
        .collect();
    let watched: Vec<usize> = (0..advice.observe.len())
        .filter(|&i| !lexicon::LEXICON.contains(&advice.observe[i].as_str()))
        .collect();
    let (watched, beyond) = watched.split_at(watched.len().min(aggregates::MAX_USER_PATTERNS + 8));
    let batch: Vec<&str> = applied
        .iter()
        .map(|&i| advice.ranked[i].pattern.as_str())
        .chain(watched.iter().map(|&i| advice.observe[i].as_str()))
        .collect();
    let verdicts = validate::patterns(&batch);
    let (on_applied, on_watched) = verdicts.split_at(applied.len());
    for (&i, v) in applied.iter().zip(on_applied) {
        if let Err(e) = v {
            let r = &mut advice.ranked[i];
            r.applied = false;
            r.why = format!("refused: {e}");
        }
    }
    let refused: Vec<usize> = watched
        .iter()
        .zip(on_watched)
        .filter(|(_, v)| v.is_err())
        .map(|(&i, _)| i)
        .chain(beyond.iter().copied())
        .collect();
    let mut i = 0;
    advice.observe.retain(|_| {
        i += 1;
        !refused.contains(&(i - 1))
    });
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
