//! All clap definitions: the grep face (`ee PATTERN -- CMD`), the wrapper face (`ee run`) and every
//! subcommand. Nothing here does I/O; the same types feed the parser, the completion scripts and the
//! man pages.
//!
//! Files: `grep.rs` the grep face and the engine options both faces share (one group per help
//! heading), `run.rs` the wrapper face and the COMMAND positional it shares with `suggest`,
//! `subcommands.rs` every other subcommand, `argv.rs` the helpers that read argv words and option
//! values (option arity, durations).

mod argv;
mod grep;
mod run;
mod subcommands;

pub use argv::*;
pub use grep::*;
pub use run::*;
pub use subcommands::*;

use clap::{Parser, Subcommand};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// The engine options carry the same heading in both faces (each group names its heading
    /// once), and no positional inherits a heading from the group declared before it.
    #[test]
    fn engine_options_have_their_heading_in_both_faces() {
        use clap::CommandFactory;
        let grep = Cli::command();
        let run = grep.find_subcommand("run").unwrap().clone();
        let heading = |cmd: &clap::Command, id: &str| {
            let arg = cmd.get_arguments().find(|a| a.get_id() == id);
            arg.map(|a| a.get_help_heading().map(str::to_string))
        };
        let own = ["pattern", "no_learn", "dry_run", "help", "command"];
        let mut engine = 0;
        for a in run.get_arguments() {
            let id = a.get_id().as_str();
            if a.is_positional() || own.contains(&id) {
                assert_eq!(a.get_help_heading(), None, "ee run: {id}");
                continue;
            }
            assert!(
                a.get_help_heading().is_some(),
                "ee run: {id} has no heading"
            );
            assert_eq!(heading(&run, id), heading(&grep, id), "{id}");
            engine += 1;
        }
        assert!(engine > 50, "{engine} engine options");
        for a in grep.get_arguments().filter(|a| a.is_positional()) {
            assert_eq!(a.get_help_heading(), None, "ee: {}", a.get_id());
        }
        assert_eq!(heading(&grep, "profile"), Some(Some("Matching".into())));
        assert_eq!(heading(&grep, "list_profiles"), Some(Some("Output".into())));
    }
}
