//! Helpers shared by the integration tests. Each `tests/*.rs` file is its own crate and takes
//! them with `mod common;`: the built binary and stateless `ee` commands, the repository, tools
//! that may be missing (a loud skip locally, a failure under CI), fixture copies (and the
//! cargo fixture's build), the one isolated environment for ee and the programs it runs
//! ([`Isolated`]: HOME, XDG dirs, config dir, database, PATH), a private state directory for a
//! command of the test's own ([`record_in`]), rows of a database as tuples or text
//! ([`sql_row`], [`sql_rows`], [`sql_text_rows`]), and the one pseudo-terminal driver ([`pty`]).

// Every test crate uses a different subset.
#![allow(dead_code)]

pub mod pty;

use std::path::{Path, PathBuf};
use std::process::Command;

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
pub fn ee_std() -> Command {
    let mut c = Command::new(bin());
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

/// The database of a state directory set up by [`record_in`].
pub fn db_in(dir: &Path) -> PathBuf {
    dir.join("telemetry.db")
}

/// Make `c` keep all of ee's state in `dir` and record there, as a user's ee would at home:
/// the database [`db_in`]`(dir)`, the config dir `dir/config`, telemetry on, and the user's own
/// `EARLYEXIT_OPTIONS` ignored. (The tests run in parallel: nothing is shared between them.)
pub fn record_in<'a>(c: &'a mut Command, dir: &Path) -> &'a mut Command {
    c.env("EARLYEXIT_DB", db_in(dir))
        .env("EARLYEXIT_CONFIG_DIR", dir.join("config"))
        .env_remove("EARLYEXIT_NO_TELEMETRY")
        .env_remove("EARLYEXIT_OPTIONS")
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

/// A private environment for ee and the programs it runs, all inside one temporary directory:
/// HOME, the XDG base directories, ee's config dir and database, and a PATH with the built
/// binary's directory first. Each test file chooses where in the directory each location
/// lives (the builder methods take paths relative to it); nothing of the user's own ee
/// settings (`EARLYEXIT_OPTIONS`, retention, lock wait, ...) leaks in.
pub struct Isolated {
    pub dir: tempfile::TempDir,
    home: PathBuf,
    db: PathBuf,
    config: PathBuf,
    xdg_config: PathBuf,
    xdg_data: PathBuf,
    xdg_state: PathBuf,
    bin: Option<PathBuf>,
    system_path: Option<String>,
    telemetry: bool,
}

/// The user's settings that would change what ee does in a test; never passed on.
const USER_SETTINGS: &[&str] = &[
    "EARLYEXIT_OPTIONS",
    "EARLYEXIT_NO_TELEMETRY",
    "EARLYEXIT_TELEMETRY_KEEP",
    "EARLYEXIT_TELEMETRY_KEEP_DAYS",
    "EARLYEXIT_DB_TIMEOUT",
];

impl Default for Isolated {
    fn default() -> Self {
        Self::new()
    }
}

impl Isolated {
    /// HOME is the directory itself, the XDG directories are `.config`, `.local/share` and
    /// `.local/state` in HOME, the config dir is `config`, the database [`db_in`]; telemetry on.
    pub fn new() -> Isolated {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        Isolated {
            home: root.clone(),
            db: db_in(&root),
            config: root.join("config"),
            xdg_config: root.join(".config"),
            xdg_data: root.join(".local/share"),
            xdg_state: root.join(".local/state"),
            bin: None,
            system_path: None,
            telemetry: true,
            dir,
        }
    }

    /// HOME at `rel` (created); the XDG directories follow it unless set by [`Isolated::xdg`].
    pub fn home(mut self, rel: &str) -> Isolated {
        self.home = self.p(rel);
        std::fs::create_dir_all(&self.home).unwrap();
        self.xdg_config = self.home.join(".config");
        self.xdg_data = self.home.join(".local/share");
        self.xdg_state = self.home.join(".local/state");
        self
    }

    /// XDG_CONFIG_HOME, XDG_DATA_HOME and XDG_STATE_HOME at these relative paths.
    pub fn xdg(mut self, config: &str, data: &str, state: &str) -> Isolated {
        self.xdg_config = self.p(config);
        self.xdg_data = self.p(data);
        self.xdg_state = self.p(state);
        self
    }

    /// The database (`EARLYEXIT_DB`) at `rel`.
    pub fn db_at(mut self, rel: &str) -> Isolated {
        self.db = self.p(rel);
        self
    }

    /// The config dir (`EARLYEXIT_CONFIG_DIR`) at `rel`.
    pub fn config_at(mut self, rel: &str) -> Isolated {
        self.config = self.p(rel);
        self
    }

