//! `ee telemetry check|path|export|clear|prune|export-learned|import-learned` (and the hidden
//! `generate` for benchmarks): looking after the telemetry database.

use std::io::{self, BufRead, IsTerminal, Write};

use crate::app::{CmdResult, Fail};
use crate::cli::{ExportFormat, TelemetryAction, TelemetryArgs};
use crate::paths::db_path;
use crate::store::db::Store;
use crate::store::files;
use crate::store::report::{self, ExportError};
use crate::store::spool;

/// Exit status when the database cannot be used, or `check` finds a problem.
const EXIT_DB: i32 = 1;

fn path() -> Result<std::path::PathBuf, Fail> {
    db_path().ok_or_else(|| {
        Fail::new(
            EXIT_DB,
            "no data directory (HOME unset?) and EARLYEXIT_DB not set",
        )
    })
}

fn open() -> Result<Store, Fail> {
    let p = path()?;
    let s = Store::open(&p, crate::app::record::entry)
        .map_err(|e| Fail::new(EXIT_DB, format!("cannot open {}: {e}", p.display())))?;
    for n in &s.notices {
        crate::engine::printer::note(false, &format!("telemetry: {n}"));
    }
    Ok(s)
}

fn out(s: &str) {
    crate::output::write_bytes(s.as_bytes());
}

pub fn run(a: TelemetryArgs) -> CmdResult {
    match a.action {
        TelemetryAction::Path => {
            out(&format!("{}\n", path()?.display()));
            Ok(0)
        }
        TelemetryAction::Check => check(),
        TelemetryAction::ExportLearned { output } => export_learned(output),
        TelemetryAction::ImportLearned { file, force } => import_learned(&file, force),
        TelemetryAction::Export { format } => export(format),
        TelemetryAction::Clear { yes } => clear(yes),
        TelemetryAction::Prune { older_than, keep } => {
            if older_than.is_none() && keep.is_none() {
                return Err(Fail::usage(
                    "'ee telemetry prune' needs --older-than DURATION and/or --keep N",
                ));
            }
            let mut s = open()?;
            let n = report::prune(&mut s, older_than, keep)
                .map_err(|e| Fail::new(EXIT_DB, format!("prune failed: {e}")))?;
            let left: i64 = s
                .conn()
                .query_row("SELECT count(*) FROM executions", [], |r| r.get(0))
                .unwrap_or(0);
            out(&format!("pruned {n} execution(s); {left} left\n"));
            Ok(0)
        }
        TelemetryAction::Checkpoint => {
            // Background maintenance: merge the spool, checkpoint the log (one at a time).
            crate::store::checkpoint::maintain(&path()?, crate::app::record::entry)
                .map_err(|e| Fail::new(EXIT_DB, format!("checkpoint failed: {e}")))?;
            Ok(0)
        }
        TelemetryAction::Generate { count } => {
            let mut s = open()?;
            let tty = io::stderr().is_terminal();
            let n = report::generate(&mut s, crate::app::record::entry, count, |done| {
                if tty {
                    eprint!("\rgenerated {done}/{count}");
                }
            })
            .map_err(|e| Fail::new(EXIT_DB, format!("generate failed: {e}")))?;
            if tty {
                eprintln!();
            }
            out(&format!(
                "generated {n} execution(s) in {}\n",
                s.path().display()
            ));
            Ok(0)
        }
    }
}

fn check() -> CmdResult {
    let p = path()?;
    // Repair what can be repaired, then explain what cannot.
    let repaired = files::repair_side_files(&p);
    for r in &repaired {
        crate::engine::printer::note(false, &format!("telemetry: repaired: {r}"));
    }
    let s = match Store::open(&p, crate::app::record::entry) {
        Ok(s) => s,
        Err(e) => {
            for d in files::diagnose(&p) {
                crate::engine::printer::note(false, &format!("telemetry: {d}"));
            }
            return Err(Fail::new(
                EXIT_DB,
                format!("cannot open {}: {e}", p.display()),
            ));
        }
    };
    for n in &s.notices {
        crate::engine::printer::note(false, &format!("telemetry: {n}"));
    }
    let problems = files::diagnose(&p);
    for d in &problems {
        crate::engine::printer::note(false, &format!("telemetry: {d}"));
    }
    let c = report::check(&s).map_err(|e| Fail::new(EXIT_DB, format!("check failed: {e}")))?;
    let mb = |b: u64| format!("{:.1} MB", b as f64 / 1_048_576.0);
    let mut o = String::new();
    o += &format!("database       {}\n", c.path);
    o += &format!(
        "size           {} (+ {} write-ahead log)\n",
        mb(c.size_bytes),
        mb(c.wal_bytes)
    );
    o += &format!("journal mode   {}\n", c.journal_mode);
    o += &format!(
        "foreign keys   {}\n",
        if c.foreign_keys { "on" } else { "off" }
    );
    o += &format!("schema         user_version {}\n", c.user_version);
    o += &format!("integrity      {}\n", c.integrity);
    o += &format!("fk violations  {}\n", c.foreign_key_violations);
    for (t, n) in &c.tables {
        o += &format!("rows           {t}: {n}\n");
    }
    o += &format!("spool backlog  {}", c.spool_backlog);
    if c.merged_on_open > 0 {
        o += &format!(" ({} merged just now)", c.merged_on_open);
    }
    o += "\n";
    let ok = c.ok() && problems.is_empty();
    o += if ok {
        "status         ok\n"
    } else {
        "status         PROBLEM\n"
    };
    out(&o);
    Ok(if ok { 0 } else { EXIT_DB })
}

