//! The keepalived.conf language and the typed, validated model.
//!
//! Two stages, both pure apart from reading configuration files:
//!
//! 1. [`frontend`]: the configuration *language* as keepalived.conf(5)
//!    defines it: tokens, `{ }` blocks, `#`/`!` comments, quoting, `include`
//!    with glob and brace patterns, `$NAME=VALUE` definitions and their
//!    substitution, `@ID`/`@^ID` conditional lines, `~SEQ`/`~LST` line
//!    repetition. Output: a tree of [`ast::Node`]s, each with its file:line.
//! 2. [`model`]: the tree turned into typed sections (`global_defs`,
//!    `vrrp_instance`, `virtual_server`, ...), validated the way keepalived
//!    validates them, defaults filled in, keepalived's adjustments applied
//!    and reported as warnings.
//!
//! Checks against the running machine (do interfaces exist, are script
//! files safe) are not done here: they need I/O beyond the configuration
//! files and live in the `parent` crate.

pub mod ast;
pub mod diag;
pub mod frontend;
pub mod model;

pub use diag::{Diagnostic, Diagnostics, Loc, Severity};

use std::path::{Path, PathBuf};

/// What the front end needs to know about the running daemon.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The config id (`-i`), matched by `@ID` / `@^ID` lines. keepalived's
    /// default is the short host name; the caller resolves that.
    pub config_id: Option<String>,
    /// `${_INSTANCE}`: keepalived's instance name (`--instance`); defaults
    /// to the config id when unset.
    pub instance: Option<String>,
    /// keepalived's `-e` (`--all-config`): every check of
    /// `includea`/`include_check` applies to every `include` from the start
    /// (a missing file is an error); `include_check` in `global_defs` can
    /// still change that.
    pub all_config: bool,
}

/// The result of loading a configuration.
#[derive(Debug)]
pub struct Loaded {
    /// The model. Present even when there are errors, so `-d` and `-t` can
    /// show as much as was understood; a daemon must not run it if
    /// [`Loaded::has_errors`].
    pub config: model::Config,
    pub diagnostics: Vec<Diagnostic>,
    /// The main configuration file, for diagnostics that have no line.
    pub main_file: PathBuf,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Read, expand and validate a configuration file.
pub fn load(path: &Path, opts: &LoadOptions) -> Loaded {
    let mut diags = Diagnostics::new();
    let tree = frontend::parse_file(path, opts, &mut diags);
    let config = model::build(tree, &mut diags);
    Loaded {
        config,
        diagnostics: diags.into_vec(),
        main_file: path.to_path_buf(),
    }
}

/// Load configuration text held in memory (tests, fuzzing). `name` is the
/// file name used in diagnostics; includes resolve relative to its folder.
pub fn load_str(name: &Path, text: &str, opts: &LoadOptions) -> Loaded {
    let mut diags = Diagnostics::new();
    let tree = frontend::parse_str(name, text, opts, &mut diags);
    let config = model::build(tree, &mut diags);
    Loaded {
        config,
        diagnostics: diags.into_vec(),
        main_file: name.to_path_buf(),
    }
}
