//! The I/O layer against the kernel, in network namespaces these tests
//! create: two namespaces joined by a veth pair (`eth0` on both sides).
//! Sockets are opened from a thread that has entered a namespace (setns
//! applies to the calling thread), then used from the test's thread.
//!
//! Root is required; under CI (CI=true) a test that cannot run fails.

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tests::{Requirement, require};
use vrrp_worker::io::{
    Applied, FrameSender, IPPROTO_VRRP, IpFamily, Received, RtEvent, RtEvents, Rtnl, VrrpSocket,
    netlink::AddrSpec,
};

static N: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sysctl(ns: &str, kv: &str) {
    let ok = Command::new("ip")
        .args(["netns", "exec", ns, "sysctl", "-qw", kv])
        .status()
        .expect("sysctl")
        .success();
    assert!(ok, "sysctl {kv} in {ns}");
}

/// Two namespaces `a` and `b`, `eth0` in each, joined by a veth pair.
/// a: 10.77.N.1/24, MAC 02:00:00:77:N:0a; b: 10.77.N.2/24, 02:00:00:77:N:0b.
struct Pair {
    a: String,
    b: String,
    n: u8,
}

impl Pair {
    fn new() -> Pair {
        let n = N.fetch_add(1, Ordering::Relaxed) as u8 + 1;
        let base = format!("vio{}-{n}", std::process::id());
        let p = Pair {
            a: format!("{base}a"),
            b: format!("{base}b"),
            n,
        };
        ip(&["netns", "add", &p.a]);
        ip(&["netns", "add", &p.b]);
        ip(&[
            "-n", &p.a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns",
            &p.b,
        ]);
        for (ns, last, host) in [(&p.a, "0a", 1), (&p.b, "0b", 2)] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&[
                "-n",
                ns,
                "link",
                "set",
                "eth0",
                "address",
                &format!("02:00:00:77:{n:02x}:{last}"),
            ]);
            sysctl(ns, "net.ipv6.conf.eth0.accept_dad=0");
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("10.77.{n}.{host}/24"),
                "dev",
                "eth0",
            ]);
            ip(&["-n", ns, "link", "set", "eth0", "up"]);
        }
        // Until the kernel's link watcher has seen the carrier (operstate
        // UP), a veth drops what is sent.
        let t0 = Instant::now();
        while ![&p.a, &p.b]
            .iter()
            .all(|ns| ip(&["-n", ns, "-o", "link", "show", "eth0"]).contains("state UP"))
        {
            assert!(t0.elapsed() < Duration::from_secs(5), "veth pair not up");
            std::thread::sleep(Duration::from_millis(10));
        }
        p
    }

    fn a_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 77, self.n, 1)
    }
    fn b_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 77, self.n, 2)
    }
    fn a_mac(&self) -> [u8; 6] {
        [2, 0, 0, 0x77, self.n, 0x0a]
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Run `f` on a thread that has entered network namespace `ns`.
fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).expect("open netns");
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&fd),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("setns");
        f()
    })
    .join()
    .expect("namespace thread")
}

fn ifindex(ns: &str, name: &'static str) -> u32 {
    in_ns(ns, move || {
        Rtnl::open()
            .expect("rtnl")
            .link_by_name(name)
            .expect("links")
            .expect("link exists")
            .index
    })
}

