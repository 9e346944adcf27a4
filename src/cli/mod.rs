//! All clap definitions: the grep face (`ee PATTERN -- CMD`), the wrapper face (`ee run`) and every
//! subcommand. Nothing here does I/O; the same types feed the parser, the completion scripts and the
//! man pages.

use std::ffi::OsString;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The long description of `ee --help`.
const LONG_ABOUT: &str =
    "Watch a command's output (or a pipe) line by line and stop it the moment \
the outcome is known: an error pattern matched, a success pattern matched, a timeout, or output \
stuck repeating.

  cmd | ee [OPTIONS] PATTERN                   pipe mode
  ee [OPTIONS] PATTERN [--] COMMAND [ARGS...]  command mode
  ee [OPTIONS] -- COMMAND [ARGS...]            command mode, timeouts and stuck detection only

The first positional word is always the pattern. To use a pattern that is a subcommand name \
(run, init, ...), pass it with --pattern.";

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

/// Exit-status table of the wrapper face (`ee run`).
pub const RUN_EXIT_STATUS: &str = "\
Exit status (ee run):
  N      the child's own exit status when it ran to the end (128+N when it died of signal N)
  1      ee stopped it on an error pattern
  124    a timeout stopped it (as coreutils timeout), or output stuck
  4/5/6  detached / unexpected line / expected line missing (as in the grep face)
  125    usage error or internal failure of ee
  126    the command is not executable
  127    the command was not found
  130    interrupted (Ctrl-C)";

/// Names of the subcommands: a first word that is exactly one of these is the subcommand.
pub const SUBCOMMANDS: &[&str] = &[
    "run",
    "init",
    "route",
    "suggest",
    "stats",
    "telemetry",
    "feedback",
    "profile",
    "team",
    "completions",
    "man",
    "__complete",
    "help",
];

#[derive(Debug, Parser)]
#[command(
    name = "ee",
    bin_name = "ee",
    version,
    about = "Watch a command's output and stop it the moment the outcome is known",
    long_about = LONG_ABOUT,
    after_help = GREP_EXIT_STATUS,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub grep: GrepArgs,
}

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

    /// Apply a built-in or user profile's patterns as error patterns (repeatable; see --list-profiles)
    #[arg(long = "profile", value_name = "NAME", help_heading = "Matching")]
    pub profile: Vec<String>,

    /// List the pattern profiles (as 'ee profile list')
    #[arg(long = "list-profiles", exclusive = true, help_heading = "Output")]
    pub list_profiles: bool,

    #[command(flatten)]
    pub engine: EngineOpts,

    /// Set by `cmd::parse` when the user left out the `--` before the command.
    #[arg(skip)]
    pub dash_implied: bool,
}

impl GrepArgs {
    /// The main pattern, from the positional or `--pattern`.
    pub fn main_pattern(&self) -> Option<&str> {
        self.pattern_pos.as_deref().or(self.pattern.as_deref())
    }
}

