//! Whose job the child is in: the terminal-foreground decision of `ee run` and the signals that
//! follow from it.
//!
//! - ee leads the terminal's foreground job (`pytest` typed at a prompt, routed or not): the child
//!   gets its own process group and the terminal, so prompts, Ctrl-C and Ctrl-Z behave as for the
//!   bare command (ee follows a stopped child and stops itself, see `suspend_with_child`).
//! - ee is one process of a foreground job that others share (`pytest | tail`, where the shell's
//!   job group is led by the pipeline's subshell, or by ee itself when the shell ran it as the
//!   pipeline's first command, as the zsh and fish hooks have it do; a leader whose standard
//!   output is a pipe is taken as such a pipeline): the child stays in that group, so
//!   the shell's own job control reaches every process of the job at once — Ctrl-Z stops ee, the
//!   child and `tail` together, `fg` continues them, Ctrl-C interrupts them; ee takes nothing.
//!   ee signals the child and its descendants one by one (never its own group, which holds the
//!   rest of the pipeline), and does not repeat the terminal's Ctrl-C/Ctrl-\ to the child.
//! - no terminal, or a background job: the child gets its own group; ee forwards signals to it.

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::{getpgid, getpgrp, getpid, getppid, tcgetpgrp, Pid};

use crate::engine::printer::is_tty;

/// The decision for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// ee leads the foreground job of this terminal (a standard descriptor): the child gets it.
    Lead(i32),
    /// ee shares the foreground job with other processes: the child stays in that group.
    Shared,
    /// No controlling terminal in the foreground: the child gets its own group.
    Own,
}

impl Job {
    /// The terminal ee hands to the child, when it leads the job.
    pub fn tty(self) -> Option<i32> {
        match self {
            Job::Lead(fd) => Some(fd),
            _ => None,
        }
    }

    /// Does the child stay in ee's process group?
    pub fn shared(self) -> bool {
        self == Job::Shared
    }
}

/// How long ee, leading its own process group while its shell still holds the terminal, waits
/// for the shell to hand the terminal over: fish spawns a job and gives it the terminal only
/// afterwards, so ee can start first. A background job (never handed the terminal) pays this
/// once at its start; a foreground one only until the shell's `tcsetpgrp` lands.
const HANDOVER_WAIT: Duration = Duration::from_millis(100);

/// Decide from the standard descriptors and ee's process group.
pub fn decide() -> Job {
    let group = getpgrp();
    let leader = group == getpid();
    let deadline = Instant::now() + HANDOVER_WAIT;
    loop {
        let mut shell_holds_it = false;
        for fd in [0, 1, 2] {
            if !is_tty(fd) {
                continue;
            }
            // SAFETY: standard descriptors.
            match tcgetpgrp(unsafe { BorrowedFd::borrow_raw(fd) }) {
                Ok(fg) if fg == group => {
                    return if leader && !stdout_is_pipe() {
                        Job::Lead(fd)
                    } else {
                        Job::Shared
                    };
                }
                Ok(fg) => shell_holds_it |= getpgid(Some(getppid())).is_ok_and(|g| g == fg),
                Err(_) => {}
            }
        }
        if !(leader && shell_holds_it) || Instant::now() >= deadline {
            return Job::Own;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Is ee's standard output a pipe (ee leading `pytest | tail`, rather than `pytest` alone)?
fn stdout_is_pipe() -> bool {
    nix::sys::stat::fstat(1).is_ok_and(|st| {
        nix::sys::stat::SFlag::from_bits_truncate(st.st_mode) & nix::sys::stat::SFlag::S_IFMT
            == nix::sys::stat::SFlag::S_IFIFO
    })
}

/// Send `sig` to the child and everything it started: its group, or (shared job) the child and
/// its descendants found in /proc, never ee's own group.
pub fn signal(pid: Pid, job: Job, sig: Signal) {
    if !job.shared() {
        let _ = killpg(pid, sig);
        return;
    }
    for p in std::iter::once(pid).chain(descendants(pid)) {
        let _ = kill(p, sig);
    }
}

/// Should a signal ee received be passed on to the child? In a shared job the terminal already
/// sent Ctrl-C (SIGINT) and Ctrl-\ (SIGQUIT) to the child itself.
pub fn forwards(job: Job, sig: Signal) -> bool {
    !(job.shared() && matches!(sig, Signal::SIGINT | Signal::SIGQUIT))
}

/// In a shared job ee is stopped with the rest of the job (Ctrl-Z) without being told: a poll
/// that came back much later than its deadline allowed was such a stop, and that time is not the
/// command's (its timeouts are shifted by it, as when ee leads the job).
pub fn stopped_for(job: Job, deadline: Option<Instant>, before: Instant) -> Option<Duration> {
    if !job.shared() {
        return None; // the usual case: no clock read on every turn of the poll loop
    }
    let allowed = deadline?
        .saturating_duration_since(before)
        .min(Duration::from_secs(60));
    let waited = before.elapsed();
    (waited > allowed + Duration::from_secs(1)).then(|| waited - allowed)
}

/// The descendants of `root` (children first), from /proc.
fn descendants(root: Pid) -> Vec<Pid> {
    super::reaper::descendants_of(root)
        .into_iter()
        .map(|p| p.pid)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_grandchildren() {
        let mut c = std::process::Command::new("sh")
            .args(["-c", "sleep 5 & sleep 5 & wait"])
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let d = super::super::reaper::descendants_of(Pid::from_raw(c.id() as i32));
        assert_eq!(d.len(), 2, "{d:?}");
        signal(Pid::from_raw(c.id() as i32), Job::Shared, Signal::SIGKILL);
        let _ = c.wait();
    }
}
