//! The typed model of keepalived.conf.
//!
//! [`build`] first re-reads the statement tree the way keepalived reads
//! it ([`relevel`]: which keywords open blocks, per keepalived process),
//! then hands each top-level section to its module ([`global`], [`vrrp`],
//! [`lvs`], [`bfd`]), which fills typed structs, applies keepalived's
//! defaults and adjustments and reports problems with their file:line.
//! Cross-section checks (a `track_script` naming a `vrrp_script` that
//! exists, a `virtual_server group` naming a `virtual_server_group`, ...)
//! run once everything is read.

pub mod bfd;
pub mod global;
pub mod lvs;
pub mod relevel;
pub mod util;
pub mod vrrp;

use crate::ast::Node;
use crate::diag::Diagnostics;
use relevel::{Kind, leaves};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub global: global::GlobalDefs,
    pub vrrp: vrrp::VrrpConfig,
    pub lvs: lvs::LvsConfig,
    /// The `bfd_instance` blocks (keepalived-rs runs no BFD; VRRP
    /// `track_bfd` and LVS `BFD_CHECK` are checked against these).
    pub bfd_instances: Vec<bfd::BfdInstance>,
}

impl Config {
    /// keepalived 2.2.7's `vrrp_complete_init`: an `lvs_sync_daemon` whose
    /// VRRP instance the configuration does not have is dropped (no sync
    /// daemon runs). Returns keepalived's log line (LOG_INFO, when the VRRP
    /// side loads the configuration; not a configuration error: `-t`
    /// reports nothing).
    pub fn clear_missing_sync_instance(&mut self) -> Option<String> {
        let name = self.global.lvs_sync_daemon.as_ref()?.instance.clone()?;
        if self.vrrp.instance(&name).is_some() {
            return None;
        }
        self.global.lvs_sync_daemon = None;
        Some(format!(
            "Unable to find vrrp instance {name} for lvs_syncd - clearing lvs_syncd config"
        ))
    }
}

/// The keepalived processes that read a top-level keyword.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Readers {
    /// The parent process (`global_defs` and its top-level companions).
    Parent,
    Vrrp,
    Checker,
    VrrpAndChecker,
}

/// The top-level keywords keepalived 2.2.7 knows: which processes read
/// them and how. Every other top-level keyword is read (and reported as
/// unknown) by every process.
fn top_keyword(keyword: &str) -> Option<(Readers, Kind)> {
    use Readers::*;
    Some(match keyword {
        "global_defs" => (Parent, Kind::Block(global::defs_level)),
        "linkbeat_use_polling"
        | "net_namespace"
        | "net_namespace_ipvs"
        | "namespace_with_ipsets"
        | "use_pid_dir"
        | "instance"
        | "child_wait_time" => (Parent, Kind::Leaf),
        "vrrp_script" | "vrrp_track_process" => (Vrrp, Kind::Block(leaves)),
        "track_file" | "vrrp_track_file" | "bfd_instance" => (VrrpAndChecker, Kind::Block(leaves)),
        "vrrp_instance" => (Vrrp, Kind::Block(vrrp::instance_level)),
        "vrrp_sync_group" => (Vrrp, Kind::Block(vrrp::sync_group_level)),
        "static_ipaddress"
        | "static_routes"
        | "static_rules"
        | "linkbeat_interfaces"
        | "interface_up_down_delays" => (Vrrp, Kind::Values),
        "track_group" => (Vrrp, Kind::Block(global::track_group_level)),
        "garp_group" => (Vrrp, Kind::Block(global::garp_group_level)),
        "virtual_server_group" => (Checker, Kind::NamedValues),
        "virtual_server" => (Checker, Kind::Block(lvs::vs_level)),
        "SSL" => (Checker, Kind::Block(leaves)),
        _ => return None,
    })
}

fn top_for(process: Readers, keyword: &str) -> Kind {
    match top_keyword(keyword) {
        None => Kind::Leaf,
        Some((readers, kind)) => {
            let reads = readers == process
                || (readers == Readers::VrrpAndChecker
                    && matches!(process, Readers::Vrrp | Readers::Checker));
            if reads { kind } else { Kind::Inactive }
        }
    }
}

fn parent_top(keyword: &str) -> Kind {
    top_for(Readers::Parent, keyword)
}

fn vrrp_top(keyword: &str) -> Kind {
    top_for(Readers::Vrrp, keyword)
}

fn checker_top(keyword: &str) -> Kind {
    top_for(Readers::Checker, keyword)
}

/// Build the model from the front end's tree. Never panics; every problem
/// goes to `diags`.
pub fn build(tree: Vec<Node>, diags: &mut Diagnostics) -> Config {
    let mut cfg = Config::default();
    let relevel::Read {
        sections,
        positions,
    } = relevel::read(&tree, &[parent_top, vrrp_top, checker_top], diags);
    // The sections hold what the model needs: the tree goes now, and each
    // section once it is parsed (a large configuration is not held twice).
    drop(tree);
    for section in sections {
        let node = &section.node;
        let mut parsed = Diagnostics::new();
        let d = &mut parsed;
        match node.keyword.as_str() {
            "global_defs" => global::parse_global_defs(node, &mut cfg.global, d),
            // Names are looked up among the blocks read so far, as
            // keepalived does.
            "bfd_instance" => bfd::parse_bfd_instance(node, &mut cfg.bfd_instances, d),
            k if vrrp::is_top_level(k) => {
                vrrp::parse_top_level(node, &mut cfg.vrrp, &cfg.bfd_instances, d);
            }
            // FILE_CHECK looks up the `track_file` blocks read so far.
            k if lvs::is_top_level(k) => {
                let refs = lvs::Refs {
                    track_files: &cfg.vrrp.track_files,
                    bfd_instances: &cfg.bfd_instances,
                };
                lvs::parse_top_level(node, &mut cfg.lvs, &refs, d);
            }
            k if global::is_ignored_top_level(k) => global::ignored_section(node, d),
            other => d.warn(&node.loc, format!("Unknown keyword '{other}'")),
        }
        positions.report(&section, parsed, diags);
    }
    vrrp::finish(&mut cfg.vrrp, &cfg.global, diags);
    lvs::finish(&mut cfg.lvs, &cfg.global, diags);
    cfg
}
