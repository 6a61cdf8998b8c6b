//! Capabilities: the three per-thread sets, the ambient and bounding sets,
//! and the securebits.

use std::fmt;

use crate::error::{Error, ErrorKind, Step};
use crate::sys;

macro_rules! caps {
    ($($variant:ident = $num:literal => $name:literal,)*) => {
        /// A Linux capability (numbering of `linux/capability.h`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Cap {
            $(#[doc = $name] $variant = $num,)*
        }

        impl Cap {
            /// Every capability this crate knows of.
            pub const ALL: &'static [Cap] = &[$(Cap::$variant,)*];

            /// The kernel's name, e.g. `CAP_NET_ADMIN`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Cap::$variant => $name,)*
                }
            }
        }
    };
}

caps! {
    Chown = 0 => "CAP_CHOWN",
    DacOverride = 1 => "CAP_DAC_OVERRIDE",
    DacReadSearch = 2 => "CAP_DAC_READ_SEARCH",
    Fowner = 3 => "CAP_FOWNER",
    Fsetid = 4 => "CAP_FSETID",
    Kill = 5 => "CAP_KILL",
    Setgid = 6 => "CAP_SETGID",
    Setuid = 7 => "CAP_SETUID",
    Setpcap = 8 => "CAP_SETPCAP",
    LinuxImmutable = 9 => "CAP_LINUX_IMMUTABLE",
    NetBindService = 10 => "CAP_NET_BIND_SERVICE",
    NetBroadcast = 11 => "CAP_NET_BROADCAST",
    NetAdmin = 12 => "CAP_NET_ADMIN",
    NetRaw = 13 => "CAP_NET_RAW",
    IpcLock = 14 => "CAP_IPC_LOCK",
    IpcOwner = 15 => "CAP_IPC_OWNER",
    SysModule = 16 => "CAP_SYS_MODULE",
    SysRawio = 17 => "CAP_SYS_RAWIO",
    SysChroot = 18 => "CAP_SYS_CHROOT",
    SysPtrace = 19 => "CAP_SYS_PTRACE",
    SysPacct = 20 => "CAP_SYS_PACCT",
    SysAdmin = 21 => "CAP_SYS_ADMIN",
    SysBoot = 22 => "CAP_SYS_BOOT",
    SysNice = 23 => "CAP_SYS_NICE",
    SysResource = 24 => "CAP_SYS_RESOURCE",
    SysTime = 25 => "CAP_SYS_TIME",
    SysTtyConfig = 26 => "CAP_SYS_TTY_CONFIG",
    Mknod = 27 => "CAP_MKNOD",
    Lease = 28 => "CAP_LEASE",
    AuditWrite = 29 => "CAP_AUDIT_WRITE",
    AuditControl = 30 => "CAP_AUDIT_CONTROL",
    Setfcap = 31 => "CAP_SETFCAP",
    MacOverride = 32 => "CAP_MAC_OVERRIDE",
    MacAdmin = 33 => "CAP_MAC_ADMIN",
    Syslog = 34 => "CAP_SYSLOG",
    WakeAlarm = 35 => "CAP_WAKE_ALARM",
    BlockSuspend = 36 => "CAP_BLOCK_SUSPEND",
    AuditRead = 37 => "CAP_AUDIT_READ",
    Perfmon = 38 => "CAP_PERFMON",
    Bpf = 39 => "CAP_BPF",
    CheckpointRestore = 40 => "CAP_CHECKPOINT_RESTORE",
}

impl Cap {
    /// The capability's bit in a 64-bit set.
    pub fn bit(self) -> u64 {
        1u64 << (self as u32)
    }

