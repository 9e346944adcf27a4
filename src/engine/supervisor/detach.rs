//! `--detach`: leave the child running. A background drainer (a forked copy of ee in its own
//! session) keeps reading its output, into the logs when there are any, so the child never gets
//! SIGPIPE or EIO; ee writes the PID file, says where the child is, and returns.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

use nix::poll::PollTimeout;

use crate::engine::outcome::Observed;
use crate::engine::policy::Reason;
use crate::engine::printer::note;

use super::child::Child;
use super::feed::Feed;
use super::logs::{self, LogSink};
use super::{poll, Detach};

/// Should the run's decision leave the child running?
pub fn wanted(d: &Detach, reason: Option<Reason>) -> bool {
    reason.is_some_and(|r| {
        (d.on_match && matches!(r, Reason::Match | Reason::ErrorMatch | Reason::SuccessMatch))
            || (d.on_timeout && r.is_timeout())
    })
}

/// Leave `child` running, its output drained in the background.
pub fn detach(
    mut feed: Feed,
    masters: Vec<Option<OwnedFd>>,
    child: Child,
    d: &Detach,
    quiet: bool,
) -> Observed {
    let pid = child.detach();
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

/// The drainer: read every stream to its end, into its log when it has one.
fn drain_forever(mut masters: Vec<Option<OwnedFd>>, mut logs: Vec<Option<LogSink>>) {
    let mut buf = vec![0u8; 64 * 1024];
    while masters.iter().any(Option::is_some) {
        let Ok(ready) = poll::wait(None, &masters, PollTimeout::NONE) else {
            continue;
        };
        for i in ready.streams {
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