fn link_local(ns: &str, index: u32) -> Ipv6Addr {
    let t0 = Instant::now();
    loop {
        let addrs = in_ns(ns, || {
            Rtnl::open().expect("rtnl").addresses().expect("dump")
        });
        if let Some(a) = addrs.iter().find_map(|a| match a.addr {
            IpAddr::V6(v) if a.index == index && v.is_unicast_link_local() => Some(v),
            _ => None,
        }) {
            return a;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "no link-local address"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait (through mio, as the worker does) for the next datagram.
fn recv_one(sock: &VrrpSocket, limit: Duration) -> Option<Received> {
    let mut poll = Poll::new().expect("poll");
    let fd = sock.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&fd), Token(1), Interest::READABLE)
        .expect("register");
    let mut events = Events::with_capacity(4);
    let end = Instant::now() + limit;
    loop {
        if let Some(r) = sock.recv().expect("recv") {
            return Some(r.expect("well-formed"));
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        match poll.poll(&mut events, Some(left)) {
            Err(e) if e.kind() != std::io::ErrorKind::Interrupted => panic!("poll: {e}"),
            _ => {}
        }
    }
}

fn root() -> bool {
    require(
        "vrrp-worker I/O tests",
        &[Requirement::Root, Requirement::NetTools],
    )
}

/// A VRRPv2 advert for VRID 51, priority 100, one address (the checksum is
/// not the I/O layer's business; these bytes just travel).
const ADVERT: [u8; 20] = [
    0x21, 51, 100, 1, 0, 1, 0xab, 0xcd, 10, 77, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0,
];

#[test]
fn ipv4_multicast_advert_arrives_with_ttl_255() {
    if !root() {
        return;
    }
    let p = Pair::new();
    let (ia, ib) = (ifindex(&p.a, "eth0"), ifindex(&p.b, "eth0"));
    let group: IpAddr = "224.0.0.18".parse().unwrap();
    let tx = in_ns(&p.a, move || {
        VrrpSocket::open("eth0", ia, IpFamily::V4, IPPROTO_VRRP, &[group]).expect("open a")
    });
    let rx = in_ns(&p.b, move || {
        VrrpSocket::open("eth0", ib, IpFamily::V4, IPPROTO_VRRP, &[group]).expect("open b")
    });
    tx.send(&ADVERT, Some(IpAddr::V4(p.a_ip())), group, None)
        .expect("send");
    let r = recv_one(&rx, Duration::from_secs(2)).expect("advert received");
    assert_eq!(r.src, IpAddr::V4(p.a_ip()));
    assert_eq!(r.dst, group);
    assert_eq!(r.ttl, 255);
    assert_eq!(r.protocol, 112);
    assert_eq!(r.ifindex, ib);
    assert_eq!(r.payload(), ADVERT);
    // keepalived's IP header: TOS 0xc0, no DF, total length as sent.
    let h = r.ip_header();
    assert_eq!(h.len(), 20);
    assert_eq!(h[1], 0xc0, "TOS");
    assert_eq!(h[6] & 0x40, 0, "DF not set");
    assert_eq!(u16::from_be_bytes([h[2], h[3]]), 40);
    // No multicast loopback: the sender does not hear itself.
    assert!(recv_one(&tx, Duration::from_millis(200)).is_none());
}

#[test]
fn ipv4_unicast_advert_and_unicast_ttl() {
    if !root() {
        return;
    }
    let p = Pair::new();
    let (ia, ib) = (ifindex(&p.a, "eth0"), ifindex(&p.b, "eth0"));
    let tx = in_ns(&p.a, move || {
        VrrpSocket::open("eth0", ia, IpFamily::V4, IPPROTO_VRRP, &[]).expect("open a")
    });
    let rx = in_ns(&p.b, move || {
        VrrpSocket::open("eth0", ib, IpFamily::V4, IPPROTO_VRRP, &[]).expect("open b")
    });
    tx.send(&ADVERT, None, IpAddr::V4(p.b_ip()), None)
        .expect("send");
    let r = recv_one(&rx, Duration::from_secs(2)).expect("advert received");
    assert_eq!(r.src, IpAddr::V4(p.a_ip()), "kernel-chosen source");
    assert_eq!(r.dst, IpAddr::V4(p.b_ip()));
    assert_eq!(r.ttl, 255);
    tx.set_ttl(7).expect("ttl");
    tx.send(
        &ADVERT,
        Some(IpAddr::V4(p.a_ip())),
        IpAddr::V4(p.b_ip()),
        None,
    )
    .expect("send");
    let r = recv_one(&rx, Duration::from_secs(2)).expect("advert received");
    assert_eq!(r.ttl, 7);
    // A per-datagram TTL overrides the socket's.
    tx.send(
        &ADVERT,
        Some(IpAddr::V4(p.a_ip())),
        IpAddr::V4(p.b_ip()),
        Some(64),
    )
    .expect("send");
    let r = recv_one(&rx, Duration::from_secs(2)).expect("advert received");
    assert_eq!(r.ttl, 64);
    // A source that is not ours is refused by the kernel.
    assert!(
        tx.send(
            &ADVERT,
            Some("192.0.2.1".parse().unwrap()),
            IpAddr::V4(p.b_ip()),
            None,
        )
        .is_err()
    );
}

#[test]
fn ipv6_multicast_advert_arrives_with_hop_limit_and_pktinfo() {
    if !root() {
        return;
    }
    let p = Pair::new();
    let (ia, ib) = (ifindex(&p.a, "eth0"), ifindex(&p.b, "eth0"));
    let src = link_local(&p.a, ia);
    let group: IpAddr = "ff02::12".parse().unwrap();
    let tx = in_ns(&p.a, move || {
        VrrpSocket::open("eth0", ia, IpFamily::V6, IPPROTO_VRRP, &[group]).expect("open a")
    });
    let rx = in_ns(&p.b, move || {
        VrrpSocket::open("eth0", ib, IpFamily::V6, IPPROTO_VRRP, &[group]).expect("open b")
    });
    let mut adv = ADVERT;
    adv[0] = 0x31;
    tx.send(&adv, Some(IpAddr::V6(src)), group, None)
        .expect("send");
    let r = recv_one(&rx, Duration::from_secs(2)).expect("advert received");
    assert_eq!(r.src, IpAddr::V6(src));
    assert_eq!(r.dst, group);
    assert_eq!(r.ttl, 255, "hop limit");
    assert_eq!(r.ifindex, ib);
    assert!(r.ip_header().is_empty());
    assert_eq!(r.payload(), adv);
    assert!(recv_one(&tx, Duration::from_millis(200)).is_none());
    // Per-datagram hop limit.
    tx.send(&adv, Some(IpAddr::V6(src)), group, Some(9))
        .expect("send");
    let r = recv_one(&rx, Duration::from_secs(2)).expect("advert received");
    assert_eq!(r.ttl, 9);
}

fn addr_lines(ns: &str) -> String {
    ip(&["-n", ns, "addr", "show", "dev", "eth0"])
}

#[test]
fn vips_are_added_and_removed_idempotently() {
    if !root() {
        return;
    }
    let p = Pair::new();
    let ns = p.a.clone();
    let ia = ifindex(&ns, "eth0");
    let v4 = AddrSpec {
        ifindex: ia,
        addr: IpAddr::V4(Ipv4Addr::new(10, 77, p.n, 100)),
        prefix: 24,
        peer: None,
        broadcast: Some(Ipv4Addr::new(10, 77, p.n, 255)),
        scope: 0,
        label: Some("eth0:vip".into()),
        flags: 0,
        preferred_lft: None,
    };
    let v6 = AddrSpec {
        ifindex: ia,
        addr: "fd00:77::100".parse().unwrap(),
        prefix: 64,
        peer: None,
        broadcast: None,
        scope: 0,
        label: None,
        flags: vrrp_worker::io::netlink::IFA_F_NODAD,
        preferred_lft: Some(0),
    };
    let (a4, a6) = (v4.clone(), v6.clone());
    let added = in_ns(&ns, move || {
        let mut nl = Rtnl::open().expect("rtnl");
        (
            nl.add_address(&a4).expect("add v4"),
            nl.add_address(&a6).expect("add v6"),
        )
    });
    assert_eq!(added, (Applied::Done, Applied::Done));
    let shown = addr_lines(&ns);
    let want4 = format!(
        "inet 10.77.{}.100/24 brd 10.77.{}.255 scope global secondary eth0:vip",
        p.n, p.n
    );
    assert!(shown.contains(&want4), "{shown}");
    assert!(
        shown.contains("inet6 fd00:77::100/64 scope global nodad"),
        "{shown}"
    );
    assert!(shown.contains("preferred_lft 0sec"), "deprecated: {shown}");
    // Again: already there, not an error; nothing doubled.
    let (a4, a6) = (v4.clone(), v6.clone());
    let again = in_ns(&ns, move || {
        let mut nl = Rtnl::open().expect("rtnl");
        (
            nl.add_address(&a4).expect("add v4 again"),
            nl.add_address(&a6).expect("add v6 again"),
        )
    });
    assert_eq!(again, (Applied::AlreadySo, Applied::AlreadySo));
    let shown = addr_lines(&ns);
    assert_eq!(
        shown.matches(&format!("10.77.{}.100/", p.n)).count(),
        1,
        "{shown}"
    );
    assert_eq!(shown.matches("fd00:77::100/").count(), 1, "{shown}");
    // The dump sees them.
    let dump = in_ns(&ns, || {
        Rtnl::open().expect("rtnl").addresses().expect("dump")
    });
    assert!(
        dump.iter()
            .any(|a| a.addr == v4.addr && a.prefix == 24 && a.index == ia)
    );
    assert!(dump.iter().any(|a| a.addr == v6.addr && a.prefix == 64));
    // Remove, twice.
    let (a4, a6) = (v4.clone(), v6.clone());
    let removed = in_ns(&ns, move || {
        let mut nl = Rtnl::open().expect("rtnl");
        [
            nl.del_address(&a4).expect("del v4"),
            nl.del_address(&a6).expect("del v6"),
            nl.del_address(&a4).expect("del v4 again"),
            nl.del_address(&a6).expect("del v6 again"),
        ]
    });
    assert_eq!(
        removed,
        [
            Applied::Done,
            Applied::Done,
            Applied::AlreadySo,
            Applied::AlreadySo
        ]
    );
    let shown = addr_lines(&ns);
    assert!(!shown.contains(&format!("10.77.{}.100/", p.n)), "{shown}");
    assert!(!shown.contains("fd00:77::100"), "{shown}");
    assert!(
        shown.contains(&format!("10.77.{}.1/24", p.n)),
        "primary kept: {shown}"
    );
}

#[test]
fn links_and_link_events() {
    if !root() {
        return;
    }
    let p = Pair::new();
    let ns = p.a.clone();
    let (link, mut ev) = in_ns(&ns, || {
        let ev = RtEvents::open().expect("events");
        let l = Rtnl::open()
            .expect("rtnl")
            .link_by_name("eth0")
            .expect("dump")
            .expect("eth0");
        (l, ev)
    });
    assert_eq!(link.mac6(), Some(p.a_mac()));
    assert!(link.is_up());
    assert_eq!(link.mtu, 1500);
    let wait = |ev: &mut RtEvents, pred: &dyn Fn(&RtEvent) -> bool| {
        let mut poll = Poll::new().expect("poll");
        let fd = ev.as_raw_fd();
        poll.registry()
            .register(&mut SourceFd(&fd), Token(2), Interest::READABLE)
            .expect("register");
        let mut events = Events::with_capacity(4);
        let end = Instant::now() + Duration::from_secs(2);
        let mut seen = Vec::new();
        loop {
            let got = ev.recv().expect("events");
            if got.iter().any(pred) {
                return;
            }
            seen.extend(got);
            let left = end.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "event not seen; saw {seen:?}");
            match poll.poll(&mut events, Some(left)) {
                Err(e) if e.kind() != std::io::ErrorKind::Interrupted => panic!("poll: {e}"),
                _ => {}
            }
        }
    };
    ip(&["-n", &ns, "link", "set", "eth0", "down"]);
    wait(
        &mut ev,
        &|e| matches!(e, RtEvent::Link(l) if l.name == "eth0" && !l.is_up()),
    );
    ip(&["-n", &ns, "link", "set", "eth0", "up"]);
    wait(
        &mut ev,
        &|e| matches!(e, RtEvent::Link(l) if l.name == "eth0" && l.is_up()),
    );
    // Carrier loss on the far side: eth0 stays admin up but not running.
    ip(&["-n", &p.b, "link", "set", "eth0", "down"]);
    wait(
        &mut ev,
        &|e| matches!(e, RtEvent::Link(l) if l.name == "eth0" && l.flags & 1 != 0 && !l.is_up()),
    );
    ip(&["-n", &ns, "addr", "add", "10.99.0.1/32", "dev", "eth0"]);
    wait(
        &mut ev,
        &|e| matches!(e, RtEvent::AddrAdded(a) if a.addr == "10.99.0.1".parse::<IpAddr>().unwrap()),
    );
    ip(&["-n", &ns, "addr", "del", "10.99.0.1/32", "dev", "eth0"]);
    wait(
        &mut ev,
        &|e| matches!(e, RtEvent::AddrRemoved(a) if a.addr == "10.99.0.1".parse::<IpAddr>().unwrap()),
    );
}

fn tshark_available() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if tests::privilege::in_ci() {
            panic!("tshark is missing (apt-get install -y tshark); CI=true: failing");
        }
        eprintln!("!!! SKIPPED: tshark is missing (apt-get install -y tshark)");
    }
    ok
}

