//! `$NAME=VALUE` definitions, their substitution, and the `~SEQ` / `~LST`
//! line generators, following keepalived's lib/parser.c.

use std::collections::HashMap;
use std::path::Path;

/// Longest line substitution may build. keepalived's own buffer is 1024
/// bytes; we allow more but still stop runaway self-references.
pub const MAX_SUBST_LINE: usize = 16 * 1024;
/// Most substitutions performed for a single line (definitions that refer
/// to each other in a cycle would otherwise loop forever).
pub const MAX_SUBST_COUNT: usize = 10_000;

/// A predefined name computed at use time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdFn {
    /// `${_PWD}`: the folder of the file being read.
    Pwd,
    /// `${_INSTANCE}`: the instance name.
    Instance,
    /// `${_RANDOM}`, `${_RANDOM MIN}`, `${_RANDOM MIN MAX}`.
    Random,
}

#[derive(Debug, Clone)]
pub struct Def {
    pub value: String,
    /// Defined with a trailing `\`: the value holds several lines joined
    /// by `\n`; it may only be used at the end of a line.
    pub multiline: bool,
    pub func: Option<StdFn>,
}

impl Def {
    fn max_params(&self) -> usize {
        if self.func == Some(StdFn::Random) {
            2
        } else {
            0
        }
    }
}

/// What the substitution needs to know about its surroundings.
pub struct Ctx<'a> {
    pub pwd: &'a Path,
    pub instance: &'a str,
}

/// The outcome of substituting one line.
#[derive(Debug, Default)]
pub struct Subst {
    /// At least one definition was replaced.
    pub changed: bool,
    /// Lines 2.. of multi-line definitions, to be read after this one;
    /// the last group is read first (keepalived's multiline stack). With
    /// each group, how many of [`Subst::names`] led to it (the definitions
    /// replaced before it, and itself).
    pub more_lines: Vec<(Vec<String>, usize)>,
    /// A problem to report (the line is left as far as it got).
    pub error: Option<String>,
    /// The definitions replaced, in order (repeats included).
    pub names: Vec<String>,
}

pub struct Defs {
    map: HashMap<String, Def>,
    rng: u64,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A reference found by [`Defs::find_ref`].
struct Ref {
    /// Total length of the reference text after the `$`.
    len_after_dollar: usize,
    /// Byte range (relative to just after the `$`) of `${NAME params}`.
    params: Option<(usize, usize)>,
}

impl Default for Defs {
    fn default() -> Self {
        Self::new()
    }
}

impl Defs {
    pub fn new() -> Self {
        let mut map = HashMap::new();
        let std = |f| Def {
            value: String::new(),
            multiline: false,
            func: Some(f),
        };
        map.insert("_PWD".to_string(), std(StdFn::Pwd));
        map.insert("_INSTANCE".to_string(), std(StdFn::Instance));
        map.insert("_RANDOM".to_string(), std(StdFn::Random));
        let lit = |v: &str| Def {
            value: v.to_string(),
            multiline: false,
            func: None,
        };
        map.insert("_HASH".to_string(), lit("#"));
        map.insert("_BANG".to_string(), lit("!"));
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
            ^ u64::from(std::process::id()).rotate_left(32);
        Self { map, rng: seed | 1 }
    }

