//! Tests: real configuration text through `crate::load_str`.

use crate::diag::{Diagnostic, Severity};
use crate::model::global::VrrpVersion;
use crate::model::vrrp::*;
use crate::{LoadOptions, Loaded, load_str};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

fn load(text: &str) -> Loaded {
    // Dev aid: KH_DUMP_DIR=dir writes each test configuration there, to
    // compare with `keepalived -t -f`.
    if let Ok(dir) = std::env::var("KH_DUMP_DIR") {
        let t = std::thread::current();
        let base = t
            .name()
            .unwrap_or("t")
            .rsplit("::")
            .next()
            .unwrap_or("t")
            .to_string();
        let mut n = 0;
        while Path::new(&format!("{dir}/{base}.{n}.conf")).exists() {
            n += 1;
        }
        let _ = std::fs::write(format!("{dir}/{base}.{n}.conf"), text);
    }
    load_str(
        Path::new("/etc/keepalived/t.conf"),
        text,
        &LoadOptions::default(),
    )
}

fn msgs(l: &Loaded) -> Vec<(Severity, Option<u32>, String)> {
    l.diagnostics
        .iter()
        .map(|d: &Diagnostic| {
            (
                d.severity,
                d.loc.as_ref().map(|l| l.line),
                d.message.clone(),
            )
        })
        .collect()
}

fn w(line: Option<u32>, m: &str) -> (Severity, Option<u32>, String) {
    (Severity::Warning, line, m.to_string())
}

fn e(line: Option<u32>, m: &str) -> (Severity, Option<u32>, String) {
    (Severity::Error, line, m.to_string())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Dev aid: `KH_CONF=file cargo test -p config dump_file -- --ignored --nocapture`.
#[test]
#[ignore]
fn dump_file() {
    let p = std::env::var("KH_CONF").unwrap();
    let l = crate::load(Path::new(&p), &LoadOptions::default());
    for d in &l.diagnostics {
        println!("{d}");
    }
    println!("{}", serde_json::to_string_pretty(&l.config.vrrp).unwrap());
}

const VIP: &str = "    virtual_ipaddress {\n        10.9.0.100/24\n    }\n";

fn inst(name: &str, body: &str) -> String {
    format!("vrrp_instance {name} {{\n    interface eth0\n{body}}}\n")
}

#[test]
fn minimal_instance_defaults() {
    let l = load(&inst("VI_1", &format!("    virtual_router_id 51\n{VIP}")));
    assert_eq!(msgs(&l), vec![]);
    let i = &l.config.vrrp.instances[0];
    assert_eq!(i.name, "VI_1");
    assert_eq!(i.loc.line, 1);
    assert_eq!(i.state, State::Backup);
    assert_eq!(i.priority, 100);
    assert_eq!(i.vrid, 51);
    assert_eq!(i.interface.as_deref(), Some("eth0"));
    assert_eq!(i.advert_int, Duration::from_secs(1));
    assert_eq!(i.version, VrrpVersion::V2);
    assert_eq!(i.family, Family::Ipv4);
    assert!(i.preempt);
    assert_eq!(i.preempt_delay, Duration::ZERO);
    assert!(i.accept);
    assert!(!i.strict_mode);
    assert!(!i.unicast);
    assert_eq!(i.mcast_dst_ip, Some(ip("224.0.0.18")));
    assert_eq!(i.ttl, Some(255));
    assert_eq!(i.down_timer_adverts, 3);
    assert_eq!(
        i.garp,
        GarpSettings {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
            extra_if: Duration::ZERO,
            extra_if_all: false,
        }
    );
    assert!(!i.smtp_alert);
    assert_eq!(i.authentication, None);
    let v = &i.virtual_ipaddresses[0];
    assert_eq!(
        (v.addr, v.prefix, v.dev.clone()),
        (ip("10.9.0.100"), 24, None)
    );
}

#[test]
fn missing_vrid_is_an_error_without_line() {
    let l = load(&inst("VI_1", VIP));
    assert_eq!(
        msgs(&l),
        vec![e(None, "(VI_1) the virtual router id must be set")]
    );
    assert!(l.has_errors());
    assert!(l.config.vrrp.instances.is_empty());
}

#[test]
fn missing_interface_is_an_error() {
    let l = load(
        "vrrp_instance VI_1 {\n    virtual_router_id 51\n    unicast_peer {\n        10.9.0.2\n    }\n    virtual_ipaddress {\n        10.9.0.100/24\n    }\n}\n",
    );
    assert_eq!(msgs(&l), vec![e(None, "(VI_1) Unknown interface!")]);
}

#[test]
fn vrid_and_priority_ranges() {
    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 0\n    priority 300\n{VIP}"),
    ));
    assert_eq!(
        msgs(&l),
        vec![
            w(Some(3), "number '0' outside range [1, 255]"),
            w(
                Some(3),
                "(VI_1): VRID '0' not valid - must be between 1 & 255"
            ),
            w(Some(4), "number '300' outside range [1, 255]"),
            w(
                Some(4),
                "(VI_1) Priority not valid! must be between 1 & 255. Using default 100"
            ),
            e(None, "(VI_1) the virtual router id must be set"),
        ]
    );
}

