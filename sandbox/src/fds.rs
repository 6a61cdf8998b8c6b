//! File-descriptor sanitizing, in the style of firecracker's jailer: a
//! worker starts from exactly the descriptors it was handed on purpose.

use std::fmt;
use std::io;
use std::os::fd::RawFd;

use crate::error::{Error, Step};
use crate::sys;

/// How the descriptors were closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseMethod {
    /// `close_range(2)` over the gaps between the kept descriptors.
    CloseRange,
    /// `close_range` is missing (ENOSYS, kernel < 5.9): every entry of
    /// `/proc/self/fd` not kept was closed one by one.
    ProcSelfFd,
}

impl fmt::Display for CloseMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseMethod::CloseRange => "close_range",
            CloseMethod::ProcSelfFd => "/proc/self/fd",
        })
    }
}

/// Closes every file descriptor of the process that is not in `keep`.
///
/// Call it first thing after exec, before the program opens descriptors of
/// its own: it closes whatever is not listed, including descriptors that
/// other code in the process may believe it owns.  Negative entries of
/// `keep` are ignored; kept descriptors need not be open.
pub fn close_inherited_fds(keep: &[RawFd]) -> Result<CloseMethod, Error> {
    let mut kept: Vec<u32> = keep
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .collect();
    kept.sort_unstable();
    kept.dedup();
    match close_gaps(&kept) {
        Ok(()) => Ok(CloseMethod::CloseRange),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EINVAL)) => {
            close_listed(&kept)?;
            Ok(CloseMethod::ProcSelfFd)
        }
        Err(e) => Err(Error::sys(Step::CloseFds, "close_range", e)),
    }
}

/// The fallback on its own, for tests.
pub(crate) fn close_listed_fds(keep: &[RawFd]) -> Result<(), Error> {
    let mut kept: Vec<u32> = keep
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .collect();
    kept.sort_unstable();
    kept.dedup();
    close_listed(&kept)
}

/// close_range over [0, k0-1], [k0+1, k1-1], ..., [kn+1, ~0].
fn close_gaps(kept: &[u32]) -> io::Result<()> {
    let mut first: u32 = 0;
    for &k in kept {
        if k > first {
            sys::close_range(first, k - 1)?;
        }
        match k.checked_add(1) {
            Some(next) => first = next,
            None => return Ok(()),
        }
    }
    sys::close_range(first, u32::MAX)
}

/// The fallback: list /proc/self/fd, then close what is not kept.
fn close_listed(kept: &[u32]) -> Result<(), Error> {
    let step = |e| Error::sys(Step::CloseFds, "read /proc/self/fd", e);
    let mut open = Vec::new();
    // The directory's own descriptor is listed too; it is closed by the
    // time the loop below runs, so its close fails with EBADF (ignored).
    for entry in std::fs::read_dir("/proc/self/fd").map_err(step)? {
        let entry = entry.map_err(step)?;
        if let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        {
            open.push(fd);
        }
    }
    for fd in open {
        if kept.binary_search(&fd).is_ok() {
            continue;
        }
        let Ok(raw) = RawFd::try_from(fd) else {
            continue;
        };
        match sys::close(raw) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EBADF) => {}
            Err(e) => return Err(Error::sys(Step::CloseFds, format!("close({fd})"), e)),
        }
    }
    Ok(())
}
