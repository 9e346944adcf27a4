//! The supervisor: the only place that touches processes, file descriptors, signals and clocks.
//!
//! Owns: spawning the child in its own process group (handing it the terminal's foreground when
//! ee has it, so prompts, Ctrl-C and Ctrl-Z behave as for the bare command), giving it
//! pseudo-terminals for stdout and stderr (in `ee run` only where ee's own stream is a terminal,
//! so the child sees what the bare command would), the poll loop over the child's
//! streams (or ee's stdin in pipe mode) and the signal pipe, feeding bytes to the scanners and the
//! policy, passing output through, and the stop sequence (TERM + CONT to the group, KILL after
//! `--kill-after`, the leader kept unreaped until the group is signalled, so no PID is ever
//! signalled after it was reaped; on a stop ee decides, the descendants outside the group too, see
//! `reaper`), and the terminal's modes put back after a child that did not exit by itself.

mod decompress;
mod feed;
mod foreground;
pub mod logs;
mod pty;
mod reaper;
pub mod signals;
mod sys;
mod ttystate;

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{getpgrp, getpid, setpgid, tcsetpgrp, Pid};

use crate::engine::matcher::Matcher;
use crate::engine::outcome::ChildStatus;
pub use crate::engine::outcome::Observed;
use crate::engine::policy::{Limits, Policy, Reason};
use crate::engine::printer::{is_tty, note, Decor, Out};
use crate::engine::scan::{Scanner, Stream};
use crate::engine::When;

use feed::{Channel, Feed};
use logs::{LogSink, LogSpec};

/// How long ee keeps reading after the child exited, for output still in flight or held by a
/// grandchild that inherited the stream.
const EXIT_GRACE: Duration = Duration::from_millis(250);
const READ_CHUNK: usize = 256 * 1024;

/// When to leave the child running instead of stopping it (`--detach`).
#[derive(Debug, Clone, Default)]
pub struct Detach {
    pub on_match: bool,
    pub on_timeout: bool,
    pub pid_file: Option<PathBuf>,
}

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
    /// `--pty auto` gives the child a pty only on the streams whose destination is a terminal
    /// (`ee run`: the child sees the same `isatty` answers as the bare command).
    pub mirror_terminals: bool,
    pub color: When,
    /// The child's stdout goes to ee's stderr (stdout carries the JSON report).
    pub stdout_to_stderr: bool,
    /// Extra environment for the child.
    pub env: Vec<(String, String)>,
    /// Extra descriptors (`--fd N`), each with its own matcher when `--fd-pattern` gave one.
    pub fds: Vec<(i32, Option<&'a Matcher>)>,
    /// Label lines with their stream (`--fd-prefix`).
    pub prefix: bool,
    pub logs: Option<LogSpec>,
    pub detach: Detach,
    /// `-n` line numbers and `--color` match highlighting of passed-through lines.
    pub decor: Decor,
    pub progress: bool,
    /// Pipe mode: decompress gzip/bzip2/xz input (`-Z`).
    pub decompress: bool,
    pub quiet: bool,
}

/// The command could not be started.
#[derive(Debug)]
pub enum SpawnError {
    NotFound(String),
    NotExecutable(String),
    Other(String),
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

/// Open the log file of each stream (by its suffix), saying where they are.
fn open_logs(
    spec: Option<&LogSpec>,
    suffixes: &[String],
    quiet: bool,
) -> io::Result<Vec<Option<LogSink>>> {
    let Some(spec) = spec else {
        return Ok(suffixes.iter().map(|_| None).collect());
    };
    spec.prepare_dir()?;
    let mut out = Vec::new();
    let mut names = Vec::new();
    for suf in suffixes {
        let path = spec.path(suf);
        let sink = LogSink::open(&path, spec).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open log file {}: {e}", path.display()),
            )
        })?;
        names.push(path.display().to_string());
        out.push(Some(sink));
    }
    note(quiet, &format!("logging to {}", names.join(", ")));
    Ok(out)
}