#[test]
fn priority_out_of_range_uses_default() {
    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 9\n    priority 300\n{VIP}"),
    ));
    assert!(!l.has_errors());
    assert_eq!(l.config.vrrp.instances[0].priority, 100);
    assert_eq!(l.diagnostics.len(), 2);
}

#[test]
fn missing_parameter_is_an_error() {
    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    priority\n{VIP}"),
    ));
    assert_eq!(
        msgs(&l),
        vec![e(
            Some(4),
            "*** Configuration line starting `priority` is missing a parameter after keyword `priority` at word position 2"
        )]
    );
}

#[test]
fn duplicate_vrid_on_an_interface_is_an_error() {
    let text = inst("VI_1", &format!("    virtual_router_id 51\n{VIP}"))
        + &inst(
            "VI_2",
            "    virtual_router_id 51\n    virtual_ipaddress {\n        10.9.0.101/24\n    }\n",
        );
    let l = load(&text);
    assert_eq!(
        msgs(&l),
        vec![e(
            None,
            "VI_1 and VI_2 both use VRID 51 with IPv4 on interface eth0"
        )]
    );
    // A different multicast group makes them separate.
    let text2 = inst("VI_1", &format!("    virtual_router_id 51\n{VIP}"))
        + &inst(
            "VI_2",
            "    virtual_router_id 51\n    mcast_dst_ip 224.0.0.19\n    virtual_ipaddress {\n        10.9.0.101/24\n    }\n",
        );
    assert_eq!(msgs(&load(&text2)), vec![]);
}

#[test]
fn duplicate_unicast_vrid_with_common_peer_is_an_error() {
    let body = "    virtual_router_id 7\n    unicast_peer {\n        10.9.0.2\n    }\n    virtual_ipaddress {\n        10.9.0.100/24\n    }\n";
    let l = load(&(inst("A", body) + &inst("B", body)));
    assert_eq!(
        msgs(&l),
        vec![e(None, "(A) duplicate VRID conflict with B VRID 7")]
    );
    assert!(l.config.vrrp.instances[0].unicast);
    assert_eq!(l.config.vrrp.instances[0].mcast_dst_ip, None);
}

#[test]
fn no_vip() {
    let l = load(&inst("VI_1", "    virtual_router_id 51\n"));
    let s = "(VI_1) No VIP specified; at least one is sensible";
    assert_eq!(msgs(&l), vec![w(None, s), w(None, s)]);
    let l = load(&inst("VI_1", "    virtual_router_id 51\n    version 3\n"));
    assert_eq!(
        msgs(&l),
        vec![e(None, "(VI_1) No VIP specified; at least one is required")]
    );
}

#[test]
fn advert_int_rounding_per_version() {
    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    advert_int 1.5\n{VIP}"),
    ));
    assert_eq!(
        msgs(&l),
        vec![w(
            None,
            "(VI_1) VRRPv2 advertisement interval 1.500000s must be an integer. rounding"
        )]
    );
    assert_eq!(
        l.config.vrrp.instances[0].advert_int,
        Duration::from_secs(2)
    );

    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    version 3\n    advert_int 0.015\n{VIP}"),
    ));
    assert_eq!(
        msgs(&l),
        vec![w(
            None,
            "(VI_1) VRRPv3 advertisement interval 0.015000s must be in units of 10ms - rounding"
        )]
    );
    assert_eq!(
        l.config.vrrp.instances[0].advert_int,
        Duration::from_millis(20)
    );

    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    version 3\n    advert_int 50\n{VIP}"),
    ));
    assert_eq!(
        msgs(&l),
        vec![w(
            None,
            "(VI_1) VRRPv3 advertisement interval 50.00s is out of range. Must be less than 40.96s. Setting to 40.95s"
        )]
    );
    assert_eq!(
        l.config.vrrp.instances[0].advert_int,
        Duration::from_millis(40950)
    );

    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    advert_int 0\n{VIP}"),
    ));
    assert_eq!(
        msgs(&l),
        vec![
            w(Some(4), "number '0' outside range [0.010000, 255.000000]"),
            w(
                Some(4),
                "(VI_1) Advert interval (0) not valid! Must be > 0 - ignoring"
            ),
        ]
    );
    assert_eq!(
        l.config.vrrp.instances[0].advert_int,
        Duration::from_secs(1)
    );
}

