//! Completion, black-box: the checked-in scripts are what `ee completions` prints (regenerate with
//! `EE_REGENERATE=1 cargo test --test completions`), they load cleanly in each shell, the engine
//! answers from a real learned database, and in real bash, zsh and fish (driven through a
//! pseudo-terminal, tests/common/pty.rs, with a screen model) with the hook loaded, TAB completes a learned pattern quoted so that running
//! the line passes it intact, while a stored malicious pattern executes nothing.

use std::path::PathBuf;
use std::process::Command as Std;
use std::time::{Duration, Instant};

use assert_cmd::Command;

mod common;
use common::pty::Pty;
use common::{repo, require};

/// A sandbox: an isolated environment (tests/common) with HOME in `home`, config dir `cfg`,
/// database `t.db`, a bin dir with fake commands on PATH, a known terminal and locale.
struct Sandbox {
    env: common::Isolated,
}

impl Sandbox {
    fn new() -> Sandbox {
        let env = common::Isolated::new()
            .home("home")
            .config_at("cfg")
            .db_at("t.db")
            .bin_dir("bin")
            .system_path("/usr/local/bin:/usr/bin:/bin");
        for d in ["cfg", "out"] {
            std::fs::create_dir_all(env.p(d)).unwrap();
        }
        Sandbox { env }
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.env.p(rel)
    }
    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.env.env();
        env.extend([
            ("ZDOTDIR".into(), self.p("home").display().to_string()),
            ("TERM".into(), "xterm".into()),
            ("LANG".into(), "C.UTF-8".into()),
        ]);
        env
    }
    fn ee(&self) -> Command {
        let mut c = Command::cargo_bin("ee").unwrap();
        c.env_clear().envs(self.env()).current_dir(self.p("home"));
        c
    }
    /// A fake command printing `line` and exiting 1.
    fn fake(&self, name: &str, line: &str) {
        common::write_exe(
            &self.p("bin").join(name),
            &format!("#!/bin/sh\necho 'collected 3 items'\necho '{line}'\nexit 1\n"),
        );
    }
    /// Teach the database `pattern` for `cmd` by running it through `ee run` a few times. The
    /// fake exits right after its line, inside ee's delay after a match, so every run is a
    /// failure judged by its exit status (a true positive); with `-A 0` ee's stop raced the
    /// exit, and a run it stopped first counted only as a use (the ranking then varied).
    fn learn(&self, cmd: &str, pattern: &str) {
        for _ in 0..4 {
            self.ee()
                .args(["run", "-e", pattern, "--", cmd])
                .assert()
                .code(1);
        }
    }
    /// A sandbox where ee learned, for the command `evil`, a pattern made of shell code that
    /// would create files in the returned directory if ever run (`tail` ends the last quoted
    /// piece); returns the sandbox, that directory and the pattern.
    fn with_evil_pattern(tail: &str) -> (Sandbox, PathBuf, String) {
        let s = Sandbox::new();
        let pwn = s.p("out");
        let evil = format!(
            "FAILED|$(touch {0}/p1)|`touch {0}/p2`|'; touch {0}/p3{tail}",
            pwn.display()
        );
        s.fake("evil", "FAILED here");
        s.learn("evil", &evil);
        (s, pwn, evil)
    }
    /// For a failed TAB: what the engine answers now for `line` with the cursor after `word`,
    /// and the state of the database files.
    fn why_no_candidates(&self, line: &str, word: &str) -> String {
        let point = line.find(word).unwrap() + word.len();
        let out = self
            .ee()
            .args(["__complete", "bash"])
            .arg(format!("--point={point}"))
            .arg(format!("--line={line}"))
            .arg(format!("--word={word}"))
            .output()
            .unwrap();
        let files: Vec<String> = std::fs::read_dir(self.env.path())
            .unwrap()
            .flatten()
            .filter_map(|e| Some(format!("{:?} {}", e.file_name(), e.metadata().ok()?.len())))
            .collect();
        format!(
            "the engine answers now: {:?} (stderr {:?}); files: {files:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
    fn complete(&self, shell: &str, line: &str) -> String {
        let point = line.find('^').unwrap();
        let text = line.replacen('^', "", 1);
        let out = self
            .ee()
            .args(["__complete", shell])
            .arg(format!("--point={point}"))
            .arg(format!("--line={text}"))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    }
}

#[test]
fn checked_in_scripts_are_current() {
    for (shell, file) in [("bash", "ee.bash"), ("zsh", "_ee"), ("fish", "ee.fish")] {
        let out = Command::cargo_bin("ee")
            .unwrap()
            .args(["completions", shell])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let path = repo().join("completions").join(file);
        if std::env::var_os("EE_REGENERATE").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &out).unwrap();
        }
        let have = std::fs::read(&path).unwrap_or_default();
        assert!(
            have == out,
            "completions/{file} is stale: run EE_REGENERATE=1 cargo test --test completions"
        );
    }
}

