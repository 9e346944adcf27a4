//! Black-box tests of the start-up shortcuts (issue 16): the store opened on a thread before the
//! arguments are parsed (`store::prepare_early`) must record exactly what a late open records,
//! never create a database or write a row for a command line that does not record (usage errors,
//! `--no-telemetry`, `--dry-run`, `--help`, in the arguments or in `EARLYEXIT_OPTIONS`), and the
//! next run must see the previous one (read-your-last-run).

mod common;

use std::path::PathBuf;

use assert_cmd::Command;
use rusqlite::Connection;

struct Env(common::Isolated);

impl Env {
    fn new() -> Env {
        Env(common::Isolated::new().xdg("xdg-config", "xdg-data", "xdg-state"))
    }
    fn db(&self) -> PathBuf {
        self.0.db()
    }
    fn ee(&self) -> Command {
        self.0.ee_assert()
    }
    fn runs(&self) -> i64 {
        let c = Connection::open(self.db()).unwrap();
        c.query_row("SELECT count(*) FROM executions", [], |r| r.get(0))
            .unwrap()
    }
    fn last_command(&self) -> (String, Option<i64>) {
        let c = Connection::open(self.db()).unwrap();
        c.query_row(
            "SELECT command, child_exit FROM executions ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }
}

#[test]
fn no_database_is_created_by_a_command_line_that_does_not_record() {
    let e = Env::new();
    for args in [
        &["-t", "bogus", "--", "true"][..],
        &["--no-telemetry", "--", "true"],
        &["run", "--dry-run", "--", "true"],
        &["run", "--no-telemetry", "--", "true"],
        &["--help"],
        &["run", "--help"],
    ] {
        let _ = e.ee().args(args).output().unwrap();
        assert!(!e.db().exists(), "ee {args:?} created the database");
    }
    e.ee()
        .env("EARLYEXIT_OPTIONS", "--no-telemetry")
        .args(["--", "true"])
        .assert()
        .success();
    assert!(!e.db().exists());
}

#[test]
fn an_existing_database_gets_no_row_from_a_command_line_that_does_not_record() {
    let e = Env::new();
    e.ee().args(["--", "true"]).assert().success();
    assert_eq!(e.runs(), 1);
    e.ee().args(["-t", "bogus", "--", "true"]).assert().code(3);
    e.ee()
        .args(["run", "-t", "bogus", "--", "true"])
        .assert()
        .code(125);
    e.ee()
        .args(["--no-telemetry", "--", "true"])
        .assert()
        .success();
    e.ee()
        .args(["run", "--dry-run", "--", "true"])
        .assert()
        .success();
    e.ee()
        .env("EARLYEXIT_OPTIONS", "--no-telemetry")
        .args(["run", "--", "true"])
        .assert()
        .success();
    e.ee()
        .env("EARLYEXIT_NO_TELEMETRY", "1")
        .args(["--", "true"])
        .assert()
        .success();
    e.ee().args(["--help"]).assert().success();
    assert_eq!(e.runs(), 1);
}

#[test]
fn each_run_is_recorded_once_and_seen_by_the_next() {
    let e = Env::new();
    // The first run creates the database (late open); later ones find it (early open).
    e.ee().args(["--", "sh", "-c", "exit 3"]).assert().code(3);
    assert_eq!(e.runs(), 1);
    e.ee().args(["--", "sh", "-c", "exit 4"]).assert().code(4);
    assert_eq!(e.runs(), 2);
    assert_eq!(e.last_command(), ("sh -c 'exit 4'".to_string(), Some(4)));
    e.ee()
        .args(["run", "--", "sh", "-c", "exit 5"])
        .assert()
        .code(5);
    assert_eq!(e.runs(), 3);
    assert_eq!(e.last_command(), ("sh -c 'exit 5'".to_string(), Some(5)));
    // Pipe mode, options before the pattern.
    e.ee()
        .args(["-i", "nomatch"])
        .write_stdin("a\nb\n")
        .assert()
        .code(1);
    assert_eq!(e.runs(), 4);
    // `ee run`'s lookup sees every earlier run of the command (read-your-last-run).
    for _ in 0..3 {
        e.ee().args(["run", "--", "true"]).assert().success();
    }
    assert_eq!(e.runs(), 7);
    let c = Connection::open(e.db()).unwrap();
    let n: i64 = c
        .query_row(
            "SELECT runs FROM learn_scopes WHERE scope = 'cmd:true'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 3);
}
