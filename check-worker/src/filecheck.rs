//! FILE_CHECK's rules (keepalived 2.2.7's track_file.c, check side),
//! without I/O: what a tracked file's contents mean, and what a real
//! server's FILE_CHECK makes of the number.
//!
//! - The file holds a number, read as C's `strtol(buf, NULL, 0)` does on
//!   its first 127 bytes (leading blanks, a sign, `0x` hex, `0` octal; what
//!   follows the digits is ignored; no digits is 0). A number out of the
//!   `int` range is ignored (the last value stays). A file that is missing,
//!   unreadable or empty counts as 0.
//! - With weight 0 the FILE_CHECK is down while the value is non-zero (up
//!   at 0); `reverse` swaps this (down at 0).
//! - With a weight, the value times the weight (negated by `reverse`),
//!   kept within `[-IPVS_WEIGHT_MAX, IPVS_WEIGHT_MAX - 1]`, is added to the
//!   real server's weight; reaching `-IPVS_WEIGHT_MAX` takes the FILE_CHECK
//!   down instead ("FAULT"), and leaving it brings it back up without a
//!   weight change (as keepalived does).

/// keepalived's `IPVS_WEIGHT_MAX`.
pub const IPVS_WEIGHT_MAX: i64 = 65535;

/// A FILE_CHECK's status for a value: the weight adjustment, or
/// [`FAULT`] when the check is down.
pub const FAULT: i64 = -IPVS_WEIGHT_MAX;

/// The number in a tracked file's first bytes; `None` when it is out of
/// range (keepalived logs "Invalid number" and keeps the last value).
pub fn parse_value(buf: &[u8]) -> Option<i64> {
    let buf = &buf[..buf.len().min(127)];
    // C strings end at the first NUL.
    let buf = buf.split(|&b| b == 0).next().unwrap_or(&[]);
    let mut i = 0;
    while i < buf.len() && matches!(buf[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < buf.len() && (buf[i] == b'+' || buf[i] == b'-') {
        neg = buf[i] == b'-';
        i += 1;
    }
    let digit = |b: u8, radix: u32| (b as char).to_digit(radix);
    let radix = if buf.get(i) == Some(&b'0')
        && matches!(buf.get(i + 1), Some(b'x' | b'X'))
        && buf.get(i + 2).and_then(|&b| digit(b, 16)).is_some()
    {
        i += 2;
        16
    } else if buf.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    let mut v: i128 = 0;
    while let Some(d) = buf.get(i).and_then(|&b| digit(b, radix)) {
        v = v * i128::from(radix) + i128::from(d);
        if v > i128::from(u64::MAX) {
            // strtol's ERANGE.
            return None;
        }
        i += 1;
    }
    let v = if neg { -v } else { v };
    (i128::from(i32::MIN)..=i128::from(i32::MAX))
        .contains(&v)
        .then_some(v as i64)
}

/// The status a FILE_CHECK of `weight` (and `reverse`) has for `value`:
/// [`FAULT`] (down) or the weight adjustment.
pub fn status(value: i64, weight: i32, reverse: bool) -> i64 {
    if weight == 0 {
        if (value != 0) != reverse { FAULT } else { 0 }
    } else {
        let mult = if reverse { -1 } else { 1 };
        (value * i64::from(weight) * mult).clamp(-IPVS_WEIGHT_MAX, IPVS_WEIGHT_MAX - 1)
    }
}

/// What a change of status does to the FILE_CHECK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    Down,
    Up,
    /// Add this to the real server's weight.
    Weight(i64),
}

/// keepalived's `process_update_checker_track_file_status`.
pub fn transition(previous: i64, new: i64) -> Transition {
    if previous == new {
        Transition::None
    } else if new == FAULT {
        Transition::Down
    } else if previous == FAULT {
        Transition::Up
    } else {
        Transition::Weight(new - previous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_as_strtol_base_0() {
        assert_eq!(parse_value(b"0\n"), Some(0));
        assert_eq!(parse_value(b"1\n"), Some(1));
        assert_eq!(parse_value(b"  -12 trailing"), Some(-12));
        assert_eq!(parse_value(b"+7"), Some(7));
        assert_eq!(parse_value(b"0x1f"), Some(31));
        assert_eq!(parse_value(b"0X1F"), Some(31));
        assert_eq!(parse_value(b"010"), Some(8));
        assert_eq!(parse_value(b"08"), Some(0));
        assert_eq!(parse_value(b"0x"), Some(0));
        assert_eq!(parse_value(b"abc"), Some(0));
        assert_eq!(parse_value(b""), Some(0));
        assert_eq!(parse_value(b"\t\n 5"), Some(5));
        assert_eq!(parse_value(b"2147483647"), Some(i64::from(i32::MAX)));
        assert_eq!(parse_value(b"-2147483648"), Some(i64::from(i32::MIN)));
        assert_eq!(parse_value(b"2147483648"), None);
        assert_eq!(parse_value(b"99999999999999999999999"), None);
        // Only the first 127 bytes are read.
        let mut long = vec![b' '; 126];
        long.extend_from_slice(b"42");
        assert_eq!(parse_value(&long), Some(4));
    }

    #[test]
    fn weight_zero_is_up_at_zero_only() {
        assert_eq!(status(0, 0, false), 0);
        assert_eq!(status(1, 0, false), FAULT);
        assert_eq!(status(-3, 0, false), FAULT);
        // reverse: down at 0, up otherwise.
        assert_eq!(status(0, 0, true), FAULT);
        assert_eq!(status(1, 0, true), 0);
        assert_eq!(status(-3, 0, true), 0);
    }

    #[test]
    fn a_weight_scales_the_value() {
        assert_eq!(status(0, 10, false), 0);
        assert_eq!(status(3, 10, false), 30);
        assert_eq!(status(-2, 10, false), -20);
        assert_eq!(status(3, 10, true), -30);
        assert_eq!(status(3, -10, false), -30);
        // Clamped; the bottom is down.
        assert_eq!(status(100_000, 1, false), IPVS_WEIGHT_MAX - 1);
        assert_eq!(status(-100_000, 1, false), FAULT);
        assert_eq!(status(i64::from(i32::MAX), 65535, true), FAULT);
    }

    #[test]
    fn transitions_follow_keepalived() {
        assert_eq!(transition(0, 0), Transition::None);
        assert_eq!(transition(0, FAULT), Transition::Down);
        assert_eq!(transition(30, FAULT), Transition::Down);
        assert_eq!(transition(FAULT, 0), Transition::Up);
        // Leaving FAULT changes no weight.
        assert_eq!(transition(FAULT, 20), Transition::Up);
        assert_eq!(transition(10, 30), Transition::Weight(20));
        assert_eq!(transition(30, -10), Transition::Weight(-40));
    }
}
