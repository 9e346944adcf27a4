//! Lints of the hook code: the shipped files in `shell/` and the code `ee init` renders from them
//! (with a binary path and routes that need quoting) go through `shellcheck` (bash, and zsh with
//! bash rules where they apply), `zsh -n`, `fish --no-execute`, and `fish_indent` must leave the
//! fish file unchanged. Plus the black-box behaviour of `ee init` and `ee route`.
//!
//! A tool that is not installed is skipped with a loud message; with `CI` set it is a failure.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assert_cmd::Command as Ee;
use earlyexit::cli::Shell;
use earlyexit::shell::routes::{parse_route, Stamp};

mod common;
use common::require;

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("shell")
        .join(name)
}

/// The hook as `ee init` renders it, with a binary path and routes that need quoting.
fn rendered(sh: Shell, dir: &Path) -> PathBuf {
    let routes = vec![
        parse_route("cargo test").unwrap(),
        parse_route("pytest").unwrap(),
    ];
    let text = earlyexit::shell::render(
        sh,
        Path::new("/opt/my tools/it's/ee"),
        &routes[..1],
        Some(Path::new("/home/a b/.config/earlyexit/routes")),
        &Stamp::File("/home/a b/.config/earlyexit/.routes-loaded-1.000000001".into()),
        &routes,
    );
    let f = dir.join(format!("rendered.{}", sh.name()));
    fs::write(&f, text).unwrap();
    f
}

fn check(prog: &str, args: &[&str], file: &Path) {
    let out = Command::new(prog)
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "{prog} {args:?} {}:\n{}{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn shellcheck_bash_and_zsh() {
    if !require("shellcheck") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    check("shellcheck", &[], &shipped("ee.bash"));
    check(
        "shellcheck",
        &["-s", "bash"],
        &rendered(Shell::Bash, d.path()),
    );
    // zsh is checked with bash rules: the file says where zsh syntax needs an exception.
    check("shellcheck", &[], &shipped("ee.zsh"));
    check(
        "shellcheck",
        &["-s", "bash"],
        &rendered(Shell::Zsh, d.path()),
    );
}

#[test]
fn syntax_bash_zsh_fish() {
    let d = tempfile::tempdir().unwrap();
    if require("bash") {
        check("bash", &["-n"], &shipped("ee.bash"));
        check("bash", &["-n"], &rendered(Shell::Bash, d.path()));
    }
    if require("zsh") {
        check("zsh", &["-n"], &shipped("ee.zsh"));
        check("zsh", &["-n"], &rendered(Shell::Zsh, d.path()));
    }
    if require("fish") {
        check("fish", &["--no-execute"], &shipped("ee.fish"));
        check("fish", &["--no-execute"], &rendered(Shell::Fish, d.path()));
    }
}

#[test]
fn fish_indent_leaves_the_file_unchanged() {
    if !require("fish_indent") {
        return;
    }
    let src = fs::read(shipped("ee.fish")).unwrap();
    let mut child = Command::new("fish_indent")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&src).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout == src,
        "fish_indent would change shell/ee.fish:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The whole `ee init` output (hook and completion script) parses in its shell.