/// Options shared by both faces: matching, time, stuck detection, process and output control.
#[derive(Debug, Args, Clone, Default)]
pub struct EngineOpts {
    /// Case-insensitive matching
    #[arg(short = 'i', long = "ignore-case", help_heading = "Matching")]
    pub ignore_case: bool,
    /// Invert: a line that does NOT match counts as a match
    #[arg(short = 'v', long = "invert-match", help_heading = "Matching")]
    pub invert: bool,
    /// Match whole words only
    #[arg(short = 'w', long = "word-regexp", help_heading = "Matching")]
    pub word: bool,
    /// Match whole lines only
    #[arg(short = 'x', long = "line-regexp", help_heading = "Matching")]
    pub line: bool,
    /// Stop after N matches
    #[arg(
        short = 'm',
        long = "max-count",
        value_name = "N",
        default_value_t = 1,
        help_heading = "Matching"
    )]
    pub max_count: u64,
    /// Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking
    #[arg(short = 'P', long = "pcre", help_heading = "Matching")]
    pub pcre: bool,
    /// Lines matching PAT never count (repeatable)
    #[arg(
        short = 'X',
        long = "exclude",
        value_name = "PAT",
        help_heading = "Matching"
    )]
    pub exclude: Vec<String>,
    /// A match means success: exit 0 (repeatable; first of -s/-e to match decides)
    #[arg(
        short = 's',
        long = "success-pattern",
        value_name = "PAT",
        help_heading = "Matching"
    )]
    pub success: Vec<String>,
    /// A match means failure: exit 1 (repeatable; first of -s/-e to match decides)
    #[arg(
        short = 'e',
        long = "error-pattern",
        value_name = "PAT",
        help_heading = "Matching"
    )]
    pub error: Vec<String>,
    /// Match only the child's stdout (stderr is still passed through)
    #[arg(
        long = "stdout",
        conflicts_with = "stderr_only",
        help_heading = "Matching"
    )]
    pub stdout_only: bool,
    /// Match only the child's stderr (stdout is still passed through)
    #[arg(long = "stderr", help_heading = "Matching")]
    pub stderr_only: bool,

    /// Lines before the match kept as context in the report (never printed twice)
    #[arg(
        short = 'B',
        long = "before-context",
        value_name = "N",
        default_value_t = 3,
        value_parser = parse_before,
        help_heading = "Context"
    )]
    pub before: usize,
    /// Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)
    #[arg(
        short = 'C',
        long = "context",
        value_name = "N",
        help_heading = "Context"
    )]
    pub context: Option<u64>,
    /// Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]
    #[arg(short = 'A', long = "delay-exit", value_name = "DURATION", value_parser = parse_duration, help_heading = "Context")]
    pub delay_exit: Option<Duration>,
    /// End the delay early after N more lines (grep's --after-context)
    #[arg(
        long = "delay-exit-after-lines",
        visible_alias = "after-context",
        value_name = "N",
        default_value_t = 100,
        help_heading = "Context"
    )]
    pub delay_exit_after_lines: u64,
    /// End the delay early once output has been quiet this long after the match [ee run: learned, 300ms]
    #[arg(long = "delay-exit-quiet", value_name = "DURATION", value_parser = parse_duration, help_heading = "Context")]
    pub delay_exit_quiet: Option<Duration>,

    /// Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)
    #[arg(short = 't', long = "timeout", value_name = "DURATION", value_parser = parse_duration, help_heading = "Time")]
    pub timeout: Option<Duration>,
    /// Stop when there has been no output for DURATION
    #[arg(short = 'I', long = "idle-timeout", value_name = "DURATION", value_parser = parse_duration, help_heading = "Time")]
    pub idle_timeout: Option<Duration>,
    /// Stop when there is no first output within DURATION
    #[arg(short = 'F', long = "first-output-timeout", value_name = "DURATION", value_parser = parse_duration, help_heading = "Time")]
    pub first_output_timeout: Option<Duration>,

    /// Stuck when the same line repeats N times in a row (blank lines never count)
    #[arg(
        long = "max-repeat",
        value_name = "N",
        help_heading = "Stuck detection"
    )]
    pub max_repeat: Option<u64>,
    /// Compare lines with clock times, dates, ISO-8601 stamps and epochs removed
    #[arg(long = "stuck-ignore-timestamps", help_heading = "Stuck detection")]
    pub stuck_ignore_timestamps: bool,
    /// Compare only the part of each line that RE extracts (first group, else whole match)
    #[arg(
        long = "stuck-pattern",
        value_name = "RE",
        help_heading = "Stuck detection"
    )]
    pub stuck_pattern: Option<String>,
    /// Stuck when the counter RE extracts does not change for N lines (N from --max-repeat, default 100)
    #[arg(
        long = "progress-pattern",
        value_name = "RE",
        help_heading = "Stuck detection"
    )]
    pub progress_pattern: Option<String>,

    /// After SIGTERM, wait this long before SIGKILL
    #[arg(long = "kill-after", value_name = "DURATION", value_parser = parse_duration, default_value = "5s", help_heading = "Process")]
    pub kill_after: Duration,
    /// Give the child pseudo-terminals for its output (auto: in ee run, on each stream whose destination is a terminal, as for the bare command; otherwise on both)
    #[arg(long = "pty", value_enum, value_name = "WHEN", default_value_t = When::Auto, help_heading = "Process")]
    pub pty: When,
    /// Highlight matches and keep the child's colour escapes (auto: only on a terminal, and no highlights with NO_COLOR; ee run highlights only with always)
    #[arg(long = "color", alias = "colour", value_enum, value_name = "WHEN", default_value_t = When::Auto, help_heading = "Output")]
    pub color: When,
    /// Prefix passed-through lines with their line number (per stream in command mode)
    #[arg(short = 'n', long = "line-number", help_heading = "Output")]
    pub line_number: bool,

    /// Silence ee's own messages (not the child's output)
    #[arg(short = 'q', long = "quiet", help_heading = "Output")]
    pub quiet: bool,
    /// Print one JSON object describing the run on stdout; the child's output goes to stderr
    #[arg(long = "json", help_heading = "Output")]
    pub json: bool,
    /// Swap exit statuses 0 and 1 (0 = no match, 1 = match)
    #[arg(long = "unix-exit-codes", help_heading = "Output")]
    pub unix_exit_codes: bool,
    /// Record nothing in the telemetry database (also EARLYEXIT_NO_TELEMETRY=1)
    #[arg(long = "no-telemetry", help_heading = "Output")]
    pub no_telemetry: bool,

    /// Give the child an extra pipe as descriptor N (>= 3) and watch it too (repeatable)
    #[arg(long = "fd", value_name = "N", value_parser = clap::value_parser!(i32).range(3..=1023), help_heading = "Extra descriptors")]
    pub fd: Vec<i32>,
    /// Use PAT (instead of the main pattern) for descriptor N (repeatable)
    #[arg(long = "fd-pattern", num_args = 2, value_names = ["N", "PAT"], action = clap::ArgAction::Append, help_heading = "Extra descriptors")]
    pub fd_pattern: Vec<String>,
    /// Label passed-through lines [stdout], [stderr], [fdN]
    #[arg(long = "fd-prefix", help_heading = "Extra descriptors")]
    pub fd_prefix: bool,

    /// Allowlist pattern (repeatable), for --expect-only / --expect-all
    #[arg(
        long = "expect",
        value_name = "PAT",
        help_heading = "Allowlist and blocklist"
    )]
    pub expect: Vec<String>,
    /// Any non-blank line matching no --expect pattern is unexpected (exit 5)
    #[arg(
        long = "expect-only",
        requires = "expect",
        help_heading = "Allowlist and blocklist"
    )]
    pub expect_only: bool,
    /// An --expect pattern never seen by the end fails the run (exit 6)
    #[arg(
        long = "expect-all",
        requires = "expect",
        help_heading = "Allowlist and blocklist"
    )]
    pub expect_all: bool,
    /// A line matching PAT is unexpected (exit 5) (repeatable)
    #[arg(
        long = "unexpected",
        value_name = "PAT",
        help_heading = "Allowlist and blocklist"
    )]
    pub unexpected: Vec<String>,
    /// On an unexpected line: warn and go on, fail at the end (error), or stop now (exit)
    #[arg(long = "on-unexpected", value_enum, value_name = "ACTION", default_value_t = OnUnexpected::Exit, help_heading = "Allowlist and blocklist")]
    pub on_unexpected: OnUnexpected,

    /// Stop once stderr has been quiet this long after it first spoke
    #[arg(long = "stderr-idle-exit", value_name = "DURATION", value_parser = parse_duration, help_heading = "Time")]
    pub stderr_idle_exit: Option<Duration>,
    /// States in order, 'A>B>C' (regexes): stuck (exit 2) when a state goes backwards
    #[arg(
        long = "transition-states",
        value_name = "SPEC",
        help_heading = "Stuck detection"
    )]
    pub transition_states: Option<String>,

    /// On match, exit 4 and leave the child running (its output still drained)
    #[arg(short = 'D', long = "detach", help_heading = "Process")]
    pub detach: bool,
    /// Write the child's PID (and process group) to PATH when detaching
    #[arg(long = "pid-file", value_name = "PATH", help_heading = "Process")]
    pub pid_file: Option<std::path::PathBuf>,
    /// On a timeout, detach (exit 4) instead of stopping the child
    #[arg(long = "detach-on-timeout", help_heading = "Process")]
    pub detach_on_timeout: bool,

    /// Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)
    #[arg(short = 'l', long = "log", help_heading = "Logs")]
    pub log: bool,
    /// Log file prefix P (implies --log) [default: DIR/ee-PROGRAM-PID]
    #[arg(long = "file-prefix", value_name = "P", help_heading = "Logs")]
    pub file_prefix: Option<String>,
    /// Directory for log files, created (mode 0700) when missing (implies --log) [default: a private directory under the user's state directory]
    #[arg(long = "log-dir", value_name = "DIR", help_heading = "Logs")]
    pub log_dir: Option<std::path::PathBuf>,
    /// Append to the log files instead of truncating them
    #[arg(short = 'a', long = "append", help_heading = "Logs")]
    pub append: bool,
    /// Compress the log files with gzip (.gz)
    #[arg(short = 'z', long = "gzip", help_heading = "Logs")]
    pub gzip: bool,
    /// Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes
    #[arg(short = 'Z', long = "decompress", help_heading = "Logs")]
    pub decompress: bool,

    /// Read a log on stdin and print match statistics, running nothing
    #[arg(long = "test-pattern", help_heading = "Output")]
    pub test_pattern: bool,
    /// A self-updating status line on stderr (when it is a terminal)
    #[arg(long = "progress", help_heading = "Output")]
    pub progress: bool,
    /// Interactive learning: on Ctrl-C, suggest an error pattern and a timeout from what was
    /// seen, and store them for this command on confirmation
    #[arg(long = "watch", help_heading = "Output")]
    pub watch: bool,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
        }
    }
}