#[test]
fn authentication_and_truncation() {
    let l = load(&inst(
        "VI_1",
        &format!(
            "    virtual_router_id 51\n    authentication {{\n        auth_type PASS\n        auth_pass 0123456789\n    }}\n{VIP}"
        ),
    ));
    assert_eq!(
        msgs(&l),
        vec![w(Some(6), "Truncating auth_pass to 8 characters")]
    );
    assert_eq!(
        l.config.vrrp.instances[0].authentication,
        Some(Authentication {
            auth_type: AuthType::Pass,
            password: b"01234567".to_vec()
        })
    );
    // VRRPv3 drops it.
    let l = load(&inst(
        "VI_1",
        &format!(
            "    virtual_router_id 51\n    version 3\n    authentication {{\n        auth_type AH\n        auth_pass x\n    }}\n{VIP}"
        ),
    ));
    assert_eq!(
        msgs(&l),
        vec![w(
            None,
            "(VI_1) VRRP version 3 does not support authentication. Ignoring."
        )]
    );
    assert_eq!(l.config.vrrp.instances[0].authentication, None);
}

#[test]
fn state_master_defaults_priority_255_and_nopreempt() {
    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    state MASTER\n    nopreempt\n{VIP}"),
    ));
    assert_eq!(
        msgs(&l),
        vec![w(
            None,
            "(VI_1) nopreempt is incompatible with priority 255. resetting nopreempt"
        )]
    );
    let i = &l.config.vrrp.instances[0];
    assert_eq!((i.state, i.priority, i.preempt), (State::Master, 255, true));

    let l = load(&inst(
        "VI_1",
        &format!(
            "    virtual_router_id 51\n    state MASTER\n    priority 100\n    nopreempt\n    preempt_delay 5\n{VIP}"
        ),
    ));
    assert_eq!(
        msgs(&l),
        vec![
            w(
                None,
                "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing"
            ),
            w(
                None,
                "(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing"
            ),
        ]
    );
    let i = &l.config.vrrp.instances[0];
    assert_eq!((i.state, i.priority, i.preempt), (State::Master, 100, true));
    assert_eq!(i.preempt_delay, Duration::ZERO);
}

#[test]
fn backup_nopreempt_and_preempt_delay() {
    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    nopreempt\n    preempt_delay 2.5\n{VIP}"),
    ));
    assert_eq!(
        msgs(&l),
        vec![w(
            None,
            "(VI_1) preempt_delay is incompatible with nopreempt mode - resetting"
        )]
    );
    assert!(!l.config.vrrp.instances[0].preempt);
    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    preempt_delay 2.5\n{VIP}"),
    ));
    assert_eq!(msgs(&l), vec![]);
    assert_eq!(
        l.config.vrrp.instances[0].preempt_delay,
        Duration::from_millis(2500)
    );
}

#[test]
fn unknown_state_and_unknown_keyword() {
    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    state FOO\n    foo_bar 1\n{VIP}"),
    ));
    assert_eq!(
        msgs(&l),
        vec![
            w(Some(4), "(VI_1) unknown state 'FOO', defaulting to BACKUP"),
            w(Some(5), "Unknown keyword 'foo_bar'"),
        ]
    );
}

#[test]
fn instance_name_and_duplicates() {
    let l = load("vrrp_instance {\n    interface eth0\n}\n");
    assert_eq!(msgs(&l), vec![w(Some(1), "vrrp_instance must have a name")]);
    let text = inst("VI_1", &format!("    virtual_router_id 1\n{VIP}"))
        + &inst("VI_1", &format!("    virtual_router_id 2\n{VIP}"));
    let l = load(&text);
    assert_eq!(
        msgs(&l),
        vec![w(Some(8), "vrrp instance VI_1 already defined")]
    );
    assert_eq!(l.config.vrrp.instances.len(), 1);
    assert_eq!(l.config.vrrp.instances[0].vrid, 1);
}

#[test]
fn vip_options_and_family_rules() {
    let l = load(&inst(
        "VI_1",
        "    virtual_router_id 51\n    virtual_ipaddress {\n        10.9.0.100/24 dev eth1 scope link label eth1:vip brd +\n        10.9.0.300/24\n        10.9.0.101/40\n        10.9.0.102/24 foo\n        10.9.0.103/24 dev\n        fe80::1/64\n    }\n    virtual_ipaddress_excluded {\n        2001:db8::1/64 label x\n    }\n",
    ));
    assert_eq!(
        msgs(&l),
        vec![
            w(
                Some(6),
                "VRRP parsed invalid IP 10.9.0.300/24. skipping IP..."
            ),
            w(Some(7), "number '40' outside range [0, 32]"),
            w(
                Some(7),
                "Invalid address prefix len 40 for address 10.9.0.101/40 - using 32"
            ),
            w(
                Some(8),
                "Unknown configuration entry 'foo' for ip address - ignoring"
            ),
            w(Some(9), "No dev parameter specified for 10.9.0.103/24"),
            w(
                Some(10),
                "(VI_1): address family must match VRRP instance [fe80::1/64] - ignoring"
            ),
            w(
                Some(13),
                "Cannot specify label for IPv6 addresses (2001:db8::1/64) - ignoring label"
            ),
        ]
    );
    let i = &l.config.vrrp.instances[0];
    let v = &i.virtual_ipaddresses;
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].dev.as_deref(), Some("eth1"));
    assert_eq!(v[0].scope, Some(253));
    assert_eq!(v[0].label.as_deref(), Some("eth1:vip"));
    assert_eq!(v[0].broadcast, Some("10.9.0.255".parse().unwrap()));
    assert_eq!(v[1].prefix, 32);
    let x = &i.virtual_ipaddresses_excluded[0];
    assert_eq!((x.label.clone(), x.preferred_lft), (None, Some(u32::MAX)));
}

