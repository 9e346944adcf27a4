//! Show why a stopped test run failed: an announced re-run of just the failing test, for the
//! test runners that print a failure's details only at the end of the run (`cargo test`:
//! `cargo test … -- --exact NAME`; pytest without `-x`: `pytest -x FILE::TEST` or `pytest -x
//! FILE`). Its output goes where the command's went; its status never changes ee's.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::outcome::Outcome;

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
    let start = argv.len() - crate::telemetry::context::unwrapped(argv).len();
    let cmd = &argv[start..];
    match profile? {
        "cargo-test" => {
            let prog = cmd.first()?.rsplit('/').next()?;
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
        "pytest" => {
            // The program words up to and including `pytest` (`python3 -m pytest`).
            let end = cmd.iter().position(|w| {
                let b = w.rsplit('/').next().unwrap_or(w);
                b == "pytest" || b == "py.test"
            })?;
            let id = lines(o).find_map(|l| {
                if let Some(rest) = l
                    .strip_prefix("FAILED ")
                    .or_else(|| l.strip_prefix("ERROR "))
                {
                    let id = rest.split_whitespace().next()?;
                    return id.contains(".py").then(|| id.to_string());
                }
                let first = l.split_whitespace().next()?;
                if first.contains(".py::") && (l.contains(" FAILED") || l.contains(" ERROR")) {
                    return Some(first.to_string());
                }
                let rest = l.strip_prefix(first)?.trim_start();
                (first.ends_with(".py")
                    && rest
                        .split_whitespace()
                        .next()
                        .is_some_and(|p| p.contains('F') || p.contains('E')))
                .then(|| first.to_string())
            })?;
            let file = id.split("::").next().unwrap_or(&id);
            if !std::path::Path::new(file).exists() {
                return None;
            }
            let mut v: Vec<String> = argv[..start + end + 1].to_vec();
            v.push("-x".into());
            v.push(id);
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
        crate::printer::note(quiet, "could not re-run the failing test");
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
                crate::printer::note(quiet, "re-run of the failing test stopped after 10s");
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
