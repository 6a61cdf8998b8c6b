//! The syntax tree the front end hands to the model: keepalived.conf after
//! includes, definitions, conditionals and `~SEQ`/`~LST` expansion.
//!
//! keepalived's grammar is line based: a statement is a keyword followed by
//! arguments, optionally opening a `{ ... }` block whose lines are statements
//! again. Inside list blocks such as `virtual_ipaddress { ... }` each line is
//! also a [`Node`], its "keyword" being the first word (an address, say).
//!
//! The front end builds the tree from the braces as written. keepalived
//! itself reads blocks by keyword: a block opened by a keyword that has
//! none of its own is read as part of the enclosing block, and its `}`
//! closes that block early. [`crate::model`] re-reads the tree that way
//! before interpreting it (see `model::relevel`).

use crate::diag::Loc;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// First word of the statement. `{` or `}` (no arguments, no block)
    /// for a brace that opens or closes no block of the tree (see
    /// `frontend::tree`).
    pub keyword: String,
    /// The remaining words, quotes removed and escapes resolved.
    pub args: Vec<String>,
    /// `Some` when the statement opened a `{ }` block (possibly empty).
    pub block: Option<Vec<Node>>,
    /// Where the keyword stands.
    pub loc: Loc,
    /// Where the `{` opening the block stands (usually `loc`; the next
    /// line when the brace is written on a line of its own).
    pub open_loc: Option<Loc>,
    /// Where the `}` closing the block stands; `None` without a block or
    /// when the block is still open at the end of the configuration.
    pub end_loc: Option<Loc>,
}

impl Node {
    /// A statement without a block.
    pub fn leaf(keyword: impl Into<String>, args: Vec<String>, loc: Loc) -> Self {
        Node {
            keyword: keyword.into(),
            args,
            block: None,
            loc,
            open_loc: None,
            end_loc: None,
        }
    }

    /// The children of the block, or an empty slice when there is none.
    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or(&[])
    }

    /// Argument `i`, if present.
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(String::as_str)
    }

    /// Where keepalived reports what it checks at the end of the block
    /// (its "close handlers"): the `}` closing it. A block left open at the
    /// end of the configuration ends with its last line (keepalived then
    /// also reports the missing `}`).
    pub fn close_loc(&self) -> Loc {
        let mut n = self;
        loop {
            if let Some(l) = &n.end_loc {
                return l.clone();
            }
            match n.children().last() {
                Some(last) => n = last,
                None => return n.open_loc.clone().unwrap_or_else(|| n.loc.clone()),
            }
        }
    }
}
