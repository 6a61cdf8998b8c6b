//! Network namespaces for tests: created with `ip netns add`, given the
//! links a test asks for, deleted on drop.
//!
//! Links are dummy devices where the kernel has the dummy driver; where it
//! does not (some VM kernels), each is one end of a veth pair whose other
//! end (`<name>p`, or `vethpN` for long names) stays in the same namespace.
//! Either way the link exists, is up and has a MAC address, which is all
//! that configuration checking needs.

use std::io;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace that is deleted when dropped.
#[derive(Debug)]
pub struct NetNs {
    name: String,
}

fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

impl NetNs {
    /// Create a namespace named `PREFIX-PID-N` (unique per process and
    /// call; `PREFIX` is cut so the name stays short), bring `lo` up and
    /// add the links `links`, up.
    pub fn new(prefix: &str, links: &[&str]) -> io::Result<Self> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let prefix: String = prefix.chars().take(12).collect();
        let name = format!("{prefix}-{}-{n}", std::process::id());
        ip(&["netns", "add", &name])?;
        // From here on, Drop deletes the namespace whatever fails next.
        let ns = Self { name };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
        for (i, link) in links.iter().enumerate() {
            ns.add_link(link, i)?;
        }
        Ok(ns)
    }

    fn add_link(&self, link: &str, index: usize) -> io::Result<()> {
        let ns = self.name.as_str();
        if ip(&["-n", ns, "link", "add", link, "type", "dummy"]).is_err() {
            let peer = if link.len() < 15 {
                format!("{link}p")
            } else {
                format!("vethp{index}")
            };
            ip(&[
                "-n", ns, "link", "add", link, "type", "veth", "peer", "name", &peer,
            ])?;
            ip(&["-n", ns, "link", "set", &peer, "up"])?;
        }
        ip(&["-n", ns, "link", "set", link, "up"])
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Add `cidr` (`10.0.0.1/24`) to `dev` in the namespace; panics if
    /// `ip` fails.
    pub fn add_address(&self, dev: &str, cidr: &str) {
        if let Err(e) = ip(&["-n", &self.name, "addr", "add", cidr, "dev", dev]) {
            panic!("ip addr add {cidr} dev {dev} in {}: {e}", self.name);
        }
    }

    /// A command running `program` inside the namespace.
    pub fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name])
            .arg(program.as_ref());
        cmd
    }

    /// A command running `program` inside the namespace and in a new UTS
    /// namespace whose host name is `hostname`, so that anything derived
    /// from the host name (keepalived's default config id) is the same on
    /// every machine.
    pub fn command_with_hostname(&self, hostname: &str, program: impl AsRef<Path>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, "unshare", "--uts", "--"])
            .args(["sh", "-c", r#"hostname "$0" && exec "$@""#, hostname])
            .arg(program.as_ref());
        cmd
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!(
                "warning: could not delete network namespace {}: {e}",
                self.name
            );
        }
    }
}