#[test]
fn ipv6_instance_gets_version_3() {
    let l = load(&inst(
        "VI_1",
        "    virtual_router_id 51\n    virtual_ipaddress {\n        fe80::1/64\n        2001:db8::10/64\n    }\n",
    ));
    assert_eq!(msgs(&l), vec![]);
    let i = &l.config.vrrp.instances[0];
    assert_eq!((i.family, i.version), (Family::Ipv6, VrrpVersion::V3));
    assert_eq!(i.mcast_dst_ip, Some(ip("ff02::12")));
    assert_eq!(i.ttl, None);
}

#[test]
fn track_script_file_process_with_weights() {
    let text = "vrrp_script chk {\n    script \"/usr/bin/check -x 'a b'\"\n    interval 2\n    weight -20 reverse\n    rise 3\n    fall 0\n    user nobody nogroup\n    init_fail\n}\ntrack_file tf {\n    file /run/tf\n    weight 5\n    init_file 3 overwrite\n}\nvrrp_track_process tp {\n    process sshd -D\n    weight 10\n    quorum 2\n    fork_delay 0.5\n}\n".to_string()
        + &inst(
            "VI_1",
            &format!(
                "    virtual_router_id 51\n    track_script {{\n        chk\n        chk\n        nosuch\n    }}\n    track_file {{\n        tf weight 7 reverse\n    }}\n    track_process {{\n        tp weight 254\n    }}\n    track_interface {{\n        eth1 weight 254\n        eth0\n    }}\n{VIP}"
            ),
        );
    let l = load(&text);
    assert_eq!(
        msgs(&l),
        vec![
            w(Some(6), "number '0' outside range [1, 2147483647]"),
            w(
                Some(6),
                "(chk): vrrp script fall value '0' invalid, defaulting to 1"
            ),
            w(Some(26), "(VI_1) duplicate track_script chk - ignoring"),
            w(
                Some(27),
                "(VI_1) track script nosuch not found, ignoring..."
            ),
            w(
                Some(36),
                "(VI_1) weight for eth1 cannot be +/-254. Setting to +/-253"
            ),
            w(
                None,
                "(VI_1) Ignoring track_interface eth0 since own interface"
            ),
        ]
    );
    let v = &l.config.vrrp;
    let s = &v.scripts[0];
    assert_eq!(s.script.argv, vec!["/usr/bin/check", "-x", "a b"]);
    assert_eq!(
        (s.script.user.as_deref(), s.script.group.as_deref()),
        (Some("nobody"), Some("nogroup"))
    );
    assert_eq!(
        (
            s.interval,
            s.weight,
            s.weight_reverse,
            s.rise,
            s.fall,
            s.init_fail
        ),
        (Duration::from_secs(2), -20, true, 3, 1, true)
    );
    assert_eq!(s.timeout, None);
    let f = &v.track_files[0];
    assert_eq!(
        (f.path.as_str(), f.weight, f.init),
        (
            "/run/tf",
            5,
            Some(TrackFileInit {
                value: 3,
                overwrite: true
            })
        )
    );
    let p = &v.track_processes[0];
    assert_eq!(p.process, "sshd");
    assert_eq!(p.params, vec!["-D"]);
    assert_eq!(p.param_match, ParamMatch::Exact);
    assert!(p.full_command);
    assert_eq!((p.weight, p.quorum, p.quorum_max), (10, 2, None));
    assert_eq!(p.fork_delay, Some(Duration::from_millis(500)));
    assert_eq!(p.terminate_delay, None);
    let i = &v.instances[0];
    let r = |n: &str, w: i32, rev: bool| TrackedRef {
        name: n.into(),
        weight: w,
        reverse: rev,
    };
    assert_eq!(i.track_scripts, vec![r("chk", -20, true)]);
    assert_eq!(i.track_files, vec![r("tf", 7, true)]);
    assert_eq!(i.track_processes, vec![r("tp", 254, false)]);
    assert_eq!(
        i.track_interfaces,
        vec![TrackedInterface {
            name: "eth1".into(),
            weight: 253,
            reverse: false
        }]
    );
}

#[test]
fn vrrp_script_without_script_is_removed() {
    let text = "vrrp_script chk {\n    interval 2\n}\n".to_string()
        + &inst(
            "VI_1",
            &format!("    virtual_router_id 51\n    track_script {{\n        chk\n    }}\n{VIP}"),
        );
    let l = load(&text);
    assert_eq!(
        msgs(&l),
        vec![
            w(Some(3), "No script set for vrrp_script chk - removing"),
            w(Some(8), "(VI_1) track script chk not found, ignoring..."),
        ]
    );
    assert!(l.config.vrrp.scripts.is_empty());
}

