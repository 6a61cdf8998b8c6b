//! Role profiles and the ordering helper [`confine`].

use std::ffi::c_int;
use std::fmt;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use crate::caps::{Cap, CapReport, restrict_capabilities};
use crate::error::Error;
use crate::fds::{CloseMethod, close_inherited_fds};
use crate::filesystem::{LandlockReport, LandlockRules, TcpRule, restrict_landlock};
use crate::process::{set_no_new_privs, set_parent_death_signal};
use crate::seccomp::{Policy, SeccompReport, apply_seccomp};
use crate::user::{UserIds, lookup_first_user, switch_user};

/// The descriptor a worker receives its socketpair end on.
pub const IPC_FD: RawFd = 3;

/// The descriptor the metrics worker receives its listening socket on.
pub const METRICS_LISTEN_FD: RawFd = 4;

/// The user the check worker runs as: the first of these that exists.
pub const CHECK_USERS: [&str; 2] = ["keepalived_script", "nobody"];

/// Everything [`confine`] applies.  Fields are public so that a worker
/// (or a test) can adjust a built-in profile before applying it.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Role name, for reports.
    pub role: String,
    /// Descriptors kept open; all others are closed.
    pub keep_fds: Vec<RawFd>,
    /// Signal sent when the parent exits (None: not armed).
    pub parent_death_signal: Option<c_int>,
    /// The parent's pid as the parent announced it; None: getppid() at the
    /// time of the call (which cannot catch a parent that died before).
    pub expected_parent: Option<u32>,
    /// The ids to switch to (None: leave them as they are).
    pub user: Option<UserIds>,
    /// Capabilities kept in the effective and permitted sets.
    pub capabilities: Vec<Cap>,
    /// Landlock ruleset (None: none).
    pub landlock: Option<LandlockRules>,
    /// Seccomp policy (None: none).
    pub seccomp: Option<Policy>,
}

/// Read-only paths the check worker needs for name resolution and TLS.
pub const CHECK_READ_ONLY: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/ssl",
    "/usr/lib/ssl",
    // /etc/ssl/certs/*.pem are symlinks into these; Landlock checks the
    // target, so they must be readable too.
    "/usr/share/ca-certificates",
    "/usr/local/share/ca-certificates",
    "/etc/ca-certificates",
    "/etc/pki",
];

impl Profile {
    fn base(role: &str) -> Profile {
        Profile {
            role: role.to_string(),
            keep_fds: vec![0, 1, 2, IPC_FD],
            parent_death_signal: Some(libc::SIGKILL),
            expected_parent: None,
            user: None,
            capabilities: Vec::new(),
            landlock: None,
            seccomp: None,
        }
    }

    /// VRRP: uid 0 with CAP_NET_RAW and CAP_NET_ADMIN only; reads /sys
    /// and reads/writes the network sysctls; no TCP; [`Policy::vrrp`].
    ///
    /// Landlock matters here even though the worker has no
    /// CAP_DAC_OVERRIDE: root-owned files such as /etc/shadow (0640
    /// root:shadow) are readable by uid 0 through plain owner permissions.
    pub fn vrrp() -> Profile {
        Profile {
            user: Some(UserIds::root()),
            capabilities: vec![Cap::NetAdmin, Cap::NetRaw],
            landlock: Some(LandlockRules {
                read_only: vec![PathBuf::from("/sys"), PathBuf::from("/proc/sys")],
                read_write: vec![PathBuf::from("/proc/sys/net")],
                tcp: TcpRule::Only {
                    bind: Vec::new(),
                    connect: Vec::new(),
                },
                scoped: true,
            }),
            seccomp: Some(Policy::vrrp()),
            ..Profile::base("vrrp")
        }
    }

    /// IPVS: uid 0 with CAP_NET_ADMIN only; no file at all, no TCP;
    /// [`Policy::ipvs`].
    pub fn ipvs() -> Profile {
        Profile {
            user: Some(UserIds::root()),
            capabilities: vec![Cap::NetAdmin],
            landlock: Some(LandlockRules::deny_all()),
            seccomp: Some(Policy::ipvs()),
            ..Profile::base("ipvs")
        }
    }

    /// Metrics: `nobody`, no capabilities, no file and no TCP bind or
    /// connect (Landlock), [`Policy::metrics`]; keeps fd 4, the listening
    /// socket the parent bound. Looks the user up through NSS, so call it
    /// before confinement.
    pub fn metrics() -> Result<Profile, Error> {
        let user = lookup_first_user(&["nobody"])?;
        let mut base = Profile::base("metrics");
        base.keep_fds.push(METRICS_LISTEN_FD);
        Ok(Profile {
            user: Some(user),
            capabilities: Vec::new(),
            landlock: Some(LandlockRules::deny_all()),
            seccomp: Some(Policy::metrics()),
            ..base
        })
    }