/// Shells `ee completions` knows: the completion engine's (bash, zsh, fish), and the ones whose
/// script clap_complete generates from these definitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
    Nushell,
}

impl CompletionShell {
    /// The shell the completion engine serves, if it is one of them.
    pub fn engine(self) -> Option<Shell> {
        match self {
            CompletionShell::Bash => Some(Shell::Bash),
            CompletionShell::Zsh => Some(Shell::Zsh),
            CompletionShell::Fish => Some(Shell::Fish),
            _ => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command with command semantics, applying learned patterns and timeouts
    #[command(after_help = RUN_EXIT_STATUS)]
    Run(Box<RunArgs>),
    /// Print the shell hook code: eval "$(ee init bash)"
    Init(InitArgs),
    /// Manage the commands routed through ee by the shell hooks
    Route(RouteArgs),
    /// Show the recommended patterns and timeout for a command
    Suggest(SuggestArgs),
    /// Show statistics from the telemetry database
    Stats(StatsArgs),
    /// Inspect and maintain the telemetry database
    Telemetry(TelemetryArgs),
    /// Correct a learned judgement about a run
    Feedback(FeedbackArgs),
    /// List and show pattern profiles (built-in and user)
    Profile(ProfileArgs),
    /// Share what was learned with a team through PostgreSQL
    #[command(after_help = TEAM_EXIT_STATUS)]
    Team(TeamArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Print or install the man pages
    Man(ManArgs),
    /// Completion engine called by the completion scripts
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Error pattern given positionally is not accepted here; use -e/--pattern
    #[arg(long = "pattern", value_name = "PATTERN")]
    pub pattern: Option<String>,
    /// Apply no learned pattern or timeout
    #[arg(long = "no-learn")]
    pub no_learn: bool,
    /// Print what would be applied and why, without running
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    #[command(flatten)]
    pub engine: EngineOpts,
    /// The command to run
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
#[command(after_help = "Add one line to the shell's start-up file:\n  \
bash  ~/.bashrc                   eval \"$(ee init bash)\"\n  \
zsh   ~/.zshrc                    eval \"$(ee init zsh)\"\n  \
fish  ~/.config/fish/config.fish  ee init fish | source\n\n\
Interactive shells then run the commands chosen with 'ee route add' (and --route, or \
EARLYEXIT_ROUTES='pytest, cargo test') through 'ee run'. Bypass: 'command NAME', or \
EARLYEXIT_DISABLE=1.")]
pub struct InitArgs {
    /// The shell to print hook code for
    #[arg(value_enum)]
    pub shell: Shell,
    /// Route this command too (repeatable), besides the routes file
    #[arg(long = "route", value_name = "COMMAND")]
    pub route: Vec<String>,
    /// Print only the routes (what a loaded hook evaluates when the routes file changed)
    #[arg(long = "reload", hide = true)]
    pub reload: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Routes file: $EARLYEXIT_CONFIG_DIR/routes (default ~/.config/earlyexit/routes), \
one route per line, '#' starts a comment. A route is a program name, optionally followed by one \
leading subcommand ('cargo test' leaves 'cargo build' alone); only plain words are accepted. Open \
shells pick changes up at their next prompt.\n\n\
Exit status: 0 done, 1 not routed (remove) or the file cannot be read or written, 3 invalid route."
)]
pub struct RouteArgs {
    #[command(subcommand)]
    pub action: RouteAction,
}

#[derive(Debug, Subcommand)]
pub enum RouteAction {
    /// Route a command (a program, optionally with a leading subcommand: 'cargo test')
    Add {
        #[arg(value_name = "COMMAND", required = true)]
        names: Vec<String>,
    },
    /// Stop routing a command
    Remove {
        #[arg(value_name = "COMMAND", required = true)]
        names: Vec<String>,
    },
    /// List the routed commands
    List,
}

#[derive(Debug, Args)]
#[command(
    after_help = "--plot draws a histogram of the command's runtimes: normal runs (ended by \
themselves and passed) beside failed or stopped ones, with the learned hang limit marked, so you \
see why the limit is where it is. With --json it prints the plotted data instead."
)]
pub struct SuggestArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
    /// Draw the runtimes of the command as a histogram, the hang limit marked
    #[arg(long)]
    pub plot: bool,
    /// The command to suggest for
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "--plot draws the four weeks up to the newest run: runs per day (passed, \
failed, stopped early), the time saved per week and the ten commands with the most time saved. \
Width-aware; Unicode blocks (ASCII when the locale is not UTF-8); colour only on a terminal \
without NO_COLOR. With --json it prints the plotted data instead."
)]
pub struct StatsArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
    /// Draw runs per day, time saved per week and the top commands by time saved
    #[arg(long)]
    pub plot: bool,
}

