//! The typed model of keepalived.conf.
//!
//! [`build`] walks the statement tree: each top-level section is handed to
//! its module ([`global`], [`vrrp`], [`lvs`]), which fills typed structs,
//! applies keepalived's defaults and adjustments and reports problems with
//! their file:line. Cross-section checks (a `track_script` naming a
//! `vrrp_script` that exists, a `virtual_server group` naming a
//! `virtual_server_group`, ...) run once everything is read.

pub mod global;
pub mod lvs;
pub mod util;
pub mod vrrp;

use crate::ast::Node;
use crate::diag::Diagnostics;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub global: global::GlobalDefs,
    pub vrrp: vrrp::VrrpConfig,
    pub lvs: lvs::LvsConfig,
}

/// Build the model from the front end's tree. Never panics; every problem
/// goes to `diags`.
pub fn build(tree: &[Node], diags: &mut Diagnostics) -> Config {
    let mut cfg = Config::default();
    for node in tree {
        match node.keyword.as_str() {
            "global_defs" => global::parse_global_defs(node, &mut cfg.global, diags),
            k if vrrp::is_top_level(k) => vrrp::parse_top_level(node, &mut cfg.vrrp, diags),
            // FILE_CHECK looks up the `track_file` blocks read so far.
            k if lvs::is_top_level(k) => {
                lvs::parse_top_level(node, &mut cfg.lvs, &cfg.vrrp.track_files, diags);
            }
            k if global::is_ignored_top_level(k) => {
                global::warn_ignored_top_level(node, diags);
            }
            other => diags.warn(&node.loc, format!("Unknown keyword '{other}'")),
        }
    }
    vrrp::finish(&mut cfg.vrrp, &cfg.global, diags);
    lvs::finish(&mut cfg.lvs, &cfg.global, diags);
    cfg
}
