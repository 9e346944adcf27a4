//! `ee suggest --plot` and `ee stats --plot`, black-box: the charts of a fixed database (generated
//! here, deterministically) rendered on a pseudo-terminal (tests/common/pty.rs, with a screen model) at 40, 80 and 200
//! columns are the checked-in screens in tests/plot/ (regenerate with
//! `EE_REGENERATE=1 cargo test --test plot`); ASCII without a UTF-8 locale; colour only on a
//! terminal without NO_COLOR; `--json` is the plotted data.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod common;
use common::pty::{self, Pty};

/// Newest run of the fixed database: 2026-03-28 18:00 UTC.
const NEWEST_MS: i64 = 1_774_720_800_000;
const DAY_MS: i64 = 86_400_000;

struct Db {
    env: common::Isolated,
}

impl Db {
    /// An empty isolated environment (tests/common), nothing recorded unless asked, a `bin`
    /// directory on PATH.
    fn new() -> Db {
        Db {
            env: common::Isolated::new().bin_dir("bin").no_telemetry(),
        }
    }

    fn path(&self) -> PathBuf {
        self.env.db()
    }

    fn ee(&self) -> Command {
        let mut c = Command::from_std(self.env.ee());
        c.env_remove("NO_COLOR");
        c
    }

    /// The project `make` runs in: a directory with a Makefile.
    fn project(&self) -> PathBuf {
        self.env.p("app")
    }