#[derive(Debug, Args)]
pub struct TelemetryArgs {
    #[command(subcommand)]
    pub action: TelemetryAction,
}

#[derive(Debug, Subcommand)]
pub enum TelemetryAction {
    /// Integrity check, journal mode, foreign keys, size, row counts, spool backlog
    Check,
    /// Print the database path
    Path,
    /// Export executions (redacted) as JSON lines, one JSON document, or CSV
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
    /// Delete all recorded data
    Clear {
        /// Do not ask for confirmation
        #[arg(short = 'y', long = "yes")]
        yes: bool,
    },
    /// Delete old executions
    Prune {
        /// Delete executions older than DURATION (e.g. 30d)
        #[arg(long = "older-than", value_name = "DURATION", value_parser = parse_duration)]
        older_than: Option<Duration>,
        /// Keep only the newest N executions
        #[arg(long = "keep", value_name = "N")]
        keep: Option<u64>,
    },
    /// Write the learned patterns and timeouts (no command lines) as a JSON document
    ExportLearned {
        /// Write to FILE instead of stdout
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Merge a document written by export-learned into what this machine learned
    ImportLearned {
        /// The document (`-` for stdin)
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
        /// Import a document again although it was imported before (adds its counts again)
        #[arg(long = "force")]
        force: bool,
    },
    /// Fill the database with N synthetic executions (for benchmarks)
    #[command(hide = true)]
    Generate {
        #[arg(value_name = "N")]
        count: u64,
    },
    /// Copy the write-ahead log into the database and truncate it (started in the background by
    /// ee when the log grows)
    #[command(hide = true)]
    Checkpoint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line
    Jsonl,
    /// One JSON document: an array of the jsonl objects
    Json,
    /// A header line, then one row per execution (no match events)
    Csv,
}

#[derive(Debug, Args)]
#[command(
    group(clap::ArgGroup::new("verdict").required(true)),
    after_help = "Exit status: 0 the aggregates were corrected, 1 no such run or nothing to correct, 3 usage error."
)]
pub struct FeedbackArgs {
    /// The run id, or `last`
    #[arg(value_name = "RUN_ID", default_value = "last")]
    pub run: String,
    /// The pattern matched but the run did not really fail
    #[arg(long = "false-positive", group = "verdict")]
    pub false_positive: bool,
    /// The run failed but the pattern did not catch it
    #[arg(long = "missed", group = "verdict")]
    pub missed: bool,
    /// The judgement was right
    #[arg(long = "good", group = "verdict")]
    pub good: bool,
}

