//! SMTP alerts (keepalived's `smtp_alert`): the mails keepalived 2.2.7
//! sends on VRRP transitions and on checker up/down transitions, sent from
//! this unprivileged worker on its own mio loop.
//!
//! - [`Settings`]: what `global_defs` says (the parent has filled in
//!   keepalived's defaults and resolved a host name given as
//!   `smtp_server`, as keepalived does when it reads the configuration).
//!   No mail without both a `notification_email` and an `smtp_server`.
//! - [`vrrp_mail`], [`checker_mail`], [`checker_body`]: keepalived's
//!   subjects and bodies (core/smtp.c, vrrp/vrrp_notify.c, check_*.c).
//! - [`Session`]: the SMTP dialogue without sockets (keepalived's
//!   smtp.c: banner 220, `HELO`, `MAIL FROM`, one `RCPT TO` per address,
//!   `DATA`, the headers and body, `QUIT`), with keepalived's log lines for
//!   each failure.
//! - [`Mailer`]: the sessions on non-blocking sockets with
//!   `smtp_connect_timeout` for the connection and for each reply, a
//!   bounded queue, never blocking the checks that share the loop.
//!
//! The message is keepalived's byte for byte (`X-Mailer: Keepalived`, so
//! mail filters written for keepalived keep working), except the `Date`
//! header, which is in UTC (`+0000`): the sandbox does not read the time
//! zone database.

use config::model::global::{GlobalDefs, SmtpHost};
use config::model::lvs::CheckerKind;
use ipc::{LogLevel, RealServerKey, VrrpState};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// keepalived's `SMTP_BUFFER_MAX`: a reply that does not fit is an error.
pub const REPLY_BUFFER_MAX: usize = 1024;
/// keepalived's `MAX_HEADERS_LENGTH` / `MAX_BODY_LENGTH` (with their NUL).
const MAX_SUBJECT: usize = 255;
const MAX_BODY: usize = 511;
/// Alerts waiting for a free session; more are dropped (and logged).
pub const QUEUE_MAX: usize = 64;
/// Sessions open at once.
pub const SESSIONS_MAX: usize = 4;
/// The mailer's tokens start here (the engine's count up from 1).
pub const FIRST_TOKEN: usize = 1 << 40;

/// What `global_defs` says about mail, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub server: SocketAddr,
    pub helo: String,
    pub from: String,
    pub to: Vec<String>,
    pub router_id: String,
    pub timeout: Duration,
    pub no_email_faults: bool,
    pub no_checker_emails: bool,
}

impl Settings {
    /// `None` when keepalived sends no mail: no `notification_email`, or no
    /// `smtp_server` (a name the parent could not resolve is none).
    pub fn from_global(g: &GlobalDefs) -> Option<Settings> {
        let server = g.smtp_server.as_ref()?;
        let SmtpHost::Ip(ip) = server.host else {
            return None;
        };
        if g.notification_email.is_empty() {
            return None;
        }
        // The parent fills these in as keepalived does (host name,
        // user@host); what is left unset here is keepalived's "[unknown]".
        let router_id = g.router_id.clone().unwrap_or_else(|| "[unknown]".into());
        Some(Settings {
            server: SocketAddr::new(ip, server.port),
            helo: g
                .smtp_helo_name
                .clone()
                .unwrap_or_else(|| "localhost".into()),
            from: g.notification_email_from.clone().unwrap_or_default(),
            to: g.notification_email.clone(),
            router_id,
            timeout: g.smtp_connect_timeout,
            no_email_faults: g.no_email_faults,
            no_checker_emails: g.no_checker_emails,
        })
    }

    /// keepalived's `FMT_SMTP_HOST()`: `[ADDR]:PORT`.
    pub fn server_name(&self) -> String {
        format!("[{}]:{}", self.server.ip(), self.server.port())
    }
}

/// A mail's subject and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub body: String,
}

fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut n = max;
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
    }
    s
}

