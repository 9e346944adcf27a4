//! A small pseudo-terminal driver for the shell tests: starts a program as the session leader of
//! a new pty (so job control, Ctrl-C and Ctrl-Z work as in a terminal emulator), collects
//! everything it writes, and waits for expected text with a deadline.

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

#[derive(Default)]
struct Buf {
    raw: Vec<u8>,
    clean: String,
    esc: u8,
    eof: bool,
}

impl Buf {
    /// Keep a copy with escape sequences and carriage returns removed, for matching text.
    fn push(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
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
    }
}

pub struct Pty {
    master: File,
    child: Child,
    buf: Arc<Mutex<Buf>>,
    /// Position in the cleaned text after the last expectation.
    pub cursor: usize,
    pub name: String,
}

impl Pty {
    /// Start `prog args` on a new 80x24 pty with exactly the environment `env` (plus TERM).
    pub fn spawn<I, S>(prog: &str, args: I, env: &[(String, String)], cwd: &std::path::Path) -> Pty
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let ws = nix::pty::Winsize {
            ws_row: 24,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&ws), None).expect("openpty");
        let master: OwnedFd = pty.master;
        let slave: OwnedFd = pty.slave;
        let mut cmd = Command::new(prog);
        cmd.args(args).env_clear().current_dir(cwd);
        for (k, v) in env {
            cmd.env(k, v);
        }
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
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {prog}: {e}"));
        drop(cmd);
        let master = File::from(master);
        let buf = Arc::new(Mutex::new(Buf::default()));
        let mut reader = master.try_clone().unwrap();
        let b2 = buf.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            loop {
                match reader.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => b2
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(&chunk[..n]),
                }
            }
            b2.lock().unwrap_or_else(|e| e.into_inner()).eof = true;
        });
        Pty {
            master,
            child,
            buf,
            cursor: 0,
            name: prog.to_string(),
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
}

impl Drop for Pty {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        // The shell leads its own session: hang up everything in it.
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