#[test]
fn garp_and_na_decode_in_tshark() {
    if !root() || !tshark_available() {
        return;
    }
    let p = Pair::new();
    let ia = ifindex(&p.a, "eth0");
    let out = std::env::temp_dir().join(format!("vio-{}-{}.txt", std::process::id(), p.n));
    let err = std::env::temp_dir().join(format!("vio-{}-{}.err", std::process::id(), p.n));
    let mut cap = Command::new("ip")
        .args(["netns", "exec", &p.b, "tshark", "-l", "-n", "-i", "eth0"])
        .args(["-f", "arp or (icmp6 and ip6[40] == 136)", "-c", "4"])
        .args(["-a", "duration:10", "-T", "fields", "-E", "separator=|"])
        .args([
            "-e",
            "eth.src",
            "-e",
            "eth.dst",
            "-e",
            "arp.opcode",
            "-e",
            "arp.src.hw_mac",
            "-e",
            "arp.src.proto_ipv4",
            "-e",
            "arp.dst.hw_mac",
            "-e",
            "arp.dst.proto_ipv4",
            "-e",
            "ipv6.src",
            "-e",
            "ipv6.dst",
            "-e",
            "ipv6.hlim",
            "-e",
            "icmpv6.type",
            "-e",
            "icmpv6.nd.na.flag.o",
            "-e",
            "icmpv6.nd.na.flag.r",
            "-e",
            "icmpv6.nd.na.target_address",
            "-e",
            "icmpv6.opt.linkaddr",
            "-e",
            "icmpv6.checksum.status",
            "-e",
            "frame.len",
        ])
        .stdout(std::fs::File::create(&out).expect("out"))
        .stderr(std::fs::File::create(&err).expect("err"))
        .spawn()
        .expect("tshark");
    // Wait until tshark is capturing.
    wait_capturing(&err, Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(300));
    let (mac, n) = (p.a_mac(), p.n);
    in_ns(&p.a, move || {
        let s = FrameSender::open().expect("packet socket");
        for _ in 0..2 {
            s.send_garp(ia, mac, Ipv4Addr::new(10, 77, n, 100))
                .expect("garp");
            s.send_na(ia, mac, "fd00:77::100".parse().unwrap(), false)
                .expect("na");
        }
    });
    let st = cap.wait().expect("tshark wait");
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&err);
    assert!(st.success(), "tshark: {st:?}");
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(lines.len(), 4, "{text}");
    let mac_s = format!("02:00:00:77:{n:02x}:0a");
    let vip = format!("10.77.{n}.100");
    let garps: Vec<_> = lines.iter().filter(|l| l[2] == "1").collect();
    let nas: Vec<_> = lines.iter().filter(|l| l[10] == "136").collect();
    assert_eq!((garps.len(), nas.len()), (2, 2), "{text}");
    for g in garps {
        assert_eq!(g[0], mac_s);
        assert_eq!(g[1], "ff:ff:ff:ff:ff:ff");
        assert_eq!(g[3], mac_s, "sender MAC");
        assert_eq!(g[4], vip, "sender IP");
        assert_eq!(g[5], "ff:ff:ff:ff:ff:ff", "target MAC");
        assert_eq!(g[6], vip, "target IP");
        assert_eq!(g[16], "42");
    }
    for a in nas {
        assert_eq!(a[0], mac_s);
        assert_eq!(a[1], "33:33:00:00:00:01");
        assert_eq!(a[7], "fd00:77::100", "source is the VIP");
        assert_eq!(a[8], "ff02::1");
        assert_eq!(a[9], "255");
        assert!(a[11] == "1" || a[11] == "True", "override: {a:?}");
        assert!(a[12] == "0" || a[12] == "False", "router: {a:?}");
        assert_eq!(a[13], "fd00:77::100");
        assert_eq!(a[14], mac_s, "target link-layer address");
        assert_eq!(a[15], "1", "checksum good");
        assert_eq!(a[16], "86");
    }
}

