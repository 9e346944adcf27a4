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
//!
//! Here: the entry points ([`watch_stdin`]; [`watch_command`], or its two halves
//! [`start_command`] and [`watch_started`] for `ee run`, whose plan is completed while the
//! command starts) and the command-mode loop
//! (`Watch`: poll → feed → decide → act). `child` is the process and its stop sequence, `poll`
//! the poll set, `feed` the bytes-in, decisions-out half, `pipes` the pty/pipe set-up, `detach`
//! `--detach`.

mod child;
mod decompress;
mod detach;
mod feed;
mod foreground;
pub mod logs;
mod pipes;
mod poll;
mod pty;
mod reaper;
pub mod signals;
mod sys;
mod ttystate;

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::engine::matcher::Matcher;
use crate::engine::outcome::ChildStatus;
pub use crate::engine::outcome::Observed;
use crate::engine::policy::{Limits, Policy, Reason};
use crate::engine::printer::{note, Decor, Out};
use crate::engine::scan::{Scanner, Stream};
use crate::engine::When;

use child::{Child, ChildIo};
use feed::{Channel, Feed};
use logs::{LogSink, LogSpec};
use pipes::{open_pipes, Pipes};
use poll::min_deadline;

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
        match poll(&mut fds, poll::timeout(deadline, now)) {
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

/// Command mode: spawn the child and supervise it.
pub fn watch_command(setup: &Setup) -> Result<Observed, SpawnError> {
    watch_started(setup, start_command(setup)?)
}

/// A child spawned by [`start_command`] and not watched yet: what the watch loop takes over.
/// Holds no borrow of the setup it was started with, so the run's final setup (with what the
/// learning lookup added) can be worked out while the child already runs.
pub struct Started {
    sigs: signals::SignalPipe,
    ws: Option<nix::pty::Winsize>,
    dests: [i32; 2],
    masters: Vec<Option<OwnedFd>>,
    strip: [bool; 2],
    logs: Vec<Option<LogSink>>,
    child: Child,
}

/// Spawn the child (its terminal, pipes, logs and signal handling) without reading anything
/// from it yet: its output waits in the pipes until [`watch_started`] takes over. The fields of
/// `setup` read here are the ones that decide how the child starts (argv, ptys, colour,
/// descriptors, logs, process group); the matcher and the limits are read only by the watch.
pub fn start_command(setup: &Setup) -> Result<Started, SpawnError> {
    let job = foreground::decide();
    let sigs = signals::SignalPipe::install(job.tty().is_some())
        .map_err(|e| SpawnError::Other(e.to_string()))?;
    let ws = pty::terminal_size();
    let out_fd = if setup.stdout_to_stderr { 2 } else { 1 };
    let dests = [out_fd, 2];
    let Pipes {
        masters,
        out_slave,
        err_slave,
        extra,
        strip,
    } = open_pipes(setup, dests)?;
    let mut suffixes = vec![String::new(), "err".to_string()];
    suffixes.extend(setup.fds.iter().map(|(n, _)| format!("fd{n}")));
    let logs = open_logs(setup.logs.as_ref(), &suffixes, setup.quiet)
        .map_err(|e| SpawnError::Other(e.to_string()))?;
    let io = ChildIo {
        stdout: out_slave,
        stderr: err_slave,
        extra,
    };
    let child = Child::spawn(setup, job, io)?;
    Ok(Started {
        sigs,
        ws,
        dests,
        masters,
        strip,
        logs,
        child,
    })
}

/// Watch a child spawned by [`start_command`] until it ends (or ee detaches from it), with
/// `setup`'s matcher and limits; the limits' clocks run from the child's start.
pub fn watch_started(setup: &Setup, started: Started) -> Result<Observed, SpawnError> {
    let s = started;
    let feed = Feed::new(
        Policy::new(setup.limits.clone(), s.child.start),
        channels(setup, s.dests, s.strip, s.logs),
        setup.quiet,
        setup.progress,
    );
    let sigs = s.sigs;
    let mut w = Watch {
        setup,
        feed,
        masters: s.masters,
        child: s.child,
        last_ws: s.ws,
        buf: vec![0u8; READ_CHUNK],
    };
    loop {
        let ready = w.poll(&sigs)?;
        if ready.signals {
            w.on_signals(&sigs);
        }
        w.read(&ready.streams);
        let now = Instant::now();
        w.look_at_child(now);
        w.tick(now);
        match w.act(now) {
            Step::Go => {}
            Step::Detach => return Ok(w.detach()),
            Step::End => return Ok(w.finish()),
        }
    }
}

/// One watched stream per output of the child: stdout, stderr, then the extra descriptors.
fn channels<'a>(
    setup: &Setup<'a>,
    dests: [i32; 2],
    strip: [bool; 2],
    logs: Vec<Option<LogSink>>,
) -> Vec<Channel<'a>> {
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
    let mut chans = Vec::new();
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
    chans
}

/// What the loop does after a turn.
enum Step {
    Go,
    /// Leave the child running (`--detach`).
    Detach,
    /// The child exited and its output is over.
    End,
}

