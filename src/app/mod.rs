//! Subcommand dispatch: argument preparation (`EARLYEXIT_OPTIONS`, the optional `--` of the grep
//! face), clap parsing with one-line errors, and the mapping of results to exit statuses. One file
//! per subcommand below this module.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, SUBCOMMANDS};

pub mod completions;
pub mod feedback;
pub mod grep;
pub mod hints;
pub mod init;
pub mod man;
pub mod options;
pub mod profile;
pub mod record;
pub mod route;
pub mod run;
pub mod runner;
pub mod stats;
pub mod suggest;
pub mod teach;
pub mod team;
pub mod telemetry;
pub mod testpattern;

/// Exit status for usage errors of the grep face (and most subcommands).
pub const EXIT_USAGE: i32 = 3;
/// Exit status for usage errors of `ee run` (coreutils `timeout` convention).
pub const EXIT_RUN_USAGE: i32 = 125;

/// Exit status for I/O failures (a file, a directory or stdin that cannot be read or written):
/// the same 3 as usage errors, as documented ("3 usage error" in each subcommand's table), but
/// named apart so a message is never taken for the user's mistake in the code.
pub const EXIT_IO: i32 = 3;

/// An error reported as one line on stderr, with the exit status to use.
#[derive(Debug)]
pub struct Fail {
    pub code: i32,
    pub msg: String,
}

impl Fail {
    pub fn new(code: i32, msg: impl Into<String>) -> Fail {
        Fail {
            code,
            msg: msg.into(),
        }
    }
    pub fn usage(msg: impl Into<String>) -> Fail {
        Fail::new(EXIT_USAGE, msg)
    }
    /// A file, a directory or stdin that cannot be read or written.
    pub fn io(msg: impl Into<String>) -> Fail {
        Fail::new(EXIT_IO, msg)
    }
}

pub type CmdResult = Result<i32, Fail>;

/// How a watched run (the grep face or `ee run`) ends ee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit with this status.
    Code(i32),
    /// The run ended by SIGINT: ee ends by SIGINT too (see `signals::reraise_sigint`), and exits
    /// with this status only if that does not end it.
    Sigint(i32),
}

/// The result of a watched run.
pub type RunResult = Result<Exit, Fail>;

/// Start opening the store before the arguments are parsed (see `store::prepare_early`), with
/// the learning lookup and warm-up the store runs on its thread (`store::Hooks`).
pub fn prepare_early(args: &[OsString]) {
    let _ = crate::store::HOOKS.set(crate::store::Hooks {
        lookup: run::lookup_on,
        warm: record::warm,
    });
    crate::store::prepare_early(args);
}

/// The whole life of the `ee` (and `earlyexit`) process. A hook may have started ee in a routed
/// program's place (see `shell::entry`): that is settled first, so the early store open sees
/// the command line ee will run, and a program let through bare starts no store thread.
pub fn entry() -> ! {
    let args = crate::shell::entry::args(std::env::args_os().collect());
    prepare_early(&args);
    let code = main(args);
    crate::store::settle();
    std::process::exit(code);
}

/// Run ee with these arguments (program name first); returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    let is_run = args.get(1).is_some_and(|a| a == "run");
    let code = match parse(args) {
        Ok(cli) => dispatch(cli),
        Err(f) => Err(f),
    };
    match code {
        Ok(Exit::Code(c)) => crate::output::finish(c, false),
        Ok(Exit::Sigint(c)) => {
            crate::engine::supervisor::signals::reraise_sigint();
            crate::output::finish(c, false)
        }
        Err(f) => {
            if !f.msg.is_empty() {
                crate::engine::printer::note(false, &f.msg);
            }
            let c = if f.code == EXIT_USAGE && is_run {
                EXIT_RUN_USAGE
            } else {
                f.code
            };
            crate::output::finish(c, f.code != 0)
        }
    }
}

fn dispatch(cli: Cli) -> RunResult {
    let code = match cli.command {
        None => return grep::run(cli.grep),
        Some(Command::Run(a)) => return run::run(*a),
        Some(Command::Init(a)) => init::run(a),
        Some(Command::Route(a)) => route::run(a),
        Some(Command::Suggest(a)) => suggest::run(a),
        Some(Command::Stats(a)) => stats::run(a),
        Some(Command::Telemetry(a)) => telemetry::run(a),
        Some(Command::Feedback(a)) => feedback::run(a),
        Some(Command::Profile(a)) => profile::run(a),
        Some(Command::Team(a)) => team::run(a),
        Some(Command::Completions(a)) => completions::run(a),
        Some(Command::Man(a)) => man::run(a),
        Some(Command::Complete(a)) => completions::complete(a),
    };
    code.map(Exit::Code)
}

