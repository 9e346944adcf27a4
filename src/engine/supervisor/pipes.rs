//! The child's output channels, opened before it is spawned: a pty or a pipe per stream (one
//! pty for both when they lead to the same terminal), and a pipe per extra descriptor.

use std::os::fd::{AsRawFd, OwnedFd};

use crate::engine::printer::is_tty;
use crate::engine::When;

use super::{pty, sys, Setup, SpawnError};

/// The child's output channels, opened before it is spawned.
pub struct Pipes {
    /// Read ends: stdout, stderr, then one per extra descriptor.
    pub masters: Vec<Option<OwnedFd>>,
    /// Write ends for stdout and stderr.
    pub out_slave: OwnedFd,
    pub err_slave: OwnedFd,
    /// Write ends of the extra descriptors, parked on high numbers: (target fd, parked fd).
    pub extra: Vec<(i32, OwnedFd)>,
    /// Strip colour escapes from stdout, stderr (a pty where the destination is no terminal).
    pub strip: [bool; 2],
}

pub fn open_pipes(setup: &Setup, dests: [i32; 2]) -> Result<Pipes, SpawnError> {
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
