//! The syntax tree the front end hands to the model: keepalived.conf after
//! includes, definitions, conditionals and `~SEQ`/`~LST` expansion.
//!
//! keepalived's grammar is line based: a statement is a keyword followed by
//! arguments, optionally opening a `{ ... }` block whose lines are statements
//! again. Inside list blocks such as `virtual_ipaddress { ... }` each line is
//! also a [`Node`], its "keyword" being the first word (an address, say).

use crate::diag::Loc;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// First word of the statement.
    pub keyword: String,
    /// The remaining words, quotes removed and escapes resolved.
    pub args: Vec<String>,
    /// `Some` when the statement opened a `{ }` block (possibly empty).
    pub block: Option<Vec<Node>>,
    /// Where the keyword stands.
    pub loc: Loc,
}

impl Node {
    /// The children of the block, or an empty slice when there is none.
    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or(&[])
    }

    /// Argument `i`, if present.
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(String::as_str)
    }
}
