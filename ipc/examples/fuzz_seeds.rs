//! Writes the seed corpus of the `frame_decode` fuzz target:
//! `cargo run -p ipc --example fuzz_seeds -- ipc/fuzz/seeds/frame_decode`.
//! Each seed is a read-pattern byte followed by a byte stream (see
//! ipc/fuzz/fuzz_targets/frame_decode.rs).

#[path = "../tests/common/mod.rs"]
mod common;

use ipc::frame;
use std::path::PathBuf;

const CONFIG: &str = r#"
global_defs {
    router_id lb1
    enable_script_security
}
vrrp_script chk {
    script "/usr/bin/pgrep haproxy"
    interval 2
    weight -10
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass pw
    }
    virtual_ipaddress {
        192.0.2.80/24 dev eth0 label eth0:1
    }
    track_script {
        chk
    }
    notify_master "/etc/keepalived/notify.sh master"
}
virtual_server 192.0.2.80 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind NAT
    persistence_timeout 60
    protocol TCP
    sorry_server 192.0.2.99 80
    real_server 10.0.0.1 80 {
        weight 2
        HTTP_GET {
            url {
                path /health
                status_code 200
                digest 9b3a0c85a887a256d6939da88aabd8cd
            }
            connect_timeout 3
        }
    }
    real_server 10.0.0.2 80 {
        TCP_CHECK {
            connect_timeout 2
        }
        MISC_CHECK {
            misc_path "/etc/keepalived/check.sh 10.0.0.2"
            misc_dynamic
        }
    }
}
virtual_server fwmark 7 {
    lb_algo rr
    lb_kind DR
    real_server 10.0.0.3 0 {
        weight 1
        PING_CHECK {
        }
    }
}
"#;

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .expect("usage: fuzz_seeds DIRECTORY"),
    );
    std::fs::create_dir_all(&dir)?;
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let to = common::to_worker();
    let from = common::from_worker();
    for (i, m) in to.iter().enumerate() {
        seeds.push((format!("to-{i:02}"), frame::encode(m).expect("encodes")));
    }
    for (i, m) in from.iter().enumerate() {
        seeds.push((format!("from-{i:02}"), frame::encode(m).expect("encodes")));
    }
    // Init of each role with a real configuration, so the fuzzer starts
    // from encodings of the model types too.
    let loaded = config::load_str(
        std::path::Path::new("/etc/keepalived/keepalived.conf"),
        CONFIG,
        &config::LoadOptions::default(),
    );
    for d in &loaded.diagnostics {
        eprintln!("{d}");
    }
    assert!(!loaded.has_errors(), "the seed configuration has errors");
    let cfg = loaded.config;
    for role in ipc::Role::ALL {
        let init = ipc::ToWorker::Init(ipc::Init {
            generation: 1,
            heartbeat_interval: std::time::Duration::from_secs(1),
            slice: ipc::Slice::for_role(role, &cfg),
            scripts: common::scripts(),
            restored: ipc::Restored::empty(role),
            options: Default::default(),
        });
        seeds.push((
            format!("init-{role}"),
            frame::encode(&init).expect("encodes"),
        ));
    }
    seeds.push(("to-stream".into(), common::stream_bytes(&to)));
    seeds.push(("from-stream".into(), common::stream_bytes(&from)));
    // Header trouble: future version, oversize length, trailing payload.
    let hb = frame::encode(&ipc::FromWorker::Heartbeat { seq: 1 }).expect("encodes");
    let mut v = hb.clone();
    v[0] = ipc::PROTOCOL_VERSION + 1;
    seeds.push(("bad-version".into(), v));
    seeds.push((
        "bad-oversize".into(),
        [&[ipc::PROTOCOL_VERSION][..], &u32::MAX.to_le_bytes()].concat(),
    ));
    let mut v = hb.clone();
    v.push(0);
    v[1] += 1;
    seeds.push(("bad-trailing".into(), v));
    let mut n = 0;
    for (name, bytes) in seeds {
        // Alternate read patterns: whole, byte by byte, odd sizes.
        let pattern = [0u8, 1, 6, 3][n % 4];
        n += 1;
        let mut data = vec![pattern];
        data.extend_from_slice(&bytes);
        std::fs::write(dir.join(name), data)?;
    }
    println!("{n} seeds in {}", dir.display());
    Ok(())
}
