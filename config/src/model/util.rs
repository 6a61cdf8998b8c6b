//! Value parsers shared by every section, reporting problems the way
//! keepalived words them (e.g. `number '300' outside range [1, 255]`).

use crate::ast::Node;
use crate::diag::Diagnostics;

/// The first argument of `node`, or an error naming the keyword.
pub fn one_arg<'a>(node: &'a Node, diags: &mut Diagnostics) -> Option<&'a str> {
    match node.arg(0) {
        Some(a) => Some(a),
        None => {
            diags.error(&node.loc, format!("{} requires a value", node.keyword));
            None
        }
    }
}

/// An unsigned integer within `[min, max]`, keepalived's wording on failure.
pub fn uint_in(
    node: &Node,
    text: &str,
    min: u64,
    max: u64,
    diags: &mut Diagnostics,
) -> Option<u64> {
    match text.parse::<u64>() {
        Ok(v) if v >= min && v <= max => Some(v),
        Ok(_) => {
            diags.error(
                &node.loc,
                format!("number '{text}' outside range [{min}, {max}]"),
            );
            None
        }
        Err(_) => {
            diags.error(&node.loc, format!("invalid number '{text}'"));
            None
        }
    }
}

/// A script as configured (`script`, `notify_*`, `misc_path`, ...):
/// the command line split into words the way keepalived splits it, and the
/// user/group it runs as when the statement names one. The parent's script
/// runner executes these by their position in the model, never a path sent
/// by a worker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScriptSpec {
    pub argv: Vec<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub loc: crate::diag::Loc,
}

// ---------------------------------------------------------------------------
// keepalived's value readers (lib/parser.c), worded as `keepalived -t` words
// them. Bad numbers are warnings: keepalived reports them and ignores or
// defaults the setting; the daemon still runs.
// ---------------------------------------------------------------------------

/// keepalived's `check_true_false`: `true|on|yes` / `false|off|no`.
pub fn parse_bool_word(s: &str) -> Option<bool> {
    match s {
        "true" | "on" | "yes" => Some(true),
        "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// Argument `i` (0-based, after the keyword). When it is missing keepalived
/// stops reading the configuration (`null_strvec`: exit 2, even with `-t`):
/// reported as an error in its words.
pub fn arg_or_missing<'a>(node: &'a Node, i: usize, diags: &mut Diagnostics) -> Option<&'a str> {
    if let Some(a) = node.arg(i) {
        return Some(a);
    }
    let prev = if i == 0 {
        node.keyword.as_str()
    } else {
        node.args
            .get(i - 1)
            .map_or("***MISSING ***", String::as_str)
    };
    diags.error(
        &node.loc,
        format!(
            "*** Configuration line starting `{}` is missing a parameter after keyword `{}` at word position {}",
            node.keyword,
            prev,
            i + 2
        ),
    );
    None
}

/// keepalived's `read_unsigned`: an unsigned decimal within `[min, max]`
/// (`max` at most `u32::MAX`); problems are warnings.
pub fn read_unsigned(
    node: &Node,
    text: &str,
    min: u64,
    max: u64,
    diags: &mut Diagnostics,
) -> Option<u64> {
    let t = text.trim_start_matches([' ', '\t']);
    if t.starts_with('-') {
        diags.warn(&node.loc, format!("negative number '{text}'"));
        return None;
    }
    let digits = t.strip_prefix('+').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        diags.warn(&node.loc, format!("invalid number '{text}'"));
        return None;
    }
    let v = match digits.parse::<u64>() {
        Ok(v) if v <= u64::from(u32::MAX) => v,
        _ => {
            diags.warn(
                &node.loc,
                format!("number '{text}' outside unsigned integer range"),
            );
            return None;
        }
    };
    if v < min || v > max {
        diags.warn(
            &node.loc,
            format!("number '{text}' outside range [{min}, {max}]"),
        );
        return None;
    }
    Some(v)
}

/// `garp_extra_if` / `vrrp_garp_extra_if` (and their old names): `[all]
/// SECS` in any order, SECS from `min` to 86400. Returns whether `all` was
/// given (it counts even on a line ignored for a bad word, as keepalived's
/// handlers set it as they go) and the seconds, `None` for an ignored
/// line (said, with `prefix` before the keyword). The deprecated name
/// `old` is said to be so in favour of `new`.
pub fn garp_extra_if(
    node: &Node,
    min: u64,
    (old, new): (&str, &str),
    prefix: &str,
    diags: &mut Diagnostics,
) -> (bool, Option<u64>) {
    let k = node.keyword.as_str();
    if k == old {
        diags.warn(
            &node.loc,
            format!("Keyword \"{old}\" is deprecated - please use \"{new}\""),
        );
    }
    let mut all = false;
    let mut secs = None;
    for a in &node.args {
        if a == "all" {
            all = true;
        } else if let Some(v) = read_unsigned(node, a, min, 86400, diags) {
            secs = Some(v);
        } else {
            diags.warn(&node.loc, format!("{prefix}{k} '{a}' invalid - ignoring"));
            return (all, None);
        }
    }
    if secs.is_none() {
        diags.warn(
            &node.loc,
            format!("{prefix}{k} specified without time - ignoring"),
        );
    }
    (all, secs)
}

