//! The supervisor: the only place that touches processes, file descriptors, signals and clocks.
//!
//! Owns: spawning the child in its own process group (handing it the terminal's foreground when
//! ee has it, so prompts, Ctrl-C and Ctrl-Z behave as for the bare command), giving it
//! pseudo-terminals for stdout and stderr so it line-buffers, the poll loop over the child's
//! streams (or ee's stdin in pipe mode) and the signal pipe, feeding bytes to the scanners and the
//! policy, passing output through, and the stop sequence (TERM + CONT to the group, KILL after
//! `--kill-after`, the leader kept unreaped until the group is signalled, so no PID is ever
//! signalled after it was reaped).

mod pty;
mod signals;

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::{getpgrp, getpid, setpgid, tcgetpgrp, tcsetpgrp, Pid};

use crate::cli::When;
use crate::matcher::{Class, Matcher};
use crate::outcome::{ChildStatus, MatchRecord, StreamStats, MAX_RECORDS};
use crate::policy::{Limits, Policy, Reason};
use crate::printer::{is_tty, Out};
use crate::scan::{Flow, LineEvent, Scanner, Stream};

/// How long ee keeps reading after the child exited, for output still in flight or held by a
/// grandchild that inherited the stream.
const EXIT_GRACE: Duration = Duration::from_millis(250);
const READ_CHUNK: usize = 256 * 1024;

/// What to run and how.
pub struct Setup<'a> {
    /// Empty: pipe mode (read ee's stdin).
    pub argv: &'a [OsString],
    pub matcher: &'a Matcher,
    pub limits: Limits,
    pub match_stdout: bool,
    pub match_stderr: bool,
    pub before: usize,
    pub kill_after: Duration,
    pub pty: When,
    pub color: When,
    /// The child's stdout goes to ee's stderr (stdout carries the JSON report).
    pub stdout_to_stderr: bool,
    /// Extra environment for the child.
    pub env: Vec<(String, String)>,
}

/// What the supervisor observed.
#[derive(Debug)]
pub struct Observed {
    pub reason: Reason,
    pub child: Option<ChildStatus>,
    pub stopped_early: bool,
    pub total: Duration,
    pub to_first_output: Option<Duration>,
    pub to_first_match: Option<Duration>,
    pub match_count: u64,
    pub stdout: StreamStats,
    pub stderr: StreamStats,
    pub matches: Vec<MatchRecord>,
    pub observed: Vec<MatchRecord>,
}

/// The command could not be started.
#[derive(Debug)]
pub enum SpawnError {
    NotFound(String),
    NotExecutable(String),
    Other(String),
}

/// Everything the poll loops share: scanners, outputs, the policy and the records.
struct Engine<'a> {
    m: &'a Matcher,
    policy: Policy,
    scanners: Vec<Scanner>,
    outs: Vec<Out>,
    matches: Vec<MatchRecord>,
    observed: Vec<MatchRecord>,
}

fn record(
    ev: &LineEvent,
    offset: Duration,
    matches: &mut Vec<MatchRecord>,
    observed: &mut Vec<MatchRecord>,
) {
    let Some(h) = &ev.hit else { return };
    let list = if h.class == Class::Observed {
        observed
    } else {
        matches
    };
    if list.len() >= MAX_RECORDS {
        return;
    }
    let lossy = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(2000)]).into_owned();
    list.push(MatchRecord {
        offset: offset.as_secs_f64(),
        stream: ev.stream.as_str(),
        line_no: ev.line_no,
        kind: h.class.as_str(),
        pattern: h.pattern.to_string(),
        line: lossy(ev.line),
        matched: lossy(&ev.line[h.start..h.end]),
        context: ev.context.iter().map(|c| lossy(c)).collect(),
    });
}