    /// Check: `keepalived_script` (else `nobody`), no capabilities;
    /// read-only name-resolution/TLS files plus the directories holding
    /// `file_check_paths` (the directory, not the file, so that a file
    /// replaced by rename or created later stays readable); TCP is not
    /// restricted (checks connect to any configured port); [`Policy::check`].
    ///
    /// Name resolution works with glibc's built-in `files` and `dns`
    /// sources only: other NSS modules would have to be dlopen()ed, and the
    /// policy allows no executable mappings.  Resolve names in the parent.
    ///
    /// Looks the user up through NSS, so call it before confinement.
    pub fn check<P: AsRef<Path>>(file_check_paths: &[P]) -> Result<Profile, Error> {
        let user = lookup_first_user(&CHECK_USERS)?;
        let mut read_only: Vec<PathBuf> = CHECK_READ_ONLY.iter().map(PathBuf::from).collect();
        for p in file_check_paths {
            let p = p.as_ref();
            let dir = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => p.to_path_buf(),
            };
            if !read_only.contains(&dir) {
                read_only.push(dir);
            }
        }
        Ok(Profile {
            user: Some(user),
            capabilities: Vec::new(),
            landlock: Some(LandlockRules {
                read_only,
                read_write: Vec::new(),
                tcp: TcpRule::Unrestricted,
                scoped: true,
            }),
            seccomp: Some(Policy::check()),
            ..Profile::base("check")
        })
    }
}

/// What [`confine`] applied, in order, for the worker to log.
#[derive(Clone, Debug)]
pub struct Report {
    /// Role name.
    pub role: String,
    /// How inherited descriptors were closed, and what was kept.
    pub fds: (CloseMethod, Vec<RawFd>),
    /// The user switched to.
    pub user: Option<UserIds>,
    /// Signal armed and the parent pid checked.
    pub parent_death_signal: Option<(c_int, u32)>,
    /// no_new_privs was set.
    pub no_new_privs: bool,
    /// Capabilities.
    pub capabilities: CapReport,
    /// Landlock.
    pub landlock: Option<LandlockReport>,
    /// Seccomp.
    pub seccomp: Option<SeccompReport>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} worker confined:", self.role)?;
        writeln!(f, "  fds: kept {:?} ({})", self.fds.1, self.fds.0)?;
        match &self.user {
            Some(u) => writeln!(f, "  user: {u}")?,
            None => writeln!(f, "  user: unchanged")?,
        }
        match self.parent_death_signal {
            Some((sig, ppid)) => writeln!(f, "  parent death signal: {sig} (parent {ppid})")?,
            None => writeln!(f, "  parent death signal: none")?,
        }
        writeln!(f, "  no_new_privs: {}", self.no_new_privs)?;
        writeln!(f, "  capabilities: {}", self.capabilities)?;
        match &self.landlock {
            Some(l) => writeln!(f, "  landlock: {l}")?,
            None => writeln!(f, "  landlock: not requested")?,
        }
        match &self.seccomp {
            Some(s) => write!(f, "  seccomp: {s}"),
            None => write!(f, "  seccomp: not requested"),
        }
    }
}

/// Applies `profile`, in this order:
///
/// 1. close inherited descriptors (nothing unexpected is reachable);
/// 2. switch user, with PR_SET_KEEPCAPS so the capabilities to keep
///    survive leaving uid 0;
/// 3. arm the parent-death signal and check the parent — *after* the
///    user switch, because the kernel clears the setting when the
///    effective/fs uid or gid changes (firecracker's jailer order puts it
///    earlier, but its jailer then execs the jailed binary with the ids
///    already set);
/// 4. no_new_privs (needed by 6 and 7, and stops execve gaining anything);
/// 5. capabilities, bounding/ambient sets and securebits;
/// 6. Landlock (needs its own syscalls and opens the rule paths, so
///    before seccomp);
/// 7. seccomp, last: nothing after it but returning the report.
///
/// Any failure stops at that step and returns its error; the process is
/// then partly confined and should exit.
pub fn confine(profile: &Profile) -> Result<Report, Error> {
    let method = close_inherited_fds(&profile.keep_fds)?;
    if let Some(user) = &profile.user {
        switch_user(user, true)?;
    }
    let pdeath = match profile.parent_death_signal {
        Some(sig) => Some((sig, set_parent_death_signal(sig, profile.expected_parent)?)),
        None => None,
    };
    set_no_new_privs()?;
    let capabilities = restrict_capabilities(&profile.capabilities)?;
    let landlock = match &profile.landlock {
        Some(rules) => Some(restrict_landlock(rules)?),
        None => None,
    };
    let seccomp = match &profile.seccomp {
        Some(policy) => Some(apply_seccomp(policy)?),
        None => None,
    };
    let mut kept_fds: Vec<RawFd> = profile
        .keep_fds
        .iter()
        .copied()
        .filter(|&fd| fd >= 0)
        .collect();
    kept_fds.sort_unstable();
    kept_fds.dedup();
    Ok(Report {
        role: profile.role.clone(),
        fds: (method, kept_fds),
        user: profile.user.clone(),
        parent_death_signal: pdeath,
        no_new_privs: true,
        capabilities,
        landlock,
        seccomp,
    })
}