    /// A database with four weeks of runs of a dozen commands, the same every time; `make`'s
    /// normal runs in [`Db::project`] taught ee its hang limit there.
    fn fixed() -> Db {
        let db = Db::new();
        std::fs::create_dir(db.project()).unwrap();
        std::fs::write(db.project().join("Makefile"), "all:\n\t@true\n").unwrap();
        // A `make` of our own, so the test needs no build tools: a command's identity is its
        // words, not the program found.
        common::write_exe(&db.env.fake_bin().join("make"), "#!/bin/sh\nexit 0\n");
        // A real `ee -- make` in the project creates the schema and records the run through the
        // learning path, which names the narrow scope (project root and command identity) and
        // keeps its normal runtimes. Its timing is not reproducible, so its executions row is
        // then replaced by the fixed ones, and the scope's runtimes by those of the fixed
        // history's normal `make` runs, as that path would have kept them.
        db.ee()
            .env_remove("EARLYEXIT_NO_TELEMETRY")
            .current_dir(db.project())
            .args(["--", "make"])
            .assert()
            .success();
        let conn = rusqlite::Connection::open(db.path()).unwrap();
        conn.execute("DELETE FROM executions", []).unwrap();
        let keys = [
            ("cargo test", 6.0),
            ("pytest", 40.0),
            ("make", 4.0),
            ("npm test", 12.0),
            ("go test", 9.0),
            ("cargo build", 30.0),
            ("jest", 15.0),
            ("mvn test", 90.0),
            ("tox", 120.0),
            ("gradle test", 60.0),
            ("ruff", 1.0),
            ("mypy", 8.0),
        ];
        let mut seed: u64 = 7;
        let mut rnd = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        let mut id = 0;
        for day in 0..30i64 {
            let runs = 2 + (rnd() * 9.0) as i64 + if day % 7 == 5 { 0 } else { 3 };
            for k in 0..runs {
                id += 1;
                let (key, mean) = keys[((rnd() * rnd()) * keys.len() as f64) as usize];
                let started = NEWEST_MS - (29 - day) * DAY_MS - (runs - k) * 600_000;
                let total = mean * (0.7 + 0.6 * rnd());
                let roll = rnd();
                let (stopped, child, reason, saved) = if roll < 0.15 {
                    (1, None, "error_match", mean * (0.3 + 0.5 * rnd()))
                } else if roll < 0.25 {
                    (0, Some(1), "completed", 0.0)
                } else {
                    (0, Some(0), "completed", 0.0)
                };
                let total = if stopped == 1 { total * 0.4 } else { total };
                conn.execute(
                    "INSERT INTO executions (id, started_at, mode, command, command_key, cwd,
                       project_type, category, exit_code, child_exit, reason, total_s,
                       match_count, stdout_lines, stdout_bytes, stderr_lines, stderr_bytes,
                       stopped_early, time_saved_s)
                     VALUES (?1, ?2, 'run', ?3, ?3, '/p', 'unknown', 'test', ?4, ?5, ?6, ?7,
                       0, 0, 0, 0, 0, ?8, ?9)",
                    rusqlite::params![
                        id,
                        started,
                        key,
                        child.unwrap_or(1),
                        child,
                        reason,
                        (total * 1000.0).round() / 1000.0,
                        stopped,
                        if saved > 0.0 {
                            Some((saved * 1000.0).round() / 1000.0)
                        } else {
                            None
                        }
                    ],
                )
                .unwrap();
            }
        }
        // What the learning path keeps for the narrow scope: the newest normal runtimes (at
        // most 20, oldest first), and the scope's counts and runtime statistics.
        let scope: String = conn
            .query_row(
                "SELECT scope FROM learn_runtimes WHERE scope LIKE 'run:%' AND scope LIKE '%make'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        // Runtimes of `make`'s runs that ended by themselves, passed (`= 0`) or failed (`!= 0`),
        // oldest first.
        let times = |exit: &str| -> Vec<f64> {
            let sql = format!(
                "SELECT total_s FROM executions WHERE command_key = 'make' AND stopped_early = 0 \
                 AND child_exit {exit} ORDER BY started_at"
            );
            let mut q = conn.prepare(&sql).unwrap();
            let v = q
                .query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            v
        };
        // Count, mean and sum of squared deviations.
        let welford = |ts: &[f64]| {
            let n = ts.len() as f64;
            let mean = ts.iter().sum::<f64>() / n;
            let m2: f64 = ts.iter().map(|t| (t - mean) * (t - mean)).sum();
            (ts.len() as i64, mean, m2)
        };
        let (ok, failed) = (times("= 0"), times("!= 0"));
        let recent = &ok[ok.len().saturating_sub(20)..];
        let updated = conn
            .execute(
                "UPDATE learn_runtimes SET samples = ?2 WHERE scope = ?1",
                rusqlite::params![scope, serde_json::to_string(recent).unwrap()],
            )
            .unwrap();
        assert_eq!(updated, 1);
        let stopped: i64 = conn
            .query_row(
                "SELECT count(*) FROM executions WHERE command_key = 'make' AND stopped_early = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let (ok_n, ok_mean, ok_m2) = welford(&ok);
        let (fail_n, fail_mean, fail_m2) = welford(&failed);
        let updated = conn
            .execute(
                "UPDATE learn_scopes SET runs = ?2, judged = ?3, failed = ?4, stopped = ?5, \
                 ok_n = ?6, ok_mean = ?7, ok_m2 = ?8, fail_n = ?9, fail_mean = ?10, \
                 fail_m2 = ?11 WHERE scope = ?1",
                rusqlite::params![
                    scope,
                    ok_n + fail_n + stopped,
                    ok_n + fail_n,
                    fail_n,
                    stopped,
                    ok_n,
                    ok_mean,
                    ok_m2,
                    fail_n,
                    fail_mean,
                    fail_m2
                ],
            )
            .unwrap();
        assert_eq!(updated, 1);
        drop(conn);
        db
    }
}

/// Run `ee ARGS` on a terminal WIDTH columns wide (60 rows) in the project, with `env` added;
/// return the terminal once ee has exited and its screen shows `done`.
fn on_terminal(db: &Db, width: u16, env: &[(&str, &str)], args: &str, done: &str) -> Pty {
    let mut c = db.env.ee();
    c.args(args.split(' '))
        .env_remove("NO_COLOR")
        .env_remove("LC_ALL")
        .env_remove("LC_CTYPE")
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .current_dir(db.project());
    let mut t = Pty::start(c, 60, width);
    assert_eq!(t.wait_exit(pty::SCREEN_WAIT), Some(0), "{}", t.text());
    t.wait_screen(done, |s| s.contains(done));
    t
}

/// The screen `ee ARGS` leaves on a terminal WIDTH columns wide in locale `lang`.
fn screen(db: &Db, width: u16, lang: &str, args: &str, done: &str) -> String {
    let screen = on_terminal(db, width, &[("LANG", lang)], args, done).screen();
    let lines: Vec<&str> = screen.lines().map(str::trim_end).collect();
    lines.join("\n") + "\n"
}

fn compare(name: &str, got: &str) {
    let path = common::repo().join("tests/plot").join(name);
    if std::env::var_os("EE_REGENERATE").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        want == got,
        "tests/plot/{name} differs (EE_REGENERATE=1 cargo test --test plot):\n{got}"
    );
}

