//! Signals as readable bytes: a self-pipe written by async-signal-safe handlers, so the poll loop
//! sees SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGCHLD/SIGWINCH like any other input.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: nix::libc::c_int) {
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = [sig as u8];
        // write(2) is async-signal-safe; errno is saved and restored around it (through nix,
        // which knows each platform's errno location: glibc's __errno_location, macOS' __error).
        let saved = nix::errno::Errno::last_raw();
        // SAFETY: a one-byte write from a live buffer to a descriptor ee owns.
        unsafe { nix::libc::write(fd, b.as_ptr().cast(), 1) };
        nix::errno::Errno::set_raw(saved);
    }
}

/// The signals forwarded to the child group when ee receives them.
pub const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// The read end of the self-pipe.
pub struct SignalPipe {
    pub read: OwnedFd,
    _write: OwnedFd,
}

impl SignalPipe {
    /// Install handlers for the forwarded signals, SIGCHLD and SIGWINCH. With `job_control`
    /// (ee hands a terminal's foreground to the child) SIGTTOU is ignored too, so ee can take the
    /// terminal back and write to it while the child has it.
    pub fn install(job_control: bool) -> nix::Result<SignalPipe> {
        let (r, w) = super::sys::pipe(true)?;
        WRITE_FD.store(w.as_raw_fd(), Ordering::Relaxed);
        let act = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        for s in FORWARDED.iter().chain(&[Signal::SIGCHLD, Signal::SIGWINCH]) {
            // SAFETY: the handler only calls write(2).
            unsafe { sigaction(*s, &act)? };
        }
        if job_control {
            let ign = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
            // SAFETY: ignoring a signal has no handler to be unsafe.
            unsafe { sigaction(Signal::SIGTTOU, &ign)? };
        }
        Ok(SignalPipe { read: r, _write: w })
    }

    /// Drain the pipe, returning the signals received (in order, deduplicated).
    pub fn drain(&self) -> Vec<i32> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        while let Ok(n) = nix::unistd::read(self.read.as_raw_fd(), &mut buf) {
            if n == 0 {
                break;
            }
            for &b in &buf[..n] {
                if !out.contains(&(b as i32)) {
                    out.push(b as i32);
                }
            }
        }
        out
    }
}

/// In the child before exec: default dispositions and an empty mask.
pub fn reset_for_child() {
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for s in [
        Signal::SIGTTOU,
        Signal::SIGTTIN,
        Signal::SIGTSTP,
        Signal::SIGPIPE,
        Signal::SIGINT,
        Signal::SIGQUIT,
    ] {
        // SAFETY: restoring default dispositions is async-signal-safe.
        unsafe {
            let _ = sigaction(s, &dfl);
        }
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&SigSet::empty()),
        None,
    );
}

/// Restore a signal's default action.
pub fn default_action(sig: Signal) {
    let dfl = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: restoring a default disposition.
    unsafe {
        let _ = sigaction(sig, &dfl);
    }
}

/// End ee the way the child ended: by SIGINT. A shell abandons the rest of a command list only
/// when its foreground job died of SIGINT, so a wrapper that merely exits 130 would let
/// `cmd; next` or a `while` loop go on after Ctrl-C. Returns only if the signal did not end ee.
pub fn reraise_sigint() {
    default_action(Signal::SIGINT);
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    let _ = set.thread_unblock();
    let _ = nix::sys::signal::raise(Signal::SIGINT);
}
