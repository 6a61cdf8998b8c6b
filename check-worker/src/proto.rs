//! What the checkers say and expect, without sockets: keepalived's HTTP
//! request and response handling (with the MD5 digest genhash prints), the
//! SMTP dialogue's replies, DNS queries and answers, UDP reply matching and
//! ICMP echo.

use config::model::lvs::{DnsType, HttpProtocol, UdpCheck, Url, UrlRegex};
use md5::{Digest, Md5};
use std::net::SocketAddr;

// ------------------------------------------------------------------ HTTP

/// keepalived's GET request (check_http.c `request_template`): the url's
/// path, HTTP/1.0 or 1.1, `Connection: close` for `1.0C` and `1.1`, and
/// `Host:` the virtualhost, else the address (IPv6 in brackets) and port.
pub fn http_request(url: &Url, protocol: HttpProtocol, dst: SocketAddr) -> Vec<u8> {
    let minor = match protocol {
        HttpProtocol::Http11 => 1,
        _ => 0,
    };
    let close = match protocol {
        HttpProtocol::Http10 => "",
        _ => "Connection: close\r\n",
    };
    let host = match &url.request_host {
        Some(vhost) => vhost.clone(),
        None => match dst {
            SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
        },
    };
    format!(
        "GET {} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {host}\r\n\r\n",
        url.path
    )
    .into_bytes()
}

/// Headers larger than this are not a health check's business.
const MAX_HEADER: usize = 64 * 1024;

/// An HTTP response read incrementally: the status line and headers are
/// kept, the body only goes through MD5 (up to `Content-Length` bytes when
/// the server gives one, as keepalived).
#[derive(Debug, Default)]
pub struct HttpResponse {
    head: Vec<u8>,
    /// The headers are complete.
    in_body: bool,
    status: Option<u16>,
    content_length: Option<u64>,
    body_bytes: u64,
    md5: Md5,
    /// The url's `regex`, scanned over the response as it arrives.
    regex: Option<RegexScan>,
}

impl HttpResponse {
    pub fn new() -> Self {
        Self::default()
    }

    /// A response whose url has a `regex`, compiled with
    /// [`UrlMatcher::compile`].
    pub fn with_regex(matcher: std::sync::Arc<UrlMatcher>) -> Self {
        Self {
            regex: Some(RegexScan::new(matcher)),
            ..Self::default()
        }
    }

