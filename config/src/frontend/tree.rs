//! Building the statement tree from keepalived's logical lines.
//!
//! By the time lines get here keepalived's reader has split them so that
//! `{` and `}` stand alone. A `{` opens a block for the statement on the
//! line just before it and the next `}` closes it. Braces that do not fit
//! that shape are kept in the tree as statements of their own, `{` or `}`
//! with no arguments: a `{` not following a statement, a `}` at the top
//! level, and the braces of blocks nested deeper than [`MAX_NESTING`]. So
//! the tree, read in order, is exactly the sequence of lines keepalived
//! reads; which blocks keepalived actually opens depends on the keywords
//! (`model::relevel`), which also reports misplaced braces.

use crate::ast::Node;
use crate::diag::Loc;

/// Deepest block nesting kept in the tree. keepalived's own keywords nest
/// about five deep; deeper blocks can only belong to unknown keywords, and
/// an unbounded tree would overflow the stack of every recursive walk.
/// Deeper braces are kept as brace statements.
pub const MAX_NESTING: usize = 32;

struct Frame {
    nodes: Vec<Node>,
    /// The statement owning this block (`None` for the top level).
    owner: Option<Node>,
}

impl Frame {
    fn top() -> Self {
        Frame {
            nodes: Vec::new(),
            owner: None,
        }
    }
}

/// Incremental tree builder.
pub struct TreeBuilder {
    stack: Vec<Frame>,
    /// The line just handled was a statement (which a `{` may open).
    after_statement: bool,
    /// Blocks opened beyond [`MAX_NESTING`], kept as brace statements
    /// (their `}` too).
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
            stack: vec![Frame::top()],
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
        self.top()
            .nodes
            .push(Node::leaf(keyword, words, loc.clone()));
        self.after_statement = true;
    }

    /// A brace kept as a statement of its own.
    fn brace(&mut self, brace: &str, loc: &Loc) {
        self.top()
            .nodes
            .push(Node::leaf(brace, Vec::new(), loc.clone()));
    }

    pub fn open(&mut self, loc: &Loc) {
        let owner = if self.after_statement {
            self.top().nodes.pop()
        } else {
            None
        };
        self.after_statement = false;
        match owner {
            Some(mut owner) if self.stack.len() <= MAX_NESTING => {
                owner.open_loc = Some(loc.clone());
                self.stack.push(Frame {
                    nodes: Vec::new(),
                    owner: Some(owner),
                });
            }
            Some(owner) => {
                self.top().nodes.push(owner);
                self.brace("{", loc);
                self.overflow += 1;
            }
            None => self.brace("{", loc),
        }
    }

    pub fn close(&mut self, loc: &Loc) {
        self.after_statement = false;
        if self.overflow > 0 {
            self.overflow -= 1;
            self.brace("}", loc);
        } else if self.stack.len() == 1 {
            self.brace("}", loc);
        } else {
            self.close_frame(Some(loc));
        }
    }

    /// Close the innermost block at `end` (`None`: at the end of the
    /// configuration, the `}` missing).
    fn close_frame(&mut self, end: Option<&Loc>) {
        if self.stack.len() < 2 {
            return;
        }
        let Some(frame) = self.stack.pop() else {
            return;
        };
        if let Some(mut owner) = frame.owner {
            owner.block = Some(frame.nodes);
            owner.end_loc = end.cloned();
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
            self.close_frame(None);
        }
        self.stack.pop().map(|f| f.nodes).unwrap_or_default()
    }
}