/// Parse the arguments: prepend `EARLYEXIT_OPTIONS`, make the grep face's `--` optional, and turn
/// clap errors into one line.
pub fn parse(mut args: Vec<OsString>) -> Result<Cli, Fail> {
    let first = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
    let sub = SUBCOMMANDS.contains(&first);
    let run_face = first == "run";
    if let Some(env) = std::env::var_os("EARLYEXIT_OPTIONS") {
        let env = env.to_string_lossy().into_owned();
        let extra =
            shell_words::split(&env).map_err(|e| Fail::usage(format!("EARLYEXIT_OPTIONS: {e}")))?;
        let at = if !sub {
            Some(1)
        } else if first == "run" {
            Some(2)
        } else {
            None
        };
        if let Some(at) = at {
            let root = Cli::command();
            let face = if sub {
                root.find_subcommand("run").cloned().unwrap_or(root)
            } else {
                root
            };
            env_options_only(&face, &extra)
                .map_err(|e| Fail::usage(format!("EARLYEXIT_OPTIONS: {e}")))?;
            let at = at.min(args.len());
            args.splice(at..at, extra.into_iter().map(OsString::from));
        }
    }
    if run_face && args.len() > 3 && args[2] == "--" {
        // `ee run -- COMMAND…`, the hooks' own call for every routed command: nothing for a
        // parser to read (every word after `--` is the command's), and building one is a tenth
        // of ee's own start-up.
        let run = crate::cli::RunArgs::command_only(args.split_off(3));
        return Ok(Cli {
            command: Some(Command::Run(Box::new(run))),
            grep: Default::default(),
        });
    }
    if run_face {
        if let Some(cli) = parse_run_only(&args) {
            return Ok(cli);
        }
    } else if !sub {
        if let Some(cli) = parse_grep_only(&args) {
            return Ok(cli);
        }
    }
    parse_all(args, sub)
}

/// Parse with the whole command-line definition (every face and subcommand).
fn parse_all(mut args: Vec<OsString>, sub: bool) -> Result<Cli, Fail> {
    // Built once: it is most of the parsing cost on every start.
    let cmd = Cli::command();
    let dash_implied = !sub && insert_double_dash(&cmd, &mut args);
    let mut cli: Cli = clap_parse(cmd, args).map_err(clap_fail)?;
    cli.grep.dash_implied = dash_implied;
    Ok(cli)
}

/// Parse `args` with `cmd` into `P`. The command and its matches are taken rather than cloned,
/// and neither is freed: the process ends soon, and copying and freeing them cost a fifth of
/// the instructions of a start (issue 16).
fn clap_parse<P: FromArgMatches>(
    mut cmd: clap::Command,
    args: Vec<OsString>,
) -> Result<P, clap::Error> {
    let mut matches = cmd.try_get_matches_from_mut(args)?;
    let parsed = P::from_arg_matches_mut(&mut matches);
    std::mem::forget(matches);
    std::mem::forget(cmd);
    parsed
}

/// The grep face's arguments parsed by its own parser ([`crate::cli::GrepOnly`]), when no word
/// names a subcommand (so the whole parser could only read them as the grep face too); None
/// when they do not parse as they are.
fn parse_grep_only(args: &[OsString]) -> Option<Cli> {
    let names_sub = args[1..]
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a.to_str().is_none_or(|w| SUBCOMMANDS.contains(&w)));
    if names_sub {
        return None;
    }
    let cmd = crate::cli::GrepOnly::command();
    let mut args = args.to_vec();
    let dash_implied = insert_double_dash(&cmd, &mut args);
    let mut only: crate::cli::GrepOnly = clap_parse(cmd, args).ok()?;
    only.grep.dash_implied = dash_implied;
    Some(Cli {
        command: None,
        grep: only.grep,
    })
}

