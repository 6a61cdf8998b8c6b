//! Checks of the configuration against this machine, as keepalived makes
//! them at start-up and under `-t`: do the VRRP interfaces exist, can the
//! scripts be found and run, are they safe to run.
//!
//! Script security follows keepalived's `check_script_secure`: a script
//! run by root (or a set-uid/gid-root file) must not be writable by anyone
//! but root along its whole path. With `enable_script_security` such a
//! script is disabled; without it, keepalived-rs reports keepalived's
//! SECURITY VIOLATION (`-t` exit 6). Scripts are judged as the user
//! keepalived-rs really runs them as (see `script_table::resolve_user`).

use crate::script_table::{DEFAULT_SCRIPT_USERS, resolve_user};
use crate::scripts::SCRIPT_PATH_DIRS;
use config::model::Config;
use config::model::util::ScriptSpec;
use config::{Diagnostic, Diagnostics};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Does a network interface of this name exist in our network namespace?
pub fn interface_exists(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('/')
        && name != "."
        && name != ".."
        && Path::new("/sys/class/net").join(name).exists()
}

/// What the machine says about one script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptCheck {
    /// Found, runnable by its user and, where it matters, safe.
    Ok(PathBuf),
    /// Not found, or not accessible.
    NotFound,
    /// Found but not executable for the user that runs it.
    NotExecutable(PathBuf),
    /// Found, but writable by non-root somewhere along its path while run
    /// with root's authority.
    Insecure(PathBuf),
}

impl ScriptCheck {
    /// May it be run, given `enable_script_security`?
    pub fn runnable(&self, script_security: bool) -> bool {
        match self {
            ScriptCheck::Ok(_) => true,
            ScriptCheck::Insecure(_) => !script_security,
            _ => false,
        }
    }

    fn found(&self) -> bool {
        !matches!(self, ScriptCheck::NotFound)
    }
}

