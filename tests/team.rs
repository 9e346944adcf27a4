//! Black-box tests of team learning (`ee team …`) against a real PostgreSQL server: the URL of
//! an administrator login comes from `EARLYEXIT_TEST_PG` (start a throw-away server with
//! `eval "$(scripts/pg-test-server)"`). Without it these tests skip loudly, and fail under `CI`.
//! Every test makes its own database and member roles; every simulated machine has its own
//! telemetry database, config dir, HOME and clone of the same repository at a different path.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

mod common;

static SEQ: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}_{t}", std::process::id())
}

/// The admin URL, or None (skipping loudly) when no server was started; under CI a missing
/// server is a failure.
fn admin_url() -> Option<String> {
    match std::env::var("EARLYEXIT_TEST_PG") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "EARLYEXIT_TEST_PG is not set under CI: .ci/run starts scripts/pg-test-server"
                );
            }
            eprintln!(
                "SKIPPED: no PostgreSQL test server (eval \"$(scripts/pg-test-server)\" to run the team tests)"
            );
            None
        }
    }
}

/// `postgres://user:pw@host:port/db?query` → (`postgres://`, `host:port`, query).
fn split(url: &str) -> (String, String) {
    let rest = url.split_once("://").unwrap().1;
    let hostport = rest.split_once('@').map_or(rest, |x| x.1);
    let hostport = hostport.split(['/', '?']).next().unwrap().to_string();
    let query = url
        .split_once('?')
        .map_or(String::new(), |x| x.1.to_string());
    (hostport, query)
}

/// One test's team database.
struct TeamDb {
    admin: String,
    name: String,
    hostport: String,
    query: String,
}

impl TeamDb {
    fn new() -> Option<TeamDb> {
        let admin = admin_url()?;
        let (hostport, query) = split(&admin);
        let name = unique("eet");
        let mut c = Client::connect(&admin, NoTls).expect("admin login");
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let db = TeamDb {
            admin,
            name,
            hostport,
            query,
        };
        let o = ee_plain()
            .args(["team", "init", &db.admin_url()])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        Some(db)
    }

    /// The administrator's URL for this database.
    fn admin_url(&self) -> String {
        let base = self
            .admin
            .split_once('?')
            .map_or(self.admin.as_str(), |x| x.0);
        let base = base.rsplit_once('/').unwrap().0;
        format!("{base}/{}?{}", self.name, self.query)
    }

    fn admin(&self) -> Client {
        Client::connect(&self.admin_url(), NoTls).unwrap()
    }

    /// A new member role; returns (role, password, URL without password).
    fn member(&self) -> (String, String, String) {
        let role = unique("m");
        let pw = unique("pw");
        self.admin()
            .batch_execute(&format!(
                "CREATE ROLE {role} LOGIN PASSWORD '{pw}' IN ROLE earlyexit_member"
            ))
            .unwrap();
        let url = format!(
            "postgres://{role}@{}/{}?{}",
            self.hostport, self.name, self.query
        );
        (role, pw, url)
    }

    fn i64s(&self, sql: &str) -> Vec<i64> {
        self.admin()
            .query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| r.get::<_, i64>(0))
            .collect()
    }
}

impl Drop for TeamDb {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.admin, NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn ee_plain() -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("ee"));
    c.env_remove("EARLYEXIT_TEAM_DB")
        .env_remove("EARLYEXIT_OPTIONS")
        .env_remove("PGPASSWORD")
        .env("EARLYEXIT_NO_TELEMETRY", "1")
        .stdin(Stdio::null());
    c
}

