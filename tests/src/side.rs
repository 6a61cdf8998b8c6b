//! Side-by-side runs: keepalived-rs and Debian's keepalived 2.2.7 on one
//! LAN of network namespaces (keepalived-rs on node 1, keepalived with
//! `-P` on node 2), each with VRIDs of its own so that they never elect
//! against each other, optionally with tshark capturing on the bridge, so
//! that a test says only what it configures and what it compares.
//!
//! ```ignore
//! if !side::ready("the X test", &["tshark"]) {
//!     return;
//! }
//! let mut s = Side::on("vrx").capture("arp").start(&conf(61), &conf(71));
//! s.wait("both MASTER", Duration::from_secs(10), |lan| ...);
//! s.stop();
//! let ann = s.announcements();
//! ```

use crate::daemon::{Daemon, logs, wait_until};
use crate::lan::{
    Advert, Announcement, BridgeCapture, Lan, decode, decode_announcements, epoch_now,
};
use crate::privilege::{Requirement, in_ci, require};
use std::fmt::Debug;
use std::time::{Duration, Instant};

/// What every side-by-side test needs (root, iproute2, Debian's
/// keepalived) and the commands `tools` (`CMD --version` runs); under CI a
/// missing one fails the test, elsewhere it is skipped with a notice.
pub fn ready(what: &str, tools: &[&str]) -> bool {
    require(
        what,
        &[
            Requirement::Root,
            Requirement::NetTools,
            Requirement::Keepalived,
        ],
    ) && tools.iter().all(|t| tool_present(t))
}

/// A command the test needs (`CMD --version` runs); under CI a missing
/// one fails the test.
pub fn tool_present(cmd: &str) -> bool {
    let ok = std::process::Command::new(cmd)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !in_ci(),
            "{cmd} is missing (scripts/deps.sh installs it); CI=true: failing"
        );
        eprintln!("!!! SKIPPED: this test needs {cmd}");
    }
    ok
}

/// Stop a daemon with SIGTERM and wait for it to exit cleanly (6 s at
/// most).
pub fn stop(d: &mut Daemon) {
    stop_within(d, Duration::from_secs(6));
}

