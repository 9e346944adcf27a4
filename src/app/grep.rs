//! The grep face: `cmd | ee PATTERN` and `ee PATTERN [--] COMMAND`.

use crate::app::options::{self, pattern_spec};
use crate::app::{runner, Exit, Fail, RunResult};
use crate::cli::GrepArgs;
use crate::engine::outcome::{grep_exit_code, Mode};

pub fn run(a: GrepArgs) -> RunResult {
    if a.listing.list_profiles {
        return super::profile::run(crate::cli::ProfileArgs {
            action: crate::cli::ProfileAction::List,
        })
        .map(Exit::Code);
    }
    let mut spec = pattern_spec(a.main_pattern(), &a.engine.matching);
    if !a.profiles.profile.is_empty() {
        spec.error.extend(profile_patterns(&a.profiles.profile)?);
    }
    if a.engine.output.watch {
        if a.command.is_empty() {
            return Err(Fail::usage("--watch needs a command to run"));
        }
        spec.observe = crate::learn::lexicon::owned();
    }
    let command_mode = !a.command.is_empty();
    if a.engine.output.test_pattern {
        if command_mode {
            return Err(Fail::usage(
                "--test-pattern reads a log on stdin and runs nothing: drop the command",
            ));
        }
        let plan = options::plan(spec, &a.engine, false, None).map_err(|e| Fail::usage(e.0))?;
        super::hints::before_run(&a);
        return super::testpattern::run(&plan, a.engine.output.json).map(Exit::Code);
    }
    if !command_mode
        && !spec.decides()
        && a.engine.time.timeout.is_none()
        && a.engine.time.idle_timeout.is_none()
        && a.engine.time.first_output_timeout.is_none()
        && a.engine.stuck.max_repeat.is_none()
        && a.engine.stuck.progress_pattern.is_none()
    {
        return Err(Fail::usage("nothing to watch for: give a PATTERN, a COMMAND after --, or a timeout (see 'ee --help')"));
    }
    let plan = options::plan(spec, &a.engine, command_mode, None).map_err(|e| Fail::usage(e.0))?;
    super::hints::before_run(&a);
    let mode = if command_mode {
        Mode::Command
    } else {
        Mode::Pipe
    };
    let mut outcome = runner::execute(&plan, &a.engine, &a.command, mode)
        .map_err(|e| runner::spawn_fail(e, false))?;
    outcome.exit_code = grep_exit_code(&outcome, a.engine.output.unix_exit_codes);
    Ok(runner::finish(&a.engine, &outcome))
}

/// `--profile NAME`: the named profiles' error patterns, in order.
fn profile_patterns(names: &[String]) -> Result<Vec<String>, Fail> {
    let (list, _) = crate::learn::profiles::all();
    let mut out = Vec::new();
    for name in names {
        let p = list.iter().find(|p| &p.name == name).ok_or_else(|| {
            Fail::usage(format!(
                "no profile named '{}' (see 'ee --list-profiles')",
                crate::escape::escape(name)
            ))
        })?;
        out.extend(p.patterns.iter().cloned());
    }
    Ok(out)
}
