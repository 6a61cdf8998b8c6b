//! The keepalived.conf language: see the crate documentation.
//! (Being written; the signatures below are the contract with `model`.)

use crate::LoadOptions;
use crate::ast::Node;
use crate::diag::Diagnostics;
use std::path::Path;

/// Read `path` and everything it includes; return the statement tree.
/// Problems (missing file, unbalanced braces, include cycles, ...) are
/// pushed to `diags` with their file:line; this never panics.
pub fn parse_file(path: &Path, opts: &LoadOptions, diags: &mut Diagnostics) -> Vec<Node> {
    let _ = (path, opts, diags);
    Vec::new()
}

/// As [`parse_file`] for text already in memory named `name`.
pub fn parse_str(
    name: &Path,
    text: &str,
    opts: &LoadOptions,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    let _ = (name, text, opts, diags);
    Vec::new()
}