fn widest(s: &str) -> usize {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn stats_plot_screens() {
    let db = Db::fixed();
    for w in [40u16, 80, 200] {
        let got = screen(&db, w, "C.UTF-8", "stats --plot", "Most time saved");
        assert!(widest(&got) <= w as usize, "{got}");
        assert!(got.contains('█'), "{got}");
        compare(&format!("stats-{w}.txt"), &got);
    }
    // No UTF-8 locale: ASCII only.
    let got = screen(&db, 80, "C", "stats --plot", "Most time saved");
    assert!(got.is_ascii(), "{got}");
    compare("stats-80-ascii.txt", &got);
    // Colour on a terminal; none into a pipe (NO_COLOR: see no_color_on_a_terminal).
    let t = on_terminal(
        &db,
        80,
        &[("LANG", "C.UTF-8")],
        "stats --plot",
        "Most time saved",
    );
    let colours = t.colours_of('█');
    assert!(colours.contains(&vt100::Color::Idx(2)), "{colours:?}");
    let o = db
        .ee()
        .env("NO_COLOR", "1")
        .env("LANG", "C.UTF-8")
        .args(["stats", "--plot"])
        .output()
        .unwrap();
    let piped = String::from_utf8(o.stdout).unwrap();
    assert!(!piped.contains('\x1b'), "{piped}");
    assert!(
        piped.starts_with("Runs per day, 2026-03-01 to 2026-03-28 (UTC)\n"),
        "{piped}"
    );
    assert!(piped.contains("week of 03-22 "), "{piped}");
}

#[test]
fn no_color_on_a_terminal() {
    let db = Db::fixed();
    let env = [("NO_COLOR", "1"), ("LANG", "C.UTF-8")];
    let t = on_terminal(&db, 80, &env, "stats --plot", "Most time saved");
    let text = t.screen();
    assert!(text.contains('█'), "{text}");
    assert_eq!(t.colours_of('█'), [vt100::Color::Default], "{text}");
    assert!(
        !String::from_utf8_lossy(&t.raw()).contains("\x1b[3"),
        "{text}"
    );
}

#[test]
fn suggest_plot_screens() {
    let db = Db::fixed();
    for w in [40u16, 80, 200] {
        let got = screen(&db, w, "C.UTF-8", "suggest --plot -- make", "Runtimes of");
        assert!(widest(&got) <= w as usize, "{got}");
        assert!(got.contains("◀ hang limit"), "{got}");
        compare(&format!("suggest-{w}.txt"), &got);
    }
    // The limit marked is the one `ee suggest` reports, and applies, for this project and command.
    let json = |dir: &Path, args: &[&str]| -> serde_json::Value {
        let o = db.ee().current_dir(dir).args(args).output().unwrap();
        assert!(o.status.success(), "{o:?}");
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let advice = json(&db.project(), &["suggest", "--json", "--", "make"]);
    let limit = advice["timeout"]["seconds"].as_f64().unwrap();
    assert_eq!(advice["timeout"]["applied"], true, "{advice}");
    assert_eq!(advice["timeout"]["samples"], 20, "{advice}");
    let plotted = json(
        &db.project(),
        &["suggest", "--plot", "--json", "--", "make"],
    );
    assert_eq!(plotted["hang_limit_s"].as_f64(), Some(limit), "{plotted}");
    assert_eq!(plotted["hang_limit_applied"], true, "{plotted}");
    // Elsewhere (another project root) nothing was learned for `make`: no limit to mark.
    let elsewhere = json(
        db.env.path(),
        &["suggest", "--plot", "--json", "--", "make"],
    );
    assert!(elsewhere["hang_limit_s"].is_null(), "{elsewhere}");
}

#[test]
fn plot_json_is_the_plotted_data() {
    let db = Db::fixed();
    let o = db
        .ee()
        .args(["stats", "--plot", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let days = v["days"].as_array().unwrap();
    assert_eq!(days.len(), 28);
    assert_eq!(days[27]["date"], "2026-03-28");
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let in_window: i64 = conn
        .query_row(
            "SELECT count(*) FROM executions WHERE started_at >= ?1",
            [NEWEST_MS - NEWEST_MS % DAY_MS - 27 * DAY_MS],
            |r| r.get(0),
        )
        .unwrap();
    let plotted: u64 = days
        .iter()
        .map(|d| {
            ["passed", "failed", "stopped"]
                .iter()
                .map(|k| d[k].as_u64().unwrap())
                .sum::<u64>()
        })
        .sum();
    assert_eq!(plotted as i64, in_window);
    assert_eq!(v["weeks"].as_array().unwrap().len(), 4);
    let top = v["top_commands"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    assert!(top[0]["time_saved_s"].as_f64() >= top[9]["time_saved_s"].as_f64());

    let o = db
        .ee()
        .args(["suggest", "--plot", "--json", "--", "make"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = v["normal_s"].as_array().unwrap().len() + v["failed_s"].as_array().unwrap().len();
    let binned: u64 = v["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["normal"].as_u64().unwrap() + b["failed"].as_u64().unwrap())
        .sum();
    assert!(n > 10);
    assert_eq!(binned as usize, n);
    // Nothing recorded: a sentence, not an error, and no database created.
    let empty = Db::new();
    let o = empty.ee().args(["stats", "--plot"]).output().unwrap();
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "No executions recorded yet.\n"
    );
    assert!(!Path::new(&empty.path()).exists());
}
