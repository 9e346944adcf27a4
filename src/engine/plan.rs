//! From the run's options to what the engine needs: the compiled matcher, the limits and the
//! supervisor setup. Shared by the grep face and `ee run`; the only place defaults that differ
//! between pipe and command mode are decided. [`Options`] is the engine's own copy of the
//! options (filled from the command line by `app::options`), so nothing here knows the argument parser.

use std::ffi::OsString;
use std::time::Duration;

use std::path::PathBuf;

use crate::engine::matcher::{compile_plain, Matcher, PatternError, PatternSpec};
use crate::engine::outcome::{LimitsUsed, PatternsUsed};
use crate::engine::policy::{Guard, Limits, OnUnexpected, StuckSpec};
use crate::engine::printer::{Decor, HighlightSource};
use crate::engine::supervisor::logs::{self, LogDir, LogSpec};
use crate::engine::supervisor::{Detach, Setup};
use crate::engine::When;

/// Default `--delay-exit` in command mode.
pub const DEFAULT_DELAY_COMMAND: Duration = Duration::from_secs(10);
/// Default quiet gap that ends the delay early in `ee run`.
pub const DEFAULT_QUIET_RUN: Duration = Duration::from_millis(300);

/// The options of one run that the engine acts on (the grep face's and `ee run`'s shared ones,
/// minus what only the app reads: `--json`, `--no-telemetry`, `--watch`…).
#[derive(Debug, Clone, Default)]
pub struct Options {
    // Matching (the patterns themselves and their flags are in the `PatternSpec`).
    pub ignore_case: bool,
    pub max_count: u64,
    pub stdout_only: bool,
    pub stderr_only: bool,
    // Context.
    pub before: usize,
    pub context: Option<u64>,
    pub delay_exit: Option<Duration>,
    pub delay_exit_after_lines: u64,
    pub delay_exit_quiet: Option<Duration>,
    // Time.
    pub timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub first_output_timeout: Option<Duration>,
    pub stderr_idle_exit: Option<Duration>,
    // Stuck detection.
    pub max_repeat: Option<u64>,
    pub stuck_ignore_timestamps: bool,
    pub stuck_pattern: Option<String>,
    pub progress_pattern: Option<String>,
    pub transition_states: Option<String>,
    // Process.
    pub kill_after: Duration,
    pub pty: When,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub detach_on_timeout: bool,
    // Output.
    pub color: When,
    pub line_number: bool,
    pub quiet: bool,
    pub progress: bool,
    // Extra descriptors.
    pub fd: Vec<i32>,
    /// Pairs: descriptor number, pattern.
    pub fd_pattern: Vec<String>,
    pub fd_prefix: bool,
    // Allowlist and blocklist.
    pub expect: Vec<String>,
    pub expect_only: bool,
    pub expect_all: bool,
    pub unexpected: Vec<String>,
    pub on_unexpected: OnUnexpected,
    // Logs and input.
    pub log: bool,
    pub file_prefix: Option<String>,
    pub log_dir: Option<PathBuf>,
    pub append: bool,
    pub gzip: bool,
    pub decompress: bool,
}

/// A fully resolved run.
pub struct Plan {
    pub matcher: Matcher,
    /// `--fd-pattern N PAT`: descriptor N's own matcher.
    pub fd_matchers: Vec<(i32, Matcher)>,
    pub limits: Limits,
    pub patterns: PatternsUsed,
    pub limits_used: LimitsUsed,
    pub opts: Options,
    /// What `--color` highlights in passed-through lines.
    pub highlight: Option<HighlightSource>,
}

/// The matching flags as recorded: `ivwxP`, those in force.
fn flags(o: &PatternSpec) -> String {
    let mut f = String::new();
    for (on, c) in [
        (o.ignore_case, 'i'),
        (o.invert, 'v'),
        (o.word, 'w'),
        (o.line, 'x'),
        (o.pcre, 'P'),
    ] {
        if on {
            f.push(c);
        }
    }
    f
}

