//! The terminal's modes around a run. Saved before the child starts when ee is in the foreground
//! of a terminal, and put back after a child that did not end by itself (ee stopped it, or a
//! signal killed it), as a shell does for a job killed by a signal: an interactive program killed
//! in raw mode (`ee run -t 1s -- python3`) leaves echo, canonical mode and the cursor as they were.

use std::os::fd::BorrowedFd;

use nix::sys::termios::{tcgetattr, tcsetattr, SetArg, Termios};
use nix::unistd::{getpgrp, tcgetpgrp};

use crate::engine::printer::{is_tty, write_all};

/// Show the cursor (DECTCEM); nothing else a killed program leaves behind is reset.
const SHOW_CURSOR: &[u8] = b"\x1b[?25h";

/// A terminal's modes as they were before the child started.
pub struct Saved {
    fd: i32,
    modes: Termios,
}

/// The first standard descriptor that is a terminal with ee's process group in its foreground.
fn foreground_fd() -> Option<i32> {
    let me = getpgrp();
    [0, 1, 2].into_iter().find(|&fd| {
        // SAFETY: standard descriptors, open for the whole run.
        is_tty(fd) && tcgetpgrp(unsafe { BorrowedFd::borrow_raw(fd) }).ok() == Some(me)
    })
}

/// Save the modes of the terminal ee is in the foreground of, if any.
pub fn save() -> Option<Saved> {
    let fd = foreground_fd()?;
    // SAFETY: standard descriptor.
    let modes = tcgetattr(unsafe { BorrowedFd::borrow_raw(fd) }).ok()?;
    Some(Saved { fd, modes })
}

impl Saved {
    /// Put the modes back and show the cursor, if ee is still in the terminal's foreground (a
    /// background ee leaves the terminal alone rather than being stopped by SIGTTOU).
    pub fn restore(self) {
        // SAFETY: standard descriptor.
        let tty = unsafe { BorrowedFd::borrow_raw(self.fd) };
        if tcgetpgrp(tty).ok() != Some(getpgrp()) {
            return;
        }
        let changed = tcgetattr(tty).map_or(true, |now| !same(&now, &self.modes));
        if changed {
            let _ = tcsetattr(tty, SetArg::TCSANOW, &self.modes);
        }
        // Where the child's escape sequences went: ee's own output, when it is the terminal.
        if let Some(fd) = [2, 1].into_iter().find(|&fd| is_tty(fd)) {
            let _ = write_all(fd, SHOW_CURSOR);
        }
    }
}

fn same(a: &Termios, b: &Termios) -> bool {
    a.input_flags == b.input_flags
        && a.output_flags == b.output_flags
        && a.control_flags == b.control_flags
        && a.local_flags == b.local_flags
        && a.control_chars == b.control_chars
}
