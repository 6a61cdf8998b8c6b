//! A full configuration, parsed by `config::load_str`, through frames.

use config::LoadOptions;
use config::model::Config;
use ipc::frame;
use ipc::*;
use std::fmt::Write;
use std::path::Path;

const REALISTIC: &str = r#"
! Director pair with a firewall sync group and an LVS farm.
global_defs {
    router_id lvs-director-1
    notification_email {
        ops@example.com
    }
    notification_email_from keepalived@lvs1.example.com
    smtp_server 192.0.2.25
    smtp_connect_timeout 30
    enable_script_security
    script_user root
}

vrrp_script chk_haproxy {
    script "/usr/bin/killall -0 haproxy"
    interval 2
    weight -20
    fall 2
    rise 2
}

vrrp_sync_group VG_1 {
    group {
        VI_OUT
        VI_IN
    }
    notify_master "/etc/keepalived/notify.sh master"
    notify_backup "/etc/keepalived/notify.sh backup"
}

vrrp_instance VI_OUT {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.0.2.80/24
        192.0.2.81/24 dev eth0 label eth0:1
    }
    track_script {
        chk_haproxy
    }
    notify_fault "/etc/keepalived/notify.sh fault"
}

vrrp_instance VI_IN {
    state BACKUP
    interface eth1
    virtual_router_id 52
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.0.0.1/24
    }
}

virtual_server 192.0.2.80 80 {
    delay_loop 10
    lb_algo wlc
    lb_kind DR
    persistence_timeout 300
    protocol TCP

    real_server 198.51.100.11 80 {
        weight 3
        HTTP_GET {
            url {
                path /healthz
                status_code 200
            }
            url {
                path /static/logo.png
                digest 9b3a0c85a887a256d6939da88aabd8cd
            }
            connect_timeout 3
            retry 3
            delay_before_retry 2
        }
    }
    real_server 198.51.100.12 80 {
        weight 1
        inhibit_on_failure
        TCP_CHECK {
            connect_port 80
            connect_timeout 2
        }
    }
    real_server 198.51.100.13 80 {
        weight 1
        MISC_CHECK {
            misc_path "/etc/keepalived/check_web.sh 198.51.100.13"
            misc_timeout 5
        }
    }
}
"#;

fn load(text: &str) -> Config {
    let loaded = config::load_str(
        Path::new("/etc/keepalived/keepalived.conf"),
        text,
        &LoadOptions::default(),
    );
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity >= config::Severity::Error)
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "configuration errors: {errors:#?}");
    loaded.config
}

#[test]
fn full_config_round_trips() {
    let cfg = load(REALISTIC);
    // Every section made it into the model.
    assert_ne!(cfg.global, Default::default());
    assert_ne!(cfg.vrrp, Default::default());
    assert_ne!(cfg.lvs, Default::default());
    let f = frame::encode(&cfg).unwrap();
    assert_eq!(frame::decode_exact::<Config>(&f).unwrap(), cfg);
    // And as each worker's slice, inside Init and Reload.
    for role in Role::ALL {
        let init = ToWorker::Init(Init {
            generation: 1,
            heartbeat_interval: std::time::Duration::from_secs(1),
            slice: Slice::for_role(role, &cfg),
            scripts: Vec::new(),
            restored: Restored::empty(role),
            options: Default::default(),
        });
        let f = frame::encode(&init).unwrap();
        assert_eq!(frame::decode_exact::<ToWorker>(&f).unwrap(), init);
        let reload = ToWorker::Reload(Reload {
            generation: 2,
            slice: Slice::for_role(role, &cfg),
            scripts: Vec::new(),
        });
        let f = frame::encode(&reload).unwrap();
        assert_eq!(frame::decode_exact::<ToWorker>(&f).unwrap(), reload);
    }
}

/// 100 virtual servers of 100 real servers each, every real server with a
/// checker: the size the frame cap was chosen for.
fn ten_thousand_real_servers() -> String {
    let mut t = String::from("global_defs {\n    router_id big\n}\n");
    for vs in 0..100u32 {
        let _ = write!(
            t,
            "virtual_server 192.0.{}.{} {} {{\n    delay_loop 6\n    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n",
            vs / 250,
            vs % 250 + 1,
            8000 + vs
        );
        for rs in 0..100u32 {
            let n = vs * 100 + rs;
            let _ = write!(
                t,
                "    real_server 10.{}.{}.{} 8080 {{\n        weight {}\n",
                n >> 16,
                (n >> 8) & 255,
                n & 255,
                rs % 10 + 1
            );
            if rs % 2 == 0 {
                t.push_str(
                    "        HTTP_GET {\n            url {\n                path /health/check\n                status_code 200\n            }\n            connect_timeout 3\n            retry 2\n            delay_before_retry 1\n        }\n",
                );
            } else {
                t.push_str(
                    "        TCP_CHECK {\n            connect_port 8080\n            connect_timeout 2\n        }\n",
                );
            }
            t.push_str("    }\n");
        }
        t.push_str("}\n");
    }
    t
}

#[test]
fn ten_thousand_real_servers_fit_in_a_frame() {
    let cfg = load(&ten_thousand_real_servers());
    let slice = ToWorker::Init(Init {
        generation: 1,
        heartbeat_interval: std::time::Duration::from_secs(1),
        slice: Slice::for_role(Role::Check, &cfg),
        scripts: Vec::new(),
        restored: Restored::empty(Role::Check),
        options: Default::default(),
    });
    let f = frame::encode(&slice).unwrap();
    // The real servers are in the slice (a few dozen bytes each at least)...
    assert!(f.len() > 10_000 * 50, "only {} bytes", f.len());
    // Leave at least a factor of two for what the model may still grow.
    assert!(
        f.len() < MAX_PAYLOAD / 2,
        "a 10,000 real server slice takes {} bytes",
        f.len()
    );
    eprintln!("10,000 real servers: {} bytes", f.len());
    assert_eq!(frame::decode_exact::<ToWorker>(&f).unwrap(), slice);
}
