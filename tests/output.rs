//! ee's own output on a closed stdout: every subcommand (enumerated from the clap definitions, so
//! a new one cannot be forgotten) and the grep face end quietly with exit status 141 when the
//! reader has gone, as a program killed by SIGPIPE would — no panic, no "Broken pipe" message.
//! Also: a full disk is one line on stderr and exit status 1.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use clap::CommandFactory;

mod common;

/// An isolated environment (tests/common), HOME in `home`.
struct Env(common::Isolated);

impl Env {
    fn new() -> Env {
        let env = common::Isolated::new().home("home");
        std::fs::create_dir(env.config()).unwrap();
        Env(env)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn ee(&self, args: &[&str]) -> Command {
        let mut c = self.0.ee();
        c.args(args)
            .env("MANPATH", self.path().join("home/.local/share/man"))
            // A team database that is down: status and preview print without reaching it.
            .env("EARLYEXIT_TEAM_DB", "postgres://ee@127.0.0.1:1/none")
            .stdin(Stdio::null());
        c
    }

    /// Run with an ordinary stdout; must succeed (the set-up of a case).
    fn ok(&self, args: &[&str]) {
        let o = self.ee(args).output().unwrap();
        assert!(
            o.status.success(),
            "set-up ee {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Run with stdout a pipe whose reader is already gone.
    fn closed(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let (r, w) = nix::unistd::pipe().unwrap();
        drop(r);
        let mut c = self.ee(args);
        c.stdout(Stdio::from(w)).stderr(Stdio::piped());
        if stdin.is_some() {
            c.stdin(Stdio::piped());
        }
        let mut child = c.spawn().unwrap();
        if let Some(input) = stdin {
            use std::io::Write;
            let mut i = child.stdin.take().unwrap();
            let _ = i.write_all(input);
        }
        child.wait_with_output().unwrap()
    }
}

/// Every subcommand path, leaves only ("telemetry export"), hidden ones included.
fn leaves() -> BTreeSet<String> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut BTreeSet<String>) {
        let subs: Vec<&clap::Command> = cmd
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        if subs.is_empty() {
            out.insert(prefix.trim().to_string());
        }
        for s in subs {
            walk(s, &format!("{prefix} {}", s.get_name()), out);
        }
    }
    let mut out = BTreeSet::new();
    let cmd = earlyexit::cli::Cli::command();
    for s in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        walk(s, s.get_name(), &mut out);
    }
    out
}