/// Exit statuses of `ee team`.
pub const TEAM_EXIT_STATUS: &str = "Exit status:
  0    done
  1    the team database could not be reached, refused the login or failed (evidence kept)
  3    usage error: bad URL, no team database configured";

#[derive(Debug, Args)]
pub struct TeamArgs {
    #[command(subcommand)]
    pub action: TeamAction,
}

#[derive(Debug, Subcommand)]
pub enum TeamAction {
    /// Store the team database URL (never its password) after checking it
    Connect {
        /// postgres://user@host:port/db?sslmode=require
        #[arg(value_name = "URL")]
        url: String,
        /// Also share executions (redacted command lines, status, duration)
        #[arg(long = "share-runs")]
        share_runs: bool,
        /// Store the URL without connecting first
        #[arg(long = "no-check")]
        no_check: bool,
    },
    /// Forget the team database and stop using the team's knowledge
    Disconnect,
    /// Server, last push and pull, backlog and the last error
    Status,
    /// Create or upgrade the team schema and roles (run once, as the database owner)
    Init {
        /// The database URL (default: the connected one)
        #[arg(value_name = "URL")]
        url: Option<String>,
    },
    /// Print exactly what the next push would send, as JSON
    Preview,
    /// Push new evidence, then pull the team's knowledge
    Sync {
        /// Quiet, errors only in `ee team status` (what runs start)
        #[arg(long = "background", hide = true)]
        background: bool,
    },
}