impl Engine<'_> {
    fn chunk(&mut self, i: usize, buf: &[u8], now: Instant) {
        if self.policy.stop {
            return; // read to keep the child from blocking, but the decision is taken
        }
        self.policy.on_output(now);
        let every = self.policy.wants_every_line();
        let start = self.policy.start;
        let Engine {
            m,
            policy,
            scanners,
            matches,
            observed,
            ..
        } = self;
        let end = scanners[i].feed(buf, m, every, &mut |ev| {
            record(&ev, now.saturating_duration_since(start), matches, observed);
            if policy.on_line(&ev, now) {
                Flow::Stop
            } else if policy.wants_every_line() {
                Flow::EveryLine
            } else {
                Flow::Go
            }
        });
        let end = end.unwrap_or(buf.len());
        if self.outs[i].write(&buf[..end]).is_err() {
            self.policy.force(Reason::OutputClosed);
        }
    }

    fn eof(&mut self, i: usize, now: Instant) {
        self.outs[i].flush();
        if self.policy.stop {
            return;
        }
        let every = self.policy.wants_every_line();
        let start = self.policy.start;
        let Engine {
            m,
            policy,
            scanners,
            matches,
            observed,
            ..
        } = self;
        scanners[i].finish(m, every, &mut |ev| {
            record(&ev, now.saturating_duration_since(start), matches, observed);
            if policy.on_line(&ev, now) {
                Flow::Stop
            } else {
                Flow::Go
            }
        });
    }

    fn stats(&self, stream: Stream) -> StreamStats {
        self.scanners
            .iter()
            .find(|s| s.stream == stream)
            .map(|s| StreamStats {
                lines: s.lines,
                bytes: s.bytes,
            })
            .unwrap_or_default()
    }

    fn finish(
        self,
        reason: Reason,
        child: Option<ChildStatus>,
        stopped_early: bool,
        end: Instant,
    ) -> Observed {
        let p = &self.policy;
        let since = |t: Option<Instant>| t.map(|t| t.saturating_duration_since(p.start));
        let (stdout, stderr) = if self.scanners[0].stream == Stream::Stdin {
            (self.stats(Stream::Stdin), StreamStats::default())
        } else {
            (self.stats(Stream::Stdout), self.stats(Stream::Stderr))
        };
        Observed {
            reason,
            child,
            stopped_early,
            total: end.saturating_duration_since(p.start),
            to_first_output: since(p.first_output),
            to_first_match: since(p.first_match),
            match_count: p.matches,
            stdout,
            stderr,
            matches: self.matches,
            observed: self.observed,
        }
    }
}

fn poll_timeout(deadline: Option<Instant>, now: Instant) -> PollTimeout {
    match deadline {
        None => PollTimeout::NONE,
        Some(d) => {
            let ms = d.saturating_duration_since(now).as_micros().div_ceil(1000);
            PollTimeout::try_from(ms.min(60_000) as i32).unwrap_or(PollTimeout::NONE)
        }
    }
}

