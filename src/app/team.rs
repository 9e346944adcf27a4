//! `ee team`: connect, disconnect, status, init, preview and sync (see `crate::team`).

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{CmdResult, Fail};
use crate::cli::{TeamAction, TeamArgs};
use crate::store::db::Store;
use crate::team::{config, local, server};

/// Exit status when the team database cannot be reached or fails.
pub const EXIT_UNREACHABLE: i32 = 1;

pub fn run(a: TeamArgs) -> CmdResult {
    match a.action {
        TeamAction::Connect {
            url,
            share_runs,
            no_check,
        } => connect(&url, share_runs, no_check),
        TeamAction::Disconnect => disconnect(),
        TeamAction::Status => status(),
        TeamAction::Init { url } => init(url),
        TeamAction::Preview => preview(),
        TeamAction::Sync { background } => sync(background),
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn out(text: &str) -> CmdResult {
    crate::output::write_bytes(text.as_bytes());
    Ok(0)
}

fn settings() -> Result<config::Settings, Fail> {
    match config::load() {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(Fail::usage(
            "team: no team database: run ee team connect URL (or set EARLYEXIT_TEAM_DB)",
        )),
        Err(e) => Err(Fail::usage(format!("team: {e}"))),
    }
}

fn target(url: &str) -> Result<config::Target, Fail> {
    config::parse_url(url).map_err(|e| Fail::usage(format!("team: {e}")))
}

fn unreachable(e: String) -> Fail {
    Fail::new(EXIT_UNREACHABLE, format!("team: {e}"))
}

/// Read a password from the terminal without echo.
fn prompt_password(what: &str) -> Option<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let old = tcgetattr(&tty).ok()?;
    let mut quiet = old.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    let _ = (&tty).write_all(format!("Password for {what}: ").as_bytes());
    tcsetattr(&tty, SetArg::TCSANOW, &quiet).ok()?;
    let mut line = String::new();
    let r = std::io::BufRead::read_line(&mut std::io::BufReader::new(&tty), &mut line);
    let _ = tcsetattr(&tty, SetArg::TCSANOW, &old);
    let _ = (&tty).write_all(b"\n");
    r.ok()?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    (!pw.is_empty()).then_some(pw)
}

fn connect(url: &str, share_runs: bool, no_check: bool) -> CmdResult {
    let t = target(url)?;
    let display = t.display.clone();
    if t.had_password {
        crate::engine::printer::note(
            false,
            "team: the password in the URL is not stored; ee reads it from PGPASSWORD or ~/.pgpass",
        );
    }
    if !no_check {
        let first = server::connect(target(url)?, None);
        let mut client = match first {
            Ok(c) => c,
            Err(e)
                if e.contains("password")
                    && std::io::IsTerminal::is_terminal(&std::io::stdin()) =>
            {
                let pw = prompt_password(&display).ok_or_else(|| unreachable(e.clone()))?;
                let c = server::connect(target(url)?, Some(&pw)).map_err(unreachable)?;
                crate::engine::printer::note(
                    false,
                    "team: connected with the password typed; it is not stored, so background syncs need PGPASSWORD or ~/.pgpass",
                );
                c
            }
            Err(e) => return Err(unreachable(e)),
        };
        if server::version(&mut client).map_err(unreachable)? == 0 {
            crate::engine::printer::note(
                false,
                "team: the database has no team schema yet: its owner runs ee team init",
            );
        }
    }
    let path = config::save(&config::Settings {
        url: display.clone(),
        share_runs,
    })
    .map_err(|e| Fail::new(EXIT_UNREACHABLE, format!("team: {e}")))?;
    out(&format!(
        "connected to {display}{}\nsettings: {}\n",
        if share_runs { " (sharing runs)" } else { "" },
        path.display()
    ))
}

fn disconnect() -> CmdResult {
    let removed =
        config::remove().map_err(|e| Fail::new(EXIT_UNREACHABLE, format!("team: {e}")))?;
    // The team's knowledge stops applying here; this machine's unpushed evidence stays.
    if let Some(c) = crate::store::db::open_lookup(Duration::from_secs(5)) {
        let _ = c.execute("DELETE FROM team_cache", []);
    }
    out(if removed {
        "disconnected; the team's knowledge no longer applies here\n"
    } else {
        "not connected\n"
    })
}

fn ago(t: Option<String>) -> String {
    match t.and_then(|v| v.parse::<f64>().ok()) {
        Some(t) => format!("{:.0} s ago", (now() - t).max(0.0)),
        None => "never".into(),
    }
}

fn status() -> CmdResult {
    let s = match config::load() {
        Ok(Some(s)) => s,
        Ok(None) => {
            out("not connected (ee team connect URL, or EARLYEXIT_TEAM_DB)\n")?;
            return Ok(EXIT_UNREACHABLE);
        }
        Err(e) => return Err(Fail::usage(format!("team: {e}"))),
    };
    let from = if crate::paths::team_db_url().is_some() {
        crate::paths::TEAM_DB.to_string()
    } else {
        config::path().map_or(String::new(), |p| p.display().to_string())
    };
    let mut text = format!(
        "server:      {} (from {from})\nshare runs:  {}\n",
        config::strip_password(&s.url),
        if s.share_runs { "yes" } else { "no" }
    );
    let conn = crate::store::db::open_lookup(Duration::from_secs(5));
    let get = |k: &str| conn.as_ref().and_then(|c| local::state_get(c, k));
    let backlog = conn.as_ref().map_or(0, local::backlog);
    text += &format!(
        "machine:     {}\nlast push:   {}\nlast pull:   {}\nbacklog:     {backlog} rows waiting to be pushed\n",
        get("machine").unwrap_or_else(|| "(none yet)".into()),
        ago(get("last_push")),
        ago(get("last_pull")),
    );
    if let Some(n) = get("cached") {
        text += &format!("team rows:   {n} cached");
        match get("rejected").filter(|r| r != "0") {
            Some(r) => {
                text += &format!(
                    ", {r} rejected ({})\n",
                    get("rejected_why").unwrap_or_default()
                )
            }
            None => text += "\n",
        }
    }
    match get("last_error") {
        Some(e) if !e.is_empty() => {
            text += &format!("last error:  {e} ({})\n", ago(get("last_error_at")))
        }
        _ => text += "last error:  none\n",
    }
    out(&text)
}

fn init(url: Option<String>) -> CmdResult {
    let url = match url {
        Some(u) => u,
        None => settings()?.url,
    };
    let t = target(&url)?;
    let display = t.display.clone();
    let mut c = server::connect(t, None).map_err(unreachable)?;
    let applied = server::migrate(&mut c).map_err(unreachable)?;
    let v = server::version(&mut c).map_err(unreachable)?;
    out(&format!(
        "{display}: team schema at version {v}{}\nadd members with: CREATE ROLE alice LOGIN PASSWORD '…' IN ROLE earlyexit_member;\n",
        if applied.is_empty() {
            " (already up to date)".to_string()
        } else {
            format!(" (applied {:?})", applied)
        }
    ))
}

fn open_store() -> Result<Store, Fail> {
    let store = Store::open_default(crate::app::record::entry)
        .map_err(|e| Fail::new(EXIT_UNREACHABLE, format!("team: local database: {e}")))?;
    // Staging and caching 100,000s of rows in one transaction: a page cache that holds them.
    let _ = store.conn().execute_batch("PRAGMA cache_size = -65536");
    local::ensure(store.conn())
        .map_err(|e| Fail::new(EXIT_UNREACHABLE, format!("team: local database: {e}")))?;
    Ok(store)
}

fn preview() -> CmdResult {
    let s = settings()?;
    let mut store = open_store()?;
    let cwd = std::env::current_dir().ok();
    let ldb =
        |e: rusqlite::Error| Fail::new(EXIT_UNREACHABLE, format!("team: local database: {e}"));
    let machine = local::machine_id(store.conn()).map_err(ldb)?;
    let tx = store
        .write_tx()
        .map_err(|e| Fail::new(EXIT_UNREACHABLE, format!("team: local database: {e}")))?;
    let mut batches = Vec::new();
    for seq in local::outbox_seqs(&tx).map_err(ldb)? {
        let (rows, runs) = local::outbox_batch(&tx, seq).map_err(ldb)?;
        batches.push(batch_json(seq, &rows, &runs));
    }
    local::update_paths(
        &tx,
        cwd.as_deref().into_iter().collect::<Vec<_>>().as_slice(),
    )
    .map_err(ldb)?;
    let staged = local::stage(&tx, s.share_runs).map_err(ldb)?;
    if let Some(seq) = local::commit_stage(&tx, &staged).map_err(ldb)? {
        batches.push(batch_json(seq, &staged.rows, &staged.runs));
    }
    drop(tx); // rolled back: a preview changes nothing
    let doc = serde_json::json!({ "machine": machine, "batches": batches });
    out(&format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).expect("json")
    ))
}