/// Pipe mode: read ee's stdin, echo it, stop at the decision. The producer cannot be killed.
pub fn watch_stdin(setup: &Setup) -> io::Result<Observed> {
    let start = Instant::now();
    let sigs = signals::SignalPipe::install(false).map_err(io::Error::from)?;
    let out_fd = if setup.stdout_to_stderr { 2 } else { 1 };
    let mut logs = open_logs(setup.logs.as_ref(), &[String::new()], setup.quiet)?;
    let mut out = setup
        .decor
        .apply(Out::new(out_fd, setup.color == When::Never), out_fd);
    if setup.prefix {
        out = out.with_prefix("[stdin] ");
    }
    let chan = Channel {
        scanner: Scanner::new(Stream::Stdin, true, setup.before),
        matcher: setup.matcher,
        out,
        log: logs.pop().flatten(),
    };
    let mut feed = Feed::new(
        Policy::new(setup.limits.clone(), start),
        vec![chan],
        setup.quiet,
        setup.progress,
    );
    let mut buf = vec![0u8; READ_CHUNK];
    // Bigger pipe buffers on both sides mean fewer context switches at full speed (as pv does);
    // fails harmlessly for anything that is not a pipe.
    for fd in [0, out_fd] {
        sys::grow_pipe(fd);
    }
    let mut decoder = None;
    if setup.decompress {
        let head = decompress::read_head(6)?;
        match decompress::sniff(&head) {
            Some(f) => decoder = Some(decompress::start(f, head)?),
            None if head.is_empty() => {}
            None => feed.chunk(0, &head, Instant::now()),
        }
    }
    // SAFETY: fd 0 stays open for the whole run.
    let input: BorrowedFd = match &decoder {
        Some(d) => d.output.as_fd(),
        None => unsafe { BorrowedFd::borrow_raw(0) },
    };
    let mut eof = false;
    while !feed.policy.stop {
        let now = Instant::now();
        let mut fds = [
            PollFd::new(input, PollFlags::POLLIN),
            PollFd::new(sigs.read.as_fd(), PollFlags::POLLIN),
        ];
        let deadline = min_deadline(feed.policy.next_deadline(), feed.progress_deadline(now));
        match poll(&mut fds, poll_timeout(deadline, now)) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        let sig_ready = fds[1].any().unwrap_or(false);
        let in_ready = fds[0].any().unwrap_or(false);
        if sig_ready {
            for s in sigs.drain() {
                if signals::FORWARDED.iter().any(|f| *f as i32 == s) {
                    feed.policy.force(Reason::Interrupted(s));
                }
            }
        }
        if in_ready && !feed.policy.stop {
            match nix::unistd::read(input.as_raw_fd(), &mut buf) {
                Ok(0) => eof = true,
                Ok(n) => feed.chunk(0, &buf[..n], Instant::now()),
                Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(_) => eof = true,
            }
        }
        if eof {
            feed.eof(0, Instant::now());
            break;
        }
        let now = Instant::now();
        feed.policy.on_tick(now);
        feed.draw_progress(now, false);
    }
    if let Some(d) = &decoder {
        if let Some(e) = d.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            note(setup.quiet, &format!("cannot decompress the input: {e}"));
        }
    }
    let end = Instant::now();
    Ok(feed.finish(natural_reason(setup.matcher, None), None, !eof, end))
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

/// The child's output channels, opened before it is spawned.
struct Pipes {
    /// Read ends: stdout, stderr, then one per extra descriptor.
    masters: Vec<Option<OwnedFd>>,
    /// Write ends for stdout and stderr.
    out_slave: OwnedFd,
    err_slave: OwnedFd,
    /// Write ends of the extra descriptors, parked on high numbers: (target fd, parked fd).
    extra: Vec<(i32, OwnedFd)>,
    strip: [bool; 2],
}

fn open_pipes(setup: &Setup, dests: [i32; 2]) -> Result<Pipes, SpawnError> {
    let other = |e: nix::Error| SpawnError::Other(e.to_string());
    let mut masters = Vec::new();
    let mut slaves = Vec::new();
    let mut strip = [false, false];
    if setup.mirror_terminals && setup.pty == When::Auto && shares_terminal(setup, dests) {
        // Both streams go to the same terminal: one pty for both, as the bare command has one
        // terminal on both, so the order of its stdout and stderr writes is kept exactly. ee then
        // watches them as one stream (stdout).
        if let Ok(p) = pty::open(Some(pty::size_for(dests[0]))) {
            let err_slave = p
                .slave
                .try_clone()
                .map_err(|e| SpawnError::Other(e.to_string()))?;
            masters.push(Some(p.master));
            masters.push(None);
            slaves.push(p.slave);
            slaves.push(err_slave);
        }
    }
    for (i, dest) in dests.iter().enumerate() {
        if slaves.len() == 2 {
            strip = [setup.color == When::Never; 2];
            break;
        }
        let want_pty = match setup.pty {
            When::Never => false,
            When::Always => true,
            When::Auto => !setup.mirror_terminals || is_tty(*dest),
        };
        let made = if want_pty {
            pty::open(Some(pty::size_for(*dest))).ok()
        } else {
            None
        };
        let (master, slave, is_pty) = match made {
            Some(p) => (p.master, p.slave, true),
            None if setup.pty == When::Always => {
                return Err(SpawnError::Other(
                    "cannot open a pseudo-terminal (--pty always)".into(),
                ))
            }
            None => {
                let (r, w) = sys::pipe(false).map_err(other)?;
                (r, w, false)
            }
        };
        strip[i] =
            setup.color == When::Never || (setup.color == When::Auto && is_pty && !is_tty(*dest));
        masters.push(Some(master));
        slaves.push(slave);
    }
    let mut extra = Vec::new();
    for (n, _) in &setup.fds {
        let (r, w) = sys::pipe(false).map_err(other)?;
        // Park the write end above any target so the dup2s in the child cannot clobber each other.
        let parked = nix::fcntl::fcntl(w.as_raw_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(1024))
            .map_err(other)?;
        drop(w);
        // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that we now own.
        extra.push((*n, unsafe {
            <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(parked)
        }));
        masters.push(Some(r));
    }
    let err_slave = slaves.pop().expect("two slaves");
    let out_slave = slaves.pop().expect("two slaves");
    Ok(Pipes {
        masters,
        out_slave,
        err_slave,
        extra,
        strip,
    })
}