#[test]
fn bad_shell_is_a_usage_error() {
    let out = Command::cargo_bin("ee")
        .unwrap()
        .args(["completions", "tcsh"])
        .assert()
        .code(3)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("ee: ") && err.lines().count() == 1, "{err}");
}

/// Run `c`: it must succeed and say nothing on stderr. Returns its stdout.
fn quiet(c: &mut Std) -> String {
    let o = c.output().unwrap();
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "{c:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn static_scripts_load_without_errors() {
    let dir = repo().join("completions");
    if require("bash") {
        let f = dir.join("ee.bash");
        let o = Std::new("bash").arg("-n").arg(&f).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let out = quiet(
            Std::new("bash")
                .args(["--norc", "--noprofile", "-c"])
                .arg(format!(
                    "source '{}' && complete -p ee earlyexit",
                    f.display()
                )),
        );
        assert!(out.contains("-F _ee_complete ee"), "{out}");
    }
    if require("shellcheck") {
        let o = Std::new("shellcheck")
            .args(["-s", "bash"])
            .arg(dir.join("ee.bash"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    }
    if require("zsh") {
        let f = dir.join("_ee");
        let o = Std::new("zsh").arg("-n").arg(&f).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // `script` run by a zsh without start-up files.
        let home = tempfile::tempdir().unwrap();
        let zsh = |script: String| -> String {
            quiet(
                Std::new("zsh")
                    .args(["-f", "-c"])
                    .arg(script)
                    .env("HOME", home.path())
                    .env("ZDOTDIR", home.path()),
            )
            .trim()
            .to_string()
        };
        let comps = zsh(format!(
            "autoload -U compinit && compinit -u -D && source '{}' && print -r -- $_comps[ee] $_comps[earlyexit]",
            f.display()
        ));
        assert_eq!(comps, "_ee _ee");
        // Loaded before compinit (as `ee init zsh` may be): registered at the next prompt.
        let comps = zsh(format!(
            "source '{}' && autoload -U compinit && compinit -u -D && __ee_compdef && print -r -- $_comps[ee]",
            f.display()
        ));
        assert_eq!(comps, "_ee");
    }
    if require("fish") {
        let f = dir.join("ee.fish");
        quiet(Std::new("fish").arg("--no-execute").arg(&f));
        let home = tempfile::tempdir().unwrap();
        let out = quiet(
            Std::new("fish")
                .args(["--no-config", "-c"])
                .arg(format!("source '{}'; and complete -c ee", f.display()))
                .env("HOME", home.path()),
        );
        assert!(out.contains("__ee_complete"));
        // Formatted as fish_indent would (the script is real fish code, kept tidy).
        let o = Std::new("fish_indent")
            .arg("--check")
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "fish_indent would reformat completions/ee.fish"
        );
    }
}

#[test]
fn engine_offers_learned_patterns_for_the_command_on_the_line() {
    let s = Sandbox::new();
    s.fake("pytest", "FAILED tests/test_a.py::test_one - assert 1 == 2");
    s.learn("pytest", "FAILED|ERROR");
    // Best first, with a description for zsh and fish.
    for line in [
        "ee ^ -- pytest",
        "ee -e ^ -- pytest -x",
        "ee run -e ^ -- pytest",
    ] {
        let out = s.complete("zsh", line);
        let first = out.lines().nth(1).unwrap_or("");
        assert!(out.starts_with("values\n"), "{line}: {out}");
        // Where it stands for this project and command, with its counts (issue 10).
        assert!(
            first.starts_with("FAILED|ERROR\tshadow: ") && first.contains(" caught, 0 false"),
            "{line}: {out}"
        );
    }
    // -X offers the exclude patterns used before with the command, -s no error pattern.
    s.ee()
        .args(["run", "-A", "0", "-X", "^collected", "--", "pytest"])
        .assert()
        .code(1);
    let out = s.complete("fish", "ee --exclude ^ -- pytest");
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .starts_with("^collected\tused 1 times"),
        "{out}"
    );
    assert_eq!(s.complete("fish", "ee -s ^ -- pytest"), "values\n");
    // bash gets the word to insert, already quoted.
    let out = s.complete("bash", "ee -e ^ -- pytest");
    assert_eq!(out.lines().nth(1), Some(r"FAILED\|ERROR"), "{out}");
    // After an open quote the word replaces it, and stays open before the rest of the line.
    let out = s.complete("bash", "ee -e 'FA^ -- pytest");
    assert_eq!(out, "values\n'FAILED'\\|'ERROR\n");
    // Without history: the command's built-in profile.
    let fresh = Sandbox::new();
    let out = fresh.complete("zsh", "ee -e ^ -- cargo test");
    assert!(out.contains("\tprofile cargo-test"), "{out}");
    assert!(!out.contains("profile pytest"), "{out}");
}

