//! The codec against ipvsadm itself: `testdata/ipvsadm.strace` holds what
//! ipvsadm 1.31 sent for each command and what the kernel (6.1) answered,
//! recorded in the test VM by `tests/vm/capture-ipvsadm.sh`. Every request
//! the worker can make is compared byte for byte with ipvsadm's (sequence
//! number and port id aside), and the recorded answers are decoded.

use super::genl::{self, Reply};
use super::ipvs::*;
use super::nla::{GENL_HDRLEN, Messages};
use std::net::IpAddr;

const CAPTURE: &str = include_str!("../../testdata/ipvsadm.strace");

#[derive(Debug)]
struct Block {
    cmd: String,
    /// (sent?, bytes) per sendmsg/recvmsg, in order.
    events: Vec<(bool, Vec<u8>)>,
}

fn blocks() -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for line in CAPTURE.lines() {
        if let Some(cmd) = line.strip_prefix("=== ipvsadm ") {
            out.push(Block {
                cmd: cmd.to_string(),
                events: Vec::new(),
            });
        } else if line == "send" || line == "recv" {
            let b = out.last_mut().expect("block");
            b.events.push((line == "send", Vec::new()));
        } else if line.starts_with('#') || line.trim().is_empty() {
        } else {
            let b = out.last_mut().expect("block");
            let ev = b.events.last_mut().expect("event");
            for h in line.split_whitespace() {
                ev.1.push(u8::from_str_radix(h, 16).expect("hex"));
            }
        }
    }
    out
}

fn block(cmd: &str) -> Block {
    blocks()
        .into_iter()
        .find(|b| b.cmd == cmd)
        .unwrap_or_else(|| panic!("no capture of ipvsadm {cmd}"))
}

/// Zero the sequence number and port id of every message in `buf`.
fn masked(buf: &[u8]) -> Vec<u8> {
    let mut b = buf.to_vec();
    let mut at = 0;
    while at + 16 <= b.len() {
        let len = u32::from_ne_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        b[at + 8..at + 16].fill(0);
        at += len.max(16).next_multiple_of(4);
    }
    b
}

fn ipvs_family(b: &Block) -> u16 {
    let (_, answer) = b.events.iter().find(|(sent, _)| !sent).expect("answer");
    let m = Messages::new(answer).next().unwrap().unwrap();
    let Reply::Data { attrs, .. } = genl::classify(&m).unwrap() else {
        panic!("family answer")
    };
    genl::parse_family(attrs).unwrap().id
}

/// The IPVS requests of a block other than the GET_INFO probe ipvsadm
/// always starts with.
fn ipvs_requests(b: &Block) -> Vec<Vec<u8>> {
    let fam = ipvs_family(b);
    b.events
        .iter()
        .filter(|(sent, m)| {
            *sent
                && m.len() >= 20
                && u16::from_ne_bytes([m[4], m[5]]) == fam
                && m[16] != IPVS_CMD_GET_INFO
        })
        .map(|(_, m)| masked(m))
        .collect()
}

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: IPPROTO_TCP,
        addr: v4(addr),
        port,
    }
}

fn udp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: IPPROTO_UDP,
        addr: v4(addr),
        port,
    }
}

fn svc(key: ServiceKey, sched: &str, flags: u32, timeout: u32, netmask: u32) -> Service {
    Service {
        key,
        sched: sched.into(),
        flags,
        timeout,
        netmask,
        pe_name: None,
    }
}

fn dest(addr: &str, port: u16, fwd: u32, weight: u32) -> Dest {
    Dest {
        fwd,
        weight,
        ..Dest::new(v4(addr), port)
    }
}

fn check(cmd: &str, expected: &[Request]) {
    let b = block(cmd);
    let fam = ipvs_family(&b);
    assert_eq!(fam, 0x20, "the guest's IPVS family id");
    let got = ipvs_requests(&b);
    assert_eq!(
        got.len(),
        expected.len(),
        "ipvsadm {cmd}: number of requests"
    );
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        let ours = masked(&e.encode(fam, 0));
        assert_eq!(
            hex(&ours),
            hex(g),
            "ipvsadm {cmd}: request {i} ({e:?}) differs from ipvsadm's"
        );
    }
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .enumerate()
        .map(|(i, x)| {
            if i % 16 == 15 {
                format!("{x:02x}\n")
            } else {
                format!("{x:02x} ")
            }
        })
        .collect()
}

