//! The grep face (`ee PATTERN -- CMD`, pipe mode) and the engine options both faces share.

use std::ffi::OsString;
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};

use super::argv::{parse_before, parse_duration};

/// Exit-status table of the grep face, shown in `--help` and the man page.
pub const GREP_EXIT_STATUS: &str = "\
Exit status (grep face):
  0    pattern matched (or a --success-pattern matched)
  1    no match (or an --error-pattern matched)
  2    timeout (overall, idle, first-output, stderr-idle) or output stuck
  3    usage error, invalid regex, bad duration, command not found
  4    detached (-D): the child was left running
  5    unexpected line (--expect-only, --unexpected)
  6    an --expect pattern was never seen (--expect-all)
  130  interrupted (Ctrl-C); 128+N for signal N
  141  ee's stdout was closed (`ee ... | head -1`)
  Without any pattern the child's own exit status is returned.
  --unix-exit-codes swaps 0 and 1.";

/// The grep face: pattern positional plus an optional command.
#[derive(Debug, Args, Clone, Default)]
pub struct GrepArgs {
    /// Regex whose match decides the outcome (Rust regex syntax, matched on bytes)
    #[arg(value_name = "PATTERN", conflicts_with = "pattern")]
    pub pattern_pos: Option<String>,

    /// Pattern given as an option (use it for a pattern that is a subcommand name)
    #[arg(long = "pattern", value_name = "PATTERN")]
    pub pattern: Option<String>,

    /// Command to run and watch (after the pattern, or after `--`)
    #[arg(value_name = "COMMAND", last = true, allow_hyphen_values = true)]
    pub command: Vec<OsString>,

    #[command(flatten)]
    pub profiles: ProfileOpts,

    #[command(flatten)]
    pub listing: ListProfilesOpts,

    #[command(flatten)]
    pub engine: EngineOpts,

    /// Set by `app::parse` when the user left out the `--` before the command.
    #[arg(skip)]
    pub dash_implied: bool,
}

/// The grep face alone, as a parser of its own (no subcommands to build), for argument lists that
/// name no subcommand; anything it does not parse goes through the whole [`super::Cli`].
#[derive(Debug, Parser)]
#[command(name = "ee", version)]
pub struct GrepOnly {
    #[command(flatten)]
    pub grep: GrepArgs,
}

impl GrepArgs {
    /// The main pattern, from the positional or `--pattern`.
    pub fn main_pattern(&self) -> Option<&str> {
        self.pattern_pos.as_deref().or(self.pattern.as_deref())
    }
}

/// Help headings shared by a grep-face-only group and an engine group.
const MATCHING: &str = "Matching";
const OUTPUT: &str = "Output";

/// `--profile` (grep face only), listed first among the matching options.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = MATCHING)]
pub struct ProfileOpts {
    /// Apply a built-in or user profile's patterns as error patterns (repeatable; see --list-profiles)
    #[arg(long = "profile", value_name = "NAME")]
    pub profile: Vec<String>,
}

/// `--list-profiles` (grep face only), listed first among the output options.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = OUTPUT)]
pub struct ListProfilesOpts {
    /// List the pattern profiles (as 'ee profile list')
    #[arg(long = "list-profiles", exclusive = true)]
    pub list_profiles: bool,
}

/// Options shared by both faces, one group per help heading, each naming its heading once
/// (`next_help_heading`). `--help` shows a heading where its first option is declared and its
/// options in declaration order. The last heading stays set after these groups: a positional
/// declared after them would be listed under it instead of under "Arguments".
#[derive(Debug, Args, Clone, Default)]
pub struct EngineOpts {
    #[command(flatten)]
    pub matching: MatchOpts,
    #[command(flatten)]
    pub context: ContextOpts,
    #[command(flatten)]
    pub time: TimeOpts,
    #[command(flatten)]
    pub stuck: StuckOpts,
    #[command(flatten)]
    pub process: ProcessOpts,
    #[command(flatten)]
    pub output: OutputOpts,
    #[command(flatten)]
    pub fds: FdOpts,
    #[command(flatten)]
    pub lists: ListOpts,
    #[command(flatten)]
    pub logs: LogOpts,
}

impl EngineOpts {
    /// Every option as the parser leaves it when the command line does not give it: the Rust
    /// defaults but for the four options with a default value of their own (the test
    /// `app::tests::run_with_no_option_skips_the_parser_as_the_parser_reads_it` holds the two
    /// together).
    pub fn unset() -> EngineOpts {
        let mut o = EngineOpts::default();
        o.matching.max_count = 1;
        o.context.before = 3;
        o.context.delay_exit_after_lines = 100;
        o.process.kill_after = Duration::from_secs(5);
        o
    }
}

