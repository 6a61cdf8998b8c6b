//! SMTP alerts end to end, against a real SMTP server (Debian's
//! python3-aiosmtpd) on the loopback of network namespaces the test
//! creates.
//!
//! - keepalived-rs: a VRRP instance with no peer (it enters BACKUP, then
//!   MASTER) and a TCP_CHECK real server that goes DOWN when its listener
//!   stops and UP when it is back. Every mail is checked: envelope (HELO
//!   name, MAIL FROM, one RCPT TO per `notification_email`), headers,
//!   subject and body; the mails come from the sandboxed check worker.
//! - Side by side, Debian's keepalived runs the same VRRP configuration in
//!   a second namespace with its own server: its VRRP mails and
//!   keepalived-rs's must be the same, byte for byte but the `Date` header.
//!   A second pair does the same with keepalived's defaults (router_id,
//!   sender and HELO name from the host name) and a sync group of two
//!   instances (group and member mails).
//!   (keepalived's checker alerts need IPVS, which test kernels usually
//!   lack, so its checker mails are not compared; their texts are checked
//!   against keepalived's source strings instead.)
//!
//! Root is required; under CI (CI=true) a test that cannot run fails.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tests::daemon::{Daemon, logs, wait_until};
use tests::servers::{PYTHON, Proc, listener, wait_tcp};
use tests::{NetNs, Requirement, require};

const SMTP_PORT: u16 = 2525;
const RS_PORT: u16 = 7101;

const GLOBAL: &str = r#"
global_defs {
    router_id smtp_e2e
    notification_email {
        ops@example.com
        admin@example.com
    }
    notification_email_from keepalived@lb1.example.com
    smtp_server 127.0.0.1 2525
    smtp_helo_name lb1.example.com
    smtp_connect_timeout 5
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 1
    smtp_alert
    virtual_ipaddress {
        10.203.0.100/24
    }
}
"#;

/// keepalived's defaults (router_id, the sender and the HELO name all
/// come from the host name) and a sync group of two instances, which
/// mails as a group besides its members.
const DEFAULTS: &str = r#"
global_defs {
    notification_email {
        ops@example.com
    }
    smtp_server 127.0.0.1 2525
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    smtp_alert
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 52
    priority 100
    advert_int 1
    smtp_alert
    virtual_ipaddress {
        10.203.0.100/24
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    virtual_router_id 53
    priority 100
    advert_int 1
    smtp_alert
    virtual_ipaddress {
        10.203.0.101/24
    }
}
"#;

fn lvs() -> String {
    format!(
        r#"
virtual_server 10.203.0.10 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 {RS_PORT} {{
        TCP_CHECK {{
            connect_timeout 1
            retry 0
            warmup 0
        }}
    }}
}}
"#
    )
}

/// A namespace with `eth0` up and addressed (keepalived puts an instance
/// whose interface has no IPv4 address in FAULT).
fn netns(prefix: &str) -> NetNs {
    let ns = NetNs::new(prefix, &["eth0"]).expect("netns");
    ns.add_address("eth0", "10.203.0.1/24");
    ns
}

/// A mail as the server received it.
#[derive(Debug, Clone)]
struct Mail {
    helo: String,
    mail_from: String,
    rcpt: Vec<String>,
    /// What followed DATA, as sent (CRLF line ends, no final dot).
    data: String,
}

impl Mail {
    fn lines(&self) -> Vec<&str> {
        self.data.split("\r\n").collect()
    }

    fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}: ");
        self.lines()
            .into_iter()
            .take_while(|l| !l.is_empty())
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    }

    fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    /// The header names in order.
    fn header_names(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .take_while(|l| !l.is_empty())
            .map(|l| l.split(':').next().unwrap_or("").to_string())
            .collect()
    }

    /// The body's non-empty lines.
    fn body(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .skip_while(|l| !l.is_empty())
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The message without its Date header's value (which differs).
    fn without_date(&self) -> String {
        self.lines()
            .into_iter()
            .map(|l| {
                if l.starts_with("Date: ") {
                    "Date: *"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\r\n")
    }
}

/// An SMTP server on 127.0.0.1:SMTP_PORT of a namespace, writing each mail
/// it accepts as a JSON line.
struct Smtp {
    _proc: Proc,
    out: PathBuf,
}

const SERVER: &str = r#"
import json, sys
from aiosmtpd.controller import Controller
out, port = sys.argv[1], int(sys.argv[2])
class Handler:
    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        rec = {"helo": session.host_name, "from": envelope.mail_from,
               "to": envelope.rcpt_tos, "data": data.decode("utf-8", "replace")}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        return "250 OK"
c = Controller(Handler(), hostname="127.0.0.1", port=port)
c.start()
sys.stdin.read()
"#;

impl Smtp {
    fn start(ns: &NetNs, dir: &Path) -> Smtp {
        let out = dir.join("mails.jsonl");
        let _ = std::fs::remove_file(&out);
        let proc = Proc(
            ns.command(PYTHON)
                .args(["-c", SERVER])
                .arg(&out)
                .arg(SMTP_PORT.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("smtpd.err")).expect("smtpd.err"))
                .spawn()
                .expect("start the SMTP server"),
        );
        wait_tcp(ns, SMTP_PORT);
        Smtp { _proc: proc, out }
    }

    fn mails(&self) -> Vec<Mail> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| Mail {
                helo: v["helo"].as_str().unwrap_or("").to_string(),
                mail_from: v["from"].as_str().unwrap_or("").to_string(),
                rcpt: v["to"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                data: v["data"].as_str().unwrap_or("").to_string(),
            })
            .collect()
    }

    fn wait_subject(&self, subject: &str, ds: &[&Daemon], limit: Duration) -> Mail {
        wait_until(&format!("a mail '{subject}'"), limit, ds, || {
            self.mails().iter().any(|m| m.subject() == subject)
        });
        self.mails()
            .into_iter()
            .find(|m| m.subject() == subject)
            .expect("mail")
    }
}

/// The test's own folder, removed at the end.
fn test_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("krs-smtp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// `Sun, 22 Nov 2026 07:17:58 +0000`-like (keepalived's strftime format).
fn is_rfc822_date(d: &str) -> bool {
    let parts: Vec<&str> = d.split(' ').collect();
    parts.len() == 6
        && parts[0].len() == 4
        && parts[0].ends_with(',')
        && parts[1].len() == 2
        && parts[2].len() == 3
        && parts[3].len() == 4
        && parts[4].len() == 8
        && (parts[5].starts_with('+') || parts[5].starts_with('-'))
        && parts[5].len() == 5
}

fn check_envelope(m: &Mail) {
    assert_eq!(m.helo, "lb1.example.com", "{m:?}");
    assert_eq!(m.mail_from, "keepalived@lb1.example.com", "{m:?}");
    assert_eq!(
        m.rcpt,
        vec!["ops@example.com", "admin@example.com"],
        "{m:?}"
    );
    assert_eq!(
        m.header_names(),
        vec!["Date", "From", "Subject", "X-Mailer", "To"],
        "{m:?}"
    );
    assert_eq!(
        m.header("From").as_deref(),
        Some("keepalived@lb1.example.com")
    );
    assert_eq!(m.header("X-Mailer").as_deref(), Some("Keepalived"));
    assert_eq!(
        m.header("To").as_deref(),
        Some("ops@example.com, admin@example.com")
    );
    let date = m.header("Date").unwrap_or_default();
    assert!(is_rfc822_date(&date), "Date: {date}");
}

#[test]
fn alerts_reach_a_real_smtp_server_as_keepalived_sends_them() {
    if !require(
        "smtp_alert e2e",
        &[
            Requirement::Root,
            Requirement::NetTools,
            Requirement::Keepalived,
        ],
    ) {
        return;
    }
    let dir = test_dir("e2e");
    let ns_rs = netns("smtp-rs");
    let ns_ka = netns("smtp-ka");
    let smtp_rs = Smtp::start(&ns_rs, &dir.join("rs").tap_mkdir());
    let smtp_ka = Smtp::start(&ns_ka, &dir.join("ka").tap_mkdir());
    let server = listener(&ns_rs, RS_PORT);

    let rs = Daemon::start(&ns_rs, "smtp-rs", &format!("{GLOBAL}{}", lvs()), &[]);
    let ka = Daemon::start_keepalived(&ns_ka, "smtp-ka", GLOBAL, &[]);
    // The defaults' pair runs at the same time, under -P (VRRP only): the
    // virtual server in its configuration is not checked (its real server
    // does not listen: a check would mail DOWN).
    let conf_d = format!("{DEFAULTS}{}", lvs());
    let ns_rs_d = netns("smtp-rsd");
    let ns_ka_d = netns("smtp-kad");
    let smtp_rs_d = Smtp::start(&ns_rs_d, &dir.join("rsd").tap_mkdir());
    let smtp_ka_d = Smtp::start(&ns_ka_d, &dir.join("kad").tap_mkdir());
    let rs_d = Daemon::start(&ns_rs_d, "smtp-rsd", &conf_d, &["-P"]);
    let ka_d = Daemon::start_keepalived(&ns_ka_d, "smtp-kad", &conf_d, &["-P"]);
    let both = [&rs, &ka, &rs_d, &ka_d];

    // The VRRP instance with no peer: BACKUP, then MASTER after the
    // master-down timer (3 adverts and the skew).
    let limit = Duration::from_secs(20);
    let master = "[smtp_e2e] VRRP Instance VI_1 - Entering MASTER state";
    let m_rs = smtp_rs.wait_subject(master, &both, limit);
    let m_ka = smtp_ka.wait_subject(master, &both, limit);
    assert_eq!(
        m_rs.body(),
        vec!["=> VRRP Instance is now owning VRRP VIPs <="]
    );

    // Side by side: the same VRRP mails, in the same order, the same bytes
    // but the Date.
    let vrrp = |ms: Vec<Mail>| -> Vec<Mail> {
        ms.into_iter()
            .filter(|m| m.subject().contains("VRRP Instance"))
            .collect()
    };
    let (v_rs, v_ka) = (vrrp(smtp_rs.mails()), vrrp(smtp_ka.mails()));
    let subjects = |v: &[Mail]| v.iter().map(Mail::subject).collect::<Vec<_>>();
    eprintln!("keepalived-rs VRRP mails: {:?}", subjects(&v_rs));
    eprintln!("keepalived    VRRP mails: {:?}", subjects(&v_ka));
    assert_eq!(subjects(&v_rs), subjects(&v_ka), "{}", logs(&both));
    for (a, b) in v_rs.iter().zip(&v_ka) {
        assert_eq!(a.without_date(), b.without_date());
        assert_eq!(a.helo, b.helo);
        assert_eq!(a.mail_from, b.mail_from);
        assert_eq!(a.rcpt, b.rcpt);
        check_envelope(a);
        check_envelope(b);
    }
    assert_eq!(m_rs.without_date(), m_ka.without_date());

    // With keepalived's defaults and a sync group: the same mails (the
    // group's and its members', sent concurrently by both, so in any
    // order).
    let group_master = "VRRP Group G - Entering MASTER state";
    for s in [&smtp_rs_d, &smtp_ka_d] {
        wait_until("the sync group's mails", limit, &both, || {
            let ms = s.mails();
            ms.len() >= 6 && ms.iter().any(|m| m.subject().ends_with(group_master))
        });
    }
    std::thread::sleep(Duration::from_millis(500));
    let (d_rs, d_ka) = (smtp_rs_d.mails(), smtp_ka_d.mails());
    let sorted = |v: &[Mail]| {
        let mut x: Vec<(String, String, String, Vec<String>)> = v
            .iter()
            .map(|m| {
                (
                    m.without_date(),
                    m.helo.clone(),
                    m.mail_from.clone(),
                    m.rcpt.clone(),
                )
            })
            .collect();
        x.sort();
        x
    };
    let mut s_rs = subjects(&d_rs);
    let mut s_ka = subjects(&d_ka);
    s_rs.sort();
    s_ka.sort();
    eprintln!("defaults: keepalived-rs {s_rs:?}");
    eprintln!("defaults: keepalived    {s_ka:?}");
    assert_eq!(s_rs.len(), 6, "{s_rs:?}");
    assert_eq!(sorted(&d_rs), sorted(&d_ka), "{}", logs(&both));
    assert!(d_rs[0].mail_from.starts_with("root@"), "{:?}", d_rs[0]);
    // Under -P: a VRRP worker and the check worker that mails, no IPVS
    // worker, no check.
    let roles: Vec<String> = rs_d.status().expect("status")["workers"]
        .as_array()
        .map(|ws| {
            ws.iter()
                .filter_map(|w| w["role"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(roles, vec!["vrrp", "check"], "{}", rs_d.log());

    // The real server goes down, then up: one mail each, from the check
    // worker.
    let t0 = Instant::now();
    drop(server);
    let down = smtp_rs.wait_subject(
        &format!(
            "[smtp_e2e] Realserver [127.0.0.1]:tcp:{RS_PORT} of virtual server [10.203.0.10]:tcp:80 - DOWN"
        ),
        &both,
        Duration::from_secs(10),
    );
    eprintln!("DOWN mail after {:?}", t0.elapsed());
    assert_eq!(down.body(), vec!["=> TCP CHECK failed on service <="]);
    check_envelope(&down);
    let t0 = Instant::now();
    let _server = listener(&ns_rs, RS_PORT);
    let up = smtp_rs.wait_subject(
        &format!(
            "[smtp_e2e] Realserver [127.0.0.1]:tcp:{RS_PORT} of virtual server [10.203.0.10]:tcp:80 - UP"
        ),
        &both,
        Duration::from_secs(10),
    );
    eprintln!("UP mail after {:?}", t0.elapsed());
    assert_eq!(up.body(), vec!["=> TCP CHECK succeed on service <="]);
    check_envelope(&up);
    // Exactly those checker mails (the real server started up: no mail).
    let checker: Vec<String> = smtp_rs
        .mails()
        .iter()
        .map(Mail::subject)
        .filter(|s| s.contains("Realserver"))
        .collect();
    assert_eq!(checker.len(), 2, "{checker:?}");
    assert!(
        !smtp_rs_d
            .mails()
            .iter()
            .any(|m| m.subject().contains("Realserver")),
        "-P checked a real server: {:?}",
        subjects(&smtp_rs_d.mails())
    );

    // A reload that removes the virtual server while its real server is
    // up: keepalived's "Removing" mail; the VRRP instance, still MASTER,
    // mails nothing more.
    rs.rewrite(GLOBAL);
    rs.signal("HUP");
    let is_removing = |m: &Mail| m.body() == vec!["=> Removing <=".to_string()];
    wait_until("the Removing mail", Duration::from_secs(10), &both, || {
        smtp_rs.mails().iter().any(is_removing)
    });
    let removing = smtp_rs.mails().into_iter().find(is_removing).expect("mail");
    assert_eq!(
        removing.subject(),
        format!(
            "[smtp_e2e] Realserver [127.0.0.1]:tcp:{RS_PORT} of virtual server [10.203.0.10]:tcp:80 - DOWN"
        )
    );
    check_envelope(&removing);
    wait_until("the reload", Duration::from_secs(10), &both, || {
        rs.log().contains("Reload done")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        vrrp(smtp_rs.mails()).len(),
        2,
        "{:?}",
        subjects(&smtp_rs.mails())
    );

    let log = rs.log();
    assert!(log.contains("SMTP alert successfully sent."), "{log}");
    assert!(
        !log.contains("SIGSYS"),
        "a worker broke its sandbox:\n{log}"
    );
    assert!(
        !log.contains("restarting it"),
        "a worker was restarted:\n{log}"
    );
    drop(rs);
    drop(ka);
    let _ = std::fs::remove_dir_all(&dir);
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).expect("mkdir");
        self
    }
}

/// Nothing listens on the SMTP port: keepalived's log line, and the checks
/// go on.
#[test]
fn an_unreachable_server_is_logged_and_checks_go_on() {
    if !require(
        "smtp_alert unreachable",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let ns = netns("smtp-no");
    let server = listener(&ns, RS_PORT);
    let d = Daemon::start(&ns, "smtp-no", &format!("{GLOBAL}{}", lvs()), &[]);
    let took = wait_until(
        "the connection error",
        Duration::from_secs(20),
        &[&d],
        || {
            d.log()
                .contains("SMTP connection ERROR to [127.0.0.1]:2525.")
        },
    );
    eprintln!("connection error logged after {took:?}");
    // The real server still goes down on time.
    drop(server);
    d.wait_for("the real server down", Duration::from_secs(10), |s| {
        s["virtual_servers"][0]["real_servers"][0]["up"] == false
    });
    let log = d.log();
    assert!(!log.contains("SIGSYS"), "{log}");
}

const QUORUM_PORTS: [u16; 2] = [7102, 7103];

/// Two virtual servers with `smtp_alert`: one with quorum 2, hysteresis 1
/// and `omega` over real servers of weight 1 and 2; one with `alpha` and a
/// sorry server.
fn quorum_conf() -> String {
    let [a, b] = QUORUM_PORTS;
    let check = "TCP_CHECK {\n            connect_timeout 1\n            retry 0\n            warmup 0\n        }";
    format!(
        r#"
global_defs {{
    router_id smtp_q
    notification_email {{
        ops@example.com
        admin@example.com
    }}
    notification_email_from keepalived@lb1.example.com
    smtp_server 127.0.0.1 2525
    smtp_helo_name lb1.example.com
    smtp_connect_timeout 5
}}
virtual_server 10.203.0.20 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    hysteresis 1
    omega
    smtp_alert
    real_server 127.0.0.1 {a} {{
        weight 1
        {check}
    }}
    real_server 127.0.0.1 {b} {{
        weight 2
        {check}
    }}
}}
virtual_server 10.203.0.21 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    alpha
    smtp_alert
    sorry_server 127.0.0.1 7104
    real_server 127.0.0.1 {a} {{
        {check}
    }}
}}
"#
    )
}

/// keepalived 2.2.7's LVS mails (check/ipwrapper.c, core/smtp.c; its
/// checker needs IPVS, which this kernel lacks, so they are compared with
/// the source's texts, not a live keepalived): a virtual server's
/// "Virtualserver ... - UP|DOWN" with "=> Starting with quorum up|down",
/// "=> Gained|Lost quorum Q+H=THRESHOLD <= SUM <=" at start and on each
/// quorum change, and at stop, with `omega` only, "=> Shutting down <="
/// for its up real servers and itself.
#[test]
fn quorum_changes_and_omega_stop_mail_as_keepalived() {
    if !require(
        "smtp_alert quorum",
        &[Requirement::Root, Requirement::NetTools],
    ) {
        return;
    }
    let dir = test_dir("quorum");
    let ns = netns("smtp-q");
    let smtp = Smtp::start(&ns, &dir);
    let [pa, pb] = QUORUM_PORTS;
    let la = listener(&ns, pa);
    let lb = listener(&ns, pb);
    let d = Daemon::start(&ns, "smtp-q", &quorum_conf(), &[]);
    let ds = [&d];
    let limit = Duration::from_secs(10);
    let vs20 = "[smtp_q] Virtualserver [10.203.0.20]:tcp:80";
    let vs21 = "[smtp_q] Virtualserver [10.203.0.21]:tcp:80";
    let bodies = |subject: &str| -> Vec<String> {
        smtp.mails()
            .iter()
            .filter(|m| m.subject() == subject)
            .map(|m| m.body().join("\n"))
            .collect()
    };
    // Start: both real servers up (3 >= 2 + 1); the alpha one down with a
    // sorry server to add.
    smtp.wait_subject(&format!("{vs20} - UP"), &ds, limit);
    let m21 = smtp.wait_subject(&format!("{vs21} - DOWN"), &ds, limit);
    check_envelope(&m21);
    assert_eq!(
        bodies(&format!("{vs20} - UP")),
        vec!["=> Starting with quorum up 2+1=3 <= 3 <="]
    );
    assert_eq!(
        m21.body(),
        vec!["=> Starting with quorum down 1+0=1 <= 0 <="]
    );
    // The alpha one's real server passes its check: gained.
    let up21 = smtp.wait_subject(&format!("{vs21} - UP"), &ds, limit);
    assert_eq!(up21.body(), vec!["=> Gained quorum 1+0=1 <= 1 <="]);

    // The weight-2 server down: 1 is not below 2 - 1, quorum kept; then
    // the other: 0, lost.
    let rs_subject = |port: u16, vs: &str, state: &str| {
        format!(
            "[smtp_q] Realserver [127.0.0.1]:tcp:{port} of virtual server [{vs}]:tcp:80 - {state}"
        )
    };
    drop(lb);
    smtp.wait_subject(&rs_subject(pb, "10.203.0.20", "DOWN"), &ds, limit);
    drop(la);
    smtp.wait_subject(&rs_subject(pa, "10.203.0.20", "DOWN"), &ds, limit);
    let lost = smtp.wait_subject(&format!("{vs20} - DOWN"), &ds, limit);
    assert_eq!(lost.body(), vec!["=> Lost quorum 2+1=1 <= 0 <="]);
    check_envelope(&lost);
    // Back one by one: 1 is short of 2 + 1; 3 gains it.
    let la = listener(&ns, pa);
    smtp.wait_subject(&rs_subject(pa, "10.203.0.20", "UP"), &ds, limit);
    let lb = listener(&ns, pb);
    smtp.wait_subject(&rs_subject(pb, "10.203.0.20", "UP"), &ds, limit);
    let ups = |s: &str| {
        smtp.mails()
            .iter()
            .filter(|m| m.subject() == format!("{s} - UP"))
            .count()
    };
    wait_until("the gained quorum mail", limit, &ds, || ups(vs20) == 2);
    assert_eq!(
        bodies(&format!("{vs20} - UP")),
        vec![
            "=> Starting with quorum up 2+1=3 <= 3 <=",
            "=> Gained quorum 2+1=3 <= 3 <="
        ]
    );
    // The other virtual server's real server (same port) went down and up
    // with it: lost and gained.
    wait_until("the second virtual server's mails", limit, &ds, || {
        ups(vs21) == 2
    });
    assert_eq!(
        bodies(&format!("{vs21} - DOWN")),
        vec![
            "=> Starting with quorum down 1+0=1 <= 0 <=",
            "=> Lost quorum 1+0=1 <= 0 <="
        ]
    );

    // Stop: the omega virtual server's up real servers, then itself,
    // "Shutting down"; nothing for the other one.
    let before = smtp.mails().len();
    let t0 = Instant::now();
    d.signal("TERM");
    wait_until("the daemon's exit", limit, &ds, || {
        !tests::daemon::alive(d.pid())
    });
    eprintln!("stopped in {:?}", t0.elapsed());
    let mails = smtp.mails();
    let mut stop: Vec<(String, String)> = mails[before..]
        .iter()
        .map(|m| (m.subject(), m.body().join("\n")))
        .collect();
    stop.sort();
    for m in &mails[before..] {
        check_envelope(m);
    }
    let shut = "=> Shutting down <=".to_string();
    assert_eq!(
        stop,
        vec![
            (rs_subject(pa, "10.203.0.20", "DOWN"), shut.clone()),
            (rs_subject(pb, "10.203.0.20", "DOWN"), shut.clone()),
            (format!("{vs20} - DOWN"), shut.clone()),
        ],
        "{}",
        d.log()
    );
    let log = d.log();
    assert!(!log.contains("SIGSYS"), "{log}");
    assert!(!log.contains("restarting it"), "{log}");
    drop((la, lb));
    let _ = std::fs::remove_dir_all(&dir);
}
