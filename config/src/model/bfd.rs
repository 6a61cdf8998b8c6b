//! `bfd_instance` blocks and the references to them.
//!
//! keepalived-rs runs no BFD sessions: a `bfd_instance` is accepted with a
//! notice and its settings are not used. What other sections depend on is
//! kept: the instance names, which VRRP `track_bfd` and LVS `BFD_CHECK`
//! name and keepalived checks (keepalived/bfd/bfd_parser.c,
//! keepalived/vrrp/vrrp_track.c, keepalived/check/check_bfd.c).

use crate::ast::Node;
use crate::diag::{Diagnostics, Loc};
use crate::model::util::{arg_or_missing, read_int};
use serde::{Deserialize, Serialize};

/// keepalived's `BFD_INAME_MAX`: longest name plus its terminating NUL.
pub const BFD_INAME_MAX: usize = 32;

/// The keywords of a `bfd_instance` block.
const KEYWORDS: &[&str] = &[
    "source_ip",
    "neighbor_ip",
    "neighbour_ip",
    "min_rx",
    "min_tx",
    "idle_tx",
    "multiplier",
    "passive",
    "ttl",
    "hoplimit",
    "max_hops",
    "weight",
    "vrrp",
    "checker",
];

/// A `bfd_instance`, as far as other sections see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdInstance {
    pub name: String,
    /// VRRP `track_bfd` may name it: the block says `vrrp`, or names
    /// neither `vrrp` nor `checker`, and the name is not too long (the VRRP
    /// process refuses those).
    pub vrrp: bool,
    /// LVS `BFD_CHECK` may name it: the block says `checker`, or names
    /// neither.
    pub checker: bool,
    pub loc: Loc,
}

/// Read one `bfd_instance` block into `out`.
pub fn parse_bfd_instance(node: &Node, out: &mut Vec<BfdInstance>, diags: &mut Diagnostics) {
    crate::model::global::warn_ignored_top_level(node, diags);
    let Some(name) = arg_or_missing(node, 0, diags) else {
        return;
    };
    // Every process refuses a second block of the same name and skips it.
    if out.iter().any(|b| b.name == name) {
        // The VRRP and checker processes' words, then the BFD process's.
        diags.warn(&node.loc, format!("BFD {name} already specified"));
        diags.warn(
            &node.loc,
            format!("Configuration error: BFD instance {name} already configured - ignoring"),
        );
        return;
    }
    let too_long = name.len() >= BFD_INAME_MAX;
    if too_long {
        // The VRRP process's words, then the BFD process's.
        diags.warn(&node.loc, format!("BFD name {name} too long"));
        diags.warn(
            &node.loc,
            format!(
                "Configuration error: BFD instance {name} name too long (maximum length is {} characters) - ignoring",
                BFD_INAME_MAX - 1
            ),
        );
    }
    let (mut vrrp, mut checker, mut neighbor) = (false, false, false);
    for c in node.children() {
        match c.keyword.as_str() {
            "vrrp" => vrrp = true,
            "checker" => checker = true,
            "neighbor_ip" | "neighbour_ip" => neighbor = true,
            k if KEYWORDS.contains(&k) => {}
            k => diags.warn(&c.loc, format!("Unknown keyword '{k}'")),
        }
    }
    if !too_long && !neighbor {
        diags.warn(
            &node.close_loc(),
            format!(
                "Configuration error: BFD instance {name} has no neighbor address set, disabling instance"
            ),
        );
    }
    let neither = !vrrp && !checker;
    out.push(BfdInstance {
        name: name.to_string(),
        vrrp: (neither || vrrp) && !too_long,
        checker: neither || checker,
        loc: node.loc.clone(),
    });
}

/// keepalived's `alloc_track_bfd` for each line of a `track_bfd` block of
/// `owner` (a VRRP instance or sync group): the names must be
/// `bfd_instance`s defined so far. keepalived-rs tracks no BFD session;
/// only the checks are made.
pub fn check_track_bfd(owner: &str, block: &Node, bfds: &[BfdInstance], diags: &mut Diagnostics) {
    let mut tracked: Vec<&str> = Vec::new();
    for line in block.children() {
        let name = line.keyword.as_str();
        let loc = &line.loc;
        if !bfds.iter().any(|b| b.vrrp && b.name == name) {
            diags.warn(
                loc,
                format!("({owner}) track bfd {name} not found, ignoring..."),
            );
            continue;
        }
        if tracked.contains(&name) {
            diags.warn(
                loc,
                format!("({owner}) duplicate track_bfd {name} - ignoring"),
            );
            continue;
        }
        if let Some(opt) = line.arg(0) {
            if opt != "weight" {
                diags.warn(
                    loc,
                    format!("({owner}) unknown track bfd {name} option {opt} - ignoring"),
                );
                continue;
            }
            let Some(w) = line.arg(1) else {
                diags.warn(
                    loc,
                    format!(
                        "({owner}) weight without value specified for track bfd {name} - ignoring"
                    ),
                );
                continue;
            };
            if read_int(line, w, -253, 253, diags).is_none() {
                // keepalived keeps the entry with the default weight.
                diags.warn(
                    loc,
                    format!(
                        "({owner}) weight for track bfd {name} must be in [-253..253] inclusive. Ignoring..."
                    ),
                );
            }
            if let Some(o) = line.arg(2)
                && o != "reverse"
                && o != "noreverse"
            {
                diags.warn(
                    loc,
                    format!("({owner}) unknown track bfd {name} weight option {o} - ignoring"),
                );
                continue;
            }
        }
        tracked.push(name);
    }
}

