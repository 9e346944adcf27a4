//! The engine run shared by the grep face and `ee run`: execute a plan, build the outcome, print
//! the `--json` report, record telemetry after the user's output is flushed.

use std::ffi::OsString;
use std::time::SystemTime;

use crate::app::{Exit, Fail};
use crate::cli::EngineOpts;
use crate::engine::outcome::{Mode, Outcome};
use crate::engine::plan::Plan;
use crate::engine::policy::Reason;
use crate::engine::supervisor::{self, Observed, SpawnError};

/// Run the grep face's plan (`ee run` goes through [`start`] and [`watch`]). `argv` empty
/// means pipe mode.
pub fn execute(
    plan: &Plan,
    o: &EngineOpts,
    argv: &[OsString],
    mode: Mode,
) -> Result<Outcome, SpawnError> {
    let started = SystemTime::now();
    if !o.output.no_telemetry && !crate::store::disabled_by_env() {
        // Open the store while the command runs (a no-op when `app::prepare_early` began it:
        // the thread is told the command).
        crate::store::prepare(argv, false);
    }
    let setup = plan.setup(argv, o.output.json, false);
    let obs: Observed = if argv.is_empty() {
        supervisor::watch_stdin(&setup).map_err(|e| SpawnError::Other(e.to_string()))?
    } else {
        supervisor::watch_command(&setup)?
    };
    Ok(outcome(plan, argv, mode, started, obs))
}

/// A command started before its plan is final (`ee run`: the learning lookup runs while the
/// command starts); [`watch`] takes it over with the final plan.
pub struct Started {
    child: supervisor::Started,
    started: SystemTime,
}

/// Spawn `argv` as `plan` says (`--json`, ptys, descriptors, logs: what decides how it
/// starts), without watching it yet.
pub fn start(plan: &Plan, o: &EngineOpts, argv: &[OsString]) -> Result<Started, SpawnError> {
    let started = SystemTime::now();
    let setup = plan.setup(argv, o.output.json, true);
    let child = supervisor::start_command(&setup)?;
    Ok(Started { child, started })
}

/// Watch a command [`start`]ed with an earlier plan, with `plan` (the same options, plus what
/// was learned: patterns, timeout, quiet gap), and build its outcome.
pub fn watch(
    started: Started,
    plan: &Plan,
    o: &EngineOpts,
    argv: &[OsString],
) -> Result<Outcome, SpawnError> {
    let setup = plan.setup(argv, o.output.json, true);
    let obs = supervisor::watch_started(&setup, started.child)?;
    Ok(outcome(plan, argv, Mode::Run, started.started, obs))
}

fn outcome(
    plan: &Plan,
    argv: &[OsString],
    mode: Mode,
    started: SystemTime,
    run: Observed,
) -> Outcome {
    let cwd = std::env::current_dir()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    Outcome {
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
        run,
    }
}

/// Print the JSON report (when asked) and record the run; returns how ee ends.
pub fn finish(o: &EngineOpts, outcome: &Outcome) -> Exit {
    if o.output.json {
        let mut s = outcome.to_json().to_string();
        s.push('\n');
        crate::output::write_bytes(s.as_bytes());
    }
    if !o.output.no_telemetry && !crate::store::disabled_by_env() {
        super::record::record(outcome, o.output.quiet);
    }
    if o.output.watch && matches!(outcome.reason, Reason::Interrupted(_)) {
        super::teach::offer(outcome, o.output.quiet);
    }
    if outcome.ended_by_sigint() {
        Exit::Sigint(outcome.exit_code)
    } else {
        Exit::Code(outcome.exit_code)
    }
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
