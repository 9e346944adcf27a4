//! Man pages: the checked-in `man/*.1` are what `ee man --install-dir` writes (regenerate with
//! `EE_REGENERATE=1 cargo test --test man`), they are lint-clean (mandoc -Tlint, else groff), and
//! `ee man [SUBCOMMAND]` prints the right page.

use std::path::Path;
use std::process::Command as Std;

mod common;
use common::pty::{self, Pty};
use common::{ee, have, repo, skip};

/// What `ee man ARGS` prints; it must succeed.
fn man(args: &[&str]) -> String {
    let out = ee().arg("man").args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

fn generated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = man(&["--install-dir", dir.path().to_str().unwrap()]);
    // It says what it wrote: one line per page.
    let want: Vec<String> = list(dir.path())
        .iter()
        .map(|f| format!("wrote {}", dir.path().join(f).display()))
        .collect();
    let mut got: Vec<String> = out.lines().map(String::from).collect();
    got.sort();
    assert_eq!(got, want);
    dir
}

fn list(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".1"))
        .collect();
    v.sort();
    v
}

#[test]
fn checked_in_pages_are_current() {
    let gen = generated();
    let man = repo().join("man");
    if std::env::var_os("EE_REGENERATE").is_some() {
        std::fs::create_dir_all(&man).unwrap();
        for f in list(&man) {
            std::fs::remove_file(man.join(f)).unwrap();
        }
        for f in list(gen.path()) {
            std::fs::copy(gen.path().join(&f), man.join(&f)).unwrap();
        }
    }
    let want = list(gen.path());
    assert_eq!(
        list(&man),
        want,
        "man/ is stale: run EE_REGENERATE=1 cargo test --test man"
    );
    for f in &want {
        let a = std::fs::read_to_string(gen.path().join(f)).unwrap();
        let b = std::fs::read_to_string(man.join(f)).unwrap();
        assert!(
            a == b,
            "man/{f} is stale: run EE_REGENERATE=1 cargo test --test man"
        );
    }
}

#[test]
fn one_page_per_subcommand() {
    let gen = generated();
    let files = list(gen.path());
    for page in [
        "ee.1",
        "ee-run.1",
        "ee-init.1",
        "ee-route.1",
        "ee-suggest.1",
        "ee-stats.1",
        "ee-telemetry.1",
        "ee-feedback.1",
        "ee-profile.1",
        "ee-completions.1",
        "ee-man.1",
    ] {
        assert!(
            files.contains(&page.to_string()),
            "{page} missing: {files:?}"
        );
    }
    assert!(
        !files.iter().any(|f| f.contains("complete.")),
        "hidden engine documented"
    );
}

#[test]
fn pages_are_lint_clean() {
    let gen = generated();
    let files = list(gen.path());
    if have("mandoc") {
        for f in &files {
            let out = Std::new("mandoc")
                .args(["-Tlint", "-W", "warning"])
                .arg(gen.path().join(f))
                .output()
                .unwrap();
            let msg = String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() && msg.trim().is_empty(), "{f}: {msg}");
        }
    } else if have("groff") {
        for f in &files {
            let out = Std::new("groff")
                .args(["-man", "-ww", "-z"])
                .arg(gen.path().join(f))
                .output()
                .unwrap();
            let msg = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success() && msg.trim().is_empty(), "{f}: {msg}");
        }
    } else {
        skip("mandoc or groff");
    }
}

#[test]
fn ee_page_has_the_sections_clap_cannot_write() {
    let page = man(&[]);
    assert!(page.contains(".TH EE 1"), "{page}");
    for s in [
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH \"EXIT STATUS\"",
        ".SS \"Exit status (grep face)\"",
        ".SS \"Exit status (ee run)\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH EXAMPLES",
        ".SH \"SEE ALSO\"",
    ] {
        assert!(page.contains(s), "missing {s}");
    }
    for v in [
        "EARLYEXIT_OPTIONS",
        "EARLYEXIT_DB",
        "EARLYEXIT_NO_TELEMETRY",
        "EARLYEXIT_DISABLE",
        "EARLYEXIT_CONFIG_DIR",
        "telemetry.db.spool",
        "earlyexit/routes",
        "profiles/*.json",
        "\\-\\-error\\-pattern",
        "\\fBee\\-run\\fR(1)",
    ] {
        assert!(page.contains(v), "missing {v}");
    }
    // Both exit tables: 124 only exists in ee run's.
    assert!(page.contains("\\fB124\\fR") && page.contains("\\fB130\\fR"));
    // The apostrophe preamble once, at the top, not before every section.
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n.TH "),
        "{page}"
    );
    assert_eq!(page.matches(".ie \\n(.g").count(), 1, "{page}");
    assert_eq!(page.matches(".el .ds Aq").count(), 1, "{page}");
}

