//! Value parsers shared by every section, reporting problems the way
//! keepalived words them (e.g. `number '300' outside range [1, 255]`).

use crate::ast::Node;
use crate::diag::Diagnostics;

/// The first argument of `node`, or an error naming the keyword.
pub fn one_arg<'a>(node: &'a Node, diags: &mut Diagnostics) -> Option<&'a str> {
    match node.arg(0) {
        Some(a) => Some(a),
        None => {
            diags.error(&node.loc, format!("{} requires a value", node.keyword));
            None
        }
    }
}

/// An unsigned integer within `[min, max]`, keepalived's wording on failure.
pub fn uint_in(
    node: &Node,
    text: &str,
    min: u64,
    max: u64,
    diags: &mut Diagnostics,
) -> Option<u64> {
    match text.parse::<u64>() {
        Ok(v) if v >= min && v <= max => Some(v),
        Ok(_) => {
            diags.error(
                &node.loc,
                format!("number '{text}' outside range [{min}, {max}]"),
            );
            None
        }
        Err(_) => {
            diags.error(&node.loc, format!("invalid number '{text}'"));
            None
        }
    }
}

/// A script as configured (`script`, `notify_*`, `misc_path`, ...):
/// the command line split into words the way keepalived splits it, and the
/// user/group it runs as when the statement names one. The parent's script
/// runner executes these by their position in the model, never a path sent
/// by a worker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScriptSpec {
    pub argv: Vec<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub loc: crate::diag::Loc,
}