impl Plan {
    /// Build the plan. `command_mode` picks the default delay; `quiet` the default quiet gap.
    pub fn new(
        spec: PatternSpec,
        o: &Options,
        command_mode: bool,
        quiet: Option<Duration>,
    ) -> Result<Plan, PatternError> {
        let o = &context(o, command_mode);
        let matcher = Matcher::new(&spec)?;
        let delay = o.delay_exit.unwrap_or(if command_mode {
            DEFAULT_DELAY_COMMAND
        } else {
            Duration::ZERO
        });
        let limits = limits(o, delay, quiet)?;
        let fd_matchers = fd_matchers(o, &spec)?;
        let patterns = PatternsUsed {
            main: spec.main.clone(),
            success: spec.success.clone(),
            error: spec.error.clone(),
            exclude: spec.exclude.clone(),
            flags: flags(&spec),
            learned: false,
        };
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        let limits_used = LimitsUsed {
            timeout: secs(o.timeout),
            idle_timeout: secs(o.idle_timeout),
            first_output_timeout: secs(o.first_output_timeout),
            delay_exit: delay.as_secs_f64(),
            timeout_learned: false,
            hang_quiet: None,
        };
        let highlight = if o.color == When::Never {
            None
        } else {
            matcher
                .highlight_source()
                .map(|(source, pcre)| HighlightSource {
                    source,
                    pcre,
                    exclude: matcher.exclude_res(),
                })
        };
        Ok(Plan {
            matcher,
            fd_matchers,
            limits,
            patterns,
            limits_used,
            opts: o.clone(),
            highlight,
        })
    }
    /// `ee run`: the quiet gap that ends the delay after a match, as learned for this command
    /// (`--delay-exit-quiet` still wins).
    pub fn set_quiet(&mut self, quiet: Duration) {
        self.limits.delay_quiet = self.opts.delay_exit_quiet.or(Some(quiet));
    }

    /// `ee run`: a routed command looks as it does bare, so matches are highlighted only when
    /// asked with `--color always`.
    pub fn highlight_only_when_always(&mut self) {
        if self.opts.color != When::Always {
            self.highlight = None;
        }
    }

    /// The supervisor setup for this plan. `run_face`: `ee run`, where `--pty auto` gives the
    /// child a terminal exactly on the streams where the bare command would have one.
    pub fn setup<'a>(&'a self, argv: &'a [OsString], json: bool, run_face: bool) -> Setup<'a> {
        let o = &self.opts;
        Setup {
            argv,
            matcher: &self.matcher,
            limits: self.limits.clone(),
            match_stdout: !o.stderr_only,
            match_stderr: !o.stdout_only,
            before: o.before,
            kill_after: o.kill_after,
            pty: o.pty,
            mirror_terminals: run_face,
            color: o.color,
            stdout_to_stderr: json,
            env: Vec::new(),
            fds: o
                .fd
                .iter()
                .map(|n| {
                    (
                        *n,
                        self.fd_matchers
                            .iter()
                            .find(|(m, _)| m == n)
                            .map(|(_, m)| m),
                    )
                })
                .collect(),
            prefix: o.fd_prefix,
            logs: (o.log || o.file_prefix.is_some() || o.log_dir.is_some()).then(|| {
                let (prefix, dir) = log_prefix(
                    o,
                    argv.first()
                        .map(|a| a.to_string_lossy())
                        .as_deref()
                        .unwrap_or("stdin"),
                );
                LogSpec {
                    prefix,
                    dir,
                    append: o.append,
                    gzip: o.gzip,
                }
            }),
            detach: Detach {
                on_match: o.detach,
                on_timeout: o.detach_on_timeout,
                pid_file: o.pid_file.clone(),
            },
            decor: Decor::new(o.line_number, self.highlight.clone(), o.color),
            progress: o.progress,
            decompress: o.decompress,
            quiet: o.quiet,
        }
    }
}

/// Stuck detection: `--max-repeat`, `--stuck-pattern` (which implies 3 repeats),
/// `--progress-pattern` (whose N lines replace the repeat count).
fn stuck_spec(o: &Options) -> Result<StuckSpec, PatternError> {
    let stuck = StuckSpec {
        max_repeat: if o.progress_pattern.is_some() {
            None
        } else {
            o.max_repeat
        },
        ignore_timestamps: o.stuck_ignore_timestamps,
        extract: o.stuck_pattern.as_deref().map(compile_plain).transpose()?,
        progress: o
            .progress_pattern
            .as_deref()
            .map(compile_plain)
            .transpose()?,
        progress_lines: o.max_repeat.unwrap_or(100),
    };
    Ok(StuckSpec {
        max_repeat: if stuck.extract.is_some() {
            o.max_repeat.or(Some(3))
        } else {
            stuck.max_repeat
        },
        ..stuck
    })
}