/// A VRRP instance's (`group` false) or sync group's alert for entering
/// `state` (keepalived's `vrrp_smtp_notifier` / `vrrp_sync_smtp_notifier`);
/// `None` for a state keepalived sends nothing for.
pub fn vrrp_mail(router_id: &str, group: bool, name: &str, state: VrrpState) -> Option<Mail> {
    let (what, body) = match (group, state) {
        (false, VrrpState::Master) => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
        ),
        (false, VrrpState::Backup) => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        (false, VrrpState::Fault) => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
        ),
        (true, VrrpState::Master) => (
            "Entering MASTER state",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        (true, VrrpState::Backup) => (
            "Entering BACKUP state",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        (true, VrrpState::Fault) => (
            "Entering FAULT state",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
        (_, VrrpState::Init) => return None,
    };
    let kind = if group { "Group" } else { "Instance" };
    Some(Mail {
        subject: cut(
            format!("[{router_id}] VRRP {kind} {name} - {what}"),
            MAX_SUBJECT,
        ),
        body: body.to_string(),
    })
}

/// The body keepalived's checker `kind` sends when it goes up or down
/// (`reason`: SMTP_CHECK's failure); `None` for a kind that sends none.
pub fn checker_body(kind: &CheckerKind, up: bool, reason: Option<&str>) -> Option<String> {
    let s = match (kind, up) {
        (CheckerKind::Tcp, true) => "=> TCP CHECK succeed on service <=".to_string(),
        (CheckerKind::Tcp, false) => "=> TCP CHECK failed on service <=".to_string(),
        (CheckerKind::Http(_), true) | (CheckerKind::Smtp(_), true) => {
            "=> CHECK succeed on service <=".to_string()
        }
        (CheckerKind::Http(_), false) => {
            "=> CHECK failed on service : HTTP request failed <=".to_string()
        }
        (CheckerKind::Smtp(_), false) => match reason {
            Some(r) => format!("=> CHECK failed on service : {r} <="),
            None => "=> CHECK failed on service <=".to_string(),
        },
        (CheckerKind::Misc(_), true) => "=> MISC CHECK succeed on service <=".to_string(),
        (CheckerKind::Misc(_), false) => "=> MISC CHECK failed on service <=".to_string(),
        (CheckerKind::Dns(_), true) => "=> DNS_CHECK: succeed on service <=".to_string(),
        (CheckerKind::Dns(_), false) => "=> DNS_CHECK: failed on service <=".to_string(),
        (CheckerKind::Udp(_), true) => "=> UDP CHECK succeed on service <=".to_string(),
        (CheckerKind::Udp(_), false) => "=> UDP CHECK failed on service <=".to_string(),
        (CheckerKind::Ping, true) => "=> ICMP CHECK succeed on service <=".to_string(),
        (CheckerKind::Ping, false) => "=> ICMP CHECK failed on service <=".to_string(),
    };
    Some(s)
}

/// keepalived's `SMTP_MSG_RS` alert: `rs` and `vs` are `FMT_RS`/`FMT_VS`,
/// `rs_up` the real server's state after the change.
pub fn checker_mail(router_id: &str, rs: &str, vs: &str, rs_up: bool, body: String) -> Mail {
    Mail {
        subject: cut(
            format!(
                "[{router_id}] Realserver {rs} of virtual server {vs} - {}",
                if rs_up { "UP" } else { "DOWN" }
            ),
            MAX_SUBJECT,
        ),
        body: cut(body, MAX_BODY),
    }
}

/// keepalived's `SMTP_MSG_VS` alert for a quorum change
/// (`do_vs_notifies` from `update_quorum_state`). The body shows
/// `quorum+hysteresis=threshold <= weight sum` for a loss too, as
/// keepalived's does.
pub fn quorum_mail(router_id: &str, q: &ipc::QuorumChange) -> Mail {
    let what = match (q.up, q.starting) {
        (true, true) => "Starting with quorum up",
        (true, false) => "Gained quorum",
        (false, true) => "Starting with quorum down",
        (false, false) => "Lost quorum",
    };
    vs_mail(
        router_id,
        &q.virtual_server,
        q.up,
        format!(
            "=> {what} {}+{}={} <= {} <=",
            q.quorum, q.hysteresis, q.threshold, q.weight_sum
        ),
    )
}

/// keepalived's `SMTP_MSG_VS` alert: `[router_id] Virtualserver VS - UP|DOWN`.
fn vs_mail(router_id: &str, vs: &str, up: bool, body: String) -> Mail {
    Mail {
        subject: cut(
            format!(
                "[{router_id}] Virtualserver {vs} - {}",
                if up { "UP" } else { "DOWN" }
            ),
            MAX_SUBJECT,
        ),
        body: cut(body, MAX_BODY),
    }
}

/// The body of keepalived's shutdown alerts (with `omega`).
pub const SHUTTING_DOWN: &str = "=> Shutting down <=";

/// `secs` since the epoch as RFC 822 wants it, in UTC
/// (`Sun, 22 Nov 2026 07:17:58 +0000`, keepalived's strftime format).
pub fn rfc822_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// What follows `DATA`: keepalived's headers, the body and the final dot.
pub fn payload(s: &Settings, mail: &Mail, date: &str) -> String {
    format!(
        "Date: {date}\r\nFrom: {}\r\nSubject: {}\r\nX-Mailer: Keepalived\r\nTo: {}\r\n\r\n{}\r\n\r\n.\r\n",
        s.from,
        mail.subject,
        s.to.join(", "),
        mail.body
    )
}

// ---------------------------------------------------------------- the dialogue

/// Where a [`Session`] is: the reply it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The server's greeting (220).
    Banner,
    Helo,
    Mail,
    /// `RCPT TO` for recipient number n.
    Rcpt(usize),
    Data,
    Body,
    Quit,
    Done,
}

impl Stage {
    fn expected(self) -> u16 {
        match self {
            Stage::Banner => 220,
            Stage::Data => 354,
            Stage::Quit => 221,
            _ => 250,
        }
    }

    /// keepalived's `cmd_name`.
    fn name(self) -> &'static str {
        match self {
            Stage::Banner => "(E)SMTP",
            Stage::Helo => "HELO",
            Stage::Mail => "MAIL",
            Stage::Rcpt(_) => "RCPT",
            Stage::Data => "DATA",
            Stage::Body => "BODY",
            Stage::Quit | Stage::Done => "QUIT",
        }
    }
}

/// One mail's SMTP dialogue, without sockets: feed it what the server
/// sends, send what [`Session::output`] holds.
#[derive(Debug)]
pub struct Session {
    stage: Stage,
    helo: String,
    from: String,
    to: Vec<String>,
    payload: String,
    server: String,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    /// The server accepted the message.
    sent: bool,
}