fn batch_json(seq: i64, rows: &[local::Ev], runs: &[local::SharedRun]) -> serde_json::Value {
    serde_json::json!({
        "seq": seq,
        "evidence": rows.iter().map(local::Ev::to_json).collect::<Vec<_>>(),
        "runs": runs.iter().map(|r| serde_json::json!({
            "project": r.project, "command": r.command, "command_key": r.command_key,
            "exit_code": r.exit_code, "reason": r.reason, "total_s": r.total_s,
            "started_at": r.started_at,
        })).collect::<Vec<_>>(),
    })
}

/// What a sync did.
#[derive(Default)]
struct Report {
    pushed_batches: usize,
    pushed_rows: usize,
    skipped: usize,
    cached: usize,
    rejected: usize,
}

fn sync(background: bool) -> CmdResult {
    let s = settings()?;
    let t = target(&s.url)?;
    let mut store = open_store()?;
    let lock_path = crate::store::files::with_suffix(store.path(), ".team-lock");
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| {
            Fail::new(
                EXIT_UNREACHABLE,
                format!("team: {}: {e}", lock_path.display()),
            )
        })?;
    use nix::fcntl::{Flock, FlockArg};
    let _guard = match Flock::lock(
        lock,
        if background {
            FlockArg::LockExclusiveNonblock
        } else {
            FlockArg::LockExclusive
        },
    ) {
        Ok(g) => g,
        Err(_) if background => return Ok(0),
        Err((_, e)) => return Err(Fail::new(EXIT_UNREACHABLE, format!("team: lock: {e}"))),
    };
    let started = now();
    let r = sync_locked(&mut store, &s, t);
    let conn = store.conn();
    let _ = std::fs::File::create(crate::team::stamp_path(store.path()));
    match r {
        Ok(rep) => {
            let _ = local::state_set(conn, "last_error", "");
            if !background {
                out(&format!(
                    "pushed {} batches ({} rows{}); pulled {} team rows{} in {:.2}s\n",
                    rep.pushed_batches,
                    rep.pushed_rows,
                    if rep.skipped > 0 {
                        format!(", {} already on the server", rep.skipped)
                    } else {
                        String::new()
                    },
                    rep.cached,
                    if rep.rejected > 0 {
                        format!(", {} rejected", rep.rejected)
                    } else {
                        String::new()
                    },
                    now() - started
                ))?;
            }
            Ok(0)
        }
        Err(e) => {
            let msg = e.msg.strip_prefix("team: ").unwrap_or(&e.msg);
            let _ = local::state_set(conn, "last_error", msg);
            let _ = local::state_set(conn, "last_error_at", &now().to_string());
            if background {
                Ok(e.code)
            } else {
                Err(e)
            }
        }
    }
}

