//! The configuration oracle: run `keepalived -t` (Debian's) and
//! `keepalived-rs -t` on the configurations in tests/corpus/ under the same
//! controlled conditions, and compare their verdicts.
//!
//! Conditions, identical for both programs and for the recordings:
//! - a private copy of the corpus in a fresh root-owned 0700 folder, scripts
//!   mode 0755 and `scripts/insecure_check.sh` mode 0777 (deliberately
//!   insecure), so script-security results do not depend on where or by
//!   whom the repository was checked out;
//! - a network namespace with `lo` up and links eth0..eth3 (see
//!   [`LINKS`]), so interface checks do not depend on the host;
//! - a UTS namespace with host name `lb1` ([`HOSTNAME`]), since the host
//!   name is keepalived's default config id for `@id` lines;
//! - environment cleared but for PATH and LANG=C;
//! - the configuration given by absolute path: `-t -l -f /tmp/.../NAME.conf`.
//!
//! A verdict is the exit code plus the set of `file:line` places flagged,
//! with file names relative to the corpus folder.

use crate::netns::NetNs;
use crate::process::{RunOutput, run_with_timeout};
use crate::tempdir::{TempDir, copy_tree};
use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// The host name (and so default config id) both programs run under.
pub const HOSTNAME: &str = "lb1";
/// The links created in the namespace. The corpus uses only these; eth9
/// is used as the deliberately missing interface.
pub const LINKS: &[&str] = &["eth0", "eth1", "eth2", "eth3"];
/// How long one `-t` run may take before it counts as hung.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);
/// The script the corpus copy makes world-writable.
pub const INSECURE_SCRIPT: &str = "scripts/insecure_check.sh";

/// tests/corpus in the source tree.
pub fn corpus_dir() -> PathBuf {
    crate::binaries::workspace_root()
        .join("tests")
        .join("corpus")
}

/// The configurations of the corpus: the `*.conf` files directly in
/// tests/corpus (fragments for includes live in subfolders), sorted.
pub fn corpus_configs() -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(corpus_dir())? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".conf") && entry.file_type()?.is_file() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// tests/corpus/expected/STEM.txt for NAME = STEM.conf.
pub fn expected_path(name: &str) -> PathBuf {
    let stem = name.strip_suffix(".conf").unwrap_or(name);
    corpus_dir().join("expected").join(format!("{stem}.txt"))
}

/// Problems with this machine that would change keepalived's verdicts on
/// the corpus (and so make the recordings not apply).
pub fn environment_problems() -> Vec<String> {
    let mut problems = Vec::new();
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    if passwd.lines().any(|l| l.starts_with("keepalived_script:")) {
        problems.push(
            "user keepalived_script exists: keepalived runs scripts of configs without \
             script_user as that user, which changes the security-* verdicts; the \
             recordings assume it does not exist"
                .to_string(),
        );
    }
    problems
}

/// A private copy of the corpus (see the module docs).
#[derive(Debug)]
pub struct CorpusCopy {
    _dir: TempDir,
    root: PathBuf,
}

impl CorpusCopy {
    pub fn new() -> io::Result<Self> {
        let dir = TempDir::new("kars-corpus")?;
        let root = dir.path().join("corpus");
        copy_tree(&corpus_dir(), &root)?;
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755))?;
        let scripts = root.join("scripts");
        for entry in fs::read_dir(&scripts)? {
            let path = entry?.path();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
        }
        fs::set_permissions(
            root.join(INSECURE_SCRIPT),
            fs::Permissions::from_mode(0o777),
        )?;
        Ok(Self { _dir: dir, root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }
}

/// A place flagged by a checker: file relative to the corpus folder, line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Flag {
    pub file: String,
    pub line: u32,
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What a checker said about one configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    pub exit: i32,
    pub flags: BTreeSet<Flag>,
    /// The checker's messages, corpus path removed, duplicates dropped,
    /// in first-seen order (keepalived prints most of them once per
    /// parsing process).
    pub messages: Vec<String>,
}

impl Verdict {
    pub fn flags_string(&self) -> String {
        if self.flags.is_empty() {
            "-".to_string()
        } else {
            let v: Vec<String> = self.flags.iter().map(|f| f.to_string()).collect();
            v.join(" ")
        }
    }

    /// The messages as a set, for order-insensitive comparison.
    pub fn message_set(&self) -> BTreeSet<&str> {
        self.messages.iter().map(String::as_str).collect()
    }
}