/// The limits the policy enforces.
fn limits(o: &Options, delay: Duration, quiet: Option<Duration>) -> Result<Limits, PatternError> {
    let stuck = stuck_spec(o)?;
    Ok(Limits {
        timeout: o.timeout,
        idle: o.idle_timeout,
        first_output: o.first_output_timeout,
        delay_exit: delay,
        delay_lines: o.delay_exit_after_lines,
        delay_quiet: o.delay_exit_quiet.or(quiet),
        max_count: o.max_count.max(1),
        stuck,
        guard: Guard {
            expect: compile_all(&o.expect, o.ignore_case)?,
            expect_only: o.expect_only,
            expect_all: o.expect_all,
            unexpected: compile_all(&o.unexpected, o.ignore_case)?,
            on_unexpected: o.on_unexpected,
        },
        transitions: match &o.transition_states {
            Some(spec) => transition_states(spec)?,
            None => Vec::new(),
        },
        stderr_idle: o.stderr_idle_exit,
        hang_quiet: None,
        interrupt_stop: false,
    })
}

/// `--fd-pattern N PAT`: descriptor N's own matcher (N must be given with `--fd`).
fn fd_matchers(o: &Options, spec: &PatternSpec) -> Result<Vec<(i32, Matcher)>, PatternError> {
    let mut fd_matchers = Vec::new();
    for pair in o.fd_pattern.chunks(2) {
        let n: i32 = pair[0].parse().ok().filter(|n| *n >= 3).ok_or_else(|| {
            PatternError(format!(
                "--fd-pattern: '{}' is not a descriptor number >= 3",
                pair[0]
            ))
        })?;
        if !o.fd.contains(&n) {
            return Err(PatternError(format!(
                "--fd-pattern {n}: descriptor {n} is not given with --fd {n}"
            )));
        }
        let spec = PatternSpec {
            main: pair.get(1).cloned(),
            observe: Vec::new(),
            ..spec.clone()
        };
        fd_matchers.push((n, Matcher::new(&spec)?));
    }
    Ok(fd_matchers)
}

/// `-C N`: `-B N` and `--delay-exit-after-lines N`; in a pipe, where the delay is 0 by default,
/// it also reads on for up to the command-mode delay so that the N lines after can come.
fn context(o: &Options, command_mode: bool) -> Options {
    let mut o = o.clone();
    if let Some(n) = o.context {
        o.before = usize::try_from(n).unwrap_or(usize::MAX);
        o.delay_exit_after_lines = n;
        if !command_mode && o.delay_exit.is_none() && n > 0 {
            o.delay_exit = Some(DEFAULT_DELAY_COMMAND);
        }
    }
    o
}

fn compile_flags(p: &str, ci: bool) -> Result<regex::bytes::Regex, PatternError> {
    compile_plain(&if ci {
        format!("(?i:{p})")
    } else {
        p.to_string()
    })
}

/// Every pattern of a list (`--expect`, `--unexpected`), compiled by [`compile_flags`].
fn compile_all(ps: &[String], ci: bool) -> Result<Vec<regex::bytes::Regex>, PatternError> {
    ps.iter().map(|p| compile_flags(p, ci)).collect()
}

/// `--transition-states 'A>B>C'`: one regex per state, in order.
fn transition_states(spec: &str) -> Result<Vec<regex::bytes::Regex>, PatternError> {
    let states: Vec<&str> = spec.split('>').map(str::trim).collect();
    if states.len() < 2 || states.iter().any(|s| s.is_empty()) {
        return Err(PatternError(format!(
            "--transition-states '{spec}': give at least two states, like 'A>B>C'"
        )));
    }
    states.iter().map(|s| compile_plain(s)).collect()
}

/// Log file prefix and its directory: `--file-prefix` (inside `--log-dir` when it has no `/`),
/// else `DIR/ee-PROGRAM-PID` with DIR from `--log-dir` or ee's private log directory.
fn log_prefix(o: &Options, program: &str) -> (std::path::PathBuf, LogDir) {
    let (dir, kind) = match &o.log_dir {
        Some(d) => (d.clone(), LogDir::Given(d.clone())),
        None => match logs::private_dir() {
            Some(d) => (d.clone(), LogDir::Private(d)),
            None => (std::path::PathBuf::new(), LogDir::Unavailable),
        },
    };
    match &o.file_prefix {
        Some(p) if o.log_dir.is_some() && !p.contains('/') => (dir.join(p), kind),
        Some(p) => (std::path::PathBuf::from(p), LogDir::Prefix),
        None => {
            let prog: String = program
                .rsplit('/')
                .next()
                .unwrap_or("stdin")
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let prog = if prog.is_empty() {
                "stdin".to_string()
            } else {
                prog
            };
            (dir.join(format!("ee-{prog}-{}", std::process::id())), kind)
        }
    }
}
