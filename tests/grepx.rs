//! Black-box tests of what grep users and Python earlyexit users expect (issue 15): `-P`, `-n`,
//! `-C`, match highlighting, `--profile`, the JSON export, and the clap_complete shells.

use std::time::{Duration, Instant};

use assert_cmd::Command;

mod common;
use common::pty::{self, Pty};

/// ee without the user's colour settings either.
fn ee() -> Command {
    let mut c = common::ee();
    c.env_remove("EARLYEXIT_COLORS").env_remove("NO_COLOR");
    c
}

fn out(c: &mut Command) -> (i32, String, String) {
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn pipe(args: &[&str], input: &str) -> (i32, String, String) {
    out(ee().args(args).write_stdin(input.to_string()))
}

const LOG: &str = "INFO start\nERROR retry later\nINFO the the cat\nERROR disk full\nINFO end\n";

#[test]
fn pcre_look_around_and_backreferences_in_the_pipe_face() {
    // Negative look-ahead: the retried error is not the one that counts.
    let (code, stdout, stderr) = pipe(&["-P", "--json", "ERROR(?! retry)"], LOG);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["matches"][0]["line_no"], 4, "{v}");
    assert_eq!(v["matches"][0]["matched"], "ERROR", "{v}");
    // The passed-through bytes are the input's up to the deciding line, unchanged.
    assert_eq!(stderr, LOG.strip_suffix("INFO end\n").unwrap());
    // A backreference, and look-behind.
    assert_eq!(pipe(&["-P", r"\b(\w+) \1\b"], LOG).0, 0);
    assert_eq!(pipe(&["-P", r"(?<=INFO )end"], LOG).0, 0);
    assert_eq!(pipe(&["-P", r"(?<=ERROR )end"], LOG).0, 1);
    // -i, -w, -x, -e, -s and -X apply to -P patterns too.
    assert_eq!(pipe(&["-P", "-i", "error(?= disk)"], LOG).0, 0);
    assert_eq!(pipe(&["-P", "-w", "ERR(?=OR)"], LOG).0, 1);
    assert_eq!(pipe(&["-P", "-x", "INFO (?=end).*"], LOG).0, 0);
    assert_eq!(pipe(&["-P", "-X", "disk", "ERROR(?! retry)"], LOG).0, 1);
    assert_eq!(pipe(&["-P", "-e", r"(\w+) \1", "-s", "end$"], LOG).0, 1);
    // Without -P, the regex crate refuses and says where to go.
    let (code, _, stderr) = pipe(&[r"\b(\w+) \1\b"], LOG);
    assert_eq!(code, 3);
    assert!(stderr.contains("-P/--pcre"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // A broken -P pattern: one line, exit 3.
    let (code, _, stderr) = pipe(&["-P", "a(?<"], LOG);
    assert_eq!(code, 3);
    assert!(
        stderr.starts_with("ee: invalid pattern 'a(?<' (-P): "),
        "{stderr}"
    );
    assert!(!stderr.contains("LIMIT_MATCH"), "{stderr}");
}

#[test]
fn pcre_in_command_mode_and_ee_run() {
    let script = "echo 'ERROR retry later'; echo 'ERROR disk full'; sleep 30";
    let t = Instant::now();
    let (code, stdout, _) =
        out(ee().args(["-P", "-A", "0", "ERROR(?! retry)", "--", "sh", "-c", script]));
    assert_eq!(code, 0);
    assert_eq!(stdout, "ERROR retry later\nERROR disk full\n");
    assert!(t.elapsed() < Duration::from_secs(20));
    let (code, _, stderr) = out(ee().args([
        "run",
        "--no-learn",
        "-P",
        "-A",
        "0",
        "-e",
        "ERROR(?! retry)",
        "sh",
        "-c",
        script,
    ]));
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn pcre_backtracking_limit_is_a_clear_error() {
    let evil = format!("{}!\n", "a".repeat(60));
    let (code, _, stderr) = pipe(&["-P", "(a+)+$"], &evil);
    assert_eq!(code, 3);
    assert!(stderr.contains("backtracking limit"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // In command mode the child is stopped at once, not left running to its end.
    let t = Instant::now();
    let script = format!("printf '{}'; sleep 30", evil.replace('\n', "\\n"));
    let (code, _, stderr) = out(ee().args(["-P", "(a+)+$", "--", "sh", "-c", &script]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("backtracking limit"), "{stderr}");
    assert!(t.elapsed() < Duration::from_secs(20));
    let (code, _, _) = out(ee().args([
        "run",
        "--no-learn",
        "-P",
        "-e",
        "(a+)+$",
        "sh",
        "-c",
        &script,
    ]));
    assert_eq!(code, 125);
    // --test-pattern says so too.
    let (code, _, stderr) = pipe(&["-P", "--test-pattern", "(a+)+$"], &evil);
    assert_eq!(code, 3);
    assert!(stderr.contains("backtracking limit"), "{stderr}");
    // The limit is per line, not per buffer: many lines that each backtrack a little are fine.
    let many = format!("{}!\n", "a".repeat(14)).repeat(3000);
    assert_eq!(pipe(&["-P", "(a+)+$"], &many).0, 1);
    // The default engine has no such limit: linear time, the same pattern is fine.
    assert_eq!(pipe(&["(a+)+$"], &evil).0, 1);
}

#[test]
fn line_numbers_in_both_faces() {
    let (code, stdout, _) = pipe(&["-n", "disk"], LOG);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "1:INFO start\n2:ERROR retry later\n3:INFO the the cat\n4:ERROR disk full\n"
    );
    // Per stream in command mode, after the --fd-prefix label.
    let script = "echo a; echo b; echo e1 >&2; echo FAIL >&2; echo c";
    let (code, stdout, stderr) = out(ee().args(["-n", "nothing", "--", "sh", "-c", script]));
    assert_eq!(code, 1);
    assert_eq!(stdout, "1:a\n2:b\n3:c\n");
    assert_eq!(stderr, "1:e1\n2:FAIL\n");
    let (_, stdout, _) =
        out(ee().args(["-n", "--fd-prefix", "x", "--", "sh", "-c", "echo a; echo b"]));
    assert_eq!(stdout, "[stdout] 1:a\n[stdout] 2:b\n");
    // ee run too; without -n nothing changes.
    let (code, stdout, _) =
        out(ee().args(["run", "--no-learn", "-n", "sh", "-c", "echo a; echo b"]));
    assert_eq!(code, 0);
    assert_eq!(stdout, "1:a\n2:b\n");
    assert_eq!(
        pipe(&["disk"], LOG).1,
        LOG.strip_suffix("INFO end\n").unwrap()
    );
}

#[test]
fn context_is_before_and_after_lines() {
    let input = "1\n2\n3\n4\nERR\n5\n6\n7\n8\n";
    // -C 2 in a pipe: two lines of context in the report, and two lines after passed through.
    let (code, stdout, stderr) = pipe(&["-C", "2", "--json", "ERR"], input);
    assert_eq!(code, 0);
    assert_eq!(stderr, "1\n2\n3\n4\nERR\n5\n6\n");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["matches"][0]["context"], serde_json::json!(["3", "4"]));
    // --context is the long name; -C 0 stops at the match.
    assert_eq!(
        pipe(&["--context", "1", "ERR"], input).1,
        "1\n2\n3\n4\nERR\n5\n"
    );
    assert_eq!(pipe(&["-C", "0", "ERR"], input).1, "1\n2\n3\n4\nERR\n");
    // grep's long names: --before-context is -B, --after-context is --delay-exit-after-lines.
    let (_, stdout, _) = pipe(&["--before-context", "1", "--json", "ERR"], input);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["matches"][0]["context"], serde_json::json!(["4"]));
    let (_, stdout, _) = pipe(&["-A", "5", "--after-context", "3", "ERR"], input);
    assert_eq!(stdout, "1\n2\n3\n4\nERR\n5\n6\n7\n");
    // Command mode: the child is stopped once the lines after have come, not after -A's 10 s.
    let t = Instant::now();
    let script = "echo 1; echo ERR; echo 2; echo 3; sleep 30; echo late";
    let (code, stdout, _) = out(ee().args(["-C", "2", "ERR", "--", "sh", "-c", script]));
    assert_eq!(code, 0);
    assert_eq!(stdout, "1\nERR\n2\n3\n");
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    let (code, _, _) = out(ee().args([
        "run",
        "--no-learn",
        "-C",
        "1",
        "-e",
        "ERR",
        "sh",
        "-c",
        script,
    ]));
    assert_eq!(code, 1);
}

/// Run `ee ARGS` with a terminal as its stdin, stdout and stderr (the common pty), returning
/// what the terminal received.
fn on_tty(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = std::process::Command::new(common::bin());
    c.args(args)
        .env("EARLYEXIT_NO_TELEMETRY", "1")
        .env_remove("EARLYEXIT_OPTIONS")
        .env_remove("EARLYEXIT_COLORS")
        .env_remove("NO_COLOR");
    for (k, v) in env {
        c.env(k, v);
    }
    let mut t = Pty::start(c, 24, 80);
    t.wait_exit(pty::WAIT);
    String::from_utf8_lossy(&t.raw()).replace("\r\n", "\n")
}

const RED: &str = "\x1b[01;31m\x1b[K";
const END: &str = "\x1b[m\x1b[K";

#[test]
fn matches_are_highlighted_on_a_terminal_only() {
    let script = "echo 'an ERROR here, ERROR there'; echo fine";
    let args = ["-m", "9", "ERROR", "--", "sh", "-c", script];
    let screen = on_tty(&args, &[]);
    assert_eq!(
        screen,
        format!("an {RED}ERROR{END} here, {RED}ERROR{END} there\nfine\n")
    );
    // NO_COLOR, --color never: the bare bytes.
    let plain = "an ERROR here, ERROR there\nfine\n";
    assert_eq!(on_tty(&args, &[("NO_COLOR", "1")]), plain);
    let mut never = vec!["--color", "never"];
    never.extend(args);
    assert_eq!(on_tty(&never, &[]), plain);
    // EARLYEXIT_COLORS picks the style (GREP_COLORS' mt= or bare SGR parameters).
    let green = on_tty(&args, &[("EARLYEXIT_COLORS", "mt=01;32")]);
    assert!(green.contains("\x1b[01;32m\x1b[KERROR"), "{green:?}");
    let bad = on_tty(&args, &[("EARLYEXIT_COLORS", "red")]);
    assert!(bad.contains("EARLYEXIT_COLORS='red' ignored"), "{bad:?}");
    assert!(bad.contains(RED), "{bad:?}");
    // -v highlights nothing; an excluded line is not highlighted.
    let inv = on_tty(&["-v", "-m", "9", "nothing", "--", "sh", "-c", script], &[]);
    assert!(!inv.contains('\x1b'), "{inv:?}");
    let exc = on_tty(
        &["-X", "there", "-m", "9", "ERROR", "--", "sh", "-c", script],
        &[],
    );
    assert!(!exc.contains('\x1b'), "{exc:?}");
    // ee run keeps a routed command's terminal output as bare unless --color always.
    for (color, red) in [(None, false), (Some("always"), true)] {
        let mut args = vec!["run", "--no-learn"];
        if let Some(when) = color {
            args.extend(["--color", when]);
        }
        args.extend(["-e", "ERROR", "-A", "0", "sh", "-c", script]);
        let run = on_tty(&args, &[]);
        assert_eq!(run.contains(RED), red, "--color {color:?}: {run:?}");
    }
}

#[test]
fn highlighting_never_changes_bytes_to_a_pipe_unless_always() {
    let (_, stdout, _) = pipe(&["-m", "9", "ERROR"], LOG);
    assert_eq!(stdout, LOG);
    let (_, stdout, _) = pipe(&["--color", "always", "-P", "-m", "9", "(?<=the )cat"], LOG);
    assert!(
        stdout.contains(&format!("INFO the the {RED}cat{END}\n")),
        "{stdout:?}"
    );
    assert!(stdout.contains("ERROR disk full\n"), "{stdout:?}");
    let (_, stdout, _) = out(ee()
        .args(["--color", "always", "-m", "9", "x"])
        .env("NO_COLOR", "1")
        .write_stdin("x\n"));
    assert_eq!(stdout, format!("{RED}x{END}\n"));
    // The input's own colour sequences are never cut by a highlight.
    let (_, stdout, _) = pipe(
        &["--color", "always", "-m", "9", r"\d+"],
        "\x1b[31mred 42\x1b[0m\n",
    );
    assert_eq!(stdout, format!("\x1b[31mred {RED}42{END}\x1b[0m\n"));
}

#[test]
fn profile_patterns_on_the_grep_face() {
    let cfg = tempfile::tempdir().unwrap();
    std::fs::create_dir(cfg.path().join("profiles")).unwrap();
    std::fs::write(
        cfg.path().join("profiles/mine.json"),
        r#"{"name": "mine", "commands": ["mytool"], "patterns": ["^OOPS\\b"]}"#,
    )
    .unwrap();
    let run = |args: &[&str], input: &str| {
        out(ee()
            .env("EARLYEXIT_CONFIG_DIR", cfg.path())
            .args(args)
            .write_stdin(input.to_string()))
    };
    // A built-in profile's error patterns decide: exit 1 on the failing test, stopped there.
    let cargo = "test a ... ok\ntest b ... FAILED\nafter\n";
    let (code, stdout, _) = run(&["--profile", "cargo-test"], cargo);
    assert_eq!(
        (code, stdout.as_str()),
        (1, "test a ... ok\ntest b ... FAILED\n")
    );
    assert_eq!(run(&["--profile", "cargo-test"], "test a ... ok\n").0, 0);
    // A user profile, together with a built-in one and a main pattern.
    assert_eq!(run(&["--profile", "mine"], "ok\nOOPS here\n").0, 1);
    assert_eq!(run(&["--profile", "mine"], "ok\nOOPSY\n").0, 0);
    assert_eq!(
        run(
            &["--profile", "mine", "--profile", "go-test", "DONE"],
            "--- FAIL: TestX\n"
        )
        .0,
        1
    );
    assert_eq!(run(&["--profile", "mine", "DONE"], "DONE\n").0, 0);
    // Command mode.
    let (code, _, _) = out(ee().env("EARLYEXIT_CONFIG_DIR", cfg.path()).args([
        "--profile",
        "mine",
        "-A",
        "0",
        "--",
        "sh",
        "-c",
        "echo OOPS; sleep 30",
    ]));
    assert_eq!(code, 1);
    // An unknown name: one line, exit 3.
    let (code, _, stderr) = run(&["--profile", "nope", "x"], "");
    assert_eq!(code, 3);
    assert_eq!(
        stderr,
        "ee: no profile named 'nope' (see 'ee --list-profiles')\n"
    );
    // --list-profiles is `ee profile list`.
    let (code, listed, _) = run(&["--list-profiles"], "");
    assert_eq!(code, 0);
    let (_, profile_list, _) = run(&["profile", "list"], "");
    assert_eq!(listed, profile_list);
    assert!(
        listed.contains("mine ") && listed.contains("cargo-test"),
        "{listed}"
    );
    assert_eq!(run(&["--list-profiles", "x"], "").0, 3);
}

#[test]
fn telemetry_export_as_one_json_document() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let e = |args: &[&str]| {
        let mut c = Command::cargo_bin("ee").unwrap();
        c.env("EARLYEXIT_DB", &db)
            .env("HOME", dir.path())
            .env("EARLYEXIT_CONFIG_DIR", dir.path().join("config"))
            .env_remove("EARLYEXIT_NO_TELEMETRY")
            .env_remove("EARLYEXIT_OPTIONS")
            .args(args);
        out(&mut c)
    };
    // No database yet: an empty document, and nothing created.
    assert_eq!(
        e(&["telemetry", "export", "--format", "json"]),
        (0, "[]\n".into(), String::new())
    );
    assert!(!db.exists());
    assert_eq!(e(&["-A", "0", "err", "--", "sh", "-c", "echo err"]).0, 0);
    assert_eq!(e(&["err", "--", "sh", "-c", "echo ok"]).0, 1);
    let (code, doc, _) = e(&["telemetry", "export", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    // The same objects as the jsonl export, in the same order.
    let (_, jsonl, _) = e(&["telemetry", "export"]);
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(runs, &lines);
    assert_eq!(runs[0]["match_events"][0]["line"], "err");
}

#[test]
fn clap_complete_scripts_are_current() {
    for (shell, file) in [
        ("elvish", "ee.elv"),
        ("powershell", "_ee.ps1"),
        ("nushell", "ee.nu"),
    ] {
        let (code, script, _) = out(ee().args(["completions", shell]));
        assert_eq!(code, 0);
        // Generated from the clap definitions, hidden parts left out.
        for want in [
            "suggest",
            "telemetry",
            "export-learned",
            "--line-number",
            "--pcre",
        ] {
            assert!(script.contains(want), "{shell}: {want}");
        }
        for hidden in ["__complete", "--reload", "checkpoint"] {
            assert!(!script.contains(hidden), "{shell}: {hidden}");
        }
        let path = common::repo().join("completions").join(file);
        if std::env::var_os("EE_REGENERATE").is_some() {
            std::fs::write(&path, &script).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == script,
            "completions/{file} is stale: run EE_REGENERATE=1 cargo test --test grepx"
        );
    }
}

#[test]
fn elvish_loads_the_script_and_completes_subcommands() {
    if !common::require("elvish") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("ee.elv");
    std::fs::copy(common::repo().join("completions/ee.elv"), &script).unwrap();
    let mut c = std::process::Command::new(common::which("elvish").unwrap());
    c.arg("-norc")
        .env_clear()
        .env("HOME", dir.path())
        .env("TERM", "xterm")
        .env("PATH", "/usr/bin:/bin")
        .current_dir(dir.path());
    let mut t = Pty::start(c, 40, 150);
    // The prompt: `~> `, or `… # ` for root.
    t.wait_screen("the prompt", |s| s.contains(['>', '#']));
    // It loads without an error...
    t.send(&format!(
        "eval (slurp < {}); echo loaded-ok",
        script.display()
    ));
    t.press(&["Enter"]);
    let screen = t.wait_screen("loaded-ok", |s| s.contains("\nloaded-ok"));
    assert!(!screen.contains("Exception"), "{screen}");
    // ...and TAB completes a subcommand, then that subcommand's own subcommands.
    t.send("ee tel");
    t.press(&["Tab"]);
    t.wait_screen("ee telemetry", |s| s.contains("ee telemetry"));
    // (Run it: `ee` is not on this shell's PATH, so nothing happens but a message.)
    t.press(&["Enter"]);
    // The first TAB inserts the common prefix `export`, the second lists both.
    t.send("ee telemetry ex");
    t.press(&["Tab"]);
    t.wait_screen("the prefix", |s| s.contains("ee telemetry export"));
    t.press(&["Tab"]);
    let screen = t.wait_screen("the list", |s| {
        s.contains("export-learned") && s.contains("Write the learned patterns")
    });
    assert!(screen.contains("export-learned"), "{screen}");
}
