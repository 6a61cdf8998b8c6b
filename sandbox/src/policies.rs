//! The three worker policies.  Every rule says why the role needs it; a
//! call not listed kills the worker with SIGSYS.
//!
//! The common part was measured with strace over `sandbox-probe`, x86_64,
//! glibc 2.36, Rust 1.95:
//!
//! ```text
//! strace -f -o trace sandbox-probe ROLE --no-seccomp loop <role actions>
//! awk '/write\(1, "confined/{f=1} f' trace   # calls after confinement
//! ```
//!
//! After confinement a mio worker makes: ioctl(FIONBIO), epoll_create1,
//! epoll_ctl, eventfd2 (Waker), sendto/recvfrom (std's send/recv on the
//! Unix socket), write (Waker, stdout), getrandom (first HashMap),
//! epoll_wait, clock_nanosleep, fcntl(F_GETFD) + close (drops), and at exit
//! sigaltstack(SS_DISABLE) + munmap (std's stack-overflow handler) and
//! exit_group.  A panic adds gettid + write(2); abort() adds
//! rt_sigprocmask, getpid, gettid, tgkill(SIGABRT); RUST_BACKTRACE adds
//! getcwd, readlink("/proc/self/exe") and openat of the executable.  glibc's
//! getaddrinfo("localhost") adds socket(AF_UNIX)+connect (nscd), newfstatat,
//! openat/read of nsswitch.conf, host.conf, resolv.conf, hosts, uname, lseek,
//! futex.  std's start-up calls (poll on fds 0-2, rt_sigaction for SIGPIPE
//! and SIGSEGV/SIGBUS, sigaltstack, sched_getaffinity, prlimit64...) happen
//! before `confine` and need no rule.  Calls a role never makes are left
//! out even when harmless, so that a new call shows up as a SIGSYS in
//! testing rather than silently widening the attack surface.
//!
//! Threads and processes: workers are single-threaded mio loops, so
//! `clone`, `clone3`, `fork` and `vfork` are not allowed at all (a thread
//! could be expressed for `clone` with a CLONE_THREAD flag check, but not
//! for `clone3`, whose flags live in memory that seccomp cannot read).
//! No policy has execve/execveat, ptrace, mount, namespaces, bpf, keyrings,
//! module or reboot calls.

use crate::seccomp::{Action, Cond, Policy};

/// The worker roles with a built-in policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyRole {
    /// The VRRP worker.
    Vrrp,
    /// The health-check worker.
    Check,
    /// The IPVS worker.
    Ipvs,
    /// The metrics worker (Prometheus, opt-in).
    Metrics,
}

impl PolicyRole {
    /// The role's name as used on the command line (`--worker=NAME`).
    pub fn name(self) -> &'static str {
        match self {
            PolicyRole::Vrrp => "vrrp",
            PolicyRole::Check => "check",
            PolicyRole::Ipvs => "ipvs",
            PolicyRole::Metrics => "metrics",
        }
    }
}

/// `(number, name)` of a system call of the running architecture.
macro_rules! sc {
    ($id:ident) => {
        (libc::$id as i64, strip(stringify!($id)))
    };
}

