//! Learning (issue 4): recommended patterns and timeouts from the telemetry history.
//! Placeholder until it lands: its tables are empty and it recommends nothing.

use rusqlite::{Connection, Transaction};

use crate::outcome::Outcome;
use crate::telemetry::context::RunContext;

/// Schema of the learning aggregates, applied by the telemetry store's migrations.
pub const SCHEMA: &str = "";

/// Update the aggregates for a recorded run, inside the run's own write transaction.
pub fn update(_tx: &Transaction, _run_id: i64, _outcome: &Outcome, _ctx: &RunContext) -> rusqlite::Result<()> {
    Ok(())
}

/// Patterns to offer in tab completion for a context, best first: (pattern, short description).
pub fn complete_patterns(_conn: Option<&Connection>, _ctx: &RunContext) -> Vec<(String, String)> {
    Vec::new()
}
