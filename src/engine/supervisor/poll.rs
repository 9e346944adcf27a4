//! Waiting for the child's streams: the one place that builds a poll set over the open streams
//! (and optionally the signal pipe), and the deadline arithmetic around it.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// What a poll found: the indexes of the streams with something to read (data, hang-up or an
/// error, all of which a read answers), and whether the signal pipe is readable.
#[derive(Debug, Default)]
pub struct Ready {
    pub streams: Vec<usize>,
    pub signals: bool,
}

/// Wait until one of the open `streams` (closed ones are `None`) or the `signals` pipe is
/// readable, or until `timeout`.
pub fn wait(
    signals: Option<BorrowedFd>,
    streams: &[Option<OwnedFd>],
    timeout: PollTimeout,
) -> nix::Result<Ready> {
    let mut fds: Vec<PollFd> = Vec::with_capacity(streams.len() + 1);
    if let Some(s) = signals {
        fds.push(PollFd::new(s, PollFlags::POLLIN));
    }
    let first = fds.len();
    let mut idx = Vec::with_capacity(streams.len());
    for (i, m) in streams.iter().enumerate() {
        if let Some(m) = m {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            idx.push(i);
        }
    }
    poll(&mut fds, timeout)?;
    let readable = |f: &PollFd| {
        f.revents().is_some_and(|r| {
            r.intersects(
                PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL,
            )
        })
    };
    Ok(Ready {
        streams: idx
            .into_iter()
            .zip(&fds[first..])
            .filter(|(_, f)| readable(f))
            .map(|(i, _)| i)
            .collect(),
        signals: first == 1 && fds[0].any().unwrap_or(false),
    })
}

/// The poll timeout that wakes ee at `deadline` (none: wait for input), at most a minute.
pub fn timeout(deadline: Option<Instant>, now: Instant) -> PollTimeout {
    match deadline {
        None => PollTimeout::NONE,
        Some(d) => {
            let ms = d.saturating_duration_since(now).as_micros().div_ceil(1000);
            PollTimeout::try_from(ms.min(60_000) as i32).unwrap_or(PollTimeout::NONE)
        }
    }
}

/// The earlier of two optional deadlines.
pub fn min_deadline(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
