//! VRRP sections: `vrrp_script`, `track_file`, `vrrp_track_process`,
//! `vrrp_instance`, `vrrp_sync_group`, static addresses/routes/rules.
//! (Being written.)

use super::global::GlobalDefs;
use crate::ast::Node;
use crate::diag::Diagnostics;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VrrpConfig {}

pub fn is_top_level(keyword: &str) -> bool {
    let _ = keyword;
    false
}

pub fn parse_top_level(node: &Node, out: &mut VrrpConfig, diags: &mut Diagnostics) {
    let _ = (node, out, diags);
}

pub fn finish(out: &mut VrrpConfig, global: &GlobalDefs, diags: &mut Diagnostics) {
    let _ = (out, global, diags);
}
