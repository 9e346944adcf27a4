//! A new user's first minutes with the grep face (the first word is always the pattern):
//! `ee cargo test` says, in one line on stderr, that 'cargo' is the pattern and how to run cargo;
//! pipe mode reading a terminal says once that it is reading standard input; `-q` silences both,
//! and neither changes what ee does (exit status, stdout).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// A temp dir with an executable `fakeprog` in `bin/`, the PATH ee sees.
fn setup() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let p = bin.join("fakeprog");
    std::fs::write(&p, "#!/bin/sh\necho fake\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn ee(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("ee"));
    c.args(args)
        .env("PATH", format!("{}/bin:/usr/bin:/bin", dir.display()))
        .env("EARLYEXIT_NO_TELEMETRY", "1")
        .env_remove("EARLYEXIT_OPTIONS")
        .current_dir(dir);
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    ee(dir, args).stdin(Stdio::null()).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_pattern_that_is_a_program_gets_one_hint_line() {
    let dir = setup();
    let o = run(dir.path(), &["fakeprog", "echo", "hi"]);
    assert_eq!(
        stderr(&o),
        "ee: 'fakeprog' is the pattern here; to run fakeprog: ee run fakeprog echo hi\n"
    );
    // Behaviour unchanged: `echo hi` ran, its output passed, no match: exit 1.
    assert_eq!(o.stdout, b"hi\n");
    assert_eq!(o.status.code(), Some(1));
    // Arguments are quoted as a shell needs them.
    let o = run(dir.path(), &["fakeprog", "echo", "a b"]);
    assert_eq!(
        stderr(&o),
        "ee: 'fakeprog' is the pattern here; to run fakeprog: ee run fakeprog echo 'a b'\n"
    );
    // The hint's advice works.
    let o = run(dir.path(), &["run", "fakeprog", "echo", "hi"]);
    assert_eq!(o.stdout, b"fake\n", "{}", stderr(&o));
}

#[test]
fn no_hint_with_q_with_dashes_or_for_an_ordinary_pattern() {
    let dir = setup();
    for args in [
        &["-q", "fakeprog", "echo", "hi"][..],
        &["fakeprog", "--", "echo", "hi"],
        &["--pattern", "fakeprog", "echo", "hi"],
        &["FAILED|ERROR", "echo", "hi"],
        &["nosuchprogram", "echo", "hi"],
    ] {
        let o = run(dir.path(), args);
        assert_eq!(stderr(&o), "", "ee {args:?}");
        assert_eq!(o.stdout, b"hi\n", "ee {args:?}");
        assert_eq!(o.status.code(), Some(1), "ee {args:?}");
    }
    // A pipe on stdin: nothing to say.
    let mut c = ee(dir.path(), &["fakeprog"]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"x\n").unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(stderr(&o), "");
    assert_eq!(o.stdout, b"x\n");
}

/// Pipe mode with stdin a pseudo-terminal; nobody types, but with `eof` Ctrl-D is pressed.
fn on_a_terminal(dir: &Path, args: &[&str], eof: bool) -> Output {
    let pty = nix::pty::openpty(None, None).unwrap();
    let child = ee(dir, args)
        .stdin(Stdio::from(pty.slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if eof {
        std::thread::sleep(std::time::Duration::from_millis(300));
        nix::unistd::write(&pty.master, b"\x04").unwrap();
    }
    let o = child.wait_with_output().unwrap();
    drop(pty.master);
    o
}

#[test]
fn pipe_mode_on_a_terminal_says_once_that_it_reads_standard_input() {
    let dir = setup();
    let o = on_a_terminal(dir.path(), &["-t", "1", "x"], false);
    let err = stderr(&o);
    assert!(
        err.starts_with("ee: reading standard input (Ctrl-D ends it)\n"),
        "{err}"
    );
    assert_eq!(err.matches("reading standard input").count(), 1, "{err}");
    // The timeout still applies: grep face, timeout = 2.
    assert_eq!(o.status.code(), Some(2), "{err}");
    // A pattern that is a program: the same line says how to run it.
    let o = on_a_terminal(dir.path(), &["-t", "1", "fakeprog"], false);
    let err = stderr(&o);
    assert!(
        err.starts_with(
            "ee: reading standard input (Ctrl-D ends it); 'fakeprog' is the pattern here; to run \
             fakeprog: ee run fakeprog\n"
        ),
        "{err}"
    );
    // Ctrl-D ends it, as the line says.
    let o = on_a_terminal(dir.path(), &["-t", "30", "x"], true);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // --test-pattern reads standard input too.
    let o = on_a_terminal(dir.path(), &["--test-pattern", "x"], true);
    assert!(
        stderr(&o).contains("reading standard input"),
        "{}",
        stderr(&o)
    );
    // (Nothing typed: no line matched.)
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no line matched"));
    // -q: silent.
    let o = on_a_terminal(dir.path(), &["-q", "-t", "1", "x"], false);
    assert!(
        !stderr(&o).contains("reading standard input"),
        "{}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(2));
}