#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(subcommand)]
    pub action: ProfileAction,
}

#[derive(Debug, Subcommand)]
pub enum ProfileAction {
    /// List built-in and user profiles
    List,
    /// Show one profile
    Show {
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Debug, Args)]
#[command(
    after_help = "Load it in the current shell (ee init SHELL already does):\n  \
bash  source <(ee completions bash)\n  \
zsh   source <(ee completions zsh)      (after compinit)\n  \
fish  ee completions fish | source\n\n\
Or install it system-wide:\n  \
bash  ee completions bash > /usr/share/bash-completion/completions/ee\n  \
zsh   ee completions zsh > /usr/local/share/zsh/site-functions/_ee\n  \
fish  ee completions fish > /usr/share/fish/vendor_completions.d/ee.fish\n\n\
Where a pattern is expected (PATTERN, --pattern, -e, -s, -X), TAB offers the patterns learned for \
the command already on the line, best first.\n\n\
elvish, PowerShell and nushell get a static script generated by clap_complete (subcommands, \
options, their values; no learned patterns):\n  \
elvish      ee completions elvish > ~/.config/elvish/lib/ee.elv; then 'use ee' in rc.elv\n  \
PowerShell  ee completions powershell | Out-String | Invoke-Expression   (in $PROFILE)\n  \
nushell     ee completions nushell | save -f ~/.config/nushell/ee.nu; then 'use ee.nu *'"
)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// Arguments of the hidden `ee __complete`: the command line as the shell sees it.
#[derive(Debug, Args)]
pub struct CompleteArgs {
    #[arg(value_enum)]
    pub shell: Shell,
    /// The whole command line (bash, fish)
    #[arg(long, allow_hyphen_values = true)]
    pub line: Option<String>,
    /// Cursor position in LINE, in characters
    #[arg(long)]
    pub point: Option<usize>,
    /// The text before the cursor that the shell replaces (bash: `$2`)
    #[arg(long, allow_hyphen_values = true)]
    pub word: Option<String>,
    /// Index of the word under the cursor in WORDS (zsh)
    #[arg(long)]
    pub cword: Option<usize>,
    /// The words of the command line, the one under the cursor cut at the cursor (zsh)
    #[arg(last = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "On a terminal the page is shown with 'man -l'; otherwise its roff source \
is printed. Install all pages for yourself (no root needed): ee man --install; system-wide: \
sudo ee man --install-dir /usr/local/share/man/man1"
)]
pub struct ManArgs {
    /// The subcommand whose page to show
    #[arg(value_name = "SUBCOMMAND")]
    pub page: Option<String>,
    /// Install all pages into your own man directory ($XDG_DATA_HOME/man, default
    /// ~/.local/share/man) and check that `man ee` finds them
    #[arg(long = "install", conflicts_with = "install_dir")]
    pub install: bool,
    /// Write all pages into DIR (its parent must exist) instead of showing one
    #[arg(long = "install-dir", value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub install_dir: Option<std::path::PathBuf>,
}