const V6: &str = "2001:db8::1";

#[test]
fn family_request_matches_libnl() {
    let b = block("-A -t 10.0.0.1:80 -s rr");
    let (sent, first) = &b.events[0];
    assert!(sent);
    assert_eq!(masked(first), masked(&genl::get_family("IPVS", 0)));
}

#[test]
fn add_services() {
    check(
        "-A -t 10.0.0.1:80 -s rr",
        &[Request::NewService(svc(
            tcp("10.0.0.1", 80),
            "rr",
            0,
            0,
            u32::MAX,
        ))],
    );
    check(
        "-A -u [2001:db8::1]:53 -s wrr -p 300",
        &[Request::NewService(svc(
            ServiceKey::Addr {
                protocol: IPPROTO_UDP,
                addr: V6.parse().unwrap(),
                port: 53,
            },
            "wrr",
            IP_VS_SVC_F_PERSISTENT,
            300,
            128,
        ))],
    );
    check(
        "-A -t 10.0.0.2:443 -s sh -b sh-fallback,sh-port -p 600 -M 255.255.255.0",
        &[Request::NewService(svc(
            tcp("10.0.0.2", 443),
            "sh",
            IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2,
            600,
            0xffff_ff00,
        ))],
    );
    check(
        "-A -f 100 -s wlc",
        &[Request::NewService(svc(
            ServiceKey::Fwmark {
                af: Af::Inet,
                mark: 100,
            },
            "wlc",
            0,
            0,
            u32::MAX,
        ))],
    );
    check(
        "-A -f 200 -6 -s lc -p 60 -M 64",
        &[Request::NewService(svc(
            ServiceKey::Fwmark {
                af: Af::Inet6,
                mark: 200,
            },
            "lc",
            IP_VS_SVC_F_PERSISTENT,
            60,
            64,
        ))],
    );
    check(
        "-A -u 10.0.0.4:53 -s mh -b mh-port -o",
        &[Request::NewService(svc(
            udp("10.0.0.4", 53),
            "mh",
            IP_VS_SVC_F_SCHED2 | IP_VS_SVC_F_ONEPACKET,
            0,
            u32::MAX,
        ))],
    );
    check(
        "-A --sctp-service 10.0.0.5:9 -s fo",
        &[Request::NewService(svc(
            ServiceKey::Addr {
                protocol: IPPROTO_SCTP,
                addr: v4("10.0.0.5"),
                port: 9,
            },
            "fo",
            0,
            0,
            u32::MAX,
        ))],
    );
}

#[test]
fn edit_and_delete_services() {
    check(
        "-E -t 10.0.0.1:80 -s wrr",
        &[Request::SetService(svc(
            tcp("10.0.0.1", 80),
            "wrr",
            0,
            0,
            u32::MAX,
        ))],
    );
    check(
        "-D -u 10.0.0.4:53",
        &[Request::DelService(udp("10.0.0.4", 53))],
    );
    check("-C", &[Request::Flush]);
}

#[test]
fn destinations() {
    let k = tcp("10.0.0.1", 80);
    check(
        "-a -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 3 -x 100 -y 10",
        &[Request::NewDest(
            k,
            Dest {
                u_threshold: 100,
                l_threshold: 10,
                ..dest("192.168.1.10", 8080, IP_VS_CONN_F_MASQ, 3)
            },
        )],
    );
    check(
        "-a -t 10.0.0.1:80 -r 192.168.1.11:80 -g -w 0",
        &[Request::NewDest(
            k,
            dest("192.168.1.11", 80, IP_VS_CONN_F_DROUTE, 0),
        )],
    );
    check(
        "-a -t 10.0.0.1:80 -r 192.168.1.12 -i --tun-type gue --tun-port 6080 --tun-csum",
        &[Request::NewDest(
            k,
            Dest {
                tun_type: IP_VS_CONN_F_TUNNEL_TYPE_GUE,
                tun_port: 6080,
                tun_flags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
                ..dest("192.168.1.12", 80, IP_VS_CONN_F_TUNNEL, 1)
            },
        )],
    );
    check(
        "-a -t 10.0.0.1:80 -r 192.168.1.13 -i --tun-type gre --tun-csum",
        &[Request::NewDest(
            k,
            Dest {
                tun_type: IP_VS_CONN_F_TUNNEL_TYPE_GRE,
                tun_flags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
                ..dest("192.168.1.13", 80, IP_VS_CONN_F_TUNNEL, 1)
            },
        )],
    );
    check(
        "-a -t 10.0.0.1:80 -r 192.168.1.14 -i",
        &[Request::NewDest(
            k,
            dest("192.168.1.14", 80, IP_VS_CONN_F_TUNNEL, 1),
        )],
    );
    check(
        "-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -m -w 2",
        &[Request::NewDest(
            ServiceKey::Addr {
                protocol: IPPROTO_UDP,
                addr: V6.parse().unwrap(),
                port: 53,
            },
            Dest {
                fwd: IP_VS_CONN_F_MASQ,
                weight: 2,
                ..Dest::new("2001:db8::10".parse().unwrap(), 53)
            },
        )],
    );
    check(
        "-a -f 100 -r 192.168.1.20 -g",
        &[Request::NewDest(
            ServiceKey::Fwmark {
                af: Af::Inet,
                mark: 100,
            },
            dest("192.168.1.20", 0, IP_VS_CONN_F_DROUTE, 1),
        )],
    );
    check(
        "-e -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 5",
        &[Request::SetDest(
            k,
            dest("192.168.1.10", 8080, IP_VS_CONN_F_MASQ, 5),
        )],
    );
    check(
        "-d -t 10.0.0.1:80 -r 192.168.1.11:80",
        &[Request::DelDest(
            k,
            dest("192.168.1.11", 80, IP_VS_CONN_F_DROUTE, 1),
        )],
    );
}