#[test]
fn broken_database_still_completes_quickly_and_quietly() {
    let s = Sandbox::new();
    std::fs::write(
        s.p("t.db"),
        b"this is not a database, just some bytes".repeat(100),
    )
    .unwrap();
    let t0 = Instant::now();
    let out = s
        .ee()
        .args(["__complete", "zsh", "--point=6", "--line=ee -e  -- pytest"])
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("\tprofile pytest"), "{out}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    // Nothing was created or changed next to it.
    let db = std::fs::read(s.p("t.db")).unwrap();
    assert!(db.starts_with(b"this is not a database"));
}

#[test]
fn engine_names_subcommands_shells_routes_and_profiles() {
    let s = Sandbox::new();
    std::fs::write(
        s.p("cfg/routes"),
        "# routed\npytest\ncargo test  # tests\n\n",
    )
    .unwrap();
    std::fs::create_dir_all(s.p("cfg/profiles")).unwrap();
    std::fs::write(
        s.p("cfg/profiles/mytool.json"),
        r#"{"name":"mytool","commands":["mytool"],"patterns":["^BOOM"]}"#,
    )
    .unwrap();
    assert_eq!(s.complete("bash", "ee init ^"), "values\nbash\nzsh\nfish\n");
    assert_eq!(
        s.complete("bash", "ee route remove ^"),
        "values\npytest\ncargo\\ test\n"
    );
    assert!(s
        .complete("fish", "ee route remove ^")
        .contains("cargo test\trouted"));
    let out = s.complete("bash", "ee profile show ^");
    assert!(
        out.contains("\nmytool\n") && out.contains("\npytest\n"),
        "{out}"
    );
    let out = s.complete("bash", "ee r^");
    assert_eq!(out, "values\nrun\nroute\n");
    let out = s.complete("zsh", "ee run --no^");
    assert!(out.contains("--no-learn\tApply no learned"), "{out}");
    assert!(!s.complete("bash", "ee ^").contains("__complete"));
    // After `--` (or the grep face's second word) the shell completes the command itself.
    assert_eq!(s.complete("bash", "ee -e x -- pyt^"), "command 4 11\npyt\n");
    assert_eq!(
        s.complete("bash", "ee x pytest --c^"),
        "command 2 5\npytest --c\n"
    );
}

#[test]
fn malicious_stored_pattern_is_only_text() {
    let (s, pwn, evil) = Sandbox::with_evil_pattern("; '");
    let out = s.complete("bash", "ee -e F^ -- evil");
    let word = out.lines().nth(1).unwrap();
    // bash would insert this word: evaluating it gives back the pattern, and runs nothing.
    let o = Std::new("bash")
        .args(["--norc", "-c"])
        .arg(format!("printf '%s' {word}"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), evil);
    assert_eq!(std::fs::read_dir(&pwn).unwrap().count(), 0);
}