#[test]
fn garp_and_na_are_paced_per_interface() {
    if !root() || !tshark_available() {
        return;
    }
    let p = Pair::new();
    let out = std::env::temp_dir().join(format!("vio-pace-{}-{}.txt", std::process::id(), p.n));
    let err = std::env::temp_dir().join(format!("vio-pace-{}-{}.err", std::process::id(), p.n));
    let mut cap = Command::new("ip")
        .args(["netns", "exec", &p.b, "tshark", "-l", "-n", "-i", "eth0"])
        .args(["-f", "arp or (icmp6 and ip6[40] == 136)", "-c", "6"])
        .args(["-a", "duration:10", "-T", "fields", "-E", "separator=|"])
        .args(["-e", "frame.time_epoch", "-e", "arp.src.proto_ipv4"])
        .args(["-e", "icmpv6.nd.na.target_address"])
        .stdout(std::fs::File::create(&out).expect("out"))
        .stderr(std::fs::File::create(&err).expect("err"))
        .spawn()
        .expect("tshark");
    wait_capturing(&err, Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(300));
    let v4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 77, p.n, 100));
    let v6: IpAddr = "fd00:77::100".parse().unwrap();
    in_ns(&p.a, move || {
        let mut shell = vrrp_worker::io::shell::Shell::open().expect("shell");
        // Three rounds for two addresses: GARPs 150 ms apart, NAs 300 ms.
        let now = Instant::now();
        let errs = shell.queue_garp(
            now,
            "eth0",
            &[v4, v6],
            3,
            Duration::from_millis(150),
            Duration::from_millis(300),
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert!(shell.next_frame_due().is_some(), "the rest is queued");
        while let Some(due) = shell.next_frame_due() {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            let errs = shell.send_due_frames(Instant::now());
            assert!(errs.is_empty(), "{errs:?}");
        }
    });
    let st = cap.wait().expect("tshark wait");
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&err);
    assert!(st.success(), "tshark: {st:?}");
    let times = |col: usize| -> Vec<f64> {
        text.lines()
            .map(|l| l.split('|').collect::<Vec<_>>())
            .filter(|f| f.get(col).is_some_and(|c| !c.is_empty()))
            .filter_map(|f| f[0].parse().ok())
            .collect()
    };
    let (garp, na) = (times(1), times(2));
    assert_eq!((garp.len(), na.len()), (3, 3), "{text}");
    // Spaced, not a burst (a burst is microseconds apart); the bounds
    // allow for capture timestamps and sleeps on a loaded machine.
    for (w, interval) in [(&garp, 0.15), (&na, 0.3)] {
        for pair in w.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(
                gap >= interval - 0.05 && gap < interval + 1.0,
                "gap {gap} s: {text}"
            );
        }
    }
    let gaps = |w: &[f64]| -> Vec<u64> {
        w.windows(2)
            .map(|p| ((p[1] - p[0]) * 1000.0).round() as u64)
            .collect()
    };
    eprintln!(
        "paced: GARP gaps {:?} ms, NA gaps {:?} ms",
        gaps(&garp),
        gaps(&na)
    );
}

