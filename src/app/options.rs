//! The command line's options (clap's `cli::EngineOpts`) mapped to the engine's own types: one
//! mapping for each, so the engine never names clap.

use std::time::Duration;

use crate::cli::{self, EngineOpts, MatchOpts};
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

/// The pattern spec from the matching options and the main pattern.
pub fn pattern_spec(main: Option<&str>, o: &MatchOpts) -> PatternSpec {
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
    // No `..`: a new group of options must be mapped here too.
    let EngineOpts {
        matching: m,
        context: c,
        time: t,
        stuck: s,
        process: p,
        output: out,
        fds,
        lists,
        logs,
    } = o;
    Options {
        ignore_case: m.ignore_case,
        max_count: m.max_count,
        stdout_only: m.stdout_only,
        stderr_only: m.stderr_only,
        before: c.before,
        context: c.context,
        delay_exit: c.delay_exit,
        delay_exit_after_lines: c.delay_exit_after_lines,
        delay_exit_quiet: c.delay_exit_quiet,
        timeout: t.timeout,
        idle_timeout: t.idle_timeout,
        first_output_timeout: t.first_output_timeout,
        stderr_idle_exit: t.stderr_idle_exit,
        max_repeat: s.max_repeat,
        stuck_ignore_timestamps: s.stuck_ignore_timestamps,
        stuck_pattern: s.stuck_pattern.clone(),
        progress_pattern: s.progress_pattern.clone(),
        transition_states: s.transition_states.clone(),
        kill_after: p.kill_after,
        pty: when(p.pty),
        detach: p.detach,
        pid_file: p.pid_file.clone(),
        detach_on_timeout: p.detach_on_timeout,
        color: when(out.color),
        line_number: out.line_number,
        quiet: out.quiet,
        progress: out.progress,
        fd: fds.fd.clone(),
        fd_pattern: fds.fd_pattern.clone(),
        fd_prefix: fds.fd_prefix,
        expect: lists.expect.clone(),
        expect_only: lists.expect_only,
        expect_all: lists.expect_all,
        unexpected: lists.unexpected.clone(),
        on_unexpected: on_unexpected(lists.on_unexpected),
        log: logs.log,
        file_prefix: logs.file_prefix.clone(),
        log_dir: logs.log_dir.clone(),
        append: logs.append,
        gzip: logs.gzip,
        decompress: logs.decompress,
    }
}
