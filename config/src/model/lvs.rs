//! LVS sections: `virtual_server_group`, `virtual_server`, `real_server`
//! and their health checkers. (Being written.)

use super::global::GlobalDefs;
use crate::ast::Node;
use crate::diag::Diagnostics;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LvsConfig {}

pub fn is_top_level(keyword: &str) -> bool {
    let _ = keyword;
    false
}

pub fn parse_top_level(node: &Node, out: &mut LvsConfig, diags: &mut Diagnostics) {
    let _ = (node, out, diags);
}

pub fn finish(out: &mut LvsConfig, global: &GlobalDefs, diags: &mut Diagnostics) {
    let _ = (out, global, diags);
}