    /// The set of `caps` as a mask (as printed in /proc/PID/status).
    pub fn mask(caps: &[Cap]) -> u64 {
        caps.iter().fold(0, |m, c| m | c.bit())
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Securebits (`linux/securebits.h`).
pub mod securebits {
    /// uid 0 gets no capabilities from execve.
    pub const NOROOT: u32 = 1 << 0;
    /// Locks NOROOT.
    pub const NOROOT_LOCKED: u32 = 1 << 1;
    /// uid changes do not adjust the capability sets.
    pub const NO_SETUID_FIXUP: u32 = 1 << 2;
    /// Locks NO_SETUID_FIXUP.
    pub const NO_SETUID_FIXUP_LOCKED: u32 = 1 << 3;
    /// Permitted capabilities survive leaving uid 0 (PR_SET_KEEPCAPS).
    pub const KEEP_CAPS: u32 = 1 << 4;
    /// Locks KEEP_CAPS.
    pub const KEEP_CAPS_LOCKED: u32 = 1 << 5;
    /// PR_CAP_AMBIENT_RAISE is refused.
    pub const NO_CAP_AMBIENT_RAISE: u32 = 1 << 6;
    /// Locks NO_CAP_AMBIENT_RAISE.
    pub const NO_CAP_AMBIENT_RAISE_LOCKED: u32 = 1 << 7;

    /// What [`crate::restrict_capabilities`] sets: execve never grants root
    /// its capabilities (NOROOT), ambient capabilities can never be raised,
    /// and KEEP_CAPS (off) and NO_SETUID_FIXUP (off, so a uid change still
    /// drops capabilities) are locked in their safe state.  All locked.
    pub const WORKER: u32 = NOROOT
        | NOROOT_LOCKED
        | NO_SETUID_FIXUP_LOCKED
        | KEEP_CAPS_LOCKED
        | NO_CAP_AMBIENT_RAISE
        | NO_CAP_AMBIENT_RAISE_LOCKED;
}

/// What [`restrict_capabilities`] left in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapReport {
    /// The capabilities kept (effective = permitted = this).
    pub kept: Vec<Cap>,
    /// Capabilities dropped from the bounding set (0..=last cap).
    pub bounding_dropped: u32,
    /// The securebits now in force.
    pub securebits: u32,
}

impl fmt::Display for CapReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.kept.iter().map(|c| c.name()).collect();
        write!(
            f,
            "kept [{}], effective=permitted={:#x}, inheritable=ambient=bounding=0 ({} dropped), securebits={:#x}",
            names.join(", "),
            Cap::mask(&self.kept),
            self.bounding_dropped,
            self.securebits
        )
    }
}

