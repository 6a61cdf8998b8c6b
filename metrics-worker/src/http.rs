//! The little HTTP/1.x the metrics endpoint needs, sans-IO: read a
//! request head (bounded), answer GET/HEAD /metrics, say 404/405/400 to
//! anything else, then close the connection.

/// The longest request head accepted (request line and headers).
pub const MAX_HEAD: usize = 8192;

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// The head is not complete yet.
    Incomplete,
    /// A scrape: `head` is true for HEAD (no body in the answer).
    Metrics { head: bool },
    /// Anything else: answer with this status line and close.
    Reject(&'static str),
}

/// Parse what a client sent so far.
pub fn parse(buf: &[u8]) -> Parsed {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| {
        // Be lenient with bare LF line ends, as many servers are.
        buf.windows(2).position(|w| w == b"\n\n")
    });
    let Some(end) = end else {
        return if buf.len() > MAX_HEAD {
            Parsed::Reject("431 Request Header Fields Too Large")
        } else {
            Parsed::Incomplete
        };
    };
    if end > MAX_HEAD {
        return Parsed::Reject("431 Request Header Fields Too Large");
    }
    let Ok(head) = std::str::from_utf8(&buf[..end]) else {
        return Parsed::Reject("400 Bad Request");
    };
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parsed::Reject("400 Bad Request");
    };
    if !version.starts_with("HTTP/1.") {
        return Parsed::Reject("400 Bad Request");
    }
    let path = target.split('?').next().unwrap_or("");
    if path != "/metrics" {
        return Parsed::Reject("404 Not Found");
    }
    match method {
        "GET" => Parsed::Metrics { head: false },
        "HEAD" => Parsed::Metrics { head: true },
        _ => Parsed::Reject("405 Method Not Allowed"),
    }
}

/// A whole response; the body is left out for HEAD.
pub fn response(status: &str, content_type: &str, body: &str, head: bool) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head {
        r.extend_from_slice(body.as_bytes());
    }
    r
}

/// The content type of the text exposition format.
pub const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"),
            Parsed::Incomplete
        );
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Parsed::Metrics { head: false }
        );
        assert_eq!(
            parse(b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Parsed::Metrics { head: true }
        );
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1\n\n"),
            Parsed::Metrics { head: false }
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\n\r\n"),
            Parsed::Reject("404 Not Found")
        );
        assert_eq!(
            parse(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Parsed::Reject("405 Method Not Allowed")
        );
        assert_eq!(
            parse(b"GET /metrics\r\n\r\n"),
            Parsed::Reject("400 Bad Request")
        );
        assert_eq!(
            parse(b"GET /metrics SPDY/3\r\n\r\n"),
            Parsed::Reject("400 Bad Request")
        );
        assert_eq!(
            parse(&[b'x'; MAX_HEAD + 1]),
            Parsed::Reject("431 Request Header Fields Too Large")
        );
        assert_eq!(
            parse(b"\xff\xfe / HTTP/1.1\r\n\r\n"),
            Parsed::Reject("400 Bad Request")
        );
    }

    #[test]
    fn responses() {
        let r = response("200 OK", EXPOSITION, "a 1\n", false);
        assert_eq!(
            String::from_utf8(r).expect("utf-8"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: 4\r\nConnection: close\r\n\r\na 1\n"
        );
        let r = response("200 OK", EXPOSITION, "a 1\n", true);
        assert!(
            String::from_utf8(r)
                .expect("utf-8")
                .ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n")
        );
    }
}
