//! `ee run [OPTIONS] [--] COMMAND…`: the wrapper face the shell hooks call. Command semantics for
//! the exit status, learned patterns and timeouts applied when the user gave none (`--no-learn`
//! disables, `--dry-run` shows them), the observation lexicon watched so the run's evidence is
//! recorded, and a one-line notice when ee stops the command early.

use std::time::Duration;

mod rerun;

use crate::app::options::{self, pattern_spec};
use crate::app::{runner, Exit, Fail, RunResult};
use crate::cli::RunArgs;
use crate::context::RunContext;
use crate::engine::outcome::{run_exit_code, Outcome};
use crate::engine::plan::{Plan, DEFAULT_QUIET_RUN};
use crate::engine::policy::Reason;
use crate::engine::printer::note;
use crate::learn::{self, Advice};

/// What `ee run` takes from learning for this command.
struct Applied {
    patterns: Vec<String>,
    timeout: Option<Duration>,
    quiet: Duration,
}

fn decide(a: &RunArgs, advice: &Advice, ctx: &RunContext) -> Applied {
    let e = &a.engine;
    let user_patterns =
        a.pattern.is_some() || !e.matching.error.is_empty() || !e.matching.success.is_empty();
    // A REPL or a debugger session (`pytest --pdb`) is never stopped by anything learned.
    let interactive = ctx.identity.bare;
    Applied {
        patterns: if a.no_learn || user_patterns || interactive {
            Vec::new()
        } else {
            advice.applied_patterns()
        },
        timeout: if a.no_learn || e.time.timeout.is_some() || interactive {
            None
        } else {
            advice.applied_timeout()
        },
        quiet: if a.no_learn {
            crate::engine::plan::DEFAULT_QUIET_RUN
        } else {
            advice.quiet_duration()
        },
    }
}

/// The run context of a command line, in the current directory.
pub fn context_of(command: &[std::ffi::OsString]) -> RunContext {
    let argv: Vec<String> = command
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    RunContext::new(&argv, &std::env::current_dir().unwrap_or_default())
}

pub fn run(a: RunArgs) -> RunResult {
    let record = !a.engine.output.no_telemetry && !a.dry_run;
    if record && !crate::store::disabled_by_env() {
        // Open the store on its thread (or tell the one already opening it the command): it
        // looks up what was learned while the command starts, then prepares the recording.
        crate::store::prepare(&a.command.argv, true);
    }
    let ctx = context_of(&a.command.argv);
    // The plan without anything learned: the user's own patterns (at fault if it fails: a usage
    // error) and the observation lexicon. It is all the command's start depends on, so the
    // command starts now and the lookup of what was learned runs while it does (issue 16).
    let user_spec = pattern_spec(a.pattern.as_deref(), &a.engine.matching);
    let mut spec = user_spec.clone();
    spec.observe = learn::lexicon::owned();
    let base = options::plan(spec, &a.engine, true, Some(DEFAULT_QUIET_RUN))
        .map_err(|e| Fail::usage(e.0))?;
    let started = if a.dry_run {
        None
    } else {
        Some(
            runner::start(&base, &a.engine, &a.command.argv)
                .map_err(|e| runner::spawn_fail(e, true))?,
        )
    };
    let t0 = std::time::Instant::now();
    let advice = lookup(record, &ctx);
    if std::env::var_os("EARLYEXIT_TRACE_LOOKUP").is_some() {
        // Hidden, for scripts/bench-learn: the lookup's own cost, measured inside ee.
        eprintln!("ee: lookup {} us", t0.elapsed().as_micros());
    }
    let mut applied = decide(&a, &advice, &ctx);
    let plan = learned_plan(base, user_spec, &a, &advice, &mut applied);
    let Some(started) = started else {
        dry_run(&a, &ctx, &advice, &applied);
        return Ok(Exit::Code(0));
    };
    let mut outcome = runner::watch(started, &plan, &a.engine, &a.command.argv)
        .map_err(|e| runner::spawn_fail(e, true))?;
    outcome.exit_code = run_exit_code(&outcome);
    if outcome.stopped_early {
        let on_pattern = matches!(outcome.reason, Reason::Match | Reason::ErrorMatch);
        let again = rerun::plan(&outcome, advice.profile.as_deref()).filter(|_| on_pattern);
        notice(&outcome, a.engine.output.quiet, &advice, again.as_ref());
        if let Some(r) = again {
            rerun::run(&r, a.engine.output.json, a.engine.output.quiet);
        }
    }
    let code = runner::finish(&a.engine, &outcome);
    crate::team::after_run();
    Ok(code)
}

