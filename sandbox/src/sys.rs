//! Every `unsafe` block of the crate lives here, as thin wrappers around
//! one system call each.  The wrappers take and return plain Rust values;
//! the callers in the other modules are safe code and do the policy.
//!
//! Only integers and pointers to locals (or to buffers whose length is
//! passed alongside) cross the FFI boundary.  `unsafe_code` is allowed for
//! this module only (in lib.rs).

use std::ffi::{CStr, c_char, c_int, c_long, c_ulong};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

fn check(ret: c_int) -> io::Result<c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn check_long(ret: c_long) -> io::Result<c_long> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

// ---------------------------------------------------------------- fds

/// `close_range(first, last, 0)` (Linux 5.9+).
pub(crate) fn close_range(first: u32, last: u32) -> io::Result<()> {
    // SAFETY: close_range takes three integers and touches no memory of
    // ours; closing descriptors that other code in this process may still
    // reference is the documented contract of `close_inherited_fds`.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            c_ulong::from(first),
            c_ulong::from(last),
            0 as c_ulong,
        )
    };
    check_long(ret).map(drop)
}

/// `close(fd)`.  EINTR is treated as success: on Linux the descriptor is
/// released before close returns EINTR, and retrying could close a
/// descriptor that another open already reused.
pub(crate) fn close(fd: RawFd) -> io::Result<()> {
    // SAFETY: close takes an integer; see `close_range` for ownership.
    let ret = unsafe { libc::close(fd) };
    match check(ret) {
        Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(()),
        other => other.map(drop),
    }
}

/// `socket(domain, type, protocol)`, returning an owned descriptor.
pub(crate) fn socket(domain: c_int, ty: c_int, protocol: c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket takes integers only.
    let fd = check(unsafe { libc::socket(domain, ty, protocol) })?;
    // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `execve(path, [path], [])`: only returns on failure.
pub(crate) fn execve(path: &CStr) -> io::Error {
    let argv: [*const c_char; 2] = [path.as_ptr(), std::ptr::null()];
    let envp: [*const c_char; 1] = [std::ptr::null()];
    // SAFETY: `path` is a NUL-terminated string that outlives the call;
    // argv and envp are NULL-terminated arrays of such pointers on our stack.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

// ---------------------------------------------------------------- prctl

/// `prctl(option, a2, a3, a4, a5)` for the options that take integers only.
fn prctl_int(option: c_int, a2: c_ulong, a3: c_ulong) -> io::Result<c_int> {
    // SAFETY: every caller passes an option whose arguments are plain
    // integers (no pointers); unused trailing arguments are zero as the
    // kernel requires for several options.
    check(unsafe { libc::prctl(option, a2, a3, 0 as c_ulong, 0 as c_ulong) })
}

pub(crate) fn set_pdeathsig(sig: c_int) -> io::Result<()> {
    let sig = c_ulong::try_from(sig).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    prctl_int(libc::PR_SET_PDEATHSIG, sig, 0).map(drop)
}

pub(crate) fn get_pdeathsig() -> io::Result<c_int> {
    let mut sig: c_int = 0;
    // SAFETY: PR_GET_PDEATHSIG stores one int through the pointer, which
    // points to a live local of that type.
    check(unsafe {
        libc::prctl(
            libc::PR_GET_PDEATHSIG,
            &mut sig as *mut c_int,
            0 as c_ulong,
            0 as c_ulong,
            0 as c_ulong,
        )
    })?;
    Ok(sig)
}

pub(crate) fn set_keepcaps(on: bool) -> io::Result<()> {
    prctl_int(libc::PR_SET_KEEPCAPS, c_ulong::from(on), 0).map(drop)
}

pub(crate) fn set_no_new_privs() -> io::Result<()> {
    prctl_int(libc::PR_SET_NO_NEW_PRIVS, 1, 0).map(drop)
}

pub(crate) fn get_no_new_privs() -> io::Result<bool> {
    prctl_int(libc::PR_GET_NO_NEW_PRIVS, 0, 0).map(|v| v == 1)
}

/// `PR_CAPBSET_READ`: Ok(true/false), or EINVAL past the last capability.
pub(crate) fn capbset_read(cap: u32) -> io::Result<bool> {
    prctl_int(libc::PR_CAPBSET_READ, c_ulong::from(cap), 0).map(|v| v == 1)
}

pub(crate) fn capbset_drop(cap: u32) -> io::Result<()> {
    prctl_int(libc::PR_CAPBSET_DROP, c_ulong::from(cap), 0).map(drop)
}

pub(crate) fn ambient_clear_all() -> io::Result<()> {
    prctl_int(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as c_ulong,
        0,
    )
    .map(drop)
}

pub(crate) fn ambient_is_set(cap: u32) -> io::Result<bool> {
    prctl_int(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_IS_SET as c_ulong,
        c_ulong::from(cap),
    )
    .map(|v| v == 1)
}

pub(crate) fn set_securebits(bits: u32) -> io::Result<()> {
    prctl_int(libc::PR_SET_SECUREBITS, c_ulong::from(bits), 0).map(drop)
}

pub(crate) fn get_securebits() -> io::Result<u32> {
    prctl_int(libc::PR_GET_SECUREBITS, 0, 0).map(|v| v as u32)
}

// ---------------------------------------------------------------- capabilities

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapUserHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapUserData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The three per-thread capability sets as 64-bit masks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

pub(crate) fn capget() -> io::Result<CapSets> {
    let mut header = CapUserHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapUserData::default(); 2];
    // SAFETY: version 3 capget writes exactly two `__user_cap_data_struct`
    // entries (the array is two long) and reads the header; both are locals
    // with the kernel's layout (`repr(C)`, three u32 / u32 + int).
    check_long(unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapUserHeader,
            data.as_mut_ptr(),
        )
    })?;
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok(CapSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

pub(crate) fn capset(sets: CapSets) -> io::Result<()> {
    let mut header = CapUserHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let split = |v: u64| (v as u32, (v >> 32) as u32);
    let (e0, e1) = split(sets.effective);
    let (p0, p1) = split(sets.permitted);
    let (i0, i1) = split(sets.inheritable);
    let data = [
        CapUserData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapUserData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: version 3 capset reads the header and two data entries,
    // all locals with the kernel's layout that outlive the call.
    check_long(unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapUserHeader,
            data.as_ptr(),
        )
    })
    .map(drop)
}

