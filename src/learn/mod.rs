//! Learning (issue 4): which error pattern predicts a command's failures, how long its normal runs
//! take, and how long the burst of context after a match lasts — derived from the telemetry
//! history and applied by `ee run`.
//!
//! Owns: the aggregate tables (`aggregates`, updated in each run's own write transaction so a
//! lookup is one indexed read), the statistics (`stats`), ranking and the decisions of what to
//! apply (`rank`), the observation lexicon and the generalization of error lines into candidate
//! patterns (`lexicon`), and the pattern profiles (`profiles`). Never opens its own connection.

pub mod aggregates;
pub mod lexicon;
pub mod profiles;
pub mod rank;
pub mod stats;
pub mod transfer;

use rusqlite::{Connection, Transaction};

use crate::outcome::Outcome;
use crate::telemetry::context::RunContext;

pub use rank::Advice;

/// Schema of the learning aggregates, applied by the telemetry store's migrations.
pub const SCHEMA: &str = aggregates::SCHEMA;

/// Update the aggregates for a recorded run, inside the run's own write transaction.
pub fn update(
    tx: &Transaction,
    run_id: i64,
    outcome: &Outcome,
    ctx: &RunContext,
) -> rusqlite::Result<()> {
    aggregates::update(tx, run_id, outcome, ctx)
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
    aggregates::pin(tx, &scopes[0], pattern, timeout)
}

/// What is known about a context (empty without a database or when reading fails).
pub fn knowledge(conn: Option<&Connection>, ctx: &RunContext) -> aggregates::Knowledge {
    let scopes = aggregates::scopes(ctx);
    conn.and_then(|c| aggregates::load(c, &scopes).ok())
        .unwrap_or(aggregates::Knowledge {
            scopes,
            ..Default::default()
        })
}

/// What ee would apply for a context, and why.
pub fn advise(conn: Option<&Connection>, ctx: &RunContext) -> Advice {
    let k = knowledge(conn, ctx);
    let (profiles, _) = profiles::all();
    let profile = profiles::for_command(&profiles, &ctx.argv);
    rank::advise(&k, profile.as_ref())
}

/// Patterns to offer in tab completion for a context, best first: (pattern, short description).
/// Learned for the command, else for its program, else the fitting profile's; the project type's
/// only for a command no profile fits.
pub fn complete_patterns(conn: Option<&Connection>, ctx: &RunContext) -> Vec<(String, String)> {
    let k = knowledge(conn, ctx);
    let (profiles, _) = profiles::all();
    let fitting = profiles::for_command(&profiles, &ctx.argv);
    for s in &k.scopes {
        // The project type's patterns were learned for other commands (pytest's, for `cargo
        // test` in a Python project): a profile that fits this command knows better.
        if fitting.is_some() && s.starts_with("type:") {
            continue;
        }
        let mut list: Vec<rank::Ranked> = k
            .patterns_in(s)
            .filter(|p| p.counts.tp > 0)
            .map(|p| {
                let a = rank::advise(
                    &aggregates::Knowledge {
                        scopes: vec![s.clone()],
                        rows: Vec::new(),
                        patterns: vec![p.clone()],
                        pins: Vec::new(),
                    },
                    None,
                );
                a.ranked
                    .into_iter()
                    .next()
                    .expect("one pattern in, one out")
            })
            .collect();
        if list.is_empty() {
            continue;
        }
        rank::sort(&mut list);
        return list
            .into_iter()
            .map(|r| {
                (
                    r.pattern,
                    format!(
                        "precision {:.2}, {} caught, {} uses",
                        r.precision, r.tp, r.uses
                    ),
                )
            })
            .collect();
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
            p.patterns
                .iter()
                .map(move |pat| (pat.clone(), format!("profile {}", p.name)))
        })
        .collect()
}

#[cfg(test)]
mod tests;
