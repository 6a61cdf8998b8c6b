//! `global_defs`. (Being written.)

use crate::ast::Node;
use crate::diag::Diagnostics;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalDefs {}

pub fn parse_global_defs(node: &Node, out: &mut GlobalDefs, diags: &mut Diagnostics) {
    let _ = (node, out, diags);
}

/// Top-level sections keepalived knows but keepalived-rs does not model
/// (e.g. `linkbeat_use_polling`): warned about and ignored.
pub fn is_ignored_top_level(keyword: &str) -> bool {
    let _ = keyword;
    false
}

pub fn warn_ignored_top_level(node: &Node, diags: &mut Diagnostics) {
    diags.warn(
        &node.loc,
        format!(
            "keyword '{}' is not supported by keepalived-rs and is ignored",
            node.keyword
        ),
    );
}