/// `ee run ARGS` parsed by `ee run`'s own parser ([`crate::cli::RunOnly`]); None when they do
/// not parse as they are (the whole parser then says why, in its own words).
fn parse_run_only(args: &[OsString]) -> Option<Cli> {
    let only: crate::cli::RunOnly =
        clap_parse(crate::cli::RunOnly::command(), args[1..].to_vec()).ok()?;
    Some(Cli {
        command: Some(Command::Run(Box::new(only.run))),
        grep: Default::default(),
    })
}

fn clap_fail(e: clap::Error) -> Fail {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // On a terminal clap colours it; elsewhere help asked for on stdout goes through
            // ee's writer, so `ee --help | head -1` ends quietly. (Help for a missing
            // subcommand, `ee route`, stays on stderr, where clap puts it.)
            if e.use_stderr() || std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                let _ = e.print();
            } else {
                out!("{}", e.render());
            }
            Fail::new(0, "")
        }
        _ => {
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            // "the following required arguments were not provided:" names them on the next line.
            let line = match (first.ends_with(':'), lines.next()) {
                (true, Some(next)) => format!("{first} {next}"),
                _ => first.to_string(),
            };
            Fail::usage(format!("{line} (see 'ee --help')"))
        }
    }
}

/// `EARLYEXIT_OPTIONS` may only hold options (with all their values): a `--` or a positional
/// word there would add or replace the pattern or the command the user typed, and an option whose
/// value is missing would take the user's first word as its value.
fn env_options_only(cmd: &clap::Command, extra: &[String]) -> Result<(), String> {
    let mut i = 0;
    while i < extra.len() {
        let word = extra[i].as_str();
        if word == "--" {
            return Err("'--' is not allowed here: only options, never a command".into());
        }
        match crate::cli::option_words(cmd, word) {
            Some(n) => {
                if i + n >= extra.len() {
                    return Err(format!(
                        "{} needs its value here",
                        crate::escape::escape(word)
                    ));
                }
                i += n;
            }
            None => {
                return Err(format!(
                    "'{}' is not an option: only options are allowed here, never a pattern or a command",
                    crate::escape::escape(word)
                ))
            }
        }
        i += 1;
    }
    Ok(())
}

