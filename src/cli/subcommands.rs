//! Every subcommand but `run`: init, route, suggest, stats, telemetry, feedback, profile, team,
//! completions, man and the hidden `__complete`.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::argv::parse_duration;
use super::run::CommandArgs;

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
see why the limit is where it is. With --json it prints the plotted data instead.",
    mut_arg("command", |a| a.help("The command to suggest for"))
)]
pub struct SuggestArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
    /// Draw the runtimes of the command as a histogram, the hang limit marked
    #[arg(long)]
    pub plot: bool,
    #[command(flatten)]
    pub command: CommandArgs,
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
