//! Team learning (issue 14): sharing what was learned through a PostgreSQL database, so that CI
//! runners and new teammates start warm.
//!
//! Owns: the connection settings (`config`: user config file, `EARLYEXIT_TEAM_DB`, passwords
//! from the PG environment), the project identity (`identity`: hashed normalized remote URL or
//! first commit), the local side (`local`: machine id, sequence numbers, the outbox of evidence
//! not yet pushed, the cache of the team's knowledge), the server side (`server`: migrations,
//! roles, push, pull), the checks applied to pulled rows (`validate`), the read that adds team
//! evidence to a lookup (`lookup`) and the detached background sync started after a run.
//!
//! Nothing here runs on `ee run`'s hot path but [`lookup::merge`] (one indexed SQLite read, no
//! network) and [`after_run`] (an environment check and one `stat`, plus a detached spawn at
//! most once per sync interval).

pub mod config;
pub mod identity;
pub mod local;
pub mod lookup;
pub mod server;
pub mod validate;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Default least interval between background syncs (`EARLYEXIT_TEAM_SYNC_INTERVAL`, seconds).
pub const SYNC_INTERVAL: Duration = Duration::from_secs(300);

/// The file whose modification time is the last background sync attempt, next to the database.
pub fn stamp_path(db: &std::path::Path) -> PathBuf {
    crate::store::files::with_suffix(db, ".team-sync")
}

fn sync_interval() -> Duration {
    crate::paths::team_sync_interval().unwrap_or(SYNC_INTERVAL)
}

/// After a run: when a team database is configured and the last sync attempt is older than the
/// sync interval, start `ee team sync --background` detached (own process group, no terminal,
/// stdio closed) and return at once. Never fails visibly.
pub fn after_run() {
    if crate::store::disabled_by_env() || !config::configured() {
        return;
    }
    let Some(db) = crate::paths::db_path() else {
        return;
    };
    let stamp = stamp_path(&db);
    let fresh = std::fs::metadata(&stamp)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age < sync_interval());
    if fresh || !db.is_file() {
        return;
    }
    // Claim the interval before spawning, so that runs ending together start one sync.
    if std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&stamp)
        .is_err()
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    use std::os::unix::process::CommandExt;
    let _ = std::process::Command::new(exe)
        .args(["team", "sync", "--background"])
        .env("EARLYEXIT_DB", std::path::absolute(&db).unwrap_or(db))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn();
}