/// What was learned for this command: looked up on the store's thread while the command
/// started (see `store::prepare`), else here. The command may already be running: a lookup that
/// panics must not leave it unwatched, so it then counts as "nothing learned".
fn lookup(record: bool, ctx: &RunContext) -> Advice {
    if record {
        if let Some(a) = crate::store::take_looked().and_then(|b| b.downcast::<Advice>().ok()) {
            return *a;
        }
    }
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // One connection for the lookup and (kept open) for recording the run.
        crate::store::with_lookup(record, |conn| {
            learn::advise(crate::team::lookup::knowledge(conn, ctx), ctx)
        })
    }))
    .unwrap_or_else(|_| learn::advise(Default::default(), ctx))
}

/// The lookup the store's thread makes for `ee run` (`store::Hooks::lookup`): the same as
/// `lookup`'s, on the thread's connection, for the command words in the current directory.
pub fn lookup_on(conn: &rusqlite::Connection, argv: &[String]) -> crate::store::Looked {
    let ctx = RunContext::new(argv, &std::env::current_dir().unwrap_or_default());
    Box::new(learn::advise(
        crate::team::lookup::knowledge(Some(conn), &ctx),
        &ctx,
    ))
}

/// The run's final plan: `base` (the user's patterns and the lexicon) with what learning
/// applies. The matcher is compiled again only when learning watches other patterns than
/// `base` does; a stored pattern that does not compile leaves `base` as it was, said once.
fn learned_plan(
    base: Plan,
    user_spec: crate::engine::matcher::PatternSpec,
    a: &RunArgs,
    advice: &Advice,
    applied: &mut Applied,
) -> Plan {
    let only_lexicon = advice
        .observe
        .iter()
        .map(String::as_str)
        .eq(learn::lexicon::LEXICON.iter().copied());
    let mut plan = if applied.patterns.is_empty() && only_lexicon {
        base
    } else {
        let mut spec = user_spec;
        spec.error.extend(applied.patterns.iter().cloned());
        spec.observe = advice.observe.clone();
        match options::plan(spec, &a.engine, true, None) {
            Ok(p) => p,
            Err(e) => {
                // A stored pattern (a user profile's, say) does not compile: run without what
                // was learned.
                note(
                    a.engine.output.quiet,
                    &format!("learned patterns not applied: {}", e.0),
                );
                applied.patterns.clear();
                base
            }
        }
    };
    plan.set_quiet(applied.quiet);
    if !applied.patterns.is_empty() {
        plan.patterns.learned = true;
    }
    plan.limits.interrupt_stop = advice.interrupt && !a.no_learn;
    if let Some(t) = applied.timeout {
        plan.limits.timeout = Some(t);
        plan.limits_used.timeout = Some(t.as_secs_f64());
        plan.limits_used.timeout_learned = true;
        plan.limits.hang_quiet = advice.applied_hang_quiet();
        plan.limits_used.hang_quiet = plan.limits.hang_quiet.map(|q| q.as_secs_f64());
    }
    plan.highlight_only_when_always();
    plan
}

/// `--dry-run`: what would be applied and why.
fn dry_run(a: &RunArgs, ctx: &RunContext, advice: &Advice, applied: &Applied) {
    let mut out = String::new();
    let cmd = shell_words::join(a.command.argv.iter().map(|s| s.to_string_lossy()));
    out.push_str(&format!("would run: {cmd}\n"));
    out.push_str(&format!(
        "context: key `{}`, {} project, category {}\n",
        ctx.key, ctx.project_type, ctx.category
    ));
    let e = &a.engine;
    if a.pattern.is_some() || !e.matching.error.is_empty() || !e.matching.success.is_empty() {
        out.push_str("patterns: yours (learned ones are not applied when you give a pattern)\n");
    } else if a.no_learn {
        out.push_str("patterns: none (--no-learn)\n");
    } else if ctx.identity.bare {
        out.push_str(
            "patterns: none (a REPL or a debugger session is never stopped by anything learned)\n",
        );
    } else if advice.check {
        out.push_str(
            "patterns: none applied: this run is a shadow check of the applied ones (it runs to \
             the end and its exit status judges them)\n",
        );
    } else if applied.patterns.is_empty() {
        out.push_str("patterns: none applied (none confirmed for this project and command)\n");
    } else {
        for r in advice.ranked.iter().filter(|r| r.applied) {
            out.push_str(&format!("pattern: /{}/ ({}", r.pattern, r.why));
            if r.tp + r.fp > 0 {
                out.push_str(&format!(
                    "; precision {:.2}, recall {:.2}, score {:.2}, rounded down",
                    r.precision, r.recall, r.score
                ));
            }
            out.push_str(")\n");
        }
    }
    match (&e.time.timeout, applied.timeout, &advice.timeout) {
        (Some(t), _, _) => out.push_str(&format!("timeout: {} (yours)\n", secs(*t))),
        (None, Some(t), Some(ta)) => out.push_str(&format!(
            "timeout: {} (learned: {}; mean {:.2}s, σ {:.2}s over {} runs)\n",
            secs(t),
            ta.why,
            ta.mean,
            ta.stddev,
            ta.samples
        )),
        (None, _, Some(ta)) if !a.no_learn => {
            out.push_str(&format!("timeout: none ({})\n", ta.why))
        }
        _ => out.push_str("timeout: none\n"),
    }
    match e.context.delay_exit_quiet {
        Some(q) => out.push_str(&format!("quiet gap after a match: {} (yours)\n", secs(q))),
        None => out.push_str(&format!(
            "quiet gap after a match: {} ({})\n",
            secs(applied.quiet),
            if a.no_learn {
                "default, --no-learn"
            } else {
                advice.quiet.why.as_str()
            }
        )),
    }
    crate::output::write_bytes(crate::escape::escape_lines(&out).as_bytes());
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.1}s")
    } else {
        format!("{s:.0}s")
    }
}

