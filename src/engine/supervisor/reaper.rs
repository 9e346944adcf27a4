//! Descendants that left the child's process group (`setsid`, daemonising double forks).
//!
//! On Linux ee is a child subreaper (`PR_SET_CHILD_SUBREAPER`): an orphaned descendant reparents
//! to ee instead of init, so it stays findable (its parent chain leads to ee) and ee reaps it. On
//! a stop that ee performs, every descendant gets the signals the group gets, and after the
//! leader is gone a sweep ends whatever is left. When the child exits by itself nothing here
//! acts: its background jobs are left running, as a shell leaves them. Elsewhere these are no-ops
//! and the process group is all ee can reach.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Become the subreaper of everything the child starts (Linux only).
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        let _ = nix::sys::prctl::set_child_subreaper(true);
    }
}

/// A living process, as /proc tells it.
#[derive(Debug, Clone, Copy)]
pub struct Proc {
    pub pid: Pid,
    pub ppid: Pid,
    pub pgrp: Pid,
}

/// Every living process (not a zombie), from /proc (Linux only; elsewhere none).
#[cfg(target_os = "linux")]
fn table() -> Vec<Proc> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut f = after.split_ascii_whitespace();
        let state = f.next();
        let mut num = || f.next().and_then(|p| p.parse::<i32>().ok());
        if let (Some(st), Some(ppid), Some(pgrp)) = (state, num(), num()) {
            if st != "Z" && st != "X" {
                out.push(Proc {
                    pid: Pid::from_raw(pid),
                    ppid: Pid::from_raw(ppid),
                    pgrp: Pid::from_raw(pgrp),
                });
            }
        }
    }
    out
}

#[cfg(not(target_os = "linux"))]
fn table() -> Vec<Proc> {
    Vec::new()
}

/// The living descendants of `root` (children first), never ee itself.
pub fn descendants_of(root: Pid) -> Vec<Proc> {
    let me = nix::unistd::getpid();
    let table = table();
    let mut out: Vec<Proc> = Vec::new();
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        for c in table.iter().filter(|c| c.ppid == p) {
            if c.pid != me && c.pid != root && !out.iter().any(|o| o.pid == c.pid) {
                out.push(*c);
                todo.push(c.pid);
            }
        }
    }
    out
}

fn descendants() -> Vec<Pid> {
    descendants_of(nix::unistd::getpid())
        .into_iter()
        .map(|p| p.pid)
        .collect()
}

/// Send `sig` to every descendant outside the child's process group `group`: the group itself
/// had the signal already (the child, and in a shared job its own descendants), and a tool
/// stopped like Ctrl-C must get only that signal to print its failure summary.
pub fn signal_escaped(sig: Signal, group: Pid) {
    for p in descendants_of(nix::unistd::getpid()) {
        if p.pgrp == group {
            continue;
        }
        let _ = nix::sys::signal::kill(p.pid, sig);
        if sig == Signal::SIGTERM {
            let _ = nix::sys::signal::kill(p.pid, Signal::SIGCONT);
        }
    }
}

/// Reap descendants that reparented to ee and exited, never `main` (reaped by the supervisor
/// once its group was signalled).
pub fn reap_strays(main: Pid) {
    use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag};
    while let Ok(ws) = waitid(
        Id::All,
        WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
    ) {
        match ws.pid() {
            Some(p) if p != main => {
                let _ = waitpid(p, Some(WaitPidFlag::WNOHANG));
            }
            _ => break,
        }
    }
}

/// After a stop ee performed and the leader was reaped: wait until `kill_at` for the
/// descendants still alive (they had SIGTERM) to end, then SIGKILL them until none is left (for
/// at most a few seconds: a process stuck in the kernel is not waited for forever).
pub fn sweep(kill_at: Instant) {
    let give_up = kill_at.max(Instant::now()) + Duration::from_secs(3);
    loop {
        reap_strays(Pid::from_raw(0));
        let left = descendants();
        if left.is_empty() || Instant::now() >= give_up {
            return;
        }
        if Instant::now() >= kill_at {
            for p in left {
                let _ = nix::sys::signal::kill(p, Signal::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
