//! `-Z`: compressed input in pipe mode, recognised by its magic bytes (gzip, bzip2, xz) and
//! decoded on a thread into a pipe that the poll loop reads like plain stdin.

use std::fs::File;
use std::io::{self, Chain, Cursor, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The formats recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Bzip2,
    Xz,
}

/// Recognise a format from the first bytes of the input.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(Format::Gzip)
    } else if head.starts_with(b"BZh") {
        Some(Format::Bzip2)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(Format::Xz)
    } else {
        None
    }
}

/// Read up to `n` bytes from stdin (fewer only at end of input).
pub fn read_head(n: usize) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match nix::unistd::read(0, &mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    head.truncate(got);
    Ok(head)
}

/// A decoder thread: its output pipe, and the first error it met.
pub struct Decoder {
    pub output: OwnedFd,
    pub error: Arc<Mutex<Option<String>>>,
    _thread: JoinHandle<()>,
}

/// Start decoding `head` followed by the rest of stdin.
pub fn start(format: Format, head: Vec<u8>) -> io::Result<Decoder> {
    let (r, w) = super::sys::pipe(false)?;
    let error = Arc::new(Mutex::new(None));
    let err2 = Arc::clone(&error);
    let thread = std::thread::spawn(move || {
        // SAFETY: fd 0 is not closed while ee runs; ManuallyDrop keeps it open after the thread.
        let stdin = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(0) });
        let input: Chain<Cursor<Vec<u8>>, &File> = Cursor::new(head).chain(&*stdin);
        let mut out = File::from(w);
        let r = decode(format, input, &mut out);
        if let Err(e) = r {
            if e.kind() != io::ErrorKind::BrokenPipe {
                *err2.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
            }
        }
    });
    Ok(Decoder {
        output: r,
        error,
        _thread: thread,
    })
}

fn decode<R: Read>(format: Format, input: R, out: &mut File) -> io::Result<()> {
    match format {
        Format::Gzip => io::copy(&mut flate2::read::MultiGzDecoder::new(input), out).map(drop),
        Format::Bzip2 => io::copy(&mut bzip2::read::MultiBzDecoder::new(input), out).map(drop),
        Format::Xz => {
            let mut buf = io::BufReader::new(input);
            lzma_rs::xz_decompress(&mut buf, out)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e:?}")))
        }
    }?;
    out.flush()
}
