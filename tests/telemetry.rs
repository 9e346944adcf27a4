//! Black-box tests of the telemetry store: the rows a run leaves (match, no match, timeout,
//! stuck), redaction, `--no-telemetry`, file locations and modes, locked / read-only / corrupt /
//! unwritable databases (the command is unaffected, one warning, the spool merged later),
//! retention, and the `ee stats` / `ee telemetry` commands.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use rusqlite::Connection;

mod common;

/// An isolated environment (tests/common) with the database in a directory of its own.
struct Env(common::Isolated);

impl std::ops::Deref for Env {
    type Target = common::Isolated;
    fn deref(&self) -> &common::Isolated {
        &self.0
    }
}

impl Env {
    fn new() -> Env {
        Env(common::Isolated::new().db_at("db/telemetry.db").xdg(
            "xdg-config",
            "xdg-data",
            "xdg-state",
        ))
    }
    fn ee(&self) -> Command {
        self.0.ee_assert()
    }
    fn run(&self, args: &[&str]) -> Output {
        self.ee().args(args).output().unwrap()
    }
    fn conn(&self) -> Connection {
        Connection::open(self.db()).unwrap()
    }
    /// The one row `sql` returns, as a tuple.
    fn row<T>(&self, sql: &str) -> T
    where
        T: for<'a> TryFrom<&'a rusqlite::Row<'a>, Error = rusqlite::Error>,
    {
        common::sql_row(&self.db(), sql)
    }
    /// A connection holding the database's write lock, with a write pending (a writer in the
    /// middle of its transaction).
    fn lock(&self) -> Connection {
        let holder = self.conn();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        holder
            .execute("UPDATE executions SET cwd = cwd", [])
            .unwrap();
        holder
    }
    /// The first column of every row `sql` returns.
    fn column<T: rusqlite::types::FromSql>(&self, sql: &str) -> Vec<T> {
        let rows: Vec<(T,)> = common::sql_rows(&self.db(), sql);
        rows.into_iter().map(|(v,)| v).collect()
    }
    /// The one value `sql` returns.
    fn value<T: rusqlite::types::FromSql>(&self, sql: &str) -> T {
        self.row::<(T,)>(sql).0
    }
    fn count(&self, table: &str) -> i64 {
        self.value(&format!("SELECT count(*) FROM {table}"))
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn integrity(db: &Path) -> String {
    common::sql_row::<(String,)>(db, "PRAGMA integrity_check").0
}

/// (reason, exit_code, child_exit, child_signal, stopped_early, match_count, total_s)
type Row = (String, i64, Option<i64>, Option<i64>, i64, i64, f64);

fn last_row(e: &Env) -> Row {
    e.row(
        "SELECT reason, exit_code, child_exit, child_signal, stopped_early, match_count, total_s
         FROM executions ORDER BY id DESC LIMIT 1",
    )
}

#[test]
fn match_run_is_recorded_with_its_event() {
    let e = Env::new();
    std::fs::write(e.dir.path().join("Cargo.toml"), "[package]\n").unwrap();
    let o = e.run(&[
        "-A",
        "0",
        "boom",
        "--",
        "sh",
        "-c",
        "echo start; echo 'boom: token=abc123'; sleep 5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let (reason, code, child_exit, child_signal, early, matches, total) = last_row(&e);
    assert_eq!(reason, "match");
    assert_eq!(code, 0);
    assert_eq!(child_exit, None);
    assert!(child_signal.is_some(), "the child was stopped by a signal");
    assert_eq!(early, 1);
    assert_eq!(matches, 1);
    assert!(total < 4.0, "total {total}");
    let (ptype, pattern, mode, cwd, lines, bytes): (String, String, String, String, i64, i64) = e
        .row("SELECT project_type, pattern, mode, cwd, stdout_lines, stdout_bytes FROM executions");
    assert_eq!(ptype, "rust");
    assert_eq!(pattern, "boom");
    assert_eq!(mode, "command");
    assert_eq!(
        Path::new(&cwd).canonicalize().unwrap(),
        e.dir.path().canonicalize().unwrap()
    );
    assert_eq!(lines, 2);
    assert_eq!(bytes, ("start\nboom: token=abc123\n").len() as i64);
    let (exec_id, kind, stream, line_no, line, matched, context): (
        i64,
        String,
        String,
        i64,
        String,
        String,
        String,
    ) = e.row(
        "SELECT execution_id, kind, stream, line_no, line, matched, context FROM match_events",
    );
    let id: i64 = e.value("SELECT id FROM executions");
    assert_eq!(exec_id, id);
    assert_eq!(kind, "match");
    assert_eq!(stream, "stdout");
    assert_eq!(line_no, 2);
    assert_eq!(line, "boom: token=***", "the matched line is redacted");
    assert_eq!(matched, "boom");
    assert_eq!(context, r#"["start"]"#);
}

#[test]
fn no_match_timeout_and_stuck_runs_are_recorded() {
    let e = Env::new();
    let o = e.run(&["nothere", "--", "sh", "-c", "echo a; echo bb >&2; exit 4"]);
    assert_eq!(o.status.code(), Some(1));
    let (reason, code, child_exit, _, early, matches, _) = last_row(&e);
    assert_eq!(
        (reason.as_str(), code, child_exit, early, matches),
        ("no_match", 1, Some(4), 0, 0)
    );
    let (ol, ob, el, eb): (i64, i64, i64, i64) =
        e.row("SELECT stdout_lines, stdout_bytes, stderr_lines, stderr_bytes FROM executions");
    assert_eq!((ol, ob, el, eb), (1, 2, 1, 3));

    let o = e.run(&["-t", "0.5", "--", "sleep", "5"]);
    assert_eq!(o.status.code(), Some(2));
    let (reason, code, _, signal, early, _, total) = last_row(&e);
    assert_eq!((reason.as_str(), code, early), ("timeout", 2, 1));
    assert!(signal.is_some());
    assert!((0.4..4.0).contains(&total), "total {total}");
    let t: f64 = e.value("SELECT timeout_s FROM executions ORDER BY id DESC LIMIT 1");
    assert_eq!(t, 0.5);

    let o = e.run(&[
        "--max-repeat",
        "5",
        "--",
        "sh",
        "-c",
        "while true; do echo same; sleep 0.01; done",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let (reason, _, _, _, early, _, _) = last_row(&e);
    assert_eq!((reason.as_str(), early), ("stuck", 1));

    // Pipe mode is recorded too.
    let o = e.ee().arg("x").write_stdin("a\nx\n").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let (mode, command): (String, String) =
        e.row("SELECT mode, command FROM executions ORDER BY id DESC LIMIT 1");
    assert_eq!((mode.as_str(), command.as_str()), ("pipe", ""));
    assert_eq!(e.count("executions"), 4);
}

#[test]
fn secrets_are_redacted() {
    let e = Env::new();
    let o = e.run(&[
        "--",
        "sh",
        "-c",
        "true",
        "x",
        "--password",
        "hunter2",
        "--api-key=k3y",
        "https://bob:pw123@example.com/repo",
        "API_TOKEN=zzz",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let command: String = e.value("SELECT command FROM executions");
    for secret in ["hunter2", "k3y", "pw123", "zzz"] {
        assert!(!command.contains(secret), "{secret} in {command}");
    }
    assert!(command.contains("--password '***'"), "{command}");
    assert!(
        command.contains("https://bob:***@example.com/repo"),
        "{command}"
    );
    assert!(command.contains("API_TOKEN=***"), "{command}");
    let export = e.run(&["telemetry", "export"]);
    assert!(!stdout(&export).contains("hunter2"));
    // The secret is nowhere in the database files.
    for f in std::fs::read_dir(e.db().parent().unwrap()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!bytes.windows(7).any(|w| w == b"hunter2"));
    }
}

#[test]
fn no_telemetry_creates_nothing() {
    let e = Env::new();
    let o = e.run(&["--no-telemetry", "--", "true"]);
    assert_eq!(o.status.code(), Some(0));
    let o = e
        .ee()
        .env("EARLYEXIT_NO_TELEMETRY", "1")
        .args(["x", "--", "echo", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    // Also without EARLYEXIT_DB: the default location stays untouched.
    let o = e
        .ee()
        .env_remove("EARLYEXIT_DB")
        .env("EARLYEXIT_NO_TELEMETRY", "1")
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let entries: Vec<_> = std::fs::read_dir(e.dir.path()).unwrap().collect();
    assert!(entries.is_empty(), "created {entries:?}");
}

#[test]
fn default_location_and_file_modes() {
    let e = Env::new();
    let data = e.xdg_data();
    let o = e
        .ee()
        .env_remove("EARLYEXIT_DB")
        .args(["telemetry", "path"])
        .output()
        .unwrap();
    let expected = data.join("earlyexit").join("telemetry.db");
    assert_eq!(stdout(&o).trim(), expected.display().to_string());
    // HOME unset: still recorded, the command unaffected.
    let o = e
        .ee()
        .env_remove("EARLYEXIT_DB")
        .env_remove("HOME")
        .args(["--", "sh", "-c", "exit 3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stderr(&o), "");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&expected), 0o600);
    assert_eq!(mode(expected.parent().unwrap()), 0o700);
    let (n,): (i64,) = common::sql_row(&expected, "SELECT count(*) FROM executions");
    assert_eq!(n, 1);
}

fn spool_of(e: &Env) -> PathBuf {
    PathBuf::from(format!("{}.spool", e.db().display()))
}

/// Wait for the background merger to empty the spool, then let an `ee telemetry check` (which
/// merges with the full lock wait) flush whatever is left.
fn settle(e: &Env) {
    let merging = PathBuf::from(format!("{}.spool.merging", e.db().display()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while (spool_of(e).exists() || merging.exists()) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    e.run(&["telemetry", "check"]);
}

#[test]
fn locked_database_spools_at_once_and_merges_in_the_background() {
    let e = Env::new();
    assert!(e.run(&["--", "true"]).status.success());
    let holder = e.lock();
    // The default lock wait (5 s) must not land on the prompt: the run is spooled at once.
    let t = std::time::Instant::now();
    let o = e
        .ee()
        .args(["--", "sh", "-c", "echo out; exit 7"])
        .output()
        .unwrap();
    let took = t.elapsed();
    assert_eq!(o.status.code(), Some(7), "exit status unchanged");
    assert_eq!(stdout(&o), "out\n");
    assert_eq!(stderr(&o), "", "a lock is not a fault");
    assert!(took < std::time::Duration::from_millis(1500), "{took:?}");
    assert!(spool_of(&e).exists());
    std::thread::sleep(std::time::Duration::from_millis(300));
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    // The merger started by that run was waiting for the lock: it adds the run by itself.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while e.count("executions") < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(e.count("executions"), 2);
    let codes: Vec<i64> = e.column("SELECT child_exit FROM executions ORDER BY id");
    assert!(codes.contains(&7), "{codes:?}");
    // Merged once only.
    assert!(e.run(&["--", "true"]).status.success());
    settle(&e);
    assert_eq!(e.count("executions"), 3);
    assert!(!spool_of(&e).exists());
    assert_eq!(integrity(&e.db()), "ok");
}

#[test]
fn a_torn_spool_record_loses_only_itself() {
    let e = Env::new();
    assert!(e.run(&["--", "true"]).status.success());
    let holder = e.lock();
    let spooled = |code: i32| {
        let o = e
            .ee()
            .env("EARLYEXIT_DB_TIMEOUT", "0.05")
            .args(["--", "sh", "-c", &format!("exit {code}")])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(code));
    };
    spooled(11);
    // A write cut short (disk full, killed): half of the record is there.
    let len = std::fs::metadata(spool_of(&e)).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(spool_of(&e))
        .unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    spooled(12);
    spooled(13);
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    settle(&e);
    let codes: Vec<i64> = e.column("SELECT child_exit FROM executions ORDER BY child_exit");
    assert_eq!(
        codes,
        [0, 12, 13],
        "the torn run is lost, the next ones are not"
    );
}

#[test]
fn unwritable_location_leaves_the_command_alone() {
    let e = Env::new();
    let blocker = e.dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let o = e
        .ee()
        .env("EARLYEXIT_DB", blocker.join("sub").join("telemetry.db"))
        .args(["x", "--", "sh", "-c", "echo x; exit 0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "x\n");
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("ee: telemetry:"), "{err}");
    // Quiet means quiet.
    let o = e
        .ee()
        .env("EARLYEXIT_DB", blocker.join("sub").join("telemetry.db"))
        .args(["-q", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(stderr(&o), "");
}

#[test]
fn read_only_database_spools() {
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        eprintln!(
            "skipped: file modes do not stop root (see unwritable_location and locked tests)"
        );
        return;
    }
    let e = Env::new();
    assert!(e.run(&["--", "true"]).status.success());
    let dir = e.db().parent().unwrap().to_path_buf();
    let set = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    for f in std::fs::read_dir(&dir).unwrap() {
        set(&f.unwrap().path(), 0o400).unwrap();
    }
    let o = e.run(&["--", "sh", "-c", "exit 5"]);
    assert_eq!(o.status.code(), Some(5));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    for f in std::fs::read_dir(&dir).unwrap() {
        set(&f.unwrap().path(), 0o600).unwrap();
    }
    assert!(e.run(&["--", "true"]).status.success());
    assert_eq!(e.count("executions"), 3);
}

#[test]
fn corrupt_database_is_moved_aside() {
    let e = Env::new();
    std::fs::create_dir_all(e.db().parent().unwrap()).unwrap();
    let garbage = b"this is not a database\n".repeat(400);
    std::fs::write(e.db(), &garbage).unwrap();
    let o = e.run(&["--", "sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("corrupt") && err.contains("moved"), "{err}");
    let moved: Vec<PathBuf> = std::fs::read_dir(e.db().parent().unwrap())
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(
        std::fs::read(&moved[0]).unwrap(),
        garbage,
        "kept, not deleted"
    );
    assert_eq!(e.count("executions"), 1);
    assert_eq!(integrity(&e.db()), "ok");
}

#[test]
fn kill_9_during_a_write_leaves_an_intact_database() {
    let e = Env::new();
    assert!(e.run(&["--", "true"]).status.success());
    let bin = assert_cmd::cargo::cargo_bin("ee");
    for delay_ms in [150u64, 400] {
        let mut child = std::process::Command::new(&bin)
            .args(["telemetry", "generate", "500000"])
            .env("EARLYEXIT_DB", e.db())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert_eq!(integrity(&e.db()), "ok");
    }
    let before = e.count("executions");
    let o = e.run(&["--", "true"]);
    assert_eq!(stderr(&o), "");
    assert_eq!(e.count("executions"), before + 1);
    assert_eq!(before % 10_000, 1, "only whole batches survive: {before}");
}

#[test]
fn retention_keeps_the_newest_runs() {
    let e = Env::new();
    for _ in 0..8 {
        let o = e
            .ee()
            .env("EARLYEXIT_TELEMETRY_KEEP", "5")
            .args(["--", "true"])
            .output()
            .unwrap();
        assert!(o.status.success());
    }
    // A run that found the database busy (a background checkpoint) went to the spool, as it
    // should; `ee stats` merges the spool when it opens the database, so read after it.
    let o = e.run(&["stats", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e.count("executions"), 5);
    let min: i64 = e.value("SELECT min(id) FROM executions");
    assert_eq!(min, 4);
    // Summaries follow the deletions.
    assert_eq!(v["executions"], 5);
}

#[test]
fn prune_clear_and_cascade() {
    let e = Env::new();
    assert!(e
        .run(&["-A", "0", "x", "--", "sh", "-c", "echo x"])
        .status
        .success());
    assert_eq!(e.count("match_events"), 1);
    let o = e.run(&["telemetry", "generate", "200"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(e.count("executions"), 201);

    let cutoff = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 150 * 86_400_000;
    let old: i64 = e
        .conn()
        .query_row(
            "SELECT count(*) FROM executions WHERE started_at < ?1",
            [cutoff],
            |r| r.get(0),
        )
        .unwrap();
    assert!(old > 50 && old < 150, "{old}");
    let o = e.run(&["telemetry", "prune", "--older-than", "150d"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("pruned {old} ")),
        "{}",
        stdout(&o)
    );
    assert_eq!(e.count("executions"), 201 - old);

    let o = e.run(&["telemetry", "prune", "--keep", "10"]);
    assert!(o.status.success());
    assert_eq!(e.count("executions"), 10);
    let o = e.run(&["stats", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["executions"], 10);
    let sum: u64 = v["exit_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 10);

    // Deleting executions deletes their match events (foreign key, enforced).
    let o = e.run(&["telemetry", "prune", "--keep", "0"]);
    assert!(o.status.success());
    assert_eq!(e.count("executions"), 0);
    assert_eq!(e.count("match_events"), 0);

    let o = e.run(&["telemetry", "prune"]);
    assert_eq!(o.status.code(), Some(3));

    assert!(e.run(&["--", "true"]).status.success());
    let o = e
        .ee()
        .args(["telemetry", "clear"])
        .write_stdin("n\n")
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(e.count("executions"), 1);
    let o = e
        .ee()
        .args(["telemetry", "clear"])
        .write_stdin("y\n")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(e.count("executions"), 0);
    assert!(e.run(&["--", "true"]).status.success());
    let o = e.run(&["telemetry", "clear", "-y"]);
    assert!(stdout(&o).contains("cleared 1 "));
    assert_eq!(e.count("executions"), 0);
    assert_eq!(e.count("exec_summary WHERE runs > 0"), 0);
}

#[test]
fn stats_check_and_export() {
    let e = Env::new();
    let o = e.run(&["stats"]);
    assert!(stdout(&o).contains("No executions recorded yet"));
    assert!(!e.db().exists(), "stats creates nothing");

    assert_eq!(
        e.run(&["-A", "0", "err", "--", "sh", "-c", "echo err; sleep 3"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        e.run(&["err", "--", "sh", "-c", "echo ok"]).status.code(),
        Some(1)
    );
    assert_eq!(
        e.run(&["-t", "0.2", "--", "sleep", "3"]).status.code(),
        Some(2)
    );
    let o = e.run(&["stats", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["executions"], 3);
    assert_eq!(v["unique_patterns"], 1);
    assert_eq!(v["stopped_early"], 2);
    let p = &v["patterns"][0];
    assert_eq!(
        (
            p["pattern"].as_str(),
            p["uses"].as_u64(),
            p["matches"].as_u64()
        ),
        (Some("err"), Some(2), Some(1))
    );
    let reasons: Vec<(String, u64)> = v["exit_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 3);
    for want in ["match", "no_match", "timeout"] {
        assert!(reasons.contains(&(want.to_string(), 1)), "{reasons:?}");
    }
    let text = stdout(&e.run(&["stats"]));
    assert!(text.contains("Total executions   3"), "{text}");
    assert!(text.contains("33.3%"), "{text}");

    let o = e.run(&["telemetry", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let c = stdout(&o);
    for want in [
        "integrity      ok",
        "journal mode   wal",
        "foreign keys   on",
        "executions: 3",
        "spool backlog  0",
    ] {
        assert!(c.contains(want), "{want} in {c}");
    }

    let o = e.run(&["telemetry", "export"]);
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["match_events"][0]["line"], "err");
    assert_eq!(lines[2]["reason"], "timeout");
    let o = e.run(&["telemetry", "export", "--format", "csv"]);
    let csv = stdout(&o);
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.starts_with("id,started_at,mode,command,"), "{csv}");
}

fn concurrent_runs(e: &Env, n: usize, timeout: Option<&str>) {
    let bin = assert_cmd::cargo::cargo_bin("ee");
    let children: Vec<_> = (0..n)
        .map(|i| {
            let mut c = std::process::Command::new(&bin);
            c.args(["--", "sh", "-c", &format!("exit {}", i % 3)])
                .env("EARLYEXIT_DB", e.db())
                .env_remove("EARLYEXIT_DB_TIMEOUT")
                .env_remove("EARLYEXIT_NO_TELEMETRY")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            if let Some(t) = timeout {
                c.env("EARLYEXIT_DB_TIMEOUT", t);
            }
            c.spawn().unwrap()
        })
        .collect();
    let mut warnings = Vec::new();
    for (i, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some((i % 3) as i32));
        if !o.stderr.is_empty() {
            warnings.push(String::from_utf8_lossy(&o.stderr).into_owned());
        }
    }
    assert!(warnings.is_empty(), "lock errors: {warnings:?}");
    settle(e);
    assert_eq!(e.count("executions"), n as i64);
    assert_eq!(integrity(&e.db()), "ok");
    assert!(!spool_of(e).exists());
}

#[test]
fn two_hundred_concurrent_runs_leave_two_hundred_rows() {
    let e = Env::new();
    // A fresh database: all of them race to create it, switch it to WAL and migrate it.
    concurrent_runs(&e, 200, None);
    let journal: String = e.value("PRAGMA journal_mode");
    assert_eq!(journal, "wal");
}

/// Issue 11 item 4, at CI size (scripts/stress-telemetry runs the full size): with a tiny lock
/// wait most runs go through the spool, and mergers race each other; none is lost.
#[test]
fn concurrent_runs_with_a_tiny_lock_wait_lose_nothing() {
    let e = Env::new();
    assert!(e.run(&["--", "true"]).status.success());
    for _ in 0..2 {
        let before = e.count("executions");
        concurrent_runs_from(&e, 150, before);
    }
}

fn concurrent_runs_from(e: &Env, n: usize, before: i64) {
    let bin = assert_cmd::cargo::cargo_bin("ee");
    let children: Vec<_> = (0..n)
        .map(|i| {
            std::process::Command::new(&bin)
                .args(["--", "sh", "-c", &format!("echo run {i}")])
                .env("EARLYEXIT_DB", e.db())
                .env("EARLYEXIT_DB_TIMEOUT", "0.001")
                .env_remove("EARLYEXIT_NO_TELEMETRY")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        assert!(c.wait_with_output().unwrap().status.success());
    }
    settle(e);
    assert_eq!(e.count("executions"), before + n as i64);
    assert_eq!(integrity(&e.db()), "ok");
}

#[test]
fn write_ahead_log_stays_short() {
    let e = Env::new();
    // Each run adds several pages to the log; a background checkpoint truncates it.
    // A relative EARLYEXIT_DB (from the temporary directory) must reach the checkpoint too.
    for _ in 0..60 {
        assert!(e
            .ee()
            .env("EARLYEXIT_DB", "db/telemetry.db")
            .args(["-A", "0", "x", "--", "sh", "-c", "echo x"])
            .output()
            .unwrap()
            .status
            .success());
    }
    let wal = PathBuf::from(format!("{}-wal", e.db().display()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    while size() > 200 * 4120 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(size() <= 200 * 4120, "WAL is {} bytes", size());
    assert_eq!(e.count("executions"), 60);
    assert_eq!(integrity(&e.db()), "ok");
}

#[test]
fn observed_error_lines_are_recorded_as_events() {
    let e = Env::new();
    let o = e.run(&[
        "run",
        "--",
        "sh",
        "-c",
        "echo 'Traceback (most recent call last):'; echo 'ValueError: password=hunter2'; exit 1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let rows: Vec<(String, String)> = common::sql_rows(
        &e.db(),
        "SELECT m.kind, m.line FROM match_events m JOIN executions x ON x.id = m.execution_id
         WHERE x.mode = 'run' ORDER BY m.id",
    );
    assert!(
        rows.iter()
            .any(|(k, l)| k == "observed" && l.contains("Traceback")),
        "{rows:?}"
    );
    assert!(rows.iter().all(|(_, l)| !l.contains("hunter2")), "{rows:?}");
}

#[test]
fn huge_or_bad_lock_timeouts_do_not_panic() {
    let e = Env::new();
    assert!(e.run(&["--", "true"]).status.success());
    for v in ["1e308", "inf", "NaN", "-3", "x", "100000000000000000000"] {
        let o = e
            .ee()
            .env("EARLYEXIT_DB_TIMEOUT", v)
            .args(["stats"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{v}: {}", stderr(&o));
        let o = e
            .ee()
            .env("EARLYEXIT_DB_TIMEOUT", v)
            .args(["--", "sh", "-c", "exit 4"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(4), "{v}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{v}");
    }
    assert_eq!(e.count("executions"), 7);
}

#[test]
fn a_database_behind_a_dangling_symlink_is_created_0600() {
    let e = Env::new();
    let dir = e.dir.path().join("db");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("real.db");
    std::os::unix::fs::symlink(&target, e.db()).unwrap();
    assert!(e.run(&["--", "true"]).status.success());
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(e.count("executions"), 1);
}

#[test]
fn side_files_take_the_database_mode() {
    let e = Env::new();
    assert!(e.run(&["--", "true"]).status.success());
    let set = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    set(&e.db(), 0o640).unwrap();
    // A spool created while the database is locked gets the database's mode.
    let holder = e.lock();
    assert!(e
        .ee()
        .env("EARLYEXIT_DB_TIMEOUT", "0.05")
        .args(["--", "true"])
        .output()
        .unwrap()
        .status
        .success());
    let spool = spool_of(&e);
    if spool.exists() {
        assert_eq!(mode(&spool), 0o640);
    } else {
        let merging = PathBuf::from(format!("{}.spool.merging", e.db().display()));
        assert!(!merging.exists() || mode(&merging) == 0o640);
    }
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    settle(&e);
    for s in ["-wal", "-shm", ".ckpt"] {
        let p = PathBuf::from(format!("{}{s}", e.db().display()));
        if p.exists() {
            assert_eq!(mode(&p), 0o640, "{s}");
        }
    }
    // Side files left read-only by a read-only database are repaired by `ee telemetry check`,
    // which says what it did.
    set(&e.db(), 0o600).unwrap();
    let wal = PathBuf::from(format!("{}-wal", e.db().display()));
    assert!(e.run(&["--", "true"]).status.success());
    set(&wal, 0o400).unwrap();
    let o = e.run(&["telemetry", "check"]);
    assert!(stderr(&o).contains("repaired"), "{}", stderr(&o));
    assert!(stderr(&o).contains("-wal had mode 0400"), "{}", stderr(&o));
    assert_eq!(mode(&wal), 0o600);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn a_corrupt_page_is_salvaged_into_the_new_database() {
    let e = Env::new();
    let o = e.run(&["telemetry", "generate", "400"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // What was learned is in the database too.
    for _ in 0..3 {
        e.run(&["run", "--", "sh", "-c", "echo 'ERROR: boom'; exit 1"]);
    }
    let learned: i64 = e.count("learn_runs") + e.count("learn_patterns") + e.count("learn_scopes");
    assert!(learned > 0);
    let marker = "SALVAGEMARKER".repeat(20);
    assert!(e.run(&["--", "echo", &marker]).status.success());
    // Everything into the main file (a background checkpoint may be running: retry).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let busy: i64 = e.value("PRAGMA wal_checkpoint(TRUNCATE)");
        if busy == 0 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let before = e.count("executions");
    // Overwrite the page holding the newest run (where the next insert goes) with garbage.
    let mut bytes = std::fs::read(e.db()).unwrap();
    let at = bytes
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .expect("marker in the database file");
    let page = 4096;
    let start = at / page * page;
    for (i, b) in bytes[start..start + page].iter_mut().enumerate() {
        *b = (i * 7 + 13) as u8;
    }
    std::fs::write(e.db(), &bytes).unwrap();
    let o = e.run(&["--", "sh", "-c", "exit 3"]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(err.contains("corrupt") && err.contains("salvaged"), "{err}");
    let moved: Vec<PathBuf> = std::fs::read_dir(e.db().parent().unwrap())
        .unwrap()
        .map(|f| f.unwrap().path())
        .filter(|p| {
            let s = p.to_string_lossy();
            s.contains(".corrupt-") && !s.ends_with("-wal") && !s.ends_with("-shm")
        })
        .collect();
    assert_eq!(moved.len(), 1, "kept aside: {moved:?}");
    assert_eq!(std::fs::read(&moved[0]).unwrap(), bytes, "kept as it was");
    let after = e.count("executions");
    assert!(
        after > before / 2 && after <= before + 1,
        "salvaged {after} of {before}"
    );
    let learned_after: i64 =
        e.count("learn_runs") + e.count("learn_patterns") + e.count("learn_scopes");
    assert!(learned_after > 0, "learning salvaged");
    assert_eq!(integrity(&e.db()), "ok");
    let fk: i64 = e.value("SELECT count(*) FROM pragma_foreign_key_check");
    assert_eq!(fk, 0);
    // The summaries agree with the executions that were saved.
    let runs: i64 = e.value("SELECT sum(runs) FROM command_summary");
    assert_eq!(runs, after);
}

#[test]
fn a_full_spool_is_announced_once_loudly() {
    let e = Env::new();
    assert!(e.run(&["--", "true"]).status.success());
    let holder = e.lock();
    // A spool just under its 32 MiB cap.
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(spool_of(&e))
        .unwrap();
    f.set_len((32 << 20) - 10).unwrap();
    drop(f);
    let run = || {
        e.ee()
            .env("EARLYEXIT_DB_TIMEOUT", "0.05")
            .args(["-q", "--", "sh", "-c", "exit 2"])
            .output()
            .unwrap()
    };
    // The run that fills it says so, even with -q.
    let o = run();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("WARNING") && err.contains("full"), "{err}");
    // Later runs are not kept; -q keeps them quiet.
    let o = run();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "");
    let o = e
        .ee()
        .env("EARLYEXIT_DB_TIMEOUT", "0.05")
        .args(["--", "true"])
        .output()
        .unwrap();
    assert!(stderr(&o).contains("NOT recorded"), "{}", stderr(&o));
    // `ee telemetry check` explains it.
    let o = e
        .ee()
        .env("EARLYEXIT_DB_TIMEOUT", "0.05")
        .args(["telemetry", "check"])
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("is full"), "{}", stderr(&o));
    holder.execute_batch("ROLLBACK").unwrap();
}

/// Every row of every table of the database at `db`, as text, sorted (for comparisons): the
/// columns that the same table has in the database at `shape`.
fn dump(db: &Path, shape: &Path) -> std::collections::BTreeMap<String, Vec<String>> {
    let tables: Vec<(String,)> = common::sql_rows(
        shape,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    );
    let c = Connection::open(db).unwrap();
    tables
        .into_iter()
        .map(|(t,)| {
            let cols: Vec<(String,)> =
                common::sql_rows(shape, &format!("SELECT name FROM pragma_table_info('{t}')"));
            let cols: Vec<String> = cols.into_iter().map(|(c,)| c).collect();
            let mut rows =
                common::sql_text_rows(&c, &format!("SELECT {} FROM {t}", cols.join(", ")));
            rows.sort();
            (t, rows)
        })
        .collect()
}

fn user_version(db: &Path) -> i64 {
    common::sql_row::<(i64,)>(db, "PRAGMA user_version").0
}

/// The learned counts (tp, fp, fneg, uses) of `pattern` in the scope of `./suite.sh`.
fn suite_counts(db: &Path, pattern: &str) -> (i64, i64, i64, i64) {
    common::sql_row(
        db,
        &format!(
            "SELECT tp, fp, fneg, uses FROM learn_patterns WHERE scope = 'cmd:suite.sh' \
             AND pattern = '{pattern}'"
        ),
    )
}

/// The shape of the database at `db`: every table's columns (name, type, not null, default,
/// primary key), every index and trigger by name.
fn shape(db: &Path) -> Vec<String> {
    let names: Vec<(String, String)> = common::sql_rows(
        db,
        "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY 1, 2",
    );
    let c = Connection::open(db).unwrap();
    let mut out = Vec::new();
    for (kind, name) in names {
        out.push(format!("{kind} {name}"));
        if kind == "table" {
            out.extend(common::sql_text_rows(
                &c,
                &format!(
                    "SELECT '  {name}', name, type, \"notnull\", dflt_value, pk \
                     FROM pragma_table_info('{name}')"
                ),
            ));
        }
    }
    out
}

/// Copy the fixture `tests/fixtures/FILE` (written by an older build, `user_version`
/// `legacy`) into a new environment, check what it holds, open it with this build, and check
/// that it migrated to the schema a new database gets, changing no row of any table it had.
/// Returns the environment and the fixture's rows.
fn migrate_fixture(
    file: &str,
    legacy: i64,
) -> (Env, std::collections::BTreeMap<String, Vec<String>>) {
    let fresh = Env::new();
    assert!(fresh.run(&["--", "true"]).status.success());
    let e = Env::new();
    std::fs::create_dir_all(e.db().parent().unwrap()).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
    std::fs::copy(&fixture, e.db()).unwrap();
    assert_eq!(user_version(&e.db()), legacy, "{file}");
    assert_ne!(
        shape(&e.db()),
        shape(&fresh.db()),
        "{file}: nothing to migrate"
    );
    let before = dump(&e.db(), &fixture);
    assert_eq!(before["executions"].len(), 16, "{file}");

    // Opening migrates; nothing that was there changes.
    let o = e.run(&["stats"]);
    assert!(o.status.success(), "{file}: {}", stderr(&o));
    assert_eq!(stderr(&o), "", "{file}");
    assert_eq!(user_version(&e.db()), user_version(&fresh.db()), "{file}");
    assert_eq!(shape(&e.db()), shape(&fresh.db()), "{file}");
    let after = dump(&e.db(), &fixture);
    for (t, rows) in &before {
        assert_eq!(
            &after[t], rows,
            "{file}: table {t} changed by the migration"
        );
    }
    (e, before)
}

/// A database written by the last build before the ordered migration list (schema 3, its
/// `user_version` derived from a hash of the learning tables): 16 runs of a failing and passing
/// suite, a learned timeout's samples, stops by a learned and by a user pattern, feedback.
/// Opened by this build, it migrates and keeps every row and every learned count; new runs
/// record and learn; feedback stored in the old format is still undone correctly.
#[test]
fn a_database_from_the_previous_schema_migrates_and_keeps_everything() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/db-v3.sqlite");
    assert_eq!(suite_counts(&fixture, "^FAILED"), (4, 1, 1, 0));
    let (e, _) = migrate_fixture("db-v3.sqlite", 3_956_295);
    assert_eq!(suite_counts(&e.db(), "^FAILED"), (4, 1, 1, 0));
    assert!(dump(&e.db(), &e.db()).contains_key("schema_version"));

    // What was learned still applies: the confirmed pattern is known for the command.
    let o = e.run(&["suggest", "--json", "--", "./suite.sh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("^error:\\\\s+assertion"),
        "{}",
        stdout(&o)
    );

    // Feedback stored by the old build is undone by a new one on the same run (run 16 was
    // called a false positive: /^FAILED/ had been seen in it).
    let o = e.run(&["feedback", "16", "--good"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(suite_counts(&e.db(), "^FAILED"), (5, 0, 1, 0));

    // New runs are recorded and learned from.
    let o = e.run(&["run", "--", "sh", "-c", "echo 'error: boom'; exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(e.count("executions"), 17);
    let learned: i64 = e.value("SELECT count(*) FROM learn_runs WHERE run_id = 17");
    assert_eq!(learned, 1);
}

/// Every on-disk schema that a build on main wrote before the ordered migration list, each
/// written by the last such build (`scripts/make-db-fixture`, the same runs in each: a suite
/// failing and passing by turns, five quick runs, a stop by a user pattern (run 11), command
/// and pipe mode (13, 14), a stop by the learned `^FAILED` (15, then called a false positive),
/// a failure no pattern saw (16), run 5 confirmed good). `user_version` was
/// `schema * 1_000_000 + hash(learning tables) % 1_000_000`:
///
/// | fixture              | user_version | build   | on disk                                        |
/// |----------------------|--------------|---------|------------------------------------------------|
/// | db-v1.sqlite         | 1 089 425    | 6c6f217 | summary triggers, index executions_key, learn_scopes/patterns/runs |
/// | db-v2.sqlite         | 2 089 425    | 75b7c74 | the triggers dropped                           |
/// | db-v2-streaks.sqlite | 2 676 210    | da02466 | + learn_streaks                                |
/// | db-v2-pins.sqlite    | 2 773 365    | 412bf9c | + learn_pins                                   |
/// | db-v3-pins.sqlite    | 3 773 365    | 8ef1b7d | executions_key dropped                         |
/// | db-v3.sqlite         | 3 956 295    | (above) | + learn_evidence, learn_runtimes (the last)    |
///
/// (3 273 164, learn_evidence without its lead columns, existed only on a branch for two
/// commits and was merged into main already replaced: no build of main wrote it.)
/// Each opens with this build, migrates to the schema of a new database, and keeps every row
/// and every learned count; what was learned still applies; the old feedback is undone by a
/// new one; new runs are recorded and learned from.
#[test]
fn every_older_schema_migrates_and_keeps_every_row_and_learned_count() {
    for (file, legacy) in [
        ("db-v1.sqlite", 1_089_425),
        ("db-v2.sqlite", 2_089_425),
        ("db-v2-streaks.sqlite", 2_676_210),
        ("db-v2-pins.sqlite", 2_773_365),
        ("db-v3-pins.sqlite", 3_773_365),
    ] {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(file);
        // What the old build learned: the mined /^FAILED/ confirmed by runs 1, 3, 5, 11 and 12,
        // used to stop run 15 (called a false positive), missed by run 16; the user's /FAILED/
        // of run 11, missed by run 16.
        assert_eq!(suite_counts(&fixture, "^FAILED"), (5, 1, 1, 1), "{file}");
        assert_eq!(suite_counts(&fixture, "FAILED"), (2, 0, 1, 0), "{file}");
        let (e, before) = migrate_fixture(file, legacy);
        let rows = |t: &str| before[t].len();
        assert_eq!(
            (
                rows("match_events"),
                rows("learn_runs"),
                rows("learn_patterns")
            ),
            (14, 15, 10),
            "{file}"
        );
        assert_eq!(suite_counts(&e.db(), "^FAILED"), (5, 1, 1, 1), "{file}");
        assert_eq!(suite_counts(&e.db(), "FAILED"), (2, 0, 1, 0), "{file}");
        let stopped: (String, i64, i64) =
            e.row("SELECT reason, stopped_early, pattern_learned FROM executions WHERE id = 15");
        assert_eq!(stopped, ("error_match".into(), 1, 1), "{file}");

        // What was learned still applies: the pattern is known for the command.
        let o = e.run(&["suggest", "--json", "--", "./suite.sh"]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        assert!(stdout(&o).contains("\"^FAILED\""), "{file}: {}", stdout(&o));

        // The old build's false-positive feedback on run 15 is undone by a new one (run 15
        // was stopped by /^FAILED/, a use): the fp goes, a tp comes.
        let o = e.run(&["feedback", "15", "--good"]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        assert_eq!(suite_counts(&e.db(), "^FAILED"), (6, 0, 1, 1), "{file}");

        // New runs are recorded and learned from.
        let o = e.run(&["run", "--", "sh", "-c", "echo 'error: boom'; exit 3"]);
        assert_eq!(o.status.code(), Some(3), "{file}: {}", stderr(&o));
        assert_eq!(e.count("executions"), 17, "{file}");
        let learned: i64 = e.value("SELECT count(*) FROM learn_runs WHERE run_id = 17");
        assert_eq!(learned, 1, "{file}");
    }
}

/// A legacy database from a build that never landed (schema 3273164, a branch's: its
/// `learn_evidence` lacks the lead columns) is mapped onto the list by its schema number; the
/// tables it had already are completed column by column, so later runs are written (not
/// spooled for ever) and learned from.
#[test]
fn a_legacy_table_with_fewer_columns_is_completed() {
    let fresh = Env::new();
    assert!(fresh.run(&["--", "true"]).status.success());
    let e = Env::new();
    std::fs::create_dir_all(e.db().parent().unwrap()).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/db-v3.sqlite");
    std::fs::copy(&fixture, e.db()).unwrap();
    {
        let c = rusqlite::Connection::open(e.db()).unwrap();
        c.execute_batch(
            "ALTER TABLE learn_evidence DROP COLUMN lead_n;
             ALTER TABLE learn_evidence DROP COLUMN lead_sum;
             PRAGMA user_version = 3273164;",
        )
        .unwrap();
    }
    assert_ne!(shape(&e.db()), shape(&fresh.db()));
    let o = e.run(&["stats"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(shape(&e.db()), shape(&fresh.db()));
    let o = e.run(&["run", "--", "sh", "-c", "echo 'error: boom'; exit 3"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(e.count("executions"), 17);
    let learned: i64 = e.value("SELECT count(*) FROM learn_runs WHERE run_id = 17");
    assert_eq!(learned, 1);
}

/// A build from before the migration list may still run against a migrated database and write
/// its own (legacy) version number; a build with more migrations writes a larger one. Neither
/// resets the other, and no migration runs twice.
#[test]
fn builds_with_other_schema_versions_do_not_reset_each_other() {
    let e = Env::new();
    let o = e.run(&["run", "--", "true"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let current = user_version(&e.db());
    // The previous build rewrites user_version to its hash-derived number.
    e.conn()
        .execute_batch("PRAGMA user_version = 3956295")
        .unwrap();
    let o = e.run(&["run", "--", "true"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("telemetry"), "{}", stderr(&o));
    assert_eq!(user_version(&e.db()), current);
    assert_eq!(e.count("executions"), 2);
    // A newer build's database is left at its version, and runs are still recorded.
    e.conn()
        .execute_batch(&format!("PRAGMA user_version = {}", current + 1))
        .unwrap();
    let o = e.run(&["run", "--", "true"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(user_version(&e.db()), current + 1);
    assert_eq!(e.count("executions"), 3);
}

/// What learning holds, with the environment's directory replaced (scopes name the project
/// root): pattern counts, scope counts, per-run verdicts.
fn learned(e: &Env) -> Vec<String> {
    let dir = e.dir.path().display().to_string();
    let c = e.conn();
    let mut out = Vec::new();
    for sql in [
        "SELECT scope, pattern, source, tp, fp, fneg, uses FROM learn_patterns ORDER BY 1, 2",
        "SELECT scope, runs, judged, failed, stopped, fail_n FROM learn_scopes ORDER BY 1",
        "SELECT run_id, scopes, verdicts FROM learn_runs ORDER BY 1",
        "SELECT id, reason, time_saved_s IS NULL FROM executions ORDER BY 1",
    ] {
        let rows = common::sql_text_rows(&c, sql);
        out.extend(rows.into_iter().map(|r| r.replace(&dir, "<dir>")));
    }
    out
}

/// A run kept in the spool (the database was locked) teaches learning exactly what it teaches
/// when written at once: the merge goes through the same record path.
#[test]
fn a_spooled_run_is_learned_from_like_a_direct_one() {
    let script = "#!/bin/sh\necho 'FAILED test_a'\necho 'error: it broke'\nexit 1\n";
    let setup = |e: &Env| {
        let p = e.dir.path().join("suite.sh");
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        // A first run creates the database (and one learned run to build on).
        assert_eq!(e.run(&["run", "--", "./suite.sh"]).status.code(), Some(1));
    };
    let direct = Env::new();
    setup(&direct);
    assert_eq!(
        direct.run(&["run", "--", "./suite.sh"]).status.code(),
        Some(1)
    );

    let spooled = Env::new();
    setup(&spooled);
    let holder = spooled.conn();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert_eq!(
        spooled.run(&["run", "--", "./suite.sh"]).status.code(),
        Some(1)
    );
    assert!(spool_of(&spooled).exists(), "not spooled");
    holder.execute_batch("COMMIT").unwrap();
    drop(holder);
    settle(&spooled);
    assert_eq!(spooled.count("executions"), 2);

    let want = learned(&direct);
    assert!(
        want.iter().any(|r| r
            .starts_with("Text(\"cmd:suite.sh\")|Text(\"^FAILED\")|Text(\"mined\")|Integer(2)|")),
        "nothing learned: {want:?}"
    );
    assert_eq!(learned(&spooled), want);
}

/// ee opens the store on a thread it moves to another CPU than its own (issue 16): the command
/// still gets exactly the CPUs (and memory nodes) it would have bare, in both faces, whether the
/// database is new or opened before the arguments are parsed.
#[test]
fn the_command_runs_on_the_cpus_it_would_have_bare() {
    let e = Env::new();
    let script = e.path().join("cpus.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\ngrep -E '^(Cpus_allowed_list|Mems_allowed_list)' /proc/self/status\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bare = std::process::Command::new(&script).output().unwrap();
    assert!(
        stdout(&bare).contains("Cpus_allowed_list"),
        "{}",
        stdout(&bare)
    );
    let s = script.to_str().unwrap();
    for args in [["run", "--", s], ["run", "--", s], ["--", s, ""]] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let o = e.run(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), stdout(&bare), "{args:?}");
    }
    assert_eq!(e.column::<i64>("SELECT id FROM executions").len(), 3);
}
