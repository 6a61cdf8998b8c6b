//! Parent-death signal and no_new_privs.

use std::ffi::c_int;

use crate::error::{Error, ErrorKind, Step};
use crate::sys;

/// Arms `sig` (e.g. `libc::SIGKILL`) to be sent to this process when its
/// parent exits, then checks the race: if `expected_parent` is given and
/// getppid(2) no longer returns it, the parent already died (the worker was
/// reparented) and the signal will never come, so this fails with
/// [`ErrorKind::ParentChanged`].
///
/// The kernel clears the setting when the effective or filesystem uid/gid
/// change, so [`crate::confine`] calls this *after* the user switch.
/// Returns the parent pid that was checked.
pub fn set_parent_death_signal(sig: c_int, expected_parent: Option<u32>) -> Result<u32, Error> {
    let step = Step::ParentDeathSignal;
    if !(1..=64).contains(&sig) {
        return Err(Error::new(
            step,
            ErrorKind::Invalid(format!("signal number {sig}")),
        ));
    }
    let before = std::os::unix::process::parent_id();
    sys::set_pdeathsig(sig)
        .map_err(|e| Error::sys(step, format!("prctl(PR_SET_PDEATHSIG, {sig})"), e))?;
    let armed = sys::get_pdeathsig().map_err(|e| Error::sys(step, "prctl(PR_GET_PDEATHSIG)", e))?;
    if armed != sig {
        return Err(Error::verify(
            step,
            format!("PR_GET_PDEATHSIG returned {armed}, not {sig}"),
        ));
    }
    let expected = expected_parent.unwrap_or(before);
    let actual = std::os::unix::process::parent_id();
    if actual != expected {
        return Err(Error::new(
            step,
            ErrorKind::ParentChanged { expected, actual },
        ));
    }
    Ok(actual)
}

/// The parent-death signal currently armed (0 for none).
pub fn parent_death_signal() -> Result<c_int, Error> {
    sys::get_pdeathsig()
        .map_err(|e| Error::sys(Step::ParentDeathSignal, "prctl(PR_GET_PDEATHSIG)", e))
}

/// `PR_SET_NO_NEW_PRIVS`: execve can no longer grant privileges (setuid
/// bits, file capabilities); required by unprivileged seccomp and Landlock.
/// Irreversible and inherited.
pub fn set_no_new_privs() -> Result<(), Error> {
    let step = Step::NoNewPrivs;
    sys::set_no_new_privs().map_err(|e| Error::sys(step, "prctl(PR_SET_NO_NEW_PRIVS, 1)", e))?;
    match sys::get_no_new_privs() {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::verify(step, "PR_GET_NO_NEW_PRIVS still returns 0")),
        Err(e) => Err(Error::sys(step, "prctl(PR_GET_NO_NEW_PRIVS)", e)),
    }
}

/// Whether no_new_privs is set.
pub fn no_new_privs() -> Result<bool, Error> {
    sys::get_no_new_privs()
        .map_err(|e| Error::sys(Step::NoNewPrivs, "prctl(PR_GET_NO_NEW_PRIVS)", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_signal_is_a_typed_error() {
        for sig in [0, -1, 65] {
            let err = set_parent_death_signal(sig, None).unwrap_err();
            assert_eq!(err.step(), Step::ParentDeathSignal);
            assert!(matches!(err.kind(), ErrorKind::Invalid(_)), "{err:?}");
            assert_eq!(err.errno(), None);
            assert_eq!(
                err.to_string(),
                format!("parent death signal: invalid argument: signal number {sig}")
            );
        }
        // Nothing was armed by the failed calls.
        assert_eq!(parent_death_signal().unwrap(), 0);
    }
}