/// Do stdout and stderr lead to the same terminal, with nothing asking ee to tell them apart?
fn shares_terminal(setup: &Setup, dests: [i32; 2]) -> bool {
    let rdev = |fd: i32| nix::sys::stat::fstat(fd).ok().map(|st| st.st_rdev);
    setup.match_stdout
        && setup.match_stderr
        && !setup.prefix
        && setup.limits.stderr_idle.is_none()
        && is_tty(dests[0])
        && is_tty(dests[1])
        && rdev(dests[0]).is_some()
        && rdev(dests[0]) == rdev(dests[1])
}

/// Command mode: spawn the child and supervise it.
pub fn watch_command(setup: &Setup) -> Result<Observed, SpawnError> {
    let job = foreground::decide();
    let tty = job.tty();
    let sigs = signals::SignalPipe::install(tty.is_some())
        .map_err(|e| SpawnError::Other(e.to_string()))?;
    let ws = pty::terminal_size();
    let out_fd = if setup.stdout_to_stderr { 2 } else { 1 };
    let dests = [out_fd, 2];
    let pipes = open_pipes(setup, dests)?;
    let Pipes {
        mut masters,
        out_slave,
        err_slave,
        extra,
        strip,
    } = pipes;

    let mut suffixes = vec![String::new(), "err".to_string()];
    suffixes.extend(setup.fds.iter().map(|(n, _)| format!("fd{n}")));
    let logs = open_logs(setup.logs.as_ref(), &suffixes, setup.quiet)
        .map_err(|e| SpawnError::Other(e.to_string()))?;

    let mut cmd = std::process::Command::new(&setup.argv[0]);
    cmd.args(&setup.argv[1..]);
    cmd.envs(setup.env.iter().map(|(k, v)| (k, v)));
    cmd.stdout(Stdio::from(out_slave));
    cmd.stderr(Stdio::from(err_slave));
    let targets: Vec<(i32, i32)> = extra.iter().map(|(n, fd)| (*n, fd.as_raw_fd())).collect();
    if tty.is_none() && targets.is_empty() {
        // Nothing to do between fork and exec but the new group: std can then use posix_spawn
        // (a vfork-like clone), the cheapest start there is.
        if !job.shared() {
            cmd.process_group(0);
        }
    } else {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if !job.shared() {
                    let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
                }
                if let Some(fd) = tty {
                    let _ = tcsetpgrp(BorrowedFd::borrow_raw(fd), getpid());
                }
                for (n, parked) in &targets {
                    nix::unistd::dup2(*parked, *n)?;
                }
                signals::reset_for_child();
                Ok(())
            });
        }
    }
    let modes = ttystate::save();
    reaper::become_subreaper();
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
    drop(cmd); // closes our copies of the write ends, so EOF arrives when the child's side closes
    drop(extra);
    let pid = Pid::from_raw(child.id() as i32);
    if !job.shared() {
        let _ = setpgid(pid, pid);
    }
    let guard = TtyGuard(tty);
    if let Some(fd) = tty {
        // SAFETY: standard descriptor.
        let _ = tcsetpgrp(unsafe { BorrowedFd::borrow_raw(fd) }, pid);
    }

    let mut chans = Vec::new();
    let streams: Vec<(Stream, i32, bool, &Matcher, bool)> = [
        (
            Stream::Stdout,
            dests[0],
            setup.match_stdout,
            setup.matcher,
            strip[0],
        ),
        (
            Stream::Stderr,
            dests[1],
            setup.match_stderr,
            setup.matcher,
            strip[1],
        ),
    ]
    .into_iter()
    .chain(
        setup
            .fds
            .iter()
            .map(|(n, m)| (Stream::Fd(*n), 2, true, m.unwrap_or(setup.matcher), false)),
    )
    .collect();
    for ((stream, dest, matching, matcher, strip), log) in streams.into_iter().zip(logs) {
        let mut out = setup.decor.apply(Out::new(dest, strip), dest);
        if setup.prefix {
            out = out.with_prefix(&format!("[{}] ", stream.name()));
        }
        chans.push(Channel {
            scanner: Scanner::new(stream, matching, setup.before),
            matcher,
            out,
            log,
        });
    }
    let mut feed = Feed::new(
        Policy::new(setup.limits.clone(), start),
        chans,
        setup.quiet,
        setup.progress,
    );
    let mut buf = vec![0u8; READ_CHUNK];
    let mut exited: Option<(ChildStatus, Instant)> = None;
    let mut term_sent: Option<Instant> = None;
    let mut killed = false;
    let mut stopped_early = false;
    // ee itself decided the stop (timeout, match, stuck…), as opposed to passing on a signal or
    // a closed output: then every descendant ends, inside the group or not.
    let mut own_stop = false;
    // The process group the child's stop signals reach (see `foreground::signal`).
    let child_group = if job.shared() { getpgrp() } else { pid };
    let mut last_ws = ws;

    loop {
        let now = Instant::now();
        let mut deadline = min_deadline(feed.policy.next_deadline(), feed.progress_deadline(now));
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
            let polled = poll(&mut fds, poll_timeout(deadline, now));
            if let Some(paused) = foreground::stopped_for(job, deadline, now) {
                feed.policy.pause(paused);
            }
            match polled {
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
                    // The child is checked below on every turn; orphans that reparented to ee
                    // and exited are reaped here.
                    reaper::reap_strays(pid);
                } else if s == Signal::SIGWINCH as i32 {
                    last_ws = resize_if_changed(&masters, last_ws, pid);
                } else if exited.is_none() {
                    if let Ok(sig) = Signal::try_from(s) {
                        if foreground::forwards(job, sig) {
                            foreground::signal(pid, job, sig);
                        }
                    }
                    feed.policy.force(Reason::Interrupted(s));
                    term_sent.get_or_insert(Instant::now());
                    stopped_early = true;
                } else {
                    feed.policy.force(Reason::Interrupted(s));
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
                    feed.eof(i, Instant::now());
                }
                Ok(n) => feed.chunk(i, &buf[..n], Instant::now()),
                Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(_) => {
                    masters[i] = None;
                    feed.eof(i, Instant::now());
                }
            }
        }
        let now = Instant::now();
        if exited.is_none() {
            if let Some(ws) = sys::peek_exit(pid) {
                if let Some(st) = child_status(ws) {
                    exited = Some((st, now));
                }
            }
            if exited.is_none() && sys::stopped(pid) {
                if let Some(fd) = tty {
                    let paused = suspend_with_child(fd, pid);
                    feed.policy.pause(paused);
                }
            }
            if tty.is_some() {
                last_ws = resize_if_changed(&masters, last_ws, pid);
            }
        }
        if !feed.policy.stop {
            feed.policy.on_tick(now);
        }
        feed.draw_progress(now, false);
        if exited.is_none() && term_sent.is_none() {
            // Detaching happens at the decision itself: there is no trace to wait for.
            let d = &setup.detach;
            let detach = feed.policy.reason.is_some_and(|r| {
                (d.on_match
                    && matches!(r, Reason::Match | Reason::ErrorMatch | Reason::SuccessMatch))
                    || (d.on_timeout && r.is_timeout())
            });
            if detach {
                drop(guard);
                return Ok(detach_child(feed, masters, pid, &setup.detach, setup.quiet));
            }
        }
        if feed.policy.stop && exited.is_none() && term_sent.is_none() {
            // A tool that reports its failures when interrupted (pytest) gets Ctrl-C's SIGINT.
            let sig = if feed.policy.limits.interrupt_stop {
                Signal::SIGINT
            } else {
                Signal::SIGTERM
            };
            foreground::signal(pid, job, sig);
            foreground::signal(pid, job, Signal::SIGCONT);
            own_stop = !matches!(
                feed.policy.reason,
                Some(Reason::Interrupted(_) | Reason::OutputClosed)
            );
            // Descendants that left the group get SIGTERM now; those in it had `sig` (a tool
            // stopped like Ctrl-C must be left to print its failure summary).
            if own_stop {
                reaper::signal_escaped(Signal::SIGTERM, child_group);
            }
            term_sent = Some(now);
            stopped_early = true;
        }
        if let (Some(t), false) = (term_sent, killed) {
            if now >= t + setup.kill_after {
                foreground::signal(pid, job, Signal::SIGKILL);
                if own_stop {
                    reaper::signal_escaped(Signal::SIGKILL, child_group);
                }
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
        foreground::signal(pid, job, Signal::SIGKILL);
    }
    let status = waitpid(pid, None)
        .ok()
        .and_then(child_status)
        .or(exited.map(|e| e.0));
    drop(child);
    if let (Some(t), true) = (term_sent, own_stop) {
        reaper::sweep(t + setup.kill_after);
    }
    drop(guard);
    let killed_by_signal = matches!(status, Some(ChildStatus::Signaled(_)));
    if let (Some(m), true) = (modes, term_sent.is_some() || killed_by_signal) {
        m.restore();
    }
    Ok(feed.finish(
        natural_reason(setup.matcher, status),
        status,
        stopped_early,
        end,
    ))
}