#[test]
fn sync_groups() {
    let text = "vrrp_sync_group G1 {\n    group {\n        VI_1\n    }\n}\nvrrp_sync_group G2 {\n    group {\n        VI_1\n        VI_2\n        VI_X\n    }\n    notify_master \"/bin/notify master\" root\n}\n".to_string()
        + &inst("VI_1", &format!("    virtual_router_id 51\n{VIP}"))
        + &inst(
            "VI_2",
            "    virtual_router_id 52\n    track_script {\n    }\n    virtual_ipaddress {\n        10.9.0.101/24\n    }\n",
        );
    let l = load(&text);
    assert_eq!(
        msgs(&l),
        vec![
            w(
                None,
                "Sync group G1 has only 1 virtual router(s) - this probably isn't what you want"
            ),
            w(
                None,
                "Virtual router VI_1 cannot exist in more than one sync group; ignoring G2"
            ),
            w(
                None,
                "Virtual router VI_X specified in sync group G2 doesn't exist - ignoring"
            ),
            w(
                None,
                "Sync group G2 has only 1 virtual router(s) - this probably isn't what you want"
            ),
        ]
    );
    let v = &l.config.vrrp;
    assert_eq!(v.sync_groups[1].members, vec!["VI_2"]);
    assert_eq!(v.instances[0].sync_group.as_deref(), Some("G1"));
    assert_eq!(v.instances[1].sync_group.as_deref(), Some("G2"));
    let n = v.sync_groups[1].notify.master.as_ref().unwrap();
    assert_eq!(n.argv, vec!["/bin/notify", "master"]);
    assert_eq!(n.user.as_deref(), Some("root"));
}

#[test]
fn sync_group_ignores_weighted_tracking() {
    let text = "vrrp_script chk {\n    script /bin/true\n    weight 10\n}\nvrrp_sync_group G {\n    group {\n        VI_1\n        VI_2\n    }\n}\n".to_string()
        + &inst(
            "VI_1",
            &format!("    virtual_router_id 51\n    track_script {{\n        chk\n    }}\n{VIP}"),
        )
        + &inst(
            "VI_2",
            "    virtual_router_id 52\n    virtual_ipaddress {\n        10.9.0.101/24\n    }\n",
        );
    let l = load(&text);
    assert_eq!(
        msgs(&l),
        vec![w(
            None,
            "(VI_1) ignoring tracked script chk with weights due to SYNC group"
        )]
    );
    assert!(l.config.vrrp.instances[0].track_scripts.is_empty());
}

#[test]
fn strict_mode_consequences() {
    let text = "global_defs {\n    vrrp_strict\n}\n".to_string()
        + &inst(
            "VI_1",
            &format!(
                "    virtual_router_id 51\n    state MASTER\n    priority 100\n    authentication {{\n        auth_type PASS\n        auth_pass abc\n    }}\n    higher_prio_send_advert\n{VIP}"
            ),
        );
    let l = load(&text);
    assert_eq!(
        msgs(&l),
        vec![
            w(None, "(VI_1) State MASTER must match being address owner"),
            w(
                None,
                "(VI_1) Strict mode does not support authentication. Ignoring."
            ),
            w(
                None,
                "(VI_1) strict mode requires higher_prio_send_advert to be clear. resetting"
            ),
        ]
    );
    let i = &l.config.vrrp.instances[0];
    assert_eq!(i.state, State::Backup);
    assert!(i.strict_mode);
    assert!(!i.accept);
    assert!(i.lower_prio_no_advert);
    assert_eq!(
        (i.garp.lower_prio_repeat, i.garp.lower_prio_delay),
        (0, Duration::ZERO)
    );
    assert_eq!(i.authentication, None);
}

#[test]
fn unicast_peers_and_sources() {
    let l = load(&inst(
        "VI_1",
        &format!(
            "    virtual_router_id 51\n    unicast_src_ip 10.9.0.1\n    unicast_ttl 10\n    unicast_peer {{\n        10.9.0.2 min_ttl 5 max_ttl 3\n        10.9.0.3\n        fe80::1\n        bogus\n    }}\n{VIP}"
        ),
    ));
    assert_eq!(
        msgs(&l),
        vec![
            w(
                Some(7),
                "(VI_1) min_ttl 5 > max_ttl 3 - all packets will be discarded"
            ),
            w(
                Some(9),
                "Configuration error: VRRP instance[VI_1] and unicast peer address[fe80::1] MUST be of the same family !!! Skipping..."
            ),
            w(
                Some(10),
                "Configuration error: VRRP instance[VI_1] malformed unicast peer address[bogus]. Skipping..."
            ),
        ]
    );
    let i = &l.config.vrrp.instances[0];
    assert!(i.unicast);
    assert!(i.check_unicast_src);
    assert_eq!(i.src_ip, Some(ip("10.9.0.1")));
    assert_eq!(i.ttl, Some(10));
    assert_eq!(
        i.unicast_peers,
        vec![
            UnicastPeer {
                addr: ip("10.9.0.2"),
                min_ttl: 5,
                max_ttl: 3
            },
            UnicastPeer {
                addr: ip("10.9.0.3"),
                min_ttl: 0,
                max_ttl: 255
            },
        ]
    );
}

