//! The few system calls whose portable form differs by platform, so the crate builds on Linux
//! and macOS by construction: pipes with close-on-exec (`pipe2` is not on macOS), the pipe
//! buffer size (`F_SETPIPE_SZ` is Linux-only), and peeking at a child's state without reaping it
//! (`waitid`, which nix offers on Linux/Android/FreeBSD only; libc's on macOS).

use std::os::fd::{OwnedFd, RawFd};

use nix::fcntl::OFlag;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple"
)))]
compile_error!("earlyexit supports Linux, Android, FreeBSD and macOS (see supervisor/sys.rs)");

/// A pipe whose ends are close-on-exec (and non-blocking with `nonblock`).
pub fn pipe(nonblock: bool) -> nix::Result<(OwnedFd, OwnedFd)> {
    let flags = if nonblock {
        OFlag::O_CLOEXEC | OFlag::O_NONBLOCK
    } else {
        OFlag::O_CLOEXEC
    };
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    {
        nix::unistd::pipe2(flags)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag};
        use std::os::fd::AsRawFd;
        // No pipe2: set the flags right after (ee starts no other thread that could exec between).
        let (r, w) = nix::unistd::pipe()?;
        for fd in [&r, &w] {
            fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
            if nonblock {
                fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags & OFlag::O_NONBLOCK))?;
            }
        }
        Ok((r, w))
    }
}

/// Ask for a 1 MiB pipe buffer (fewer context switches at full speed, as pv does). Linux only;
/// fails harmlessly for anything that is not a pipe.
pub fn grow_pipe(fd: RawFd) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = fd;
}

/// The child's exit, if it has exited, without reaping it (it stays waitable).
pub fn peek_exit(pid: Pid) -> Option<WaitStatus> {
    waitid_pid(pid, WAIT_EXITED_PEEK)
}

/// Has the child stopped (Ctrl-Z, SIGTTIN/SIGTTOU)? Consumes that stop report.
pub fn stopped(pid: Pid) -> bool {
    matches!(waitid_pid(pid, WAIT_STOPPED), Some(WaitStatus::Stopped(..)))
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
use nix::sys::wait::WaitPidFlag as Flags;

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
const WAIT_EXITED_PEEK: Flags = Flags::WEXITED.union(Flags::WNOHANG).union(Flags::WNOWAIT);
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
const WAIT_STOPPED: Flags = Flags::WSTOPPED.union(Flags::WNOHANG);

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn waitid_pid(pid: Pid, flags: Flags) -> Option<WaitStatus> {
    nix::sys::wait::waitid(nix::sys::wait::Id::Pid(pid), flags).ok()
}

#[cfg(target_vendor = "apple")]
const WAIT_EXITED_PEEK: nix::libc::c_int =
    nix::libc::WEXITED | nix::libc::WNOHANG | nix::libc::WNOWAIT;
#[cfg(target_vendor = "apple")]
const WAIT_STOPPED: nix::libc::c_int = nix::libc::WSTOPPED | nix::libc::WNOHANG;

#[cfg(target_vendor = "apple")]
fn waitid_pid(pid: Pid, flags: nix::libc::c_int) -> Option<WaitStatus> {
    use nix::libc;
    use nix::sys::signal::Signal;
    // SAFETY: siginfo_t is plain data; waitid fills it (or leaves si_pid 0 under WNOHANG).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::waitid(libc::P_PID, pid.as_raw() as libc::id_t, &mut info, flags) };
    if r != 0 || info.si_pid == 0 {
        return None;
    }
    let sig = || Signal::try_from(info.si_status).ok();
    Some(match info.si_code {
        libc::CLD_EXITED => WaitStatus::Exited(pid, info.si_status),
        libc::CLD_KILLED => WaitStatus::Signaled(pid, sig()?, false),
        libc::CLD_DUMPED => WaitStatus::Signaled(pid, sig()?, true),
        libc::CLD_STOPPED => WaitStatus::Stopped(pid, sig()?),
        _ => return None,
    })
}
