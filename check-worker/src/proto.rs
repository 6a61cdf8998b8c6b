//! What the checkers say and expect, without sockets: keepalived's HTTP
//! request and response handling (with the MD5 digest genhash prints), the
//! SMTP dialogue's replies, DNS queries and answers, UDP reply matching and
//! ICMP echo.

use config::model::lvs::{DnsType, HttpProtocol, UdpCheck, Url};
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
}

impl HttpResponse {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed what the server sent.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), String> {
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
            let got: [u8; 16] = self.md5.finalize().into();
            if got != want {
                return Err(format!("MD5 digest error (got {})", hex(&got)));
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
