//! The keepalived.conf language: see the crate documentation.
//!
//! The pipeline: [`reader`] turns files into logical lines (comments
//! removed, includes followed, definitions substituted, conditional and
//! repeated lines expanded), each with its file:line; [`lexer`] splits a
//! line into words and braces; [`tree`] assembles the statement tree.

mod defs;
mod include;
mod lexer;
mod reader;
mod tree;

#[cfg(test)]
mod tests;

use crate::LoadOptions;
use crate::ast::Node;
use crate::diag::Diagnostics;
use std::path::Path;

pub use lexer::{QeError, split_quoted_escaped};
pub use reader::SCRIPT_KEYWORDS;

/// Read `path` and everything it includes; return the statement tree.
/// Problems (missing file, unbalanced braces, include cycles, ...) are
/// pushed to `diags` with their file:line; this never panics.
pub fn parse_file(path: &Path, opts: &LoadOptions, diags: &mut Diagnostics) -> Vec<Node> {
    let mut r = reader::Reader::new(opts);
    r.run_file(path, diags);
    r.finish(diags)
}

/// As [`parse_file`] for text already in memory named `name`.
pub fn parse_str(
    name: &Path,
    text: &str,
    opts: &LoadOptions,
    diags: &mut Diagnostics,
) -> Vec<Node> {
    let mut r = reader::Reader::new(opts);
    r.run_text(name, text, diags);
    r.finish(diags)
}
