//! Landlock: file-system (and, where the ABI has it, TCP and scope)
//! restrictions, best effort.
//!
//! The access rights requested are those of Landlock ABI v6 (file system
//! rights up to IOCTL_DEV, TCP bind/connect, abstract-socket and signal
//! scoping), the newest this crate is tested with.  On an older kernel the
//! landlock crate drops what the kernel lacks (its BestEffort mode) and the
//! report says so; on a kernel without Landlock nothing is enforced and the
//! report says that too, for the caller to log.  Errors are only returned
//! for real failures (e.g. the ruleset syscalls failing on a kernel that
//! has them).

use std::fmt;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, LandlockStatus, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

use crate::error::{Error, ErrorKind, Step};

/// The Landlock ABI whose rights are requested.
const ABI_TESTED: ABI = ABI::V6;

/// TCP restrictions (Landlock ABI v4+).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpRule {
    /// Not restricted.
    Unrestricted,
    /// bind(2) and connect(2) on TCP sockets only to these ports (empty:
    /// none at all).
    Only {
        /// Ports that may be bound.
        bind: Vec<u16>,
        /// Ports that may be connected to.
        connect: Vec<u16>,
    },
}

/// A Landlock ruleset description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LandlockRules {
    /// Hierarchies (or single files) readable: read file, list directory.
    /// No execute right.
    pub read_only: Vec<PathBuf>,
    /// Hierarchies (or single files) with every right but execute.
    pub read_write: Vec<PathBuf>,
    /// TCP bind/connect.
    pub tcp: TcpRule,
    /// Scope signals and abstract unix sockets to the sandbox (ABI v6+):
    /// the worker cannot signal, or connect to an abstract socket of, a
    /// process outside its Landlock domain.
    pub scoped: bool,
}

impl LandlockRules {
    /// Nothing readable or writable, TCP and scopes restricted.
    pub fn deny_all() -> Self {
        LandlockRules {
            read_only: Vec::new(),
            read_write: Vec::new(),
            tcp: TcpRule::Only {
                bind: Vec::new(),
                connect: Vec::new(),
            },
            scoped: true,
        }
    }
}

/// How far Landlock was enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enforcement {
    /// Every requested right is enforced.
    Full,
    /// The kernel's ABI is older: some rights are not enforced.
    Partial,
    /// Nothing enforced (no Landlock in this kernel, or disabled at boot).
    None,
}

/// What [`restrict_landlock`] did, for the worker to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LandlockReport {
    /// How far the ruleset is enforced.
    pub enforcement: Enforcement,
    /// The kernel's Landlock state, in words (e.g. "ABI 6", "not enabled
    /// at boot (EOPNOTSUPP)").
    pub kernel: String,
    /// Paths granted (after resolution of missing file-check paths).
    pub granted: Vec<PathBuf>,
    /// Paths left out, with the reason (missing, unreadable...).
    pub skipped: Vec<(PathBuf, String)>,
}

impl fmt::Display for LandlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.enforcement {
            Enforcement::Full => "fully enforced",
            Enforcement::Partial => "partially enforced (older kernel ABI)",
            Enforcement::None => "NOT enforced",
        };
        write!(f, "{what}, kernel {}", self.kernel)?;
        if self.enforcement == Enforcement::None {
            return Ok(());
        }
        write!(f, ", {} paths granted", self.granted.len())?;
        for (p, why) in &self.skipped {
            write!(f, "; skipped {}: {why}", p.display())?;
        }
        Ok(())
    }
}

/// Restricts the file system to `read_only` and `read_write` (plus
/// abstract-socket/signal scoping where the kernel has it; TCP is left
/// unrestricted).  See [`restrict_landlock`].
pub fn restrict_filesystem<P: AsRef<Path>, Q: AsRef<Path>>(
    read_only: &[P],
    read_write: &[Q],
) -> Result<LandlockReport, Error> {
    restrict_landlock(&LandlockRules {
        read_only: read_only.iter().map(|p| p.as_ref().to_path_buf()).collect(),
        read_write: read_write
            .iter()
            .map(|p| p.as_ref().to_path_buf())
            .collect(),
        tcp: TcpRule::Unrestricted,
        scoped: true,
    })
}

fn landlock_err(e: impl fmt::Display) -> Error {
    Error::new(Step::Landlock, ErrorKind::Landlock(e.to_string()))
}

/// Applies `rules` to the calling process (and sets no_new_privs, which
/// Landlock requires).  Best effort: see the module documentation.
pub fn restrict_landlock(rules: &LandlockRules) -> Result<LandlockReport, Error> {
    let abi = ABI_TESTED;
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let write = AccessFs::from_all(abi) & !AccessFs::Execute;
    let file_rights = AccessFs::from_file(abi);

    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(landlock_err)?;
    if let TcpRule::Only { .. } = rules.tcp {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(abi))
            .map_err(landlock_err)?;
    }
    if rules.scoped {
        ruleset = ruleset.scope(Scope::from_all(abi)).map_err(landlock_err)?;
    }
    let mut created = ruleset.create().map_err(landlock_err)?;

    let mut granted = Vec::new();
    let mut skipped = Vec::new();
    let lists: [(&[PathBuf], BitFlags<AccessFs>); 2] =
        [(&rules.read_only, read), (&rules.read_write, write)];
    for (paths, access) in lists {
        for path in paths {
            // Open first (O_PATH), then ask the opened file whether it is a
            // directory: directory-only rights on a file are EINVAL.
            let fd = match PathFd::new(path) {
                Ok(fd) => fd,
                Err(e) => {
                    skipped.push((path.clone(), e.to_string()));
                    continue;
                }
            };
            let is_dir = match std::fs::metadata(path) {
                Ok(m) => m.is_dir(),
                Err(e) => {
                    skipped.push((path.clone(), e.to_string()));
                    continue;
                }
            };
            let access = if is_dir { access } else { access & file_rights };
            created = created
                .add_rule(PathBeneath::new(fd, access))
                .map_err(landlock_err)?;
            granted.push(path.clone());
        }
    }
    if let TcpRule::Only { bind, connect } = &rules.tcp {
        for &port in bind {
            created = created
                .add_rule(NetPort::new(port, AccessNet::BindTcp))
                .map_err(landlock_err)?;
        }
        for &port in connect {
            created = created
                .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
                .map_err(landlock_err)?;
        }
    }
    let status = created.restrict_self().map_err(landlock_err)?;
    let enforcement = match status.ruleset {
        RulesetStatus::FullyEnforced => Enforcement::Full,
        RulesetStatus::PartiallyEnforced => Enforcement::Partial,
        RulesetStatus::NotEnforced => Enforcement::None,
    };
    let kernel = match status.landlock {
        LandlockStatus::NotEnabled => "Landlock not enabled at boot (EOPNOTSUPP)".to_string(),
        LandlockStatus::NotImplemented => "without Landlock (ENOSYS)".to_string(),
        LandlockStatus::Available {
            effective_abi,
            kernel_abi,
        } => match kernel_abi {
            Some(k) => format!("Landlock ABI {k} (used as {effective_abi:?})"),
            None => format!("Landlock ABI {effective_abi:?}"),
        },
    };
    Ok(LandlockReport {
        enforcement,
        kernel,
        granted,
        skipped,
    })
}
