//! Building the statement tree from tokenised lines.
//!
//! A statement is the words of a line up to a `{`, a `}` or the end of the
//! line. A `{` opens a block for the statement before it: the one on the
//! same line, or, when the `{` starts a line, the previous statement if it
//! has no block yet (keepalived accepts the brace on the next line). A `}`
//! closes the innermost open block; the statement may continue on the same
//! line after it.

use super::lexer::Tok;
use crate::ast::Node;
use crate::diag::{Diagnostics, Loc};

struct Frame {
    nodes: Vec<Node>,
    /// The statement owning this block; `None` for the top level and for
    /// a `{` that had no statement to attach to.
    owner: Option<Node>,
    open_loc: Option<Loc>,
}

/// Incremental tree builder: feed it lines, then [`TreeBuilder::finish`].
pub struct TreeBuilder {
    stack: Vec<Frame>,
    /// Set when the last statement of the current frame was completed on a
    /// line before the current one and has no block, so a `{` at the start
    /// of a line may attach to it.
    last_open_for_brace: bool,
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
                open_loc: None,
            }],
            last_open_for_brace: false,
        }
    }

    fn top(&mut self) -> &mut Frame {
        // The stack always holds the top-level frame.
        let n = self.stack.len();
        &mut self.stack[n - 1]
    }

    fn flush(&mut self, pending: &mut Option<Node>) {
        if let Some(node) = pending.take() {
            self.top().nodes.push(node);
            self.last_open_for_brace = true;
        }
    }

    /// Add one line's tokens, all located at `loc`.
    pub fn line(&mut self, toks: Vec<Tok>, loc: &Loc, diags: &mut Diagnostics) {
        let mut pending: Option<Node> = None;
        for tok in toks {
            match tok {
                Tok::Word(w) => match &mut pending {
                    Some(node) => node.args.push(w),
                    None => {
                        self.last_open_for_brace = false;
                        pending = Some(Node {
                            keyword: w,
                            args: Vec::new(),
                            block: None,
                            loc: loc.clone(),
                        });
                    }
                },
                Tok::Open => {
                    let owner = match pending.take() {
                        Some(node) => Some(node),
                        None if self.last_open_for_brace => {
                            let frame = self.top();
                            match frame.nodes.last() {
                                Some(last) if last.block.is_none() => frame.nodes.pop(),
                                _ => None,
                            }
                        }
                        None => None,
                    };
                    if owner.is_none() {
                        diags.error(loc, "'{' without a keyword before it");
                    }
                    self.last_open_for_brace = false;
                    self.stack.push(Frame {
                        nodes: Vec::new(),
                        owner,
                        open_loc: Some(loc.clone()),
                    });
                }
                Tok::Close => {
                    self.flush(&mut pending);
                    if self.stack.len() == 1 {
                        diags.error(loc, "Unexpected '}' without a matching '{'");
                    } else {
                        self.close_frame();
                    }
                    self.last_open_for_brace = false;
                }
            }
        }
        self.flush(&mut pending);
    }

    fn close_frame(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let parent = self.top();
        match frame.owner {
            Some(mut owner) => {
                owner.block = Some(frame.nodes);
                parent.nodes.push(owner);
            }
            // A block with no owner: keep its statements at the outer level
            // so later checks still see them.
            None => parent.nodes.extend(frame.nodes),
        }
    }

    /// Close anything left open (reporting it) and return the tree.
    pub fn finish(mut self, diags: &mut Diagnostics) -> Vec<Node> {
        while self.stack.len() > 1 {
            if let Some(loc) = self.stack.last().and_then(|f| f.open_loc.clone()) {
                diags.error(&loc, "Missing '}' for the '{' opened here");
            }
            self.close_frame();
        }
        self.stack.pop().map(|f| f.nodes).unwrap_or_default()
    }
}
