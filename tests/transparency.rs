//! Black-box tests that `ee run` is indistinguishable from the bare command where streams and
//! terminals are concerned, that binary output passes byte for byte, that the terminal is put back
//! after ee stops an interactive program, that ee's own files (logs, PID file) are opened safely,
//! and that a stop ee performs ends every descendant (and a natural exit none).
//!
//! The terminal cases run `sh -c SCRIPT` as the session leader of a fresh pseudo-terminal, so the
//! shell, ee and the child see a real controlling terminal, as at an interactive prompt.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::bin as ee_path;
use common::pty::Pty;
use common::require;

/// A scratch directory with ee's own state kept inside it: an isolated environment
/// (tests/common), HOME in `home`, logs under `state`, its own TMPDIR, nothing recorded.
struct Scratch {
    env: common::Isolated,
}

impl Scratch {
    fn new() -> Scratch {
        let env = common::Isolated::new()
            .home("home")
            .xdg("home/.config", "home/.local/share", "state")
            .no_telemetry();
        fs::create_dir_all(env.p("tmp")).unwrap();
        Scratch { env }
    }

    fn path(&self) -> &Path {
        self.env.path()
    }

    /// Environment for ee and the commands: isolated state, a known TERM, the ee binary as
    /// $EE, CI passed on.
    fn env(&self) -> Vec<(String, String)> {
        let mut env = self.env.env();
        env.extend([
            ("TERM".into(), "xterm-256color".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("EE".into(), ee_path().display().to_string()),
            ("TMPDIR".into(), self.env.p("tmp").display().to_string()),
        ]);
        if let Ok(v) = std::env::var("CI") {
            env.push(("CI".into(), v));
        }
        env
    }

    fn ee(&self) -> Command {
        let mut c = Command::new(ee_path());
        c.env_clear().envs(self.env()).current_dir(self.path());
        c.stdin(Stdio::null());
        c
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.path().join(name), text).unwrap();
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

/// What a script did on its terminal.
struct Session {
    /// Exit status of `sh -c SCRIPT`; None when it had to be killed (it hung).
    status: Option<i32>,
    /// Everything written to the terminal.
    screen: Vec<u8>,
}

impl Session {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.screen).into_owned()
    }
}

/// Run `sh -c script` as the session leader of a new `rows`x`cols` pty (the common driver);
/// give up after `wait`.
fn in_pty(s: &Scratch, script: &str, rows: u16, cols: u16, wait: Duration) -> Session {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .env_clear()
        .envs(s.env())
        .current_dir(s.path());
    let mut t = Pty::start(cmd, rows, cols);
    let status = t.try_wait_exit(wait).flatten();
    Session {
        status,
        screen: t.raw(),
    }
}

const WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Streams and terminals

/// The child sees a terminal on exactly the streams where the bare command does, with the same
/// window size and TERM: each redirection run bare and through `ee run`, answers compared.
#[test]
fn run_gives_a_terminal_exactly_where_the_bare_command_has_one() {
    let s = Scratch::new();
    s.write(
        "probe.sh",
        r#"r=""
exec 3>&1
for fd in 0 1 2; do
  src=$fd; [ "$fd" = 1 ] && src=3
  if [ -t $fd ]; then r="$r $fd:tty($(stty size <&$src))"; else r="$r $fd:no"; fi
done
echo "$r TERM=$TERM" >> "$OUT"
"#,
    );
    let cases = [
        "P",
        "P > o.txt",
        "P 2> e.txt",
        "P > o.txt 2>&1",
        "P | cat",
        "P 2>&1 | cat",
        "x=$(P)",
        "P < /dev/null",
        "P < /dev/null > o.txt 2> e.txt",
    ];
    let mut script = String::from("export OUT=\"$PWD/answers\"\n");
    for c in cases {
        script.push_str(&format!("{}\n", c.replace('P', "sh ./probe.sh")));
        script.push_str(&format!(
            "{}\n",
            c.replace('P', "\"$EE\" run -q -- sh ./probe.sh")
        ));
    }
    let sess = in_pty(&s, &script, 37, 101, WAIT);
    assert_eq!(sess.status, Some(0), "{}", sess.text());
    let answers = s.read("answers");
    let lines: Vec<&str> = answers.lines().collect();
    assert_eq!(lines.len(), 2 * cases.len(), "{answers}");
    for (i, c) in cases.iter().enumerate() {
        assert_eq!(
            lines[2 * i + 1],
            lines[2 * i],
            "`{c}`: routed (right) differs from bare (left)"
        );
    }
    // The probe really saw the terminal where there is one, at its size.
    assert_eq!(
        lines[0],
        " 0:tty(37 101) 1:tty(37 101) 2:tty(37 101) TERM=xterm-256color"
    );
}

