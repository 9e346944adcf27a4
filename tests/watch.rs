//! `--watch`, interactive learning, through a real terminal (the common pty driver): Ctrl-C,
//! the suggestion, the confirmation, and the next `ee run` applying what was stored.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::bin as ee_path;
use common::pty::{self, Pty};

/// An isolated environment (tests/common) with a suite that fails, then hangs.
struct Env {
    env: common::Isolated,
}

impl Env {
    fn new() -> Env {
        let env = common::Isolated::new();
        common::write_exe(
            &env.p("suite.sh"),
            "#!/bin/sh\necho 'test_a ... ok'\necho 'FAILED test_b - assert 1 == 2'\nsleep 30\n",
        );
        Env { env }
    }

    fn cmd(&self, program: &std::path::Path) -> Command {
        let mut c = Command::new(program);
        self.env.apply(&mut c);
        c
    }

    /// Run `ee --watch -- ./suite.sh` on a terminal, press Ctrl-C once the failure shows, then
    /// type each of `answers` at the next question; returns what the terminal received.
    fn watch(&self, answers: &[&str]) -> String {
        let mut c = self.cmd(&ee_path());
        c.args(["--watch", "--", "./suite.sh"]);
        let mut t = Pty::start(c, 24, 200);
        t.expect("FAILED test_b");
        // A pause before Ctrl-C, as a user would have: pressed within milliseconds of the line,
        // ee sometimes neither asks nor exits (seen about 1 run in 6 under parallel load; not
        // this test's subject, reported).
        std::thread::sleep(Duration::from_millis(500));
        t.press(&["C-c"]);
        for a in answers {
            t.expect_re(r"\[[Yy]/[Nn]\] ");
            t.send(a);
        }
        t.wait_exit(pty::WAIT);
        t.text()
    }
}

#[test]
fn watch_suggests_and_stores_on_confirmation() {
    let env = Env::new();
    let out = env.watch(&["y\n", "\n"]);
    assert!(out.contains("last error-like lines:"), "{out}");
    assert!(out.contains("FAILED test_b - assert 1 == 2"), "{out}");
    assert!(
        out.contains("stop `suite.sh` on /^FAILED/ from now on? [Y/n]"),
        "{out}"
    );
    assert!(
        out.contains("stored for `suite.sh`: pattern /^FAILED/"),
        "{out}"
    );
    // The next run applies the stored pattern at once.
    let t = Instant::now();
    let o = env
        .cmd(&ee_path())
        .args(["run", "--", "./suite.sh"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/^FAILED/"));
    let o = env
        .cmd(&ee_path())
        .args(["run", "--dry-run", "--", "./suite.sh"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("pinned with ee --watch"), "{out}");
}

#[test]
fn watch_declined_stores_nothing_and_timeout_can_be_pinned() {
    let env = Env::new();
    let out = env.watch(&["n\n", "n\n"]);
    assert!(out.contains("nothing stored"), "{out}");
    let o = env
        .cmd(&ee_path())
        .args(["run", "--dry-run", "--", "./suite.sh"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stdout).contains("pinned"));
    // Only the timeout.
    let out = env.watch(&["n\n", "y\n"]);
    assert!(out.contains("stored for `suite.sh`: timeout "), "{out}");
    let o = env
        .cmd(&ee_path())
        .args(["run", "--dry-run", "--", "./suite.sh"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("pinned with ee --watch") && text.contains("timeout"),
        "{text}"
    );
}

#[test]
fn watch_without_a_terminal_only_suggests() {
    let env = Env::new();
    let mut child = env
        .cmd(std::path::Path::new("setsid"))
        .arg(ee_path())
        .args(["--watch", "--", "./suite.sh"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let _ = child.wait();
    assert!(err.contains("FAILED test_b"), "{err}");
    assert!(
        err.contains("no terminal to confirm on: nothing stored"),
        "{err}"
    );
    let (code, _, _) = {
        let o = env.cmd(&ee_path()).args(["--watch", "x"]).output().unwrap();
        (o.status.code(), o.stdout, o.stderr)
    };
    assert_eq!(code, Some(3), "--watch needs a command");
}