#[test]
fn full_init_output_parses() {
    let d = tempfile::tempdir().unwrap();
    for (sh, prog, args) in [
        ("bash", "bash", &["-n"][..]),
        ("zsh", "zsh", &["-n"][..]),
        ("fish", "fish", &["--no-execute"][..]),
    ] {
        if !require(prog) {
            continue;
        }
        let out = Ee::cargo_bin("ee")
            .unwrap()
            .args(["init", sh])
            .env("EARLYEXIT_CONFIG_DIR", d.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(out.stderr.is_empty(), "ee init {sh} said: {out:?}");
        let f = d.path().join(format!("init.{sh}"));
        fs::write(&f, &out.stdout).unwrap();
        check(prog, args, &f);
    }
}

fn ee(cfg: &Path, args: &[&str]) -> std::process::Output {
    Ee::cargo_bin("ee")
        .unwrap()
        .args(args)
        .env("EARLYEXIT_CONFIG_DIR", cfg)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn route_add_list_remove() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("cfg");
    let o = ee(&cfg, &["route", "list"]);
    assert!(o.status.success() && o.stdout.is_empty(), "{o:?}");

    let o = ee(&cfg, &["route", "add", "cargo test", "pytest"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(text(&o.stdout), "routed: cargo test\nrouted: pytest\n");
    let o = ee(&cfg, &["route", "add", "pytest"]);
    assert_eq!(text(&o.stdout), "already routed: pytest\n");

    // The file is plain text a human can edit; comments survive ee's edits.
    let file = cfg.join("routes");
    let mut t = fs::read_to_string(&file).unwrap();
    assert!(t.contains("\ncargo test\npytest\n"), "{t}");
    t.push_str("# my note\nnpm test  # js\n");
    fs::write(&file, &t).unwrap();
    let o = ee(&cfg, &["route", "list"]);
    assert_eq!(text(&o.stdout), "cargo test\npytest\nnpm test\n");

    let o = ee(&cfg, &["route", "remove", "pytest"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(text(&o.stdout), "removed: pytest\n");
    let t = fs::read_to_string(&file).unwrap();
    assert!(
        t.contains("# my note\nnpm test  # js\n") && !t.contains("pytest"),
        "{t}"
    );

    let o = ee(&cfg, &["route", "remove", "nothere"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "ee: not routed: nothere (see 'ee route list')\n"
    );
}

#[test]
fn routes_that_could_inject_code_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let cfg = d.path().join("cfg");
    for bad in [
        "rm -rf /",
        "x;reboot",
        "$(touch pwned)",
        "`id`",
        "a|b",
        "/bin/ls",
        "cargo 'test'",
        "if",
        "command",
        "ee",
        "",
    ] {
        let o = ee(&cfg, &["route", "add", bad]);
        assert_eq!(o.status.code(), Some(3), "{bad:?}: {o:?}");
        let e = text(&o.stderr);
        assert!(
            e.starts_with("ee: invalid route") && e.lines().count() == 1,
            "{bad:?}: {e}"
        );
        let o = ee(&cfg, &["init", "bash", "--route", bad]);
        assert_eq!(o.status.code(), Some(3), "{bad:?}: {o:?}");
        assert!(o.stdout.is_empty());
    }
    assert!(!cfg.join("routes").exists());

    // A bad line written by hand is reported by `ee init` and never reaches the shell code.
    fs::create_dir_all(&cfg).unwrap();
    fs::write(cfg.join("routes"), "pytest\n$(touch pwned)\n").unwrap();
    let o = ee(&cfg, &["init", "bash"]);
    assert!(o.status.success());
    let out = text(&o.stdout);
    assert!(!out.contains("pwned"), "{out}");
    assert!(out.contains("'pytest'"));
    assert!(text(&o.stderr).contains("line 2: invalid route"), "{o:?}");
}

#[test]
fn init_prints_the_binary_path_and_nothing_noisy() {
    let d = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("ee");
    for sh in ["bash", "zsh", "fish"] {
        let o = ee(d.path(), &["init", sh]);
        assert!(o.status.success(), "{o:?}");
        assert!(o.stderr.is_empty(), "{o:?}");
        let out = text(&o.stdout);
        assert!(out.contains(&format!("'{}'", bin.display())), "{out}");
        assert!(!out.contains("@EE_"), "{out}");
    }
    let o = ee(d.path(), &["init", "tcsh"]);
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn inline_routes_from_option_and_environment() {
    let d = tempfile::tempdir().unwrap();
    let o = Ee::cargo_bin("ee")
        .unwrap()
        .args(["init", "bash", "--route", "npm test"])
        .env("EARLYEXIT_CONFIG_DIR", d.path())
        .env("EARLYEXIT_ROUTES", "pytest, cargo test,,bad;one")
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let out = text(&o.stdout);
    assert!(
        out.contains("__ee_inline=('npm test' 'pytest' 'cargo test')"),
        "{out}"
    );
    assert!(!out.contains("bad;one"));
    assert_eq!(
        text(&o.stderr).lines().count(),
        1,
        "one warning for the bad route: {o:?}"
    );
}