const SUITE: &str = "#!/bin/sh
echo collecting
if [ -n \"$FAIL\" ]; then
  echo 'FAILED test_login - assert 1 == 2'
  sleep \"${NAP:-0}\"
  echo '1 failed'
  exit 1
fi
echo '3 passed'
";

/// A simulated machine: its own database, config, HOME, and a clone of the project.
struct Machine {
    env: common::Isolated,
    repo: PathBuf,
    url: String,
    password: String,
}

impl Machine {
    fn new(name: &str, remote: &str, url: &str, password: &str) -> Machine {
        let env = common::Isolated::new();
        let repo = env.p(name).join("src").join("widget");
        std::fs::create_dir_all(&repo).unwrap();
        let git = |args: &[&str]| {
            let o = Command::new("git")
                .arg("-C")
                .arg(&repo)
                .args(args)
                .output()
                .unwrap();
            assert!(o.status.success(), "git {args:?}");
        };
        git(&["init", "-q"]);
        git(&["remote", "add", "origin", remote]);
        let s = repo.join("suite.sh");
        std::fs::write(&s, SUITE).unwrap();
        std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(env.config()).unwrap();
        Machine {
            env,
            repo,
            url: url.to_string(),
            password: password.to_string(),
        }
    }

    fn db(&self) -> PathBuf {
        self.env.db()
    }

    /// ee as this machine, without a team database (no background sync).
    fn ee(&self) -> Command {
        let mut c = ee_plain();
        self.env.apply(&mut c).current_dir(&self.repo);
        c
    }

    /// ee as this machine, with the team database in the environment.
    fn ee_team(&self) -> Command {
        let mut c = self.ee();
        c.env("EARLYEXIT_TEAM_DB", &self.url)
            .env("PGPASSWORD", &self.password);
        c
    }

    fn suite(&self, fail: bool, nap: &str) -> (Output, Duration) {
        let mut c = self.ee();
        if fail {
            c.env("FAIL", "1");
        }
        c.env("NAP", nap).args(["run", "--", "./suite.sh"]);
        let t = Instant::now();
        let o = c.output().unwrap();
        (o, t.elapsed())
    }

    fn team(&self, args: &[&str]) -> Output {
        self.ee_team().arg("team").args(args).output().unwrap()
    }

    fn sync_ok(&self) -> String {
        let o = self.team(&["sync"]);
        assert_eq!(o.status.code(), Some(0), "sync: {}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn local_tp(&self, pattern: &str) -> i64 {
        let c = rusqlite::Connection::open(self.db()).unwrap();
        c.query_row(
            "SELECT coalesce(sum(tp), 0) FROM learn_patterns WHERE scope = 'cmd:suite.sh' AND pattern = ?1",
            [pattern],
            |r| r.get(0),
        )
        .unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const REMOTE: &str = "git@github.com:acme/widget.git";

fn server_tp(db: &TeamDb, pattern: &str) -> i64 {
    db.i64s(&format!(
        "SELECT coalesce(sum(tp), 0)::bigint FROM earlyexit.evidence WHERE scope = 'cmd:suite.sh' AND pattern = '{pattern}'"
    ))[0]
}

#[test]
fn fresh_ci_runner_stops_the_failure_two_machines_confirmed() {
    let Some(db) = TeamDb::new() else { return };
    let (_, apw, aurl) = db.member();
    let (_, bpw, burl) = db.member();
    let (_, cpw, curl) = db.member();
    let alice = Machine::new("alice", REMOTE, &aurl, &apw);
    // Same repository, other spelling of its URL, other path.
    let bob = Machine::new("bob", "https://github.com/acme/widget", &burl, &bpw);
    for m in [&alice, &bob] {
        // Failures whose error line comes a second before their end: a stop saves that second.
        for _ in 0..3 {
            let (o, _) = m.suite(true, "1");
            assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        }
        let (o, _) = m.suite(false, "0");
        assert_eq!(o.status.code(), Some(0));
    }
    // Three failures on one machine are not enough to stop anything, here or on a runner.
    alice.sync_ok();
    let early = Machine::new("runner0", "https://github.com/acme/widget.git", &curl, &cpw);
    early.sync_ok();
    let (o, took) = early.suite(true, "2");
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("stopped"), "{}", stderr(&o));
    assert!(took >= Duration::from_secs(2), "{took:?}");

    bob.sync_ok();
    assert_eq!(server_tp(&db, "^FAILED"), 6);
    // The narrow scope travels without its local root: no path on the server.
    let paths = db.i64s(
        "SELECT count(*)::bigint FROM earlyexit.evidence WHERE scope LIKE 'run:%' OR scope LIKE '%/tmp/%' OR scope LIKE '%/src/widget%'",
    );
    assert_eq!(paths[0], 0);
    let narrow = db.i64s(
        "SELECT coalesce(sum(tp), 0)::bigint FROM earlyexit.evidence WHERE scope = 'id:suite.sh' AND pattern = '^FAILED' \
         UNION ALL SELECT coalesce(sum(tn), 0)::bigint FROM earlyexit.evidence WHERE scope = 'id:suite.sh' AND pattern = '^FAILED'",
    );
    assert_eq!(
        narrow,
        vec![6, 2],
        "tp and clean passing runs of the narrow scope"
    );

    // A fresh runner: one sync, then its very first run stops the known failure.
    let runner = Machine::new(
        "runner",
        "ssh://git@github.com/acme/widget.git",
        &curl,
        &cpw,
    );
    let out = runner.sync_ok();
    assert!(out.contains("pulled"), "{out}");
    let (o, took) = runner.suite(true, "30");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        took < Duration::from_secs(10),
        "not stopped early: {took:?}"
    );
    assert!(stderr(&o).contains("stopped suite.sh"), "{}", stderr(&o));
    // The user still sees why it failed.
    assert_eq!(
        stdout(&o),
        "collecting\nFAILED test_login - assert 1 == 2\n"
    );
    // The same runner's passing run is never stopped, and its output is the bare command's.
    let (o, _) = runner.suite(false, "0");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "collecting\n3 passed\n");
    assert!(!stderr(&o).contains("stopped"));

    // Another fresh runner whose first run passes.
    let runner2 = Machine::new("runner2", REMOTE, &curl, &cpw);
    runner2.sync_ok();
    let (o, _) = runner2.suite(false, "0");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "collecting\n3 passed\n");

    // A runner of another project gets none of it.
    let other = Machine::new("other", "git@github.com:acme/gadget.git", &curl, &cpw);
    other.sync_ok();
    let (o, took) = other.suite(true, "2");
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("stopped"), "{}", stderr(&o));
    assert!(took >= Duration::from_secs(2));

    // Local evidence of a false positive wins over the team's.
    let o = runner
        .ee()
        .args(["feedback", "1", "--false-positive"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = runner
        .ee()
        .args(["suggest", "--json", "--", "./suite.sh"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ranked = v["ranked"].as_array().unwrap();
    // The pattern that stopped run 1 (the team's confirmed patterns tie; ranking picks one).
    let top = ranked
        .iter()
        .find(|r| r["fp"].as_u64() > Some(0))
        .unwrap_or_else(|| panic!("no pattern called false: {ranked:?}"));
    assert_eq!(top["fp"], 1, "{top}");
    assert_eq!(top["applied"], false, "{top}");
    assert_eq!(
        top["tp"], 0,
        "team tp ignored once this machine saw a false positive: {top}"
    );
}

#[test]
fn a_push_whose_acknowledgement_is_lost_never_counts_twice() {
    let Some(db) = TeamDb::new() else { return };
    let (_, pw, url) = db.member();
    let m = Machine::new("m", REMOTE, &url, &pw);
    for _ in 0..2 {
        m.suite(true, "0");
    }
    let o = m
        .ee_team()
        .env("EARLYEXIT_TEAM_FAULT", "drop-ack")
        .args(["team", "sync"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("acknowledgement lost"),
        "{}",
        stderr(&o)
    );
    let st = stdout(&m.team(&["status"]));
    assert!(st.contains("acknowledgement lost"), "{st}");
    assert!(!st.contains("backlog:     0 rows"), "{st}");
    assert_eq!(
        server_tp(&db, "^FAILED"),
        2,
        "the server committed the batch"
    );
    let out = m.sync_ok();
    assert!(out.contains("1 already on the server"), "{out}");
    assert_eq!(server_tp(&db, "^FAILED"), 2);
    // More evidence: only the difference travels.
    m.suite(true, "0");
    m.sync_ok();
    m.sync_ok();
    assert_eq!(server_tp(&db, "^FAILED"), 3);
    assert_eq!(m.local_tp("^FAILED"), 3);
    let st = stdout(&m.team(&["status"]));
    assert!(
        st.contains("backlog:     0 rows") && st.contains("last error:  none"),
        "{st}"
    );
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn server_down_or_wrong_password_leaves_runs_alone_and_loses_nothing() {
    let Some(db) = TeamDb::new() else { return };
    let (_, pw, url) = db.member();
    let down = format!(
        "postgres://nobody@127.0.0.1:{}/x?sslmode=disable",
        closed_port()
    );
    let m = Machine::new("m", REMOTE, &down, &pw);
    // Runs with a dead team database configured and a background sync due after each.
    for _ in 0..2 {
        let mut c = m.ee_team();
        c.env("FAIL", "1")
            .env("EARLYEXIT_TEAM_SYNC_INTERVAL", "0")
            .args(["run", "--", "./suite.sh"]);
        let t = Instant::now();
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(
            stdout(&o),
            "collecting\nFAILED test_login - assert 1 == 2\n1 failed\n"
        );
        assert_eq!(stderr(&o), "", "a team problem is never shown by a run");
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    }
    let o = m.team(&["sync"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("ee: team: "), "{err}");
    // The background syncs' failures are in the status.
    let st = stdout(&m.team(&["status"]));
    assert!(
        st.contains("last error:") && !st.contains("last error:  none"),
        "{st}"
    );

    // Wrong password.
    let o = m
        .ee_team()
        .env("EARLYEXIT_TEAM_DB", &url)
        .env("PGPASSWORD", "wrong")
        .args(["team", "sync"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("password authentication failed"),
        "{}",
        stderr(&o)
    );

    // The password from a private ~/.pgpass; one readable by others is ignored, like libpq does.
    let (hostport, _) = split(&url);
    let (host, port) = hostport.split_once(':').unwrap();
    let pgpass = m.env.p(".pgpass");
    std::fs::write(&pgpass, format!("{host}:{port}:*:*:{pw}\n")).unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let sync = || {
        m.ee()
            .env("EARLYEXIT_TEAM_DB", &url)
            .args(["team", "sync"])
            .output()
            .unwrap()
    };
    assert_eq!(sync().status.code(), Some(1));
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = sync();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Nothing lost while the server was away.
    assert_eq!(server_tp(&db, "^FAILED"), 2);
}

#[test]
fn broken_and_malicious_team_rows_are_refused_on_pull() {
    let Some(db) = TeamDb::new() else { return };
    let (_, pw, url) = db.member();
    let m = Machine::new("m", REMOTE, &url, &pw);
    m.suite(false, "0");
    m.sync_ok();
    let project = db
        .admin()
        .query_one("SELECT project FROM earlyexit.evidence LIMIT 1", &[])
        .unwrap()
        .get::<_, String>(0);
    let evil = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
    let mut c = db.admin();
    c.batch_execute(&format!(
        "INSERT INTO earlyexit.machines (machine, member) VALUES ('{evil}', 'mallory');
         INSERT INTO earlyexit.batches (machine, seq, member) VALUES ('{evil}', 1, 'mallory');"
    ))
    .unwrap();
    let huge = "x".repeat(100_000);
    let rows: Vec<(&str, &str, i64, f64)> = vec![
        ("(", "mined", 50, 0.0),
        ("\u{1b}]0;pwned\u{7}FAILED", "mined", 50, 0.0),
        ("FAILED\n$(touch /tmp/ee-pwned)", "mined", 50, 0.0),
        (&huge, "mined", 50, 0.0),
        ("passed", "mined", -50, 0.0),
        ("collecting", "mined", 50, f64::NAN),
        ("^3 passed", "$(reboot)", 50, 0.0),
    ];
    for (pat, source, tp, s) in &rows {
        c.execute(
            "INSERT INTO earlyexit.evidence (machine, seq, member, project, scope, pattern, source,
                 tp, fp, fneg, uses, runs, judged, failed, stopped, pinned, ok_n, fail_n, gap_n,
                 burst_n, ok_s1, ok_s2, fail_s1, fail_s2, gap_s1, gap_s2, burst_s1, burst_s2)
             VALUES ($1, 1, 'mallory', $2, 'cmd:suite.sh', $3, $4, $5, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                 0, 0, 0, $6, 0, 0, 0, 0, 0, 0, 0)",
            &[&evil, &project, pat, source, tp, s],
        )
        .unwrap();
    }
    let out = m.sync_ok();
    assert!(out.contains("7 rejected"), "{out}");
    let st = stdout(&m.team(&["status"]));
    assert!(st.contains("7 rejected"), "{st}");
    assert!(!st.contains('\u{1b}'), "{st:?}");
    // Runs are unaffected: the passing run passes, byte for byte.
    let (o, _) = m.suite(false, "0");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "collecting\n3 passed\n");
    assert_eq!(stderr(&o), "");
    let o = m
        .ee()
        .args(["suggest", "--", "./suite.sh"])
        .output()
        .unwrap();
    assert!(!stdout(&o).contains('\u{1b}') && !stdout(&o).contains("pwned"));
}

#[test]
fn members_insert_their_own_rows_and_rewrite_nobody_elses() {
    let Some(db) = TeamDb::new() else { return };
    let (arole, apw, aurl) = db.member();
    let (_brole, bpw, burl) = db.member();
    let a = Machine::new("a", REMOTE, &aurl, &apw);
    a.suite(true, "0");
    a.sync_ok();
    let amachine: String = db
        .admin()
        .query_one("SELECT machine FROM earlyexit.machines", &[])
        .unwrap()
        .get(0);
    let bob_url = burl.replacen('@', &format!(":{bpw}@"), 1);
    let mut bob = Client::connect(&bob_url, NoTls).expect("bob logs in");
    for sql in [
        "DELETE FROM earlyexit.evidence".to_string(),
        "UPDATE earlyexit.evidence SET tp = 1000".to_string(),
        "SELECT * FROM earlyexit.evidence".to_string(),
        "DELETE FROM earlyexit.batches".to_string(),
        "UPDATE earlyexit.machines SET member = current_user".to_string(),
        "TRUNCATE earlyexit.evidence".to_string(),
        "UPDATE earlyexit.totals SET tp = 1000".to_string(),
        "DELETE FROM earlyexit.totals".to_string(),
        format!("INSERT INTO earlyexit.batches (machine, seq) VALUES ('{amachine}', 99)"),
        format!("INSERT INTO earlyexit.batches (machine, seq, member) VALUES ('{amachine}', 99, '{arole}')"),
        format!(
            "INSERT INTO earlyexit.evidence (machine, seq, member, project, scope, pattern, source,
                 tp, fp, fneg, uses, runs, judged, failed, stopped, pinned, ok_n, fail_n, gap_n,
                 burst_n, ok_s1, ok_s2, fail_s1, fail_s2, gap_s1, gap_s2, burst_s1, burst_s2)
             VALUES ('{amachine}', 1, '{arole}', 'p', 'cmd:x', '', '', 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0)"
        ),
        "DROP TABLE earlyexit.evidence".to_string(),
    ] {
        let r = bob.batch_execute(&sql);
        assert!(r.is_err(), "a member could run: {sql}");
    }
    // What members may do: read the aggregates.
    let n: i64 = bob
        .query_one("SELECT count(*) FROM earlyexit.knowledge", &[])
        .unwrap()
        .get(0);
    assert!(n > 0);
    assert_eq!(server_tp(&db, "^FAILED"), 1);
}

#[test]
fn connect_status_disconnect_and_bad_urls() {
    // Bad input needs no server.
    let m = Machine::new("m", REMOTE, "", "");
    for (args, code) in [
        (vec!["team", "connect", "mysql://u@h/db"], 3),
        (
            vec!["team", "connect", "postgres://u@h/db?sslmode=maybe"],
            3,
        ),
        (vec!["team", "sync"], 3),
        (vec!["team", "preview"], 3),
    ] {
        let o = m.ee().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: {}", stderr(&o));
    }
    let o = m.ee().args(["team", "status"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("not connected"));
    let down = format!(
        "postgres://u@127.0.0.1:{}/db?sslmode=disable",
        closed_port()
    );
    let o = m.ee().args(["team", "connect", &down]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!m.env.config().join("team.json").exists());

    let Some(db) = TeamDb::new() else { return };
    let (_, pw, url) = db.member();
    let with_pw = url.replacen('@', &format!(":{pw}@"), 1);
    let o = m.ee().args(["team", "connect", &with_pw]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("not stored"));
    let file = m.env.config().join("team.json");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&pw), "{text}");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let o = m
        .ee()
        .env("PGPASSWORD", &pw)
        .args(["team", "sync"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = m.ee().args(["team", "status"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains(&url), "{}", stdout(&o));
    assert!(!stdout(&o).contains(&pw));
    let o = m.ee().args(["team", "disconnect"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(!file.exists());
}

#[test]
fn preview_prints_exactly_what_the_push_sends() {
    let Some(db) = TeamDb::new() else { return };
    let (_, pw, url) = db.member();
    let m = Machine::new("m", REMOTE, &url, &pw);
    m.suite(true, "0");
    m.suite(false, "0");
    let o = m.team(&["preview"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let again: serde_json::Value = serde_json::from_slice(&m.team(&["preview"]).stdout).unwrap();
    assert_eq!(v, again, "a preview changes nothing");
    let ev = v["batches"][0]["evidence"].as_array().unwrap();
    let text = serde_json::to_string(&v).unwrap();
    assert!(!text.contains("suite.sh\"") || text.contains("cmd:suite.sh"));
    assert!(
        !text.contains(&m.repo.display().to_string()),
        "no paths leave the machine"
    );
    assert!(
        v["batches"][0]["runs"].as_array().unwrap().is_empty(),
        "no runs without --share-runs"
    );
    m.sync_ok();
    let n = db.i64s("SELECT count(*) FROM earlyexit.evidence")[0];
    assert_eq!(n as usize, ev.len());
    let v: serde_json::Value = serde_json::from_slice(&m.team(&["preview"]).stdout).unwrap();
    assert!(v["batches"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn runs_shared_only_with_share_runs_and_redacted() {
    let Some(db) = TeamDb::new() else { return };
    let (_, pw, url) = db.member();
    let m = Machine::new("m", REMOTE, &url, &pw);
    m.sync_ok();
    // A run whose command line holds a secret.
    let secret_run = |mut c: Command| {
        let o = c
            .args([
                "run",
                "--",
                "sh",
                "-c",
                "echo ok",
                "--",
                "--password=hunter2",
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    };
    secret_run(m.ee());
    m.sync_ok();
    assert_eq!(db.i64s("SELECT count(*) FROM earlyexit.runs")[0], 0);
    let mut c = m.ee_team();
    c.env("EARLYEXIT_TEAM_SHARE_RUNS", "1");
    secret_run(c);
    let o = m
        .ee_team()
        .env("EARLYEXIT_TEAM_SHARE_RUNS", "1")
        .args(["team", "sync"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let cmds: Vec<String> = db
        .admin()
        .query("SELECT command FROM earlyexit.runs", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(cmds.len(), 1, "only runs after sharing began: {cmds:?}");
    assert!(!cmds[0].contains("hunter2"), "{cmds:?}");
}

#[test]
fn background_sync_after_a_run_pushes_without_delaying_it() {
    let Some(db) = TeamDb::new() else { return };
    let (_, pw, url) = db.member();
    let m = Machine::new("m", REMOTE, &url, &pw);
    let mut c = m.ee_team();
    c.env("FAIL", "1")
        .env("EARLYEXIT_TEAM_SYNC_INTERVAL", "0")
        .args(["run", "--", "./suite.sh"]);
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "");
    let t = Instant::now();
    while server_tp(&db, "^FAILED") < 1 {
        assert!(t.elapsed() < Duration::from_secs(30), "no background push");
        std::thread::sleep(Duration::from_millis(100));
    }
    // With the interval not over, a run starts no sync. (The background sync may still be
    // pulling and touch the stamp when it ends: wait until the stamp has been still for 1 s.)
    let stamp = PathBuf::from(format!("{}.team-sync", m.db().display()));
    let mtime = || std::fs::metadata(&stamp).unwrap().modified().unwrap();
    let mut t0 = mtime();
    let mut still_since = Instant::now();
    while still_since.elapsed() < Duration::from_secs(1) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the background sync never ended"
        );
        std::thread::sleep(Duration::from_millis(50));
        if mtime() != t0 {
            t0 = mtime();
            still_since = Instant::now();
        }
    }
    let o = m
        .ee_team()
        .args(["run", "--", "./suite.sh"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::metadata(&stamp).unwrap().modified().unwrap(), t0);
}

#[test]
fn machines_syncing_concurrently_end_with_exact_sums() {
    let Some(db) = TeamDb::new() else { return };
    let machines: Vec<Machine> = (0..8)
        .map(|i| {
            let (_, pw, url) = db.member();
            Machine::new(&format!("m{i}"), REMOTE, &url, &pw)
        })
        .collect();
    std::thread::scope(|s| {
        for (i, m) in machines.iter().enumerate() {
            s.spawn(move || {
                for round in 0..3 {
                    m.suite((i + round) % 2 == 0, "0");
                    m.sync_ok();
                }
            });
        }
    });
    for m in &machines {
        m.sync_ok();
    }
    let local: i64 = machines.iter().map(|m| m.local_tp("^FAILED")).sum();
    assert!(local > 0);
    assert_eq!(server_tp(&db, "^FAILED"), local);
    let runs: i64 = machines
        .iter()
        .map(|m| {
            let c = rusqlite::Connection::open(m.db()).unwrap();
            c.query_row(
                "SELECT runs FROM learn_scopes WHERE scope = 'cmd:suite.sh'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
        })
        .sum();
    assert_eq!(runs, 24);
    assert_eq!(
        db.i64s("SELECT sum(runs)::bigint FROM earlyexit.evidence WHERE scope = 'cmd:suite.sh'")[0],
        runs
    );
}

/// Run `ee` as machine `m` with stdout a pipe whose reader is already gone.
fn closed_stdout(mut c: Command) -> Output {
    let (r, w) = nix::unistd::pipe().unwrap();
    drop(r);
    c.stdout(Stdio::from(w)).stderr(Stdio::piped());
    c.output().unwrap()
}

/// The team subcommands that need a server (`tests/output.rs` covers the others, and names these
/// as covered here): with the reader of stdout gone they end quietly with 141, like the rest.
#[test]
fn team_commands_end_quietly_with_141_on_a_closed_stdout() {
    let Some(db) = TeamDb::new() else { return };
    let fresh = unique("eet");
    db.admin()
        .batch_execute(&format!("CREATE DATABASE {fresh}"))
        .unwrap();
    let init_url = db.admin_url().replace(&db.name, &fresh);
    let mut c = ee_plain();
    c.args(["team", "init", &init_url]);
    let o = closed_stdout(c);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(141), "team init: {err}");
    assert!(!err.contains("panicked"), "{err}");

    let (_, pw, url) = db.member();
    let m = Machine::new("m", REMOTE, &url, &pw);
    let mut c = m.ee();
    c.env("PGPASSWORD", &pw).args(["team", "connect", &url]);
    let o = closed_stdout(c);
    assert_eq!(o.status.code(), Some(141), "team connect: {}", stderr(&o));
    let mut c = m.ee();
    c.env("PGPASSWORD", &pw).args(["team", "sync"]);
    let o = closed_stdout(c);
    assert_eq!(o.status.code(), Some(141), "team sync: {}", stderr(&o));
    let mut c = m.ee();
    c.args(["team", "disconnect"]);
    let o = closed_stdout(c);
    assert_eq!(
        o.status.code(),
        Some(141),
        "team disconnect: {}",
        stderr(&o)
    );
    if let Ok(mut a) = Client::connect(&db.admin, NoTls) {
        let _ = a.batch_execute(&format!("DROP DATABASE IF EXISTS {fresh} WITH (FORCE)"));
    }
}
