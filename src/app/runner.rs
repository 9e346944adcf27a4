//! The engine run shared by the grep face and `ee run`: execute a plan, build the outcome, print
//! the `--json` report, record telemetry after the user's output is flushed.

use std::ffi::OsString;
use std::time::SystemTime;

use crate::app::Fail;
use crate::engine::outcome::{Mode, Outcome};
use crate::engine::plan::Plan;
use crate::engine::policy::Reason;
use crate::engine::supervisor::{self, Observed, SpawnError};

/// Run the plan. `argv` empty means pipe mode.
pub fn execute(plan: &Plan, argv: &[OsString], mode: Mode) -> Result<Outcome, SpawnError> {
    let started = SystemTime::now();
    if !plan.opts.no_telemetry && !crate::store::disabled_by_env() {
        // Open the store while the command runs (a no-op when `ee run` already did).
        crate::store::prepare(argv);
    }
    let setup = plan.setup(argv, plan.opts.json, mode == Mode::Run);
    let obs: Observed = if argv.is_empty() {
        supervisor::watch_stdin(&setup).map_err(|e| SpawnError::Other(e.to_string()))?
    } else {
        supervisor::watch_command(&setup)?
    };
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Outcome {
        mode,
        argv: argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        started,
        cwd,
        patterns: plan.patterns.clone(),
        limits: plan.limits_used,
        exit_code: 0,
        child: obs.child,
        reason: obs.reason,
        total: obs.total,
        to_first_output: obs.to_first_output,
        to_first_match: obs.to_first_match,
        match_count: obs.match_count,
        stdout: obs.stdout,
        stderr: obs.stderr,
        stopped_early: obs.stopped_early,
        detached: obs.detached,
        matches: obs.matches,
        observed: obs.observed,
        ends_line: obs.ends_line,
    })
}

/// Print the JSON report (when asked) and record the run; returns the exit status.
pub fn finish(plan: &Plan, outcome: &Outcome) -> i32 {
    if plan.opts.json {
        let mut s = outcome.to_json().to_string();
        s.push('\n');
        crate::output::write_bytes(s.as_bytes());
    }
    if !plan.opts.no_telemetry && !crate::store::disabled_by_env() {
        crate::store::record(outcome, plan.opts.quiet);
    }
    if plan.opts.watch && matches!(outcome.reason, Reason::Interrupted(_)) {
        super::teach::offer(outcome, plan.opts.quiet);
    }
    if outcome.reason == Reason::Interrupted(nix::sys::signal::Signal::SIGINT as i32) {
        super::RERAISE_SIGINT.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    outcome.exit_code
}

/// One-line message for a command that could not be started, with the face's exit status.
pub fn spawn_fail(e: SpawnError, run_face: bool) -> Fail {
    match e {
        SpawnError::NotFound(n) => Fail::new(
            if run_face { 127 } else { 3 },
            format!("command not found: {n}"),
        ),
        SpawnError::NotExecutable(n) => Fail::new(
            if run_face { 126 } else { 3 },
            format!("permission denied: {n}"),
        ),
        SpawnError::Other(m) => Fail::new(if run_face { 125 } else { 3 }, m),
    }
}
