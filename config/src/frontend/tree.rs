//! Building the statement tree from keepalived's logical lines.
//!
//! By the time lines get here keepalived's reader has split them so that
//! `{` and `}` stand alone. A `{` opens a block for the statement on the
//! line just before it; a `{` anywhere else is reported (keepalived's
//! "Unexpected '{' - ignoring") and ignored, as keepalived does. A `}`
//! closes the innermost block; at the top level keepalived reports it as
//! an unknown keyword.

use crate::ast::Node;
use crate::diag::{Diagnostics, Loc};

/// Deepest block nesting kept in the tree. keepalived's own keywords nest
/// about five deep; deeper blocks can only belong to unknown keywords, and
/// an unbounded tree would overflow the stack of every recursive walk.
pub const MAX_NESTING: usize = 32;

struct Frame {
    nodes: Vec<Node>,
    /// The statement owning this block (`None` for the top level).
    owner: Option<Node>,
}

/// Incremental tree builder.
pub struct TreeBuilder {
    stack: Vec<Frame>,
    /// The line just handled was a statement (which a `{` may open).
    after_statement: bool,
    /// `{` ignored because of [`MAX_NESTING`], whose `}` are swallowed.
    overflow: usize,
}

impl Default for TreeBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TreeBuilder {
    pub fn new() -> Self {
        Self {
            stack: vec![Frame {
                nodes: Vec::new(),
                owner: None,
            }],
            after_statement: false,
            overflow: 0,
        }
    }

    fn top(&mut self) -> &mut Frame {
        let n = self.stack.len();
        // The top-level frame is never popped before `finish`.
        &mut self.stack[n - 1]
    }

    /// A statement: `words[0]` is the keyword. `words` is not empty.
    pub fn statement(&mut self, mut words: Vec<String>, loc: &Loc) {
        let keyword = if words.is_empty() {
            String::new()
        } else {
            words.remove(0)
        };
        self.top().nodes.push(Node {
            keyword,
            args: words,
            block: None,
            loc: loc.clone(),
        });
        self.after_statement = true;
    }

    pub fn open(&mut self, loc: &Loc, diags: &mut Diagnostics) {
        let owner = if self.after_statement {
            self.top().nodes.pop()
        } else {
            None
        };
        self.after_statement = false;
        if owner.is_some() && self.stack.len() > MAX_NESTING {
            if let Some(o) = owner {
                self.top().nodes.push(o);
            }
            if self.overflow == 0 {
                diags.warn(
                    loc,
                    format!("Blocks nested more than {MAX_NESTING} deep - ignoring the inner ones"),
                );
            }
            self.overflow += 1;
            return;
        }
        match owner {
            Some(owner) => self.stack.push(Frame {
                nodes: Vec::new(),
                owner: Some(owner),
            }),
            None => diags.warn(loc, "Unexpected '{' - ignoring"),
        }
    }

    pub fn close(&mut self, loc: &Loc, diags: &mut Diagnostics) {
        self.after_statement = false;
        if self.overflow > 0 {
            self.overflow -= 1;
            return;
        }
        if self.stack.len() == 1 {
            diags.warn(loc, "Unknown keyword '}'");
            return;
        }
        self.close_frame();
    }

    fn close_frame(&mut self) {
        if self.stack.len() < 2 {
            return;
        }
        let Some(frame) = self.stack.pop() else {
            return;
        };
        if let Some(mut owner) = frame.owner {
            owner.block = Some(frame.nodes);
            self.top().nodes.push(owner);
        }
    }

    /// Is the innermost open block that of a top-level `name` statement?
    pub fn in_top_block(&self, name: &str) -> bool {
        self.stack.len() == 2
            && self.stack[1]
                .owner
                .as_ref()
                .is_some_and(|o| o.keyword == name)
    }

    /// Close anything left open and return the tree. (Unclosed blocks are
    /// reported by the reader, which counts braces as keepalived does.)
    pub fn finish(mut self) -> Vec<Node> {
        while self.stack.len() > 1 {
            self.close_frame();
        }
        self.stack.pop().map(|f| f.nodes).unwrap_or_default()
    }
}
