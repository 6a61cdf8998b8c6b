//! Where the binaries under test are.
//!
//! `env!("CARGO_BIN_EXE_keepalived-rs")` only exists inside the package that
//! owns the binary (`parent`), so the e2e tests find it themselves:
//!
//! 1. `$KEEPALIVED_RS_BIN`, if set, is used as is (nothing is built).
//! 2. Otherwise the binary is `target/<profile>/keepalived-rs`, the folder
//!    being found from the running test executable
//!    (`target/<profile>/deps/<test>-<hash>`), and it is brought up to date
//!    once per test process with `cargo build -p parent --bin keepalived-rs`
//!    in the same target folder and profile, because `cargo test -p tests`
//!    does not build other packages' binaries and a stale binary would test
//!    old code. Set `KEEPALIVED_RS_NO_BUILD=1` to skip that build and use
//!    whatever binary is there.
//!
//! [`keepalived_rs_probe_binary`] is the same binary built with the parent's
//! `test-messages` feature (sandbox probes through `ctl probe`), for the
//! sandbox tests only. It is built in its own target folder,
//! `target/test-messages/<profile>/`, so that the feature never reaches the
//! normal binary: cargo unifies features over everything one invocation
//! builds, and `cargo test --workspace` must not ship a probe-capable
//! daemon. `$KEEPALIVED_RS_PROBE_BIN` overrides it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace's root folder (the folder holding the top Cargo.toml).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Debian's keepalived: `$KEEPALIVED` or /usr/sbin/keepalived.
pub fn keepalived_system_binary() -> PathBuf {
    std::env::var_os("KEEPALIVED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/keepalived"))
}

/// The target/<profile> folder the running test executable was built into.
fn profile_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let deps = exe
        .parent()
        .ok_or_else(|| format!("{} has no parent folder", exe.display()))?;
    if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent()
            .map(Path::to_path_buf)
            .ok_or_else(|| format!("{} has no parent folder", deps.display()))
    } else {
        // Examples or binaries built by cargo sit directly in target/<profile>.
        Ok(deps.to_path_buf())
    }
}

fn build(profile_dir: &Path, features: Option<&str>) -> Result<(), String> {
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| format!("{} has no parent folder", profile_dir.display()))?;
    let target_dir = match features {
        Some(f) => target_dir.join(f),
        None => target_dir.to_path_buf(),
    };
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("bad profile folder {}", profile_dir.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root())
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["build", "--quiet", "-p", "parent", "--bin", "keepalived-rs"]);
    if let Some(f) = features {
        cmd.args(["--features", f]);
    }
    match profile {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let out = cmd
        .output()
        .map_err(|e| format!("running cargo build -p parent: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build -p parent --bin keepalived-rs failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// The keepalived-rs binary to test, built if needed (see the module docs).
/// Panics with an explanation when it cannot be had.
pub fn keepalived_rs_binary() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("KEEPALIVED_RS_BIN") {
            return Ok(PathBuf::from(p));
        }
        let dir = profile_dir()?;
        if std::env::var_os("KEEPALIVED_RS_NO_BUILD").is_none() {
            build(&dir, None)?;
        }
        let bin = dir.join("keepalived-rs");
        if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!(
                "{} does not exist (build it with `cargo build -p parent`, or set KEEPALIVED_RS_BIN)",
                bin.display()
            ))
        }
    });
    match result {
        Ok(p) => p.clone(),
        Err(e) => panic!("cannot find the keepalived-rs binary: {e}"),
    }
}

/// The keepalived-rs binary with the `test-messages` feature (sandbox
/// probes), built if needed in `target/test-messages/<profile>/` (see the
/// module docs). Panics with an explanation when it cannot be had.
pub fn keepalived_rs_probe_binary() -> PathBuf {
    const FEATURE: &str = "test-messages";
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let result = BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("KEEPALIVED_RS_PROBE_BIN") {
            return Ok(PathBuf::from(p));
        }
        let dir = profile_dir()?;
        if std::env::var_os("KEEPALIVED_RS_NO_BUILD").is_none() {
            build(&dir, Some(FEATURE))?;
        }
        let profile = dir.file_name().map(PathBuf::from).unwrap_or_default();
        let bin = dir
            .parent()
            .unwrap_or(&dir)
            .join(FEATURE)
            .join(profile)
            .join("keepalived-rs");
        if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!(
                "{} does not exist (build it with `CARGO_TARGET_DIR=target/{FEATURE} cargo build -p parent --features {FEATURE}`, or set KEEPALIVED_RS_PROBE_BIN)",
                bin.display()
            ))
        }
    });
    match result {
        Ok(p) => p.clone(),
        Err(e) => panic!("cannot find the probe-capable keepalived-rs binary: {e}"),
    }
}
