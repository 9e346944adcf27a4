//! The routes file: which commands the shell hooks send through `ee run`.
//!
//! Owns the location (`$EARLYEXIT_CONFIG_DIR/routes`, else `dirs::config_dir()/earlyexit/routes`),
//! the plain-text format (one route per line: a program, optionally followed by one leading
//! subcommand; `#` starts a comment; blank lines are ignored), validation (only plain program names
//! and words, so a route can never inject shell code or shadow a shell builtin), editing that keeps
//! the user's comments, and the load stamp the hooks compare with a builtin file test so that a
//! prompt with unchanged routes starts no process.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Names a route may not wrap: every builtin and reserved word of bash, zsh (with its default
/// modules and the usual module and autoloaded helpers) and fish, the functions each shell calls by
/// name (`command_not_found_handle`, `precmd`, `fish_prompt`…, see also `RESERVED_PREFIXES`), the
/// fish functions that are shell machinery rather than a program, and ee's own names. Wrapping one
/// would break the shell or the hook itself (`tests/shell.rs` compares this list with the real
/// shells' own lists).
#[rustfmt::skip]
const RESERVED: &[&str] = &[
    "N_", "abbr", "add-zsh-hook", "alias", "and", "argparse", "autoload", "begin", "bg", "bind",
    "bindkey", "block", "break", "breakpoint", "builtin", "bye", "caller", "cap", "case", "cd",
    "cdh", "chdir", "chpwd", "clone", "command", "command_not_found_handle",
    "command_not_found_handler", "commandline", "compadd", "comparguments", "compcall", "compctl",
    "compdef", "compdescribe", "compdump", "compfiles", "compgen", "compgroups", "compinit",
    "complete", "compopt", "compquote", "compset", "comptags", "comptry", "compvalues", "contains",
    "contains_seq", "continue", "coproc", "count", "declare", "dirh", "dirs", "disable", "disown",
    "do", "done", "down-or-search", "earlyexit", "echo", "echotc", "echoti", "edit_command_buffer",
    "ee", "elif", "else", "emit", "emulate", "enable", "end", "esac", "eval", "exec", "exit",
    "export", "false", "fc", "fg", "fi", "float", "for", "foreach", "funced", "funcsave",
    "function", "functions", "getcap", "getln", "getopts", "hash", "help", "history", "if", "in",
    "integer", "is-at-least", "isatty", "jobs", "kill", "la", "let", "limit", "ll", "local", "log",
    "logout", "mapfile", "math", "nextd", "nocorrect", "noglob", "not", "or", "path",
    "pcre_compile", "pcre_match", "pcre_study", "periodic", "popd", "precmd", "preexec", "prevd",
    "print", "printf", "private", "prompt_hostname", "prompt_login", "prompt_pwd", "psub", "pushd",
    "pushln", "pwd", "r", "random", "read", "readarray", "readonly", "realpath", "rehash",
    "repeat", "return", "run-help", "sched", "select", "set", "set_color", "setcap", "setenv",
    "setopt", "shift", "shopt", "source", "status", "strftime", "string", "suspend", "switch",
    "syserror", "sysopen", "sysread", "sysseek", "syswrite", "test", "then", "time", "times",
    "trap", "true", "ttyctl", "type", "typeset", "ulimit", "umask", "unalias", "unfunction",
    "unhash", "unlimit", "unset", "unsetopt", "until", "up-or-search", "vared", "wait", "whence",
    "where", "which", "which-command", "while", "zcalc", "zcompile", "zcurses", "zdelattr",
    "zformat", "zftp", "zgdbmpath", "zgetattr", "zle", "zlistattr", "zmodload", "zmv",
    "zparseopts", "zprof", "zpty", "zregexparse", "zselect", "zsetattr", "zsh_directory_name",
    "zshaddhistory", "zshexit", "zsocket", "zstat", "zstyle", "zsystem", "ztcp", "ztie", "zuntie",
];

