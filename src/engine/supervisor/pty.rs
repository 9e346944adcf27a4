//! Pseudo-terminals for the child's output: raw mode (no `\n` → `\r\n`, no echo), the window size
//! copied from ee's terminal.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::pty::{openpty, Winsize};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};

nix::ioctl_read_bad!(get_winsize, nix::libc::TIOCGWINSZ, Winsize);
nix::ioctl_write_ptr_bad!(set_winsize, nix::libc::TIOCSWINSZ, Winsize);

/// A pty pair whose slave is the child's stdout or stderr.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// Open a raw pty with the given window size.
pub fn open(ws: Option<Winsize>) -> nix::Result<Pty> {
    let r = openpty(ws.as_ref(), None)?;
    let mut t = tcgetattr(r.slave.as_fd())?;
    cfmakeraw(&mut t);
    tcsetattr(r.slave.as_fd(), SetArg::TCSANOW, &t)?;
    // Neither end leaks into the child: the slave reaches it only as a dup2'ed 1 or 2.
    for fd in [r.master.as_raw_fd(), r.slave.as_raw_fd()] {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )?;
    }
    Ok(Pty {
        master: r.master,
        slave: r.slave,
    })
}

/// The window size of the first of ee's stdout, stderr, stdin that is a terminal.
pub fn terminal_size() -> Option<Winsize> {
    for fd in [1, 2, 0] {
        let mut ws = Winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes a winsize into the pointer; fd is a standard descriptor.
        if unsafe { get_winsize(fd, &mut ws) }.is_ok() && ws.ws_col > 0 {
            return Some(ws);
        }
    }
    None
}

/// The window size a pty standing in for `dest` gets: `dest`'s own when it is a terminal, else
/// that of ee's terminal, else 80x24.
pub fn size_for(dest: i32) -> Winsize {
    let mut ws = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the pointer; dest is a standard descriptor.
    if unsafe { get_winsize(dest, &mut ws) }.is_ok() && ws.ws_col > 0 {
        return ws;
    }
    terminal_size().unwrap_or(Winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    })
}

/// Set a pty's window size.
pub fn resize(master: BorrowedFd<'_>, ws: &Winsize) {
    // SAFETY: TIOCSWINSZ reads a winsize from the pointer.
    let _ = unsafe { set_winsize(master.as_raw_fd(), ws) };
}