/// Does this option take values (not a flag, not a positional)?
pub fn takes_value(a: &clap::Arg) -> bool {
    a.get_action().takes_values() && !a.is_positional()
}

/// How many words an option's value takes (`--fd-pattern N PAT`: 2).
pub fn nvalues(a: &clap::Arg) -> usize {
    a.get_num_args().map(|r| r.min_values()).unwrap_or(1).max(1)
}

/// The option with this long name (or alias).
pub fn find_long(cmd: &clap::Command, name: &str) -> Option<clap::Arg> {
    cmd.get_arguments()
        .find(|a| {
            a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
        })
        .cloned()
}

/// The option with this short name.
pub fn find_short(cmd: &clap::Command, c: char) -> Option<clap::Arg> {
    cmd.get_arguments()
        .find(|a| a.get_short() == Some(c))
        .cloned()
}

/// For a word on the command line: `None` when it is not an option (a positional), else how many
/// of the following words its value takes (`-t 5`: 1, `-t5`, `--timeout=5`, `-i`: 0).
pub fn option_words(cmd: &clap::Command, word: &str) -> Option<usize> {
    if let Some(long) = word.strip_prefix("--") {
        let (name, attached) = match long.split_once('=') {
            Some((n, _)) => (n, true),
            None => (long, false),
        };
        let n = find_long(cmd, name)
            .filter(takes_value)
            .map_or(0, |a| nvalues(&a));
        return Some(if attached { n.saturating_sub(1) } else { n });
    }
    if word.len() < 2 || !word.starts_with('-') {
        return None;
    }
    let chars: Vec<char> = word[1..].chars().collect();
    for (k, c) in chars.iter().enumerate() {
        if let Some(a) = find_short(cmd, *c).filter(takes_value) {
            let n = nvalues(&a);
            return Some(if k + 1 == chars.len() { n } else { n - 1 });
        }
    }
    Some(0)
}

/// Most lines of context kept before a match (`-B`): each is capped at 1000 bytes, so the
/// context costs at most about 10 MB whatever the output.
pub const MAX_BEFORE: usize = 10_000;

/// Parse `-B N`, refusing more than [`MAX_BEFORE`] lines.
pub fn parse_before(s: &str) -> Result<usize, String> {
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("'{}' is not a number of lines", crate::escape::escape(s)))?;
    if n > MAX_BEFORE {
        return Err(format!("at most {MAX_BEFORE} lines of context (got {n})"));
    }
    Ok(n)
}

/// Parse a duration: plain seconds (fractions allowed) or a number with `ms`, `s`, `m`, `h`, `d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, mult) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else if let Some(n) = t.strip_suffix('d') {
        (n, 86400.0)
    } else {
        (t, 1.0)
    };
    let ok_chars = !num.is_empty()
        && num.chars().all(|c| c.is_ascii_digit() || c == '.')
        && num.chars().filter(|&c| c == '.').count() <= 1
        && num != ".";
    let bad =
        || format!("invalid duration '{s}' (expected seconds or a number with ms, s, m, h, d)");
    if !ok_chars {
        return Err(bad());
    }
    let secs = num.parse::<f64>().map_err(|_| bad())? * mult;
    if !secs.is_finite() || secs > 1e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("0.25").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86400));
        for bad in ["", "abc", "1x", "-1", "1..2", "ms", ".", "1 s s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