/// What counts as a match, and on which stream.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = MATCHING)]
pub struct MatchOpts {
    /// Case-insensitive matching
    #[arg(short = 'i', long = "ignore-case")]
    pub ignore_case: bool,
    /// Invert: a line that does NOT match counts as a match
    #[arg(short = 'v', long = "invert-match")]
    pub invert: bool,
    /// Match whole words only
    #[arg(short = 'w', long = "word-regexp")]
    pub word: bool,
    /// Match whole lines only
    #[arg(short = 'x', long = "line-regexp")]
    pub line: bool,
    /// Stop after N matches
    #[arg(short = 'm', long = "max-count", value_name = "N", default_value_t = 1)]
    pub max_count: u64,
    /// Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking
    #[arg(short = 'P', long = "pcre")]
    pub pcre: bool,
    /// Lines matching PAT never count (repeatable)
    #[arg(short = 'X', long = "exclude", value_name = "PAT")]
    pub exclude: Vec<String>,
    /// A match means success: exit 0 (repeatable; first of -s/-e to match decides)
    #[arg(short = 's', long = "success-pattern", value_name = "PAT")]
    pub success: Vec<String>,
    /// A match means failure: exit 1 (repeatable; first of -s/-e to match decides)
    #[arg(short = 'e', long = "error-pattern", value_name = "PAT")]
    pub error: Vec<String>,
    /// Match only the child's stdout (stderr is still passed through)
    #[arg(long = "stdout", conflicts_with = "stderr_only")]
    pub stdout_only: bool,
    /// Match only the child's stderr (stdout is still passed through)
    #[arg(long = "stderr")]
    pub stderr_only: bool,
}

/// The lines kept around a match, and how long ee reads on after it.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Context")]
pub struct ContextOpts {
    /// Lines before the match kept as context in the report (never printed twice)
    #[arg(
        short = 'B',
        long = "before-context",
        value_name = "N",
        default_value_t = 3,
        value_parser = parse_before
    )]
    pub before: usize,
    /// Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)
    #[arg(short = 'C', long = "context", value_name = "N")]
    pub context: Option<u64>,
    /// Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]
    #[arg(short = 'A', long = "delay-exit", value_name = "DURATION", value_parser = parse_duration)]
    pub delay_exit: Option<Duration>,
    /// End the delay early after N more lines (grep's --after-context)
    #[arg(
        long = "delay-exit-after-lines",
        visible_alias = "after-context",
        value_name = "N",
        default_value_t = 100
    )]
    pub delay_exit_after_lines: u64,
    /// End the delay early once output has been quiet this long after the match [ee run: learned, 300ms]
    #[arg(long = "delay-exit-quiet", value_name = "DURATION", value_parser = parse_duration)]
    pub delay_exit_quiet: Option<Duration>,
}

/// Timeouts.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Time")]
pub struct TimeOpts {
    /// Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)
    #[arg(short = 't', long = "timeout", value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Stop when there has been no output for DURATION
    #[arg(short = 'I', long = "idle-timeout", value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,
    /// Stop when there is no first output within DURATION
    #[arg(short = 'F', long = "first-output-timeout", value_name = "DURATION", value_parser = parse_duration)]
    pub first_output_timeout: Option<Duration>,
    /// Stop once stderr has been quiet this long after it first spoke
    #[arg(long = "stderr-idle-exit", value_name = "DURATION", value_parser = parse_duration)]
    pub stderr_idle_exit: Option<Duration>,
}

/// When output counts as stuck.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Stuck detection")]
pub struct StuckOpts {
    /// Stuck when the same line repeats N times in a row (blank lines never count)
    #[arg(long = "max-repeat", value_name = "N")]
    pub max_repeat: Option<u64>,
    /// Compare lines with clock times, dates, ISO-8601 stamps and epochs removed
    #[arg(long = "stuck-ignore-timestamps")]
    pub stuck_ignore_timestamps: bool,
    /// Compare only the part of each line that RE extracts (first group, else whole match)
    #[arg(long = "stuck-pattern", value_name = "RE")]
    pub stuck_pattern: Option<String>,
    /// Stuck when the counter RE extracts does not change for N lines (N from --max-repeat, default 100)
    #[arg(long = "progress-pattern", value_name = "RE")]
    pub progress_pattern: Option<String>,
    /// States in order, 'A>B>C' (regexes): stuck (exit 2) when a state goes backwards
    #[arg(long = "transition-states", value_name = "SPEC")]
    pub transition_states: Option<String>,
}

/// How the child is run, stopped or left running.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Process")]
pub struct ProcessOpts {
    /// After SIGTERM, wait this long before SIGKILL
    #[arg(long = "kill-after", value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub kill_after: Duration,
    /// Give the child pseudo-terminals for its output (auto: in ee run, on each stream whose destination is a terminal, as for the bare command; otherwise on both)
    #[arg(long = "pty", value_enum, value_name = "WHEN", default_value_t = When::Auto)]
    pub pty: When,
    /// On match, exit 4 and leave the child running (its output still drained)
    #[arg(short = 'D', long = "detach")]
    pub detach: bool,
    /// Write the child's PID (and process group) to PATH when detaching
    #[arg(long = "pid-file", value_name = "PATH")]
    pub pid_file: Option<std::path::PathBuf>,
    /// On a timeout, detach (exit 4) instead of stopping the child
    #[arg(long = "detach-on-timeout")]
    pub detach_on_timeout: bool,
}