#[test]
fn bash_words_give_back_every_tricky_pattern_exactly() {
    let s = Sandbox::new();
    let pats = [
        "ERROR|FAILED",
        r"error\[E[0-9]+\]",
        "two words  and gaps",
        r"cost \$[0-9]+$",
        "`uname`",
        "it's \"quoted\"",
        "!! history",
        "~user *.py",
    ];
    std::fs::create_dir_all(s.p("cfg/profiles")).unwrap();
    let json = serde_json_like(&pats);
    std::fs::write(
        s.p("cfg/profiles/tricky.json"),
        format!(r#"{{"name":"tricky","commands":["tricky"],"patterns":{json}}}"#),
    )
    .unwrap();
    // Unquoted word, and after an opened single quote (the word replaces the quote and leaves it
    // open for the rest of the line, closed here).
    for (line, close) in [("ee -e ^ -- tricky", ""), ("ee -e '^ -- tricky", "'")] {
        let out = s.complete("bash", line);
        let words: Vec<String> = out
            .lines()
            .skip(1)
            .filter(|w| !w.is_empty())
            .map(|w| format!("{w}{close}"))
            .collect();
        assert_eq!(words.len(), pats.len(), "{out}");
        let o = Std::new("bash")
            .args(["--norc", "-c"])
            .arg(format!("printf '<%s>\\n' {}", words.join(" ")))
            .current_dir(s.p("home"))
            .output()
            .unwrap();
        let got: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.trim_start_matches('<').trim_end_matches('>').to_string())
            .collect();
        assert_eq!(got, pats, "{line}");
    }
}

/// A JSON array of strings (escaping `"` and `\\`).
fn serde_json_like(items: &[&str]) -> String {
    let q: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("[{}]", q.join(","))
}

// ---------------------------------------------------------------------------------------------
// Real shells in a pseudo-terminal (tests/common/pty.rs), 200x50, read from its screen

/// A shell on a terminal, with the sandbox's environment, in its home.
struct Term {
    p: Pty,
}

impl Term {
    fn start(s: &Sandbox, shell_cmd: &[&str]) -> Term {
        let mut c = Std::new(shell_cmd[0]);
        c.args(&shell_cmd[1..])
            .env_clear()
            .envs(s.env())
            .current_dir(s.p("home"));
        Term {
            p: Pty::start(c, 50, 200),
        }
    }
    fn keys(&mut self, keys: &[&str]) {
        self.p.press(keys);
    }
    fn text(&mut self, text: &str) {
        self.p.send(text);
    }
    fn screen(&self) -> String {
        self.p.screen()
    }
    /// Wait (generously: the hostile-corpus tests load the machine) until the screen satisfies `ok`.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.p.wait_screen(what, ok)
    }
    fn ready(&mut self, setup: &str) {
        self.text(setup);
        self.keys(&["Enter"]);
        self.text("printf 'REA%s\\n' DY");
        self.keys(&["Enter"]);
        self.wait("the shell to start", |s| {
            s.lines().any(|l| l.trim() == "READY")
        });
        self.keys(&["C-l"]);
        self.wait("a clear screen", |s| !s.contains("READY"));
    }
}

fn shell_session(s: &Sandbox, shell: &str) -> Term {
    let (cmd, setup): (&[&str], &str) = match shell {
        "bash" => (
            &["bash", "--norc", "--noprofile"],
            "eval \"$(ee init bash)\"; PS1='$ '",
        ),
        "zsh" => (
            &["zsh", "-f"],
            "autoload -U compinit && compinit -u -D; eval \"$(ee init zsh)\"; PS1='$ '; LISTMAX=1000000",
        ),
        _ => (
            &["fish", "--no-config"],
            "ee init fish | source; function fish_prompt; echo '$ '; end",
        ),
    };
    let mut t = Term::start(s, cmd);
    t.ready(setup);
    t
}

/// Type `ee -e F -- CMD`, put the cursor after `F`, press TAB, wait for the completed line, then
/// replace `ee` by `printf '<%s>\n'` and run the line: the pattern must come out as one argument.
fn tab_then_run(s: &Sandbox, t: &mut Term, cmd: &str, expect_arg: &str) -> String {
    let line = format!("ee -e F -- {cmd}");
    t.text(&line);
    for _ in 0..(4 + cmd.len()) {
        t.keys(&["Left"]);
    }
    t.keys(&["Tab"]);
    let before = t.p.wait_screen_or(
        "the completion",
        |s| {
            let l = s.lines().next().unwrap_or("");
            l.contains("FAILED") && l.len() > 20
        },
        || s.why_no_candidates(&line, "F"),
    );
    t.keys(&["C-a", "C-d", "C-d"]);
    t.text("printf '<%s>\\n'");
    t.keys(&["Enter"]);
    let want = format!("<{expect_arg}>");
    t.wait("the line's output", |s| s.lines().any(|l| l == want));
    before.lines().next().unwrap_or("").to_string()
}