/// Prefixes of names the shells or ee reserve: `_` (completion and hook helpers, ee's `__ee_*`),
/// zsh's `TRAP*` signal functions and `zle-*` special widgets, fish's `fish_*` event functions.
const RESERVED_PREFIXES: &[&str] = &["_", "TRAP", "zle-", "fish_"];

/// One route: a program, optionally restricted to one leading subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub program: String,
    pub sub: Option<String>,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.sub {
            Some(s) => write!(f, "{} {}", self.program, s),
            None => f.write_str(&self.program),
        }
    }
}

fn word_ok(w: &str, extra: &[char]) -> bool {
    let mut chars = w.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    w.len() <= 64
        && (first.is_ascii_alphanumeric() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c) || extra.contains(&c))
}

/// Parse and validate one route (`pytest`, `cargo test`). The error is one line for the user.
pub fn parse_route(text: &str) -> Result<Route, String> {
    let bad = |why: &str| format!("invalid route '{}': {why}", crate::escape::escape(text));
    if text.chars().any(char::is_control) {
        return Err(bad(
            "control characters (a newline, a tab…) are not allowed; separate a subcommand with one space",
        ));
    }
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let (program, sub) = match words.as_slice() {
        [] => return Err(bad("empty")),
        [p] => (*p, None),
        [p, s] => (*p, Some(*s)),
        _ => {
            return Err(bad(
                "a route is a program and at most one subcommand (e.g. 'cargo test')",
            ))
        }
    };
    if !word_ok(program, &[]) {
        return Err(bad(
            "a program must be a plain name of letters, digits, '_', '.', '+', '-' (no paths, no shell syntax)",
        ));
    }
    if RESERVED.contains(&program) || RESERVED_PREFIXES.iter().any(|p| program.starts_with(p)) {
        return Err(bad(&format!(
            "'{program}' is a shell keyword, builtin or special function (or ee itself) and cannot be routed"
        )));
    }
    if let Some(s) = sub {
        if !word_ok(s, &[':', '@', '=']) {
            return Err(bad(
                "a subcommand must be a plain word of letters, digits and '_.+-:@='",
            ));
        }
    }
    Ok(Route {
        program: program.to_string(),
        sub: sub.map(str::to_string),
    })
}

/// A parsed routes file: the valid routes (deduplicated, in file order) and one message per
/// invalid line.
#[derive(Debug, Default)]
pub struct Parsed {
    pub routes: Vec<Route>,
    pub errors: Vec<String>,
}

/// Parse the text of a routes file.
pub fn parse_text(text: &str) -> Parsed {
    let mut p = Parsed::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match parse_route(line) {
            Ok(r) if !p.routes.contains(&r) => p.routes.push(r),
            Ok(_) => {}
            Err(e) => p.errors.push(format!("line {}: {e}", n + 1)),
        }
    }
    p
}

/// The routes file.
pub fn routes_path() -> Option<PathBuf> {
    crate::paths::routes_file()
}

fn no_dir() -> String {
    crate::paths::NO_CONFIG_DIR.to_string()
}

/// Read the routes file; a missing file is no routes.
pub fn load(path: &Path) -> Result<Parsed, String> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(parse_text(&t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Parsed::default()),
        Err(e) => Err(format!(
            "cannot read {}: {e}",
            crate::escape::escape(&path.display().to_string())
        )),
    }
}

const HEADER: &str = "\
# Commands the earlyexit shell hooks run through `ee run` (see `ee route --help`).
# One per line: a program, optionally followed by one leading subcommand (`cargo test` routes
# `cargo test ...` and leaves `cargo build` alone). Lines starting with # are comments.
";

fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().ok_or_else(no_dir)?;
    fs::create_dir_all(dir).map_err(|e| {
        format!(
            "cannot create {}: {e}",
            crate::escape::escape(&dir.display().to_string())
        )
    })?;
    let tmp = dir.join(format!(".routes.tmp.{}", std::process::id()));
    fs::write(&tmp, text)
        .and_then(|_| fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = fs::remove_file(&tmp);
            format!(
                "cannot write {}: {e}",
                crate::escape::escape(&path.display().to_string())
            )
        })
}