/// `--detach`: leave the child running. A background drainer (a forked copy of ee in its own
/// session) keeps reading its output, into the logs when there are any, so the child never gets
/// SIGPIPE or EIO; ee writes the PID file, says where the child is, and returns.
fn detach_child(
    mut feed: Feed,
    masters: Vec<Option<OwnedFd>>,
    pid: Pid,
    d: &Detach,
    quiet: bool,
) -> Observed {
    let pgid = nix::unistd::getpgid(Some(pid)).unwrap_or(pid);
    if let Some(path) = &d.pid_file {
        let written = logs::open_private(path, false)
            .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{pid}\n").as_bytes()));
        if let Err(e) = written {
            note(
                quiet,
                &format!("cannot write the PID file {}: {e}", path.display()),
            );
        }
    }
    let logs: Vec<Option<LogSink>> = feed.chans.iter_mut().map(|c| c.log.take()).collect();
    // SAFETY: ee is single-threaded in command mode; the child only reads, writes and exits.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let _ = nix::unistd::setsid();
            if let Ok(null) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                for fd in 0..3 {
                    let _ = nix::unistd::dup2(null.as_raw_fd(), fd);
                }
            }
            drain_forever(masters, logs);
            // SAFETY: leave without running ee's exit path a second time.
            unsafe { nix::libc::_exit(0) }
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => {
            // The drainer owns the logs now: do not finish (or flush a gzip trailer into) them here.
            std::mem::forget(logs);
            drop(masters);
        }
        Err(e) => note(quiet, &format!("cannot start the output drainer: {e}")),
    }
    note(quiet, &format!("detached: pid {pid}, process group {pgid}"));
    let end = Instant::now();
    let reason = feed.policy.reason.unwrap_or(Reason::Match);
    let mut obs = feed.finish(reason, None, false, end);
    obs.detached = true;
    obs
}