fn learned_pattern_in(shell: &str) {
    if !require(shell) {
        return;
    }
    let s = Sandbox::new();
    s.fake("pytest", "FAILED tests/test_a.py::test_one - assert 1 == 2");
    s.learn("pytest", "FAILED|ERROR");
    let mut t = shell_session(&s, shell);
    let line = tab_then_run(&s, &mut t, "pytest", "FAILED|ERROR");
    let quoted = match shell {
        "bash" => r"FAILED\|ERROR",
        _ => "FAILED\\|ERROR",
    };
    let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        line.contains(&format!("ee -e {quoted} -- pytest")),
        "{line}"
    );
}

fn malicious_pattern_in(shell: &str) {
    if !require(shell) {
        return;
    }
    let (s, pwn, evil) = Sandbox::with_evil_pattern(" #");
    let mut t = shell_session(&s, shell);
    tab_then_run(&s, &mut t, "evil", &evil);
    std::thread::sleep(Duration::from_millis(300));
    let made: Vec<_> = std::fs::read_dir(&pwn).unwrap().collect();
    assert!(made.is_empty(), "the pattern executed something in {shell}");
}

#[test]
fn bash_tab_completes_learned_pattern() {
    learned_pattern_in("bash");
}

#[test]
fn zsh_tab_completes_learned_pattern() {
    learned_pattern_in("zsh");
}

#[test]
fn fish_tab_completes_learned_pattern() {
    learned_pattern_in("fish");
}

#[test]
fn bash_malicious_pattern_executes_nothing() {
    malicious_pattern_in("bash");
}

#[test]
fn zsh_malicious_pattern_executes_nothing() {
    malicious_pattern_in("zsh");
}

#[test]
fn fish_malicious_pattern_executes_nothing() {
    malicious_pattern_in("fish");
}

