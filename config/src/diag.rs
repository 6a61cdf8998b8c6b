//! Diagnostics: every problem found while reading a configuration, with the
//! file and line it comes from where there is one.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a token came from: the file (after include resolution) and its
/// 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Loc {
    pub file: Arc<PathBuf>,
    pub line: u32,
}

impl Loc {
    pub fn new(file: Arc<PathBuf>, line: u32) -> Self {
        Self { file, line }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// How bad a diagnostic is, in keepalived's terms.
///
/// - `Notice`: a keyword keepalived accepts silently but keepalived-rs
///   ignores (SNMP, DBus, ...). Logged with file:line; it changes neither
///   `-t`'s exit code nor whether the daemon runs.
/// - `Warning`: keepalived logs it and adjusts or ignores the setting; the
///   daemon runs, `-t` exits 5.
/// - `Error`: keepalived treats the configuration as invalid; the daemon
///   exits 4, `-t` exits 5.
/// - `Security`: a script-security problem; `-t` exits 6, the daemon runs
///   (keepalived logs "SECURITY VIOLATION" and carries on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Notice,
    Warning,
    Error,
    Security,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// `None` for problems keepalived reports without a line (e.g. a whole
    /// instance missing its interface); those are reported against the
    /// main configuration file.
    pub loc: Option<Loc>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.loc {
            write!(f, "{loc}: ")?;
        }
        let tag = match self.severity {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Security => "security",
        };
        write!(f, "{tag}: {}", self.message)
    }
}

/// A collector of diagnostics, passed through the front end and the model.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, severity: Severity, loc: Option<&Loc>, message: impl Into<String>) {
        self.items.push(Diagnostic {
            severity,
            loc: loc.cloned(),
            message: message.into(),
        });
    }

    pub fn warn(&mut self, loc: &Loc, message: impl Into<String>) {
        self.push(Severity::Warning, Some(loc), message);
    }

    pub fn notice(&mut self, loc: &Loc, message: impl Into<String>) {
        self.push(Severity::Notice, Some(loc), message);
    }

    pub fn error(&mut self, loc: &Loc, message: impl Into<String>) {
        self.push(Severity::Error, Some(loc), message);
    }

    pub fn security(&mut self, loc: Option<&Loc>, message: impl Into<String>) {
        self.push(Severity::Security, loc, message);
    }

    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Errors make the daemon refuse the configuration. A script-security
    /// problem does not: keepalived logs its SECURITY VIOLATION and runs.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn worst(&self) -> Option<Severity> {
        self.items.iter().map(|d| d.severity).max()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
