//! The shell hooks in real bash, zsh and fish, driven through a pseudo-terminal: what a user
//! would see typing at the prompt. A test program (`tests/shell/probe.sh`, installed as several
//! names) prints its arguments and its parent's name, so `via=ee` shows a command was routed
//! through `ee run` and `via=bash` (zsh, fish) shows the shell ran it directly.
//!
//! A shell that is not installed is skipped with a loud message; with `CI` set it is a failure.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::pty::{self, Pty};
// Is the tool there? Missing: loud skip locally, failure under CI.
use common::require as have;
// The built ee.
use common::bin as ee;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sh {
    Bash,
    Zsh,
    Fish,
}

impl Sh {
    fn name(self) -> &'static str {
        match self {
            Sh::Bash => "bash",
            Sh::Zsh => "zsh",
            Sh::Fish => "fish",
        }
    }
    /// The variable holding the last status.
    fn st(self) -> &'static str {
        match self {
            Sh::Fish => "$status",
            _ => "$?",
        }
    }
}

/// A temporary home with the probe programs, a config dir with routes, and the shell's rc file.
struct Home {
    env: common::Isolated,
    sh: Sh,
}

impl Home {
    fn new(sh: Sh) -> Home {
        let env = common::Isolated::new()
            .bin_dir("bin")
            .xdg("xdg", "data", "state")
            .config_at("cfg")
            .db_at("ee.sqlite");
        let h = Home { env, sh };
        let bin = h.env.fake_bin();
        let probe = common::repo().join("tests/shell/probe.sh");
        for name in ["eeprobe", "eetool", "eenew", "eealias", "eeinl", "eeenv"] {
            std::os::unix::fs::symlink(&probe, bin.join(name)).unwrap();
        }
        fs::write(h.path().join("in.txt"), "file1\n").unwrap();
        fs::write(h.path().join("x.gl"), "").unwrap();
        fs::write(h.path().join("y.gl"), "").unwrap();
        h.ee(&["route", "add", "eeprobe", "eetool build", "eealias"]);
        h.write_rc();
        h
    }

    fn path(&self) -> &Path {
        self.env.path()
    }

    /// The isolated environment (tests/common) with a known terminal and locale, zsh's start-up
    /// files in the home directory.
    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.env.env();
        env.extend([
            ("TERM".into(), "xterm".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("ZDOTDIR".into(), self.path().display().to_string()),
        ]);
        env
    }

    /// Run ee as another terminal would (same config and database).
    fn ee(&self, args: &[&str]) -> String {
        let out = Command::new(ee())
            .args(args)
            .env_clear()
            .envs(self.env())
            .output()
            .unwrap();
        assert!(out.status.success(), "ee {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn rc(&self) -> PathBuf {
        match self.sh {
            Sh::Bash => self.path().join("bashrc"),
            Sh::Zsh => self.path().join(".zshrc"),
            Sh::Fish => self.path().join("xdg/fish/config.fish"),
        }
    }

    /// The user's start-up file: a prompt, an alias of a routed name, prompt hooks of other
    /// tools before and after ours, and the hook loaded twice.
    fn write_rc(&self) {
        let ee = ee();
        let ee = ee.display();
        let text = match self.sh {
            Sh::Bash => format!(
                "PS1='PROMPT> '\n\
                 alias eealias='eealias al'\n\
                 userhook1() {{ u1=$?; }}\n\
                 PROMPT_COMMAND=userhook1\n\
                 eval \"$('{ee}' init bash)\"\n\
                 eval \"$(EARLYEXIT_ROUTES=eeenv '{ee}' init bash --route eeinl)\"\n\
                 userhook2() {{ u2=$?; }}\n\
                 PROMPT_COMMAND+=(userhook2)\n"
            ),
            Sh::Zsh => format!(
                "PS1='PROMPT> '\n\
                 unsetopt PROMPT_SP\n\
                 alias eealias='eealias al'\n\
                 userhook1() {{ u1=$?; }}\n\
                 precmd_functions=(userhook1)\n\
                 eval \"$('{ee}' init zsh)\"\n\
                 eval \"$(EARLYEXIT_ROUTES=eeenv '{ee}' init zsh --route eeinl)\"\n\
                 userhook2() {{ u2=$?; }}\n\
                 precmd_functions+=(userhook2)\n"
            ),
            Sh::Fish => format!(
                "set -g fish_greeting\n\
                 function fish_prompt; echo -n 'PROMPT> '; end\n\
                 function fish_title; end\n\
                 alias eealias 'eealias al'\n\
                 function userhook1 --on-event fish_prompt; set -g u1 $status; end\n\
                 '{ee}' init fish | source\n\
                 EARLYEXIT_ROUTES=eeenv '{ee}' init fish --route eeinl | source\n\
                 function userhook2 --on-event fish_prompt; set -g u2 $status; end\n"
            ),
        };
        let rc = self.rc();
        fs::create_dir_all(rc.parent().unwrap()).unwrap();
        fs::write(rc, text).unwrap();
    }

    /// An interactive shell on a pty, at its first prompt.
    fn start(&self) -> Shell {
        let rc = self.rc().to_string_lossy().into_owned();
        let args: Vec<String> = match self.sh {
            Sh::Bash => vec!["--noprofile".into(), "--rcfile".into(), rc, "-i".into()],
            Sh::Zsh => vec!["-i".into()],
            Sh::Fish => vec!["-i".into()],
        };
        let mut p = Pty::spawn(self.sh.name(), &args, &self.env(), self.path());
        // Loading the rc file (hook twice, an alias of a routed name) says nothing.
        let startup = p.expect("PROMPT> ").to_lowercase();
        for bad in ["error", "not found", "ee:", "warning"] {
            assert!(
                !startup.contains(bad),
                "{}: start-up said {startup:?}",
                self.sh.name()
            );
        }
        Shell {
            p,
            sh: self.sh,
            n: 0,
        }
    }
}

struct Shell {
    p: Pty,
    sh: Sh,
    n: u32,
}

impl Shell {
    /// Type `cmd`, then print its status; returns (output, status). The marker text is built so
    /// that the typed line itself never matches.
    fn run(&mut self, cmd: &str) -> (String, i32) {
        self.n += 1;
        let n = self.n;
        let start = self.p.cursor;
        self.p
            .line(&format!("{cmd}; echo \"[st{n}:{}]\"", self.sh.st()));
        let st: i32 = self
            .p
            .expect_re(&format!(r"\[st{n}:(\d+)\]"))
            .parse()
            .unwrap();
        let all = self.p.text();
        let end = all[..self.p.cursor].rfind(&format!("[st{n}:")).unwrap();
        let out = all[start..end].to_string();
        self.p.expect("PROMPT> ");
        (out, st)
    }