    /// Feed what the server sent.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), String> {
        if let Some(r) = &mut self.regex {
            r.feed(data);
        }
        if !self.in_body {
            let start = self.head.len().saturating_sub(3);
            self.head.extend_from_slice(data);
            let end = find(&self.head[start..], b"\r\n\r\n")
                .map(|p| start + p + 4)
                .or_else(|| find(&self.head[start..], b"\n\n").map(|p| start + p + 2));
            let Some(end) = end else {
                if self.head.len() > MAX_HEADER {
                    return Err("HTTP header too large".into());
                }
                return Ok(());
            };
            let body = self.head.split_off(end);
            self.in_body = true;
            self.status = status_code(&self.head);
            self.content_length = content_length(&self.head);
            self.take_body(&body);
            data = &[];
        }
        self.take_body(data);
        Ok(())
    }

    fn take_body(&mut self, data: &[u8]) {
        let take = match self.content_length {
            Some(cl) => (cl.saturating_sub(self.body_bytes)).min(data.len() as u64) as usize,
            None => data.len(),
        };
        self.md5.update(&data[..take]);
        self.body_bytes += data.len() as u64;
    }

    /// The whole body announced by `Content-Length` has arrived.
    pub fn complete(&self) -> bool {
        self.in_body && self.content_length.is_some_and(|cl| self.body_bytes >= cl)
    }

    /// The end of the response (the server closed, or
    /// [`HttpResponse::complete`]): keepalived's `http_handle_response`.
    pub fn verdict(self, url: &Url) -> Result<(), String> {
        if !self.in_body {
            return Err("Read, no data received".into());
        }
        let code = self.status.unwrap_or(0);
        if !url.accepts(code) {
            return Err(format!("HTTP status code error ({code})"));
        }
        if let Some(want) = url.digest {
            let got: [u8; 16] = self.md5.clone().finalize().into();
            if got != want {
                return Err(format!("MD5 digest error (got {})", hex(&got)));
            }
        }
        if let Some(r) = &url.regex {
            // keepalived: a match is a success unless regex_no_match, and
            // the other way round.
            let matched = match self.regex {
                Some(scan) => scan.finish(),
                None => {
                    return Err(format!(
                        "Regex match failed (regex '{}' not usable)",
                        r.pattern
                    ));
                }
            };
            if matched == r.no_match {
                return Err("Regex match failed".into());
            }
        }
        Ok(())
    }

    /// The body's MD5 so far, as genhash prints it.
    pub fn digest_hex(&self) -> String {
        hex(&self.md5.clone().finalize())
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// keepalived's `extract_status_code`: the number after the first space of
/// an `HTTP/` status line.
fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    if !line.starts_with(b"HTTP/") {
        return None;
    }
    let sp = line.iter().position(|&b| b == b' ')?;
    let digits: String = line[sp + 1..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    digits.parse().ok()
}

fn content_length(head: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(head);
    text.lines().skip(1).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

// ------------------------------------------------------------------ url regex

/// A url's `regex` with its options, compiled once per configuration.
///
/// keepalived compiles it with PCRE2 and matches the response (from its
/// status line on: the headers are in the subject) as it arrives, with
/// partial matches carried across reads. keepalived-rs uses the `regex`
/// crate: Perl-style syntax without look-around, backreferences, atomic
/// groups or possessive quantifiers (a pattern with them is refused with
/// the reason, and its url fails), and `$` matches only at the very end
/// (PCRE2's `dollar_endonly`). A match must lie within 4 KiB, keepalived's
/// read buffer.
#[derive(Debug)]
pub struct UrlMatcher {
    re: regex::bytes::Regex,
    firstline: bool,
    min_offset: u64,
    max_offset: Option<u64>,
}

/// The longest match found across two reads (keepalived's buffer).
const REGEX_KEEP: usize = 4096;
/// How much is gathered before a scan.
const REGEX_WINDOW: usize = 64 * 1024;

impl UrlMatcher {
    /// Compile `r` (`regex_options` as keepalived names PCRE2's options).
    pub fn compile(r: &UrlRegex) -> Result<UrlMatcher, String> {
        let mut b = regex::bytes::RegexBuilder::new(&r.pattern);
        // PCRE2 without `utf`: bytes, ASCII classes.
        let mut unicode = !r.pattern.is_ascii();
        let mut firstline = false;
        for o in &r.options {
            match o.as_str() {
                "caseless" => {
                    b.case_insensitive(true);
                }
                "dotall" => {
                    b.dot_matches_new_line(true);
                }
                "multiline" => {
                    b.multi_line(true);
                }
                "extended" => {
                    b.ignore_whitespace(true);
                }
                "ungreedy" => {
                    b.swap_greed(true);
                }
                "utf" | "ucp" => unicode = true,
                "firstline" => firstline = true,
                // Already so, or only about how PCRE2 works inside.
                "dollar_endonly" | "never_utf" | "never_ucp" | "no_auto_capture"
                | "no_auto_possess" | "no_dotstar_anchor" | "no_start_optimize"
                | "auto_callout" | "never_backslash_c" | "alt_verbnames" | "use_offset_limit" => {}
                other => {
                    return Err(format!(
                        "regex_options {other} is not supported by keepalived-rs's regex engine"
                    ));
                }
            }
        }
        b.unicode(unicode);
        let re = b.build().map_err(|e| {
            format!(
                "Invalid regex: '{}': {e} (keepalived-rs uses the Rust regex syntax: no look-around or backreferences)",
                r.pattern
            )
        })?;
        Ok(UrlMatcher {
            re,
            firstline,
            min_offset: r.min_offset,
            max_offset: r.max_offset,
        })
    }

    /// Does `subject` (a whole response) match, with the offsets? For
    /// tests and the fuzzer; responses are scanned with
    /// [`HttpResponse::with_regex`].
    pub fn matches(self: &std::sync::Arc<Self>, subject: &[u8]) -> bool {
        let mut s = RegexScan::new(self.clone());
        s.feed(subject);
        s.finish()
    }
}

/// The scan of one response: a window of what arrived, searched when it
/// fills up and at the end; what cannot be part of a match any more is
/// dropped, so a large page costs no more than the window.
#[derive(Debug)]
struct RegexScan {
    m: std::sync::Arc<UrlMatcher>,
    buf: Vec<u8>,
    /// Subject offset of `buf[0]`.
    base: u64,
    /// Where in `buf` the search resumes (bytes before it are context).
    from: usize,
    /// Subject offset of the first newline (`firstline`).
    first_nl: Option<u64>,
    /// `Some` once decided.
    verdict: Option<bool>,
}

impl RegexScan {
    fn new(m: std::sync::Arc<UrlMatcher>) -> Self {
        RegexScan {
            m,
            buf: Vec::new(),
            base: 0,
            from: 0,
            first_nl: None,
            verdict: None,
        }
    }

    fn feed(&mut self, data: &[u8]) {
        if self.verdict.is_some() {
            return;
        }
        if self.first_nl.is_none()
            && let Some(p) = data.iter().position(|&b| b == b'\n')
        {
            self.first_nl = Some(self.base + self.buf.len() as u64 + p as u64);
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= REGEX_WINDOW {
            self.scan(false);
        }
    }

    fn finish(mut self) -> bool {
        if self.verdict.is_none() {
            self.scan(true);
        }
        self.verdict == Some(true)
    }

    fn scan(&mut self, last: bool) {
        let m = &self.m;
        let end = self.base + self.buf.len() as u64;
        let start_abs = (self.base + self.from as u64).max(m.min_offset);
        let too_late = |at: u64| {
            m.max_offset.is_some_and(|max| at > max)
                || (m.firstline && self.first_nl.is_some_and(|nl| at > nl))
        };
        if start_abs < end {
            let at = (start_abs - self.base) as usize;
            if let Some(hit) = m.re.find_at(&self.buf, at) {
                // A match reaching the end of what has arrived may depend
                // on what comes next (`$`, `\b`, a longer alternative):
                // decided at the next scan.
                if last || hit.end() < self.buf.len() {
                    let abs = self.base + hit.start() as u64;
                    // The leftmost match: any later one starts later still.
                    self.verdict = Some(!too_late(abs));
                    self.buf = Vec::new();
                    return;
                }
                self.keep_from(hit.start().saturating_sub(1));
                return;
            }
        }
        if last || too_late(end) {
            self.verdict = Some(false);
            self.buf = Vec::new();
            return;
        }
        // Keep what a match still running on could start in, plus one byte
        // of context for `^` and `\b`.
        self.keep_from(self.buf.len().saturating_sub(REGEX_KEEP + 1));
    }

    /// Drop `buf[..at]`; the search resumes after one byte of context.
    fn keep_from(&mut self, at: usize) {
        if at > 0 {
            self.buf.drain(..at);
            self.base += at as u64;
            self.from = 1;
        }
    }
}

// ------------------------------------------------------------------ SMTP

/// Collects an SMTP reply: complete when a line is `NNN` followed by a
/// space or the end of line (`NNN-` lines continue it).
#[derive(Debug, Default)]
pub struct SmtpReply {
    buf: Vec<u8>,
}

impl SmtpReply {
    /// Feed bytes; `Some(code)` once a whole reply is in (the code of its
    /// last line, `None` in it when the line has no 3-digit code).
    pub fn feed(&mut self, data: &[u8]) -> Option<Option<u16>> {
        self.buf.extend_from_slice(data);
        loop {
            let nl = self.buf.iter().position(|&b| b == b'\n')?;
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            let code = (line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit)).then(|| {
                (line[0] - b'0') as u16 * 100
                    + (line[1] - b'0') as u16 * 10
                    + (line[2] - b'0') as u16
            });
            if code.is_some() && line.get(3) == Some(&b'-') {
                continue;
            }
            return Some(code);
        }
    }

    /// Too much without an end of line.
    pub fn overflow(&self) -> bool {
        self.buf.len() > 16 * 1024
    }
}

// ------------------------------------------------------------------ DNS

/// keepalived's `dns_make_query`: one question, recursion desired, class
/// IN; `name` "" or "." is the root.
pub fn dns_query(id: u16, name: &str, qtype: DnsType) -> Vec<u8> {
    let mut q = Vec::with_capacity(32 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(label.len().min(63) as u8);
        q.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
    }
    q.push(0);
    q.extend_from_slice(&qtype.code().to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// keepalived's `dns_recv_thread`: `None` for a datagram to ignore (too
/// short, another id, not a response), else the answer's verdict: RCODE 0
/// is up.
pub fn dns_answer(id: u16, resp: &[u8]) -> Option<Result<(), String>> {
    if resp.len() < 12 || u16::from_be_bytes([resp[0], resp[1]]) != id {
        return None;
    }
    let flags = u16::from_be_bytes([resp[2], resp[3]]);
    if flags & 0x8000 == 0 {
        return None;
    }
    match flags & 0x000f {
        0 => Some(Ok(())),
        rcode => Some(Err(format!("read error occurred. (rcode = {rcode})"))),
    }
}

// ------------------------------------------------------------------ UDP

/// keepalived's default UDP_CHECK payload when none is configured (its
/// `UDP_BUFSIZE` bytes of a fixed pattern).
pub const UDP_DEFAULT_PAYLOAD: [u8; 32] = *b"keepalived-rs UDP_CHECK payload!";

/// keepalived's `check_udp_reply`: length within bounds and the expected
/// leading bytes (wildcard nibbles masked).
pub fn udp_reply_ok(reply: &[u8], u: &UdpCheck) -> bool {
    if reply.len() < usize::from(u.min_reply_length)
        || reply.len() > usize::from(u.max_reply_length)
    {
        return false;
    }
    let Some(p) = &u.reply else {
        return true;
    };
    reply
        .iter()
        .zip(&p.data)
        .enumerate()
        .all(|(i, (got, want))| {
            let mask = p.mask.as_ref().map_or(0, |m| m[i]);
            (got ^ want) & !mask == 0
        })
}

// ------------------------------------------------------------------ ICMP

/// An echo request for an ICMP datagram socket (the kernel sets the
/// identifier and the checksum).
pub fn echo_request(v6: bool, seq: u16) -> Vec<u8> {
    let mut p = vec![if v6 { 128 } else { 8 }, 0, 0, 0, 0, 0];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(b"keepalived-rs PING_CHECK");
    p
}

/// Whether `reply` (as an ICMP datagram socket returns it: the ICMP
/// header on) is the echo reply to `seq`.
pub fn echo_reply_ok(v6: bool, seq: u16, reply: &[u8]) -> bool {
    reply.len() >= 8
        && reply[0] == if v6 { 129 } else { 0 }
        && u16::from_be_bytes([reply[6], reply[7]]) == seq
}

#[cfg(test)]
mod tests {
    use super::*;
    use config::model::lvs::{HexPattern, StatusRange};

    fn url(path: &str, host: Option<&str>, digest: Option<[u8; 16]>) -> Url {
        Url {
            path: path.into(),
            digest,
            status_codes: vec![StatusRange { min: 200, max: 299 }],
            virtualhost: None,
            request_host: host.map(str::to_string),
            sni_name: None,
            regex: None,
            loc: config::Loc::new(std::sync::Arc::new(std::path::PathBuf::from("t")), 1),
        }
    }

    #[test]
    fn requests_are_keepalived_s() {
        let dst: SocketAddr = "10.1.2.3:8080".parse().unwrap();
        assert_eq!(
            http_request(&url("/health", None, None), HttpProtocol::Http10, dst),
            b"GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.1.2.3:8080\r\n\r\n"
        );
        assert_eq!(
            http_request(&url("/", Some("www.example.com"), None), HttpProtocol::Http11, dst),
            b"GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n"
        );
        let v6: SocketAddr = "[2001:db8::1]:80".parse().unwrap();
        assert_eq!(
            http_request(&url("/x", None, None), HttpProtocol::Http10Close, v6),
            b"GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [2001:db8::1]:80\r\n\r\n"
        );
    }

    #[test]
    fn response_status_and_digest() {
        // MD5("hello\n") = b1946ac92492d2347c6235b4d2611184
        let d = [
            0xb1, 0x94, 0x6a, 0xc9, 0x24, 0x92, 0xd2, 0x34, 0x7c, 0x62, 0x35, 0xb4, 0xd2, 0x61,
            0x11, 0x84,
        ];
        let u = url("/", None, Some(d));
        // Split anywhere, even inside the header terminator.
        let full = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n";
        for cut in 0..full.len() {
            let mut r = HttpResponse::new();
            r.feed(&full[..cut]).unwrap();
            r.feed(&full[cut..]).unwrap();
            assert_eq!(r.digest_hex(), "b1946ac92492d2347c6235b4d2611184");
            assert_eq!(r.verdict(&u), Ok(()), "cut at {cut}");
        }
        let mut r = HttpResponse::new();
        r.feed(b"HTTP/1.1 200 OK\r\n\r\nhello!").unwrap();
        assert!(r.verdict(&u).unwrap_err().starts_with("MD5 digest error"));
        let mut r = HttpResponse::new();
        r.feed(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").unwrap();
        assert_eq!(r.verdict(&u), Err("HTTP status code error (503)".into()));
        assert_eq!(
            HttpResponse::new().verdict(&u),
            Err("Read, no data received".into())
        );
    }

    #[test]
    fn content_length_bounds_the_digest_and_completes() {
        let mut u = url("/", None, None);
        u.status_codes = vec![
            StatusRange { min: 300, max: 302 },
            StatusRange { min: 404, max: 404 },
        ];
        let mut r = HttpResponse::new();
        r.feed(b"HTTP/1.1 404 Not Found\r\ncontent-length: 6\r\n\r\nhel")
            .unwrap();
        assert!(!r.complete());
        r.feed(b"lo\nEXTRA").unwrap();
        assert!(r.complete());
        assert_eq!(r.digest_hex(), "b1946ac92492d2347c6235b4d2611184");
        assert_eq!(r.verdict(&u), Ok(()));
    }

    #[test]
    fn smtp_multiline_replies() {
        let mut r = SmtpReply::default();
        assert_eq!(r.feed(b"220-mail.example.com ESMTP\r\n220-more"), None);
        assert_eq!(r.feed(b"\r\n220 ready\r\n"), Some(Some(220)));
        assert_eq!(r.feed(b"250 hello\r\n"), Some(Some(250)));
        assert_eq!(r.feed(b"garbage\n"), Some(None));
    }

    #[test]
    fn dns_query_bytes_and_answers() {
        let q = dns_query(0x1234, "example.com", DnsType::A);
        assert_eq!(
            q,
            [
                &[0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0][..],
                b"\x07example\x03com\x00",
                &[0, 1, 0, 1]
            ]
            .concat()
        );
        // The root (keepalived's default name "."), SOA.
        assert_eq!(&dns_query(1, "", DnsType::Soa)[12..], &[0, 0, 6, 0, 1]);
        assert_eq!(
            dns_query(1, ".", DnsType::Soa),
            dns_query(1, "", DnsType::Soa)
        );
        let mut resp = q.clone();
        resp[2] = 0x81;
        resp[3] = 0x80;
        assert_eq!(dns_answer(0x1234, &resp), Some(Ok(())));
        assert_eq!(dns_answer(0x1235, &resp), None, "another id");
        resp[3] = 0x83;
        assert!(dns_answer(0x1234, &resp).unwrap().is_err(), "NXDOMAIN");
        assert_eq!(dns_answer(0x1234, &q), None, "a query, not a response");
    }

    #[test]
    fn udp_replies() {
        let mut u = UdpCheck {
            payload: None,
            require_reply: true,
            reply: Some(HexPattern {
                data: vec![0xab, 0xc0],
                mask: Some(vec![0, 0x0f]),
            }),
            min_reply_length: 2,
            max_reply_length: 4,
        };
        assert!(udp_reply_ok(&[0xab, 0xc7, 1], &u));
        assert!(!udp_reply_ok(&[0xab, 0xd7, 1], &u));
        assert!(!udp_reply_ok(&[0xab], &u), "too short");
        assert!(!udp_reply_ok(&[0xab, 0xc0, 0, 0, 0], &u), "too long");
        u.reply = None;
        assert!(udp_reply_ok(&[1, 2], &u));
    }

    #[test]
    fn echo() {
        let p = echo_request(false, 7);
        assert_eq!(&p[..8], &[8, 0, 0, 0, 0, 0, 0, 7]);
        let mut r = p.clone();
        r[0] = 0;
        assert!(echo_reply_ok(false, 7, &r));
        assert!(!echo_reply_ok(false, 8, &r));
        assert!(!echo_reply_ok(true, 7, &r));
    }
}

#[cfg(test)]
mod regex_tests {
    use super::*;
    use std::sync::Arc;

    fn rx(pattern: &str, options: &[&str], min: u64, max: Option<u64>, no_match: bool) -> UrlRegex {
        UrlRegex {
            pattern: pattern.into(),
            options: options.iter().map(|s| s.to_string()).collect(),
            no_match,
            min_offset: min,
            max_offset: max,
            stack: None,
        }
    }

    fn m(r: &UrlRegex) -> Arc<UrlMatcher> {
        Arc::new(UrlMatcher::compile(r).expect("compiles"))
    }

    fn url_with(r: UrlRegex) -> Url {
        Url {
            path: "/".into(),
            digest: None,
            status_codes: vec![config::model::lvs::StatusRange { min: 200, max: 299 }],
            virtualhost: None,
            request_host: None,
            sni_name: None,
            regex: Some(r),
            loc: config::Loc::new(std::sync::Arc::new(std::path::PathBuf::from("t")), 1),
        }
    }

    const RESP: &[u8] = b"HTTP/1.0 200 OK\r\nServer: test\r\n\r\n<html>status: GREEN</html>\n";

    #[test]
    fn options_map_to_pcre2_semantics() {
        assert!(m(&rx("status: (GREEN|AMBER)", &[], 0, None, false)).matches(RESP));
        assert!(!m(&rx("status: green", &[], 0, None, false)).matches(RESP));
        assert!(m(&rx("status: green", &["caseless"], 0, None, false)).matches(RESP));
        // Not dotall: `.` stops at a newline.
        assert!(!m(&rx("OK.*GREEN", &[], 0, None, false)).matches(RESP));
        assert!(m(&rx("OK.*GREEN", &["dotall"], 0, None, false)).matches(RESP));
        // ^ is the start of the response (the status line) unless multiline.
        assert!(m(&rx("^HTTP/1", &[], 0, None, false)).matches(RESP));
        assert!(!m(&rx("^<html>", &[], 0, None, false)).matches(RESP));
        assert!(m(&rx("^<html>", &["multiline"], 0, None, false)).matches(RESP));
        assert!(m(&rx("status : \\s GREEN", &["extended"], 0, None, false)).matches(RESP));
        // firstline: the match must start on the first line.
        assert!(m(&rx("200", &["firstline"], 0, None, false)).matches(RESP));
        assert!(!m(&rx("GREEN", &["firstline"], 0, None, false)).matches(RESP));
        // Without utf, `.` is a byte and \w is ASCII.
        assert!(m(&rx("a.b", &[], 0, None, false)).matches(b"a\xffb"));
        assert!(!m(&rx("\\w", &[], 0, None, false)).matches("é".as_bytes()));
        assert!(m(&rx("\\w", &["utf"], 0, None, false)).matches("é".as_bytes()));
        // PCRE-only syntax is refused with the reason.
        let e = UrlMatcher::compile(&rx("(a)\\1", &[], 0, None, false)).expect_err("backref");
        assert!(e.contains("Invalid regex"), "{e}");
        let e = UrlMatcher::compile(&rx("x(?=y)", &[], 0, None, false)).expect_err("lookahead");
        assert!(e.contains("Invalid regex"), "{e}");
        let e = UrlMatcher::compile(&rx("x", &["alt_bsux"], 0, None, false)).expect_err("option");
        assert!(e.contains("alt_bsux"), "{e}");
    }

    #[test]
    fn offsets_count_from_the_status_line() {
        let at = RESP.windows(5).position(|w| w == b"GREEN").unwrap() as u64;
        assert!(m(&rx("GREEN", &[], at, None, false)).matches(RESP));
        assert!(!m(&rx("GREEN", &[], at + 1, None, false)).matches(RESP));
        assert!(m(&rx("GREEN", &[], 0, Some(at), false)).matches(RESP));
        assert!(!m(&rx("GREEN", &[], 0, Some(at - 1), false)).matches(RESP));
    }

    #[test]
    fn verdicts_with_regex_no_match() {
        let r = rx("GREEN", &[], 0, None, false);
        let mut resp = HttpResponse::with_regex(m(&r));
        resp.feed(RESP).unwrap();
        assert_eq!(resp.verdict(&url_with(r.clone())), Ok(()));
        let mut no = r.clone();
        no.no_match = true;
        let mut resp = HttpResponse::with_regex(m(&no));
        resp.feed(RESP).unwrap();
        assert_eq!(
            resp.verdict(&url_with(no.clone())),
            Err("Regex match failed".into())
        );
        let red = rx("RED", &[], 0, None, true);
        let mut resp = HttpResponse::with_regex(m(&red));
        resp.feed(RESP).unwrap();
        assert_eq!(resp.verdict(&url_with(red.clone())), Ok(()));
        // A url whose regex could not be compiled fails.
        let mut resp = HttpResponse::new();
        resp.feed(RESP).unwrap();
        assert!(resp.verdict(&url_with(r)).is_err());
    }

    #[test]
    fn large_pages_are_scanned_in_windows_byte_by_byte_or_at_once() {
        // The match straddles window boundaries; fed in odd-sized pieces.
        let mut page = b"HTTP/1.0 200 OK\r\n\r\n".to_vec();
        page.extend(std::iter::repeat_n(b'x', 200_000));
        page.extend_from_slice(b"<<MARKER 42>>");
        page.extend(std::iter::repeat_n(b'y', 100_000));
        let r = rx("MARKER [0-9]+>>", &[], 0, None, false);
        let mat = m(&r);
        for piece in [1usize, 7, 4096, 65_536, 70_001, page.len()] {
            let mut resp = HttpResponse::with_regex(mat.clone());
            for c in page.chunks(piece) {
                resp.feed(c).unwrap();
            }
            assert_eq!(
                resp.verdict(&url_with(r.clone())),
                Ok(()),
                "pieces of {piece}"
            );
        }
        // `$` is the end of the response, not of a window.
        let end = rx("y$", &[], 0, None, false);
        let me = m(&end);
        let mut resp = HttpResponse::with_regex(me.clone());
        for c in page.chunks(65_536) {
            resp.feed(c).unwrap();
        }
        assert_eq!(resp.verdict(&url_with(end.clone())), Ok(()));
        assert!(!me.matches(b"HTTP/1.0 200 OK\r\n\r\nyz"));
        // Beyond max_offset: no match however far it goes.
        let far = rx("MARKER", &[], 0, Some(1000), false);
        assert!(!m(&far).matches(&page));
    }
}
