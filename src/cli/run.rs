//! The wrapper face: `ee run`.

use std::ffi::OsString;

use clap::{Args, Parser};

use super::grep::EngineOpts;

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
    // Before the engine groups: they leave their help heading set for what follows.
    #[command(flatten)]
    pub command: CommandArgs,
    #[command(flatten)]
    pub engine: EngineOpts,
}

impl RunArgs {
    /// `ee run -- COMMAND…`: the command with no option given (see [`EngineOpts::unset`]).
    pub fn command_only(argv: Vec<OsString>) -> RunArgs {
        RunArgs {
            pattern: None,
            no_learn: false,
            dry_run: false,
            command: CommandArgs { argv },
            engine: EngineOpts::unset(),
        }
    }
}

/// The trailing `COMMAND [ARGS...]` of `ee run` and `ee suggest`: every word after the first
/// positional belongs to the command, options included. `ee suggest` words its help itself.
#[derive(Debug, Args)]
pub struct CommandArgs {
    /// The command to run
    #[arg(
        id = "command",
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub argv: Vec<OsString>,
}

/// `ee run` alone, as a parser of its own: the hooks start `ee run` for every routed command,
/// and building only this face's options is a fraction of building every subcommand's. Used for
/// arguments that parse; anything else (an error, `--help`) goes through the whole [`super::Cli`]
/// so its messages are exactly the usual ones.
#[derive(Debug, Parser)]
#[command(name = "ee run")]
pub struct RunOnly {
    #[command(flatten)]
    pub run: RunArgs,
}