/// When stdout and stderr are the same terminal, the child's writes reach it in the order it
/// made them, as bare (one terminal for both, not two that ee reads in turn).
#[test]
fn interleaved_stdout_and_stderr_keep_their_order_on_a_terminal() {
    let s = Scratch::new();
    s.write(
        "mix.sh",
        "i=0; while [ $i -lt 40 ]; do printf 'o%d ' $i; printf 'e%d ' $i >&2; i=$((i+1)); done; echo\n",
    );
    let sess = in_pty(
        &s,
        "echo BARE; sh ./mix.sh; echo ROUTED; \"$EE\" run -q -- sh ./mix.sh",
        24,
        400,
        WAIT,
    );
    let text = sess.text();
    assert_eq!(sess.status, Some(0), "{text}");
    let bare = text[text.find("BARE").unwrap() + 4..text.find("ROUTED").unwrap()].trim();
    let routed = text[text.find("ROUTED").unwrap() + 6..].trim();
    assert!(bare.starts_with("o0 e0 o1 e1 "), "{bare}");
    assert_eq!(routed, bare);
}

/// `ee run -- git log > f` starts no pager and writes what the bare command writes.
#[test]
fn git_log_into_a_file_starts_no_pager() {
    if !require("git") {
        return;
    }
    let s = Scratch::new();
    let script = r#"
export GIT_PAGER='touch "$OLDPWD/pager-started"; cat' GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@e GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@e
export GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' GIT_COMMITTER_DATE='2024-01-01T00:00:00Z'
mkdir repo && cd repo && git init -q && echo a > a && git add a && git commit -qm 'first commit'
OLDPWD=$(cd .. && pwd)
git log > ../bare.txt
"$EE" run -q -- git log > ../routed.txt
echo "rc=$?"
"#;
    let sess = in_pty(&s, script, 24, 80, WAIT);
    assert!(sess.status.is_some(), "hung (a pager?): {}", sess.text());
    assert!(sess.text().contains("rc=0"), "{}", sess.text());
    assert!(
        !s.path().join("pager-started").exists(),
        "the pager was started"
    );
    let bare = s.read("bare.txt");
    assert!(bare.contains("first commit"), "{bare}");
    assert_eq!(s.read("routed.txt"), bare);
}

/// A tool that draws progress frames only on a terminal (as cargo does) writes none into a
/// redirected log.
#[test]
fn progress_frames_stay_out_of_redirected_logs() {
    let s = Scratch::new();
    s.write(
        "build.sh",
        r#"if [ -t 2 ]; then printf '\r    Building [=>   ] 1/2\033[K' >&2; fi
printf '   Compiling tiny v0.1.0\n' >&2
echo built
"#,
    );
    let script = r#"
sh ./build.sh 2> bare.log
"$EE" run -q -- sh ./build.sh 2> routed.log
"$EE" run -q -- sh ./build.sh > out.log 2>&1
"#;
    let sess = in_pty(&s, script, 24, 120, WAIT);
    assert_eq!(sess.status, Some(0), "{}", sess.text());
    assert_eq!(s.read("bare.log"), "   Compiling tiny v0.1.0\n");
    assert_eq!(s.read("routed.log"), s.read("bare.log"));
    assert!(!s.read("out.log").contains('\r'), "{:?}", s.read("out.log"));
}