    /// A directory `rel` (created) on PATH right after the built binary's, for fake programs.
    pub fn bin_dir(mut self, rel: &str) -> Isolated {
        let bin = self.p(rel);
        std::fs::create_dir_all(&bin).unwrap();
        self.bin = Some(bin);
        self
    }

    /// The rest of PATH: `path` instead of the test process's own PATH.
    pub fn system_path(mut self, path: &str) -> Isolated {
        self.system_path = Some(path.into());
        self
    }

    /// Nothing recorded (`EARLYEXIT_NO_TELEMETRY=1`).
    pub fn no_telemetry(mut self) -> Isolated {
        self.telemetry = false;
        self
    }

    /// The temporary directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` inside the temporary directory.
    pub fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn db(&self) -> PathBuf {
        self.db.clone()
    }

    pub fn config(&self) -> PathBuf {
        self.config.clone()
    }

    pub fn xdg_data(&self) -> PathBuf {
        self.xdg_data.clone()
    }

    /// The directory of fake programs set by [`Isolated::bin_dir`].
    pub fn fake_bin(&self) -> PathBuf {
        self.bin.clone().expect("no bin_dir() in this environment")
    }

    /// PATH: the built binary's directory, the fake programs' directory, then the system's.
    pub fn path_var(&self) -> String {
        let system = self
            .system_path
            .clone()
            .or_else(|| std::env::var("PATH").ok())
            .unwrap_or_else(|| "/usr/bin:/bin".into());
        let mut dirs = vec![bin().parent().unwrap().display().to_string()];
        dirs.extend(self.bin.iter().map(|b| b.display().to_string()));
        dirs.push(system);
        dirs.join(":")
    }

    /// The environment's variables, for a process started with an empty environment (add TERM,
    /// LANG and the like as the test needs them).
    pub fn env(&self) -> Vec<(String, String)> {
        let s = |p: &Path| p.display().to_string();
        let mut env = vec![
            ("PATH".to_string(), self.path_var()),
            ("HOME".into(), s(&self.home)),
            ("XDG_CONFIG_HOME".into(), s(&self.xdg_config)),
            ("XDG_DATA_HOME".into(), s(&self.xdg_data)),
            ("XDG_STATE_HOME".into(), s(&self.xdg_state)),
            ("EARLYEXIT_CONFIG_DIR".into(), s(&self.config)),
            ("EARLYEXIT_DB".into(), s(&self.db)),
        ];
        if !self.telemetry {
            env.push(("EARLYEXIT_NO_TELEMETRY".into(), "1".into()));
        }
        env
    }

    /// Put `c` in this environment, on top of the test process's own (the user's ee settings
    /// removed), in the temporary directory.
    pub fn apply<'a>(&self, c: &'a mut Command) -> &'a mut Command {
        for k in USER_SETTINGS {
            c.env_remove(k);
        }
        c.envs(self.env()).current_dir(self.path())
    }

    /// The built `ee` in this environment (see [`Isolated::apply`]).
    pub fn ee(&self) -> Command {
        let mut c = Command::new(bin());
        self.apply(&mut c);
        c
    }

    /// The same as an `assert_cmd::Command`.
    pub fn ee_assert(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.ee())
    }
}

/// The one row `sql` returns from the database at `db`, as a tuple of its columns.
pub fn sql_row<T>(db: &Path, sql: &str) -> T
where
    T: for<'a> TryFrom<&'a rusqlite::Row<'a>, Error = rusqlite::Error>,
{
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| T::try_from(r))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every row `sql` returns from the database at `db`, each a tuple of its columns.
pub fn sql_rows<T>(db: &Path, sql: &str) -> Vec<T>
where
    T: for<'a> TryFrom<&'a rusqlite::Row<'a>, Error = rusqlite::Error>,
{
    let c = rusqlite::Connection::open(db).unwrap();
    let mut st = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = st
        .query_map([], |r| T::try_from(r))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows
}

/// Every row `sql` returns on `c`, as text: each column's value (`Debug`), joined by `|` (for
/// comparing whole rows whatever their columns).
pub fn sql_text_rows(c: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut st = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = st.column_count();
    let rows = st
        .query_map([], |r| {
            (0..n)
                .map(|i| Ok(format!("{:?}", r.get::<_, rusqlite::types::Value>(i)?)))
                .collect::<Result<Vec<_>, _>>()
                .map(|v| v.join("|"))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows
}

/// Build the crate of [`fixture`]`("cargo-suite")`, copied into `dir`, once (no dependencies:
/// a second or two), outside the timed runs; returns its target directory.
pub fn build_cargo_fixture(dir: &Path) -> PathBuf {
    let target = dir.join("target");
    let st = Command::new("cargo")
        .args(["test", "--no-run", "--offline", "-q"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(dir.join("proj"))
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "fixture crate does not build");
    target
}