/// Hidden `EARLYEXIT_TRACE_TEAM=1`: each sync phase's time on stderr (for scripts/bench-team).
fn trace(t0: &mut std::time::Instant, what: &str) {
    if crate::paths::trace_team() {
        eprintln!("ee: team: {what} {:.3}s", t0.elapsed().as_secs_f64());
        *t0 = std::time::Instant::now();
    }
}

fn sync_locked(store: &mut Store, s: &config::Settings, t: config::Target) -> Result<Report, Fail> {
    let mut t0 = std::time::Instant::now();
    let ldb =
        |e: rusqlite::Error| Fail::new(EXIT_UNREACHABLE, format!("team: local database: {e}"));
    let mut rep = Report::default();
    let machine = local::machine_id(store.conn()).map_err(ldb)?;
    // Stage what changed: from here on it waits in the outbox until the server has it.
    {
        let cwd = std::env::current_dir().ok();
        let tx = store
            .write_tx()
            .map_err(|e| Fail::new(EXIT_UNREACHABLE, format!("team: local database: {e}")))?;
        local::update_paths(
            &tx,
            cwd.as_deref().into_iter().collect::<Vec<_>>().as_slice(),
        )
        .map_err(ldb)?;
        trace(&mut t0, "paths");
        let staged = local::stage(&tx, s.share_runs).map_err(ldb)?;
        trace(&mut t0, "stage");
        local::commit_stage(&tx, &staged).map_err(ldb)?;
        tx.commit().map_err(ldb)?;
        trace(&mut t0, "outbox");
    }
    let conn = store.conn();
    let mut client = server::connect(t, None).map_err(unreachable)?;
    trace(&mut t0, "connect");
    let v = server::version(&mut client).map_err(unreachable)?;
    if v == 0 {
        return Err(unreachable(
            "the database has no team schema: its owner runs ee team init".into(),
        ));
    }
    if v < server::NEEDED {
        return Err(unreachable(format!(
            "the team schema is at version {v}, this ee needs {}: its owner runs ee team init",
            server::NEEDED
        )));
    }
    server::claim(&mut client, &machine).map_err(unreachable)?;
    let fault = crate::paths::team_fault();
    for seq in local::outbox_seqs(conn).map_err(ldb)? {
        let (rows, runs) = local::outbox_batch(conn, seq).map_err(ldb)?;
        let fresh =
            server::push_batch(&mut client, &machine, seq, &rows, &runs).map_err(unreachable)?;
        if fault == "drop-ack" {
            // Tests: the server committed but the acknowledgement never arrived.
            return Err(unreachable("fault injected: acknowledgement lost".into()));
        }
        trace(&mut t0, "push");
        local::outbox_done(conn, seq).map_err(ldb)?;
        if fresh {
            rep.pushed_batches += 1;
            rep.pushed_rows += rows.len() + runs.len();
        } else {
            rep.skipped += 1;
        }
        let _ = local::state_set(conn, "last_push", &now().to_string());
    }
    let projects = local::projects(conn).map_err(ldb)?;
    let team = server::pull(&mut client, &projects).map_err(unreachable)?;
    trace(&mut t0, "pull");
    let tx = store
        .write_tx()
        .map_err(|e| Fail::new(EXIT_UNREACHABLE, format!("team: local database: {e}")))?;
    let (cached, rejected, why) = local::replace_cache(&tx, team).map_err(ldb)?;
    local::state_set(&tx, "last_pull", &now().to_string()).map_err(ldb)?;
    local::state_set(&tx, "cached", &cached.to_string()).map_err(ldb)?;
    local::state_set(&tx, "rejected", &rejected.to_string()).map_err(ldb)?;
    local::state_set(&tx, "rejected_why", &why.unwrap_or_default()).map_err(ldb)?;
    tx.commit().map_err(ldb)?;
    trace(&mut t0, "cache");
    rep.cached = cached;
    rep.rejected = rejected;
    Ok(rep)
}
