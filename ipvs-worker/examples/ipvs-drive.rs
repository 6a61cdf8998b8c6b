//! Drives the IPVS worker against a kernel with IPVS, playing the parent:
//! the worker runs in a thread of this process (unconfined) on one end of a
//! socketpair, this program sends it `Init`, `Health`, `Reload` and
//! `Shutdown` and checks the kernel's table after each step with the
//! worker's own netlink client. Used in the test VM (tests/vm); prints one
//! `PASS`/`FAIL` line per step and exits 1 if any failed.
//!
//! usage: ipvs-drive (as root, with ip_vs loaded)

use ipc::{FromWorker, Health, HealthChange, Init, Reload, Restored, Role, Slice, ToWorker};
use ipvs_worker::client::Ipvs;
use ipvs_worker::netlink::ipvs::{Dest, IPPROTO_TCP, Request, Service, ServiceKey};
use ipvs_worker::table::rs_key;
use std::collections::BTreeMap;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CONF: &str = "
virtual_server 10.1.0.1 80 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    quorum 3
    sorry_server 10.1.9.9 80
    real_server 10.1.1.1 80 {
        weight 2
        TCP_CHECK { }
    }
    real_server 10.1.1.2 80 {
        weight 2
        inhibit_on_failure
        TCP_CHECK { }
    }
}
virtual_server 10.1.0.2 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.1.2.1 8080 {
        weight 1
    }
}
";

/// After the reload: 10.1.0.2 gone, 10.1.0.3 new.
const CONF2: &str = "
virtual_server 10.1.0.1 80 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    quorum 3
    sorry_server 10.1.9.9 80
    real_server 10.1.1.1 80 {
        weight 2
        TCP_CHECK { }
    }
    real_server 10.1.1.2 80 {
        weight 2
        inhibit_on_failure
        TCP_CHECK { }
    }
}
virtual_server 10.1.0.3 443 {
    lb_algo sh
    lb_kind DR
    protocol TCP
    persistence_timeout 60
    real_server 10.1.3.1 443 {
    }
}
";

fn slice(text: &str) -> ipc::LvsSlice {
    let l = config::load_str(
        Path::new("drive.conf"),
        text,
        &config::LoadOptions::default(),
    );
    assert!(!l.has_errors(), "{:?}", l.diagnostics);
    ipc::LvsSlice {
        global: l.config.global,
        lvs: l.config.lvs,
    }
}

/// The table as `(service, [(dest, weight)])` lines, sorted.
fn table(ipvs: &mut Ipvs) -> Vec<String> {
    let t = ipvs.dump(|| {}).expect("dump");
    let mut out: Vec<String> = t
        .services
        .values()
        .map(|ks| {
            let (s, d) = (&ks.service, &ks.dests);
            let mut ds: Vec<String> = d
                .values()
                .map(|d| format!("{}:{} w{}", d.addr, d.port, d.weight))
                .collect();
            ds.sort();
            format!("{} {} [{}]", s.key, s.sched, ds.join(", "))
        })
        .collect();
    out.sort();
    out
}

struct Driver {
    to: UnixStream,
    from: mpsc::Receiver<FromWorker>,
    ipvs: Ipvs,
    failures: u32,
    statuses: Vec<ipc::IpvsStatus>,
}

impl Driver {
    fn send(&mut self, m: &ToWorker) {
        ipc::send(&mut self.to, m).expect("send to worker");
    }

    /// Read the worker's messages until `pred` holds or `limit` passes.
    fn wait_msg(&mut self, limit: Duration, pred: impl Fn(&FromWorker) -> bool) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(m) = self.from.recv_timeout(Duration::from_millis(50)) {
                if let FromWorker::IpvsStatus(s) = &m {
                    self.statuses.push(s.clone());
                }
                if let FromWorker::Log { message, .. } = &m {
                    println!("  worker: {message}");
                }
                if pred(&m) {
                    return true;
                }
            }
        }
        false
    }

    /// Wait until the table is `want` (at most `limit`).
    fn expect(&mut self, step: &str, limit: Duration, want: &[&str]) {
        let end = Instant::now() + limit;
        let mut got = table(&mut self.ipvs);
        while got != want && Instant::now() < end {
            self.wait_msg(Duration::from_millis(100), |_| false);
            got = table(&mut self.ipvs);
        }
        if got == want {
            println!("PASS {step}");
        } else {
            println!("FAIL {step}\n  want: {want:#?}\n  got:  {got:#?}");
            self.failures += 1;
        }
    }
}

