//! The crate's one error type: which confinement step failed, and why.

use std::fmt;
use std::io;

/// A confinement step, in the order [`crate::confine`] applies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Closing inherited file descriptors.
    CloseFds,
    /// Resolving the worker's user name.
    LookupUser,
    /// setgroups/setresgid/setresuid.
    SwitchUser,
    /// PR_SET_PDEATHSIG and the parent check that follows it.
    ParentDeathSignal,
    /// PR_SET_NO_NEW_PRIVS.
    NoNewPrivs,
    /// Capability sets, bounding set, ambient set and securebits.
    Capabilities,
    /// The Landlock ruleset.
    Landlock,
    /// Building or loading the seccomp filter.
    Seccomp,
}

impl Step {
    /// A short lower-case name, used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Step::CloseFds => "close inherited fds",
            Step::LookupUser => "user lookup",
            Step::SwitchUser => "user switch",
            Step::ParentDeathSignal => "parent death signal",
            Step::NoNewPrivs => "no_new_privs",
            Step::Capabilities => "capabilities",
            Step::Landlock => "landlock",
            Step::Seccomp => "seccomp",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What went wrong inside a step.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A system call failed.
    Sys {
        /// The call, e.g. `"capset"` or `"prctl(PR_CAPBSET_DROP, 12)"`.
        call: String,
        /// The OS error (it carries the errno).
        source: io::Error,
    },
    /// The parent is not (or no longer) the expected process.
    ParentChanged {
        /// The pid the worker was told its parent has.
        expected: u32,
        /// What getppid(2) returned after the signal was armed.
        actual: u32,
    },
    /// A value was out of range (bad signal number, NUL in a name...).
    Invalid(String),
    /// None of the candidate user names exists.
    NoSuchUser(Vec<String>),
    /// A capability to keep is not in the permitted set.
    MissingCapability(crate::Cap),
    /// A step "succeeded" but reading the state back shows otherwise.
    Verify(String),
    /// The seccomp policy cannot be compiled (too large, bad argument...).
    Policy(String),
    /// Seccomp filters are not implemented for this architecture.
    UnsupportedArch,
    /// The landlock crate reported an error.
    Landlock(String),
}

/// A confinement failure: the step and the cause (with errno when a system
/// call failed).  Never a panic: every step returns this.
#[derive(Debug)]
pub struct Error {
    step: Step,
    kind: ErrorKind,
}

impl Error {
    pub(crate) fn new(step: Step, kind: ErrorKind) -> Self {
        Error { step, kind }
    }

    pub(crate) fn sys(step: Step, call: impl Into<String>, source: io::Error) -> Self {
        Error::new(
            step,
            ErrorKind::Sys {
                call: call.into(),
                source,
            },
        )
    }

    pub(crate) fn verify(step: Step, what: impl Into<String>) -> Self {
        Error::new(step, ErrorKind::Verify(what.into()))
    }

    /// The step that failed.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The cause.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The errno, when a system call failed.
    pub fn errno(&self) -> Option<i32> {
        match &self.kind {
            ErrorKind::Sys { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.step)?;
        match &self.kind {
            ErrorKind::Sys { call, source } => match source.raw_os_error() {
                Some(errno) => write!(f, "{call} failed: errno {errno} ({source})"),
                None => write!(f, "{call} failed: {source}"),
            },
            ErrorKind::ParentChanged { expected, actual } => write!(
                f,
                "parent is pid {actual}, expected {expected} (the parent exited before the signal was armed)"
            ),
            ErrorKind::Invalid(what) => write!(f, "invalid argument: {what}"),
            ErrorKind::NoSuchUser(names) => write!(f, "no such user: {}", names.join(", ")),
            ErrorKind::MissingCapability(cap) => {
                write!(f, "{cap} is not in the permitted set, it cannot be kept")
            }
            ErrorKind::Verify(what) => write!(f, "verification failed: {what}"),
            ErrorKind::Policy(what) => write!(f, "bad policy: {what}"),
            ErrorKind::UnsupportedArch => {
                f.write_str("seccomp filters are not implemented for this architecture")
            }
            ErrorKind::Landlock(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Sys { source, .. } => Some(source),
            _ => None,
        }
    }
}
