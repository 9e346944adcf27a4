//! The child process: spawning it (own process group or the shared job, the terminal's
//! foreground when ee leads the job), following it (exit, Ctrl-Z), stopping it (TERM or INT +
//! CONT, KILL after `--kill-after`, the descendants that left the group too when ee decided the
//! stop), reaping it, and detaching from it. The leader is kept unreaped until the group was
//! signalled for the last time, so no PID is ever signalled after it was reaped.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{getpgrp, getpid, setpgid, tcsetpgrp, Pid};

use crate::engine::outcome::ChildStatus;

use super::foreground::{self, Job};
use super::{reaper, signals, sys, ttystate, Setup, SpawnError};

/// How long ee keeps reading after the child exited, for output still in flight or held by a
/// grandchild that inherited the stream.
pub const EXIT_GRACE: Duration = Duration::from_millis(250);

/// How often ee looks at a child it handed the terminal to (stopped? window resized?).
const TTY_CHECK: Duration = Duration::from_millis(500);

/// The write ends the child gets: stdout, stderr and the extra descriptors (target fd, parked fd).
pub struct ChildIo {
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    pub extra: Vec<(i32, OwnedFd)>,
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

/// A running (or exited, not yet reaped) child and the stop sequence ee has begun on it.
pub struct Child {
    /// Held unreaped until [`Child::reap`].
    process: std::process::Child,
    pid: Pid,
    job: Job,
    /// The process group the child's stop signals reach (see `foreground::signal`).
    group: Pid,
    kill_after: Duration,
    /// The terminal's modes before the child ran, put back after a child ee stopped.
    modes: Option<ttystate::Saved>,
    guard: TtyGuard,
    /// When ee spawned it: the start of the run's clocks.
    pub start: Instant,
    /// Seen exited (by peeking, not reaped) and when.
    exited: Option<(ChildStatus, Instant)>,
    /// When ee began stopping it (or passed on a signal that ends it).
    term_sent: Option<Instant>,
    killed: bool,
    /// ee itself decided the stop (timeout, match, stuck…), as opposed to passing on a signal or
    /// a closed output: then every descendant ends, inside the group or not.
    own_stop: bool,
}

fn child_status(ws: WaitStatus) -> Option<ChildStatus> {
    match ws {
        WaitStatus::Exited(_, c) => Some(ChildStatus::Exited(c)),
        WaitStatus::Signaled(_, s, _) => Some(ChildStatus::Signaled(s as i32)),
        _ => None,
    }
}

fn command(
    setup: &Setup,
    job: Job,
    stdout: OwnedFd,
    stderr: OwnedFd,
    extra: &[(i32, OwnedFd)],
) -> std::process::Command {
    let mut cmd = std::process::Command::new(&setup.argv[0]);
    cmd.args(&setup.argv[1..]);
    cmd.envs(setup.env.iter().map(|(k, v)| (k, v)));
    cmd.stdout(Stdio::from(stdout));
    cmd.stderr(Stdio::from(stderr));
    let tty = job.tty();
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
    cmd
}

impl Child {
    /// Start `setup.argv` with the given output descriptors (consumed: ee's copies of the write
    /// ends close once the child has them).
    pub fn spawn(setup: &Setup, job: Job, io: ChildIo) -> Result<Child, SpawnError> {
        let ChildIo {
            stdout,
            stderr,
            extra,
        } = io;
        let mut cmd = command(setup, job, stdout, stderr, &extra);
        let modes = ttystate::save();
        reaper::become_subreaper();
        let start = Instant::now();
        let process = match cmd.spawn() {
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
        let pid = Pid::from_raw(process.id() as i32);
        if !job.shared() {
            let _ = setpgid(pid, pid);
        }
        let tty = job.tty();
        let guard = TtyGuard(tty);
        if let Some(fd) = tty {
            // SAFETY: standard descriptor.
            let _ = tcsetpgrp(unsafe { BorrowedFd::borrow_raw(fd) }, pid);
        }
        Ok(Child {
            process,
            pid,
            job,
            group: if job.shared() { getpgrp() } else { pid },
            kill_after: setup.kill_after,
            modes,
            guard,
            start,
            exited: None,
            term_sent: None,
            killed: false,
            own_stop: false,
        })
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    pub fn job(&self) -> Job {
        self.job
    }

    /// Not seen exited yet.
    pub fn running(&self) -> bool {
        self.exited.is_none()
    }

    /// ee has begun stopping it (or passed on a signal that ends it).
    pub fn stopping(&self) -> bool {
        self.term_sent.is_some()
    }

    /// Running with the terminal handed to it: ee looks at it regularly.
    pub fn holds_terminal(&self) -> bool {
        self.job.tty().is_some() && self.running()
    }

    /// The next time the child needs ee: the end of the grace after its exit, the KILL after the
    /// TERM, the next look at a child holding the terminal.
    pub fn deadline(&self, now: Instant) -> Option<Instant> {
        let mut d = self.exited.map(|(_, at)| at + EXIT_GRACE);
        if let (Some(t), false) = (self.term_sent, self.killed) {
            d = super::poll::min_deadline(d, Some(t + self.kill_after));
        }
        if self.holds_terminal() {
            d = super::poll::min_deadline(d, Some(now + TTY_CHECK));
        }
        d
    }

    /// A signal ee received (Ctrl-C, TERM, HUP…): pass it on to a running child, which then
    /// counts as stopped early.
    pub fn forward(&mut self, s: i32) {
        if !self.running() {
            return;
        }
        if let Ok(sig) = Signal::try_from(s) {
            if foreground::forwards(self.job, sig) {
                foreground::signal(self.pid, self.job, sig);
            }
        }
        self.term_sent.get_or_insert(Instant::now());
    }

    /// Look at a running child: note its exit (without reaping it), and when it was stopped
    /// (Ctrl-Z) while holding the terminal, suspend ee with it. Returns the time suspended.
    pub fn check(&mut self, now: Instant) -> Option<Duration> {
        if !self.running() {
            return None;
        }
        if let Some(st) = sys::peek_exit(self.pid).and_then(child_status) {
            self.exited = Some((st, now));
            return None;
        }
        // Asked even without a terminal: it consumes the stop report.
        if !sys::stopped(self.pid) {
            return None;
        }
        self.job.tty().map(|fd| suspend_with_child(fd, self.pid))
    }

    /// Begin the stop ee decided: `SIGINT` (a tool that reports its failures when interrupted)
    /// or `SIGTERM`, then `SIGCONT`, to the group. `own`: ee's own decision (not a passed-on
    /// signal or a closed output), so the descendants that left the group get `SIGTERM` too.
    pub fn stop(&mut self, interrupt: bool, own: bool, now: Instant) {
        let sig = if interrupt {
            Signal::SIGINT
        } else {
            Signal::SIGTERM
        };
        foreground::signal(self.pid, self.job, sig);
        foreground::signal(self.pid, self.job, Signal::SIGCONT);
        self.own_stop = own;
        // Those in the group had `sig` (a tool stopped like Ctrl-C must be left to print its
        // failure summary).
        if own {
            reaper::signal_escaped(Signal::SIGTERM, self.group);
        }
        self.term_sent = Some(now);
    }

    /// `SIGKILL` once `--kill-after` has passed since the stop began.
    pub fn escalate(&mut self, now: Instant) {
        let Some(t) = self.term_sent else { return };
        if self.killed || now < t + self.kill_after {
            return;
        }
        foreground::signal(self.pid, self.job, Signal::SIGKILL);
        if self.own_stop {
            reaper::signal_escaped(Signal::SIGKILL, self.group);
        }
        self.killed = true;
    }

    /// The child exited and its output is over: every stream closed, or the grace has passed.
    pub fn done(&self, streams_closed: bool, now: Instant) -> bool {
        self.exited
            .is_some_and(|(_, at)| streams_closed || now >= at + EXIT_GRACE)
    }

    /// End it: after a stop, KILL what is left of the group (the leader is still unreaped, so
    /// the group id is still ours), reap the leader, sweep escaped descendants after ee's own
    /// stop, give the terminal back and put its modes back after a child that did not exit by
    /// itself. Returns how it ended.
    pub fn reap(self) -> Option<ChildStatus> {
        let Child {
            process,
            pid,
            job,
            kill_after,
            modes,
            guard,
            exited,
            term_sent,
            own_stop,
            ..
        } = self;
        if term_sent.is_some() {
            foreground::signal(pid, job, Signal::SIGKILL);
        }
        let status = waitpid(pid, None)
            .ok()
            .and_then(child_status)
            .or(exited.map(|e| e.0));
        drop(process);
        if let (Some(t), true) = (term_sent, own_stop) {
            reaper::sweep(t + kill_after);
        }
        drop(guard);
        let killed_by_signal = matches!(status, Some(ChildStatus::Signaled(_)));
        if let (Some(m), true) = (modes, term_sent.is_some() || killed_by_signal) {
            m.restore();
        }
        status
    }

    /// Leave it running (`--detach`): the terminal goes back to ee, nothing is signalled or
    /// reaped. Returns its PID.
    pub fn detach(self) -> Pid {
        self.pid
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