/// keepalived's `read_int`: a signed decimal within `[min, max]`.
pub fn read_int(
    node: &Node,
    text: &str,
    min: i64,
    max: i64,
    diags: &mut Diagnostics,
) -> Option<i64> {
    let t = text.trim_start_matches([' ', '\t']);
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        diags.warn(&node.loc, format!("invalid number '{text}'"));
        return None;
    }
    let v = match digits.parse::<i64>() {
        Ok(v) if v <= i64::from(i32::MAX) + i64::from(neg) => {
            if neg {
                -v
            } else {
                v
            }
        }
        _ => {
            diags.warn(&node.loc, format!("number '{text}' outside integer range"));
            return None;
        }
    };
    if v < min || v > max {
        diags.warn(
            &node.loc,
            format!("number '{text}' outside range [{min}, {max}]"),
        );
        return None;
    }
    Some(v)
}

/// keepalived's `read_decimal_unsigned`: a decimal fraction with at most
/// `shift` decimal places, returned as `value * 10^shift` and checked
/// against `[min, max]` (in those units). More places than `shift` are
/// reported and rounded, as keepalived does.
pub fn read_decimal(
    node: &Node,
    text: &str,
    min: u64,
    max: u64,
    shift: u32,
    diags: &mut Diagnostics,
) -> Option<u64> {
    if text.starts_with('-') {
        diags.warn(&node.loc, format!("negative number '{text}'"));
        return None;
    }
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    let mut frac = frac_part.to_string();
    let mut round_up = false;
    if frac.len() > shift as usize {
        diags.warn(
            &node.loc,
            format!("number '{text}' has too many decimal places"),
        );
        round_up = frac.as_bytes()[shift as usize] >= b'5';
        frac.truncate(shift as usize);
    }
    while frac.len() < shift as usize {
        frac.push('0');
    }
    let all = format!("{int_part}{frac}");
    let int_ok = int_part.strip_prefix('+').unwrap_or(int_part);
    let valid = !all.is_empty()
        && int_ok.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        diags.warn(&node.loc, format!("invalid number '{text}'"));
        return None;
    }
    let digits = all.trim_start_matches('+');
    let Ok(mut v) = digits.parse::<u64>() else {
        diags.warn(
            &node.loc,
            format!("number '{text}' outside unsigned decimal range"),
        );
        return None;
    };
    if round_up {
        v += 1;
    }
    if v < min || v > max {
        let unit = 10u64.pow(shift);
        let w = shift as usize;
        diags.warn(
            &node.loc,
            format!(
                "number '{text}' outside range [{}.{:0w$}, {}.{:0w$}]",
                min / unit,
                min % unit,
                max / unit,
                max % unit
            ),
        );
        return None;
    }
    Some(v)
}

/// keepalived's timer resolution: microseconds, 6 decimal places.
pub const TIMER_HZ: u64 = 1_000_000;
pub const TIMER_HZ_DIGITS: u32 = 6;

/// A keepalived timer value (microseconds) as a `Duration`.
pub fn micros(v: u64) -> std::time::Duration {
    std::time::Duration::from_micros(v)
}

/// An IPv4 or IPv6 address as keepalived's `inet_stosockaddr` reads one
/// (no port; an IPv6 `%scope` suffix is not accepted).
pub fn parse_ip(text: &str) -> Option<std::net::IpAddr> {
    text.parse().ok()
}

/// Split a command line the way keepalived's `alloc_strvec_quoted_escaped`
/// does (the front end's splitter): words separated by blanks, `"..."` and
/// `'...'` quoting, `\` escapes. The error is keepalived's message.
pub fn split_command(src: &str) -> Result<Vec<String>, String> {
    use crate::frontend::{QeError, split_quoted_escaped};
    split_quoted_escaped(src).map_err(|e| match e {
        QeError::MissingTerminator(q) => format!("String '{src}': missing terminating {q}"),
        QeError::MissingEscapeChar => format!("Missing escape char at end: '{src}'"),
    })
}

/// A script statement: `KEYWORD "COMMAND ARGS..." [USER [GROUP]]` as
/// keepalived's `notify_script_init` reads it. The command string (the
/// first argument) is split by [`split_command`]; when `with_user` the next
/// two arguments are the user and group it runs as. `None` (with a warning)
/// when there is no command or it cannot be split.
pub fn parse_script(node: &Node, with_user: bool, diags: &mut Diagnostics) -> Option<ScriptSpec> {
    let cmd = node.arg(0)?;
    let argv = match split_command(cmd) {
        Ok(w) if !w.is_empty() => w,
        Ok(_) => {
            diags.warn(
                &node.loc,
                format!("Unable to parse script '{cmd}' - ignoring"),
            );
            return None;
        }
        Err(e) => {
            diags.warn(&node.loc, e);
            return None;
        }
    };
    let (user, group) = if with_user {
        (node.args.get(1).cloned(), node.args.get(2).cloned())
    } else {
        (None, None)
    };
    Some(ScriptSpec {
        argv,
        user,
        group,
        loc: node.loc.clone(),
    })
}
