//! Helpers shared by the integration tests. Each `tests/*.rs` file is its own crate and takes
//! them with `mod common;`: the built binary, the repository, tools that may be missing (a loud
//! skip locally, a failure under CI), fixture copies, an isolated state directory for ee, and
//! the one pseudo-terminal driver ([`pty`]).

// Every test crate uses a different subset.
#![allow(dead_code)]

pub mod pty;

use std::path::{Path, PathBuf};

/// The built `ee` binary.
pub fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("ee")
}

/// `ee` as the stateless tests run it: nothing recorded, the user's `EARLYEXIT_OPTIONS`
/// ignored.
pub fn ee() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("ee").unwrap();
    c.env("EARLYEXIT_NO_TELEMETRY", "1")
        .env_remove("EARLYEXIT_OPTIONS");
    c
}

/// The same as a `std::process::Command` (for spawning, pipes and signals).
pub fn ee_std() -> std::process::Command {
    let mut c = std::process::Command::new(bin());
    c.env("EARLYEXIT_NO_TELEMETRY", "1")
        .env_remove("EARLYEXIT_OPTIONS");
    c
}

/// The repository root (checked-in scripts, man pages, fixtures).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where `prog` is on PATH (or `prog` itself when it is a path to a file).
pub fn which(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        return Path::new(prog).is_file().then(|| PathBuf::from(prog));
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(prog))
            .find(|f| f.is_file())
    })
}

/// Is `prog` installed? (No message: for tests that choose between two tools.)
pub fn have(prog: &str) -> bool {
    which(prog).is_some()
}

/// Is `prog` installed? Missing: a loud skip locally, a failure under CI (`CI` set), where
/// `.ci/run` installs every tool the tests need.
pub fn require(prog: &str) -> bool {
    if have(prog) {
        return true;
    }
    skip(prog);
    false
}

/// Say loudly that a check did not run because `what` is missing; under CI, fail instead.
pub fn skip(what: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is not installed, and CI is set: install it (.ci/run does)");
    }
    eprintln!("\n!!!! SKIPPED: {what} is not installed; this check did NOT run !!!!\n");
}

/// Copy the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A temporary directory holding a copy of `tests/fixtures/NAME` as `proj/`.
pub fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo().join("tests/fixtures").join(name),
        &dir.path().join("proj"),
    );
    dir
}

/// Make `path` an executable file holding `text`.
pub fn write_exe(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
