//! Telemetry: every run recorded in a local SQLite database (issue 3). Placeholder until the
//! store lands: records nothing.

pub mod context;

use crate::outcome::Outcome;

/// Record a finished run. Never fails visibly: problems are reported once on stderr.
pub fn record(_outcome: &Outcome, _quiet: bool) {}

/// True when telemetry is disabled for this process (`EARLYEXIT_NO_TELEMETRY=1`).
pub fn disabled_by_env() -> bool {
    std::env::var_os("EARLYEXIT_NO_TELEMETRY").is_some_and(|v| !v.is_empty() && v != "0")
}