// ---------------------------------------------------------------- credentials

pub(crate) fn setgroups(groups: &[u32]) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live slice of gid_t (u32);
    // glibc's wrapper applies the change to every thread of the process.
    check(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) }).map(drop)
}

pub(crate) fn setresgid(gid: u32) -> io::Result<()> {
    // SAFETY: integers only.
    check(unsafe { libc::setresgid(gid, gid, gid) }).map(drop)
}

pub(crate) fn setresuid(uid: u32) -> io::Result<()> {
    // SAFETY: integers only.
    check(unsafe { libc::setresuid(uid, uid, uid) }).map(drop)
}

pub(crate) fn getresuid() -> io::Result<[u32; 3]> {
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: the kernel writes one uid_t through each pointer to a local.
    check(unsafe { libc::getresuid(&mut r, &mut e, &mut s) })?;
    Ok([r, e, s])
}

pub(crate) fn getresgid() -> io::Result<[u32; 3]> {
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: the kernel writes one gid_t through each pointer to a local.
    check(unsafe { libc::getresgid(&mut r, &mut e, &mut s) })?;
    Ok([r, e, s])
}

pub(crate) fn getgroups() -> io::Result<Vec<u32>> {
    // SAFETY: with size 0, getgroups only returns the count.
    let n = check(unsafe { libc::getgroups(0, std::ptr::null_mut()) })?;
    let mut groups = vec![0u32; usize::try_from(n).unwrap_or(0)];
    // SAFETY: the buffer holds `n` gid_t entries and `n` is passed as size.
    let got = check(unsafe { libc::getgroups(n, groups.as_mut_ptr()) })?;
    groups.truncate(usize::try_from(got).unwrap_or(0));
    Ok(groups)
}

/// `getpwnam_r`: Ok(None) when NSS has no such user.
pub(crate) fn getpwnam(name: &CStr) -> io::Result<Option<(u32, u32)>> {
    let mut buf_len: usize = 1024;
    loop {
        let mut buf = vec![0 as c_char; buf_len];
        // SAFETY: an all-zero `passwd` is a valid value (null pointers and
        // zero ids); it is only read after getpwnam_r filled it.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; `pwd`, `buf` (with its true
        // length) and `result` are live locals the function may write to.
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf_len < (1 << 20) {
            buf_len *= 4;
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if result.is_null() {
            return Ok(None);
        }
        return Ok(Some((pwd.pw_uid, pwd.pw_gid)));
    }
}

/// `getgrouplist(name, gid)`: the user's groups, `gid` included.
pub(crate) fn getgrouplist(name: &CStr, gid: u32) -> io::Result<Vec<u32>> {
    let mut n: c_int = 32;
    loop {
        let len = usize::try_from(n).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let mut groups = vec![0u32; len];
        let mut count = n;
        // SAFETY: `groups` has room for `count` gid_t entries; glibc writes
        // at most that many and stores the real count through `count`.
        let rc = unsafe { libc::getgrouplist(name.as_ptr(), gid, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(usize::try_from(count).unwrap_or(0));
            return Ok(groups);
        }
        if count <= n || count > 65536 {
            return Err(io::Error::from_raw_os_error(libc::ERANGE));
        }
        n = count;
    }
}

// ---------------------------------------------------------------- seccomp

const SECCOMP_SET_MODE_FILTER: c_ulong = 1;
/// Synchronize all threads to the new filter.
pub(crate) const SECCOMP_FILTER_FLAG_TSYNC: c_ulong = 1;

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)`.
pub(crate) fn seccomp_set_mode_filter(
    filter: &[libc::sock_filter],
    flags: c_ulong,
) -> io::Result<()> {
    let len =
        u16::try_from(filter.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let prog = libc::sock_fprog {
        len,
        // The kernel only reads the program (the field is `*mut` in C).
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points to `len` valid instructions that outlive the
    // call; the kernel copies the program before returning.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    match check_long(ret)? {
        0 => Ok(()),
        // With TSYNC, a positive value is the id of a thread that could not
        // be synchronized.
        tid => Err(io::Error::other(format!(
            "thread {tid} could not be synchronized (TSYNC)"
        ))),
    }
}