#[test]
fn virtual_routes_and_rules_are_installed_and_removed() {
    if !root() {
        return;
    }
    let p = Pair::new();
    let n = p.n;
    let text = format!(
        "vrrp_instance V {{\n interface eth0\n virtual_router_id 1\n priority 100\n \
         virtual_ipaddress {{\n 10.77.{n}.100/24\n }}\n virtual_routes {{\n \
         10.88.0.0/24 via 10.77.{n}.254 dev eth0 table 100 metric 5 src 10.77.{n}.1 mtu lock 1400\n \
         blackhole 10.89.0.0/24\n \
         fd00:88::/64 via fd00:77::254 dev eth0\n }}\n virtual_rules {{\n \
         from 10.77.{n}.1 table 100 priority 100\n \
         to 10.90.0.0/16 fwmark 5 lookup main priority 101 ipproto tcp dport 80-90\n }}\n}}\n"
    );
    let loaded = config::load_str(
        std::path::Path::new("t.conf"),
        &text,
        &config::LoadOptions::default(),
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let inst = loaded.config.vrrp.instances[0].clone();
    ip(&[
        "-n",
        &p.a,
        "addr",
        "add",
        "fd00:77::1/64",
        "dev",
        "eth0",
        "nodad",
    ]);
    let results = in_ns(&p.a, move || {
        let mut shell = vrrp_worker::io::shell::Shell::open().expect("shell");
        let mut out = Vec::new();
        for pass in 0..2 {
            for r in &inst.virtual_routes {
                out.push((pass, "route add", shell.route(r, true)));
            }
            for r in &inst.virtual_rules {
                out.push((pass, "rule add", shell.rule(r, true)));
            }
        }
        let shown = (
            ip(&["route", "show", "table", "all"]),
            ip(&["rule", "show"]),
        );
        for pass in 0..2 {
            for r in &inst.virtual_rules {
                out.push((pass, "rule del", shell.rule(r, false)));
            }
            for r in &inst.virtual_routes {
                out.push((pass, "route del", shell.route(r, false)));
            }
        }
        (out, shown)
    });
    let (out, (routes, rules)) = results;
    for (pass, what, r) in &out {
        let want = if *pass == 0 {
            Applied::Done
        } else {
            Applied::AlreadySo
        };
        assert_eq!(r, &Ok(want), "{what} (pass {pass}): {out:?}");
    }
    assert!(
        routes.contains(&format!(
            "10.88.0.0/24 via 10.77.{n}.254 dev eth0 table 100 proto keepalived src 10.77.{n}.1 metric 5 mtu lock 1400"
        )),
        "{routes}"
    );
    assert!(
        routes.contains("blackhole 10.89.0.0/24 proto keepalived"),
        "{routes}"
    );
    assert!(
        routes.contains("fd00:88::/64 via fd00:77::254 dev eth0 proto keepalived metric 1024"),
        "{routes}"
    );
    assert!(
        rules.contains(&format!(
            "100:\tfrom 10.77.{n}.1 lookup 100 proto keepalived"
        )),
        "{rules}"
    );
    assert!(
        rules.contains("101:\tfrom all to 10.90.0.0/16 fwmark 0x5 ipproto tcp dport 80-90 lookup main proto keepalived"),
        "{rules}"
    );
    let after = ip(&["-n", &p.a, "route", "show", "table", "all"]);
    assert!(
        !after.contains("10.88.0.0") && !after.contains("10.89.0.0") && !after.contains("fd00:88"),
        "{after}"
    );
    assert!(!ip(&["-n", &p.a, "rule", "show"]).contains("proto keepalived"));
}

/// Wait until tshark, whose stderr goes to `err`, says it is capturing;
/// panic with what it printed after `limit`.
fn wait_capturing(err: &std::path::Path, limit: Duration) {
    let t0 = Instant::now();
    while !std::fs::read_to_string(err)
        .unwrap_or_default()
        .contains("Capturing on")
    {
        assert!(
            t0.elapsed() < limit,
            "tshark did not start: {}",
            std::fs::read_to_string(err).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
