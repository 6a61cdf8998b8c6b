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
    #[serde(deserialize_with = "shared_file")]
    pub file: Arc<PathBuf>,
    pub line: u32,
}

/// A deserialized `Loc`'s file: the `Arc` of the last files seen on this
/// thread when it is one of them. A configuration has a few files and a
/// `Loc` in every real server, checker and url: one allocation of the path
/// each came to megabytes in the check worker's `Init` at 10,000 real
/// servers, where the parent's model shares one `Arc` per file.
fn shared_file<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Arc<PathBuf>, D::Error> {
    use std::cell::RefCell;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    /// How many files are remembered (the most recent ones).
    const RECENT: usize = 8;
    thread_local! {
        static FILES: RefCell<Vec<Arc<PathBuf>>> = const { RefCell::new(Vec::new()) };
    }
    fn shared(path: &std::path::Path) -> Arc<PathBuf> {
        FILES.with(|f| {
            let mut f = f.borrow_mut();
            if let Some(i) = f.iter().position(|a| a.as_path() == path) {
                let a = f.remove(i);
                f.push(Arc::clone(&a));
                return a;
            }
            let a = Arc::new(path.to_path_buf());
            if f.len() >= RECENT {
                f.remove(0);
            }
            f.push(Arc::clone(&a));
            a
        })
    }
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Arc<PathBuf>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a path")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(shared(std::path::Path::new(v)))
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
            Ok(shared(std::path::Path::new(OsStr::from_bytes(v))))
        }
    }
    d.deserialize_str(Visitor)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserialized_locs_share_their_file() {
        let json = r#"[{"file":"/etc/a.conf","line":1},{"file":"/etc/b.conf","line":2},{"file":"/etc/a.conf","line":3}]"#;
        let v: Vec<Loc> = serde_json::from_str(json).unwrap();
        assert_eq!(v[0].file.as_path(), std::path::Path::new("/etc/a.conf"));
        assert_eq!(
            (v[1].file.as_path(), v[2].line),
            (std::path::Path::new("/etc/b.conf"), 3)
        );
        assert!(Arc::ptr_eq(&v[0].file, &v[2].file));
        assert!(!Arc::ptr_eq(&v[0].file, &v[1].file));
        // The same as what was serialized.
        let back = serde_json::to_string(&v).unwrap();
        assert_eq!(back, json);
    }
}