impl Session {
    pub fn new(s: &Settings, mail: &Mail, date: &str) -> Session {
        Session {
            stage: Stage::Banner,
            helo: s.helo.clone(),
            from: s.from.clone(),
            to: s.to.clone(),
            payload: payload(s, mail, date),
            server: s.server_name(),
            inbuf: Vec::new(),
            out: Vec::new(),
            sent: false,
        }
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The server accepted the message (a 250 after the body).
    pub fn sent(&self) -> bool {
        self.sent
    }

    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Bytes to send.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of [`Session::output`] went out.
    pub fn consumed(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    fn command(&mut self) {
        let cmd = match self.stage {
            Stage::Banner | Stage::Done => return,
            Stage::Helo => format!("HELO {}\r\n", self.helo),
            Stage::Mail => format!("MAIL FROM:<{}>\r\n", self.from),
            Stage::Rcpt(i) => format!("RCPT TO:<{}>\r\n", self.to[i]),
            Stage::Data => "DATA\r\n".to_string(),
            Stage::Body => self.payload.clone(),
            Stage::Quit => "QUIT\r\n".to_string(),
        };
        self.out.extend_from_slice(cmd.as_bytes());
    }

    fn quit(&mut self) {
        self.stage = Stage::Quit;
        self.out.clear();
        self.command();
    }

    /// Data from the server; returns the lines to log.
    pub fn receive(&mut self, data: &[u8]) -> Vec<String> {
        let mut logs = Vec::new();
        if self.is_done() {
            return logs;
        }
        if self.inbuf.len() + data.len() >= REPLY_BUFFER_MAX {
            logs.push(format!(
                "Received buffer from remote SMTP server {} overflow our get read buffer length.",
                self.server
            ));
            self.inbuf.clear();
            self.quit();
            return logs;
        }
        self.inbuf.extend_from_slice(data);
        // Each complete reply: the code of its last line (a line with '-'
        // after the code continues the reply).
        loop {
            let mut code = None;
            let mut used = 0;
            while let Some(p) = find_crlf(&self.inbuf[used..]) {
                let line = &self.inbuf[used..used + p];
                used += p + 2;
                if line.get(3) == Some(&b'-') {
                    continue;
                }
                code = Some(reply_code(line));
                break;
            }
            let Some(code) = code else {
                return logs;
            };
            self.inbuf.drain(..used);
            self.on_reply(code, &mut logs);
            if self.is_done() {
                return logs;
            }
        }
    }

    fn on_reply(&mut self, code: i32, logs: &mut Vec<String>) {
        if self.stage == Stage::Quit {
            // The server's goodbye, whatever it says.
            self.stage = Stage::Done;
            return;
        }
        if code != i32::from(self.stage.expected()) {
            logs.push(format!(
                "Error processing {} cmd on SMTP server {}. SMTP status code = {code}",
                self.stage.name(),
                self.server
            ));
            self.quit();
            return;
        }
        self.stage = match self.stage {
            Stage::Banner => Stage::Helo,
            Stage::Helo => Stage::Mail,
            Stage::Mail => Stage::Rcpt(0),
            Stage::Rcpt(i) if i + 1 < self.to.len() => Stage::Rcpt(i + 1),
            Stage::Rcpt(_) => Stage::Data,
            Stage::Data => Stage::Body,
            Stage::Body => {
                self.sent = true;
                logs.push("SMTP alert successfully sent.".to_string());
                Stage::Quit
            }
            Stage::Quit | Stage::Done => Stage::Done,
        };
        self.command();
    }

    /// No reply within the timeout: keepalived says so and quits (or,
    /// already quitting, gives up).
    pub fn timeout(&mut self) -> Vec<String> {
        let mut logs = Vec::new();
        if self.is_done() {
            return logs;
        }
        if self.stage == Stage::Quit {
            self.stage = Stage::Done;
        } else {
            logs.push(format!(
                "Timeout reading data to remote SMTP server {}.",
                self.server
            ));
            self.quit();
        }
        logs
    }

    /// The server closed the connection.
    pub fn closed(&mut self) -> Vec<String> {
        let mut logs = Vec::new();
        if self.stage != Stage::Quit && !self.is_done() {
            logs.push(format!(
                "Remote SMTP server {} has closed the connection.",
                self.server
            ));
        }
        self.stage = Stage::Done;
        logs
    }
}

fn find_crlf(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\r\n")
}

/// keepalived's arithmetic on the first three characters.
fn reply_code(line: &[u8]) -> i32 {
    let d = |i: usize| i32::from(line.get(i).copied().unwrap_or(b'0')) - i32::from(b'0');
    d(0) * 100 + d(1) * 10 + d(2)
}

// ---------------------------------------------------------------- the alerts

/// A checker changed state (from the core, with what the alert needs).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckerChange {
    pub rs: RsAlert,
    pub kind: CheckerKind,
    /// The checker's new state.
    pub up: bool,
    /// The real server's state before and after.
    pub rs_was_up: bool,
    pub rs_up: bool,
    /// Why it failed (SMTP_CHECK's body names it).
    pub reason: Option<String>,
}

/// A real server as its alerts name it, with its `smtp_alert`. The names
/// are the core's (held once in the worker, not in a table of the
/// mailer's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsAlert {
    /// keepalived's `FMT_RS`.
    pub name: Arc<str>,
    /// keepalived's `FMT_VS` of its virtual server.
    pub vs_name: Arc<str>,
    pub smtp_alert: bool,
}

impl RsAlert {
    pub fn of(r: &crate::sched::RsRef<'_>) -> RsAlert {
        RsAlert {
            name: Arc::clone(r.name),
            vs_name: Arc::clone(r.vs_name),
            smtp_alert: r.smtp_alert,
        }
    }
}

/// Which mail a checker change sends, if any (keepalived's epilogs: the
/// real server's `smtp_alert`, and with `no_checker_emails` only when the
/// real server itself changed).
pub fn checker_alert(s: &Settings, c: &CheckerChange) -> Option<Mail> {
    if !c.rs.smtp_alert || (s.no_checker_emails && c.rs_was_up == c.rs_up) {
        return None;
    }
    let body = checker_body(&c.kind, c.up, c.reason.as_deref())?;
    Some(checker_mail(
        &s.router_id,
        &c.rs.name,
        &c.rs.vs_name,
        c.rs_up,
        body,
    ))
}

// ---------------------------------------------------------------- the I/O

struct Conn {
    sock: TcpStream,
    connected: bool,
    session: Session,
    deadline: Instant,
}

/// The alerts' sessions on the worker's loop.
pub struct Mailer {
    settings: Option<Settings>,
    registry: Option<Registry>,
    conns: HashMap<usize, Conn>,
    deadlines: BTreeSet<(Instant, usize)>,
    queue: VecDeque<Mail>,
    next_token: usize,
    /// Mails the server accepted, since start.
    pub delivered: u64,
}

impl Mailer {
    pub fn new(global: &GlobalDefs) -> Mailer {
        Mailer {
            settings: Settings::from_global(global),
            registry: None,
            conns: HashMap::new(),
            deadlines: BTreeSet::new(),
            queue: VecDeque::new(),
            next_token: FIRST_TOKEN,
            delivered: 0,
        }
    }

    /// Keep a handle on the loop's registry.
    pub fn register(&mut self, registry: &Registry) -> io::Result<()> {
        self.registry = Some(registry.try_clone()?);
        Ok(())
    }

    /// A new configuration; sessions under way finish with the old one.
    /// Each real server the reload removed while it was up (`removed_up`,
    /// see [`crate::engine::Engine::removed`]) mails keepalived's
    /// "Removing" alert (its `clear_service_rs`) when it has `smtp_alert`.
    pub fn reload(
        &mut self,
        global: &GlobalDefs,
        removed_up: &[RsAlert],
        now: Instant,
    ) -> Vec<(LogLevel, String)> {
        self.settings = Settings::from_global(global);
        let mut logs = Vec::new();
        let Some(s) = self.settings.clone() else {
            return logs;
        };
        for info in removed_up.iter().filter(|i| i.smtp_alert) {
            let mail = checker_mail(
                &s.router_id,
                &info.name,
                &info.vs_name,
                false,
                "=> Removing <=".to_string(),
            );
            logs.extend(self.submit(mail, now));
        }
        logs
    }

    /// Whether `token` is one of the mailer's.
    pub fn owns(token: Token) -> bool {
        token.0 >= FIRST_TOKEN
    }

