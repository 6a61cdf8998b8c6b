//! keepalived's value readers as the checker parser uses them, with the
//! exact acceptance rules and wording of `keepalived -t` (lib/parser.c,
//! lib/utils.c). Every problem here is a warning: keepalived reports it and
//! ignores (or defaults) the setting.
//!
//! Where keepalived's daemon and `-t` differ (the daemon takes the leading
//! digits of `5x` as 5, `-t` rejects it), these follow `-t`.

use crate::diag::{Diagnostics, Loc};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Microseconds per second: keepalived's `TIMER_HZ`.
pub const TIMER_HZ: u64 = 1_000_000;
/// keepalived's `TIMER_MAXIMUM` (`ULONG_MAX - 1`), the default upper bound
/// of a timer.
pub const TIMER_MAXIMUM: u64 = u64::MAX - 1;

/// Split `text` as C's `strtoul`/`strtoull` would: optional leading blanks
/// and sign, then digits of `radix`. Returns (negative, value or overflow,
/// rest after the digits). With no digits the rest is the whole `text`.
pub fn strtou(text: &str, radix: u32) -> (bool, Option<u64>, &str) {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let body = if radix == 16 {
        match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            Some(b) if b.chars().next().is_some_and(|c| c.is_ascii_hexdigit()) => b,
            _ => body,
        }
    } else {
        body
    };
    let end = body
        .char_indices()
        .find(|(_, c)| !c.is_digit(radix))
        .map_or(body.len(), |(i, _)| i);
    if end == 0 {
        return (false, Some(0), text);
    }
    let mut val: Option<u64> = Some(0);
    for c in body[..end].chars() {
        let d = u64::from(c.to_digit(radix).unwrap_or(0));
        val = val
            .and_then(|v| v.checked_mul(u64::from(radix)))
            .and_then(|v| v.checked_add(d));
    }
    (neg, val, &body[end..])
}

/// keepalived's `read_unsigned`: a decimal in `[min, max]` (`max` at most
/// `u32::MAX`), reported in keepalived's words; `None` when keepalived
/// rejects the value.
pub fn read_unsigned(
    loc: &Loc,
    text: &str,
    min: u64,
    max: u64,
    diags: &mut Diagnostics,
) -> Option<u64> {
    let lead = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if lead.starts_with('-') {
        diags.warn(loc, format!("negative number '{text}'"));
        return None;
    }
    let (_, val, rest) = strtou(text, 10);
    if !rest.is_empty() {
        diags.warn(loc, format!("invalid number '{text}'"));
        return None;
    }
    match val {
        Some(v) if v <= u64::from(u32::MAX) => {
            if v < min || v > max {
                diags.warn(loc, format!("number '{text}' outside range [{min}, {max}]"));
                None
            } else {
                Some(v)
            }
        }
        _ => {
            diags.warn(
                loc,
                format!("number '{text}' outside unsigned integer range"),
            );
            None
        }
    }
}

/// keepalived's `read_int`: a signed decimal in `[min, max]`.
pub fn read_int(loc: &Loc, text: &str, min: i64, max: i64, diags: &mut Diagnostics) -> Option<i64> {
    let (neg, val, rest) = strtou(text, 10);
    let val = val
        .and_then(|v| i64::try_from(v).ok())
        .map(|v| if neg { -v } else { v });
    if !rest.is_empty() {
        diags.warn(loc, format!("invalid number '{text}'"));
        return None;
    }
    match val {
        Some(v) if v >= i64::from(i32::MIN) && v <= i64::from(i32::MAX) => {
            if v < min || v > max {
                diags.warn(loc, format!("number '{text}' outside range [{min}, {max}]"));
                None
            } else {
                Some(v)
            }
        }
        _ => {
            diags.warn(loc, format!("number '{text}' outside integer range"));
            None
        }
    }
}

fn fmt_micros(v: u64) -> String {
    format!("{}.{:06}", v / TIMER_HZ, v % TIMER_HZ)
}

