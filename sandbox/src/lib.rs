//! Confinement primitives for keepalived-rs workers.
//!
//! The parent fork+execs itself once per worker role; right after exec,
//! before reading any input, the worker calls [`confine`] with its role's
//! [`Profile`] and sends the returned [`Report`] to the parent to log.
//! The steps are also available one by one:
//!
//! | step | function |
//! | --- | --- |
//! | close inherited descriptors | [`close_inherited_fds`] |
//! | user switch | [`lookup_user`], [`switch_user`] |
//! | parent-death signal | [`set_parent_death_signal`] |
//! | no_new_privs | [`set_no_new_privs`] |
//! | capabilities | [`restrict_capabilities`] |
//! | Landlock | [`restrict_filesystem`], [`restrict_landlock`] |
//! | seccomp | [`apply_seccomp`] with [`Policy::vrrp`], [`Policy::check`], [`Policy::ipvs`] |
//!
//! Every step returns [`Error`] (the step, and the errno when a system call
//! failed); nothing panics.  All `unsafe` code is in the private `sys`
//! module.

mod caps;
mod error;
mod fds;
mod filesystem;
mod policies;
mod process;
mod profile;
mod seccomp;
#[allow(unsafe_code)]
mod sys;

pub use caps::{
    Cap, CapReport, current_securebits, limit_capabilities, restrict_capabilities, securebits,
};
pub use error::{Error, ErrorKind, Step};
pub use fds::{CloseMethod, close_inherited_fds};
pub use filesystem::{
    Enforcement, LandlockReport, LandlockRules, TcpRule, restrict_filesystem, restrict_landlock,
};
pub use process::{no_new_privs, parent_death_signal, set_no_new_privs, set_parent_death_signal};
pub use profile::{
    CHECK_READ_ONLY, CHECK_USERS, IPC_FD, METRICS_LISTEN_FD, Profile, Report, confine,
};
pub use seccomp::{
    Action, Cond, Insn, Policy, PolicyRole, Rule, SeccompReport, Width, apply_seccomp,
};
pub use user::{UserIds, lookup_first_user, lookup_user, switch_user};

mod user;

/// Helpers for the `sandbox-probe` test binary: direct system calls that
/// std does not offer.  Not part of the API.
#[doc(hidden)]
pub mod testing {
    use std::ffi::CStr;
    use std::io;
    use std::os::fd::OwnedFd;

    /// socket(2).
    pub fn socket(domain: i32, ty: i32, protocol: i32) -> io::Result<OwnedFd> {
        crate::sys::socket(domain, ty, protocol)
    }

    /// The /proc/self/fd fallback of [`crate::close_inherited_fds`].
    pub fn close_fds_listed(keep: &[std::os::fd::RawFd]) -> Result<(), crate::Error> {
        crate::fds::close_listed_fds(keep)
    }

    /// execve(2) of `path` with no arguments and an empty environment,
    /// without forking; returns only on failure.
    pub fn execve(path: &CStr) -> io::Error {
        crate::sys::execve(path)
    }
}