fn strip(s: &'static str) -> &'static str {
    s.strip_prefix("SYS_").unwrap_or(s)
}

type Sc = (i64, &'static str);

/// A small builder over [`Policy`] taking `sc!` pairs.
struct B(Policy);

impl B {
    fn allow(self, (nr, name): Sc, why: &'static str) -> B {
        B(self.0.allow(nr, name, why))
    }
    fn allow_if(self, (nr, name): Sc, conds: &[Cond], why: &'static str) -> B {
        B(self.0.allow_if(nr, name, conds, why))
    }
    fn errno_if(self, (nr, name): Sc, conds: &[Cond], errno: i32, why: &'static str) -> B {
        B(self.0.errno_if(nr, name, conds, errno, why))
    }
}

const SOCK_TYPE_MASK: u32 = 0xf;
const PROT_EXEC: u32 = libc::PROT_EXEC as u32;
/// Flags that create files: O_CREAT, and O_TMPFILE's own bit.
const O_CREATING: u32 = (libc::O_CREAT | (libc::O_TMPFILE & !libc::O_DIRECTORY)) as u32;
/// Flags a read-only open must not carry.
const O_NOT_READ_ONLY: u32 = (libc::O_ACCMODE | libc::O_TRUNC) as u32 | O_CREATING;

fn socket(domain: i32, ty: i32, protocol: Option<i32>) -> Vec<Cond> {
    let mut c = vec![
        Cond::eq32(0, domain as u32),
        Cond::masked32(1, SOCK_TYPE_MASK, ty as u32),
    ];
    if let Some(p) = protocol {
        c.push(Cond::eq32(2, p as u32));
    }
    c
}

fn ioctl(request: libc::Ioctl) -> [Cond; 1] {
    // The kernel's request parameter is an `unsigned int`: compare the low
    // 32 bits (glibc's constants are `unsigned long`, musl's `int`).
    [Cond::eq32(1, request as u32)]
}

fn fcntl(cmd: i32) -> [Cond; 1] {
    [Cond::eq32(1, cmd as u32)]
}

/// What every worker needs: std + mio on the IPC socket, the allocator,
/// signals for std's runtime, time, randomness, exit.
fn base(name: &str) -> B {
    let b = B(Policy::new(name, Action::KillProcess))
        // I/O on the IPC socket (fd 3) and on stderr.
        .allow(
            sc!(SYS_read),
            "read the IPC socket and (roles with files) files",
        )
        .allow(sc!(SYS_write), "write the IPC socket, log to stderr")
        .allow(sc!(SYS_readv), "vectored reads (std read_vectored)")
        .allow(
            sc!(SYS_writev),
            "vectored writes (std write_vectored, stderr)",
        )
        .allow(
            sc!(SYS_recvfrom),
            "std UnixStream::read is recv(2) = recvfrom(fd, buf, len, 0, NULL, NULL)",
        )
        .allow(
            sc!(SYS_sendto),
            "std UnixStream::write is send(2) = sendto(..., NULL, 0)",
        )
        .allow(
            sc!(SYS_recvmsg),
            "IPC frames with ancillary data (SCM_RIGHTS/SCM_CREDENTIALS)",
        )
        .allow(sc!(SYS_sendmsg), "IPC frames with ancillary data")
        .allow(sc!(SYS_shutdown), "half-close the IPC socket on shutdown")
        .allow(sc!(SYS_close), "drop descriptors")
        // mio.
        .allow(sc!(SYS_epoll_create1), "mio::Poll::new")
        .allow(sc!(SYS_epoll_ctl), "mio register/reregister/deregister")
        .allow(
            sc!(SYS_epoll_pwait),
            "mio::Poll::poll (epoll_wait is epoll_pwait on aarch64)",
        )
        .allow(sc!(SYS_epoll_pwait2), "mio::Poll::poll on newer libc/mio")
        .allow(sc!(SYS_eventfd2), "mio::Waker")
        .allow_if(
            sc!(SYS_fcntl),
            &fcntl(libc::F_GETFL),
            "mio/std: read O_NONBLOCK",
        )
        .allow_if(
            sc!(SYS_fcntl),
            &fcntl(libc::F_SETFL),
            "mio/std: set O_NONBLOCK",
        )
        .allow_if(sc!(SYS_fcntl), &fcntl(libc::F_GETFD), "read FD_CLOEXEC")
        .allow_if(sc!(SYS_fcntl), &fcntl(libc::F_SETFD), "set FD_CLOEXEC")
        .allow_if(
            sc!(SYS_fcntl),
            &fcntl(libc::F_DUPFD_CLOEXEC),
            "std try_clone of a descriptor",
        )
        .allow_if(
            sc!(SYS_ioctl),
            &ioctl(libc::FIONBIO),
            "std set_nonblocking on sockets",
        )
        .allow_if(sc!(SYS_ioctl), &ioctl(libc::FIOCLEX), "set close-on-exec")
        .allow_if(
            sc!(SYS_ioctl),
            &ioctl(libc::FIONREAD),
            "bytes pending on a socket",
        )
        .allow(
            sc!(SYS_getsockopt),
            "SO_ERROR, SO_TYPE, SO_PEERCRED on the IPC socket",
        )
        .allow(sc!(SYS_getsockname), "local address of a socket")
        .allow(sc!(SYS_getpeername), "peer address of a socket")
        // Memory: glibc malloc and std.  No PROT_EXEC: no new code at run time.
        .allow(sc!(SYS_brk), "malloc: main arena")
        .allow_if(
            sc!(SYS_mmap),
            &[Cond::clear32(2, PROT_EXEC)],
            "malloc: large blocks, never executable",
        )
        .allow_if(
            sc!(SYS_mprotect),
            &[Cond::clear32(2, PROT_EXEC)],
            "malloc arenas, never executable",
        )
        .allow(sc!(SYS_munmap), "free large blocks")
        .allow(sc!(SYS_mremap), "realloc of large blocks")
        .allow(sc!(SYS_madvise), "malloc trimming (MADV_DONTNEED)")
        // Threads are not created, but std's locks use futex.
        .allow(sc!(SYS_futex), "std Mutex/Once/Condvar")
        .allow(sc!(SYS_sched_yield), "spin-wait back-off in std/libc")
        // Signals: std's runtime and glibc.
        .allow(sc!(SYS_rt_sigreturn), "return from a signal handler")
        .allow(
            sc!(SYS_rt_sigprocmask),
            "glibc masks signals around abort and in std",
        )
        .allow(
            sc!(SYS_rt_sigaction),
            "std's SIGSEGV/SIGBUS stack-overflow handlers, SIGPIPE",
        )
        .allow(sc!(SYS_sigaltstack), "std's stack-overflow handler stack")
        .allow(sc!(SYS_restart_syscall), "restart after a signal")
        // abort(): raise(SIGABRT) on ourselves only.
        .allow_if(
            sc!(SYS_tgkill),
            &[
                Cond::eq32(0, std::process::id()),
                Cond::eq32(2, libc::SIGABRT as u32),
            ],
            "abort() = tgkill(self, tid, SIGABRT): a double panic dies of SIGABRT, not SIGSYS",
        )
        // Time.
        .allow(
            sc!(SYS_clock_gettime),
            "Instant/SystemTime when the vDSO falls back",
        )
        .allow(sc!(SYS_clock_getres), "timer resolution")
        .allow(
            sc!(SYS_gettimeofday),
            "SystemTime on old libc, vDSO fallback",
        )
        .allow(sc!(SYS_clock_nanosleep), "thread::sleep")
        .allow(sc!(SYS_nanosleep), "thread::sleep on older glibc")
        // Identity (read-only) for logging.
        .allow(sc!(SYS_getpid), "process id for logs and abort")
        .allow(sc!(SYS_gettid), "thread id for logs and abort")
        .allow(sc!(SYS_getppid), "parent check")
        .allow(sc!(SYS_getuid), "read-only identity")
        .allow(sc!(SYS_geteuid), "read-only identity")
        .allow(sc!(SYS_getgid), "read-only identity")
        .allow(sc!(SYS_getegid), "read-only identity")
        .allow(
            sc!(SYS_getrandom),
            "HashMap RandomState keys, VRRP/IPVS nonces",
        )
        .allow(sc!(SYS_uname), "glibc/std (kernel version checks)")
        .allow(
            sc!(SYS_sched_getaffinity),
            "std::thread::available_parallelism",
        )
        .allow(sc!(SYS_fstat), "std: size hints when reading descriptors")
        .allow(sc!(SYS_ppoll), "glibc/std poll (poll is ppoll on aarch64)")
        // Panic reporting with RUST_BACKTRACE set: refuse, do not kill, so
        // the worker still exits with the panic's status.
        .errno_if(
            sc!(SYS_getcwd),
            &[],
            libc::EACCES,
            "panic backtraces shorten paths against the cwd: refused",
        )
        .errno_if(
            sc!(SYS_readlinkat),
            &[],
            libc::EACCES,
            "backtrace symbolization reads /proc/self/exe: refused",
        )
        .allow(sc!(SYS_exit), "thread exit")
        .allow(sc!(SYS_exit_group), "process exit");
    #[cfg(target_arch = "x86_64")]
    let b = b
        .allow(sc!(SYS_epoll_wait), "mio::Poll::poll (glibc's epoll_wait)")
        .allow(sc!(SYS_poll), "glibc/std poll")
        .errno_if(
            sc!(SYS_readlink),
            &[],
            libc::EACCES,
            "backtrace symbolization reads /proc/self/exe: refused",
        )
        .allow(sc!(SYS_time), "time(2) vDSO fallback");
    b
}

/// Read-only file access by path (openat + stat family), for roles that
/// read files; Landlock limits *which* files.
fn read_files(b: B, why: &'static str) -> B {
    b.allow_if(sc!(SYS_openat), &[Cond::clear32(2, O_NOT_READ_ONLY)], why)
        .allow(
            sc!(SYS_newfstatat),
            "stat a path or descriptor (std metadata, glibc)",
        )
        .allow(sc!(SYS_statx), "std::fs::metadata")
        .allow(sc!(SYS_lseek), "seek in files being read")
        .allow(sc!(SYS_pread64), "positioned reads")
        .allow(
            sc!(SYS_getdents64),
            "list a directory (Landlock decides which)",
        )
}

impl Policy {
    /// The policy of `role`.
    pub fn for_role(role: PolicyRole) -> Policy {
        match role {
            PolicyRole::Vrrp => Policy::vrrp(),
            PolicyRole::Check => Policy::check(),
            PolicyRole::Ipvs => Policy::ipvs(),
            PolicyRole::Metrics => Policy::metrics(),
        }
    }

    /// The VRRP worker: raw IPv4/IPv6 sockets for VRRP (protocol 112) and
    /// AH (51), ICMPv6 for neighbour advertisements, AF_PACKET for
    /// gratuitous ARP, rtnetlink for addresses/routes/links, datagram
    /// sockets for interface ioctls; sysctls under /proc/sys and /sys.
    pub fn vrrp() -> Policy {
        let (inet, inet6) = (libc::AF_INET, libc::AF_INET6);
        let raw = libc::SOCK_RAW;
        let b = base("vrrp")
            .allow_if(
                sc!(SYS_socket),
                &socket(inet, raw, Some(112)),
                "VRRP over IPv4 (IPPROTO_VRRP)",
            )
            .allow_if(
                sc!(SYS_socket),
                &socket(inet6, raw, Some(112)),
                "VRRP over IPv6",
            )
            .allow_if(
                sc!(SYS_socket),
                &socket(inet, raw, Some(libc::IPPROTO_AH)),
                "VRRPv2 with AH authentication",
            )
            .allow_if(
                sc!(SYS_socket),
                &socket(inet6, raw, Some(libc::IPPROTO_ICMPV6)),
                "unsolicited neighbour advertisements",
            )
            .allow_if(
                sc!(SYS_socket),
                &socket(libc::AF_PACKET, raw, None),
                "gratuitous ARP (any ethertype)",
            )
            .allow_if(
                sc!(SYS_socket),
                &socket(libc::AF_PACKET, libc::SOCK_DGRAM, None),
                "gratuitous ARP, cooked",
            )
            .allow_if(
                sc!(SYS_socket),
                &socket(libc::AF_NETLINK, raw, Some(libc::NETLINK_ROUTE)),
                "rtnetlink: VIPs, routes, links, events",
            )
            .allow_if(
                sc!(SYS_socket),
                &socket(
                    libc::AF_NETLINK,
                    libc::SOCK_DGRAM,
                    Some(libc::NETLINK_ROUTE),
                ),
                "rtnetlink (datagram flavour)",
            )
            .allow_if(
                sc!(SYS_socket),
                &socket(libc::AF_NETLINK, raw, Some(libc::NETLINK_NETFILTER)),
                "nftables: strict mode / no_accept drop rules for VIPs",
            )
            .allow_if(
                sc!(SYS_socket),
                &socket(inet, libc::SOCK_DGRAM, Some(0)),
                "handle for interface ioctls",
            )
            .allow_if(
                sc!(SYS_socket),
                &socket(inet6, libc::SOCK_DGRAM, Some(0)),
                "handle for IPv6 interface ioctls",
            )
            .allow(
                sc!(SYS_setsockopt),
                "multicast membership, IP_HDRINCL, TTL/hop limit, SO_BINDTODEVICE, netlink groups",
            )
            .allow(sc!(SYS_bind), "bind raw/netlink/packet sockets")
            .allow(sc!(SYS_connect), "unicast peers on raw sockets")
            .allow_if(
                sc!(SYS_ioctl),
                &ioctl(libc::SIOCGIFINDEX),
                "interface name -> index",
            )
            .allow_if(
                sc!(SYS_ioctl),
                &ioctl(libc::SIOCGIFNAME),
                "interface index -> name",
            )
            .allow_if(
                sc!(SYS_ioctl),
                &ioctl(libc::SIOCGIFFLAGS),
                "interface up/running",
            )
            .allow_if(
                sc!(SYS_ioctl),
                &ioctl(libc::SIOCGIFHWADDR),
                "interface MAC (for VMAC and ARP)",
            )
            .allow_if(sc!(SYS_ioctl), &ioctl(libc::SIOCGIFMTU), "interface MTU")
            .allow_if(
                sc!(SYS_ioctl),
                &ioctl(libc::SIOCGIFADDR),
                "interface primary IPv4 address",
            )
            .allow_if(
                sc!(SYS_ioctl),
                &ioctl(libc::SIOCETHTOOL),
                "link beat (ethtool GLINK)",
            )
            .allow_if(sc!(SYS_ioctl), &ioctl(libc::SIOCGMIIPHY), "link beat (MII)")
            .allow_if(sc!(SYS_ioctl), &ioctl(libc::SIOCGMIIREG), "link beat (MII)");
        // Sysctls: open for reading or writing, never creating; Landlock
        // confines the paths to /proc/sys/net and /sys.  Note that
        // std::fs::write opens with O_CREAT and is therefore killed: write
        // sysctls with OpenOptions::new().write(true).truncate(true).
        b.allow_if(
            sc!(SYS_openat),
            &[Cond::clear32(2, O_CREATING)],
            "sysctls in /proc/sys/net and /sys (read, write)",
        )
        .allow(sc!(SYS_newfstatat), "stat a sysctl path")
        .allow(sc!(SYS_statx), "std::fs::metadata on sysctls")
        .allow(sc!(SYS_lseek), "rewind a sysctl file")
        .allow(sc!(SYS_getdents64), "list /sys/class/net")
        .0
    }

    /// The check worker: TCP/UDP (and ICMP datagram) sockets, connect,
    /// read-only files (FILE_CHECK, TLS configuration, name resolution).
    /// No execve: MISC_CHECK scripts are not run by this worker.
    pub fn check() -> Policy {
        let (inet, inet6) = (libc::AF_INET, libc::AF_INET6);
        let (stream, dgram) = (libc::SOCK_STREAM, libc::SOCK_DGRAM);
        let mut b = base("check");
        for domain in [inet, inet6] {
            b = b
                .allow_if(
                    sc!(SYS_socket),
                    &socket(domain, stream, Some(0)),
                    "TCP_CHECK/HTTP_GET/SSL_GET/SMTP_CHECK",
                )
                .allow_if(
                    sc!(SYS_socket),
                    &socket(domain, stream, Some(libc::IPPROTO_TCP)),
                    "TCP, explicit protocol",
                )
                .allow_if(
                    sc!(SYS_socket),
                    &socket(domain, dgram, Some(0)),
                    "UDP_CHECK, DNS_CHECK, resolver",
                )
                .allow_if(
                    sc!(SYS_socket),
                    &socket(domain, dgram, Some(libc::IPPROTO_UDP)),
                    "UDP, explicit protocol",
                );
        }
        b.allow_if(
            sc!(SYS_socket),
            &socket(inet, dgram, Some(libc::IPPROTO_ICMP)),
            "PING_CHECK (ICMP datagram socket)",
        )
        .allow_if(
            sc!(SYS_socket),
            &socket(inet6, dgram, Some(libc::IPPROTO_ICMPV6)),
            "PING_CHECK over IPv6",
        )
        .errno_if(
            sc!(SYS_socket),
            &[Cond::eq32(0, libc::AF_UNIX as u32)],
            libc::EACCES,
            "glibc's resolver tries nscd's socket first: fail it (EACCES) so it falls back",
        )
        .allow(sc!(SYS_connect), "connect to real servers, resolver")
        .allow(sc!(SYS_bind), "bindto / source address of checks")
        .allow(
            sc!(SYS_setsockopt),
            "SO_LINGER, TCP_NODELAY, SO_BINDTODEVICE, IP_TTL, timeouts",
        )
        .allow(
            sc!(SYS_sendmmsg),
            "glibc resolver sends A and AAAA queries together",
        )
        .allow(sc!(SYS_recvmmsg), "batched datagram receive")
        .pipe(|b| {
            read_files(
                b,
                "FILE_CHECK, TLS certificates/keys, resolv.conf/hosts (read-only)",
            )
        })
        .0
    }

    /// The IPVS worker: generic netlink only (the IPVS family), no files.
    pub fn ipvs() -> Policy {
        base("ipvs")
            .allow_if(
                sc!(SYS_socket),
                &socket(
                    libc::AF_NETLINK,
                    libc::SOCK_RAW,
                    Some(libc::NETLINK_GENERIC),
                ),
                "generic netlink: the IPVS family",
            )
            .allow_if(
                sc!(SYS_socket),
                &socket(
                    libc::AF_NETLINK,
                    libc::SOCK_DGRAM,
                    Some(libc::NETLINK_GENERIC),
                ),
                "generic netlink (datagram flavour)",
            )
            .allow(sc!(SYS_bind), "bind the netlink socket")
            .allow(
                sc!(SYS_setsockopt),
                "SO_RCVBUF/SO_SNDBUF, NETLINK_EXT_ACK, NETLINK_CAP_ACK",
            )
            .0
    }
}

impl Policy {
    /// The metrics worker: accepts HTTP connections on the listening
    /// socket the parent bound and passed at fd 4, and talks on them; it
    /// creates no socket, binds and connects nothing, opens no file.
    pub fn metrics() -> Policy {
        base("metrics")
            .allow(
                sc!(SYS_accept4),
                "accept scrapes on the inherited listening socket (mio)",
            )
            .allow(
                sc!(SYS_setsockopt),
                "socket options on the listening and accepted sockets",
            )
            .0
    }
}

impl B {
    fn pipe(self, f: impl FnOnce(B) -> B) -> B {
        f(self)
    }
}