/// Lexically clean a path: drop `.`, fold `..`.
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Turn a file name as printed by a checker into a path relative to the
/// corpus folder. Absolute names are taken relative to `root`; relative
/// names (keepalived prints include patterns' matches as written) are tried
/// against the main file's folder, then matched by suffix among the corpus
/// files; failing all that the name is kept as printed.
pub fn normalize_file(raw: &str, root: &Path) -> String {
    let p = Path::new(raw);
    if p.is_absolute() {
        let c = clean(p);
        if let Ok(rel) = c.strip_prefix(root) {
            return rel.to_string_lossy().into_owned();
        }
        return c.to_string_lossy().into_owned();
    }
    let joined = clean(&root.join(p));
    if joined.is_file() {
        if let Ok(rel) = joined.strip_prefix(root) {
            return rel.to_string_lossy().into_owned();
        }
    }
    let rel = clean(p);
    let mut matches = Vec::new();
    collect_suffix_matches(root, root, &rel, &mut matches);
    if matches.len() == 1 {
        return matches.remove(0);
    }
    rel.to_string_lossy().into_owned()
}

fn collect_suffix_matches(root: &Path, dir: &Path, suffix: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_suffix_matches(root, &path, suffix, out);
        } else if path.ends_with(suffix) {
            if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
}

fn strip_root(line: &str, root: &Path) -> String {
    let prefix = format!("{}/", root.display());
    line.replace(&prefix, "")
}

fn dedup_messages(lines: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for l in lines {
        let l = l.trim_end().to_string();
        if l.is_empty() {
            continue;
        }
        if seen.insert(l.clone()) {
            out.push(l);
        }
    }
    out
}

/// Parse keepalived's `-t -l` output. Problems with a place look like
/// `(FILE: Line N) message`, or `(Line N) message` when keepalived does not
/// name the file (its first parsing pass omits the main file's name), in
/// which case the place is in the main configuration `main`.
pub fn parse_keepalived(code: i32, output: &str, root: &Path, main: &str) -> Verdict {
    let mut flags = BTreeSet::new();
    for line in output.lines() {
        let Some(rest) = line.strip_prefix('(') else {
            continue;
        };
        let Some(close) = rest.find(") ") else {
            continue;
        };
        let head = &rest[..close];
        let (file, num) = match head.rsplit_once(": Line ") {
            Some((file, num)) => (normalize_file(file, root), num),
            None => match head.strip_prefix("Line ") {
                Some(num) => (main.to_string(), num),
                None => continue,
            },
        };
        if let Ok(n) = num.trim().parse::<u32>() {
            flags.insert(Flag { file, line: n });
        }
    }
    Verdict {
        exit: code,
        flags,
        messages: dedup_messages(output.lines().map(|l| strip_root(l, root))),
    }
}

/// Parse keepalived-rs's `-t` output: `FILE:LINE: severity: message`, or
/// `FILE: severity: message` for problems without a line.
pub fn parse_ours(code: i32, output: &str, root: &Path) -> Verdict {
    let mut flags = BTreeSet::new();
    for line in output.lines() {
        if let Some((file, n)) = split_file_line(line) {
            flags.insert(Flag {
                file: normalize_file(file, root),
                line: n,
            });
        }
    }
    Verdict {
        exit: code,
        flags,
        messages: dedup_messages(output.lines().map(|l| strip_root(l, root))),
    }
}

/// Find `FILE:LINE: ` at the start of `line`: the first `:` followed by
/// digits and `: `, with no `: ` before it (so that in a line-less
/// `FILE: warning: server [1.2.3.4]:tcp:80: ...` the `:80: ` is not taken
/// for a line number).
fn split_file_line(line: &str) -> Option<(&str, u32)> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while let Some(off) = line[i..].find(':') {
        let colon = i + off;
        if line[colon..].starts_with(": ") {
            return None;
        }
        let digits_start = colon + 1;
        let mut j = digits_start;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        if j > digits_start && line[j..].starts_with(": ") && colon > 0 {
            let n = line[digits_start..j].parse().ok()?;
            return Some((&line[..colon], n));
        }
        i = colon + 1;
    }
    None
}

/// Run `program -t -l -f CONFIG` in `ns` on the corpus copy's `name`.
pub fn run_check(
    ns: &NetNs,
    program: &Path,
    copy: &CorpusCopy,
    name: &str,
) -> io::Result<RunOutput> {
    let mut cmd = ns.command_with_hostname(HOSTNAME, program);
    cmd.args(["-t", "-l", "-f"])
        .arg(copy.config(name))
        .current_dir(copy.root())
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C");
    run_with_timeout(&mut cmd, RUN_LIMIT)
}

/// keepalived's version line (`Keepalived v2.2.7 (01/16,2022)`).
pub fn keepalived_version(program: &Path) -> io::Result<String> {
    let out = std::process::Command::new(program)
        .arg("--version")
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    Ok(text.lines().next().unwrap_or("").trim().to_string())
}