    /// Set a definition (used by `~SEQ`/`~LST` for their variables).
    pub fn set(&mut self, name: &str, value: String) {
        self.map.insert(
            name.to_string(),
            Def {
                value,
                multiline: false,
                func: None,
            },
        );
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Def> {
        self.map.get_mut(name)
    }

    /// keepalived's `check_definition`: is `line` a `$NAME=VALUE` line?
    /// If so store it and return the name.
    pub fn check_definition(&mut self, line: &str) -> Option<String> {
        let b = line.as_bytes();
        if b.len() < 2 || b[0] != b'$' || !is_name_start(b[1]) {
            return None;
        }
        let mut p = 2;
        while p < b.len() && b[p] != b'=' {
            if !is_name_char(b[p]) {
                return None;
            }
            p += 1;
        }
        if p >= b.len() {
            return None;
        }
        let name = line[1..p].to_string();
        let vstart = p + 1 + super::lexer::blank_prefix(&b[p + 1..]);
        let raw = &line[vstart..];
        let (value, multiline) = if let Some(body) = raw.strip_suffix('\\') {
            let body = body.trim_end_matches([' ', '\t']);
            if body.is_empty() {
                (String::new(), true)
            } else {
                let mut v = String::with_capacity(body.len() + 1);
                v.push_str(body);
                v.push('\n');
                (v, true)
            }
        } else {
            (raw.to_string(), false)
        };
        self.map.insert(
            name.clone(),
            Def {
                value,
                multiline,
                func: None,
            },
        );
        Some(name)
    }

    /// keepalived's `find_definition` for a reference starting right after
    /// a `$` at `s`.
    fn find_ref(&self, s: &[u8], active: &[String]) -> Option<(Ref, String, &Def)> {
        let braces = s.first() == Some(&b'{');
        let ns = usize::from(braces);
        if !s.get(ns).copied().is_some_and(is_name_start) {
            return None;
        }
        let mut p = ns + 1;
        while p < s.len() && is_name_char(s[p]) {
            p += 1;
        }
        let name_end = p;
        let mut params = None;
        let len_after;
        let allow_multiline;
        if braces {
            let mut pstart = None;
            let mut pend = 0;
            while p < s.len() && (s[p] == b' ' || s[p].is_ascii_digit()) {
                if s[p] != b' ' {
                    if pstart.is_none() {
                        pstart = Some(p);
                    }
                    pend = p;
                }
                p += 1;
            }
            if let Some(ps) = pstart {
                if pend + 1 != p {
                    return None;
                }
                params = Some((ps, pend + 1));
            }
            if s.get(p) != Some(&b'}') {
                return None;
            }
            len_after = p + 1;
            allow_multiline = len_after == s.len();
        } else {
            match s.get(p) {
                None | Some(b' ') | Some(b'\t') | Some(b',') | Some(b')') => {}
                _ => return None,
            }
            len_after = p;
            allow_multiline = p == s.len();
        }
        // Names are ASCII, so this is valid UTF-8.
        let name = std::str::from_utf8(&s[ns..name_end]).ok()?;
        if active.iter().any(|a| a == name) {
            return None;
        }
        let def = self.map.get(name)?;
        if def.multiline && !allow_multiline {
            return None;
        }
        if params.is_some() && def.max_params() == 0 {
            return None;
        }
        Some((
            Ref {
                len_after_dollar: len_after,
                params,
            },
            name.to_string(),
            def,
        ))
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: plenty for `${_RANDOM}`.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33
    }

    fn random_value(&mut self, params: Option<&str>) -> String {
        let mut min: u64 = 0;
        let mut max: u64 = 32767;
        if let Some(p) = params {
            let mut it = p.split(' ').filter(|w| !w.is_empty());
            if let Some(a) = it.next() {
                min = a.parse().unwrap_or(u64::MAX);
            }
            if let Some(b) = it.next() {
                max = b.parse().unwrap_or(u64::MAX);
            }
        }
        let r = self.next_random();
        let span = max.wrapping_sub(min).wrapping_add(1);
        let v = if span == 0 { r } else { r % span }.wrapping_add(min);
        // keepalived prints into a buffer sized for `max`'s digits.
        let width = max.to_string().len();
        let mut s = v.to_string();
        s.truncate(width);
        s
    }

    /// keepalived's `replace_param`: replace `$NAME` / `${NAME}` references
    /// in `buf`. Replaced text is scanned again from the same place, so
    /// definitions may refer to other definitions. A multi-line definition
    /// (only allowed as the last thing on the line) puts its first line in
    /// place and returns the others. Substitution stops after a definition
    /// whose value starts with `~` (so a `~SEQ` can come from one).
    ///
    /// `budget` is the number of substitutions still allowed for this line.
    ///
    /// References to the names in `active` are left alone: those
    /// definitions produced this line (through a multi-line definition, a
    /// brace split or a `~SEQ`), and expanding them again would recurse
    /// without end (keepalived loops forever there).
    pub fn replace(
        &mut self,
        buf: &mut String,
        ctx: &Ctx<'_>,
        budget: &mut usize,
        active: &[String],
    ) -> Subst {
        let mut out = Subst::default();
        let mut cur = 0;
        while let Some(off) = buf.as_bytes()[cur..].iter().position(|&c| c == b'$') {
            cur += off;
            if cur + 1 >= buf.len() {
                break;
            }
            let found = self
                .find_ref(&buf.as_bytes()[cur + 1..], active)
                .map(|(r, name, d)| (r.len_after_dollar, r.params, name, d.clone()));
            let Some((len_after, params, name, def)) = found else {
                cur += 1;
                continue;
            };
            if *budget == 0 {
                out.error = Some(format!(
                    "Definitions on line '{buf}' refer to each other without end"
                ));
                return out;
            }
            *budget -= 1;
            let value = match def.func {
                Some(StdFn::Pwd) => ctx.pwd.to_string_lossy().into_owned(),
                Some(StdFn::Instance) => ctx.instance.to_string(),
                Some(StdFn::Random) => {
                    let p = params.map(|(a, b)| &buf[cur + 1 + a..cur + 1 + b]);
                    let p = p.map(str::to_string);
                    self.random_value(p.as_deref())
                }
                None => def.value.clone(),
            };
            out.names.push(name);
            let replacement: &str = if def.multiline {
                let first_end = value.find('\n').unwrap_or(value.len());
                let rest = if first_end < value.len() {
                    value[first_end + 1..]
                        .split('\n')
                        .map(str::to_string)
                        .collect()
                } else {
                    Vec::new()
                };
                // A multi-line definition met while another one's lines are
                // pending is read first; the caller stacks the groups.
                out.more_lines.push((rest, out.names.len()));
                &value[..first_end]
            } else {
                &value
            };
            let new_len = buf.len() - (1 + len_after) + replacement.len();
            if new_len >= MAX_SUBST_LINE {
                out.error = Some(format!(
                    "Parameter substitution on line '{buf}' would exceed maximum line length"
                ));
                return out;
            }
            buf.replace_range(cur..cur + 1 + len_after, replacement);
            out.changed = true;
            if value.trim_start_matches([' ', '\t']).starts_with('~') {
                break;
            }
        }
        out
    }
}

/// C's `strtol(s, &end, 0)`: optional white space and sign, then a decimal,
/// `0x` hexadecimal or `0` octal number. Returns the value (saturated like
/// C on overflow) and how many bytes were used (0 when there is no number).
pub fn strtol(s: &[u8]) -> (i64, usize) {
    let mut i = 0;
    while i < s.len() && super::lexer::is_white(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let (base, digits_start) = if s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x') | Some(b'X'))
        && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        (16, i + 2)
    } else if s.get(i) == Some(&b'0') {
        (8, i)
    } else {
        (10, i)
    };
    let mut j = digits_start;
    let mut acc: i128 = 0;
    while let Some(d) = s.get(j).and_then(|&c| (c as char).to_digit(base)) {
        acc = (acc * i128::from(base) + i128::from(d)).min(i128::from(u64::MAX) + 1);
        j += 1;
    }
    if j == digits_start {
        return (0, 0);
    }
    let v = if neg { -acc } else { acc };
    let v = v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    (v, j)
}

/// A parsed `~SEQ` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqSpec {
    pub var: String,
    pub start: i64,
    pub step: i64,
    pub end: i64,
    pub hex: bool,
    pub text: String,
}

/// A parsed `~LST` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LstSpec {
    pub vars: Vec<String>,
    pub values: Vec<Vec<String>>,
    pub text: String,
}