/// In `$(cmd)` and `cmd | tee`, a Python tool formats for 80 columns, as bare, not for the
/// terminal's 120.
#[test]
fn command_substitution_and_tee_see_a_pipe_and_80_columns() {
    if !require("python3") {
        return;
    }
    let s = Scratch::new();
    s.write(
        "width.py",
        "import shutil, sys\nprint(shutil.get_terminal_size().columns, sys.stdout.isatty())\n",
    );
    let script = r#"
echo "bare-subst=$(python3 width.py)"
echo "routed-subst=$("$EE" run -q -- python3 width.py)"
python3 width.py | tee bare.txt > /dev/null
"$EE" run -q -- python3 width.py | tee routed.txt > /dev/null
echo "tee: $(cat bare.txt) / $(cat routed.txt)"
"#;
    let sess = in_pty(&s, script, 30, 120, WAIT);
    let text = sess.text();
    assert_eq!(sess.status, Some(0), "{text}");
    assert!(text.contains("bare-subst=80 False"), "{text}");
    assert!(text.contains("routed-subst=80 False"), "{text}");
    assert!(text.contains("tee: 80 False / 80 False"), "{text}");
}

fn binary_sample() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"\x7fELF\x02\x01\x01\0");
    for i in 0..=255u8 {
        b.push(i);
    }
    // Byte runs the colour filter would take for SGR sequences and a charset reset.
    b.extend_from_slice(b"\x1b[31mred\x1b[0m\x1b(B\x1b[1;32m\r\n\0\0\x1b[");
    let mut x: u32 = 12345;
    for _ in 0..300_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        b.push((x >> 16) as u8);
    }
    b
}

/// Binary output through the grep face (which keeps its pty) and `ee run` is byte for byte.
#[test]
fn binary_output_passes_byte_for_byte() {
    let s = Scratch::new();
    let data = binary_sample();
    fs::write(s.path().join("file.bin"), &data).unwrap();
    for args in [
        &["NOMATCH-XYZ", "--", "cat", "file.bin"][..],
        &["--pty", "always", "NOMATCH-XYZ", "--", "cat", "file.bin"][..],
        &["run", "--", "cat", "file.bin"][..],
    ] {
        let o = s.ee().args(args).output().unwrap();
        assert!(
            o.stdout == data,
            "{args:?}: {} bytes out of {}, first difference at {:?}",
            o.stdout.len(),
            data.len(),
            o.stdout.iter().zip(&data).position(|(a, b)| a != b)
        );
    }
    // Text still has its colour removed for a pipe (the filter itself is unchanged).
    let o = s
        .ee()
        .args(["x", "--", "printf", "\\033[31mred\\033[0m\\n"])
        .output()
        .unwrap();
    assert_eq!(o.stdout, b"red\n");
}

/// Parse `stty -a`: is the flag on?
fn stty_flag(text: &str, flag: &str) -> Option<bool> {
    let start = text.rfind("speed")?;
    let words: Vec<&str> = text[start..]
        .split(|c: char| c.is_whitespace() || c == ';')
        .collect();
    if words.contains(&flag) {
        Some(true)
    } else if words.contains(&format!("-{flag}").as_str()) {
        Some(false)
    } else {
        None
    }
}

/// After ee times out a program that turned echo and canonical mode off and hid the cursor,
/// the terminal is as before, without `stty sane`.
#[test]
fn terminal_restored_after_ee_stops_an_interactive_program() {
    let s = Scratch::new();
    let script = r#"
"$EE" run -q -t 2s -- sh -c 'stty -echo -icanon; printf "\033[?25lhidden\n"; exec sleep 30'
echo "rc=$?"
stty -a
"#;
    let sess = in_pty(&s, script, 24, 200, WAIT);
    let text = sess.text();
    assert!(text.contains("rc=124"), "{text}");
    assert_eq!(stty_flag(&text, "echo"), Some(true), "{text}");
    assert_eq!(stty_flag(&text, "icanon"), Some(true), "{text}");
    let hid = text.find("\x1b[?25l").expect("cursor hidden");
    assert!(text[hid..].contains("\x1b[?25h"), "cursor left hidden");
}