/// The notice said when ee stopped the command early: on its own line, naming what stopped it
/// and where that came from, and how to undo it.
fn notice(o: &Outcome, quiet: bool, advice: &Advice, again: Option<&rerun::Rerun>) {
    let prog = o
        .argv
        .first()
        .map(|p| crate::context::basename(p))
        .unwrap_or("the command");
    let what = match o.reason {
        Reason::Match | Reason::ErrorMatch => {
            let m = o
                .matches
                .iter()
                .find(|m| m.kind != crate::engine::matcher::Class::Observed);
            let origin = |p: &str| {
                if !o.patterns.learned {
                    return "your pattern".to_string();
                }
                match advice.ranked.iter().find(|r| r.pattern == p) {
                    Some(r) => {
                        use crate::learn::aggregates::Source;
                        let src = match Source::parse(&r.source) {
                            Some(Source::Profile(name)) => format!("built-in profile {name}"),
                            Some(Source::User) => "your earlier pattern".to_string(),
                            _ => "pattern learned from failed runs".to_string(),
                        };
                        format!("{src}; {}", r.why)
                    }
                    None => "learned".to_string(),
                }
            };
            match m {
                Some(m) => format!(
                    "pattern /{}/ ({}) matched on {} line {}",
                    m.pattern,
                    origin(&m.pattern),
                    m.stream,
                    m.line_no
                ),
                None => "matched".to_string(),
            }
        }
        Reason::SuccessMatch => "success pattern matched".to_string(),
        Reason::Timeout if o.limits.timeout_learned => format!(
            "learned timeout {}{}",
            o.limits
                .timeout
                .map_or(String::new(), |t| secs(Duration::from_secs_f64(t))),
            match (&advice.timeout, o.limits.hang_quiet) {
                (Some(t), Some(q)) => format!(
                    " ({}) passed and no output for {}",
                    t.term,
                    secs(Duration::from_secs_f64(q))
                ),
                _ => String::new(),
            }
        ),
        Reason::Timeout => format!(
            "timeout {}",
            o.limits
                .timeout
                .map_or(String::new(), |t| secs(Duration::from_secs_f64(t)))
        ),
        Reason::IdleTimeout => "no output (idle timeout)".to_string(),
        Reason::FirstOutputTimeout => "no first output (first-output timeout)".to_string(),
        Reason::Stuck => "output stuck repeating".to_string(),
        _ => return,
    };
    let mut msg = format!("stopped {prog} after {}: {what}", secs(o.total));
    if advice.interrupt && !o.reason.is_timeout() {
        msg.push_str(&format!(
            "; interrupted like Ctrl-C, so {prog} printed its failure summary above"
        ));
    }
    if let Some(r) = again {
        msg.push_str(&format!(
            "; re-running just the failing test to show why: {}",
            r.shown()
        ));
    }
    msg.push_str(&format!(
        " (undo: ee feedback last --false-positive; bypass once: command {prog}, or ee run \
         --no-learn)"
    ));
    if !quiet && !o.ends_line {
        let _ = crate::engine::printer::write_all(2, b"\n");
    }
    note(quiet, &msg);
}
