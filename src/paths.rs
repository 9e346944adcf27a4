//! Every `EARLYEXIT_*` location and setting read from the environment, in one place: the database
//! path, the configuration directory and the files in it (routes, profiles, team settings), and
//! the settings that tune the store, the hooks and the team sync. Callers ask this module; none
//! reads these variables itself. It depends on nothing else in the crate.
//!
//! (The engine's log directory and highlight colours stay in `engine/supervisor/logs.rs` and
//! `engine/printer.rs`: the engine depends on nothing above it.)

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The database file (overrides the default location).
pub const DB: &str = "EARLYEXIT_DB";
/// ee's configuration directory (overrides `<config dir>/earlyexit`).
pub const CONFIG_DIR: &str = "EARLYEXIT_CONFIG_DIR";
/// Set (not empty, not `0`): record nothing.
pub const NO_TELEMETRY: &str = "EARLYEXIT_NO_TELEMETRY";
/// Seconds a run waits for the database lock.
pub const DB_TIMEOUT: &str = "EARLYEXIT_DB_TIMEOUT";
/// Newest executions kept (0: no limit).
pub const TELEMETRY_KEEP: &str = "EARLYEXIT_TELEMETRY_KEEP";
/// Days of executions kept (0: no limit).
pub const TELEMETRY_KEEP_DAYS: &str = "EARLYEXIT_TELEMETRY_KEEP_DAYS";
/// Extra routes for `ee init`, separated by commas.
pub const ROUTES: &str = "EARLYEXIT_ROUTES";
/// The team database URL (overrides the team settings file).
pub const TEAM_DB: &str = "EARLYEXIT_TEAM_DB";
/// With [`TEAM_DB`]: `1` also pushes executions.
pub const TEAM_SHARE_RUNS: &str = "EARLYEXIT_TEAM_SHARE_RUNS";
/// Least interval between background team syncs, in seconds.
pub const TEAM_SYNC_INTERVAL: &str = "EARLYEXIT_TEAM_SYNC_INTERVAL";
/// Hidden: each team sync phase's time on stderr (for scripts/bench-team).
pub const TRACE_TEAM: &str = "EARLYEXIT_TRACE_TEAM";
/// Hidden, for tests: make the team push fail at a given point.
pub const TEAM_FAULT: &str = "EARLYEXIT_TEAM_FAULT";

/// The message when [`config_dir`] finds nothing.
pub const NO_CONFIG_DIR: &str =
    "cannot find the configuration directory (set EARLYEXIT_CONFIG_DIR or HOME)";

/// A variable that is set and not empty.
fn non_empty(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// A variable as UTF-8 text, if set.
fn text(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The database path: `EARLYEXIT_DB`, else `<data dir>/earlyexit/telemetry.db`.
pub fn db_path() -> Option<PathBuf> {
    match non_empty(DB) {
        Some(p) => Some(PathBuf::from(p)),
        None => dirs::data_dir().map(|d| d.join("earlyexit").join("telemetry.db")),
    }
}

/// ee's configuration directory: `EARLYEXIT_CONFIG_DIR`, else `<config dir>/earlyexit`.
pub fn config_dir() -> Option<PathBuf> {
    match non_empty(CONFIG_DIR) {
        Some(d) => Some(PathBuf::from(d)),
        None => dirs::config_dir().map(|d| d.join("earlyexit")),
    }
}

/// The routes file: `<config dir>/routes`.
pub fn routes_file() -> Option<PathBuf> {
    config_dir().map(|d| d.join("routes"))
}

/// Where user profiles live: `<config dir>/profiles/`.
pub fn profiles_dir() -> Option<PathBuf> {
    config_dir().map(|d| d.join("profiles"))
}

/// The team settings file: `<config dir>/team.json`.
pub fn team_config_file() -> Option<PathBuf> {
    config_dir().map(|d| d.join("team.json"))
}

/// True when telemetry is disabled for this process (`EARLYEXIT_NO_TELEMETRY=1`).
pub fn telemetry_disabled() -> bool {
    non_empty(NO_TELEMETRY).is_some_and(|v| v != "0")
}

/// `EARLYEXIT_DB_TIMEOUT` as given (the store parses and clamps it).
pub fn db_timeout() -> Option<String> {
    text(DB_TIMEOUT)
}

/// A count setting: a whole number, else `None`.
fn count(name: &str) -> Option<u64> {
    text(name).and_then(|v| v.trim().parse::<u64>().ok())
}

/// `EARLYEXIT_TELEMETRY_KEEP`: the newest executions kept.
pub fn telemetry_keep() -> Option<u64> {
    count(TELEMETRY_KEEP)
}

/// `EARLYEXIT_TELEMETRY_KEEP_DAYS`: the days of executions kept.
pub fn telemetry_keep_days() -> Option<u64> {
    count(TELEMETRY_KEEP_DAYS)
}

/// `EARLYEXIT_ROUTES`: the extra route names for `ee init`, trimmed, empty ones left out.
pub fn env_routes() -> Vec<String> {
    text(ROUTES)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `EARLYEXIT_TEAM_DB`, unless blank.
pub fn team_db_url() -> Option<String> {
    text(TEAM_DB).filter(|v| !v.trim().is_empty())
}

/// `EARLYEXIT_TEAM_SHARE_RUNS=1`.
pub fn team_share_runs() -> bool {
    text(TEAM_SHARE_RUNS).is_some_and(|v| v == "1")
}

/// `EARLYEXIT_TEAM_SYNC_INTERVAL`: seconds, finite and not negative.
pub fn team_sync_interval() -> Option<Duration> {
    text(TEAM_SYNC_INTERVAL)
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
}

/// `EARLYEXIT_TRACE_TEAM` is set.
pub fn trace_team() -> bool {
    std::env::var_os(TRACE_TEAM).is_some()
}

/// `EARLYEXIT_TEAM_FAULT` (empty when unset).
pub fn team_fault() -> String {
    text(TEAM_FAULT).unwrap_or_default()
}