fn export(format: ExportFormat) -> CmdResult {
    let p = path()?;
    if !p.exists() && !spool::pending(&p) {
        if format == ExportFormat::Json {
            out("[]\n");
        }
        return Ok(0);
    }
    let s = open()?;
    let mut w = crate::output::writer();
    match report::export(s.conn(), format, &mut w).and_then(|_| w.flush().map_err(ExportError::Io))
    {
        Ok(_) => Ok(0),
        // Only writing to stdout fails with Io: the writer recorded it, and `output::finish`
        // ends with 141 (closed) or one line and status 1 (a full disk).
        Err(ExportError::Io(_)) => Ok(0),
        Err(ExportError::Db(e)) => Err(Fail::new(EXIT_DB, format!("export: {e}"))),
    }
}

fn clear(yes: bool) -> CmdResult {
    let p = path()?;
    if !p.exists() && !spool::pending(&p) {
        out("nothing to clear\n");
        return Ok(0);
    }
    let mut s = open()?;
    if !yes {
        let n: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM executions", [], |r| r.get(0))
            .unwrap_or(0);
        eprint!(
            "Delete all {n} recorded execution(s) and everything learned from them in {}? [y/N] ",
            p.display()
        );
        let _ = io::stderr().flush();
        let mut answer = String::new();
        let _ = io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            return Err(Fail::new(1, "not cleared"));
        }
    }
    let n = report::clear(&mut s).map_err(|e| Fail::new(EXIT_DB, format!("clear failed: {e}")))?;
    out(&format!("cleared {n} execution(s)\n"));
    Ok(0)
}

/// `ee telemetry export-learned`: the learned aggregates as one JSON document.
fn export_learned(output: Option<std::path::PathBuf>) -> CmdResult {
    let s = open()?;
    let doc = crate::learn::transfer::export(s.conn())
        .map_err(|e| Fail::new(EXIT_DB, format!("cannot read what was learned: {e}")))?;
    let mut text =
        serde_json::to_string_pretty(&doc).map_err(|e| Fail::new(EXIT_DB, e.to_string()))?;
    text.push('\n');
    match output {
        Some(p) => std::fs::write(&p, text)
            .map_err(|e| Fail::new(EXIT_DB, format!("cannot write {}: {e}", p.display())))?,
        None => out(&text),
    }
    Ok(0)
}

/// `ee telemetry import-learned FILE`: merge a document into the local aggregates.
fn import_learned(file: &std::path::Path, force: bool) -> CmdResult {
    let text = if file.as_os_str() == "-" {
        let mut t = String::new();
        let max = crate::learn::transfer::MAX_DOCUMENT;
        io::Read::read_to_string(&mut io::Read::take(io::stdin(), max + 1), &mut t)
            .map_err(|e| Fail::io(format!("cannot read stdin: {e}")))?;
        t
    } else {
        let name = crate::escape::escape(&file.to_string_lossy()).into_owned();
        let max = crate::learn::transfer::MAX_DOCUMENT;
        let f =
            std::fs::File::open(file).map_err(|e| Fail::io(format!("cannot read {name}: {e}")))?;
        let mut t = String::new();
        io::Read::read_to_string(&mut io::Read::take(f, max + 1), &mut t)
            .map_err(|e| Fail::io(format!("cannot read {name}: {e}")))?;
        t
    };
    let name = crate::escape::escape(&file.to_string_lossy()).into_owned();
    if text.len() as u64 > crate::learn::transfer::MAX_DOCUMENT {
        return Err(Fail::usage(format!(
            "{name}: larger than {} MiB: not a learned-knowledge document",
            crate::learn::transfer::MAX_DOCUMENT >> 20
        )));
    }
    let doc = crate::learn::transfer::parse(&text)
        .map_err(|e| Fail::usage(format!("{name}: {}", crate::escape::escape(&e))))?;
    let mut s = open()?;
    let tx = s
        .write_tx()
        .map_err(|e| Fail::new(EXIT_DB, format!("cannot write: {e}")))?;
    let sum = crate::learn::transfer::import(&tx, &doc, force)
        .map_err(|e| Fail::new(EXIT_DB, crate::escape::escape(&e).into_owned()))?;
    tx.commit()
        .map_err(|e| Fail::new(EXIT_DB, format!("cannot write: {e}")))?;
    let skipped = if sum.skipped > 0 {
        format!(
            "; {} row(s) left out (broad scopes, rows this machine has its own evidence for, \
             patterns beyond the cap)",
            sum.skipped
        )
    } else {
        String::new()
    };
    out(&format!(
        "imported {} scope(s), {} pattern(s), {} pin(s){skipped}\n",
        sum.scopes, sum.patterns, sum.pins
    ));
    Ok(0)
}