    /// A VRRP instance or sync group (the parent checked its
    /// `smtp_alert`) entered `state`.
    pub fn vrrp(
        &mut self,
        group: bool,
        name: &str,
        state: VrrpState,
        now: Instant,
    ) -> Vec<(LogLevel, String)> {
        let Some(s) = &self.settings else {
            return Vec::new();
        };
        if state == VrrpState::Fault && s.no_email_faults {
            return Vec::new();
        }
        match vrrp_mail(&s.router_id, group, name, state) {
            Some(m) => self.submit(m, now),
            None => Vec::new(),
        }
    }

    /// An LVS alert the parent decided on: a quorum change, or at stop
    /// the `omega` "Shutting down" mails (a virtual server's, then its up
    /// real servers' with `smtp_alert`, as keepalived's `clear_services`).
    /// `rss` names the real servers (see [`crate::engine::Engine::rs_alerts`]).
    pub fn lvs(
        &mut self,
        alert: &ipc::LvsAlert,
        rss: impl Fn(&[RealServerKey]) -> Vec<Option<RsAlert>>,
        now: Instant,
    ) -> Vec<(LogLevel, String)> {
        let Some(s) = self.settings.clone() else {
            return Vec::new();
        };
        let mails: Vec<Mail> = match alert {
            ipc::LvsAlert::Quorum(q) => vec![quorum_mail(&s.router_id, q)],
            ipc::LvsAlert::ShuttingDown {
                virtual_servers,
                real_servers,
            } => {
                let rs = rss(real_servers).into_iter().filter_map(|info| {
                    let info = info.filter(|i| i.smtp_alert)?;
                    Some(checker_mail(
                        &s.router_id,
                        &info.name,
                        &info.vs_name,
                        false,
                        SHUTTING_DOWN.to_string(),
                    ))
                });
                let rs: Vec<Mail> = rs.collect();
                rs.into_iter()
                    .chain(
                        virtual_servers
                            .iter()
                            .map(|v| vs_mail(&s.router_id, v, false, SHUTTING_DOWN.into())),
                    )
                    .collect()
            }
        };
        let mut logs = Vec::new();
        for m in mails {
            logs.extend(self.submit(m, now));
        }
        logs
    }

    /// No session under way and none waiting.
    pub fn idle(&self) -> bool {
        self.conns.is_empty() && self.queue.is_empty()
    }

    /// One of this worker's checkers changed state.
    pub fn checker(&mut self, c: &CheckerChange, now: Instant) -> Vec<(LogLevel, String)> {
        let Some(s) = &self.settings else {
            return Vec::new();
        };
        match checker_alert(s, c) {
            Some(m) => self.submit(m, now),
            None => Vec::new(),
        }
    }

    fn submit(&mut self, mail: Mail, now: Instant) -> Vec<(LogLevel, String)> {
        let mut logs = Vec::new();
        if self.queue.len() >= QUEUE_MAX {
            logs.push((
                LogLevel::Warning,
                format!(
                    "SMTP alert queue full ({QUEUE_MAX} waiting): dropping '{}'",
                    mail.subject
                ),
            ));
            return logs;
        }
        self.queue.push_back(mail);
        self.start_queued(now, &mut logs);
        logs
    }

    fn start_queued(&mut self, now: Instant, logs: &mut Vec<(LogLevel, String)>) {
        while self.conns.len() < SESSIONS_MAX {
            let Some(s) = self.settings.clone() else {
                self.queue.clear();
                return;
            };
            let Some(mail) = self.queue.pop_front() else {
                return;
            };
            let date = rfc822_date(
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            );
            let session = Session::new(&s, &mail, &date);
            let sock = match connect(s.server) {
                Ok(sock) => sock,
                Err(_) => {
                    logs.push((
                        LogLevel::Info,
                        format!("SMTP connection ERROR to {}.", s.server_name()),
                    ));
                    continue;
                }
            };
            let token = self.next_token;
            self.next_token += 1;
            let mut conn = Conn {
                sock,
                connected: false,
                session,
                deadline: now + s.timeout,
            };
            let reg = match &self.registry {
                Some(r) => r.register(
                    &mut conn.sock,
                    Token(token),
                    Interest::READABLE | Interest::WRITABLE,
                ),
                None => Err(io::Error::other("no event loop")),
            };
            if let Err(e) = reg {
                logs.push((
                    LogLevel::Info,
                    format!("SMTP connection ERROR to {} ({e}).", s.server_name()),
                ));
                continue;
            }
            self.deadlines.insert((conn.deadline, token));
            self.conns.insert(token, conn);
        }
    }

