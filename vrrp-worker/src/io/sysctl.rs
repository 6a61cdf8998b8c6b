//! Per-interface sysctls under /proc/sys/net, which the worker's Landlock
//! rules leave writable (CAP_NET_ADMIN gives the write permission on the
//! network namespace's own sysctls).

use std::io;

/// `/proc/sys/net/{ipv4,ipv6}/conf/IFNAME/KEY`.
fn path(v6: bool, ifname: &str, key: &str) -> io::Result<String> {
    if ifname.is_empty() || ifname.contains('/') || ifname == "." || ifname == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad interface name '{ifname}'"),
        ));
    }
    let fam = if v6 { "ipv6" } else { "ipv4" };
    Ok(format!("/proc/sys/net/{fam}/conf/{ifname}/{key}"))
}

/// Read an integer sysctl of an interface.
pub fn read(v6: bool, ifname: &str, key: &str) -> io::Result<i64> {
    let p = path(v6, ifname, key)?;
    let s = std::fs::read_to_string(&p)?;
    s.trim()
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{p}: {e}")))
}

/// Write an integer sysctl of an interface.
pub fn write(v6: bool, ifname: &str, key: &str, value: i64) -> io::Result<()> {
    use std::io::Write;
    let p = path(v6, ifname, key)?;
    // Never O_CREAT: the seccomp policy kills an open that could create.
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&p)
        .and_then(|mut f| f.write_all(format!("{value}\n").as_bytes()))
        .map_err(|e| io::Error::new(e.kind(), format!("{p}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_interface_folder() {
        assert_eq!(
            path(false, "vrrp.51", "arp_ignore").unwrap(),
            "/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore"
        );
        assert_eq!(
            path(true, "eth0", "disable_ipv6").unwrap(),
            "/proc/sys/net/ipv6/conf/eth0/disable_ipv6"
        );
        for bad in ["", "..", ".", "a/b", "../all"] {
            assert!(path(false, bad, "x").is_err(), "{bad}");
        }
    }
}