fn min_deadline(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The reason when the source ended by itself.
fn natural_reason(m: &Matcher, child: Option<ChildStatus>) -> Reason {
    if child == Some(ChildStatus::Signaled(Signal::SIGINT as i32)) {
        return Reason::Interrupted(Signal::SIGINT as i32);
    }
    if m.main.is_some() || !m.success.is_empty() {
        Reason::NoMatch
    } else {
        Reason::Completed
    }
}

/// Pipe mode: read ee's stdin, echo it, stop at the decision. The producer cannot be killed.
pub fn watch_stdin(setup: &Setup) -> io::Result<Observed> {
    let start = Instant::now();
    let sigs = signals::SignalPipe::install().map_err(io::Error::from)?;
    let out_fd = if setup.stdout_to_stderr { 2 } else { 1 };
    let mut eng = Engine {
        m: setup.matcher,
        policy: Policy::new(setup.limits.clone(), start),
        scanners: vec![Scanner::new(Stream::Stdin, true, setup.before)],
        outs: vec![Out::new(out_fd, setup.color == When::Never)],
        matches: Vec::new(),
        observed: Vec::new(),
    };
    let mut buf = vec![0u8; READ_CHUNK];
    // Bigger pipe buffers on both sides mean fewer context switches at full speed (as pv does);
    // fails harmlessly for anything that is not a pipe.
    for fd in [0, out_fd] {
        let _ = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
    }
    // SAFETY: fd 0 stays open for the whole run.
    let stdin = unsafe { BorrowedFd::borrow_raw(0) };
    let mut eof = false;
    while !eng.policy.stop {
        let now = Instant::now();
        let mut fds = [
            PollFd::new(stdin, PollFlags::POLLIN),
            PollFd::new(sigs.read.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, poll_timeout(eng.policy.next_deadline(), now)) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        let sig_ready = fds[1].any().unwrap_or(false);
        let in_ready = fds[0].any().unwrap_or(false);
        if sig_ready {
            for s in sigs.drain() {
                if signals::FORWARDED.iter().any(|f| *f as i32 == s) {
                    eng.policy.force(Reason::Interrupted(s));
                }
            }
        }
        if in_ready && !eng.policy.stop {
            match nix::unistd::read(0, &mut buf) {
                Ok(0) => eof = true,
                Ok(n) => eng.chunk(0, &buf[..n], Instant::now()),
                Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(_) => eof = true,
            }
        }
        if eof {
            eng.eof(0, Instant::now());
            break;
        }
        eng.policy.on_tick(Instant::now());
    }
    let end = Instant::now();
    let reason = eng
        .policy
        .reason
        .unwrap_or_else(|| natural_reason(setup.matcher, None));
    let early = !eof;
    Ok(eng.finish(reason, None, early, end))
}

/// The terminal ee controls, if it is in the foreground of one: the child gets it while it runs.
fn foreground_tty() -> Option<i32> {
    let me = getpgrp();
    [0, 1, 2].into_iter().find(|&fd| {
        // SAFETY: standard descriptors.
        is_tty(fd) && tcgetpgrp(unsafe { BorrowedFd::borrow_raw(fd) }).ok() == Some(me)
    })
}

/// Gives the terminal back to ee's process group when dropped.
struct TtyGuard(Option<i32>);

impl Drop for TtyGuard {
    fn drop(&mut self) {
        if let Some(fd) = self.0 {
            // SAFETY: standard descriptor.
            let _ = tcsetpgrp(unsafe { BorrowedFd::borrow_raw(fd) }, getpgrp());
        }
    }
}

fn child_status(ws: WaitStatus) -> Option<ChildStatus> {
    match ws {
        WaitStatus::Exited(_, c) => Some(ChildStatus::Exited(c)),
        WaitStatus::Signaled(_, s, _) => Some(ChildStatus::Signaled(s as i32)),
        _ => None,
    }
}

/// Command mode: spawn the child and supervise it.
pub fn watch_command(setup: &Setup) -> Result<Observed, SpawnError> {
    let sigs = signals::SignalPipe::install().map_err(|e| SpawnError::Other(e.to_string()))?;
    let use_pty = setup.pty != When::Never;
    let ws = pty::terminal_size().or(Some(nix::pty::Winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }));
    let out_fd = if setup.stdout_to_stderr { 2 } else { 1 };
    let dests = [out_fd, 2];

    // The child's two output channels: ptys (real-time, colours) or pipes.
    let mut masters: Vec<Option<OwnedFd>> = Vec::new();
    let mut slaves: Vec<OwnedFd> = Vec::new();
    let mut strip = [false, false];
    for (i, dest) in dests.iter().enumerate() {
        let made = if use_pty { pty::open(ws).ok() } else { None };
        let (master, slave, is_pty) = match made {
            Some(p) => (p.master, p.slave, true),
            None if setup.pty == When::Always => {
                return Err(SpawnError::Other(
                    "cannot open a pseudo-terminal (--pty always)".into(),
                ))
            }
            None => {
                let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                    .map_err(|e| SpawnError::Other(e.to_string()))?;
                (r, w, false)
            }
        };
        strip[i] =
            setup.color == When::Never || (setup.color == When::Auto && is_pty && !is_tty(*dest));
        masters.push(Some(master));
        slaves.push(slave);
    }

    let tty = foreground_tty();
    let mut cmd = std::process::Command::new(&setup.argv[0]);
    cmd.args(&setup.argv[1..]);
    cmd.envs(setup.env.iter().map(|(k, v)| (k, v)));
    let err_slave = slaves.pop().expect("two slaves");
    let out_slave = slaves.pop().expect("two slaves");
    cmd.stdout(Stdio::from(out_slave));
    cmd.stderr(Stdio::from(err_slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
            if let Some(fd) = tty {
                let _ = tcsetpgrp(BorrowedFd::borrow_raw(fd), getpid());
            }
            signals::reset_for_child();
            Ok(())
        });
    }
    let start = Instant::now();
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let name = setup.argv[0].to_string_lossy().into_owned();
            return Err(match e.kind() {
                io::ErrorKind::NotFound => SpawnError::NotFound(name),
                io::ErrorKind::PermissionDenied => SpawnError::NotExecutable(name),
                _ => SpawnError::Other(format!("{name}: {e}")),
            });
        }
    };
    drop(cmd); // closes our copies of the slaves, so EOF arrives when the child's side closes
    let pid = Pid::from_raw(child.id() as i32);
    let _ = setpgid(pid, pid);
    let _guard = TtyGuard(tty);
    if let Some(fd) = tty {
        // SAFETY: standard descriptor.
        let _ = tcsetpgrp(unsafe { BorrowedFd::borrow_raw(fd) }, pid);
    }

    let mut eng = Engine {
        m: setup.matcher,
        policy: Policy::new(setup.limits.clone(), start),
        scanners: vec![
            Scanner::new(Stream::Stdout, setup.match_stdout, setup.before),
            Scanner::new(Stream::Stderr, setup.match_stderr, setup.before),
        ],
        outs: vec![Out::new(dests[0], strip[0]), Out::new(dests[1], strip[1])],
        matches: Vec::new(),
        observed: Vec::new(),
    };
    let mut buf = vec![0u8; READ_CHUNK];
    let mut exited: Option<(ChildStatus, Instant)> = None;
    let mut term_sent: Option<Instant> = None;
    let mut killed = false;
    let mut stopped_early = false;
    let mut last_ws = ws;

    loop {
        let now = Instant::now();
        let mut deadline = eng.policy.next_deadline();
        if let Some((_, at)) = exited {
            deadline = min_deadline(deadline, Some(at + EXIT_GRACE));
        }
        if let (Some(t), false) = (term_sent, killed) {
            deadline = min_deadline(deadline, Some(t + setup.kill_after));
        }
        if tty.is_some() && exited.is_none() {
            deadline = min_deadline(deadline, Some(now + Duration::from_millis(500)));
        }
        let (ready, sig_ready) = {
            let mut fds: Vec<PollFd> = vec![PollFd::new(sigs.read.as_fd(), PollFlags::POLLIN)];
            let mut idx = Vec::new();
            for (i, m) in masters.iter().enumerate() {
                if let Some(m) = m {
                    fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
                    idx.push(i);
                }
            }
            match poll(&mut fds, poll_timeout(deadline, now)) {
                Err(nix::errno::Errno::EINTR) => (Vec::new(), true),
                Err(e) => return Err(SpawnError::Other(e.to_string())),
                Ok(_) => {
                    let sig = fds[0].any().unwrap_or(false);
                    let r: Vec<usize> = idx
                        .iter()
                        .zip(&fds[1..])
                        .filter(|(_, f)| {
                            f.revents().is_some_and(|r| {
                                r.intersects(
                                    PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR,
                                )
                            })
                        })
                        .map(|(i, _)| *i)
                        .collect();
                    (r, sig)
                }
            }
        };
        if sig_ready {
            for s in sigs.drain() {
                if s == Signal::SIGCHLD as i32 {
                    continue; // checked below on every turn
                } else if s == Signal::SIGWINCH as i32 {
                    last_ws = resize_if_changed(&masters, last_ws, pid);
                } else if exited.is_none() {
                    if let Ok(sig) = Signal::try_from(s) {
                        let _ = killpg(pid, sig);
                    }
                    eng.policy.force(Reason::Interrupted(s));
                    term_sent.get_or_insert(Instant::now());
                    stopped_early = true;
                } else {
                    eng.policy.force(Reason::Interrupted(s));
                }
            }
        }
        for i in ready {
            let Some(fd) = masters[i].as_ref() else {
                continue;
            };
            match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                Ok(0) | Err(nix::errno::Errno::EIO) => {
                    masters[i] = None;
                    eng.eof(i, Instant::now());
                }
                Ok(n) => eng.chunk(i, &buf[..n], Instant::now()),
                Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(_) => {
                    masters[i] = None;
                    eng.eof(i, Instant::now());
                }
            }
        }
        let now = Instant::now();
        if exited.is_none() {
            if let Ok(ws) = waitid(
                Id::Pid(pid),
                WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
            ) {
                if let Some(st) = child_status(ws) {
                    exited = Some((st, now));
                }
            }
            if exited.is_none() {
                if let Ok(WaitStatus::Stopped(..)) =
                    waitid(Id::Pid(pid), WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG)
                {
                    if let Some(fd) = tty {
                        let paused = suspend_with_child(fd, pid);
                        eng.policy.pause(paused);
                    }
                }
            }
            if tty.is_some() {
                last_ws = resize_if_changed(&masters, last_ws, pid);
            }
        }
        if !eng.policy.stop {
            eng.policy.on_tick(now);
        }
        if eng.policy.stop && exited.is_none() && term_sent.is_none() {
            let _ = killpg(pid, Signal::SIGTERM);
            let _ = killpg(pid, Signal::SIGCONT);
            term_sent = Some(now);
            stopped_early = true;
        }
        if let (Some(t), false) = (term_sent, killed) {
            if now >= t + setup.kill_after {
                let _ = killpg(pid, Signal::SIGKILL);
                killed = true;
            }
        }
        if let Some((_, at)) = exited {
            if masters.iter().all(Option::is_none) || now >= at + EXIT_GRACE {
                break;
            }
        }
    }
    let end = Instant::now();
    if term_sent.is_some() {
        // Grandchildren die too; the leader is still unreaped, so the group id is still ours.
        let _ = killpg(pid, Signal::SIGKILL);
    }
    let status = waitpid(pid, None)
        .ok()
        .and_then(child_status)
        .or(exited.map(|e| e.0));
    drop(child);
    let reason = eng
        .policy
        .reason
        .unwrap_or_else(|| natural_reason(setup.matcher, status));
    Ok(eng.finish(reason, status, stopped_early, end))
}

/// The child was stopped (Ctrl-Z): take the terminal back, stop ee so the shell sees a stopped
/// job, and on `fg` hand the terminal to the child again and continue it. Returns the pause.
fn suspend_with_child(fd: i32, pid: Pid) -> Duration {
    // SAFETY: standard descriptor.
    let tty = unsafe { BorrowedFd::borrow_raw(fd) };
    let t = Instant::now();
    let _ = tcsetpgrp(tty, getpgrp());
    let _ = kill(getpid(), Signal::SIGSTOP);
    let _ = tcsetpgrp(tty, pid);
    let _ = killpg(pid, Signal::SIGCONT);
    t.elapsed()
}

fn resize_if_changed(
    masters: &[Option<OwnedFd>],
    last: Option<nix::pty::Winsize>,
    pid: Pid,
) -> Option<nix::pty::Winsize> {
    let Some(ws) = pty::terminal_size() else {
        return last;
    };
    let same = last.is_some_and(|l| l.ws_row == ws.ws_row && l.ws_col == ws.ws_col);
    if !same {
        for m in masters.iter().flatten() {
            pty::resize(m.as_fd(), &ws);
        }
        let _ = killpg(pid, Signal::SIGWINCH);
    }
    Some(ws)
}