fn drain_forever(mut masters: Vec<Option<OwnedFd>>, mut logs: Vec<Option<LogSink>>) {
    let mut buf = vec![0u8; 64 * 1024];
    while masters.iter().any(Option::is_some) {
        let mut fds = Vec::new();
        let mut idx = Vec::new();
        for (i, m) in masters.iter().enumerate() {
            if let Some(m) = m {
                fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
                idx.push(i);
            }
        }
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            continue;
        }
        let ready: Vec<usize> = idx
            .iter()
            .zip(&fds)
            .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| *i)
            .collect();
        for i in ready {
            let Some(fd) = masters[i].as_ref() else {
                continue;
            };
            match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                Ok(0) | Err(nix::errno::Errno::EIO) => masters[i] = None,
                Ok(n) => {
                    if let Some(Some(l)) = logs.get_mut(i) {
                        let _ = l.write(&buf[..n]);
                    }
                }
                Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(_) => masters[i] = None,
            }
        }
    }
    for l in logs.into_iter().flatten() {
        let _ = l.finish();
    }
}

/// The child was stopped (Ctrl-Z): take the terminal back, stop ee so the shell sees a stopped
/// job, and on `fg` hand the terminal to the child again and continue it. Returns the pause.
fn suspend_with_child(fd: i32, pid: Pid) -> Duration {
    // SAFETY: standard descriptor.
    let tty = unsafe { BorrowedFd::borrow_raw(fd) };
    let t = Instant::now();
    let _ = tcsetpgrp(tty, getpgrp());
    // SIGTSTP (default action: stop), so the shell reports the job as the bare command's.
    signals::default_action(Signal::SIGTSTP);
    let _ = kill(getpid(), Signal::SIGTSTP);
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