#[test]
fn shells_complete_subcommands_routes_and_the_command_after_dashes() {
    let s = Sandbox::new();
    std::fs::write(s.p("cfg/routes"), "zzroute-one\n").unwrap();
    s.fake("zzfakecmd", "x");
    for shell in ["bash", "zsh", "fish"] {
        if !require(shell) {
            continue;
        }
        let mut t = shell_session(&s, shell);
        t.text("ee route rem");
        t.keys(&["Tab"]);
        t.wait("route remove", |sc| {
            sc.lines().next().unwrap_or("").contains("ee route remove ")
        });
        t.keys(&["Tab"]);
        t.wait("the route name", |sc| {
            sc.lines()
                .next()
                .unwrap_or("")
                .contains("remove zzroute-one")
        });
        t.keys(&["C-u"]);
        t.text("ee -e x -- zzfake");
        t.keys(&["Tab"]);
        t.wait("the command after --", |sc| {
            sc.lines().next().unwrap_or("").contains("-- zzfakecmd")
        });
        drop(t);
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 11: hostile stored values, every cursor position and quoting, TAB pressed 1–3 times

/// Values that would run, expand or break something if inserted raw (`OUT` is a directory where
/// any of them would create a file).
fn hostile_corpus(out: &std::path::Path) -> Vec<String> {
    let o = out.display();
    vec![
        format!("$(touch {o}/p1)"),
        format!(r"\\x$(touch {o}/p2)"),
        format!("!!|!-1|$(touch {o}/p3)"),
        format!("`touch {o}/p4`"),
        format!("'; touch {o}/p5; '"),
        format!("\"; touch {o}/p6 #\""),
        format!("~root *.py x{{1,2}} #x & touch {o}/p7 ;"),
        format!("x=$(touch {o}/p8)\\\\"),
        "é|ß  [a-z]+ ^$".to_string(),
    ]
}

/// `v` typed so that `shell` reads it back exactly: in single quotes, or backslash-escaped.
fn typed(shell: &str, v: &str, single: bool) -> String {
    if single {
        return match shell {
            "fish" => format!("'{}'", v.replace('\\', r"\\").replace('\'', r"\'")),
            _ => format!("'{}'", v.replace('\'', r"'\''")),
        };
    }
    let mut s = String::new();
    for c in v.chars() {
        let esc = match shell {
            "fish" => "\\*?~#(){}[]<>^&|;\"'$ ".contains(c),
            _ => c.is_ascii() && !c.is_ascii_alphanumeric(),
        };
        if esc {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// Put `line` on the prompt with the cursor `left` characters from its end, press TAB `tabs`
/// times, then run the line with `ee` replaced by printf: the word after `-e` must be `want`. (zsh
/// and fish move on to the next word after a unique match, so a later TAB may add words.)
fn tab_and_check(
    t: &mut Term,
    n: usize,
    line: &str,
    left: usize,
    tabs: usize,
    want: &str,
    why: &str,
) {
    t.keys(&["C-l"]);
    t.text(line);
    for _ in 0..left {
        t.keys(&["Left"]);
    }
    for _ in 0..tabs {
        t.keys(&["Tab"]);
    }
    // Let the last completion finish before editing the line.
    std::thread::sleep(Duration::from_millis(150));
    t.keys(&["C-a", "C-d", "C-d"]);
    let id = format!("ID{n}x");
    t.text(&format!("printf '<%s>\\n' {id}"));
    t.keys(&["Enter"]);
    let mark = format!("<{id}>");
    let sc = t.wait(&format!("the line of {why}"), |s| {
        let l: Vec<&str> = s.lines().collect();
        l.iter()
            .position(|x| *x == mark)
            .is_some_and(|i| l.len() > i + 2 && !l[i + 2].is_empty())
    });
    let l: Vec<&str> = sc.lines().collect();
    let i = l.iter().position(|x| *x == mark).unwrap();
    assert_eq!(l[i + 1], "<-e>", "{why}\n{sc}");
    assert_eq!(l[i + 2], format!("<{want}>"), "{why}\n{sc}");
}

fn hostile_values_in(shell: &str) {
    if !require(shell) {
        return;
    }
    let s = Sandbox::new();
    let out = s.p("out");
    s.fake("hostile", "x");
    std::fs::create_dir_all(s.p("cfg/profiles")).unwrap();
    let mut t = shell_session(&s, shell);
    let mut n = 0;
    for v in hostile_corpus(&out) {
        // The only candidate for `hostile` (and, without a command, the only one with its prefix).
        std::fs::write(
            s.p("cfg/profiles/hostile.json"),
            format!(
                r#"{{"name":"hostile","commands":["hostile"],"patterns":{}}}"#,
                serde_json_like(&[v.as_str()])
            ),
        )
        .unwrap();
        let first: String = v.chars().take(1).collect();
        let head: String = v.chars().take(v.chars().count() - 1).collect();
        let quoted = typed(shell, &v, true);
        let mid: Vec<(String, usize, &str)> = vec![
            ("ee -e  -- hostile".into(), 11, "an empty word"),
            (
                format!("ee -e {} -- hostile", typed(shell, &first, false)),
                11,
                "a typed first character",
            ),
            (
                "ee -e '' -- hostile".into(),
                12,
                "an empty single-quoted word",
            ),
            (
                "ee -e \"\" -- hostile".into(),
                12,
                "an empty double-quoted word",
            ),
            (
                format!("ee -e {quoted} -- hostile"),
                11,
                "the whole value, quoted",
            ),
        ];
        for (line, left, what) in &mid {
            for tabs in 1..=3 {
                n += 1;
                let why = format!("{shell}: {what}, {tabs} TAB, value {v:?}, line {line:?}");
                tab_and_check(&mut t, n, line, *left, tabs, &v, &why);
            }
        }
        if shell == "bash" && first == "$" {
            // The issue's own case: a lone `$` typed before TAB.
            n += 1;
            tab_and_check(&mut t, n, "ee -e $ -- hostile", 11, 2, &v, "bash: a lone $");
        }
        // At the end of the line (no command: only this value has the prefix).
        let open = typed(shell, &head, true);
        let open = &open[..open.len() - 1];
        for (line, what) in [
            (
                format!("ee -e {}", typed(shell, &head, false)),
                "end of line, escaped prefix",
            ),
            (format!("ee -e {open}"), "end of line, open quote"),
        ] {
            n += 1;
            let why = format!("{shell}: {what}, value {v:?}, line {line:?}");
            tab_and_check(&mut t, n, &line, 0, 1, &v, &why);
        }
        let made: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
        assert!(
            made.is_empty(),
            "{shell}: {v:?} executed something: {made:?}"
        );
    }
}

#[test]
fn bash_hostile_values_stay_text_wherever_tab_is_pressed() {
    hostile_values_in("bash");
}

#[test]
fn zsh_hostile_values_stay_text_wherever_tab_is_pressed() {
    hostile_values_in("zsh");
}

#[test]
fn fish_hostile_values_stay_text_wherever_tab_is_pressed() {
    hostile_values_in("fish");
}

// ---------------------------------------------------------------------------------------------
// Issue 12: the right kind of pattern for the option, and best first in every shell

/// A fake command printing `line` and exiting 0.
fn fake_ok(s: &Sandbox, name: &str, line: &str) {
    let path = s.p("bin").join(name);
    std::fs::write(&path, format!("#!/bin/sh\necho '{line}'\nexit 0\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn success_option_offers_success_patterns_of_the_command_on_the_line() {
    let s = Sandbox::new();
    // A Python project where pytest's error pattern was learned.
    std::fs::write(s.p("home/pyproject.toml"), "[project]\nname = 'x'\n").unwrap();
    s.fake("pytest", "FAILED tests/test_a.py::test_one - assert 1 == 2");
    s.learn("pytest", "FAILED|ERROR");
    // Success patterns given before with okcmd: the one that ended runs comes first.
    fake_ok(&s, "okcmd", "all good");
    for (pat, n) in [("never printed", 3), ("all good", 1)] {
        for _ in 0..n {
            s.ee()
                .args(["run", "-s", pat, "--", "okcmd"])
                .assert()
                .code(0);
        }
    }
    let out = s.complete("zsh", "ee run -s ^ -- okcmd");
    let firsts: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(firsts, ["all good", "never printed"], "{out}");
    // Never error patterns for -s, and none learned for another command.
    for line in [
        "ee run -s ^ -- cargo test",
        "ee -s ^ -- pytest",
        "ee --success-pattern=^ -- okcmd x",
    ] {
        let out = s.complete("zsh", line);
        assert!(!out.contains("FAILED"), "{line}: {out}");
    }
    // -e for cargo test in this Python project: cargo's profile, not pytest's learned pattern.
    let out = s.complete("zsh", "ee -e ^ -- cargo test");
    assert!(out.contains("profile cargo-test"), "{out}");
    assert!(!out.contains("FAILED|ERROR"), "{out}");
    // ... while pytest itself still gets its learned one.
    let out = s.complete("zsh", "ee -e ^ -- pytest");
    assert!(
        out.lines().nth(1).unwrap().starts_with("FAILED|ERROR\t"),
        "{out}"
    );
}

/// Candidates come in ee's order (best first), not sorted by the shell; in bash the first TAB
/// with several candidates inserts nothing (no lone `'`).
#[test]
fn shells_list_candidates_best_first() {
    let s = Sandbox::new();
    s.fake("ordered", "x");
    std::fs::create_dir_all(s.p("cfg/profiles")).unwrap();
    std::fs::write(
        s.p("cfg/profiles/ordered.json"),
        r#"{"name":"ordered","commands":["ordered"],"patterns":["zz best|one","mm second","aa third"]}"#,
    )
    .unwrap();
    for shell in ["bash", "zsh", "fish"] {
        if !require(shell) {
            continue;
        }
        let mut t = shell_session(&s, shell);
        t.text("ee -e  -- ordered");
        for _ in 0..11 {
            t.keys(&["Left"]);
        }
        t.keys(&["Tab"]);
        std::thread::sleep(Duration::from_millis(300));
        if shell == "bash" {
            // The first TAB inserted nothing (the candidates share no prefix).
            let sc = t.screen();
            assert!(
                sc.lines().next().unwrap().contains("ee -e  -- ordered"),
                "{sc}"
            );
        }
        t.keys(&["Tab"]);
        let sc = t.wait("the list", |sc| {
            sc.contains("third") && sc.contains("second")
        });
        let at = |w: &str| sc.find(w).unwrap();
        assert!(
            at("best") < at("second") && at("second") < at("third"),
            "{shell} sorted the candidates:\n{sc}"
        );
        drop(t);
    }
}