/// What ee prints, returns and records.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = OUTPUT)]
pub struct OutputOpts {
    /// Highlight matches and keep the child's colour escapes (auto: only on a terminal, and no highlights with NO_COLOR; ee run highlights only with always)
    #[arg(long = "color", alias = "colour", value_enum, value_name = "WHEN", default_value_t = When::Auto)]
    pub color: When,
    /// Prefix passed-through lines with their line number (per stream in command mode)
    #[arg(short = 'n', long = "line-number")]
    pub line_number: bool,
    /// Silence ee's own messages (not the child's output)
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Print one JSON object describing the run on stdout; the child's output goes to stderr
    #[arg(long = "json")]
    pub json: bool,
    /// Swap exit statuses 0 and 1 (0 = no match, 1 = match)
    #[arg(long = "unix-exit-codes")]
    pub unix_exit_codes: bool,
    /// Record nothing in the telemetry database (also EARLYEXIT_NO_TELEMETRY=1)
    #[arg(long = "no-telemetry")]
    pub no_telemetry: bool,
    /// Read a log on stdin and print match statistics, running nothing
    #[arg(long = "test-pattern")]
    pub test_pattern: bool,
    /// A self-updating status line on stderr (when it is a terminal)
    #[arg(long = "progress")]
    pub progress: bool,
    /// Interactive learning: on Ctrl-C, suggest an error pattern and a timeout from what was
    /// seen, and store them for this command on confirmation
    #[arg(long = "watch")]
    pub watch: bool,
}

/// Extra descriptors given to the child and watched.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Extra descriptors")]
pub struct FdOpts {
    /// Give the child an extra pipe as descriptor N (>= 3) and watch it too (repeatable)
    #[arg(long = "fd", value_name = "N", value_parser = clap::value_parser!(i32).range(3..=1023))]
    pub fd: Vec<i32>,
    /// Use PAT (instead of the main pattern) for descriptor N (repeatable)
    #[arg(long = "fd-pattern", num_args = 2, value_names = ["N", "PAT"], action = clap::ArgAction::Append)]
    pub fd_pattern: Vec<String>,
    /// Label passed-through lines [stdout], [stderr], [fdN]
    #[arg(long = "fd-prefix")]
    pub fd_prefix: bool,
}

/// The allowlist (`--expect`) and the blocklist (`--unexpected`).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Allowlist and blocklist")]
pub struct ListOpts {
    /// Allowlist pattern (repeatable), for --expect-only / --expect-all
    #[arg(long = "expect", value_name = "PAT")]
    pub expect: Vec<String>,
    /// Any non-blank line matching no --expect pattern is unexpected (exit 5)
    #[arg(long = "expect-only", requires = "expect")]
    pub expect_only: bool,
    /// An --expect pattern never seen by the end fails the run (exit 6)
    #[arg(long = "expect-all", requires = "expect")]
    pub expect_all: bool,
    /// A line matching PAT is unexpected (exit 5) (repeatable)
    #[arg(long = "unexpected", value_name = "PAT")]
    pub unexpected: Vec<String>,
    /// On an unexpected line: warn and go on, fail at the end (error), or stop now (exit)
    #[arg(long = "on-unexpected", value_enum, value_name = "ACTION", default_value_t = OnUnexpected::Exit)]
    pub on_unexpected: OnUnexpected,
}

/// Log files of the complete output, and compressed input.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Logs")]
pub struct LogOpts {
    /// Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)
    #[arg(short = 'l', long = "log")]
    pub log: bool,
    /// Log file prefix P (implies --log) [default: DIR/ee-PROGRAM-PID]
    #[arg(long = "file-prefix", value_name = "P")]
    pub file_prefix: Option<String>,
    /// Directory for log files, created (mode 0700) when missing (implies --log) [default: a private directory under the user's state directory]
    #[arg(long = "log-dir", value_name = "DIR")]
    pub log_dir: Option<std::path::PathBuf>,
    /// Append to the log files instead of truncating them
    #[arg(short = 'a', long = "append")]
    pub append: bool,
    /// Compress the log files with gzip (.gz)
    #[arg(short = 'z', long = "gzip")]
    pub gzip: bool,
    /// Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes
    #[arg(short = 'Z', long = "decompress")]
    pub decompress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OnUnexpected {
    /// Print a warning and go on
    Warn,
    /// Go on, fail at the end (exit 5)
    Error,
    /// Stop at once (exit 5)
    #[default]
    Exit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum When {
    #[default]
    Auto,
    Always,
    Never,
}