/// The state of a supervised run: each turn polls, feeds what was read, lets the policy decide
/// and acts on the child.
struct Watch<'a> {
    setup: &'a Setup<'a>,
    feed: Feed<'a>,
    /// Read ends of the child's streams, `None` once closed (indexes as in `feed.chans`).
    masters: Vec<Option<OwnedFd>>,
    child: Child,
    last_ws: Option<nix::pty::Winsize>,
    buf: Vec<u8>,
}

impl Watch<'_> {
    /// Wait for output, a signal or the next deadline.
    fn poll(&mut self, sigs: &signals::SignalPipe) -> Result<poll::Ready, SpawnError> {
        let now = Instant::now();
        let deadline = min_deadline(
            min_deadline(
                self.feed.policy.next_deadline(),
                self.feed.progress_deadline(now),
            ),
            self.child.deadline(now),
        );
        let polled = poll::wait(
            Some(sigs.read.as_fd()),
            &self.masters,
            poll::timeout(deadline, now),
        );
        if let Some(paused) = foreground::stopped_for(self.child.job(), deadline, now) {
            self.feed.policy.pause(paused);
        }
        match polled {
            Err(nix::errno::Errno::EINTR) => Ok(poll::Ready {
                streams: Vec::new(),
                signals: true,
            }),
            Err(e) => Err(SpawnError::Other(e.to_string())),
            Ok(r) => Ok(r),
        }
    }

    /// Signals ee received: orphans to reap, a resized window, or one to pass on to the child
    /// (which ends the run as interrupted).
    fn on_signals(&mut self, sigs: &signals::SignalPipe) {
        for s in sigs.drain() {
            if s == Signal::SIGCHLD as i32 {
                // The child is checked on every turn; orphans that reparented to ee and exited
                // are reaped here.
                reaper::reap_strays(self.child.pid());
            } else if s == Signal::SIGWINCH as i32 {
                self.resize();
            } else {
                self.child.forward(s);
                self.feed.policy.force(Reason::Interrupted(s));
            }
        }
    }

    /// Read the ready streams into the feed.
    fn read(&mut self, ready: &[usize]) {
        for &i in ready {
            let Some(fd) = self.masters[i].as_ref() else {
                continue;
            };
            match nix::unistd::read(fd.as_raw_fd(), &mut self.buf) {
                Ok(0) | Err(nix::errno::Errno::EIO) => self.close(i),
                Ok(n) => self.feed.chunk(i, &self.buf[..n], Instant::now()),
                Err(nix::errno::Errno::EINTR) | Err(nix::errno::Errno::EAGAIN) => {}
                Err(_) => self.close(i),
            }
        }
    }

    fn close(&mut self, i: usize) {
        self.masters[i] = None;
        self.feed.eof(i, Instant::now());
    }

    /// Has the child exited or been stopped (Ctrl-Z)? Did the terminal change size?
    fn look_at_child(&mut self, now: Instant) {
        if !self.child.running() {
            return;
        }
        if let Some(paused) = self.child.check(now) {
            self.feed.policy.pause(paused);
        }
        if self.child.job().tty().is_some() {
            self.resize();
        }
    }

    /// The policy's clocks (timeouts, the delay after a match) and the progress line.
    fn tick(&mut self, now: Instant) {
        if !self.feed.policy.stop {
            self.feed.policy.on_tick(now);
        }
        self.feed.draw_progress(now, false);
    }

    /// Act on the decision: detach, begin the stop, escalate it, or end once the child is gone.
    fn act(&mut self, now: Instant) -> Step {
        let policy = &self.feed.policy;
        if self.child.running() && !self.child.stopping() {
            // Detaching happens at the decision itself: there is no trace to wait for.
            if detach::wanted(&self.setup.detach, policy.reason) {
                return Step::Detach;
            }
            if policy.stop {
                // A tool that reports its failures when interrupted (pytest) gets Ctrl-C's
                // SIGINT; a passed-on signal or a closed output is not ee's own decision.
                let own = !matches!(
                    policy.reason,
                    Some(Reason::Interrupted(_) | Reason::OutputClosed)
                );
                self.child.stop(policy.limits.interrupt_stop, own, now);
            }
        }
        self.child.escalate(now);
        if self
            .child
            .done(self.masters.iter().all(Option::is_none), now)
        {
            Step::End
        } else {
            Step::Go
        }
    }

    fn resize(&mut self) {
        self.last_ws = resize_if_changed(&self.masters, self.last_ws, self.child.pid());
    }

    fn detach(self) -> Observed {
        let (d, quiet) = (&self.setup.detach, self.setup.quiet);
        detach::detach(self.feed, self.masters, self.child, d, quiet)
    }

    /// Reap the child and build the observation.
    fn finish(self) -> Observed {
        let end = Instant::now();
        let stopped_early = self.child.stopping();
        let status = self.child.reap();
        let natural = natural_reason(self.setup.matcher, status);
        self.feed.finish(natural, status, stopped_early, end)
    }
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
