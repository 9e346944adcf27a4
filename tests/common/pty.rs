//! The one pseudo-terminal driver of the tests: starts a program as the session leader of a new
//! pty (so job control, Ctrl-C and Ctrl-Z work as in a terminal emulator), collects everything it
//! writes, and waits for expected text with a deadline. Two views of the output: the text
//! stream with escape sequences removed ([`Pty::expect`], [`Pty::text`]) for what a program
//! printed, and a screen model ([`Pty::screen`], the `vt100` crate) for what a terminal shows
//! after cursor movement and redraws (completion menus, full-screen charts). The screen answers
//! cursor-position queries as a terminal emulator would.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any single expectation may take (generous: CI has 2 busy cores).
pub const WAIT: Duration = Duration::from_secs(20);
/// How long a screen may take to show what is expected (completion under load is slow).
pub const SCREEN_WAIT: Duration = Duration::from_secs(40);

/// Replies a terminal emulator gives to queries (cursor position, device attributes).
#[derive(Default)]
struct Replies {
    out: Vec<u8>,
}

impl vt100::Callbacks for Replies {
    fn unhandled_csi(
        &mut self,
        screen: &mut vt100::Screen,
        i1: Option<u8>,
        _i2: Option<u8>,
        params: &[&[u16]],
        c: char,
    ) {
        match (i1, c, params) {
            (None, 'n', [[6]]) => {
                let (row, col) = screen.cursor_position();
                self.out
                    .extend_from_slice(format!("\x1b[{};{}R", row + 1, col + 1).as_bytes());
            }
            (None, 'n', [[5]]) => self.out.extend_from_slice(b"\x1b[0n"),
            (None, 'c', [] | [[0]]) => self.out.extend_from_slice(b"\x1b[?1;2c"),
            _ => {}
        }
    }
}

struct Buf {
    raw: Vec<u8>,
    clean: String,
    esc: u8,
    eof: bool,
    screen: vt100::Parser<Replies>,
}

impl Buf {
    fn new(rows: u16, cols: u16) -> Buf {
        let nz = |n: u16| std::num::NonZeroU16::new(n.max(1)).unwrap();
        Buf {
            raw: Vec::new(),
            clean: String::new(),
            esc: 0,
            eof: false,
            screen: vt100::Parser::new_with_callbacks(nz(rows), nz(cols), 0, Replies::default()),
        }
    }

    /// Feed the screen, and keep a copy with escape sequences and carriage returns removed, for
    /// matching text. Returns the terminal's replies to queries.
    fn push(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.raw.extend_from_slice(bytes);
        self.screen.process(bytes);
        let mut keep = Vec::new();
        for &b in bytes {
            self.esc = match (self.esc, b) {
                (0, 0x1b) => 1,
                (0, b'\r') | (0, 0x07) | (0, 0x08) => 0,
                (0, _) => {
                    keep.push(b);
                    0
                }
                (1, b'[') => 2,
                (1, b']') => 3,
                (1, b'(') | (1, b')') => 5,
                (1, _) => 0,
                (2, 0x40..=0x7e) => 0,
                (2, _) => 2,
                (3, 0x07) => 0,
                (3, 0x1b) => 4,
                (3, _) => 3,
                (4, _) => 0,
                (5, _) => 0,
                _ => 0,
            };
        }
        self.clean.push_str(&String::from_utf8_lossy(&keep));
        std::mem::take(&mut self.screen.callbacks_mut().out)
    }
}

pub struct Pty {
    master: File,
    child: Child,
    reaped: bool,
    buf: Arc<Mutex<Buf>>,
    /// Position in the cleaned text after the last expectation.
    pub cursor: usize,
    pub name: String,
}