/// One way to make a subcommand write to stdout: (subcommand path, set-up runs, arguments).
type Case = (&'static str, Vec<Vec<String>>, Vec<String>);

fn cases(env: &Env) -> Vec<Case> {
    let doc = env.path().join("learned.json");
    let man_dir = env.path().join("man1");
    let d = |p: &PathBuf| p.display().to_string();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let run = vec![v(&["run", "--", "true"])];
    vec![
        ("run", vec![], v(&["run", "--", "echo", "hi"])),
        ("init", vec![], v(&["init", "bash"])),
        ("route add", vec![], v(&["route", "add", "pytest"])),
        (
            "route remove",
            vec![v(&["route", "add", "pytest"])],
            v(&["route", "remove", "pytest"]),
        ),
        (
            "route list",
            vec![v(&["route", "add", "pytest"])],
            v(&["route", "list"]),
        ),
        ("suggest", vec![], v(&["suggest", "--", "true"])),
        ("stats", run.clone(), v(&["stats"])),
        ("telemetry check", run.clone(), v(&["telemetry", "check"])),
        ("telemetry path", vec![], v(&["telemetry", "path"])),
        ("telemetry export", run.clone(), v(&["telemetry", "export"])),
        (
            "telemetry clear",
            run.clone(),
            v(&["telemetry", "clear", "--yes"]),
        ),
        (
            "telemetry prune",
            run.clone(),
            v(&["telemetry", "prune", "--keep", "10"]),
        ),
        (
            "telemetry export-learned",
            run.clone(),
            v(&["telemetry", "export-learned"]),
        ),
        (
            "telemetry import-learned",
            vec![v(&["run", "--", "true"]), {
                let mut a = v(&["telemetry", "export-learned", "-o"]);
                a.push(d(&doc));
                a
            }],
            {
                let mut a = v(&["telemetry", "import-learned", "--force"]);
                a.push(d(&doc));
                a
            },
        ),
        (
            "telemetry generate",
            vec![],
            v(&["telemetry", "generate", "3"]),
        ),
        ("feedback", run.clone(), v(&["feedback", "last", "--good"])),
        ("profile list", vec![], v(&["profile", "list"])),
        ("team status", vec![], v(&["team", "status"])),
        ("team preview", vec![], v(&["team", "preview"])),
        ("profile show", vec![], v(&["profile", "show", "pytest"])),
        ("completions", vec![], v(&["completions", "bash"])),
        ("man", vec![], {
            let mut a = v(&["man", "--install-dir"]);
            a.push(d(&man_dir));
            a
        }),
        (
            "__complete",
            vec![],
            v(&["__complete", "bash", "--line", "ee ro", "--point", "5"]),
        ),
    ]
}

/// Subcommands that write nothing on stdout, with the reason.
const SILENT: &[(&str, &str)] = &[(
    "telemetry checkpoint",
    "maintenance started in the background; prints nothing",
)];

/// Subcommands whose closed-stdout case needs a PostgreSQL server: tested in `tests/team.rs`
/// (`team_commands_end_quietly_with_141_on_a_closed_stdout`), which has one under CI.
const NEEDS_SERVER: &[&str] = &["team connect", "team disconnect", "team init", "team sync"];

fn assert_quiet_141(what: &str, o: &Output) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(141), "{what}: stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.to_lowercase().contains("broken pipe"),
        "{what}: {err}"
    );
}