/// Add routes (validated by the caller) to the file, keeping its comments. Returns the ones that
/// were not there yet.
pub fn add(path: &Path, new: &[Route]) -> Result<Vec<Route>, String> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => HEADER.to_string(),
        Err(e) => {
            return Err(format!(
                "cannot read {}: {e}",
                crate::escape::escape(&path.display().to_string())
            ))
        }
    };
    let mut have = parse_text(&text).routes;
    let mut out = text;
    let mut added = Vec::new();
    for r in new {
        if !have.contains(r) {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("{r}\n"));
            have.push(r.clone());
            added.push(r.clone());
        }
    }
    if !added.is_empty() {
        write_atomic(path, &out)?;
    }
    Ok(added)
}

/// Remove routes from the file (comments and other lines stay). Returns the ones that were found.
pub fn remove(path: &Path, gone: &[Route]) -> Result<Vec<Route>, String> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(format!(
                "cannot read {}: {e}",
                crate::escape::escape(&path.display().to_string())
            ))
        }
    };
    let mut removed = Vec::new();
    let mut out = String::new();
    for line in text.lines() {
        let body = line.split('#').next().unwrap_or("").trim();
        if let Ok(r) = parse_route(body) {
            if gone.contains(&r) {
                if !removed.contains(&r) {
                    removed.push(r);
                }
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    if !removed.is_empty() {
        write_atomic(path, &out)?;
    }
    Ok(removed)
}

/// What the hooks compare the routes file with at each prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamp {
    /// No routes file yet: reload when one appears.
    Absent,
    /// A file whose modification time equals the routes file's at load: reload when the routes
    /// file is newer (`-nt`), or when either file is gone.
    File(PathBuf),
    /// Changes cannot be tracked (the stamp could not be written): never reload.
    Untracked,
}

/// Make (or reuse) the load stamp for the routes file as it is now. Stamps of older generations
/// are removed; a shell that still points at one reloads once, which is harmless.
pub fn stamp(path: &Path) -> Stamp {
    let Ok(meta) = fs::metadata(path) else {
        return Stamp::Absent;
    };
    let Ok(mtime) = meta.modified() else {
        return Stamp::Untracked;
    };
    let Some(dir) = path.parent() else {
        return Stamp::Untracked;
    };
    let d = mtime
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let name = format!(".routes-loaded-{}.{:09}", d.as_secs(), d.subsec_nanos());
    let stamp = dir.join(&name);
    let fresh = fs::metadata(&stamp)
        .and_then(|m| m.modified())
        .is_ok_and(|m| m == mtime);
    if !fresh {
        let made = fs::File::create(&stamp).and_then(|f| f.set_modified(mtime));
        if made.is_err() {
            let _ = fs::remove_file(&stamp);
            return Stamp::Untracked;
        }
        if let Ok(entries) = fs::read_dir(dir) {
            for e in entries.flatten() {
                let n = e.file_name();
                let n = n.to_string_lossy();
                if n.starts_with(".routes-loaded-") && n != name {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
    Stamp::File(stamp)
}

/// Everything `ee init` needs: the routes file, its stamp and the routes in it.
pub struct Loaded {
    pub path: Option<PathBuf>,
    pub stamp: Stamp,
    pub routes: Vec<Route>,
    pub errors: Vec<String>,
}

/// Read the routes for the hooks. Problems are reported as messages, never as a failure: a
/// broken routes file must not break the shell.
pub fn load_for_hooks() -> Loaded {
    let Some(path) = routes_path() else {
        return Loaded {
            path: None,
            stamp: Stamp::Untracked,
            routes: Vec::new(),
            errors: vec![no_dir()],
        };
    };
    // The stamp is taken before reading, so a change during the read is seen at the next prompt.
    let stamp = stamp(&path);
    let (routes, errors) = match load(&path) {
        Ok(p) => (
            p.routes,
            p.errors
                .into_iter()
                .map(|e| {
                    format!(
                        "{}: {e}",
                        crate::escape::escape(&path.display().to_string())
                    )
                })
                .collect(),
        ),
        Err(e) => (Vec::new(), vec![e]),
    };
    Loaded {
        path: Some(path),
        stamp,
        routes,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_routes() {
        let r = parse_route("cargo test").unwrap();
        assert_eq!(r.program, "cargo");
        assert_eq!(r.sub.as_deref(), Some("test"));
        assert_eq!(r.to_string(), "cargo test");
        assert_eq!(parse_route("  pytest ").unwrap().to_string(), "pytest");
        for ok in [
            "g++",
            "python3.12",
            "npm run-script",
            "pnpm test:unit",
            "x_y-z",
        ] {
            assert!(parse_route(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn invalid_routes() {
        for bad in [
            "",
            "a b c",
            "rm;ls",
            "$(reboot)",
            "`x`",
            "/usr/bin/cargo",
            "-rf",
            "cargo 'test'",
            "cargo te$st",
            "a|b",
            "x>y",
            "if",
            "command",
            "ee",
            "__ee_dispatch",
            "_",
            "cargo ;",
            "pytest\n",
            "x\ny",
            "cargo\ttest",
            "mapfile",
            "command_not_found_handle",
            "command_not_found_handler",
            "TRAPZERR",
            "precmd",
            "print",
            "argparse",
            "commandline",
            "fish_prompt",
            "zle-line-init",
        ] {
            let r = parse_route(bad);
            assert!(r.is_err(), "{bad:?} accepted");
        }
        // A control character is named, escaped, on one line.
        let e = parse_route("x\ny\x1b[2J").unwrap_err();
        assert!(!e.contains('\n') && !e.contains('\x1b'), "{e}");
        assert!(e.contains(r"x\ny\e[2J") && e.contains("control"), "{e}");
    }

    #[test]
    fn file_format() {
        let p = parse_text("# c\n\npytest  # trailing\ncargo test\nbad;route\npytest\n");
        let names: Vec<String> = p.routes.iter().map(|r| r.to_string()).collect();
        assert_eq!(names, ["pytest", "cargo test"]);
        assert_eq!(p.errors.len(), 1);
        assert!(p.errors[0].starts_with("line 5:"), "{:?}", p.errors);
    }

    #[test]
    fn add_remove_keep_comments() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("sub/routes");
        let a = add(&f, &[parse_route("pytest").unwrap()]).unwrap();
        assert_eq!(a.len(), 1);
        assert!(add(&f, &[parse_route("pytest").unwrap()])
            .unwrap()
            .is_empty());
        fs::write(&f, "# mine\npytest\ncargo test # yes\n").unwrap();
        let r = remove(&f, &[parse_route("cargo test").unwrap()]).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(fs::read_to_string(&f).unwrap(), "# mine\npytest\n");
    }

    #[test]
    fn stamp_follows_mtime() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("routes");
        assert_eq!(stamp(&f), Stamp::Absent);
        fs::write(&f, "x\n").unwrap();
        let Stamp::File(s1) = stamp(&f) else { panic!() };
        assert_eq!(
            fs::metadata(&s1).unwrap().modified().unwrap(),
            fs::metadata(&f).unwrap().modified().unwrap()
        );
        assert_eq!(stamp(&f), Stamp::File(s1.clone()));
        let later =
            fs::metadata(&f).unwrap().modified().unwrap() + std::time::Duration::from_secs(1);
        fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(later)
            .unwrap();
        let Stamp::File(s2) = stamp(&f) else { panic!() };
        assert_ne!(s1, s2);
        assert!(!s1.exists(), "old stamp pruned");
    }
}
