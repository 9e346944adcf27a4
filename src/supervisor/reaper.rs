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

/// Every living process below ee.
fn descendants() -> Vec<Pid> {
    descendants_of(nix::unistd::getpid())
}

/// Every living process below `root` (children first), found from each process's parent in
/// /proc.
#[cfg(target_os = "linux")]
pub fn descendants_of(root: Pid) -> Vec<Pid> {
    use std::collections::HashMap;
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut f = after.split_ascii_whitespace();
        let state = f.next();
        let ppid = f.next().and_then(|p| p.parse::<i32>().ok());
        if let (Some(st), Some(pp)) = (state, ppid) {
            if st != "Z" && st != "X" {
                children.entry(pp).or_default().push(pid);
            }
        }
    }
    let mut out = Vec::new();
    let mut todo = vec![root.as_raw()];
    while let Some(p) = todo.pop() {
        if let Some(kids) = children.get(&p) {
            for &k in kids {
                if !out.contains(&Pid::from_raw(k)) {
                    out.push(Pid::from_raw(k));
                    todo.push(k);
                }
            }
        }
    }
    out
}

#[cfg(not(target_os = "linux"))]
pub fn descendants_of(_root: Pid) -> Vec<Pid> {
    Vec::new()
}

/// Send `sig` to every descendant (the child's group is signalled separately).
pub fn signal_all(sig: Signal) {
    for p in descendants() {
        let _ = nix::sys::signal::kill(p, sig);
        if sig == Signal::SIGTERM {
            let _ = nix::sys::signal::kill(p, Signal::SIGCONT);
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
