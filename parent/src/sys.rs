//! The parent's only `unsafe` code: placing a worker's socketpair end at a
//! fixed fd number across exec, and taking that fd over in the worker.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

/// The fd number at which every worker finds its socketpair end.
pub const WORKER_IPC_FD: RawFd = 3;

/// Arrange for `fd` to be at `WORKER_IPC_FD` in the exec'd child, without
/// close-on-exec. Every other fd the parent opened through std carries
/// close-on-exec and so does not reach the child.
pub fn pass_ipc_fd(cmd: &mut Command, fd: &OwnedFd) {
    let src = fd.as_raw_fd();
    let pre_exec = move || -> io::Result<()> {
        if src == WORKER_IPC_FD {
            // Already in place: only drop close-on-exec.
            // SAFETY: fcntl(F_SETFD) on an fd number is async-signal-safe
            // and touches no memory.
            if unsafe { libc::fcntl(src, libc::F_SETFD, 0) } == -1 {
                return Err(io::Error::last_os_error());
            }
        } else {
            // dup2 gives the copy no close-on-exec flag.
            // SAFETY: dup2 on two fd numbers is async-signal-safe and
            // touches no memory; the target number is ours to reuse in
            // the child.
            if unsafe { libc::dup2(src, WORKER_IPC_FD) } == -1 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    };
    // SAFETY: the closure runs between fork and exec in the child. It
    // allocates nothing, takes no lock and calls only the async-signal-safe
    // fcntl/dup2 on integers copied into it, as pre_exec requires.
    unsafe {
        cmd.pre_exec(pre_exec);
    }
}

/// The fd number at which the metrics worker finds its listening socket.
pub const METRICS_LISTEN_FD: RawFd = 4;

/// Arrange for the listening socket `fd` to be at `METRICS_LISTEN_FD` in
/// the exec'd child. `fd` must not be 3 or 4 (callers pass a copy made
/// with [`high_fd`]), so that placing the IPC fd at 3 (an earlier
/// pre_exec) cannot clobber it.
pub fn pass_listen_fd(cmd: &mut Command, fd: &OwnedFd) -> io::Result<()> {
    let src = fd.as_raw_fd();
    if src <= METRICS_LISTEN_FD {
        return Err(io::Error::other(format!(
            "listening socket at fd {src}: needs a copy above {METRICS_LISTEN_FD}"
        )));
    }
    let pre_exec = move || -> io::Result<()> {
        // SAFETY: dup2 on two fd numbers is async-signal-safe and touches
        // no memory; the copy has no close-on-exec flag.
        if unsafe { libc::dup2(src, METRICS_LISTEN_FD) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    };
    // SAFETY: the closure runs between fork and exec in the child and
    // only calls the async-signal-safe dup2 on integers copied into it.
    unsafe {
        cmd.pre_exec(pre_exec);
    }
    Ok(())
}

/// A close-on-exec copy of `fd` numbered 10 or above.
pub fn high_fd(fd: &impl AsRawFd) -> io::Result<OwnedFd> {
    // SAFETY: the fd is borrowed for the duration of the call only.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd.as_raw_fd()) };
    Ok(rustix::io::fcntl_dupfd_cloexec(borrowed, 10)?)
}

static METRICS_FD_TAKEN: AtomicBool = AtomicBool::new(false);

/// In the metrics worker: take ownership of the listening socket at
/// `METRICS_LISTEN_FD`. Succeeds once per process, and only if that fd is
/// a listening socket.
pub fn take_metrics_listener() -> io::Result<std::net::TcpListener> {
    if METRICS_FD_TAKEN.swap(true, Ordering::SeqCst) {
        return Err(io::Error::other("the listening fd was already taken"));
    }
    // SAFETY: fstat writes only into the zeroed stat buffer we pass.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on an fd number; `st` is a valid, writable stat.
    if unsafe { libc::fstat(METRICS_LISTEN_FD, &mut st) } == -1
        || st.st_mode & libc::S_IFMT != libc::S_IFSOCK
    {
        return Err(io::Error::other(format!(
            "no listening socket at fd {METRICS_LISTEN_FD} (the metrics worker is started by the keepalived-rs parent)"
        )));
    }
    // SAFETY: fd 4 is an open socket (fstat), placed there by our parent,
    // and the METRICS_FD_TAKEN guard makes this its only owner.
    let fd = unsafe { OwnedFd::from_raw_fd(METRICS_LISTEN_FD) };
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
    Ok(std::net::TcpListener::from(fd))
}

static IPC_FD_TAKEN: AtomicBool = AtomicBool::new(false);

/// In a worker: take ownership of the socketpair end at `WORKER_IPC_FD`.
/// Succeeds once per process, and only if that fd is a Unix socket.
pub fn take_ipc_fd() -> io::Result<UnixStream> {
    if IPC_FD_TAKEN.swap(true, Ordering::SeqCst) {
        return Err(io::Error::other("the IPC fd was already taken"));
    }
    // SAFETY: fstat writes only into the zeroed stat buffer we pass.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on an fd number; `st` is a valid, writable stat.
    if unsafe { libc::fstat(WORKER_IPC_FD, &mut st) } == -1 {
        return Err(io::Error::other(format!(
            "no IPC socket at fd {WORKER_IPC_FD}: {} (workers are started by the keepalived-rs parent)",
            io::Error::last_os_error()
        )));
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(io::Error::other(format!(
            "fd {WORKER_IPC_FD} is not a socket (workers are started by the keepalived-rs parent)"
        )));
    }
    // SAFETY: fd 3 is open (fstat succeeded), is the socket our parent
    // placed there, and nothing else in this process owns it: the
    // IPC_FD_TAKEN guard makes this the only owner ever created.
    let fd = unsafe { OwnedFd::from_raw_fd(WORKER_IPC_FD) };
    rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC)?;
    Ok(UnixStream::from(fd))
}

/// Detach from the terminal as keepalived does without `-n`: fork (the
/// original process exits 0), start a new session, chdir to /, and point
/// stdin/stdout/stderr at /dev/null. Call before any thread exists.
pub fn daemonize() -> io::Result<()> {
    // SAFETY: fork is called while this process has a single thread (the
    // caller's contract: before the event loop, signal handling or any
    // worker is set up), so the child inherits no lock held by another
    // thread.
    match unsafe { libc::fork() } {
        -1 => return Err(io::Error::last_os_error()),
        0 => {}
        // SAFETY: _exit in the original process ends it at once without
        // running destructors shared with the child.
        _ => unsafe { libc::_exit(0) },
    }
    rustix::process::setsid()?;
    std::env::set_current_dir("/")?;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    for target in 0..=2 {
        // SAFETY: dup2 onto the standard fd numbers; std's handles for
        // them stay valid (they now refer to /dev/null).
        if unsafe { libc::dup2(null.as_raw_fd(), target) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The resolver's canonical name for `host` (`getaddrinfo` with
/// `AI_CANONNAME`, as keepalived's `get_local_name` asks for it); `None`
/// when it cannot be resolved.
pub fn canonical_name(host: &str) -> Option<String> {
    let c_host = std::ffi::CString::new(host).ok()?;
    // SAFETY: an all-zero addrinfo is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: c_host is a NUL-terminated string that outlives the call,
    // the service is NULL, hints is initialised and res is a valid out
    // pointer; on success res is freed below with freeaddrinfo.
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    // SAFETY: res is the non-null list getaddrinfo returned; its first
    // entry's ai_canonname is NULL or a NUL-terminated string owned by the
    // list, copied out before the list is freed.
    let name = unsafe {
        let first = &*res;
        let name = (!first.ai_canonname.is_null()).then(|| {
            std::ffi::CStr::from_ptr(first.ai_canonname)
                .to_string_lossy()
                .into_owned()
        });
        libc::freeaddrinfo(res);
        name
    };
    name.filter(|n| !n.is_empty())
}

/// Give the heap's free pages back to the kernel. Reading a large
/// configuration and encoding the workers' slices peak far above what the
/// parent keeps; glibc's allocator keeps that peak resident (in the main
/// arena above its trim threshold only the top is returned) unless asked.
pub fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks and trims the allocator's own arenas;
    // it takes no pointers from us and is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