fn skip_blanks(b: &[u8], mut p: usize) -> usize {
    while p < b.len() && super::lexer::is_blank(b[p]) {
        p += 1;
    }
    p
}

/// keepalived's `add_seq`. `buf` starts with `~SEQ`. On failure returns
/// the messages keepalived prints (the caller adds the final "Invalid ~SEQ
/// specification" line).
pub fn parse_seq(buf: &str, defs: &mut Defs, ctx: &Ctx<'_>) -> Result<SeqSpec, Vec<String>> {
    let b = buf.as_bytes();
    let mut p = 4;
    let hex = b.get(p) == Some(&b'x');
    if hex {
        p += 1;
    }
    p = skip_blanks(b, p);
    if b.get(p) != Some(&b'(') {
        return Err(vec![]);
    }
    p = skip_blanks(b, p + 1);
    let var_start = p;
    while p < b.len() && !matches!(b[p], b' ' | b'\t' | b',' | b')') {
        p += 1;
    }
    let var_end = p;
    p = skip_blanks(b, p);
    if p >= b.len() || b[p] == b')' || var_end == var_start {
        return Err(vec![format!("Invalid ~SEQ definition '{buf}'")]);
    }
    p = skip_blanks(b, p + 1);
    let Some(close) = b[p..].iter().position(|&c| c == b')').map(|o| p + o) else {
        return Err(vec![format!("~SEQ parameter strings too long '{buf}'")]);
    };
    if close + 1 - p + 1 > 3 * 20 + 3 + 1 {
        return Err(vec![format!("~SEQ parameter strings too long '{buf}'")]);
    }
    // keepalived skips one byte after the variable's name whatever it is;
    // that byte may begin a multi-byte character, so cut the bytes, not the
    // string (found by the config fuzzer).
    let mut params = String::from_utf8_lossy(&b[p..=close]).into_owned();
    let sub = defs.replace(&mut params, ctx, &mut { MAX_SUBST_COUNT }, &[]);
    if !sub.more_lines.is_empty() {
        return Err(vec![format!(
            "~SEQ parameter is multiline definition '{buf}'"
        )]);
    }
    let invalid = || vec![format!("Invalid ~SEQ definition '{buf}'")];
    let pb = params.as_bytes();
    let (one, n) = strtol(pb);
    let mut q = skip_blanks(pb, n);
    let (start, step, end);
    if pb.get(q) == Some(&b')') {
        end = one;
        step = if end < 1 { -1 } else { 1 };
        start = if end < 0 { -1 } else { 1 };
    } else {
        if pb.get(q) != Some(&b',') {
            return Err(invalid());
        }
        let (two, n) = strtol(&pb[q + 1..]);
        q = skip_blanks(pb, q + 1 + n);
        if pb.get(q) == Some(&b')') {
            start = one;
            end = two;
            step = if start <= end { 1 } else { -1 };
        } else {
            if pb.get(q) != Some(&b',') {
                return Err(invalid());
            }
            let (three, n) = strtol(&pb[q + 1..]);
            q = skip_blanks(pb, q + 1 + n);
            if pb.get(q) != Some(&b')') {
                return Err(invalid());
            }
            start = one;
            step = two;
            end = three;
            if step == 0 || (start < end && step < 0) || (start > end && step > 0) {
                return Err(vec![format!("Invalid ~SEQ values '{buf}'")]);
            }
        }
    }
    if hex && (start < 0 || end < 0) {
        return Err(vec![format!(
            "~SEQx is only valid for positive numbers '{buf}'"
        )]);
    }
    let t = skip_blanks(b, close + 1);
    Ok(SeqSpec {
        var: buf[var_start..var_end].to_string(),
        start,
        step,
        end,
        hex,
        text: buf[t..].to_string(),
    })
}