/// keepalived's `read_timer`: seconds with up to 6 decimal places, in
/// microseconds, within `[min, max]` microseconds. As in keepalived, a
/// number with trailing junk keeps its leading digits when they are in
/// range (`abc` reads as 0), and extra decimal places are rounded.
pub fn read_timer(
    loc: &Loc,
    text: &str,
    min: u64,
    max: u64,
    diags: &mut Diagnostics,
) -> Option<u64> {
    const SHIFT: usize = 6;
    if text.starts_with('-') {
        diags.warn(loc, format!("negative number '{text}'"));
        return None;
    }
    let mut digits = String::with_capacity(text.len() + SHIFT);
    let mut round_up = false;
    let num_dp;
    match text.find('.') {
        Some(dp) => {
            let frac = &text[dp + 1..];
            let mut n = frac.len();
            if n > SHIFT {
                diags.warn(loc, format!("number '{text}' has too many decimal places"));
                round_up = frac.as_bytes()[SHIFT] >= b'5';
                n = SHIFT;
            }
            digits.push_str(&text[..dp]);
            // `n` bytes of a str may split a character: work on bytes.
            digits.push_str(&String::from_utf8_lossy(&frac.as_bytes()[..n]));
            num_dp = n;
        }
        None => {
            digits.push_str(text);
            num_dp = 0;
        }
    }
    for _ in num_dp..SHIFT {
        digits.push('0');
    }
    let (neg, val, rest) = strtou(&digits, 10);
    let valid = rest.is_empty();
    let val = val.map(|v| {
        let v = if neg { v.wrapping_neg() } else { v };
        if round_up { v.wrapping_add(1) } else { v }
    });
    if !valid {
        diags.warn(loc, format!("invalid number '{text}'"));
        return val.filter(|v| *v >= min && *v <= max);
    }
    match val {
        None => {
            diags.warn(
                loc,
                format!("number '{text}' outside unsigned decimal range"),
            );
            None
        }
        Some(v) if v < min || v > max => {
            diags.warn(
                loc,
                format!(
                    "number '{text}' outside range [{}, {}]",
                    fmt_micros(min),
                    fmt_micros(max)
                ),
            );
            None
        }
        Some(v) => Some(v),
    }
}

/// Microseconds as a [`Duration`].
pub fn micros(us: u64) -> Duration {
    Duration::from_micros(us)
}

/// keepalived's `check_true_false`.
pub fn true_false(s: &str) -> Option<bool> {
    match s {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// `inet_pton` for the family keepalived picks (IPv6 when the text has a
/// `:`), on the text before any `-` or `/` (keepalived strips ranges and
/// masks before converting).
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let cut = text
        .find('-')
        .or_else(|| text.find('/'))
        .unwrap_or(text.len());
    let s = &text[..cut];
    if text.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// A port string as keepalived passes it on: all zeros (or empty) means no
/// port (port 0).
pub fn port_or_none(port: Option<&str>) -> Option<&str> {
    port.filter(|p| !p.bytes().all(|b| b == b'0'))
}

/// keepalived's `inet_stosockaddr`: an address and optional port (1-65535,
/// reported through [`read_unsigned`]). `None` when either is invalid.
pub fn sockaddr(
    loc: &Loc,
    ip: &str,
    port: Option<&str>,
    diags: &mut Diagnostics,
) -> Option<SocketAddr> {
    let port = match port {
        Some(p) => u16::try_from(read_unsigned(loc, p, 1, 65535, diags)?).ok()?,
        None => 0,
    };
    parse_ip(ip).map(|a| SocketAddr::new(a, port))
}

/// glibc's `inet_aton` (as numeric `getaddrinfo` uses it): one to four
/// parts, each decimal, octal (leading 0) or hexadecimal (0x); the last
/// part fills the remaining bytes (`200` is 0.0.0.200).
pub fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut vals = Vec::with_capacity(parts.len());
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X"))
        {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        if p.is_empty() || (radix == 16 && digits.is_empty()) {
            return None;
        }
        let v = if digits.is_empty() {
            0
        } else {
            u32::from_str_radix(digits, radix).ok()?
        };
        if !digits.bytes().all(|b| (b as char).is_digit(radix)) {
            return None;
        }
        vals.push(v);
    }
    let (last, head) = vals.split_last()?;
    if head.iter().any(|v| *v > 255) {
        return None;
    }
    let shift = 8 * (4 - head.len() as u32);
    if shift < 32 && *last >= (1u32 << shift) {
        return None;
    }
    let mut addr: u32 = 0;
    for (i, v) in head.iter().enumerate() {
        addr |= v << (24 - 8 * i as u32);
    }
    Some(Ipv4Addr::from(addr | last))
}