/// The same with a real interactive program: the Python REPL, in raw mode at its prompt.
#[test]
fn terminal_restored_after_python_repl_timeout() {
    if !require("python3") {
        return;
    }
    let s = Scratch::new();
    let script = r#"
"$EE" run -q -t 4s -- python3
echo "rc=$?"
stty -a
"#;
    let sess = in_pty(&s, script, 24, 200, WAIT);
    let text = sess.text();
    assert!(text.contains(">>> "), "{text}");
    assert!(text.contains("rc=124"), "{text}");
    assert_eq!(stty_flag(&text, "echo"), Some(true), "{text}");
    assert_eq!(stty_flag(&text, "icanon"), Some(true), "{text}");
}

/// Where ee must not act: a command that changes the terminal and exits by itself keeps its
/// change, as bare.
#[test]
fn terminal_change_made_by_a_command_that_exits_is_kept() {
    let s = Scratch::new();
    let script = r#"
"$EE" run -q -- stty -echo
echo "rc=$?"
stty -a
stty echo
"#;
    let sess = in_pty(&s, script, 24, 200, WAIT);
    let text = sess.text();
    assert!(text.contains("rc=0"), "{text}");
    assert_eq!(stty_flag(&text, "echo"), Some(false), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Logs and PID files

/// Run to completion, or fail the test (killing ee) when it takes longer than `limit`.
fn output_within(mut c: Command, limit: Duration) -> std::process::Output {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let end = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ee hung for {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// `-l` without a directory logs into a private directory under the user's state directory,
/// never into $TMPDIR or /tmp; the directory is 0700 and the files 0600.
#[test]
fn default_logs_go_to_a_private_directory() {
    let s = Scratch::new();
    let o = s
        .ee()
        .args([
            "run",
            "-l",
            "--",
            "sh",
            "-c",
            "umask 022; echo out; echo err >&2",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let dir = s.path().join("state/earlyexit/logs");
    assert_eq!(mode(&dir), 0o700);
    let files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{f:?}");
    }
    assert_eq!(fs::read_dir(s.path().join("tmp")).unwrap().count(), 0);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&dir.display().to_string()), "{err}");
    // An existing private directory opened up by mistake is closed again.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let o = s.ee().args(["-q", "-l", "--", "true"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(mode(&dir), 0o700);
}

/// A symbolic link planted where a log or the PID file goes is never followed: ee refuses
/// before running anything, and the link's target is untouched.
#[test]
fn logs_and_pid_file_never_follow_a_symlink() {
    let s = Scratch::new();
    let victim = s.path().join("victim");
    fs::write(&victim, "precious\n").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&victim, s.path().join("x.log")).unwrap();
    for (args, code) in [
        (&["--file-prefix", "x", "--", "touch", "ran"][..], 3),
        (
            &["run", "--file-prefix", "x", "--", "touch", "ran"][..],
            125,
        ),
        (&["--file-prefix", "x", "-a", "--", "touch", "ran"][..], 3),
    ] {
        let o = s.ee().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains("symbolic link"), "{err}");
        assert!(!s.path().join("ran").exists(), "{args:?} ran the command");
    }
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    // The PID file.
    std::os::unix::fs::symlink(&victim, s.path().join("pid")).unwrap();
    // ee -D (detach on a match) with the PID file at `path`: exit status 4.
    let detached = |flags: &[&str], path: &str| {
        let o = s
            .ee()
            .args(flags)
            .args([
                "-D",
                "--pid-file",
                path,
                "go",
                "--",
                "sh",
                "-c",
                "echo go; sleep 1",
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(4), "{o:?}");
        o
    };
    let o = detached(&[], "pid");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("PID file") && err.contains("symbolic link"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    // A PID file in a plain place is written, mode 0600.
    detached(&["-q"], "ok.pid");
    let pid = s.read("ok.pid");
    assert!(pid.trim().parse::<u32>().is_ok(), "{pid:?}");
    assert_eq!(mode(&s.path().join("ok.pid")), 0o600);
}

/// An existing log is reused only when it is the user's own regular file: a FIFO, a file with
/// another hard link, or (as root) another user's file are refused; the user's own file is
/// replaced or appended to, keeping nothing of the old content when replaced.
#[test]
fn existing_log_used_only_when_it_is_the_users_regular_file() {
    let s = Scratch::new();
    let p = s.path();
    nix::unistd::mkfifo(&p.join("fifo.log"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let mut c = s.ee();
    c.args(["--file-prefix", "fifo", "--", "touch", "ran"]);
    let o = output_within(c, Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a regular file"));
    fs::write(p.join("orig"), "other\n").unwrap();
    fs::hard_link(p.join("orig"), p.join("linked.log")).unwrap();
    let o = s
        .ee()
        .args(["--file-prefix", "linked", "--", "touch", "ran"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert_eq!(s.read("orig"), "other\n");
    assert!(!p.join("ran").exists());
    // SAFETY: geteuid cannot fail.
    if unsafe { nix::libc::geteuid() } == 0 {
        fs::write(p.join("theirs.log"), "theirs\n").unwrap();
        std::os::unix::fs::chown(p.join("theirs.log"), Some(65534), Some(65534)).unwrap();
        let o = s
            .ee()
            .args(["--file-prefix", "theirs", "--", "echo", "secret"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(3), "{o:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("another user"));
        assert_eq!(s.read("theirs.log"), "theirs\n");
    }
    // The user's own file: replaced, then appended to.
    fs::write(p.join("mine.log"), "a much longer old content\n").unwrap();
    let o = s
        .ee()
        .args(["-q", "--file-prefix", "mine", "--", "echo", "new"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(s.read("mine.log"), "new\n");
    let o = s
        .ee()
        .args(["-q", "-a", "--file-prefix", "mine", "--", "echo", "more"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(s.read("mine.log"), "new\nmore\n");
}

/// `--log-dir DIR` that does not exist is created, with its parents, mode 0700.
#[test]
fn missing_log_dir_is_created_private() {
    let s = Scratch::new();
    let o = s
        .ee()
        .args(["--log-dir", "logs/deep/er", "--", "echo", "hi"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(o.stdout, b"hi\n");
    for d in ["logs", "logs/deep", "logs/deep/er"] {
        assert_eq!(mode(&s.path().join(d)), 0o700, "{d}");
    }
    let logs: Vec<String> = fs::read_dir(s.path().join("logs/deep/er"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(logs
        .iter()
        .any(|f| f.starts_with("ee-echo-") && f.ends_with(".log")));
}

// ---------------------------------------------------------------------------------------------
// Descendants

fn alive(pid: i32) -> bool {
    // A zombie has ended; only its parent's wait is missing.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].split_whitespace().next() != Some("Z"))
        })
        .unwrap_or(false)
}

fn read_pid(s: &Scratch, name: &str) -> i32 {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(p) = fs::read_to_string(s.path().join(name))
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return p;
        }
        assert!(Instant::now() < end, "no {name}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills what a test left running, even when it fails.
struct Reap(Vec<i32>);

impl Drop for Reap {
    fn drop(&mut self) {
        for &p in &self.0 {
            if alive(p) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

const ESCAPE: &str = r#"setsid sleep 103 & echo $! > a.pid
(setsid sh -c 'sleep 104 & echo $! > b.pid; wait' &)
(setsid sh -c 'trap "" TERM; while :; do sleep 0.2; done' & echo $! > c.pid)
"#;

/// On a timeout and on a match, descendants that left the process group (setsid, double fork,
/// one that ignores SIGTERM) end with the child.
#[test]
fn a_stop_ends_descendants_that_left_the_group() {
    for (name, args) in [
        ("timeout", &["-t", "3", "--kill-after", "1"][..]),
        (
            "match",
            &["run", "-e", "BOOM", "-A", "0", "--kill-after", "1"][..],
        ),
    ] {
        let s = Scratch::new();
        let script =
            format!("{ESCAPE}while [ ! -s b.pid ]; do sleep 0.05; done; echo BOOM; sleep 60");
        let t = Instant::now();
        let o = s
            .ee()
            .args(args)
            .args(["--", "sh", "-c", &script])
            .output()
            .unwrap();
        let pids = Reap(vec![
            read_pid(&s, "a.pid"),
            read_pid(&s, "b.pid"),
            read_pid(&s, "c.pid"),
        ]);
        assert!(t.elapsed() < Duration::from_secs(15), "{name}: {o:?}");
        assert!(
            matches!(o.status.code(), Some(1) | Some(2)),
            "{name}: {o:?}"
        );
        let end = Instant::now() + Duration::from_secs(3);
        while pids.0.iter().any(|&p| alive(p)) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
        for &p in &pids.0 {
            assert!(!alive(p), "{name}: descendant {p} survived the stop");
        }
    }
}

/// Where ee must not act: when the child exits by itself, its background jobs, in the group or
/// out of it, keep running, as a shell leaves them.
#[test]
fn a_natural_exit_leaves_background_jobs_alone() {
    let s = Scratch::new();
    let o = s
        .ee()
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "setsid sleep 30 > /dev/null 2>&1 & echo $! > a.pid; sleep 30 > /dev/null 2>&1 & echo $! > b.pid",
        ])
        .output()
        .unwrap();
    let pids = Reap(vec![read_pid(&s, "a.pid"), read_pid(&s, "b.pid")]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    std::thread::sleep(Duration::from_millis(300));
    for &p in &pids.0 {
        assert!(alive(p), "background job {p} was ended");
    }
}

// ---------------------------------------------------------------------------------------------
// Job control: the terminal handed over after the spawn

/// A job-control shell that, like fish (posix_spawn), starts the job in its own process group
/// and hands it the terminal only afterwards (`DELAY` seconds later; `never`: a background
/// job). The child of `ee run` reports whether it holds the terminal's foreground.
const LATE_SHELL: &str = r#"
import os, signal, sys, time
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
probe = "import os; print('FOREGROUND' if os.tcgetpgrp(0) == os.getpgrp() else 'BACKGROUND', flush=True)"
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    os.execv(os.environ["EE"], ["ee", "run", "--", sys.executable, "-c", probe])
try:
    os.setpgid(pid, pid)
except OSError:
    pass
if sys.argv[1] != "never":
    time.sleep(float(sys.argv[1]))
    os.tcsetpgrp(0, pid)
_, st = os.waitpid(pid, 0)
os.tcsetpgrp(0, os.getpgrp())
print("status", os.waitstatus_to_exitcode(st), flush=True)
"#;

/// fish hands a job the terminal after spawning it: ee, started before that, must still lead
/// the job and give its child the terminal (else Ctrl-Z reaches ee alone and the shell waits for
/// a stop that never comes). A background job, which is never handed the terminal, stays one.
#[test]
fn a_job_handed_the_terminal_after_its_start_still_gets_it() {
    if !require("python3") {
        return;
    }
    let s = Scratch::new();
    s.write("late.py", LATE_SHELL);
    for _ in 0..3 {
        let t = in_pty(&s, "exec python3 late.py 0.02", 24, 80, WAIT);
        let out = t.text();
        assert_eq!(t.status, Some(0), "{out}");
        assert!(
            out.contains("FOREGROUND") && out.contains("status 0"),
            "{out}"
        );
    }
    let t0 = Instant::now();
    let t = in_pty(&s, "exec python3 late.py never", 24, 80, WAIT);
    let out = t.text();
    assert!(
        out.contains("BACKGROUND") && out.contains("status 0"),
        "{out}"
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
}