    /// When [`Mailer::on_timer`] has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(d, _)| *d)
    }

    /// Sessions whose server did not answer in time.
    pub fn on_timer(&mut self, now: Instant) -> Vec<(LogLevel, String)> {
        let mut logs = Vec::new();
        while let Some(&(d, t)) = self.deadlines.first() {
            if d > now {
                break;
            }
            self.deadlines.pop_first();
            let Some(c) = self.conns.get_mut(&t) else {
                continue;
            };
            if !c.connected {
                logs.push((
                    LogLevel::Info,
                    format!(
                        "Timeout opening connection to remote SMTP server {}.",
                        c.session.server
                    ),
                ));
                self.close(t);
                continue;
            }
            for l in c.session.timeout() {
                logs.push((LogLevel::Info, l));
            }
            self.pump(t, now, &mut logs);
        }
        self.start_queued(now, &mut logs);
        logs
    }

    /// Readiness of one of the mailer's sockets.
    pub fn on_event(&mut self, token: Token, now: Instant) -> Vec<(LogLevel, String)> {
        let mut logs = Vec::new();
        let t = token.0;
        let Some(c) = self.conns.get_mut(&t) else {
            return logs;
        };
        if !c.connected {
            match c.sock.take_error() {
                Ok(None) => {}
                Ok(Some(_)) | Err(_) => {
                    logs.push((
                        LogLevel::Info,
                        format!("SMTP connection ERROR to {}.", c.session.server),
                    ));
                    self.close(t);
                    self.start_queued(now, &mut logs);
                    return logs;
                }
            }
            match c.sock.peer_addr() {
                Ok(_) => c.connected = true,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return logs,
                Err(_) => {
                    logs.push((
                        LogLevel::Info,
                        format!("SMTP connection ERROR to {}.", c.session.server),
                    ));
                    self.close(t);
                    self.start_queued(now, &mut logs);
                    return logs;
                }
            }
            self.rearm(t, now);
        }
        self.pump(t, now, &mut logs);
        self.start_queued(now, &mut logs);
        logs
    }

    fn rearm(&mut self, t: usize, now: Instant) {
        let timeout = self
            .settings
            .as_ref()
            .map_or(Duration::from_secs(30), |s| s.timeout);
        if let Some(c) = self.conns.get_mut(&t) {
            self.deadlines.remove(&(c.deadline, t));
            c.deadline = now + timeout;
            self.deadlines.insert((c.deadline, t));
        }
    }

    /// Read what there is, write what can go, until the socket would block.
    fn pump(&mut self, t: usize, now: Instant, logs: &mut Vec<(LogLevel, String)>) {
        let mut activity = false;
        loop {
            let Some(c) = self.conns.get_mut(&t) else {
                return;
            };
            if c.session.is_done() {
                if c.session.sent() {
                    self.delivered += 1;
                }
                self.close(t);
                return;
            }
            let mut progressed = false;
            // Write.
            while !c.session.output().is_empty() {
                match c.sock.write(c.session.output()) {
                    Ok(0) => break,
                    Ok(n) => {
                        c.session.consumed(n);
                        progressed = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        logs.push((
                            LogLevel::Info,
                            format!(
                                "Cannot send data to remote SMTP server {}.",
                                c.session.server
                            ),
                        ));
                        self.close(t);
                        return;
                    }
                }
            }
            // Read.
            let mut buf = [0u8; 512];
            match c.sock.read(&mut buf) {
                Ok(0) => {
                    for l in c.session.closed() {
                        logs.push((LogLevel::Info, l));
                    }
                    if c.session.sent() {
                        self.delivered += 1;
                    }
                    self.close(t);
                    return;
                }
                Ok(n) => {
                    for l in c.session.receive(&buf[..n]) {
                        logs.push((LogLevel::Info, l));
                    }
                    progressed = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => progressed = true,
                Err(_) => {
                    logs.push((
                        LogLevel::Info,
                        format!(
                            "Error reading data from remote SMTP server {}.",
                            c.session.server
                        ),
                    ));
                    c.session.quit();
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
            activity = true;
        }
        if activity {
            self.rearm(t, now);
        }
    }

    fn close(&mut self, t: usize) {
        if let Some(mut c) = self.conns.remove(&t) {
            self.deadlines.remove(&(c.deadline, t));
            if let Some(r) = &self.registry {
                let _ = r.deregister(&mut c.sock);
            }
        }
    }

    /// Sessions under way and alerts waiting, for dumps.
    pub fn dump(&self) -> String {
        format!(
            " SMTP alerts: {} in progress, {} queued, {} sent{}\n",
            self.conns.len(),
            self.queue.len(),
            self.delivered,
            match &self.settings {
                Some(s) => format!(", server {}", s.server_name()),
                None => String::new(),
            }
        )
    }
}

/// A non-blocking connect to the SMTP server, with an explicit protocol
/// (the check worker's seccomp policy wants one).
fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let domain = if addr.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let sock = Socket::new(
        domain,
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    match sock.connect(&SockAddr::from(addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(115) => {} // EINPROGRESS
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(sock.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;
    use crate::sched::tests::lvs;
    use config::model::global::SmtpServer;
    use ipc::keys::rs_key;

    fn settings() -> Settings {
        Settings {
            server: "127.0.0.1:2525".parse().unwrap(),
            helo: "lb1.example.com".into(),
            from: "ka@example.com".into(),
            to: vec!["a@example.com".into(), "b@example.com".into()],
            router_id: "LVS_1".into(),
            timeout: Duration::from_secs(5),
            no_email_faults: false,
            no_checker_emails: false,
        }
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[test]
    fn settings_need_recipients_and_a_resolved_server() {
        let mut g = GlobalDefs::default();
        assert_eq!(Settings::from_global(&g), None);
        g.smtp_server = Some(SmtpServer {
            host: SmtpHost::Ip("192.0.2.1".parse().unwrap()),
            port: 25,
        });
        assert_eq!(Settings::from_global(&g), None, "no notification_email");
        g.notification_email = vec!["x@y".into()];
        let s = Settings::from_global(&g).unwrap();
        assert_eq!(s.server_name(), "[192.0.2.1]:25");
        assert_eq!(s.helo, "localhost");
        assert_eq!(s.timeout, Duration::from_secs(30));
        g.smtp_server = Some(SmtpServer {
            host: SmtpHost::Name("mail.example.com".into()),
            port: 25,
        });
        assert_eq!(Settings::from_global(&g), None, "unresolved name");
    }

    #[test]
    fn vrrp_subjects_and_bodies_are_keepalived_s() {
        let m = vrrp_mail("LVS_1", false, "VI_1", VrrpState::Master).unwrap();
        assert_eq!(
            m.subject,
            "[LVS_1] VRRP Instance VI_1 - Entering MASTER state"
        );
        assert_eq!(m.body, "=> VRRP Instance is now owning VRRP VIPs <=");
        let m = vrrp_mail("LVS_1", false, "VI_1", VrrpState::Backup).unwrap();
        assert_eq!(
            m.subject,
            "[LVS_1] VRRP Instance VI_1 - Entering BACKUP state"
        );
        assert_eq!(m.body, "=> VRRP Instance is no longer owning VRRP VIPs <=");
        let m = vrrp_mail("LVS_1", false, "VI_1", VrrpState::Fault).unwrap();
        assert_eq!(
            m.subject,
            "[LVS_1] VRRP Instance VI_1 - Entering FAULT state"
        );
        let m = vrrp_mail("r", true, "G", VrrpState::Master).unwrap();
        assert_eq!(m.subject, "[r] VRRP Group G - Entering MASTER state");
        assert_eq!(
            m.body,
            "=> All VRRP group instances are now in MASTER state <="
        );
        assert_eq!(vrrp_mail("r", false, "VI_1", VrrpState::Init), None);
    }

    #[test]
    fn checker_subjects_and_bodies_are_keepalived_s() {
        let body = checker_body(&CheckerKind::Tcp, false, Some("connection refused")).unwrap();
        let m = checker_mail(
            "LVS_1",
            "[127.0.0.1]:tcp:8080",
            "[10.0.0.1]:tcp:80",
            false,
            body,
        );
        assert_eq!(
            m.subject,
            "[LVS_1] Realserver [127.0.0.1]:tcp:8080 of virtual server [10.0.0.1]:tcp:80 - DOWN"
        );
        assert_eq!(m.body, "=> TCP CHECK failed on service <=");
        assert_eq!(
            checker_body(&CheckerKind::Tcp, true, None).unwrap(),
            "=> TCP CHECK succeed on service <="
        );
        assert_eq!(
            checker_body(&CheckerKind::Ping, false, None).unwrap(),
            "=> ICMP CHECK failed on service <="
        );
        assert_eq!(
            checker_body(&CheckerKind::Tcp, false, Some("ignored")).unwrap(),
            "=> TCP CHECK failed on service <="
        );
    }

    #[test]
    fn quorum_and_shutdown_mails_are_keepalived_s() {
        // keepalived 2.2.7's do_vs_notifies: "=> %s %u+%u=%ld <= %ld <=",
        // subject "[%s] Virtualserver %s - %s".
        let vs = "[10.0.0.1]:tcp:80";
        let cases = [
            (
                true,
                true,
                3,
                3,
                "UP",
                "=> Starting with quorum up 2+1=3 <= 3 <=",
            ),
            (true, false, 3, 4, "UP", "=> Gained quorum 2+1=3 <= 4 <="),
            (
                false,
                true,
                3,
                0,
                "DOWN",
                "=> Starting with quorum down 2+1=3 <= 0 <=",
            ),
            (false, false, 1, 0, "DOWN", "=> Lost quorum 2+1=1 <= 0 <="),
        ];
        for (up, starting, threshold, weight_sum, word, body) in cases {
            let q = ipc::QuorumChange {
                virtual_server: vs.into(),
                up,
                starting,
                quorum: 2,
                hysteresis: 1,
                threshold,
                weight_sum,
            };
            let m = quorum_mail("r", &q);
            assert_eq!(m.subject, format!("[r] Virtualserver {vs} - {word}"));
            assert_eq!(m.body, body);
        }
        // At stop with omega: the real server (with smtp_alert, even with
        // no_checker_emails: keepalived's clear_service_rs checks neither
        // that nor the checkers), then the virtual server.
        let two = lvs(
            "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 127.0.0.1 8080 {\n    TCP_CHECK {\n    }\n  }\n  real_server 127.0.0.3 8080 {\n    smtp_alert no\n    TCP_CHECK {\n    }\n  }\n}\n",
        );
        let v = &two.virtual_servers[0];
        let keys: Vec<RealServerKey> = v.real_servers.iter().map(|r| rs_key(v, r)).collect();
        let (e, _) = Engine::new(
            two.clone(),
            &[],
            &Default::default(),
            Instant::now(),
            Box::new(|| 0.0),
            1,
        );
        let (_l, mut s) = silent_server();
        s.no_checker_emails = true;
        let poll = mio::Poll::new().unwrap();
        let mut mailer = mailer(&s);
        mailer.register(poll.registry()).unwrap();
        assert!(mailer.idle());
        let logs = mailer.lvs(
            &ipc::LvsAlert::ShuttingDown {
                virtual_servers: vec![vs.into()],
                real_servers: keys,
            },
            |k| e.rs_alerts(k),
            Instant::now(),
        );
        assert!(logs.is_empty(), "{logs:?}");
        let mut payloads: Vec<&str> = mailer
            .conns
            .values()
            .map(|c| c.session.payload.as_str())
            .collect();
        // The Date may differ (a second boundary): real server first.
        payloads.sort_by_key(|p| p.contains("Virtualserver"));
        assert_eq!(payloads.len(), 2, "{payloads:?}");
        assert_mail(payloads[0], RS_8080_DOWN, SHUTTING_DOWN);
        assert_mail(
            payloads[1],
            "[LVS_1] Virtualserver [10.0.0.1]:tcp:80 - DOWN",
            SHUTTING_DOWN,
        );
        assert!(!mailer.idle());
    }

    #[test]
    fn long_subjects_are_cut_as_keepalived_cuts_them() {
        let name = "x".repeat(400);
        let m = vrrp_mail("r", false, &name, VrrpState::Master).unwrap();
        assert_eq!(m.subject.len(), MAX_SUBJECT);
    }

    #[test]
    fn dates_are_rfc822_utc() {
        assert_eq!(rfc822_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        // 2026-11-22 07:17:58 UTC
        assert_eq!(
            rfc822_date(1_795_331_878),
            "Sun, 22 Nov 2026 07:17:58 +0000"
        );
        // A leap day.
        assert_eq!(rfc822_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn payload_is_keepalived_s_headers_then_the_body() {
        let s = settings();
        let m = vrrp_mail("LVS_1", false, "VI_1", VrrpState::Master).unwrap();
        assert_eq!(
            payload(&s, &m, "Thu, 01 Jan 1970 00:00:00 +0000"),
            "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: ka@example.com\r\n\
             Subject: [LVS_1] VRRP Instance VI_1 - Entering MASTER state\r\n\
             X-Mailer: Keepalived\r\nTo: a@example.com, b@example.com\r\n\r\n\
             => VRRP Instance is now owning VRRP VIPs <=\r\n\r\n.\r\n"
        );
    }

    /// Drive a session through a whole dialogue; returns what it sent.
    fn converse(sess: &mut Session, replies: &[&str]) -> (Vec<String>, Vec<String>) {
        let mut sent = Vec::new();
        let mut logs = Vec::new();
        for r in replies {
            logs.extend(sess.receive(r.as_bytes()));
            sent.push(text(sess.output()));
            let n = sess.output().len();
            sess.consumed(n);
        }
        (sent, logs)
    }

    #[test]
    fn a_whole_dialogue() {
        let s = settings();
        let m = Mail {
            subject: "S".into(),
            body: "B".into(),
        };
        let mut sess = Session::new(&s, &m, "D");
        assert!(sess.output().is_empty(), "the client waits for the banner");
        let (sent, logs) = converse(
            &mut sess,
            &[
                // A multi-line banner, split oddly.
                "220-mail.example.com ESMTP\r\n220 ",
                "ready\r\n",
                "250 hello\r\n",
                "250 ok\r\n",
                "250 ok\r\n",
                "250 ok\r\n",
                "354 go ahead\r\n",
                "250 queued\r\n",
                "221 bye\r\n",
            ],
        );
        assert_eq!(
            sent,
            vec![
                "",
                "HELO lb1.example.com\r\n",
                "MAIL FROM:<ka@example.com>\r\n",
                "RCPT TO:<a@example.com>\r\n",
                "RCPT TO:<b@example.com>\r\n",
                "DATA\r\n",
                "Date: D\r\nFrom: ka@example.com\r\nSubject: S\r\nX-Mailer: Keepalived\r\n\
                 To: a@example.com, b@example.com\r\n\r\nB\r\n\r\n.\r\n",
                "QUIT\r\n",
                "",
            ]
        );
        assert_eq!(logs, vec!["SMTP alert successfully sent."]);
        assert!(sess.sent() && sess.is_done());
    }

    #[test]
    fn replies_in_one_read_are_all_handled() {
        let s = settings();
        let m = Mail {
            subject: "S".into(),
            body: "B".into(),
        };
        let mut sess = Session::new(&s, &m, "D");
        // keepalived does not pipeline, but a server that answers ahead
        // is followed reply by reply.
        sess.receive(b"220 hi\r\n250 a\r\n");
        assert_eq!(
            text(sess.output()),
            "HELO lb1.example.com\r\nMAIL FROM:<ka@example.com>\r\n"
        );
        assert_eq!(sess.stage(), Stage::Mail);
    }

    #[test]
    fn a_refused_recipient_is_logged_as_keepalived_logs_it_then_quits() {
        let s = settings();
        let m = Mail {
            subject: "S".into(),
            body: "B".into(),
        };
        let mut sess = Session::new(&s, &m, "D");
        let (sent, logs) = converse(
            &mut sess,
            &[
                "220 hi\r\n",
                "250 hi\r\n",
                "250 ok\r\n",
                "550 no such user\r\n",
                "221 bye\r\n",
            ],
        );
        assert_eq!(sent[3], "QUIT\r\n");
        assert_eq!(
            logs,
            vec![
                "Error processing RCPT cmd on SMTP server [127.0.0.1]:2525. SMTP status code = 550"
            ]
        );
        assert!(sess.is_done() && !sess.sent());
    }

    #[test]
    fn a_bad_banner_quits() {
        let s = settings();
        let m = Mail {
            subject: "S".into(),
            body: "B".into(),
        };
        let mut sess = Session::new(&s, &m, "D");
        let logs = sess.receive(b"554 go away\r\n");
        assert_eq!(
            logs,
            vec![
                "Error processing (E)SMTP cmd on SMTP server [127.0.0.1]:2525. SMTP status code = 554"
            ]
        );
        assert_eq!(text(sess.output()), "QUIT\r\n");
    }

    #[test]
    fn timeouts_quit_then_give_up() {
        let s = settings();
        let m = Mail {
            subject: "S".into(),
            body: "B".into(),
        };
        let mut sess = Session::new(&s, &m, "D");
        assert_eq!(
            sess.timeout(),
            vec!["Timeout reading data to remote SMTP server [127.0.0.1]:2525."]
        );
        assert_eq!(text(sess.output()), "QUIT\r\n");
        assert!(sess.timeout().is_empty());
        assert!(sess.is_done());
    }

    #[test]
    fn an_overlong_reply_is_refused() {
        let s = settings();
        let m = Mail {
            subject: "S".into(),
            body: "B".into(),
        };
        let mut sess = Session::new(&s, &m, "D");
        let logs = sess.receive(&[b'x'; REPLY_BUFFER_MAX]);
        assert_eq!(
            logs,
            vec![
                "Received buffer from remote SMTP server [127.0.0.1]:2525 overflow our get read buffer length."
            ]
        );
        assert_eq!(sess.stage(), Stage::Quit);
    }

    #[test]
    fn a_closed_connection_is_logged_unless_quitting() {
        let s = settings();
        let m = Mail {
            subject: "S".into(),
            body: "B".into(),
        };
        let mut sess = Session::new(&s, &m, "D");
        assert_eq!(
            sess.closed(),
            vec!["Remote SMTP server [127.0.0.1]:2525 has closed the connection."]
        );
        assert!(sess.is_done());
    }

    /// A mailer on a mio loop against a listener on 127.0.0.1 that accepts
    /// (the kernel does) but never says a word.
    fn silent_server() -> (std::net::TcpListener, Settings) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut s = settings();
        s.server = l.local_addr().unwrap();
        s.timeout = Duration::from_secs(1);
        (l, s)
    }

    fn mailer(s: &Settings) -> Mailer {
        Mailer {
            settings: Some(s.clone()),
            registry: None,
            conns: HashMap::new(),
            deadlines: BTreeSet::new(),
            queue: VecDeque::new(),
            next_token: FIRST_TOKEN,
            delivered: 0,
        }
    }

    /// Run the loop until `until` holds or `limit` passes; the log lines.
    fn drive(
        m: &mut Mailer,
        poll: &mut mio::Poll,
        limit: Duration,
        until: impl Fn(&Mailer) -> bool,
    ) -> Vec<String> {
        let mut logs = Vec::new();
        let mut events = mio::Events::with_capacity(16);
        let t0 = Instant::now();
        while !until(m) && t0.elapsed() < limit {
            let timeout = m
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_millis(100))
                .min(Duration::from_millis(100));
            poll.poll(&mut events, Some(timeout)).unwrap();
            let now = Instant::now();
            for e in &events {
                logs.extend(m.on_event(e.token(), now).into_iter().map(|l| l.1));
            }
            logs.extend(m.on_timer(Instant::now()).into_iter().map(|l| l.1));
        }
        logs
    }

    #[test]
    fn a_silent_server_times_out_then_the_session_is_dropped() {
        let (_l, s) = silent_server();
        let mut poll = mio::Poll::new().unwrap();
        let mut m = mailer(&s);
        m.register(poll.registry()).unwrap();
        let t0 = Instant::now();
        let mut logs: Vec<String> = m
            .vrrp(false, "VI_1", VrrpState::Master, t0)
            .into_iter()
            .map(|l| l.1)
            .collect();
        assert_eq!(m.conns.len(), 1);
        logs.extend(drive(&mut m, &mut poll, Duration::from_secs(10), |m| {
            m.conns.is_empty()
        }));
        let took = t0.elapsed();
        assert_eq!(
            logs,
            vec![format!(
                "Timeout reading data to remote SMTP server [127.0.0.1]:{}.",
                s.server.port()
            )]
        );
        // One timeout for the banner, one for the answer to QUIT.
        assert!(m.conns.is_empty(), "still open after {took:?}");
        assert!(took >= Duration::from_secs(2), "{took:?}");
        assert_eq!(m.delivered, 0);
        assert!(m.next_deadline().is_none());
    }

    #[test]
    fn the_queue_is_bounded() {
        let (_l, s) = silent_server();
        let poll = mio::Poll::new().unwrap();
        let mut m = mailer(&s);
        m.register(poll.registry()).unwrap();
        let now = Instant::now();
        let mut dropped = 0;
        for i in 0..SESSIONS_MAX + QUEUE_MAX + 3 {
            for (level, line) in m.vrrp(false, &format!("VI_{i}"), VrrpState::Master, now) {
                assert_eq!(level, LogLevel::Warning);
                assert!(line.starts_with("SMTP alert queue full"), "{line}");
                dropped += 1;
            }
        }
        assert_eq!(m.conns.len(), SESSIONS_MAX);
        assert_eq!(m.queue.len(), QUEUE_MAX);
        assert_eq!(dropped, 3);
    }

    #[test]
    fn nothing_is_sent_without_settings_or_for_faults_with_no_email_faults() {
        let (_l, mut s) = silent_server();
        s.no_email_faults = true;
        let poll = mio::Poll::new().unwrap();
        let mut m = mailer(&s);
        m.register(poll.registry()).unwrap();
        let now = Instant::now();
        assert!(m.vrrp(false, "VI_1", VrrpState::Fault, now).is_empty());
        assert!(m.conns.is_empty());
        let mut m = Mailer::new(&GlobalDefs::default());
        assert!(m.vrrp(false, "VI_1", VrrpState::Master, now).is_empty());
        assert!(m.conns.is_empty() && m.queue.is_empty());
    }

    #[test]
    fn a_reload_that_removes_an_up_real_server_mails_removing() {
        let two = lvs(
            "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 127.0.0.1 8080 {\n    TCP_CHECK {\n    }\n  }\n  real_server 127.0.0.2 8080 {\n    TCP_CHECK {\n    }\n  }\n  real_server 127.0.0.3 8080 {\n    smtp_alert no\n    TCP_CHECK {\n    }\n  }\n}\n",
        );
        let one = lvs(
            "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 127.0.0.2 8080 {\n    TCP_CHECK {\n    }\n  }\n}\n",
        );
        let (_l, s) = silent_server();
        let g = GlobalDefs {
            router_id: Some("LVS_1".into()),
            notification_email: s.to.clone(),
            notification_email_from: Some(s.from.clone()),
            smtp_server: Some(config::model::global::SmtpServer {
                host: SmtpHost::Ip(s.server.ip()),
                port: s.server.port(),
            }),
            ..Default::default()
        };
        let poll = mio::Poll::new().unwrap();
        // The engine says which up real servers the reload removed; the
        // mailer mails those with smtp_alert. `down`: the real servers the
        // parent holds down.
        let reload = |down: &[u16]| {
            let vs = &two.virtual_servers[0];
            let restored = vs
                .real_servers
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let up = !down.contains(&(i as u16));
                    (rs_key(vs, r), ipc::Health { up, weight: 1 })
                })
                .collect();
            let now = Instant::now();
            let jitter = Box::new(|| 0.0);
            let (mut e, _) = Engine::new(two.clone(), &[], &restored, now, jitter, 1);
            let before = e.up_real_servers();
            e.reload(one.clone(), &[], now);
            let removed = e.removed(before);
            let mut m = mailer(&s);
            m.register(poll.registry()).unwrap();
            assert!(m.reload(&g, &removed, now).is_empty());
            m
        };
        // All three were up: .1 is removed (mailed), .2 stays, .3 has no
        // smtp_alert.
        let m = reload(&[]);
        let payloads: Vec<&str> = m
            .conns
            .values()
            .map(|c| c.session.payload.as_str())
            .collect();
        assert_eq!(payloads.len(), 1);
        assert_mail(payloads[0], RS_8080_DOWN, "=> Removing <=");
        // Removed but down (only .3 was up, and it has no smtp_alert):
        // nothing.
        let m = reload(&[0, 1]);
        assert!(m.conns.is_empty());
    }

    const RS_8080_DOWN: &str =
        "[LVS_1] Realserver [127.0.0.1]:tcp:8080 of virtual server [10.0.0.1]:tcp:80 - DOWN";

    /// A session's message has this subject and this body.
    fn assert_mail(payload: &str, subject: &str, body: &str) {
        assert!(
            payload.contains(&format!("\r\nSubject: {subject}\r\n"))
                && payload.ends_with(&format!("\r\n\r\n{body}\r\n\r\n.\r\n")),
            "{payload}"
        );
    }

    #[test]
    fn checker_alerts_follow_smtp_alert_and_no_checker_emails() {
        let cfg = lvs(
            "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 127.0.0.1 8080 {\n    TCP_CHECK {\n    }\n  }\n  real_server 127.0.0.2 8080 {\n    smtp_alert no\n    TCP_CHECK {\n    }\n  }\n}\n",
        );
        let (e, _) = Engine::new(
            cfg,
            &[],
            &Default::default(),
            Instant::now(),
            Box::new(|| 0.0),
            1,
        );
        let rss: Vec<RsAlert> = e.up_real_servers().into_iter().map(|(_, a)| a).collect();
        let mut s = settings();
        let change = |rs: &RsAlert, rs_was_up, rs_up| CheckerChange {
            rs: rs.clone(),
            kind: CheckerKind::Tcp,
            up: rs_up,
            rs_was_up,
            rs_up,
            reason: None,
        };
        let m = checker_alert(&s, &change(&rss[0], true, false)).unwrap();
        assert_eq!(
            m.subject,
            "[LVS_1] Realserver [127.0.0.1]:tcp:8080 of virtual server [10.0.0.1]:tcp:80 - DOWN"
        );
        assert_eq!(checker_alert(&s, &change(&rss[1], true, false)), None);
        // no_checker_emails: only when the real server changes.
        s.no_checker_emails = true;
        assert!(checker_alert(&s, &change(&rss[0], true, false)).is_some());
        assert_eq!(checker_alert(&s, &change(&rss[0], false, false)), None);
    }
}
