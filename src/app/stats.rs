//! `ee stats`: what was recorded, from the live database — totals, exit reasons, project types,
//! categories, pattern effectiveness, most-run commands, time saved by early exits. `--json` for
//! scripts. Reads only the summary tables, so it answers quickly with a million executions.

use crate::app::{CmdResult, Fail};
use crate::cli::StatsArgs;
use crate::paths::db_path;
use crate::store::db::Store;
use crate::store::report::{self, human_duration, Stats};
use crate::store::spool;

/// Exit status when the database cannot be read.
const EXIT_DB: i32 = 1;

/// `ee stats --plot [--json]`: runs per day, time saved per week, the commands that saved most.
/// Read-only, creates nothing.
fn plot(json: bool) -> CmdResult {
    use crate::plot::{activity, render_activity, Activity};
    let conn = crate::store::db::open_lookup(std::time::Duration::from_millis(2000));
    let a = match &conn {
        Some(c) => activity(c)
            .map_err(|e| Fail::new(EXIT_DB, format!("cannot read the telemetry database: {e}")))?,
        None => Activity {
            days: Vec::new(),
            weeks: Vec::new(),
            top_commands: Vec::new(),
        },
    };
    crate::plot::print(json, &a, render_activity);
    Ok(0)
}

pub fn run(a: StatsArgs) -> CmdResult {
    if a.plot {
        return plot(a.json);
    }
    let path = db_path().ok_or_else(|| {
        Fail::new(
            EXIT_DB,
            "no data directory (HOME unset?) and EARLYEXIT_DB not set",
        )
    })?;
    let mut learning = crate::learn::aggregates::Summary::default();
    let stats = if !path.exists() && !spool::pending(&path) {
        // Nothing recorded yet: report that without creating files.
        report::empty_stats(&path)
    } else {
        let store = Store::open(&path, crate::app::record::entry)
            .map_err(|e| Fail::new(EXIT_DB, format!("cannot open {}: {e}", path.display())))?;
        for n in &store.notices {
            crate::engine::printer::note(false, &format!("telemetry: {n}"));
        }
        let st = report::stats(&store)
            .map_err(|e| Fail::new(EXIT_DB, format!("cannot read {}: {e}", path.display())))?;
        learning = crate::learn::aggregates::summary(store.conn());
        st
    };
    let text = if a.json {
        let mut v = serde_json::to_value(&stats).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "learning".into(),
                serde_json::to_value(&learning).unwrap_or_default(),
            );
        }
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    } else {
        render(&stats, &learning)
    };
    crate::output::write_bytes(crate::escape::escape_lines(&text).as_bytes());
    Ok(0)
}

fn pct(n: u64, total: u64) -> String {
    if total == 0 {
        "0.0%".into()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / total as f64)
    }
}

/// Shorten a pattern for a table column.
fn short(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn render(s: &Stats, l: &crate::learn::aggregates::Summary) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "earlyexit statistics — {}", s.database);
    if s.executions == 0 {
        let _ = writeln!(o, "\nNo executions recorded yet.");
        if s.spool_backlog > 0 {
            let _ = writeln!(o, "{} run(s) waiting in the spool.", s.spool_backlog);
        }
        return o;
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "  Total executions   {}", s.executions);
    if let (Some(f), Some(l)) = (&s.first_run, &s.last_run) {
        let _ = writeln!(o, "  Period             {} → {}", &f[..10], &l[..10]);
    }
    let _ = writeln!(
        o,
        "  Average runtime    {}",
        human_duration(s.average_runtime_s.unwrap_or(0.0))
    );
    let _ = writeln!(o, "  Unique patterns    {}", s.unique_patterns);
    let _ = writeln!(
        o,
        "  Stopped early      {} ({})",
        s.stopped_early,
        pct(s.stopped_early, s.executions)
    );
    let _ = writeln!(
        o,
        "  Time saved         {} (against failed runs of the same project and command that \
         ended by themselves; stops without one count as unknown, not as 0)",
        human_duration(s.time_saved_s)
    );
    let _ = writeln!(
        o,
        "  Learning           {} stops by confirmed patterns, {} shadow checks; {} patterns \
         in shadow, {} withdrawn",
        l.stops, l.shadow_checks, l.shadow_patterns, l.withdrawn_patterns
    );
    if s.spool_backlog > 0 {
        let _ = writeln!(o, "  Spool backlog      {} run(s)", s.spool_backlog);
    }
    for (title, list) in [
        ("Exit reasons", &s.exit_reasons),
        ("Project types", &s.project_types),
        ("Command categories", &s.categories),
    ] {
        let _ = writeln!(o, "\n{title}");
        for sh in list {
            let _ = writeln!(o, "  {:<22} {:>9}  {:>6.1}%", sh.name, sh.count, sh.percent);
        }
    }
    if !s.patterns.is_empty() {
        let _ = writeln!(o, "\nMost used patterns");
        let _ = writeln!(
            o,
            "  {:<32} {:>9} {:>9} {:>7}",
            "PATTERN", "USES", "MATCHES", "RATE"
        );
        for p in s.patterns.iter().take(10) {
            let _ = writeln!(
                o,
                "  {:<32} {:>9} {:>9} {:>6.1}%",
                short(&p.pattern, 32),
                p.uses,
                p.matches,
                p.rate * 100.0
            );
        }
        let mut eff: Vec<_> = s.patterns.iter().filter(|p| p.uses >= 3).collect();
        eff.sort_by(|a, b| b.rate.total_cmp(&a.rate).then(b.uses.cmp(&a.uses)));
        if !eff.is_empty() {
            let _ = writeln!(
                o,
                "\nPattern effectiveness (match rate, patterns used 3+ times)"
            );
            for p in eff.iter().take(10) {
                let _ = writeln!(
                    o,
                    "  {:<32} {:>6.1}%  ({} of {} runs)",
                    short(&p.pattern, 32),
                    p.rate * 100.0,
                    p.matches,
                    p.uses
                );
            }
        }
    }
    if !s.commands.is_empty() {
        let _ = writeln!(o, "\nMost run commands");
        for c in s.commands.iter().take(10) {
            let _ = writeln!(
                o,
                "  {:<32} {:>9}  avg {}",
                short(
                    if c.command.is_empty() {
                        "(pipe)"
                    } else {
                        &c.command
                    },
                    32
                ),
                c.runs,
                human_duration(c.average_runtime_s)
            );
        }
    }
    o
}