#[test]
fn man_subcommand_prints_one_page_or_fails_clearly() {
    let page = man(&["run"]);
    assert!(
        page.starts_with(".ie") && page.contains(".TH EE-RUN 1"),
        "{page}"
    );
    assert!(page.contains("\\fB124\\fR") && page.contains("ee run \\-\\-dry\\-run"));
    assert!(man(&["ee-route"]).contains(".TH EE-ROUTE 1"));
    let out = ee()
        .args(["man", "nope"])
        .assert()
        .code(3)
        .stdout("")
        .get_output()
        .clone();
    one_line_error(&out.stderr, "no man page for 'nope'");
    ee().args(["man", "run", "--install-dir", "/tmp/x"])
        .assert()
        .code(3);
    let dir = tempfile::tempdir().unwrap();
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "").unwrap();
    let out = ee()
        .args(["man", "--install-dir"])
        .arg(blocked.join("sub"))
        .assert()
        .code(3)
        .get_output()
        .clone();
    one_line_error(&out.stderr, "cannot create");
    // A parent that does not exist is refused, and nothing is created.
    let missing = dir.path().join("no/such/man1");
    let out = ee()
        .args(["man", "--install-dir"])
        .arg(&missing)
        .assert()
        .code(3)
        .stdout("")
        .get_output()
        .clone();
    one_line_error(&out.stderr, "is not an existing directory");
    assert!(!dir.path().join("no").exists());
    // A new directory inside an existing one is fine.
    let fresh = dir.path().join("man1");
    ee().args(["man", "--install-dir"])
        .arg(&fresh)
        .assert()
        .success();
    assert!(fresh.join("ee.1").is_file());
    ee().args(["man", "--install", "--install-dir"])
        .arg(&fresh)
        .assert()
        .code(3);
    ee().args(["man", "run", "--install"]).assert().code(3);
}

/// `ee man --install` with a private HOME; PATH as given.
fn install(home: &Path, path: &str, manpath: Option<&str>) -> std::process::Output {
    let mut c = ee();
    c.args(["man", "--install"])
        .env("HOME", home)
        .env_remove("XDG_DATA_HOME")
        .env("PATH", path);
    match manpath {
        Some(m) => c.env("MANPATH", m),
        None => c.env_remove("MANPATH"),
    };
    c.output().unwrap()
}

#[test]
fn install_goes_to_the_users_own_man_dir_and_checks_that_man_finds_it() {
    if !have("man") {
        return skip("man");
    }
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".local/share/man/man1");
    // ~/.local/bin on PATH: man finds ~/.local/share/man by itself (man-db, mandoc).
    let path = format!("{}/.local/bin:/usr/bin:/bin", home.path().display());
    let o = install(home.path(), &path, None);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains(&format!("wrote {}", dir.join("ee.1").display())),
        "{out}"
    );
    assert!(dir.join("ee-run.1").is_file());
    assert!(out.contains("'man ee' finds them"), "{out}\n{err}");
    assert_eq!(err, "");
    // What a user then types.
    let w = Std::new("man")
        .args(["-w", "ee-run"])
        .env("HOME", home.path())
        .env("PATH", &path)
        .env_remove("MANPATH")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&w.stdout).trim(),
        dir.join("ee-run.1").display().to_string()
    );
    // A MANPATH that leaves the directory out: ee says what to add.
    let elsewhere = home.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let o = install(home.path(), &path, Some(&elsewhere.display().to_string()));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("'man ee' will not find these pages")
            && err.contains("export MANPATH=\"$HOME/.local/share/man:$MANPATH\""),
        "{err}"
    );
    // Following the advice works.
    let w = Std::new("man")
        .args(["-w", "ee"])
        .env(
            "MANPATH",
            format!(
                "{}:{}",
                home.path().join(".local/share/man").display(),
                elsewhere.display()
            ),
        )
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&w.stdout).trim(),
        dir.join("ee.1").display().to_string()
    );
}

#[test]
fn install_without_man_says_where_the_pages_are() {
    let home = tempfile::tempdir().unwrap();
    let empty = home.path().join("bin");
    std::fs::create_dir(&empty).unwrap();
    let o = install(home.path(), &empty.display().to_string(), None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("'man' is not installed here") && err.contains(".local/share/man/man1"),
        "{err}"
    );
    assert!(home.path().join(".local/share/man/man1/ee.1").is_file());
}

fn one_line_error(stderr: &[u8], needle: &str) {
    let s = String::from_utf8_lossy(stderr);
    assert!(
        s.lines().count() == 1 && s.starts_with("ee: ") && s.contains(needle),
        "{s}"
    );
}

#[test]
fn man_on_a_terminal_pages_through_man_dash_l() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    common::write_exe(
        &bin.join("man"),
        &format!(
            "#!/bin/sh\necho \"$@\" > '{0}/args'\ncat > '{0}/page'\nexit 0\n",
            dir.path().display()
        ),
    );
    // stdout is a terminal (the common pty).
    let on_tty = |page: &str, path: String| {
        let mut c = Std::new(common::bin());
        c.args(["man", page])
            .env("PATH", path)
            .env("EARLYEXIT_NO_TELEMETRY", "1");
        let mut t = Pty::start(c, 24, 80);
        let st = t.wait_exit(pty::WAIT);
        (st, t.text())
    };
    let (st, out) = on_tty("run", format!("{}:/usr/bin:/bin", bin.display()));
    assert_eq!(st, Some(0), "{out}");
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    assert_eq!(args.trim(), "-l -");
    let page = std::fs::read_to_string(dir.path().join("page")).unwrap();
    assert!(page.contains(".TH EE-RUN 1"), "{page}");
    // Without man on PATH the roff is printed on the terminal.
    let (st, out) = on_tty("init", dir.path().display().to_string());
    assert_eq!(st, Some(0), "{out}");
    assert!(out.contains(".TH EE-INIT 1"), "{out}");
}