/// [`stop`] with another time limit.
pub fn stop_within(d: &mut Daemon, limit: Duration) {
    d.signal("TERM");
    let t0 = Instant::now();
    loop {
        if let Some(st) = d.child.try_wait().expect("wait") {
            assert!(st.success(), "exit: {st:?}\n{}", d.log());
            return;
        }
        assert!(t0.elapsed() < limit, "no clean stop\n{}", d.log());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How a side-by-side run is set up (see [`Side::on`]).
pub struct SideSetup {
    prefix: String,
    nodes: usize,
    ports: Vec<String>,
    capture: Option<String>,
    args: Vec<String>,
}

impl SideSetup {
    /// The LAN's size (2 by default; nodes past the second are the
    /// test's own).
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = n;
        self
    }

    /// More interfaces on the bridge for nodes 1 and 2
    /// ([`Lan::add_port`]).
    pub fn ports(mut self, names: &[&str]) -> Self {
        self.ports = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Capture on the bridge what the capture filter `filter` lets
    /// through, from before the daemons start.
    pub fn capture(mut self, filter: &str) -> Self {
        self.capture = Some(filter.to_string());
        self
    }

    /// Options for both daemons (keepalived's come after its `-P`).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The LAN alone, for a test that prepares its nodes before
    /// [`SideSetup::start_on`].
    pub fn lan(&self) -> Lan {
        let lan = Lan::new(&self.prefix, self.nodes);
        for n in 0..2 {
            for p in &self.ports {
                lan.add_port(n, p);
            }
        }
        lan
    }

    /// Make the LAN and start both daemons: `rs_conf` for keepalived-rs,
    /// `ka_conf` for keepalived.
    pub fn start(self, rs_conf: &str, ka_conf: &str) -> Side {
        let lan = self.lan();
        self.start_on(lan, rs_conf, ka_conf)
    }

    /// [`SideSetup::start`] on a LAN made by [`SideSetup::lan`].
    pub fn start_on(self, lan: Lan, rs_conf: &str, ka_conf: &str) -> Side {
        let tag = self.tag();
        let cap = self
            .capture
            .as_deref()
            .map(|f| BridgeCapture::start_filtered(&lan, &tag, f));
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let rs_started = epoch_now();
        let rs = Daemon::start(&lan.nodes[0], &format!("{tag}-rs"), rs_conf, &args);
        let mut ka_args = vec!["-P"];
        ka_args.extend(&args);
        let ka_started = epoch_now();
        let ka = Daemon::start_keepalived(&lan.nodes[1], &format!("{tag}-ka"), ka_conf, &ka_args);
        Side {
            lan,
            cap,
            rs,
            ka,
            rs_started,
            ka_started,
        }
    }

    /// The daemons' folders and the capture are named after the prefix
    /// (without its `vr`).
    fn tag(&self) -> String {
        self.prefix
            .strip_prefix("vr")
            .unwrap_or(&self.prefix)
            .to_string()
    }
}

/// keepalived-rs (`rs`, node 1) and keepalived (`ka`, node 2) running on
/// `lan`, and the bridge capture if one was asked for.
pub struct Side {
    pub lan: Lan,
    pub cap: Option<BridgeCapture>,
    pub rs: Daemon,
    pub ka: Daemon,
    /// When each was started (seconds since the epoch, just before).
    pub rs_started: f64,
    pub ka_started: f64,
}

impl Side {
    /// A run on a LAN of namespaces named after `prefix` (a few letters).
    pub fn on(prefix: &str) -> SideSetup {
        SideSetup {
            prefix: prefix.to_string(),
            nodes: 2,
            ports: Vec::new(),
            capture: None,
            args: Vec::new(),
        }
    }

    /// The LAN, for another run on it ([`SideSetup::start_on`]); the
    /// daemons are killed if still running.
    pub fn into_lan(self) -> Lan {
        self.lan
    }

    pub fn daemons(&self) -> [&Daemon; 2] {
        [&self.rs, &self.ka]
    }

    /// Both daemons' logs, for failure messages.
    pub fn logs(&self) -> String {
        logs(&self.daemons())
    }

    /// Poll `pred` until it holds (see [`wait_until`]); returns how long
    /// it took.
    pub fn wait(&self, what: &str, limit: Duration, pred: impl Fn(&Lan) -> bool) -> Duration {
        wait_until(what, limit, &self.daemons(), || pred(&self.lan))
    }

    /// What `f` reads of node 1 (keepalived-rs), which must be what it
    /// reads of node 2 (keepalived) now.
    pub fn same<T: PartialEq + Debug>(&self, what: &str, f: impl Fn(&Lan, usize) -> T) -> T {
        let ours = f(&self.lan, 0);
        assert_eq!(
            ours,
            f(&self.lan, 1),
            "{what}: keepalived-rs (left) and keepalived (right) differ\n{}",
            self.logs()
        );
        ours
    }

    /// [`Side::same`] once the two agree, waiting 3 s at most for it.
    pub fn agree<T: PartialEq + Debug>(&self, what: &str, f: impl Fn(&Lan, usize) -> T) -> T {
        let t0 = Instant::now();
        while f(&self.lan, 0) != f(&self.lan, 1) && t0.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.same(what, f)
    }

    /// Stop both daemons cleanly (keepalived-rs first), then the capture.
    pub fn stop(&mut self) {
        stop(&mut self.rs);
        stop(&mut self.ka);
        self.stop_capture();
    }

    /// Stop the capture (what it caught stays readable).
    pub fn stop_capture(&mut self) {
        if let Some(c) = self.cap.as_mut() {
            c.stop();
        }
    }

    fn pcap(&self) -> &std::path::Path {
        self.cap.as_ref().expect("a capture was asked for").pcap()
    }

    /// The gratuitous ARPs and NAs captured (after [`Side::stop`]).
    pub fn announcements(&self) -> Vec<Announcement> {
        decode_announcements(self.pcap())
    }

    /// The adverts captured (after [`Side::stop`], or stopping the
    /// capture).
    pub fn adverts(&mut self) -> Vec<Advert> {
        self.stop_capture();
        decode(self.pcap())
    }
}

/// Two pairs on a LAN of four nodes: keepalived-rs on nodes 1 and 2,
/// keepalived on nodes 3 and 4, `conf(vrid, priority)` at 200 on the
/// first of each pair and at 100 on the second, which hears no VRRP
/// (`Lan::deafen`) and so stays MASTER, advertising its lower priority to
/// the first. Returns once every node holds its pair's VIP
/// (`10.201.0.VRID/24`) and 4.5 s more have passed, with the capture
/// still running.
pub fn lower_priority_pairs(
    prefix: &str,
    filter: &str,
    conf: impl Fn(u8, u8) -> String,
    (v_rs, v_ka): (u8, u8),
) -> (Lan, BridgeCapture, [Daemon; 4]) {
    let lan = Lan::new(prefix, 4);
    for n in [1, 3] {
        lan.deafen(n);
    }
    let tag = prefix.strip_prefix("vr").unwrap_or(prefix);
    let cap = BridgeCapture::start_filtered(&lan, tag, filter);
    let ds = [
        Daemon::start(&lan.nodes[0], &format!("{tag}-a-rs"), &conf(v_rs, 200), &[]),
        Daemon::start(&lan.nodes[1], &format!("{tag}-b-rs"), &conf(v_rs, 100), &[]),
        Daemon::start_keepalived(
            &lan.nodes[2],
            &format!("{tag}-a-ka"),
            &conf(v_ka, 200),
            &["-P"],
        ),
        Daemon::start_keepalived(
            &lan.nodes[3],
            &format!("{tag}-b-ka"),
            &conf(v_ka, 100),
            &["-P"],
        ),
    ];
    let refs: Vec<&Daemon> = ds.iter().collect();
    wait_until("all MASTER", Duration::from_secs(10), &refs, || {
        [(0, v_rs), (1, v_rs), (2, v_ka), (3, v_ka)]
            .iter()
            .all(|(n, v)| lan.has_addr(*n, &format!("inet 10.201.0.{v}/24")))
    });
    std::thread::sleep(Duration::from_millis(4500));
    (lan, cap, ds)
}