/// keepalived's `add_lst`: `~LST(var, v1, v2, ...) text` or
/// `~LST({a, b}, {1, 2}, {3, 4}, ...) text`. Missing values in a set are
/// empty. On failure returns the messages keepalived prints before its
/// final "Invalid ~LST specification" line.
pub fn parse_lst(buf: &str) -> Result<LstSpec, Vec<String>> {
    let b = buf.as_bytes();
    let fail = || Err(vec![]);
    let mut p = skip_blanks(b, 4);
    if b.get(p) != Some(&b'(') {
        return fail();
    }
    p = skip_blanks(b, p + 1);
    let mut end_char = b',';
    if b.get(p) == Some(&b'{') {
        end_char = b'}';
        p = skip_blanks(b, p + 1);
    }
    let mut vars = Vec::new();
    loop {
        let s = p;
        while p < b.len() && !matches!(b[p], b' ' | b'\t' | b',' | b'}') {
            p += 1;
        }
        vars.push(buf[s..p].to_string());
        p = skip_blanks(b, p);
        if b.get(p) == Some(&end_char) {
            break;
        }
        if b.get(p) != Some(&b',') {
            return fail();
        }
        p = skip_blanks(b, p + 1);
    }
    if b.get(p) == Some(&b'}') {
        p = skip_blanks(b, p + 1);
    }
    if b.get(p) != Some(&b',') {
        return fail();
    }
    p = skip_blanks(b, p + 1);
    let num_vars = vars.len() - 1;
    let mut values = Vec::new();
    loop {
        let mut end_char = b',';
        if b.get(p) == Some(&b'{') {
            end_char = b'}';
            p = skip_blanks(b, p + 1);
        }
        let mut set = Vec::new();
        loop {
            let s = p;
            while p < b.len() && !matches!(b[p], b' ' | b'\t' | b',' | b'}' | b')') {
                p += 1;
            }
            set.push(buf[s..p].to_string());
            p = skip_blanks(b, p);
            let c = b.get(p).copied();
            if c == Some(end_char) || (c == Some(b')') && end_char == b',') {
                break;
            }
            if c != Some(b',') {
                return fail();
            }
            p = skip_blanks(b, p + 1);
            if set.len() > num_vars {
                return Err(vec![format!(
                    "~LST specification has too many values '{buf}'"
                )]);
            }
        }
        while set.len() <= num_vars {
            set.push(String::new());
        }
        values.push(set);
        if b.get(p) == Some(&b'}') && end_char == b'}' {
            p = skip_blanks(b, p + 1);
        }
        if b.get(p) == Some(&b')') {
            break;
        }
        if b.get(p) != Some(&b',') {
            return fail();
        }
        p = skip_blanks(b, p + 1);
    }
    let t = skip_blanks(b, p + 1);
    Ok(LstSpec {
        vars,
        values,
        text: buf.get(t..).unwrap_or("").to_string(),
    })
}