#[test]
fn timeouts_and_sync_daemons() {
    check(
        "--set 900 120 300",
        &[Request::SetTimeouts(Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        })],
    );
    check("-L --timeout", &[Request::GetTimeouts]);
    check(
        "--start-daemon master --mcast-interface lo --syncid 5",
        &[Request::NewDaemon(Daemon {
            state: IP_VS_STATE_MASTER,
            mcast_ifn: "lo".into(),
            sync_id: 5,
            sync_maxlen: None,
            mcast_group: None,
            mcast_port: None,
            mcast_ttl: None,
        })],
    );
    let backup = Daemon {
        state: IP_VS_STATE_BACKUP,
        mcast_ifn: "lo".into(),
        sync_id: 7,
        sync_maxlen: Some(1400),
        mcast_group: Some(v4("239.1.2.3")),
        mcast_port: Some(8849),
        mcast_ttl: Some(2),
    };
    check(
        "--start-daemon backup --mcast-interface lo --syncid 7 --sync-maxlen 1400 --mcast-port 8849 --mcast-ttl 2 --mcast-group 239.1.2.3",
        &[Request::NewDaemon(backup.clone())],
    );
    check("-L --daemon", &[Request::GetDaemons]);
    check(
        "--stop-daemon master",
        &[Request::DelDaemon(IP_VS_STATE_MASTER)],
    );
    check(
        "--stop-daemon backup",
        &[Request::DelDaemon(IP_VS_STATE_BACKUP)],
    );

    // The kernel's answers.
    let b = block("-L --timeout");
    let t = data_answers(&b, IPVS_CMD_SET_CONFIG);
    assert_eq!(
        decode_timeouts(t[0]).unwrap(),
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );
    let b = block("-L --daemon");
    let d: Vec<Daemon> = data_answers(&b, IPVS_CMD_NEW_DAEMON)
        .into_iter()
        .map(|a| decode_daemon(a).unwrap())
        .collect();
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].state, IP_VS_STATE_MASTER);
    assert_eq!(d[0].sync_id, 5);
    assert_eq!(d[0].mcast_ifn, "lo");
    // The kernel reports its defaults for the master.
    assert_eq!(d[0].mcast_port, Some(8848));
    assert_eq!(d[1], backup);
}

/// The attributes of every IPVS data message with command `cmd` the kernel
/// sent in block `b`.
fn data_answers(b: &Block, cmd: u8) -> Vec<&[u8]> {
    let fam = ipvs_family(b);
    let mut out = Vec::new();
    for (sent, buf) in &b.events {
        if *sent {
            continue;
        }
        for m in Messages::new(buf) {
            let m = m.unwrap();
            if m.ty != fam {
                continue;
            }
            if let Ok(Reply::Data { cmd: c, attrs }) = genl::classify(&m) {
                if c == cmd {
                    out.push(attrs);
                }
            }
        }
    }
    out
}