#[test]
fn every_subcommand_ends_quietly_with_141_on_a_closed_stdout() {
    let env = Env::new();
    std::fs::create_dir(env.path().join("man1")).unwrap();
    let cases = cases(&env);
    let covered: BTreeSet<String> = cases
        .iter()
        .map(|c| c.0.to_string())
        .chain(SILENT.iter().map(|s| s.0.to_string()))
        .chain(NEEDS_SERVER.iter().map(|s| s.to_string()))
        .collect();
    let all = leaves();
    let missing: Vec<&String> = all.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "subcommands without a closed-stdout case in tests/output.rs: {missing:?}"
    );
    let unknown: Vec<&String> = covered.difference(&all).collect();
    assert!(unknown.is_empty(), "cases for no subcommand: {unknown:?}");
    for (name, setup, args) in &cases {
        for s in setup {
            env.ok(&s.iter().map(String::as_str).collect::<Vec<_>>());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // The case really writes to stdout: with an open pipe there is output.
        let o = env.ee(&args).output().unwrap();
        if *name == "route remove" || *name == "telemetry clear" {
            // Consumed by the check above; set it up again.
            for s in setup {
                env.ok(&s.iter().map(String::as_str).collect::<Vec<_>>());
            }
        } else {
            assert!(
                o.status.success() && !o.stdout.is_empty(),
                "ee {args:?} writes nothing to stdout: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let o = env.closed(&args, None);
        assert_quiet_141(&format!("ee {args:?}"), &o);
    }
    for (name, _) in SILENT {
        let args: Vec<&str> = name.split(' ').collect();
        let o = env.closed(&args, None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "ee {name}: {err}");
        assert!(!err.contains("panicked"), "ee {name}: {err}");
    }
}

#[test]
fn the_grep_face_help_and_version_end_quietly_with_141() {
    let env = Env::new();
    // (A line that decides the run by matching keeps the decision's status: the engine's rule.)
    let o = env.closed(&["nomatch", "--", "echo", "x"], None);
    assert_quiet_141("ee nomatch -- echo x", &o);
    let o = env.closed(&["man", "run"], None);
    assert_quiet_141("ee man run", &o);
    let o = env.closed(&["man", "--install"], None);
    assert_quiet_141("ee man --install", &o);
    let o = env.closed(&["--test-pattern", "x"], Some(b"a\nx\nb\n"));
    assert_quiet_141("ee --test-pattern x", &o);
    let o = env.closed(&["--test-pattern", "--json", "x"], Some(b"x\n"));
    assert_quiet_141("ee --test-pattern --json x", &o);
    let o = env.closed(&["nomatch"], Some(b"x\n"));
    assert_quiet_141("echo x | ee nomatch", &o);
    let o = env.closed(&["--json", "-q", "--", "true"], None);
    assert_quiet_141("ee --json -- true", &o);
    let o = env.closed(&["run", "--dry-run", "--", "true"], None);
    assert_quiet_141("ee run --dry-run", &o);
    let o = env.closed(&["suggest", "--json", "--", "true"], None);
    assert_quiet_141("ee suggest --json", &o);
    let o = env.closed(&["stats", "--json"], None);
    assert_quiet_141("ee stats --json", &o);
    for a in ["--help", "--version"] {
        let o = env.closed(&[a], None);
        assert_quiet_141(a, &o);
    }
    let o = env.closed(&["route", "--help"], None);
    assert_quiet_141("ee route --help", &o);
    // Help for a missing subcommand stays on stderr, stdout untouched.
    let o = env.ee(&["route"]).output().unwrap();
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("Usage:"));
}

#[test]
fn a_reader_that_leaves_midway_ends_a_large_export_with_141() {
    let env = Env::new();
    env.ok(&["telemetry", "generate", "3000"]);
    let mut child = env
        .ee(&["telemetry", "export"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_quiet_141("ee telemetry export | head -c 100", &o);
}

#[test]
fn a_full_disk_is_one_line_and_status_1() {
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIPPED: no /dev/full");
        return;
    }
    let env = Env::new();
    let to_full_disk = |args: &[&str]| {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = env.ee(args).stdout(Stdio::from(full)).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("ee: cannot write to standard output:"),
            "{err}"
        );
    };
    env.ok(&["route", "add", "pytest"]);
    to_full_disk(&["route", "list"]);
    // The bulk writer too: one line, not one per layer.
    env.ok(&["telemetry", "generate", "50"]);
    to_full_disk(&["telemetry", "export"]);
}

/// No `print!`/`println!` in ee's sources: they panic on a closed stdout. (After merging code
/// that adds some: `sed -i 's/\bprintln!(/outln!(/g; s/\bprint!(/out!(/g' FILE…`.)
#[test]
fn no_print_macros_in_the_sources() {
    fn walk(dir: &Path, bad: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, bad);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let code = line.trim_start();
                    if code.starts_with("//") {
                        continue;
                    }
                    let code = code.replace("eprintln!(", "").replace("eprint!(", "");
                    if code.contains("println!(") || code.contains("print!(") {
                        bad.push(format!("{}:{}: {}", p.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    let mut bad = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut bad);
    assert!(
        bad.is_empty(),
        "use out!/outln! (src/output.rs):\n{}",
        bad.join("\n")
    );
}

/// `ee run` ends with 141 only when output could not be delivered. A command that writes nothing
/// keeps its own status on a closed stdout, as it would bare (it never gets SIGPIPE): ee must
/// not invent a 141 from the closed pipe alone. One that writes does get 141, even when it had
/// already exited before ee found the pipe closed (the bare command would have had SIGPIPE).
#[test]
fn run_changes_the_status_on_a_closed_stdout_only_when_output_was_lost() {
    let env = Env::new();
    for code in ["0", "3"] {
        let o = env.closed(&["run", "--", "sh", "-c", &format!("exit {code}")], None);
        assert_eq!(
            o.status.code(),
            Some(code.parse().unwrap()),
            "silent command, exit {code}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    for _ in 0..5 {
        let o = env.closed(&["run", "--", "sh", "-c", "echo hi; exit 3"], None);
        assert_quiet_141("ee run -- echo; exit 3", &o);
    }
}
