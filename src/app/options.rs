//! The command line's options (clap's `cli::EngineOpts`) mapped to the engine's own types: one
//! mapping for each, so the engine never names clap.

use std::time::Duration;

use crate::cli::{self, EngineOpts};
use crate::engine::matcher::{PatternError, PatternSpec};
use crate::engine::plan::{Options, Plan};
use crate::engine::policy::OnUnexpected;
use crate::engine::When;

/// The plan of a run from the command line's options (see [`Plan::new`]).
pub fn plan(
    spec: PatternSpec,
    o: &EngineOpts,
    command_mode: bool,
    quiet: Option<Duration>,
) -> Result<Plan, PatternError> {
    Plan::new(spec, &engine(o), command_mode, quiet)
}

/// The pattern spec from the options and the main pattern.
pub fn pattern_spec(main: Option<&str>, o: &EngineOpts) -> PatternSpec {
    PatternSpec {
        main: main.map(str::to_string),
        success: o.success.clone(),
        error: o.error.clone(),
        exclude: o.exclude.clone(),
        observe: Vec::new(),
        ignore_case: o.ignore_case,
        invert: o.invert,
        word: o.word,
        line: o.line,
        pcre: o.pcre,
    }
}

fn when(w: cli::When) -> When {
    match w {
        cli::When::Auto => When::Auto,
        cli::When::Always => When::Always,
        cli::When::Never => When::Never,
    }
}

fn on_unexpected(a: cli::OnUnexpected) -> OnUnexpected {
    match a {
        cli::OnUnexpected::Warn => OnUnexpected::Warn,
        cli::OnUnexpected::Error => OnUnexpected::Error,
        cli::OnUnexpected::Exit => OnUnexpected::Exit,
    }
}

/// The engine's options. Exhaustive on purpose: a new engine option must be mapped here.
pub fn engine(o: &EngineOpts) -> Options {
    Options {
        ignore_case: o.ignore_case,
        max_count: o.max_count,
        stdout_only: o.stdout_only,
        stderr_only: o.stderr_only,
        before: o.before,
        context: o.context,
        delay_exit: o.delay_exit,
        delay_exit_after_lines: o.delay_exit_after_lines,
        delay_exit_quiet: o.delay_exit_quiet,
        timeout: o.timeout,
        idle_timeout: o.idle_timeout,
        first_output_timeout: o.first_output_timeout,
        stderr_idle_exit: o.stderr_idle_exit,
        max_repeat: o.max_repeat,
        stuck_ignore_timestamps: o.stuck_ignore_timestamps,
        stuck_pattern: o.stuck_pattern.clone(),
        progress_pattern: o.progress_pattern.clone(),
        transition_states: o.transition_states.clone(),
        kill_after: o.kill_after,
        pty: when(o.pty),
        detach: o.detach,
        pid_file: o.pid_file.clone(),
        detach_on_timeout: o.detach_on_timeout,
        color: when(o.color),
        line_number: o.line_number,
        quiet: o.quiet,
        progress: o.progress,
        fd: o.fd.clone(),
        fd_pattern: o.fd_pattern.clone(),
        fd_prefix: o.fd_prefix,
        expect: o.expect.clone(),
        expect_only: o.expect_only,
        expect_all: o.expect_all,
        unexpected: o.unexpected.clone(),
        on_unexpected: on_unexpected(o.on_unexpected),
        log: o.log,
        file_prefix: o.file_prefix.clone(),
        log_dir: o.log_dir.clone(),
        append: o.append,
        gzip: o.gzip,
        decompress: o.decompress,
    }
}