/// In the grep face the first positional word is the pattern and the second starts the command;
/// insert the `--` clap needs before the command when the user left it out (then true).
fn insert_double_dash(cmd: &clap::Command, args: &mut Vec<OsString>) -> bool {
    let mut positionals = 0;
    let mut pattern_opt = false;
    let mut i = 1;
    while i < args.len() {
        let word = args[i].to_str().unwrap_or("");
        if word == "--" {
            return false;
        }
        match crate::cli::option_words(cmd, word) {
            Some(n) => {
                pattern_opt |= word == "--pattern" || word.starts_with("--pattern=");
                i += n;
            }
            None => {
                positionals += 1;
                if positionals == 2 || (pattern_opt && positionals == 1) {
                    args.insert(i, OsString::from("--"));
                    return true;
                }
            }
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Vec<String> {
        let mut a: Vec<OsString> = v.iter().map(OsString::from).collect();
        insert_double_dash(&Cli::command(), &mut a);
        a.into_iter().map(|s| s.into_string().unwrap()).collect()
    }

    /// Each line of `parsed` reads the same (`shown`) through `alone` as through the whole
    /// parser; each line of `refused` is left to the whole parser.
    fn alone_as_whole(
        alone: fn(&[OsString]) -> Option<Cli>,
        sub: bool,
        shown: fn(&Cli) -> String,
        parsed: &[&str],
        refused: &[&str],
    ) {
        let os = |line: &str| {
            let words = shell_words::split(line).unwrap();
            words.into_iter().map(OsString::from).collect::<Vec<_>>()
        };
        for line in parsed {
            let a = alone(&os(line)).unwrap_or_else(|| panic!("{line}"));
            let w = parse_all(os(line), sub).unwrap_or_else(|_| panic!("{line}"));
            assert_eq!(shown(&a), shown(&w), "{line}");
        }
        for line in refused {
            assert!(alone(&os(line)).is_none(), "{line}");
        }
    }

    /// `ee run`'s own parser reads what the whole parser reads, and hands everything it does
    /// not read as it is (errors, help) to the whole parser. (The grep face's options are not
    /// read when a subcommand runs.)
    #[test]
    fn run_face_parses_alone_as_in_the_whole_parser() {
        alone_as_whole(
            parse_run_only,
            true,
            |c| format!("{:?}", c.command),
            &[
                "ee run -- true",
                "ee run pytest -x tests/",
                "ee run -e FAILED -s passed -t 5m --idle-timeout 30s -- cargo test",
                "ee run --no-learn -q -A 0 -i -w --stdout -- make -j8",
                "ee run --pattern x --dry-run --json -- sh -c 'echo a'",
                "ee run -m 3 -B 2 --color never --delay-exit 1 -- ./run.sh --flag -v",
                "ee run --detach --pid-file p --log-dir d -- server",
                "ee run -- -e not-an-option",
                "ee run --version",
                "ee run --bogus -- true",
            ],
            &[
                "ee run",
                "ee run --help",
                "ee run -h",
                "ee run -t nonsense -- true",
                "ee run -m -- true",
            ],
        );
    }

    /// `ee run -- COMMAND…` (no option: the hooks' call) is read without a parser, exactly as
    /// the whole parser reads it; anything with an option before `--`, or no command, still
    /// goes through a parser.
    #[test]
    fn run_with_no_option_skips_the_parser_as_the_parser_reads_it() {
        let shown = |c: &Cli| format!("{:?}", c.command);
        let os = |line: &str| -> Vec<OsString> {
            let words = shell_words::split(line).unwrap();
            words.into_iter().map(OsString::from).collect()
        };
        for line in [
            "ee run -- true",
            "ee run -- pytest -x tests/",
            "ee run -- -e not-an-option",
            "ee run -- --help",
            "ee run -- sh -c 'echo a -- b'",
            "ee run -- run -- true",
        ] {
            let fast = parse(os(line)).unwrap_or_else(|_| panic!("{line}"));
            let whole = parse_all(os(line), true).unwrap_or_else(|_| panic!("{line}"));
            assert_eq!(shown(&fast), shown(&whole), "{line}");
        }
        // An option given before `--` is read, not taken for its default.
        let with = parse(os("ee run -m 3 -- true")).unwrap();
        assert!(shown(&with).contains("max_count: 3"), "{}", shown(&with));
        assert!(parse(os("ee run --")).is_err());
    }

    /// The grep face's own parser reads what the whole parser reads (the `--` it adds included),
    /// and hands everything else to the whole parser.
    #[test]
    fn grep_face_parses_alone_as_in_the_whole_parser() {
        alone_as_whole(
            parse_grep_only,
            false,
            |c| format!("{c:?}"),
            &[
                "ee -- true",
                "ee FAILED pytest -x",
                "ee -i -t 5 error -- make -j8",
                "ee --pattern x sh -c 'echo a'",
                "ee -e E -s ok --idle-timeout 3s -A 0 -B 2 -- ./run.sh -v",
                "ee --profile pytest -- pytest",
                "ee -q --no-telemetry --json x",
                "ee x",
                "ee -it5 x sh",
                "ee",
            ],
            &[
                "ee --help",
                "ee -V",
                "ee --version",
                "ee --bogus x",
                "ee -t nonsense x",
                "ee -i run",
                "ee x stats",
            ],
        );
    }

    #[test]
    fn double_dash() {
        assert_eq!(p(&["ee", "x", "true"]), ["ee", "x", "--", "true"]);
        assert_eq!(
            p(&["ee", "-t", "5", "x", "sh", "-c", "y"]),
            ["ee", "-t", "5", "x", "--", "sh", "-c", "y"]
        );
        assert_eq!(
            p(&["ee", "-it5", "x", "sh"]),
            ["ee", "-it5", "x", "--", "sh"]
        );
        assert_eq!(
            p(&["ee", "--timeout=5", "x", "sh"]),
            ["ee", "--timeout=5", "x", "--", "sh"]
        );
        assert_eq!(
            p(&["ee", "--pattern", "run", "sh"]),
            ["ee", "--pattern", "run", "--", "sh"]
        );
        assert_eq!(p(&["ee", "x", "--", "true"]), ["ee", "x", "--", "true"]);
        assert_eq!(
            p(&["ee", "--fd", "3", "--fd-pattern", "3", "B", "x", "sh"]),
            ["ee", "--fd", "3", "--fd-pattern", "3", "B", "x", "--", "sh"]
        );
        assert_eq!(p(&["ee", "x"]), ["ee", "x"]);
    }
}