/// A recorded verdict of keepalived: tests/corpus/expected/NAME.txt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub version: String,
    pub verdict: Verdict,
}

/// The text of an expectation file.
pub fn render_expected(name: &str, exp: &Expected) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# keepalived's verdict on {name} (`keepalived -t -l -f {name}` in the oracle's\n"
    ));
    s.push_str("# namespace). Generated by tests/corpus/regen-expected.sh: do not edit.\n");
    s.push_str(&format!("version {}\n", exp.version));
    s.push_str(&format!("exit {}\n", exp.verdict.exit));
    for f in &exp.verdict.flags {
        s.push_str(&format!("line {f}\n"));
    }
    s.push_str("# keepalived's messages, for humans (corpus path removed, duplicates dropped):\n");
    for m in &exp.verdict.messages {
        s.push_str(&format!("message {m}\n"));
    }
    s
}

/// Parse an expectation file.
pub fn parse_expected(text: &str) -> Result<Expected, String> {
    let mut version = None;
    let mut exit = None;
    let mut flags = BTreeSet::new();
    let mut messages = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "version" => version = Some(value.to_string()),
            "exit" => {
                exit = Some(
                    value
                        .parse::<i32>()
                        .map_err(|e| format!("line {}: bad exit code: {e}", i + 1))?,
                )
            }
            "line" => {
                let (file, n) = value
                    .rsplit_once(':')
                    .ok_or_else(|| format!("line {}: expected FILE:LINE", i + 1))?;
                let line = n
                    .parse()
                    .map_err(|e| format!("line {}: bad line number: {e}", i + 1))?;
                flags.insert(Flag {
                    file: file.to_string(),
                    line,
                });
            }
            "message" => messages.push(value.to_string()),
            other => return Err(format!("line {}: unknown key {other:?}", i + 1)),
        }
    }
    Ok(Expected {
        version: version.ok_or("no version line")?,
        verdict: Verdict {
            exit: exit.ok_or("no exit line")?,
            flags,
            messages,
        },
    })
}

/// Read tests/corpus/expected/ for NAME.
pub fn read_expected(name: &str) -> Result<Expected, String> {
    let path = expected_path(name);
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_expected(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A namespace set up for the oracle.
pub fn oracle_netns(prefix: &str) -> io::Result<NetNs> {
    NetNs::new(prefix, LINKS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_output_parsing() {
        let root = Path::new("/tmp/x/corpus");
        let out = "(Line 5) Unknown keyword 'a'\n\
                   (/tmp/x/corpus/m.conf: Line 7) number '300' outside range [1, 255]\n\
                   (/tmp/x/corpus/m.conf: Line 7) number '300' outside range [1, 255]\n\
                   (VI_1) the virtual router id must be set\n\
                   Non-existent interface specified in configuration\n";
        let v = parse_keepalived(5, out, root, "m.conf");
        let flags: Vec<String> = v.flags.iter().map(|f| f.to_string()).collect();
        assert_eq!(flags, ["m.conf:5", "m.conf:7"]);
        assert_eq!(v.messages.len(), 4);
        assert_eq!(
            v.messages[1],
            "(m.conf: Line 7) number '300' outside range [1, 255]"
        );
    }

    #[test]
    fn our_output_parsing() {
        let root = Path::new("/tmp/x/corpus");
        let out = "/tmp/x/corpus/m.conf:12: error: bad\n\
                   /tmp/x/corpus/conf.d/a.conf:3: warning: w: x\n\
                   /tmp/x/corpus/m.conf: error: no line\n\
                   /tmp/x/corpus/m.conf: warning: server [1.2.3.4]:tcp:80: no scheduler\n\
                   thread 'main' panicked at src/x.rs:1:2:\n";
        let v = parse_ours(5, out, root);
        let flags: Vec<String> = v.flags.iter().map(|f| f.to_string()).collect();
        assert_eq!(flags, ["conf.d/a.conf:3", "m.conf:12"]);
    }

    #[test]
    fn expected_round_trip() {
        let mut flags = BTreeSet::new();
        flags.insert(Flag {
            file: "a.conf".into(),
            line: 3,
        });
        let exp = Expected {
            version: "Keepalived v2.2.7 (01/16,2022)".into(),
            verdict: Verdict {
                exit: 5,
                flags,
                messages: vec!["(a.conf: Line 3) x".into()],
            },
        };
        let text = render_expected("a.conf", &exp);
        assert_eq!(parse_expected(&text).unwrap(), exp);
    }
}