#[test]
fn unicast_keyword_without_peers_is_deprecated_multicast() {
    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    unicast_src_ip 10.9.0.1\n{VIP}"),
    ));
    assert_eq!(
        msgs(&l),
        vec![w(
            None,
            "(VI_1) A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration."
        )]
    );
    assert!(!l.config.vrrp.instances[0].unicast);
}

#[test]
fn notify_scripts_are_listed() {
    let text = inst(
        "VI_1",
        &format!(
            "    virtual_router_id 51\n    notify_master \"/etc/ka/master.sh arg1\" alice staff\n    notify_backup /etc/ka/backup.sh\n    notify_backup /etc/ka/other.sh\n    notify /etc/ka/notify.sh\n    smtp_alert\n{VIP}"
        ),
    );
    let l = load(&text);
    assert_eq!(
        msgs(&l),
        vec![w(
            Some(6),
            "(VI_1) notify_backup script already specified - ignoring /etc/ka/other.sh"
        )]
    );
    let i = &l.config.vrrp.instances[0];
    let m = i.notify.master.as_ref().unwrap();
    assert_eq!(m.argv, vec!["/etc/ka/master.sh", "arg1"]);
    assert_eq!(
        (m.user.as_deref(), m.group.as_deref()),
        (Some("alice"), Some("staff"))
    );
    assert_eq!(m.loc.line, 4);
    assert!(i.smtp_alert);
    let listed: Vec<(&str, Vec<String>)> = l
        .config
        .vrrp
        .scripts()
        .into_iter()
        .map(|(_, k, s)| (k, s.argv.clone()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (
                "notify_master",
                vec!["/etc/ka/master.sh".into(), "arg1".into()]
            ),
            ("notify_backup", vec!["/etc/ka/backup.sh".to_string()]),
            ("notify", vec!["/etc/ka/notify.sh".to_string()]),
        ]
    );
    assert_eq!(l.config.vrrp_and_global_scripts().len(), 3);
}

#[test]
fn routes_and_rules() {
    let text = "static_routes {\n    10.20.0.0/16 via 10.9.0.254\n    blackhole 10.30.0.0/16 dev eth0 table 100 metric 5\n    nonsense\n}\nstatic_rules {\n    from 10.9.0.0/24 table 100 priority 50\n    from 10.8.0.0/24 lookup main\n    from 10.7.0.0/24\n}\n".to_string()
        + &inst(
            "VI_1",
            &format!(
                "    virtual_router_id 51\n    virtual_routes {{\n        default via 10.9.0.1 dev eth0 src 10.9.0.100 onlink\n    }}\n    virtual_rules {{\n        to 10.1.0.0/16 fwmark 0x10/0xff goto 100 priority 10\n    }}\n{VIP}"
            ),
        );
    let l = load(&text);
    assert_eq!(
        msgs(&l),
        vec![
            w(
                Some(2),
                "Warning - cannot track route 10.20.0.0/16 with no interface specified, not tracking"
            ),
            w(Some(4), "VRRP parsed invalid IP nonsense. skipping IP..."),
            w(Some(4), "unknown route keyword nonsense"),
            w(
                Some(8),
                "Rule has no preference specified - setting to 16384. This is probably not what you want."
            ),
            w(Some(9), "No action specified for rule - ignoring"),
        ]
    );
    let v = &l.config.vrrp;
    let r0 = &v.static_routes[0];
    assert_eq!(r0.dst, RouteDest::Prefix(ip("10.20.0.0"), 16));
    assert_eq!(r0.via, Some(ip("10.9.0.254")));
    assert!(r0.no_track);
    let r1 = &v.static_routes[1];
    assert_eq!(r1.route_type, "blackhole");
    assert_eq!(
        (r1.table.clone(), r1.metric, r1.dev.as_deref()),
        (RouteTable::Id(100), Some(5), Some("eth0"))
    );
    assert!(!r1.no_track);
    assert_eq!(r1.protocol.as_deref(), Some("keepalived"));
    assert_eq!(v.static_rules.len(), 2);
    assert_eq!(
        v.static_rules[0].action,
        RuleAction::Table(RouteTable::Id(100))
    );
    assert_eq!(v.static_rules[0].priority, 50);
    assert_eq!(
        v.static_rules[1].action,
        RuleAction::Table(RouteTable::Id(254))
    );
    let i = &v.instances[0];
    let vr = &i.virtual_routes[0];
    assert_eq!(vr.dst, RouteDest::Default);
    assert_eq!((vr.src, vr.onlink), (Some(ip("10.9.0.100")), true));
    let rule = &i.virtual_rules[0];
    assert_eq!(rule.action, RuleAction::Goto(100));
    assert_eq!(
        (rule.fwmark, rule.fwmask, rule.priority),
        (Some(16), Some(255), 10)
    );
    assert_eq!(rule.to, Some((ip("10.1.0.0"), 16)));
}

