//! User lookup and switching.
//!
//! The lookup goes through glibc's `getpwnam_r` and `getgrouplist`, i.e.
//! through NSS, as keepalived's own `getpwnam` does: a `keepalived_script`
//! user that lives in LDAP/sssd/systemd-userdb resolves the same way it does
//! for keepalived, which parsing /etc/passwd by hand would miss.  The cost
//! is that NSS may open files, sockets (nscd) or dlopen modules, so the
//! lookup must run before confinement (in the parent, or in the worker
//! before [`crate::confine`]).

use std::ffi::CString;
use std::fmt;

use crate::error::{Error, ErrorKind, Step};
use crate::sys;

/// The ids a worker runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserIds {
    /// The user name it was resolved from (informational).
    pub name: String,
    /// Real, effective and saved uid.
    pub uid: u32,
    /// Real, effective and saved gid.
    pub gid: u32,
    /// Supplementary groups (may include `gid`, as getgrouplist returns it).
    pub groups: Vec<u32>,
}

impl UserIds {
    /// uid 0, gid 0 and no supplementary groups: the privileged workers
    /// stay root but drop whatever groups and saved ids they inherited.
    pub fn root() -> Self {
        UserIds {
            name: "root".into(),
            uid: 0,
            gid: 0,
            groups: Vec::new(),
        }
    }
}

impl fmt::Display for UserIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (uid {}, gid {}, groups {:?})",
            self.name, self.uid, self.gid, self.groups
        )
    }
}

/// Looks a user up through NSS: `Ok(None)` when it does not exist.
pub fn lookup_user(name: &str) -> Result<Option<UserIds>, Error> {
    let step = Step::LookupUser;
    let c_name = CString::new(name).map_err(|_| {
        Error::new(
            step,
            ErrorKind::Invalid(format!("user name {name:?} contains NUL")),
        )
    })?;
    let Some((uid, gid)) =
        sys::getpwnam(&c_name).map_err(|e| Error::sys(step, format!("getpwnam_r({name})"), e))?
    else {
        return Ok(None);
    };
    let groups = sys::getgrouplist(&c_name, gid)
        .map_err(|e| Error::sys(step, format!("getgrouplist({name})"), e))?;
    Ok(Some(UserIds {
        name: name.to_owned(),
        uid,
        gid,
        groups,
    }))
}

/// The first of `names` that exists (e.g. `["keepalived_script", "nobody"]`).
pub fn lookup_first_user(names: &[&str]) -> Result<UserIds, Error> {
    for name in names {
        if let Some(ids) = lookup_user(name)? {
            return Ok(ids);
        }
    }
    Err(Error::new(
        Step::LookupUser,
        ErrorKind::NoSuchUser(names.iter().map(|s| s.to_string()).collect()),
    ))
}

/// Switches to `ids`: setgroups, then setresgid, then setresuid, each with
/// all three ids equal so there is no saved id to switch back to; then reads
/// the ids back.
///
/// With `keep_caps`, PR_SET_KEEPCAPS is set around the uid change so that
/// a switch away from uid 0 keeps the permitted capabilities (the effective
/// set is cleared by the kernel regardless); it is cleared again afterwards
/// (and locked by [`crate::restrict_capabilities`]).  Without it, leaving
/// uid 0 clears every capability.
pub fn switch_user(ids: &UserIds, keep_caps: bool) -> Result<(), Error> {
    let step = Step::SwitchUser;
    if keep_caps {
        sys::set_keepcaps(true).map_err(|e| Error::sys(step, "prctl(PR_SET_KEEPCAPS, 1)", e))?;
    }
    sys::setgroups(&ids.groups)
        .map_err(|e| Error::sys(step, format!("setgroups({:?})", ids.groups), e))?;
    sys::setresgid(ids.gid)
        .map_err(|e| Error::sys(step, format!("setresgid({0}, {0}, {0})", ids.gid), e))?;
    sys::setresuid(ids.uid)
        .map_err(|e| Error::sys(step, format!("setresuid({0}, {0}, {0})", ids.uid), e))?;
    if keep_caps {
        sys::set_keepcaps(false).map_err(|e| Error::sys(step, "prctl(PR_SET_KEEPCAPS, 0)", e))?;
    }
    let uids = sys::getresuid().map_err(|e| Error::sys(step, "getresuid", e))?;
    let gids = sys::getresgid().map_err(|e| Error::sys(step, "getresgid", e))?;
    if uids != [ids.uid; 3] || gids != [ids.gid; 3] {
        return Err(Error::verify(
            step,
            format!("uids {uids:?} gids {gids:?} after switching to {ids}"),
        ));
    }
    let mut want = ids.groups.clone();
    want.sort_unstable();
    want.dedup();
    let mut have = sys::getgroups().map_err(|e| Error::sys(step, "getgroups", e))?;
    have.sort_unstable();
    have.dedup();
    if have != want {
        return Err(Error::verify(
            step,
            format!("groups {have:?}, wanted {want:?}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_missing_users() {
        let root = lookup_user("root").expect("lookup").expect("root exists");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(root.groups.contains(&0));
        assert_eq!(
            lookup_user("no-such-user-keepalived-rs").expect("lookup"),
            None
        );
        let err = lookup_first_user(&["no-such-user-a", "no-such-user-b"]).unwrap_err();
        assert_eq!(err.step(), Step::LookupUser);
        assert!(err.to_string().contains("no-such-user-b"), "{err}");
        assert!(lookup_user("a\0b").is_err());
    }
}