/// Resolve a bare name through the script PATH, as keepalived's
/// `find_path` does.
fn resolve(cmd: &str) -> Option<PathBuf> {
    if cmd.contains('/') {
        return std::fs::canonicalize(cmd).ok();
    }
    SCRIPT_PATH_DIRS
        .iter()
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

fn executable_by(meta: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = meta.permissions().mode();
    if uid == 0 {
        return mode & 0o111 != 0;
    }
    if meta.uid() == uid {
        mode & 0o100 != 0
    } else if meta.gid() == gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// keepalived's `check_security`: every component of `path` must be owned
/// by root and not writable by group (unless the group is root) or others
/// (directories with the sticky bit excepted).
fn path_is_secure(path: &Path) -> bool {
    let mut cur = PathBuf::from("/");
    let mut parts: Vec<PathBuf> = vec![cur.clone()];
    for c in path.components().skip(1) {
        cur.push(c);
        parts.push(cur.clone());
    }
    let last = parts.len() - 1;
    for (i, p) in parts.iter().enumerate() {
        let Ok(m) = std::fs::symlink_metadata(p) else {
            return false;
        };
        let ft = m.file_type();
        if (i < last && !ft.is_dir()) || (i == last && !ft.is_file() && !ft.is_symlink()) {
            return false;
        }
        let mode = m.permissions().mode();
        let sticky_dir = ft.is_dir() && mode & 0o1000 != 0;
        let writable_by_others = (m.gid() != 0 && mode & 0o020 != 0) || mode & 0o002 != 0;
        if m.uid() != 0 || (!sticky_dir && writable_by_others) {
            return false;
        }
    }
    true
}

/// Check one script run as `uid:gid`.
pub fn check_script(argv0: &str, uid: u32, gid: u32) -> ScriptCheck {
    // `</path` scripts only test whether a file opens: nothing is run.
    if argv0.starts_with('<') {
        return ScriptCheck::Ok(PathBuf::from(argv0));
    }
    let Some(path) = resolve(argv0) else {
        return ScriptCheck::NotFound;
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return ScriptCheck::NotFound;
    };
    if !executable_by(&meta, uid, gid) {
        return ScriptCheck::NotExecutable(path);
    }
    let mode = meta.permissions().mode();
    let root_authority = uid == 0
        || gid == 0
        || (meta.uid() == 0 && mode & 0o4100 == 0o4100)
        || (meta.gid() == 0 && mode & 0o2010 == 0o2010);
    let original = Path::new(argv0);
    let secure = !root_authority
        || (path_is_secure(&path) && (!original.is_absolute() || path_is_secure(original)));
    if secure {
        ScriptCheck::Ok(path)
    } else {
        ScriptCheck::Insecure(path)
    }
}

/// Check `spec` as the user it runs as.
pub fn check_spec(spec: &ScriptSpec, cfg: &Config) -> Option<ScriptCheck> {
    let argv0 = spec.argv.first()?;
    let user = resolve_user(spec, cfg).ok()?;
    Some(check_script(argv0, user.uid, user.gid))
}

pub fn check(cfg: &Config) -> Vec<Diagnostic> {
    let mut d = Diagnostics::new();
    check_interfaces(cfg, &mut d);
    check_scripts(cfg, &mut d);
    d.into_vec()
}

fn check_interfaces(cfg: &Config, d: &mut Diagnostics) {
    if cfg.global.dynamic_interfaces {
        return;
    }
    let mut missing = false;
    for i in &cfg.vrrp.instances {
        let Some(name) = &i.interface else { continue };
        if interface_exists(name) {
            continue;
        }
        missing = true;
        let loc = i.interface_loc.as_ref().unwrap_or(&i.loc);
        d.error(
            loc,
            format!(
                "WARNING - interface {name} for vrrp_instance {} doesn't exist",
                i.name
            ),
        );
    }
    if missing {
        d.push(
            config::Severity::Error,
            None,
            "Non-existent interface specified in configuration",
        );
    }
}

/// Which side of keepalived would run a script: its VRRP process or its
/// checker process (each logs its own SECURITY VIOLATION).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Vrrp,
    Check,
}

fn check_scripts(cfg: &Config, d: &mut Diagnostics) {
    let security = cfg.global.enable_script_security;
    // [found, insecure] per side.
    let mut seen = [[false; 2]; 2];
    let mut default_user = false;
    // The same script run as the same user is checked once (configurations
    // repeat one MISC_CHECK script over thousands of real servers).
    type Key = (Option<String>, Option<String>, Option<String>);
    let mut checked: std::collections::HashMap<Key, Option<ScriptCheck>> = Default::default();
    let mut note =
        |side: Side, spec: &ScriptSpec, what: String, d: &mut Diagnostics| -> Option<ScriptCheck> {
            let key = (
                spec.user.clone(),
                spec.group.clone(),
                spec.argv.first().cloned(),
            );
            let c = checked
                .entry(key)
                .or_insert_with(|| check_spec(spec, cfg))
                .clone()?;
            let s = &mut seen[side as usize];
            s[0] |= c.found();
            if let ScriptCheck::Insecure(_) = c {
                s[1] = true;
            }
            default_user |= spec.user.is_none() && cfg.global.script_user.is_none();
            let argv0 = spec.argv.first().map(String::as_str).unwrap_or("");
            let msg = match &c {
                ScriptCheck::Ok(_) => return Some(c),
                ScriptCheck::NotFound => format!("Cannot find {what} {argv0} - disabling"),
                ScriptCheck::NotExecutable(p) => {
                    format!(
                        "WARNING - {what} '{}' is not executable - disabling",
                        p.display()
                    )
                }
                // keepalived's text, whatever kind of script it is.
                ScriptCheck::Insecure(p) if security => {
                    format!(
                        "Unsafe permissions found for script '{}' - disabling.",
                        p.display()
                    )
                }
                ScriptCheck::Insecure(p) => {
                    format!("Unsafe permissions found for script '{}'.", p.display())
                }
            };
            // keepalived only logs these (its -t verdict does not change).
            d.notice(&spec.loc, msg);
            Some(c)
        };
    for s in &cfg.vrrp.scripts {
        let Some(c) = note(Side::Vrrp, &s.script, "script".into(), d) else {
            continue;
        };
        if !c.found() || matches!(c, ScriptCheck::NotExecutable(_)) {
            d.push(
                config::Severity::Warning,
                None,
                format!(
                    "Disabling track script {} since not found/accessible",
                    s.name
                ),
            );
        } else if !c.runnable(security) {
            d.push(
                config::Severity::Warning,
                None,
                format!("Disabling track script {} due to insecure", s.name),
            );
        }
    }
    for (_, kw, spec) in cfg
        .vrrp
        .scripts()
        .into_iter()
        .filter(|(_, kw, _)| *kw != "script")
    {
        note(Side::Vrrp, spec, format!("{kw} script"), d);
    }
    for (kw, spec) in cfg.global.scripts() {
        note(Side::Vrrp, spec, format!("{kw} script"), d);
    }
    for r in cfg.lvs.scripts() {
        let c = note(Side::Check, r.script, "script".into(), d);
        if matches!(r.role, config::model::lvs::ScriptRole::Misc { .. })
            && let Some(c) = c
            && matches!(c, ScriptCheck::Insecure(_))
            && !c.runnable(security)
        {
            let argv0 = r.script.argv.first().map(String::as_str).unwrap_or("");
            d.notice(
                &r.script.loc,
                format!("Disabling misc script '{argv0}' due to insecure"),
            );
        }
    }
    if default_user && crate::users::lookup_user(DEFAULT_SCRIPT_USERS[0]).is_none() {
        // keepalived falls back to root here; keepalived-rs does not.
        d.push(
            config::Severity::Notice,
            None,
            format!(
                "WARNING - default user '{}' for script execution does not exist - please create. \
                 Scripts with no user run as '{}'.",
                DEFAULT_SCRIPT_USERS[0], DEFAULT_SCRIPT_USERS[1]
            ),
        );
    }
    if !security {
        for (side, what) in [(Side::Vrrp, ""), (Side::Check, "check ")] {
            let [found, insecure] = seen[side as usize];
            if found {
                d.security(
                    None,
                    format!(
                        "SECURITY VIOLATION - {what}scripts are being executed but script_security not enabled.{}",
                        if insecure { " There are insecure scripts." } else { "" }
                    ),
                );
            }
        }
    }
}

/// The client certificate of the top-level `SSL` block, read (as root)
/// for the check worker: `Ok(None)` without a `certificate`; an error in
/// keepalived's words (its checker then stops; keepalived-rs's SSL_GETs run
/// on without a client certificate).
pub fn client_tls(cfg: &Config) -> Result<Option<ipc::ClientTls>, String> {
    let Some(ssl) = &cfg.lvs.ssl else {
        return Ok(None);
    };
    let Some(cert) = &ssl.certificate else {
        return Ok(None);
    };
    let mut chain_pem = std::fs::read(cert)
        .map_err(|e| format!("SSL error : Cant load certificate file... ({cert}: {e})"))?;
    if !chain_pem.windows(16).any(|w| w == b"-----BEGIN CERTI") {
        return Err(format!(
            "SSL error : Cant load certificate file... ({cert}: no PEM certificate)"
        ));
    }
    // The key: `key`, else in the certificate file (as OpenSSL).
    let key_path = ssl.key.as_deref().unwrap_or(cert);
    let key_pem = std::fs::read(key_path)
        .map_err(|e| format!("SSL error : Cant load key file... ({key_path}: {e})"))?;
    let key = if key_pem
        .windows(27)
        .any(|w| w == b"-----BEGIN ENCRYPTED PRIVAT")
    {
        let password = ssl.password.as_deref().ok_or_else(|| {
            format!("SSL error : Cant load key file... ({key_path}: encrypted, no password)")
        })?;
        let text = std::str::from_utf8(&key_pem)
            .map_err(|_| format!("SSL error : Cant load key file... ({key_path}: not PEM)"))?;
        let (_, doc) = pkcs8::SecretDocument::from_pem(text)
            .map_err(|e| format!("SSL error : Cant load key file... ({key_path}: {e})"))?;
        let enc = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
            .map_err(|e| format!("SSL error : Cant load key file... ({key_path}: {e})"))?;
        let plain = enc.decrypt(password).map_err(|e| {
            format!("SSL error : Cant load key file... ({key_path}: cannot decrypt with the password: {e})")
        })?;
        ipc::ClientKey::Pkcs8Der(plain.as_bytes().to_vec())
    } else if key_pem.windows(5).any(|w| w == b"-----")
        && key_pem.windows(12).any(|w| w == b"PRIVATE KEY-")
    {
        if key_pem.windows(22).any(|w| w == b"Proc-Type: 4,ENCRYPTED") {
            return Err(format!(
                "SSL error : Cant load key file... ({key_path}: a legacy OpenSSL-encrypted key; \
                 convert it to PKCS#8: openssl pkcs8 -topk8 -v2 aes-256-cbc)"
            ));
        }
        ipc::ClientKey::Pem(key_pem)
    } else {
        return Err(format!(
            "SSL error : Cant load key file... ({key_path}: no PEM private key)"
        ));
    };
    if let Some(ca) = &ssl.ca {
        let ca_pem = std::fs::read(ca)
            .map_err(|e| format!("SSL error : Cant load CA file... ({ca}: {e})"))?;
        chain_pem.push(b'\n');
        chain_pem.extend_from_slice(&ca_pem);
    }
    Ok(Some(ipc::ClientTls { chain_pem, key }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("krs-machine-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        d
    }

    fn script(d: &Path, name: &str, mode: u32) -> PathBuf {
        let p = d.join(name);
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    #[test]
    fn scripts_found_executable_secure() {
        if !rustix::process::getuid().is_root() {
            panic!("needs root: files must be root-owned for the security checks");
        }
        // /tmp is world-writable with the sticky bit: acceptable, as in
        // keepalived.
        let d = dir("scripts");
        let ok = script(&d, "ok.sh", 0o755);
        let ww = script(&d, "ww.sh", 0o777);
        let noexec = script(&d, "noexec.sh", 0o644);
        let s = |p: &Path| p.to_str().expect("utf-8").to_string();
        assert_eq!(check_script(&s(&ok), 0, 0), ScriptCheck::Ok(ok.clone()));
        assert_eq!(
            check_script(&s(&ww), 0, 0),
            ScriptCheck::Insecure(ww.clone())
        );
        // Run as nobody, a world-writable script gives no root authority.
        assert_eq!(
            check_script(&s(&ww), 65534, 65534),
            ScriptCheck::Ok(ww.clone())
        );
        assert_eq!(
            check_script(&s(&noexec), 65534, 65534),
            ScriptCheck::NotExecutable(noexec.clone())
        );
        assert_eq!(
            check_script(&s(&d.join("gone.sh")), 0, 0),
            ScriptCheck::NotFound
        );
        // A bare name is looked up in the script PATH.
        assert!(matches!(check_script("true", 0, 0), ScriptCheck::Ok(_)));
        assert_eq!(
            check_script("no-such-command-krs", 0, 0),
            ScriptCheck::NotFound
        );
        // A group-writable directory on the way makes it insecure for root.
        let sub = d.join("gw");
        std::fs::create_dir(&sub).expect("mkdir");
        std::os::unix::fs::chown(&sub, Some(0), Some(65534)).expect("chown");
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o775)).expect("chmod");
        let inner = script(&sub, "x.sh", 0o755);
        assert_eq!(
            check_script(&s(&inner), 0, 0),
            ScriptCheck::Insecure(inner.clone())
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn interface_names() {
        assert!(interface_exists("lo"));
        assert!(!interface_exists("no-such-if0"));
        assert!(!interface_exists("../lo"));
        assert!(!interface_exists(""));
    }
}
