//! `include` patterns: brace expansion, globbing, file checks.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Expand `{a,b}` alternatives the way glibc's `GLOB_BRACE` does: the
/// first (outermost, leftmost) brace group is expanded, each alternative
/// expanded again recursively, results in order. `\` escapes a brace or
/// comma. A `{` without a matching `}` is kept literally. At most `limit`
/// patterns are produced.
pub fn expand_braces(pattern: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(pattern, limit, &mut out);
    out
}

fn expand_into(pattern: &str, limit: usize, out: &mut Vec<String>) {
    if out.len() >= limit {
        return;
    }
    let b = pattern.as_bytes();
    // Find the first unescaped '{' that has a matching '}'.
    let mut i = 0;
    let mut group = None;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'{' => {
                if let Some((close, commas)) = matching_brace(b, i) {
                    group = Some((i, close, commas));
                    break;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    let Some((open, close, commas)) = group else {
        out.push(pattern.to_string());
        return;
    };
    let prefix = &pattern[..open];
    let suffix = &pattern[close + 1..];
    let mut start = open + 1;
    for c in commas.into_iter().chain(std::iter::once(close)) {
        let alt = &pattern[start..c];
        let mut s = String::with_capacity(prefix.len() + alt.len() + suffix.len());
        s.push_str(prefix);
        s.push_str(alt);
        s.push_str(suffix);
        expand_into(&s, limit, out);
        start = c + 1;
    }
}

/// The `}` closing the `{` at `open`, and the top-level commas inside.
fn matching_brace(b: &[u8], open: usize) -> Option<(usize, Vec<usize>)> {
    let mut depth = 0usize;
    let mut commas = Vec::new();
    let mut i = open + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                i += 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                if depth == 0 {
                    return Some((i, commas));
                }
                depth -= 1;
            }
            b',' if depth == 0 => commas.push(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Does the pattern have a `{` not escaped by `\` (keepalived's
/// `have_brace`)?
pub fn has_brace(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'{' => return true,
            _ => i += 1,
        }
    }
    false
}

/// Does `s` have an unescaped wildcard (`*`, `?`, `[`)?
fn has_magic(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'*' | b'?' | b'[' => return true,
            _ => i += 1,
        }
    }
    false
}

/// What globbing one alternative found.
#[derive(Debug, Default)]
pub struct GlobResult {
    /// Matches, sorted bytewise (glibc sorts with `strcmp` in the C
    /// locale).
    pub paths: Vec<PathBuf>,
    /// A literal file, or a folder to search, did not exist.
    pub missing: bool,
    /// The pattern had wildcards.
    pub wildcards: bool,
}

/// Glob one brace-free pattern `alt` (glibc syntax: `\` escapes the next
/// character) relative to the folder `base` (ignored when `alt` is
/// absolute).
pub fn glob_one(base: &Path, alt: &str) -> GlobResult {
    let mut r = GlobResult::default();
    let literal = base.join(unescape(alt));
    if !has_magic(alt) {
        if std::fs::symlink_metadata(&literal).is_ok() {
            r.paths.push(literal);
        } else {
            r.missing = true;
        }
        return r;
    }
    r.wildcards = true;
    // The glob crate escapes with brackets, not backslashes.
    let mut pattern = String::new();
    if !alt.starts_with('/') && !base.as_os_str().is_empty() {
        let mut b = base.to_string_lossy().into_owned();
        if !b.ends_with('/') {
            b.push('/');
        }
        pattern.push_str(&glob::Pattern::escape(&b));
    }
    let mut chars = alt.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                pattern.push_str(&glob::Pattern::escape(&n.to_string()));
            }
        } else {
            pattern.push(c);
        }
    }
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    match glob::glob_with(&pattern, opts) {
        Ok(paths) => {
            r.paths = paths.filter_map(Result::ok).collect();
            if r.paths.is_empty() {
                // glibc counts a folder it could not open as missing.
                let dir = base.join(literal_dir_prefix(alt));
                if !dir.as_os_str().is_empty() && !dir.is_dir() {
                    r.missing = true;
                }
            }
        }
        Err(_) => {
            // glibc takes a malformed bracket expression literally.
            if std::fs::symlink_metadata(&literal).is_ok() {
                r.paths.push(literal);
            } else {
                r.missing = true;
            }
        }
    }
    r.paths
        .sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    r
}

/// The folder part of `pattern` before the first component with
/// wildcards, escapes removed.
fn literal_dir_prefix(pattern: &str) -> PathBuf {
    let mut dir = PathBuf::new();
    let comps: Vec<&str> = pattern.split('/').collect();
    for (i, comp) in comps.iter().enumerate() {
        if has_magic(comp) || i + 1 == comps.len() {
            break;
        }
        if i == 0 && comp.is_empty() {
            dir.push("/");
        } else {
            dir.push(unescape(comp));
        }
    }
    dir
}

/// Remove `\` escapes (glob quoting) from a literal pattern.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(n) = it.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_expand_in_order_and_nest() {
        assert_eq!(expand_braces("a{b,c}d", 100), vec!["abd", "acd"]);
        assert_eq!(
            expand_braces("{x,y{1,2}}/{p,q}", 100),
            vec!["x/p", "x/q", "y1/p", "y1/q", "y2/p", "y2/q"]
        );
        assert_eq!(expand_braces("a{b", 100), vec!["a{b"]);
        assert_eq!(expand_braces(r"a\{b,c}", 100), vec![r"a\{b,c}"]);
        assert_eq!(expand_braces("{a,b}{c,d}{e,f}", 3).len(), 3);
        assert!(has_brace("x{a}") && !has_brace(r"x\{a}"));
    }

    #[test]
    fn globbing_with_odd_folder_names_and_escapes() {
        let base = std::env::temp_dir().join(format!("kars-glob-{}-[x]*", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("d")).unwrap();
        for n in ["a.conf", "b.conf", "*.conf"] {
            std::fs::write(base.join("d").join(n), "").unwrap();
        }
        let r = glob_one(&base, "d/*.conf");
        let names: Vec<_> = r
            .paths
            .iter()
            .map(|p| p.strip_prefix(&base).unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            vec![
                PathBuf::from("d/*.conf"),
                "d/a.conf".into(),
                "d/b.conf".into()
            ]
        );
        assert!(r.wildcards && !r.missing);
        // An escaped wildcard matches itself only.
        let r = glob_one(&base, r"d/\*.conf");
        assert_eq!(r.paths, vec![base.join("d/*.conf")]);
        assert!(!r.wildcards);
        let r = glob_one(&base, "none/*.conf");
        assert!(r.paths.is_empty() && r.missing);
        let r = glob_one(&base, "d/*.none");
        assert!(r.paths.is_empty() && !r.missing);
        let r = glob_one(&base, "d/x.conf");
        assert!(r.paths.is_empty() && r.missing);
        let _ = std::fs::remove_dir_all(&base);
    }
}
