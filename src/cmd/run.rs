//! `ee run [OPTIONS] [--] COMMAND…`: the wrapper face the shell hooks call. Command semantics for
//! the exit status, learned patterns and timeouts applied when the user gave none, and a one-line
//! notice when ee stops the command early.

use std::time::Duration;

use crate::cli::RunArgs;
use crate::cmd::{watch, CmdResult, Fail};
use crate::outcome::{run_exit_code, Mode, Outcome};
use crate::plan::{pattern_spec, Plan, DEFAULT_QUIET_RUN};
use crate::policy::Reason;
use crate::printer::note;

pub fn run(a: RunArgs) -> CmdResult {
    let spec = pattern_spec(a.pattern.as_deref(), &a.engine);
    let plan =
        Plan::new(spec, &a.engine, true, Some(DEFAULT_QUIET_RUN)).map_err(|e| Fail::usage(e.0))?;
    if a.dry_run {
        println!(
            "would run: {}",
            shell_words::join(a.command.iter().map(|s| s.to_string_lossy()))
        );
        return Ok(0);
    }
    let mut outcome =
        watch::execute(&plan, &a.command, Mode::Run).map_err(|e| watch::spawn_fail(e, true))?;
    outcome.exit_code = run_exit_code(outcome.reason, outcome.child);
    if outcome.stopped_early {
        notice(&outcome, a.engine.quiet);
    }
    Ok(watch::finish(&plan, &outcome))
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// The one line said when ee stopped the command early.
fn notice(o: &Outcome, quiet: bool) {
    let prog = o.argv.first().map(String::as_str).unwrap_or("the command");
    let what = match o.reason {
        Reason::Match | Reason::ErrorMatch => {
            let m = o.matches.iter().find(|m| m.kind != "observed");
            match m {
                Some(m) => format!("matched /{}/ on {} line {}", m.pattern, m.stream, m.line_no),
                None => "matched".to_string(),
            }
        }
        Reason::SuccessMatch => "success pattern matched".to_string(),
        Reason::Timeout => format!(
            "timeout {}",
            o.limits
                .timeout
                .map_or(String::new(), |t| secs(Duration::from_secs_f64(t)))
        ),
        Reason::IdleTimeout => "no output (idle timeout)".to_string(),
        Reason::FirstOutputTimeout => "no first output (first-output timeout)".to_string(),
        Reason::Stuck => "output stuck repeating".to_string(),
        Reason::Interrupted(_) | Reason::OutputClosed => return,
        _ => return,
    };
    note(
        quiet,
        &format!(
            "stopped {prog} after {}: {what} (bypass: command {prog}, or ee run --no-learn)",
            secs(o.total)
        ),
    );
}