    /// Type `cmd` (a probe that prints `sleeping`, then sleeps), press Ctrl-C once it runs, and
    /// wait for the prompt.
    fn interrupt(&mut self, cmd: &str) {
        self.p.line(cmd);
        self.p.expect("sleeping");
        std::thread::sleep(Duration::from_millis(300));
        self.p.send("\x03");
        self.p.expect("PROMPT> ");
    }

    /// Type `cmd` (a probe that counts `tick1`, `tick2`...), press Ctrl-Z once it runs; returns
    /// what the terminal showed up to the next prompt.
    fn suspend(&mut self, cmd: &str) -> String {
        self.p.line(cmd);
        self.p.expect("tick1");
        self.p.send("\x1a");
        self.p.expect("PROMPT> ")
    }

    /// `fg`: the suspended count runs to its end (`tick15`, `finished`); returns its output,
    /// back at the prompt.
    fn resume(&mut self) -> String {
        self.p.line("fg");
        let out = self.p.expect("finished");
        assert_has(&out, "tick15");
        self.p.expect("PROMPT> ");
        out
    }

    /// Wait until the shell has run everything typed so far (a marker the typed line lacks).
    fn sync(&mut self) {
        self.n += 1;
        let n = self.n;
        self.p.line(&format!("echo 'sy''nc{n}'"));
        self.p.expect(&format!("sync{n}"));
        self.p.expect("PROMPT> ");
    }
}

fn assert_has(out: &str, want: &str) {
    assert!(out.contains(want), "expected {want:?} in:\n{out}");
}

fn assert_lacks(out: &str, bad: &str) {
    assert!(!out.contains(bad), "did not expect {bad:?} in:\n{out}");
}

// ---------------------------------------------------------------------------------------------

/// Arguments, subcommand routes, aliases, bypass, exit status, stdin, pipelines, colours,
/// coexisting prompt hooks, loading twice, and no output of ee's own.
fn basics(sh: Sh) {
    if !have(sh.name()) {
        return;
    }
    let home = Home::new(sh);
    let mut s = home.start();
    let via = format!("via={}", sh.name());

    // Arguments pass through exactly; ee says nothing of its own.
    let (out, st) = s.run(r#"eeprobe 'a b' "" '*' *.gl -- --opt "q'uote" 'd"q'"#);
    assert_eq!(st, 0);
    assert_has(&out, r#"[a b][][*][x.gl][y.gl][--][--opt][q'uote][d"q]"#);
    assert_has(&out, "via=ee");
    assert_lacks(&out, "ee:");

    // A subcommand route leaves the program's other subcommands alone.
    let (out, _) = s.run("eetool build x");
    assert_has(&out, "[build][x]");
    assert_has(&out, "via=ee");
    let (out, _) = s.run("eetool test x");
    assert_has(&out, "[test][x]");
    assert_has(&out, &via);

    // An alias of a routed name loaded before the hook: no error at load, the alias still works
    // (bash and zsh expand it into the routed function; fish's alias is a function the hook
    // leaves alone).
    let (out, _) = s.run("eealias x");
    assert_has(&out, "[al][x]");
    if sh == Sh::Fish {
        assert_has(&out, &via);
    } else {
        assert_has(&out, "via=ee");
    }

    // Routes given to `ee init` itself (--route, EARLYEXIT_ROUTES), next to the file's.
    let (out, _) = s.run("eeinl via");
    assert_has(&out, "via=ee");
    let (out, _) = s.run("eeenv via");
    assert_has(&out, "via=ee");

    // Bypass.
    let (out, _) = s.run("command eeprobe via");
    assert_has(&out, &via);
    let (out, _) = s.run("EARLYEXIT_DISABLE=1 eeprobe via");
    assert_has(&out, &via);
    let (off, on) = match sh {
        Sh::Fish => ("set -gx EARLYEXIT_DISABLE 1", "set -e EARLYEXIT_DISABLE"),
        _ => ("export EARLYEXIT_DISABLE=1", "unset EARLYEXIT_DISABLE"),
    };
    s.run(off);
    let (out, _) = s.run("eeprobe via");
    assert_has(&out, &via);
    s.run(on);
    let (out, _) = s.run("eeprobe via");
    assert_has(&out, "via=ee");

    // ee uninstalled under a running shell: commands run bare, nothing breaks.
    let (gone, back) = match sh {
        Sh::Fish => (
            "set -g __ee_saved $__ee_bin; set -g __ee_bin /nonexistent/ee",
            "set -g __ee_bin $__ee_saved",
        ),
        _ => (
            "__ee_saved=$__ee_bin; __ee_bin=/nonexistent/ee",
            "__ee_bin=$__ee_saved",
        ),
    };
    s.run(gone);
    let (out, st) = s.run("eeprobe via");
    assert_eq!(st, 0, "{out}");
    assert_has(&out, &via);
    s.run(back);
    let (out, _) = s.run("eeprobe via");
    assert_has(&out, "via=ee");

    // Exit status, pipe status, set -e.
    let (_, st) = s.run("eeprobe exit 7");
    assert_eq!(st, 7);
    let ps = match sh {
        Sh::Bash => "${PIPESTATUS[*]}",
        _ => "$pipestatus",
    };
    let (out, _) = s.run(&format!("eeprobe exit 3 | cat; echo \"[ps:{ps}]\""));
    assert_has(&out, "[ps:3 0]");
    if sh == Sh::Fish {
        let (out, _) =
            s.run("eeprobe exit 4; and echo su''cceeded-branch; or echo fa''iled-branch");
        assert_has(&out, "failed-branch");
        assert_lacks(&out, "succeeded-branch");
    } else {
        let (out, st) = s.run("(set -e; eeprobe exit 4; echo not''reached)");
        assert_eq!(st, 4);
        assert_lacks(&out, "notreached");
    }

    // Other prompt hooks still see the command's status, before and after ours.
    // (run() appends an echo, so use a bare failing command here)
    s.p.line("eeprobe exit 6");
    s.p.expect("PROMPT> ");
    let (out, _) = s.run("echo \"[u:$u1,$u2]\"");
    assert_has(&out, "[u:6,6]");
    // Loaded twice, hooked once.
    let hooks = match sh {
        Sh::Bash => "echo \"[pc:${PROMPT_COMMAND[*]//$'\\n'/ }]\"",
        Sh::Zsh => "echo \"[pc:$precmd_functions]\"",
        Sh::Fish => "echo \"[pc:\"(functions --handlers-type generic | string match -e __ee_prompt | count)\"]\"",
    };
    let (out, _) = s.run(hooks);
    match sh {
        Sh::Bash => assert_has(&out, "[pc:userhook1 __ee_prompt userhook2]"),
        // (the completion script may add a precmd function of its own)
        Sh::Zsh => {
            let pc = out.rsplit("[pc:").next().unwrap_or("");
            let pc: Vec<&str> = pc.split(']').next().unwrap_or("").split(' ').collect();
            assert_eq!(pc.first(), Some(&"userhook1"), "{out}");
            assert_eq!(pc.last(), Some(&"userhook2"), "{out}");
            assert_eq!(
                pc.iter().filter(|f| **f == "__ee_precmd").count(),
                1,
                "{out}"
            );
        }
        Sh::Fish => assert_has(&out, "[pc:1]"),
    }

    // Stdin: a pipe, a here-document (fish: a file), and a pipeline after the routed command.
    let (out, _) = s.run("printf 'in1\\n' | eeprobe stdin");
    assert_has(&out, "got=in1");
    assert_has(&out, "via=ee");
    if sh == Sh::Fish {
        let (out, _) = s.run("eeprobe stdin < in.txt");
        assert_has(&out, "got=file1");
    } else {
        s.n += 1;
        let n = s.n;
        s.p.line(&format!(
            "eeprobe stdin <<'EOT'; echo \"[st{n}:$?]\"\rhd1\rhd2\rEOT"
        ));
        let out = s.p.expect(&format!("[st{n}:0]"));
        assert_has(&out, "got=hd1");
        assert_has(&out, "got=hd2");
        assert_has(&out, "via=ee");
        s.p.expect("PROMPT> ");
    }
    let (out, _) = s.run("eeprobe p q | tr a-z A-Z");
    assert_has(&out, "[P][Q]");
    assert_has(&out, "VIA=EE");

    // Colours: the routed command sees a terminal and its escapes reach the terminal unchanged.
    let before = s.p.raw().len();
    let (out, _) = s.run("eeprobe color");
    assert_lacks(&out, "PLAIN");
    let raw = s.p.raw();
    let raw = String::from_utf8_lossy(&raw[before..]);
    assert_has(&raw, "\x1b[31mRED\x1b[0m");
}

/// An interactive prompt answered, Ctrl-C, Ctrl-Z + fg, and ee's one-line notice when it stops
/// a command early.
fn terminal(sh: Sh) {
    if !have(sh.name()) {
        return;
    }
    let home = Home::new(sh);
    let mut s = home.start();
    let st = sh.st();

    // A prompt that reads the answer from the terminal.
    s.p.line("eeprobe ask");
    s.p.expect("Continue? [y/N]");
    s.p.send("y\r");
    s.p.expect("answer=y");
    s.p.expect("via=ee");
    s.p.expect("PROMPT> ");

    // Ctrl-C stops the command and returns to the prompt with 130.
    s.interrupt("eeprobe sleep");
    s.p.line(&format!("echo \"[int:{st}]\""));
    let out = s.p.expect("[int:130]");
    assert_lacks(&out, "woke");
    s.p.expect("PROMPT> ");

    // ... and, like the bare command, abandons the rest of the command line. (Not in fish: fish
    // carries on after any function whose command was interrupted, its own wrappers included.)
    if sh != Sh::Fish {
        s.interrupt("eeprobe sleep; echo af''ter");
        s.p.line(&format!("echo \"[int2:{st}]\""));
        let out = s.p.expect("[int2:130]");
        assert_lacks(&out, "after");
        s.p.expect("PROMPT> ");
    }

    // Ctrl-Z suspends it, fg resumes it to the end.
    s.suspend("eeprobe count");
    // Stopped means stopped: no tick while it is suspended.
    let stopped_at = s.p.text().len();
    std::thread::sleep(Duration::from_millis(1500));
    let while_stopped = s.p.text()[stopped_at..].to_string();
    assert_lacks(&while_stopped, "tick");
    assert_lacks(&s.p.text(), "finished");
    s.resume();
    s.p.line(&format!("echo \"[fg:{st}]\""));
    s.p.expect("[fg:0]");
    s.p.expect("PROMPT> ");

    // The same inside a pipeline (`pytest | tail`): the shell's job control reaches the whole
    // job, ee takes nothing. (In fish too: the hook puts no function in the pipeline, which
    // fish would run in its own process group, where Ctrl-Z does nothing.)
    s.suspend("eeprobe count | cat");
    let stopped_at = s.p.text().len();
    std::thread::sleep(Duration::from_millis(1500));
    assert_lacks(&s.p.text()[stopped_at..], "tick");
    let (out, _) = s.run("jobs");
    assert_has(&out, "eeprobe count | cat");
    s.resume();
    let (out, st) = s.run("echo ba''ck");
    assert_eq!(st, 0);
    assert_has(&out, "back");
    // Ctrl-C in a pipeline: the prompt comes back, nothing runs on.
    s.interrupt("eeprobe sleep | cat");
    let (out, _) = s.run("echo pi''pe-back");
    assert_has(&out, "pipe-back");
    assert_lacks(&s.p.text(), "woke");

    // When ee stops the command early it says so in one line, with the documented status.
    let (out, code) = s.run("EARLYEXIT_OPTIONS='-t 1' eeprobe sleep");
    assert_eq!(code, 124, "{out}");
    assert_has(&out, "ee: stopped eeprobe");
    assert_lacks(&out, "woke");
    // ... also inside a pipeline, where ee signals the command and what it started, one by one
    // (the shell's job group also holds `cat`).
    let (out, code) = s.run("EARLYEXIT_OPTIONS='-t 1' eeprobe sleep | cat");
    assert_eq!(code, 0, "{out}");
    assert_has(&out, "ee: stopped eeprobe");
    assert_lacks(&out, "woke");
}

/// `jobs`, `fg` and `time` name a routed command by the line typed, as for the bare command
/// (not by the hook's inner line), also when the hook lets a command through unrouted (`eetool
/// count` next to the route `eetool build`); the wrapping leaves nothing behind after Ctrl-Z,
/// Ctrl-C or a normal end (`command NAME` still bypasses, aliases still expand once).
fn as_typed(sh: Sh) {
    if !have(sh.name()) {
        return;
    }
    let home = Home::new(sh);
    let mut s = home.start();
    let hook_text = ["EARLYEXIT", "__ee", "run --", "$@", "$argv"];
    for (cmd, routed) in [("eeprobe count", true), ("eetool count", false)] {
        let out = s.suspend(cmd);
        // bash: "[1]+  Stopped   eeprobe count"; zsh: "suspended  eeprobe count"; fish: "Job
        // 1, 'eeprobe count' has stopped".
        assert_has(&out, cmd);
        let (out, _) = s.run("jobs");
        assert_has(&out, cmd);
        for bad in hook_text {
            assert_lacks(&out, bad);
        }
        let out = s.resume();
        assert_has(&out, cmd);
        // Routed (or not) as before, with the wrapper back in place.
        let (out, st) = s.run(&format!("{cmd}x"));
        assert_eq!(st, 0, "{out}");
        assert_has(&out, "[countx]");
        let via = if routed { "ee" } else { sh.name() };
        assert_has(&out, &format!("via={via}"));
    }
    // The hook's marker and fish's shims directory never reach the command, routed or not:
    // PATH starts as the user's does.
    let path1 = home.env.path_var().split(':').next().unwrap().to_string();
    for (cmd, via) in [("eeprobe hookenv", "ee"), ("eetool hookenv", sh.name())] {
        let (out, _) = s.run(cmd);
        assert_has(&out, "hook=[]");
        assert_has(&out, &format!("path1=[{path1}]"));
        assert_has(&out, &format!("via={via}"));
    }

    // After Ctrl-C too, the command runs as before (the wrapping left nothing behind).
    s.interrupt("eeprobe sleep");
    let (out, _) = s.run("eeprobe via");
    assert_has(&out, "via=ee");
    let (out, _) = s.run("command eeprobe via");
    assert_has(&out, &format!("via={}", sh.name()));
    let (out, _) = s.run("eealias x");
    assert_has(&out, "[al][x]");
    assert_lacks(&out, "[al][al]");

    // `time` reports a routed command as it does the bare one (zsh printed nothing for the
    // hook's function).
    let (out, st) = s.run("time eeprobe via");
    assert_eq!(st, 0, "{out}");
    assert_has(&out, "via=ee");
    match sh {
        Sh::Bash => assert_has(&out, "real"),
        Sh::Zsh => assert_has(&out, "eeprobe via  "),
        Sh::Fish => assert_has(&out, "Executed in"),
    }
    if sh == Sh::Zsh {
        assert_has(&out, " total");
    }
}

/// Start `strace` on the shell process (not its children): every process it starts is logged.
struct Trace {
    child: std::process::Child,
    file: PathBuf,
}

impl Trace {
    fn attach(pid: u32, file: PathBuf) -> Option<Trace> {
        let log = file.with_extension("log");
        let mut child = Command::new("strace")
            .args(["-e", "trace=fork,vfork,clone,clone3,execve", "-o"])
            .arg(&file)
            .args(["-p", &pid.to_string()])
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        // strace says "Process N attached" on stderr once it traces the shell.
        let end = std::time::Instant::now() + pty::WAIT;
        loop {
            let said = fs::read_to_string(&log).unwrap_or_default();
            if said.contains("attached") {
                return Some(Trace { child, file });
            }
            if child.try_wait().unwrap().is_some() {
                // E.g. ptrace restricted (Yama ptrace_scope) for a non-root user.
                if std::env::var_os("CI").is_some() {
                    panic!("strace cannot attach, and CI is set: {said}");
                }
                eprintln!("\n!!!! SKIPPED: strace cannot attach ({}); the no-fork check did NOT run !!!!\n", said.trim());
                return None;
            }
            assert!(
                std::time::Instant::now() < end,
                "strace did not attach: {said}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Detach and return the process-starting calls seen (threads are not processes).
    fn stop(mut self) -> Vec<String> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let _ = self.child.wait();
        fs::read_to_string(&self.file)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.contains("CLONE_THREAD") && !l.contains("+++") && !l.contains("---"))
            .filter(|l| {
                ["fork(", "vfork(", "clone(", "clone3(", "execve("]
                    .iter()
                    .any(|c| l.contains(c))
            })
            .map(str::to_string)
            .collect()
    }
}

/// Routes changed by `ee route` in another terminal are picked up at the next prompt; a prompt
/// with unchanged routes starts no process.
fn pickup(sh: Sh, with_file: bool) {
    if !have(sh.name()) {
        return;
    }
    let home = Home::new(sh);
    if !with_file {
        // No routes file at all when the shell starts: it appears with the first `ee route add`.
        fs::remove_dir_all(home.path().join("cfg")).unwrap();
    }
    let mut s = home.start();
    let via = format!("via={}", sh.name());

    let (out, _) = s.run("eenew via");
    assert_has(&out, &via);

    let tracing = have("strace");
    if let Some(t) = tracing
        .then(|| Trace::attach(s.p.pid(), home.path().join("trace1")))
        .flatten()
    {
        for _ in 0..3 {
            s.p.send("\r");
            s.p.expect("PROMPT> ");
        }
        s.sync();
        let forks = t.stop();
        assert!(
            forks.is_empty(),
            "{sh:?}: prompts with unchanged routes started processes: {forks:#?}"
        );
    }

    home.ee(&["route", "add", "eenew"]);
    if let Some(t) = tracing
        .then(|| Trace::attach(s.p.pid(), home.path().join("trace2")))
        .flatten()
    {
        // The control: a prompt after a change does start ee (once), so the trace above could
        // have failed.
        s.p.send("\r");
        s.p.expect("PROMPT> ");
        s.sync();
        let forks = t.stop();
        assert!(!forks.is_empty(), "{sh:?}: no reload seen after a change");
    } else {
        s.p.send("\r");
        s.p.expect("PROMPT> ");
    }
    let (out, _) = s.run("eenew via");
    assert_has(&out, "via=ee");
    // Inline routes (ee init --route) survive the reload.
    let (out, _) = s.run("eeinl via");
    assert_has(&out, "via=ee");

    home.ee(&["route", "remove", "eenew"]);
    s.p.send("\r");
    s.p.expect("PROMPT> ");
    let (out, _) = s.run("eenew via");
    assert_has(&out, &via);
    let (out, _) = s.run("eeprobe via");
    assert_has(&out, if with_file { "via=ee" } else { &via });
}

/// Non-interactive shells that load the rc file are untouched; an interactive one routes, except
/// inside a routed command (the recursion marker).
fn non_interactive(sh: Sh) {
    if !have(sh.name()) {
        return;
    }
    let home = Home::new(sh);
    let rc = home.rc().to_string_lossy().into_owned();
    let run = |args: &[&str], extra: &[(&str, &str)]| -> String {
        let out = Command::new(sh.name())
            .args(args)
            .env_clear()
            .envs(home.env())
            .envs(extra.iter().copied())
            .current_dir(home.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let via = format!("via={}", sh.name());
    let source = if sh == Sh::Fish { "source" } else { "." };
    // -c, and a script file, each sourcing the rc file.
    // (`; true` keeps the shell from exec'ing the last command, so the probe's parent is it)
    let c = format!("{source} '{rc}'; eeprobe via; true");
    assert_has(&run(&["-c", &c], &[]), &via);
    let script = home.path().join("script");
    fs::write(&script, format!("{c}\n")).unwrap();
    assert_has(&run(&[&script.to_string_lossy()], &[]), &via);
    // Interactive with the same rc: routed, unless already inside a routed command. bash routes
    // what `-i -c` runs; zsh routes the lines it reads (its preexec hook), so it reads them on
    // stdin; fish routes only lines typed at its prompt on a terminal.
    if sh == Sh::Fish {
        // A routed command starts an interactive fish on the terminal; inside it the probe is
        // not routed again.
        let mut s = home.start();
        s.p.line("NEST=fish eeprobe nest");
        s.p.expect("nest-via=ee");
        s.p.expect("PROMPT> ");
        let (out, _) = s.run("eeprobe via");
        assert_has(&out, &via);
        s.p.line("exit");
        s.p.expect("PROMPT> ");
        let (out, _) = s.run("eeprobe via");
        assert_has(&out, "via=ee");
        return;
    }
    let fed = |lines: &str, extra: &[(&str, &str)]| -> String {
        let mut c = Command::new(sh.name());
        match sh {
            Sh::Bash => c.args(["--rcfile", &rc, "-i", "-c", lines]),
            _ => c.arg("-i"),
        };
        let mut child = c
            .env_clear()
            .envs(home.env())
            .envs(extra.iter().copied())
            .current_dir(home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if sh == Sh::Zsh {
            std::io::Write::write_all(&mut stdin, format!("{lines}\nexit\n").as_bytes()).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_has(&fed("eeprobe via; true", &[]), "via=ee");
    assert_has(
        &fed("eeprobe via; true", &[("EARLYEXIT_ROUTED", "1")]),
        &via,
    );
    // End to end: a routed command (`eeprobe nest`, run through ee) starts an interactive shell
    // that loads the hook; inside it the probe is not routed again.
    let inner = match sh {
        Sh::Bash => format!("bash --rcfile '{rc}' -i -c 'eeprobe via; true'"),
        _ => "echo 'eeprobe via; true' | zsh -i".to_string(),
    };
    let out = fed("eeprobe nest; true", &[("NEST", &inner)]);
    assert_has(&out, "nest-via=ee");
    assert_has(&out, &via);
    assert_lacks(&out, "\nvia=ee");
}

/// Real prompt-hook users loaded before (zoxide) and after (direnv) ours: all three keep working.
fn coexist(sh: Sh) {
    if !have(sh.name()) || !have("zoxide") || !have("direnv") {
        return;
    }
    let home = Home::new(sh);
    let rc = home.rc();
    let mine = fs::read_to_string(&rc).unwrap();
    let n = sh.name();
    let (zoxide, direnv) = match sh {
        Sh::Fish => (
            format!("zoxide init {n} | source\n"),
            format!("direnv hook {n} | source\n"),
        ),
        _ => (
            format!("eval \"$(zoxide init {n})\"\n"),
            format!("eval \"$(direnv hook {n})\"\n"),
        ),
    };
    // zoxide right before our first load (after the user's own PROMPT_COMMAND line), direnv last.
    let at = mine.find(&format!("init {n}")).unwrap();
    let at = mine[..at].rfind('\n').unwrap() + 1;
    fs::write(
        &rc,
        format!("{}{zoxide}{}{direnv}", &mine[..at], &mine[at..]),
    )
    .unwrap();
    let envdir = home.path().join("withenv");
    fs::create_dir_all(&envdir).unwrap();
    fs::write(envdir.join(".envrc"), "export EEDIRENV=loaded\n").unwrap();
    let ok = Command::new("direnv")
        .arg("allow")
        .arg(&envdir)
        .env_clear()
        .envs(home.env())
        .status()
        .unwrap();
    assert!(ok.success());

    let mut s = home.start();
    let (out, _) = s.run("eeprobe a");
    assert_has(&out, "via=ee");
    // direnv's hook (loaded after ours) runs at the prompt after cd.
    s.p.line("cd withenv");
    s.p.expect("PROMPT> ");
    let (out, _) = s.run("echo \"[de:$EEDIRENV]\"");
    assert_has(&out, "[de:loaded]");
    // zoxide's hook (loaded before ours) recorded the directory.
    let (out, _) = s.run("zoxide query withenv");
    assert_has(&out, &envdir.to_string_lossy());
    // ours still routes, and picks up changes.
    home.ee(&["route", "add", "eenew"]);
    s.p.send("\r");
    s.p.expect("PROMPT> ");
    let (out, st) = s.run("eenew a");
    assert_eq!(st, 0);
    assert_has(&out, "via=ee");
    let (_, st) = s.run("eeprobe exit 9");
    assert_eq!(st, 9);
    s.p.line("eeprobe exit 6");
    s.p.expect("PROMPT> ");
    // The user's hook after ours still sees the status (zoxide 0.4's own hook, which runs
    // before userhook1 in bash, does not keep $?, so userhook1 is not checked here).
    let (out, _) = s.run("echo \"[u2:$u2]\"");
    assert_has(&out, "[u2:6]");
}

/// bash-preexec's interface (what atuin and others load): a `precmd_functions` list run by its
/// own PROMPT_COMMAND entry. The hook joins that list instead of PROMPT_COMMAND.
#[test]
fn bash_preexec_style() {
    if !have("bash") {
        return;
    }
    let home = Home::new(Sh::Bash);
    let ee = ee();
    fs::write(
        home.rc(),
        format!(
            "PS1='PROMPT> '\n\
             precmd_functions=()\n\
             __bp_precmd_invoke_cmd() {{ local s=$? f; for f in \"${{precmd_functions[@]}}\"; do (exit \"$s\"); \"$f\"; done; }}\n\
             PROMPT_COMMAND=__bp_precmd_invoke_cmd\n\
             eval \"$('{}' init bash)\"\n",
            ee.display()
        ),
    )
    .unwrap();
    let mut s = home.start();
    let (out, _) = s.run("echo \"[pc:${PROMPT_COMMAND[*]}|${precmd_functions[*]}]\"");
    assert_has(&out, "[pc:__bp_precmd_invoke_cmd|__ee_prompt]");
    let (out, _) = s.run("eenew via");
    assert_has(&out, "via=bash");
    home.ee(&["route", "add", "eenew"]);
    s.p.send("\r");
    s.p.expect("PROMPT> ");
    let (out, _) = s.run("eenew via");
    assert_has(&out, "via=ee");
}

// ---------------------------------------------------------------------------------------------
// Issue 11 item 2: route names that would break the shell

/// Output lines of `prog args…` (a shell listing its own names).
fn names_from(prog: &str, args: &[&str]) -> Vec<String> {
    let out = Command::new(prog)
        .args(args)
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{prog} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Is `name` refused by `ee route add` (usage error, one line, file unchanged)?
fn refused(home: &Home, name: &str) -> bool {
    let out = Command::new(ee())
        .args(["route", "add", name])
        .env_clear()
        .envs(home.env())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        assert_eq!(err.lines().count(), 1, "{name:?}: {err}");
        true
    } else {
        false
    }
}

/// The builtins, reserved words and special functions of the real shells, listed by the shells
/// themselves at test time: ee refuses every one as a route.
#[test]
fn routes_refuse_every_shell_builtin_keyword_and_special_function() {
    let home = Home::new(Sh::Bash);
    let mut names: Vec<(String, &str)> = Vec::new();
    if have("bash") {
        for n in names_from("bash", &["--norc", "-c", "compgen -b -k"]) {
            names.push((n, "bash builtin or keyword"));
        }
        names.push(("command_not_found_handle".into(), "bash hook"));
    }
    if have("zsh") {
        for n in names_from(
            "zsh",
            &["-f", "-c", "print -l ${(k)builtins} ${(k)reswords}"],
        ) {
            names.push((n, "zsh builtin or reserved word"));
        }
        for n in [
            "precmd",
            "preexec",
            "chpwd",
            "periodic",
            "zshaddhistory",
            "zshexit",
            "zsh_directory_name",
            "command_not_found_handler",
            "TRAPZERR",
            "TRAPEXIT",
            "TRAPDEBUG",
            "TRAPINT",
            "zle-line-init",
            "zle-keymap-select",
        ] {
            names.push((n.into(), "zsh special function"));
        }
    }
    if have("fish") {
        for n in names_from("fish", &["--no-config", "-c", "builtin -n"]) {
            names.push((n, "fish builtin"));
        }
        // fish's own functions: refused, unless the function wraps a program of the same name
        // (`ls`, `grep`…), which the fish hook leaves alone and bash/zsh may route.
        let wrappers = names_from(
            "fish",
            &[
                "--no-config",
                "-c",
                "for f in (functions -a); command -q $f; and echo $f; end; true",
            ],
        );
        for n in names_from("fish", &["--no-config", "-c", "functions -a"]) {
            if !wrappers.contains(&n) {
                names.push((n, "fish function"));
            }
        }
    }
    assert!(names.len() > 200, "too few names listed: {}", names.len());
    let accepted: Vec<String> = names
        .iter()
        .filter(|(n, _)| !refused(&home, n))
        .map(|(n, why)| format!("{n} ({why})"))
        .collect();
    assert!(accepted.is_empty(), "ee accepted as routes: {accepted:?}");
    // Ordinary programs still route, and nothing refused reached the file.
    assert!(!refused(&home, "pytest"));
    let list = home.ee(&["route", "list"]);
    assert!(
        !list.contains("mapfile") && list.contains("pytest"),
        "{list}"
    );
}

/// A route name with a newline or other control character is refused with one escaped line, and
/// a routes file holding one says so escaped too.
#[test]
fn routes_refuse_control_characters_with_one_escaped_line() {
    let home = Home::new(Sh::Bash);
    let out = Command::new(ee())
        .args(["route", "add", "x\ny"])
        .env_clear()
        .envs(home.env())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(r"x\ny") && err.contains("control"), "{err}");
    let list = home.ee(&["route", "list"]);
    assert!(!list.contains('x'), "{list}");
    // Hand-edited file: ESC in a line.
    let f = home.path().join("cfg/routes");
    let mut text = fs::read_to_string(&f).unwrap();
    text.push_str("evil\x1b]0;pwned\x07name\n");
    fs::write(&f, text).unwrap();
    let out = Command::new(ee())
        .args(["route", "list"])
        .env_clear()
        .envs(home.env())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    assert!(err.contains(r"evil\e]0;pwned\aname"), "{err}");
}

/// Whatever gets routed (here a hook's special function, loaded past ee's validation), the hook
/// never recurses: `EARLYEXIT_DISABLE=1 nonexistentcmd` ends at once with 127. (bash sets a
/// wrapper aside while its command runs, and zsh has none, so the not-found handler cannot
/// re-enter one; the guard that says so stays for what else may call a bash wrapper.)
fn no_recursion(sh: Sh, handler: &str) {
    if !have(sh.name()) {
        return;
    }
    let home = Home::new(sh);
    let mut s = home.start();
    s.run(&format!("__ee_load '' - {handler} eeprobe"));
    let (out, st) = s.run("EARLYEXIT_DISABLE=1 eenonexistentcmd");
    assert_eq!(st, 127, "{out}");
    assert_has(&out, "not found");
    let (out, _) = s.run("eeprobe via");
    assert_has(&out, "via=ee");
}

#[test]
fn bash_hook_never_recurses() {
    no_recursion(Sh::Bash, "command_not_found_handle");
}

#[test]
fn zsh_hook_never_recurses() {
    no_recursion(Sh::Zsh, "command_not_found_handler");
}

macro_rules! per_shell {
    ($($name:ident: $f:ident($($arg:expr),*);)*) => {
        $( #[test] fn $name() { $f($($arg),*) } )*
    };
}

per_shell! {
    bash_basics: basics(Sh::Bash);
    zsh_basics: basics(Sh::Zsh);
    fish_basics: basics(Sh::Fish);
    bash_terminal: terminal(Sh::Bash);
    zsh_terminal: terminal(Sh::Zsh);
    fish_terminal: terminal(Sh::Fish);
    bash_pickup: pickup(Sh::Bash, true);
    zsh_pickup: pickup(Sh::Zsh, true);
    fish_pickup: pickup(Sh::Fish, true);
    bash_pickup_without_routes_file: pickup(Sh::Bash, false);
    zsh_pickup_without_routes_file: pickup(Sh::Zsh, false);
    fish_pickup_without_routes_file: pickup(Sh::Fish, false);
    bash_non_interactive: non_interactive(Sh::Bash);
    zsh_non_interactive: non_interactive(Sh::Zsh);
    fish_non_interactive: non_interactive(Sh::Fish);
    bash_as_typed: as_typed(Sh::Bash);
    zsh_as_typed: as_typed(Sh::Zsh);
    fish_as_typed: as_typed(Sh::Fish);
    bash_coexist: coexist(Sh::Bash);
    zsh_coexist: coexist(Sh::Zsh);
    fish_coexist: coexist(Sh::Fish);
}
