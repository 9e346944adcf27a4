//! Show why a stopped test run failed: an announced re-run of just the failing test, for the
//! test runners that print a failure's details only at the end of the run and nothing when
//! stopped (`cargo test`: `cargo test … -- --exact NAME`). (pytest prints its failure summary
//! when interrupted, so ee stops it with SIGINT instead: `Profile::interrupt`.) Its output goes
//! where the command's went; its status never changes ee's.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::engine::outcome::Outcome;

/// The re-run is stopped after this long (the point is to show the failure quickly).
pub const MAX_RERUN: Duration = Duration::from_secs(10);

/// A planned re-run.
#[derive(Debug, Clone, PartialEq)]
pub struct Rerun {
    pub argv: Vec<String>,
}

impl Rerun {
    /// The command line as shown in the notice.
    pub fn shown(&self) -> String {
        shell_words::join(&self.argv)
    }
}

fn lines(o: &Outcome) -> impl Iterator<Item = &str> {
    o.matches
        .iter()
        .chain(&o.observed)
        .map(|m| m.line.trim_end())
}

/// The re-run for a stopped run of a profile that needs one, if the failing test is known.
pub fn plan(o: &Outcome, profile: Option<&str>) -> Option<Rerun> {
    let argv = &o.argv;
    let start = argv.len() - crate::context::unwrapped(argv).len();
    let cmd = &argv[start..];
    match profile? {
        "cargo-test" => {
            let prog = crate::context::basename(cmd.first()?);
            if prog != "cargo" || cmd.iter().any(|w| w == "nextest") {
                return None;
            }
            let name = lines(o).find_map(|l| {
                let rest = l.strip_prefix("test ")?;
                let (name, tail) = rest.split_once(' ')?;
                tail.trim_start()
                    .starts_with("... FAILED")
                    .then(|| name.to_string())
            })?;
            let mut v = argv.to_vec();
            if !v.iter().any(|w| w == "--") {
                v.push("--".into());
            }
            v.push("--exact".into());
            v.push(name);
            Some(Rerun { argv: v })
        }
        _ => None,
    }
}

/// Run it with the terminal (or ee's stderr when stdout carries the JSON report), stopping it
/// after `MAX_RERUN`.
pub fn run(r: &Rerun, json: bool, quiet: bool) {
    let mut c = Command::new(&r.argv[0]);
    c.args(&r.argv[1..]).stdin(Stdio::null());
    if json {
        if let Ok(fd) = std::io::stderr().as_fd_owned() {
            c.stdout(fd);
        }
    }
    let Ok(mut child) = c.spawn() else {
        crate::engine::printer::note(quiet, "could not re-run the failing test");
        return;
    };
    let t = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return,
            Ok(None) if t.elapsed() < MAX_RERUN => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                crate::engine::printer::note(quiet, "re-run of the failing test stopped after 10s");
                return;
            }
        }
    }
}

trait AsFdOwned {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd>;
}

impl AsFdOwned for std::io::Stderr {
    fn as_fd_owned(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::outcome::{MatchRecord, Mode, Observed, PatternsUsed};
    use std::time::SystemTime;

    fn stopped(argv: &[&str], lines: &[&str]) -> Outcome {
        Outcome {
            mode: Mode::Run,
            argv: argv.iter().map(|s| s.to_string()).collect(),
            started: SystemTime::now(),
            cwd: String::new(),
            patterns: PatternsUsed::default(),
            limits: Default::default(),
            exit_code: 1,
            run: Observed {
                child: None,
                reason: crate::engine::policy::Reason::ErrorMatch,
                total: Duration::ZERO,
                to_first_output: None,
                to_first_match: None,
                match_count: 1,
                stdout: Default::default(),
                stderr: Default::default(),
                stopped_early: true,
                detached: false,
                matches: lines
                    .iter()
                    .map(|l| MatchRecord {
                        offset: 0.1,
                        stream: "stdout".into(),
                        line_no: 1,
                        kind: crate::engine::matcher::Class::Error,
                        pattern: String::new(),
                        line: l.to_string(),
                        matched: String::new(),
                        context: Vec::new(),
                    })
                    .collect(),
                observed: Vec::new(),
                ends_line: true,
            },
        }
    }

    #[test]
    fn cargo_test_reruns_the_failing_test_exactly() {
        let o = stopped(
            &[
                "env",
                "X=1",
                "cargo",
                "test",
                "--offline",
                "--",
                "--test-threads=1",
            ],
            &["test tests::a ... FAILED"],
        );
        let r = plan(&o, Some("cargo-test")).unwrap();
        assert_eq!(
            r.shown(),
            "env 'X=1' cargo test --offline -- '--test-threads=1' --exact tests::a"
        );
        let o = stopped(&["cargo", "test"], &["test it::b ... FAILED"]);
        assert_eq!(
            plan(&o, Some("cargo-test")).unwrap().shown(),
            "cargo test -- --exact it::b"
        );
        assert_eq!(plan(&o, Some("pytest")), None);
        assert_eq!(plan(&o, None), None);
    }
}
