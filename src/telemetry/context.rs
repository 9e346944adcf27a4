//! Run context used for grouping: the normalized command key, program, project type (from marker
//! files in the working directory and its parents) and command category.

use std::path::{Path, PathBuf};

/// Where and what a run is, for grouping its telemetry and looking up what was learned.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The command words (unredacted; redact before storing).
    pub argv: Vec<String>,
    /// Normalized command key: program + subcommand (`cargo test`, `npm run build`, `pytest`).
    pub key: String,
    /// The program's base name.
    pub program: String,
    pub project_type: &'static str,
    pub category: &'static str,
    pub cwd: PathBuf,
}

impl RunContext {
    pub fn new(argv: &[String], cwd: &Path) -> RunContext {
        let key = command_key(argv);
        RunContext {
            argv: argv.to_vec(),
            program: program(argv),
            category: category(&key),
            project_type: project_type(cwd),
            key,
            cwd: cwd.to_path_buf(),
        }
    }
}

/// The program's base name (`/usr/bin/python3` → `python3`), or empty.
pub fn program(argv: &[String]) -> String {
    argv.first().map(|p| p.rsplit('/').next().unwrap_or(p).to_string()).unwrap_or_default()
}

/// Normalized command key (placeholder: program + first non-option word).
pub fn command_key(argv: &[String]) -> String {
    let prog = program(argv);
    match argv.get(1) {
        Some(w) if !w.starts_with('-') && !w.contains('/') && !w.contains('=') => format!("{prog} {w}"),
        _ => prog,
    }
}

/// Project type from marker files (placeholder).
pub fn project_type(_cwd: &Path) -> &'static str {
    "unknown"
}

/// Command category (placeholder).
pub fn category(_key: &str) -> &'static str {
    "other"
}