#[cfg(test)]
mod tests {
    //! Checked against `keepalived -t` 2.2.7 (its messages).

    use crate::diag::Severity;
    use crate::{LoadOptions, Loaded, load_str};
    use std::path::Path;

    fn load(text: &str) -> Loaded {
        load_str(
            Path::new("/etc/keepalived/t.conf"),
            text,
            &LoadOptions::default(),
        )
    }

    /// `LINE: message` of the warnings with a line.
    fn warnings(l: &Loaded) -> Vec<String> {
        l.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .filter_map(|d| Some(format!("{}: {}", d.loc.as_ref()?.line, d.message)))
            .collect()
    }

    const VS: &str = "    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.141 80 {
";

    #[test]
    fn references_name_instances_defined_before() {
        let l = load(&format!(
            "virtual_server 192.0.2.130 80 {{
{VS}        BFD_CHECK {{
            name later
        }}
    }}
}}
bfd_instance later {{
    neighbor_ip 192.0.2.1
}}
bfd_instance vrrp_only {{
    neighbor_ip 192.0.2.2
    vrrp
}}
bfd_instance later {{
    neighbor_ip 192.0.2.4
    no_such_keyword
}}
virtual_server 192.0.2.131 80 {{
{VS}        BFD_CHECK {{
            name later
        }}
        BFD_CHECK {{
            name vrrp_only
            alpha
        }}
        BFD_CHECK {{
            name later
        }}
    }}
}}
vrrp_instance VI_BFD {{
    state BACKUP
    interface eth0
    virtual_router_id 130
    priority 100
    virtual_ipaddress {{
        192.0.2.130/24
    }}
    track_bfd {{
        later weight -50
        vrrp_only weight
        nonexist
        later
    }}
}}
"
        ));
        assert_eq!(
            warnings(&l),
            [
                "7: ([198.51.100.141]:tcp:80) BFD_CHECK - BFD later not configured",
                "18: BFD later already specified",
                "18: Configuration error: BFD instance later already configured - ignoring",
                "31: ([198.51.100.141]:tcp:80) BFD_CHECK - BFD vrrp_only not configured",
                "35: ([198.51.100.141]:tcp:80) BFD_CHECK - RS already monitoring later",
                "49: (VI_BFD) weight without value specified for track bfd vrrp_only - ignoring",
                "50: (VI_BFD) track bfd nonexist not found, ignoring...",
                "51: (VI_BFD) duplicate track_bfd later - ignoring",
            ]
        );
        let names: Vec<(&str, bool, bool)> = l
            .config
            .bfd_instances
            .iter()
            .map(|b| (b.name.as_str(), b.vrrp, b.checker))
            .collect();
        assert_eq!(names, [("later", true, true), ("vrrp_only", true, false)]);
        let rs = &l.config.lvs.virtual_servers[1].real_servers[0];
        let checks: Vec<&str> = rs.bfd_checks.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(checks, ["later"]);
    }

    #[test]
    fn instance_checks() {
        let long = "abcdefghijabcdefghijabcdefghijab";
        let l = load(&format!(
            "bfd_instance {long} {{
    neighbor_ip 192.0.2.1
}}
bfd_instance nonb {{
    checker
    weird
}}
vrrp_sync_group G {{
    group {{
        VI_1
    }}
    track_bfd {{
        {long}
        nonb
    }}
}}
virtual_server 192.0.2.130 80 {{
{VS}        BFD_CHECK {{
            name {long}
        }}
        BFD_CHECK {{
            name nonb extra
            bogus
        }}
    }}
}}
"
        ));
        assert_eq!(
            warnings(&l),
            [
                format!("1: BFD name {long} too long"),
                format!(
                    "1: Configuration error: BFD instance {long} name too long (maximum length is 31 characters) - ignoring"
                ),
                "6: Unknown keyword 'weird'".to_string(),
                "7: Configuration error: BFD instance nonb has no neighbor address set, disabling instance".to_string(),
                format!("13: (G) track bfd {long} not found, ignoring..."),
                "14: (G) track bfd nonb not found, ignoring...".to_string(),
                format!("23: ([198.51.100.141]:tcp:80) BFD_CHECK - BFD name {long} too long"),
                "26: ([198.51.100.141]:tcp:80) BFD_CHECK - No or too many names specified - skipping checker".to_string(),
                "27: Unknown keyword 'bogus'".to_string(),
            ]
        );
    }
}
