//! The hooks' way into ee: a routed command reaches ee under the program's own name.
//!
//! So that the shell's job table, `fg` and zsh's `time` see the command as typed (`pytest -x`,
//! not the hook's inner line), the hooks do not run `ee run -- pytest -x` themselves: they make
//! the shell resolve the name `pytest` to ee's path (bash `hash -p`, zsh `hash NAME=PATH`) and
//! export `EARLYEXIT_HOOK` holding the routes, one per line. ee, started as `pytest` with that
//! variable set, removes it and either runs `ee run -- pytest -x` or, when the command is not
//! routed after all (`cargo build` next to the route `cargo test`, `EARLYEXIT_DISABLE=1`, a
//! command already inside a routed one), replaces itself with the bare program.
//!
//! fish has no such table: its hook puts a directory of shims (symlinks to ee named after the
//! routed programs, see [`super::shims`]) first in PATH for the command line, and exports
//! `EARLYEXIT_HOOK_SHIMS=PID:DIR` (the shell's pid). ee takes DIR out of PATH again, and routes
//! only when the shell itself started it: a script run from that line that calls the program
//! gets the bare one.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

/// The variable a hook exports for the command it hands to ee: the routes, one per line.
pub const MARKER: &str = "EARLYEXIT_HOOK";
/// fish's shim directory and the shell's pid (`PID:DIR`).
pub const SHIMS: &str = "EARLYEXIT_HOOK_SHIMS";

/// ee's arguments, seen through the hook: unchanged unless ee was started by a hook in a
/// program's place, then `ee run -- PROGRAM ARGS…`. A program that is not routed is executed
/// bare (this then never returns).
pub fn args(args: Vec<OsString>) -> Vec<OsString> {
    let Some(routes) = std::env::var_os(MARKER) else {
        return args;
    };
    // Never passed on, whatever happens next.
    std::env::remove_var(MARKER);
    let from_shell = match std::env::var_os(SHIMS) {
        Some(s) => {
            std::env::remove_var(SHIMS);
            let s = s.to_string_lossy().into_owned();
            let (pid, dir) = s.split_once(':').unwrap_or(("", &s));
            unshim(Path::new(dir));
            pid.parse::<u32>().ok() == Some(std::os::unix::process::parent_id())
        }
        None => true,
    };
    let Some(name) = args.first().cloned() else {
        return args;
    };
    // Started by path or under ee's own names: an ordinary ee command.
    let own = |n: &OsStr| n == "ee" || n == "earlyexit";
    if name.as_encoded_bytes().contains(&b'/') || own(&name) {
        return args;
    }
    let routes = routes.to_string_lossy();
    if from_shell && routed(&routes, &args) {
        std::env::set_var("EARLYEXIT_ROUTED", "1");
        let mut out: Vec<OsString> = vec!["ee".into(), "run".into(), "--".into()];
        out.extend(args);
        return out;
    }
    let err = std::process::Command::new(&name).args(&args[1..]).exec();
    let code = if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    eprintln!("{}: {err}", name.to_string_lossy());
    std::process::exit(code);
}

/// Take the shim directory out of PATH, for ee's children and the bare program.
fn unshim(dir: &Path) {
    let Some(path) = std::env::var_os("PATH") else {
        return;
    };
    let kept: Vec<PathBuf> = std::env::split_paths(&path).filter(|p| p != dir).collect();
    if let Ok(p) = std::env::join_paths(kept) {
        std::env::set_var("PATH", p);
    }
}

/// Routed now: not disabled, not inside a routed command, and the program (alone or with its
/// first argument) is one of the routes.
fn routed(routes: &str, args: &[OsString]) -> bool {
    let off = std::env::var_os("EARLYEXIT_DISABLE").is_some_and(|v| !v.is_empty() && v != "0");
    if off || std::env::var_os("EARLYEXIT_ROUTED").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    let word = |i: usize| args.get(i).map(|a| a.to_string_lossy());
    let (Some(prog), sub) = (word(0), word(1)) else {
        return false;
    };
    routes.lines().any(|r| {
        r == prog
            || sub
                .as_ref()
                .is_some_and(|s| r.split_once(' ') == Some((&*prog, &**s)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn matches_program_or_program_and_subcommand() {
        let r = "pytest\ncargo test";
        assert!(routed(r, &v(&["pytest", "-x"])));
        assert!(routed(r, &v(&["cargo", "test", "-q"])));
        assert!(!routed(r, &v(&["cargo", "build"])));
        assert!(!routed(r, &v(&["cargo"])));
        assert!(!routed(r, &v(&["py", "test"])));
    }
}