fn main() {
    let mut ipvs = Ipvs::open().expect("IPVS (run as root with ip_vs loaded)");
    ipvs.exec(&Request::Flush).expect("flush");
    // Someone else's service: never touched.
    let foreign = Service {
        key: ServiceKey::Addr {
            protocol: IPPROTO_TCP,
            addr: "10.1.99.1".parse().unwrap(),
            port: 80,
        },
        sched: "rr".into(),
        flags: 0,
        timeout: 0,
        netmask: u32::MAX,
        pe_name: None,
    };
    ipvs.exec(&Request::NewService(foreign.clone()))
        .expect("foreign service");

    let s1 = slice(CONF);
    let vs = &s1.lvs.virtual_servers[0];
    let k1 = rs_key(vs, &vs.real_servers[0]);
    let k2 = rs_key(vs, &vs.real_servers[1]);
    // Restored health: both up.
    let mut restored = BTreeMap::new();
    for vs in &s1.lvs.virtual_servers {
        for rs in &vs.real_servers {
            restored.insert(
                rs_key(vs, rs),
                Health {
                    up: true,
                    weight: rs.weight,
                },
            );
        }
    }
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    let worker = std::thread::spawn(move || ipvs_worker::run(theirs, "not confined (ipvs-drive)"));
    let mut reader = ours.try_clone().expect("clone");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(Some(m)) = ipc::recv::<_, FromWorker>(&mut reader) {
            if tx.send(m).is_err() {
                break;
            }
        }
    });
    let mut d = Driver {
        to: ours,
        from: rx,
        ipvs,
        failures: 0,
        statuses: Vec::new(),
    };
    assert!(
        d.wait_msg(Duration::from_secs(5), |m| matches!(
            m,
            FromWorker::Hello {
                role: Role::Ipvs,
                ..
            }
        )),
        "no Hello"
    );
    d.send(&ToWorker::Init(Init {
        generation: 1,
        heartbeat_interval: Duration::from_millis(100),
        slice: Slice::Ipvs(Box::new(s1.clone())),
        scripts: Vec::new(),
        restored: Restored::Ipvs(restored),
        options: Default::default(),
    }));
    let ready = d.wait_msg(Duration::from_secs(5), |m| {
        matches!(m, FromWorker::Ready { generation: 1 })
    });
    println!("{} ready", if ready { "PASS" } else { "FAIL" });
    d.failures += u32::from(!ready);
    let foreign_line = "TCP 10.1.99.1:80 rr []";
    d.expect(
        "start: both up, quorum 4 >= 3",
        Duration::from_secs(2),
        &[
            "TCP 10.1.0.1:80 wrr [10.1.1.1:80 w2, 10.1.1.2:80 w2]",
            "TCP 10.1.0.2:80 rr [10.1.2.1:8080 w1]",
            foreign_line,
        ],
    );
    let health = |k: &ipc::RealServerKey, up: bool, weight: u32| {
        ToWorker::Health(HealthChange {
            real_server: k.clone(),
            up,
            weight,
        })
    };
    d.send(&health(&k1, false, 2));
    d.expect(
        "10.1.1.1 down: quorum lost, sorry server in, inhibited one at 0",
        Duration::from_secs(2),
        &[
            "TCP 10.1.0.1:80 wrr [10.1.1.2:80 w0, 10.1.9.9:80 w1]",
            "TCP 10.1.0.2:80 rr [10.1.2.1:8080 w1]",
            foreign_line,
        ],
    );
    d.send(&health(&k1, true, 2));
    d.expect(
        "10.1.1.1 up: quorum back, sorry server out",
        Duration::from_secs(2),
        &[
            "TCP 10.1.0.1:80 wrr [10.1.1.1:80 w2, 10.1.1.2:80 w2]",
            "TCP 10.1.0.2:80 rr [10.1.2.1:8080 w1]",
            foreign_line,
        ],
    );
    d.send(&health(&k2, true, 5));
    d.expect(
        "10.1.1.2 weight 5",
        Duration::from_secs(2),
        &[
            "TCP 10.1.0.1:80 wrr [10.1.1.1:80 w2, 10.1.1.2:80 w5]",
            "TCP 10.1.0.2:80 rr [10.1.2.1:8080 w1]",
            foreign_line,
        ],
    );
    d.send(&ToWorker::Reload(Reload {
        generation: 2,
        slice: Slice::Ipvs(Box::new(slice(CONF2))),
        scripts: Vec::new(),
    }));
    let ready = d.wait_msg(Duration::from_secs(5), |m| {
        matches!(m, FromWorker::Ready { generation: 2 })
    });
    println!("{} reload ready", if ready { "PASS" } else { "FAIL" });
    d.failures += u32::from(!ready);
    d.expect(
        "reload: 10.1.0.2 removed, 10.1.0.3 added, health kept",
        Duration::from_secs(2),
        &[
            "TCP 10.1.0.1:80 wrr [10.1.1.1:80 w2, 10.1.1.2:80 w5]",
            "TCP 10.1.0.3:443 sh [10.1.3.1:443 w1]",
            foreign_line,
        ],
    );
    // A real server deleted by hand comes back at the next periodic pass.
    let key = ServiceKey::Addr {
        protocol: IPPROTO_TCP,
        addr: "10.1.0.1".parse().unwrap(),
        port: 80,
    };
    d.ipvs
        .exec(&Request::DelDest(
            key,
            Dest::new("10.1.1.1".parse().unwrap(), 80),
        ))
        .expect("delete by hand");
    d.expect(
        "hand-deleted real server repaired",
        Duration::from_secs(8),
        &[
            "TCP 10.1.0.1:80 wrr [10.1.1.1:80 w2, 10.1.1.2:80 w5]",
            "TCP 10.1.0.3:443 sh [10.1.3.1:443 w1]",
            foreign_line,
        ],
    );
    d.wait_msg(Duration::from_millis(300), |_| false);
    let repaired = d.statuses.last().map_or(0, |s| s.repaired);
    let ok = repaired >= 1 && d.statuses.last().is_some_and(|s| s.available);
    println!(
        "{} repairs reported ({repaired})",
        if ok { "PASS" } else { "FAIL" }
    );
    d.failures += u32::from(!ok);
    d.send(&ToWorker::Shutdown);
    let code = worker.join().expect("worker thread");
    println!(
        "{} worker exit code {code}",
        if code == 0 { "PASS" } else { "FAIL" }
    );
    d.failures += u32::from(code != 0);
    d.expect(
        "shutdown: our services removed, the foreign one kept",
        Duration::from_secs(1),
        &[foreign_line],
    );
    d.ipvs
        .exec(&Request::DelService(foreign.key))
        .expect("clean up");
    println!("ipvs-drive: {} failure(s)", d.failures);
    std::process::exit(i32::from(d.failures > 0));
}