#[test]
fn global_defaults_reach_instances() {
    let text = "global_defs {\n    vrrp_version 3\n    vrrp_mcast_group4 224.0.0.19\n    vrrp_garp_master_delay 2\n    vrrp_garp_master_repeat 3\n    vrrp_garp_lower_prio_repeat 1\n    vrrp_skip_check_adv_addr\n    vrrp_check_unicast_src\n    smtp_alert_vrrp\n    smtp_alert false\n}\n".to_string()
        + &inst("VI_1", &format!("    virtual_router_id 51\n{VIP}"));
    let l = load(&text);
    assert_eq!(msgs(&l), vec![]);
    let i = &l.config.vrrp.instances[0];
    assert_eq!(i.version, VrrpVersion::V3);
    assert_eq!(i.mcast_dst_ip, Some(ip("224.0.0.19")));
    assert_eq!(i.garp.master_delay, Duration::from_secs(2));
    assert_eq!(i.garp.master_repeat, 3);
    assert_eq!(i.garp.lower_prio_repeat, 1);
    assert_eq!(i.garp.lower_prio_delay, Duration::from_secs(2));
    assert!(i.skip_check_adv_addr);
    assert!(i.check_unicast_src);
    assert!(i.smtp_alert);
}

#[test]
fn vmac_options() {
    let l = load(&inst(
        "VI_1",
        &format!(
            "    virtual_router_id 51\n    use_vmac vrrp51 02:11:22:33:44:55\n    vmac_xmit_base\n    promote_secondaries\n{VIP}"
        ),
    ));
    assert_eq!(
        msgs(&l),
        vec![w(
            None,
            "(VI_1) promote_secondaries is automatically set for vmacs - ignoring"
        )]
    );
    let i = &l.config.vrrp.instances[0];
    assert_eq!(
        i.use_vmac,
        Some(Vmac {
            ifname: Some("vrrp51".into()),
            mac: Some([2, 0x11, 0x22, 0x33, 0x44, 0x55]),
            mac_use_vrid: false,
            xmit_base: true
        })
    );
    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    vmac_xmit_base\n{VIP}"),
    ));
    assert_eq!(
        msgs(&l),
        vec![w(None, "(VI_1) vmac_xmit_base is only valid with a vmac")]
    );
}

#[test]
fn model_round_trips_through_json() {
    let l = load(&inst(
        "VI_1",
        &format!("    virtual_router_id 51\n    notify_master /bin/x\n{VIP}"),
    ));
    let j = serde_json::to_string(&l.config).unwrap();
    let back: crate::model::Config = serde_json::from_str(&j).unwrap();
    assert_eq!(back, l.config);
}

/// `garp_extra_if` / `vmac_garp_intvl` and the global
/// `vrrp_garp_extra_if` / `vrrp_vmac_garp_intvl`, with keepalived 2.2.7's
/// messages (`keepalived -t`) and its measured inheritance.
#[test]
fn garp_extra_if_as_keepalived() {
    let one = |global: &str, body: &str| {
        let g = if global.is_empty() {
            String::new()
        } else {
            format!("global_defs {{\n    {global}\n}}\n")
        };
        let l = load(&format!(
            "{g}{}",
            inst("V", &format!("    virtual_router_id 5\n    {body}\n{VIP}"))
        ));
        let i = &l.config.vrrp.instances[0];
        let got = (i.garp.extra_if.as_secs(), i.garp.extra_if_all);
        let m: Vec<String> = msgs(&l).into_iter().map(|x| x.2).collect();
        (got, m)
    };
    let none: Vec<String> = vec![];
    assert_eq!(one("", ""), ((0, false), none.clone()));
    assert_eq!(one("", "garp_extra_if 7"), ((7, false), none.clone()));
    assert_eq!(one("", "garp_extra_if 2 all"), ((2, true), none.clone()));
    assert_eq!(
        one("vrrp_garp_extra_if all 3", ""),
        ((3, true), none.clone())
    );
    // An own interval, even 0, replaces the global one and its `all`.
    assert_eq!(
        one("vrrp_garp_extra_if all 3", "garp_extra_if 0"),
        ((0, false), none.clone())
    );
    assert_eq!(
        one("vrrp_garp_extra_if all 3", "garp_extra_if 2"),
        ((2, false), none.clone())
    );
    // `all` with no time: the line is ignored, its `all` is not.
    assert_eq!(
        one("vrrp_garp_extra_if 3", "garp_extra_if all"),
        (
            (3, true),
            vec!["(V): garp_extra_if specified without time - ignoring".to_string()]
        )
    );
    assert_eq!(
        one("", "vmac_garp_intvl 4"),
        (
            (4, false),
            vec![
                "Keyword \"vmac_garp_intvl\" is deprecated - please use \"garp_extra_if\""
                    .to_string()
            ]
        )
    );
    assert_eq!(
        one("", "garp_extra_if 86401"),
        (
            (0, false),
            vec![
                "number '86401' outside range [0, 86400]".to_string(),
                "(V): garp_extra_if '86401' invalid - ignoring".to_string()
            ]
        )
    );
    assert_eq!(
        one("vrrp_vmac_garp_intvl 6", ""),
        (
            (6, false),
            vec![
                "Keyword \"vrrp_vmac_garp_intvl\" is deprecated - please use \"vrrp_garp_extra_if\""
                    .to_string()
            ]
        )
    );
    assert_eq!(
        one("vrrp_garp_extra_if 0", ""),
        (
            (0, false),
            vec![
                "number '0' outside range [1, 86400]".to_string(),
                "vrrp_garp_extra_if '0' invalid - ignoring".to_string()
            ]
        )
    );
    assert_eq!(
        one("vrrp_garp_extra_if all", ""),
        (
            (0, true),
            vec!["vrrp_garp_extra_if specified without time - ignoring".to_string()]
        )
    );
}