/// Leaves exactly `keep` in the effective and permitted sets, and nothing
/// in the inheritable, ambient and bounding sets; sets and locks
/// [`securebits::WORKER`].  Needs CAP_SETPCAP in the permitted set (any
/// root process, or one that switched user with `keep_caps`).
///
/// The inheritable set is emptied rather than set to `keep`: it only
/// matters across execve, where `pI & fI` would hand the kept capabilities
/// to a binary with inheritable file capabilities, bounding set or not.
/// Workers never exec, so an empty set loses nothing.
pub fn restrict_capabilities(keep: &[Cap]) -> Result<CapReport, Error> {
    let step = Step::Capabilities;
    let want = Cap::mask(keep);
    let current = sys::capget().map_err(|e| Error::sys(step, "capget", e))?;
    for &cap in keep {
        if current.permitted & cap.bit() == 0 {
            return Err(Error::new(step, ErrorKind::MissingCapability(cap)));
        }
    }

    // 1. CAP_SETPCAP must be effective to drop bounding capabilities and
    //    set securebits; after a keep_caps user switch the effective set is
    //    empty.  The inheritable set is emptied now: raising it later would
    //    need the bounding set we are about to empty.
    let setpcap = Cap::Setpcap.bit();
    if current.permitted & setpcap == 0 {
        return Err(Error::new(step, ErrorKind::MissingCapability(Cap::Setpcap)));
    }
    sys::capset(sys::CapSets {
        effective: current.effective | setpcap,
        permitted: current.permitted,
        inheritable: 0,
    })
    .map_err(|e| Error::sys(step, "capset (raise CAP_SETPCAP)", e))?;

    // 2. Ambient set: nothing.
    sys::ambient_clear_all().map_err(|e| Error::sys(step, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", e))?;

    // 3. Bounding set: everything the kernel knows of, probing up to the
    //    first EINVAL (that is cap_last_cap + 1, read without a file).
    let mut dropped = 0;
    let mut cap: u32 = 0;
    loop {
        match sys::capbset_read(cap) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
            Err(e) => {
                return Err(Error::sys(
                    step,
                    format!("prctl(PR_CAPBSET_READ, {cap})"),
                    e,
                ));
            }
        }
        sys::capbset_drop(cap)
            .map_err(|e| Error::sys(step, format!("prctl(PR_CAPBSET_DROP, {cap})"), e))?;
        dropped += 1;
        cap += 1;
        if cap >= 64 {
            break;
        }
    }

    // 4. Securebits, all locked.
    sys::set_securebits(securebits::WORKER).map_err(|e| {
        Error::sys(
            step,
            format!("prctl(PR_SET_SECUREBITS, {:#x})", securebits::WORKER),
            e,
        )
    })?;

    // 5. The final sets; CAP_SETPCAP goes unless kept.
    sys::capset(sys::CapSets {
        effective: want,
        permitted: want,
        inheritable: 0,
    })
    .map_err(|e| Error::sys(step, format!("capset (effective=permitted={want:#x})"), e))?;

    // Read everything back.
    let now = sys::capget().map_err(|e| Error::sys(step, "capget", e))?;
    let expected = sys::CapSets {
        effective: want,
        permitted: want,
        inheritable: 0,
    };
    if now != expected {
        return Err(Error::verify(
            step,
            format!("capget returned {now:x?}, expected {expected:x?}"),
        ));
    }
    for c in 0..cap {
        if sys::capbset_read(c).map_err(|e| Error::sys(step, "prctl(PR_CAPBSET_READ)", e))? {
            return Err(Error::verify(
                step,
                format!("capability {c} is still in the bounding set"),
            ));
        }
        if sys::ambient_is_set(c)
            .map_err(|e| Error::sys(step, "prctl(PR_CAP_AMBIENT_IS_SET)", e))?
        {
            return Err(Error::verify(
                step,
                format!("capability {c} is still ambient"),
            ));
        }
    }
    let bits =
        sys::get_securebits().map_err(|e| Error::sys(step, "prctl(PR_GET_SECUREBITS)", e))?;
    if bits != securebits::WORKER {
        return Err(Error::verify(
            step,
            format!("securebits {bits:#x}, expected {:#x}", securebits::WORKER),
        ));
    }
    let mut kept = keep.to_vec();
    kept.sort_unstable();
    kept.dedup();
    Ok(CapReport {
        kept,
        bounding_dropped: dropped,
        securebits: bits,
    })
}

/// For a supervisor that still has to start privileged children: leaves
/// at most `keep` in the bounding, permitted and effective sets (what
/// the process holds of it), nothing inheritable or ambient, and leaves
/// the securebits alone, so that a child it execs as uid 0 still gets the
/// whole (reduced) bounding set and can confine itself further. Needs
/// CAP_SETPCAP in the permitted set. Returns how many capabilities left
/// the bounding set.
pub fn limit_capabilities(keep: &[Cap]) -> Result<u32, Error> {
    let step = Step::Capabilities;
    let want = Cap::mask(keep);
    let current = sys::capget().map_err(|e| Error::sys(step, "capget", e))?;
    let setpcap = Cap::Setpcap.bit();
    if current.permitted & setpcap == 0 {
        return Err(Error::new(step, ErrorKind::MissingCapability(Cap::Setpcap)));
    }
    sys::capset(sys::CapSets {
        effective: current.effective | setpcap,
        permitted: current.permitted,
        inheritable: 0,
    })
    .map_err(|e| Error::sys(step, "capset (raise CAP_SETPCAP)", e))?;
    sys::ambient_clear_all().map_err(|e| Error::sys(step, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", e))?;
    let mut dropped = 0;
    let mut cap: u32 = 0;
    while cap < 64 {
        match sys::capbset_read(cap) {
            Ok(true) if want & (1u64 << cap) == 0 => {
                sys::capbset_drop(cap)
                    .map_err(|e| Error::sys(step, format!("prctl(PR_CAPBSET_DROP, {cap})"), e))?;
                dropped += 1;
            }
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
            Err(e) => {
                return Err(Error::sys(
                    step,
                    format!("prctl(PR_CAPBSET_READ, {cap})"),
                    e,
                ));
            }
        }
        cap += 1;
    }
    let sets = sys::CapSets {
        effective: current.permitted & want,
        permitted: current.permitted & want,
        inheritable: 0,
    };
    sys::capset(sets)
        .map_err(|e| Error::sys(step, format!("capset (effective=permitted={want:#x})"), e))?;
    let now = sys::capget().map_err(|e| Error::sys(step, "capget", e))?;
    if now != sets {
        return Err(Error::verify(
            step,
            format!("capget returned {now:x?}, expected {sets:x?}"),
        ));
    }
    Ok(dropped)
}

/// The securebits currently in force.
pub fn current_securebits() -> Result<u32, Error> {
    sys::get_securebits().map_err(|e| Error::sys(Step::Capabilities, "prctl(PR_GET_SECUREBITS)", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_matches_the_kernel() {
        assert_eq!(Cap::ALL.len(), 41);
        for (i, c) in Cap::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i, "{c}");
        }
        assert_eq!(Cap::mask(&[Cap::NetAdmin, Cap::NetRaw]), 0x3000);
        assert_eq!(Cap::NetAdmin.to_string(), "CAP_NET_ADMIN");
        assert_eq!(securebits::WORKER, 0xeb);
    }
}