impl Pty {
    /// Start `prog args` on a new 24x200 pty with exactly the environment `env`, in `cwd`.
    pub fn spawn<I, S>(prog: &str, args: I, env: &[(String, String)], cwd: &std::path::Path) -> Pty
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(prog);
        cmd.args(args).env_clear().current_dir(cwd);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Pty::start(cmd, 24, 200)
    }

    /// Start `cmd` (its program, arguments, environment and directory as configured) as the
    /// session leader of a new `rows`x`cols` pty that is its stdin, stdout, stderr and
    /// controlling terminal.
    pub fn start(mut cmd: Command, rows: u16, cols: u16) -> Pty {
        let name = cmd.get_program().to_string_lossy().into_owned();
        let ws = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&ws), None).expect("openpty");
        let master: OwnedFd = pty.master;
        let slave: OwnedFd = pty.slave;
        cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls (setsid, ioctl) between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if libc_ioctl_sctty() != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        // Close our copies of the slave side: end of file once the session's programs exit.
        drop(cmd);
        let master = File::from(master);
        let buf = Arc::new(Mutex::new(Buf::new(rows, cols)));
        let mut reader = master.try_clone().unwrap();
        let mut answer = master.try_clone().unwrap();
        let b2 = buf.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            loop {
                match reader.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let replies = b2
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(&chunk[..n]);
                        if !replies.is_empty() {
                            let _ = answer.write_all(&replies);
                        }
                    }
                }
            }
            b2.lock().unwrap_or_else(|e| e.into_inner()).eof = true;
        });
        Pty {
            master,
            child,
            reaped: false,
            buf,
            cursor: 0,
            name,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Type bytes into the terminal.
    pub fn send(&mut self, s: &str) {
        self.master.write_all(s.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    /// Type a line and press Enter.
    pub fn line(&mut self, s: &str) {
        self.send(s);
        self.send("\r");
    }

    /// Press keys named as tmux names them (`Enter`, `Tab`, `Left`, `C-a`…), sending what a
    /// terminal sends for each (cursor keys follow the application cursor mode).
    pub fn press(&mut self, keys: &[&str]) {
        for k in keys {
            let app = self
                .buf
                .lock()
                .unwrap()
                .screen
                .screen()
                .application_cursor();
            let arrow = |c: char| format!("\x1b{}{c}", if app { 'O' } else { '[' });
            let bytes = match *k {
                "Enter" => "\r".to_string(),
                "Tab" => "\t".to_string(),
                "Escape" => "\x1b".to_string(),
                "BSpace" => "\x7f".to_string(),
                "Up" => arrow('A'),
                "Down" => arrow('B'),
                "Right" => arrow('C'),
                "Left" => arrow('D'),
                c if c.len() == 3 && c.starts_with("C-") => {
                    let b = c.as_bytes()[2].to_ascii_lowercase();
                    assert!(b.is_ascii_lowercase(), "unknown key {c}");
                    ((b - b'a' + 1) as char).to_string()
                }
                other => panic!("unknown key {other}"),
            };
            self.send(&bytes);
        }
    }

    /// Wait until `needle` appears in the cleaned output after the cursor; move the cursor past
    /// it and return the text that came before it.
    pub fn expect(&mut self, needle: &str) -> String {
        self.expect_within(needle, WAIT)
    }

    pub fn expect_within(&mut self, needle: &str, wait: Duration) -> String {
        let end = Instant::now() + wait;
        loop {
            {
                let b = self.buf.lock().unwrap();
                if let Some(i) = b.clean[self.cursor..].find(needle) {
                    let before = b.clean[self.cursor..self.cursor + i].to_string();
                    self.cursor += i + needle.len();
                    return before;
                }
                if b.eof || Instant::now() > end {
                    panic!(
                        "{}: did not see {needle:?} within {wait:?}{}; output after the last match:\n{}\n--- whole output:\n{}",
                        self.name,
                        if b.eof { " (terminal closed)" } else { "" },
                        &b.clean[self.cursor..],
                        b.clean
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait for a regex after the cursor; return the first capture group (or whole match).
    pub fn expect_re(&mut self, re: &str) -> String {
        let re = regex::Regex::new(re).unwrap();
        let end = Instant::now() + WAIT;
        loop {
            {
                let b = self.buf.lock().unwrap();
                let hay = &b.clean[self.cursor..];
                if let Some(c) = re.captures(hay) {
                    let m = c.get(1).unwrap_or_else(|| c.get(0).unwrap());
                    let whole = c.get(0).unwrap();
                    let s = m.as_str().to_string();
                    self.cursor += whole.end();
                    return s;
                }
                if b.eof || Instant::now() > end {
                    panic!(
                        "{}: did not see /{re}/; output after the last match:\n{}",
                        self.name,
                        &b.clean[self.cursor..]
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Everything received so far, with escape sequences.
    pub fn raw(&self) -> Vec<u8> {
        self.buf.lock().unwrap().raw.clone()
    }

    /// Everything received so far, cleaned.
    pub fn text(&self) -> String {
        self.buf.lock().unwrap().clean.clone()
    }

    /// What the terminal shows now: one line per screen line (a line the terminal wrapped is
    /// joined back, as `tmux capture-pane -J` does), up to the last cell written on each line
    /// (spaces written count), blank lines at the end left out.
    pub fn screen(&self) -> String {
        self.buf.lock().unwrap().screen.screen().contents()
    }

    /// The foreground colours of the cells showing `ch` (each colour once, in screen order).
    pub fn colours_of(&self, ch: char) -> Vec<vt100::Color> {
        let b = self.buf.lock().unwrap();
        let s = b.screen.screen();
        let (rows, cols) = s.size();
        let mut seen = Vec::new();
        for r in 0..rows.get() {
            for c in 0..cols.get() {
                let Some(cell) = s.cell(r, c) else { continue };
                if cell.contents().starts_with(ch) && !seen.contains(&cell.fgcolor()) {
                    seen.push(cell.fgcolor());
                }
            }
        }
        seen
    }

    /// Wait (up to [`SCREEN_WAIT`]) until the screen satisfies `ok`; return that screen.
    pub fn wait_screen(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait_screen_or(what, ok, String::new)
    }

    /// [`Pty::wait_screen`], adding `why()` (what the test can find out about the cause: a
    /// program's answer, a file's state) to the failure message.
    pub fn wait_screen_or(
        &self,
        what: &str,
        ok: impl Fn(&str) -> bool,
        why: impl FnOnce() -> String,
    ) -> String {
        let end = Instant::now() + SCREEN_WAIT;
        loop {
            let sc = self.screen();
            if ok(&sc) {
                return sc;
            }
            let eof = self.buf.lock().unwrap().eof;
            if eof || Instant::now() > end {
                panic!(
                    "{}: timed out waiting for {what}{}; screen:\n{sc}\n{}",
                    self.name,
                    if eof { " (terminal closed)" } else { "" },
                    why()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until the program exits (its status; None when killed by a signal) and its output
    /// is read; kill it and its session after `wait` and panic.
    pub fn wait_exit(&mut self, wait: Duration) -> Option<i32> {
        self.try_wait_exit(wait).unwrap_or_else(|| {
            panic!(
                "{}: still running after {wait:?}:\n{}",
                self.name,
                self.text()
            )
        })
    }

    /// Like [`Pty::wait_exit`], but a program still running after `wait` is killed with its
    /// session and reported as `None`.
    pub fn try_wait_exit(&mut self, wait: Duration) -> Option<Option<i32>> {
        let end = Instant::now() + wait;
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                self.reaped = true;
                break Some(st.code());
            }
            if Instant::now() > end {
                let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
                let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.reaped = true;
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // What is still in flight (until every holder of the terminal is gone, at most a moment).
        let drain_end = Instant::now() + Duration::from_millis(500);
        while !self.buf.lock().unwrap().eof && Instant::now() < drain_end {
            std::thread::sleep(Duration::from_millis(10));
        }
        status
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if self.reaped {
            // Its process group id may belong to someone else by now: signal nothing.
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        // The program leads its own session: hang up everything in it.
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGHUP);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// Make the pty on stdin the controlling terminal of the new session.
fn libc_ioctl_sctty() -> i32 {
    nix::ioctl_write_int_bad!(tiocsctty, nix::libc::TIOCSCTTY);
    // SAFETY: plain ioctl on fd 0, which is the pty's slave side.
    match unsafe { tiocsctty(std::io::stdin().as_raw_fd(), 0) } {
        Ok(_) => 0,
        Err(_) => -1,
    }
}