/// The global nftables options, with keepalived 2.2.7's `-t` messages.
#[test]
fn nftables_options_as_keepalived() {
    let one = |lines: &str| {
        let l = load(&format!(
            "global_defs {{\n{lines}\n}}\n{}",
            inst("V", &format!("    virtual_router_id 5\n{VIP}"))
        ));
        let m: Vec<String> = msgs(&l).into_iter().map(|x| x.2).collect();
        (l.config.global.nftables.clone(), m)
    };
    let none: Vec<String> = vec![];
    let d = crate::model::global::NftablesOptions::default();
    assert_eq!((d.table.as_str(), d.priority), ("keepalived", -1));
    assert_eq!(one("nftables"), (d.clone(), none.clone()));
    let (o, m) = one("nftables mytab\nnftables_priority -5\nnftables_ifindex\nnftables_counters");
    assert_eq!(m, none);
    assert_eq!(
        (o.table.as_str(), o.priority, o.ifindex, o.counters),
        ("mytab", -5, true, true)
    );
    assert_eq!(one("nftables_priority -2147483648").0.priority, i32::MIN);
    assert_eq!(
        one("nftables_priority 2147483648"),
        (
            d.clone(),
            vec![
                "number '2147483648' outside integer range".to_string(),
                "invalid nftables chain priority '2147483648'".to_string()
            ]
        )
    );
    assert_eq!(
        one(&format!("nftables {}", "x".repeat(255))).0.table.len(),
        255
    );
    assert_eq!(
        one(&format!("nftables {}", "x".repeat(256))),
        (
            d.clone(),
            vec!["nftables table name too long - ignoring".to_string()]
        )
    );
}

/// A VIP's own `use_vmac` beside the instance's VMAC or `use_vmac_addr`:
/// keepalived 2.2.7's messages, and the flag cleared where it adds
/// nothing.
#[test]
fn per_vip_use_vmac_as_keepalived() {
    let one = |body: &str, vips: &str| {
        let l = load(&inst(
            "V",
            &format!(
                "    virtual_router_id 5\n{body}    virtual_ipaddress {{\n{vips}    }}\n    virtual_ipaddress_excluded {{\n        2001:db8::1/64 use_vmac\n    }}\n"
            ),
        ));
        let i = &l.config.vrrp.instances[0];
        let flags: Vec<bool> = i
            .virtual_ipaddresses
            .iter()
            .chain(&i.virtual_ipaddresses_excluded)
            .map(|a| a.use_vmac)
            .collect();
        let m: Vec<String> = msgs(&l).into_iter().map(|x| x.2).collect();
        (flags, m)
    };
    assert_eq!(
        one(
            "    use_vmac\n",
            "        10.0.0.1 use_vmac\n        10.0.0.2/24 dev eth0 use_vmac\n        10.0.1.1/24 dev eth1 use_vmac\n"
        ),
        (
            vec![false, false, true, true],
            vec![
                "(V) use_vmac specified for VIP/eVIP 10.0.0.1 and vrrp instance".to_string(),
                "(V) use_vmac specified for VIP/eVIP 10.0.0.2/24 and vrrp instance".to_string(),
            ]
        )
    );
    assert_eq!(
        one(
            "    use_vmac_addr\n",
            "        10.0.0.1/24 use_vmac\n        10.0.1.1/24 dev eth1 use_vmac\n"
        ),
        (
            vec![true, false, false],
            vec![
                "(V) use_vmac_addr specified and use_vmac specified for VIP/eVIP 10.0.1.1/24"
                    .to_string(),
                "(V) use_vmac_addr specified and use_vmac specified for VIP/eVIP 2001:db8::1/64"
                    .to_string(),
            ]
        )
    );
}