#[test]
fn list_decodes_the_dumps() {
    let b = block("-Ln");
    let info = data_answers(&b, IPVS_CMD_SET_INFO);
    let info = decode_info(info[0]).unwrap();
    assert_eq!(info.version_string(), "1.2.1");
    assert_eq!(info.conn_tab_size, 4096);

    let services: Vec<Service> = data_answers(&b, IPVS_CMD_NEW_SERVICE)
        .into_iter()
        .map(|a| decode_service(a).unwrap())
        .collect();
    let v6 = ServiceKey::Addr {
        protocol: IPPROTO_UDP,
        addr: V6.parse().unwrap(),
        port: 53,
    };
    let want = [
        svc(
            tcp("10.0.0.2", 443),
            "sh",
            IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2,
            600,
            0xffff_ff00,
        ),
        svc(tcp("10.0.0.1", 80), "wrr", 0, 0, u32::MAX),
        svc(
            ServiceKey::Addr {
                protocol: IPPROTO_SCTP,
                addr: v4("10.0.0.5"),
                port: 9,
            },
            "fo",
            0,
            0,
            u32::MAX,
        ),
        svc(v6, "wrr", IP_VS_SVC_F_PERSISTENT, 300, 128),
        svc(
            ServiceKey::Fwmark {
                af: Af::Inet,
                mark: 100,
            },
            "wlc",
            0,
            0,
            u32::MAX,
        ),
        svc(
            ServiceKey::Fwmark {
                af: Af::Inet6,
                mark: 200,
            },
            "lc",
            IP_VS_SVC_F_PERSISTENT,
            60,
            64,
        ),
    ];
    for w in &want {
        assert!(services.contains(w), "{w:?} not in {services:#?}");
    }
    assert_eq!(services.len(), want.len());

    // ipvsadm then dumps each service's destinations (in its own order).
    let sent = ipvs_requests(&b);
    assert_eq!(sent.len(), 1 + services.len());
    assert_eq!(sent[0], masked(&Request::GetServices.encode(0x20, 0)));
    for s in &services {
        let ours = masked(&Request::GetDests(s.key).encode(0x20, 0));
        assert!(
            sent.contains(&ours),
            "GET_DEST of {} not as ipvsadm's",
            s.key
        );
    }

    let dests: Vec<DestEntry> = data_answers(&b, IPVS_CMD_NEW_DEST)
        .into_iter()
        .map(|a| decode_dest(a, Af::Inet).unwrap())
        .collect();
    let d = |a: &str| {
        dests
            .iter()
            .find(|e| e.dest.addr == a.parse::<IpAddr>().unwrap())
            .unwrap_or_else(|| panic!("{a} not dumped"))
            .dest
    };
    assert_eq!(
        d("192.168.1.10"),
        // -e sent every field again: weight 5, thresholds back to 0.
        dest("192.168.1.10", 8080, IP_VS_CONN_F_MASQ, 5)
    );
    assert_eq!(
        d("192.168.1.12"),
        Dest {
            tun_type: IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            tun_port: 6080,
            tun_flags: IP_VS_TUNNEL_ENCAP_FLAG_CSUM,
            ..dest("192.168.1.12", 80, IP_VS_CONN_F_TUNNEL, 1)
        }
    );
    assert_eq!(
        d("2001:db8::10"),
        Dest {
            fwd: IP_VS_CONN_F_MASQ,
            weight: 2,
            ..Dest::new("2001:db8::10".parse().unwrap(), 53)
        }
    );
    assert_eq!(d("192.168.1.20").port, 0);
    assert!(
        !dests.iter().any(|e| e.dest.addr == v4("192.168.1.11")),
        "deleted by -d"
    );
}

#[test]
fn every_recorded_answer_decodes() {
    for b in blocks() {
        let fam = ipvs_family(&b);
        for (sent, buf) in &b.events {
            if *sent {
                continue;
            }
            for m in Messages::new(buf) {
                let m = m.unwrap_or_else(|e| panic!("ipvsadm {}: {e}", b.cmd));
                let r = genl::classify(&m).unwrap();
                if let Reply::Error(e) = r {
                    panic!("ipvsadm {}: the kernel refused with errno {e}", b.cmd);
                }
                if let Reply::Data { .. } = r {
                    assert!(m.ty == fam || m.ty == genl::GENL_ID_CTRL);
                    assert!(m.payload.len() >= GENL_HDRLEN);
                }
            }
            assert!(super::decode_all(buf, fam) >= 1, "ipvsadm {}", b.cmd);
        }
    }
}
