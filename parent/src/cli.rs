//! Command line: keepalived's own options, with keepalived's spellings, plus
//! keepalived-rs's additions (`--control-socket`, the `ctl` subcommand).

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";
pub const DEFAULT_PID: &str = "/run/keepalived.pid";
pub const DEFAULT_VRRP_PID: &str = "/run/keepalived_vrrp.pid";
pub const DEFAULT_CHECKERS_PID: &str = "/run/keepalived_checkers.pid";
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/keepalived-rs/control.sock";

/// syslog facilities `-S` accepts: keepalived takes `0`-`7` (meaning
/// local0-local7), `local0`-`local7`, `user` and `daemon`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facility {
    Daemon,
    User,
    Local(u8),
}

impl Facility {
    /// The syslog facility code (RFC 5424 numbering).
    pub fn code(self) -> u8 {
        match self {
            Facility::User => 1,
            Facility::Daemon => 3,
            Facility::Local(n) => 16 + n,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "daemon" => Some(Facility::Daemon),
            "user" => Some(Facility::User),
            _ => {
                // Exactly one digit 0-7, bare or after "local".
                let n = s.strip_prefix("local").unwrap_or(s);
                match n.as_bytes() {
                    [d @ b'0'..=b'7'] => Some(Facility::Local(d - b'0')),
                    _ => None,
                }
            }
        }
    }
}

/// Everything the daemon's options set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub config_file: PathBuf,
    /// `-P`: only the VRRP side.
    pub vrrp_only: bool,
    /// `-C`: only the checker (and IPVS) side.
    pub check_only: bool,
    /// `--all`: start every worker even without configuration for it.
    pub all: bool,
    pub log_console: bool,
    pub log_detail: bool,
    pub log_facility: Facility,
    pub no_syslog: bool,
    pub umask: Option<u32>,
    pub release_vips: bool,
    pub dont_release_vrrp: bool,
    pub dont_release_ipvs: bool,
    pub dont_respawn: bool,
    pub dont_fork: bool,
    pub dump_conf: bool,
    pub pid_file: PathBuf,
    pub vrrp_pid_file: PathBuf,
    pub checkers_pid_file: PathBuf,
    /// `-i`: `None` means keepalived's default, the short host name.
    pub config_id: Option<String>,
    /// `-t[=LOG_FILE]`: `Some(None)` writes to stderr.
    pub config_test: Option<Option<PathBuf>>,
    pub namespace: Option<String>,
    pub core_dump: bool,
    /// `-e`: error if any configuration file is missing.
    pub all_config: bool,
    pub control_socket: PathBuf,
    /// `--metrics-listen ADDR:PORT`: serve Prometheus metrics there
    /// (overrides `metrics_listen` in global_defs).
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            config_file: PathBuf::from(DEFAULT_CONFIG),
            vrrp_only: false,
            check_only: false,
            all: false,
            log_console: false,
            log_detail: false,
            log_facility: Facility::Daemon,
            no_syslog: false,
            umask: None,
            release_vips: false,
            dont_release_vrrp: false,
            dont_release_ipvs: false,
            dont_respawn: false,
            dont_fork: false,
            dump_conf: false,
            pid_file: PathBuf::from(DEFAULT_PID),
            vrrp_pid_file: PathBuf::from(DEFAULT_VRRP_PID),
            checkers_pid_file: PathBuf::from(DEFAULT_CHECKERS_PID),
            config_id: None,
            config_test: None,
            namespace: None,
            core_dump: false,
            all_config: false,
            control_socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
            metrics_listen: None,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(Box<Options>),
    Version,
    Help,
    /// `keepalived-rs ctl ...`: talk to a running daemon's control socket.
    Ctl {
        socket: PathBuf,
        args: Vec<String>,
    },
    /// Internal: the parent re-executes itself with `--worker=ROLE`, plus
    /// `--file-check-path=PATH` for each file the check worker may read
    /// (its Landlock rules are set before it reads its configuration).
    Worker {
        role: String,
        file_check_paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<lexopt::Error> for CliError {
    fn from(e: lexopt::Error) -> Self {
        CliError(e.to_string())
    }
}

fn string(v: OsString, what: &str) -> Result<String, CliError> {
    v.into_string()
        .map_err(|_| CliError(format!("{what}: value is not valid UTF-8")))
}

/// Parse `args` (including `argv[0]`).
pub fn parse(args: Vec<OsString>) -> Result<Command, CliError> {
    use lexopt::prelude::*;

    // `ctl` as the first word is a subcommand with its own options.
    if args.get(1).and_then(|a| a.to_str()) == Some("ctl") {
        return parse_ctl(args.into_iter().skip(2).collect());
    }

    let mut o = Options::default();
    let mut p = lexopt::Parser::from_iter(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('f') | Long("use-file") => o.config_file = p.value()?.into(),
            Short('P') | Long("vrrp") => o.vrrp_only = true,
            Short('C') | Long("check") => o.check_only = true,
            Short('B') | Long("no_bfd") => {}
            Long("all") => o.all = true,
            Short('l') | Long("log-console") => o.log_console = true,
            Short('D') | Long("log-detail") => o.log_detail = true,
            Short('S') | Long("log-facility") => {
                let v = string(p.value()?, "--log-facility")?;
                o.log_facility = Facility::parse(&v).ok_or_else(|| {
                    CliError(format!(
                        "invalid log facility '{v}': expected 0-7, local0-local7, user or daemon"
                    ))
                })?;
            }
            Short('G') | Long("no-syslog") => o.no_syslog = true,
            Short('u') | Long("umask") => {
                let v = string(p.value()?, "--umask")?;
                let parsed = if let Some(oct) = v.strip_prefix('0').filter(|s| !s.is_empty()) {
                    u32::from_str_radix(oct.trim_start_matches(['o', 'O']), 8).ok()
                } else {
                    v.parse::<u32>().ok()
                };
                match parsed {
                    Some(m) if m <= 0o777 => o.umask = Some(m),
                    _ => return Err(CliError(format!("invalid umask '{v}'"))),
                }
            }
            Short('X') | Long("release-vips") => o.release_vips = true,
            Short('V') | Long("dont-release-vrrp") => o.dont_release_vrrp = true,
            Short('I') | Long("dont-release-ipvs") => o.dont_release_ipvs = true,
            Short('R') | Long("dont-respawn") => o.dont_respawn = true,
            Short('n') | Long("dont-fork") => o.dont_fork = true,
            Short('d') | Long("dump-conf") => o.dump_conf = true,
            Short('p') | Long("pid") => o.pid_file = p.value()?.into(),
            Short('r') | Long("vrrp_pid") => o.vrrp_pid_file = p.value()?.into(),
            Short('c') | Long("checkers_pid") => o.checkers_pid_file = p.value()?.into(),
            Short('i') | Long("config-id") => {
                o.config_id = Some(string(p.value()?, "--config-id")?)
            }
            Short('t') | Long("config-test") => {
                o.config_test = Some(p.optional_value().map(PathBuf::from));
            }
            Short('s') | Long("namespace") => {
                o.namespace = Some(string(p.value()?, "--namespace")?)
            }
            Short('m') | Long("core-dump") => o.core_dump = true,
            Short('e') | Long("all-config") => o.all_config = true,
            Long("control-socket") => o.control_socket = p.value()?.into(),
            Long("metrics-listen") => {
                let v = string(p.value()?, "--metrics-listen")?;
                o.metrics_listen = Some(v.parse().map_err(|_| {
                    CliError(format!(
                        "invalid --metrics-listen '{v}': expected ADDRESS:PORT (e.g. 127.0.0.1:9650 or [::1]:9650)"
                    ))
                })?);
            }
            Long("worker") => {
                let role = string(p.value()?, "--worker")?;
                let mut file_check_paths = Vec::new();
                while let Some(arg) = p.next()? {
                    match arg {
                        Long("file-check-path") => file_check_paths.push(p.value()?.into()),
                        Long("log-detail") => {}
                        _ => return Err(arg.unexpected().into()),
                    }
                }
                return Ok(Command::Worker {
                    role,
                    file_check_paths,
                });
            }
            Short('v') | Long("version") => return Ok(Command::Version),
            Short('h') | Long("help") => return Ok(Command::Help),
            Short(c @ ('T' | 'a' | 'x' | 'A' | 'M' | 'b')) => {
                return Err(CliError(format!(
                    "option -{c} (genhash, address monitoring, SNMP, BFD, core pattern) is not supported by keepalived-rs"
                )));
            }
            Long(
                l @ ("genhash" | "address-monitoring" | "snmp" | "snmp-agent-socket"
                | "core-dump-pattern" | "bfd_pid" | "signum"),
            ) => {
                return Err(CliError(format!(
                    "option --{l} is not supported by keepalived-rs"
                )));
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    if o.vrrp_only && o.check_only {
        return Err(CliError(
            "-P/--vrrp and -C/--check exclude each other".into(),
        ));
    }
    Ok(Command::Run(Box::new(o)))
}

fn parse_ctl(args: Vec<OsString>) -> Result<Command, CliError> {
    let mut socket = PathBuf::from(DEFAULT_CONTROL_SOCKET);
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let a = string(a, "ctl")?;
        if a == "--control-socket" || a == "--socket" {
            socket = it
                .next()
                .ok_or_else(|| CliError(format!("{a} requires a path")))?
                .into();
        } else if let Some(v) = a
            .strip_prefix("--control-socket=")
            .or_else(|| a.strip_prefix("--socket="))
        {
            socket = v.into();
        } else {
            rest.push(a);
        }
    }
    Ok(Command::Ctl { socket, args: rest })
}

pub const HELP: &str = "\
Usage: keepalived-rs [OPTION...]
       keepalived-rs ctl [--control-socket PATH] [--json] status|reload|dump|stats|json
  -f, --use-file=FILE          Use the specified configuration file
                                default '/etc/keepalived/keepalived.conf'
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -B, --no_bfd                 Don't run BFD subsystem (keepalived-rs has none)
      --all                    Force all child processes to run, even if have no configuration
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=([0-7]|local[0-7]|user|daemon)
                               Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)
  -G, --no-syslog              Don't log via syslog
  -u, --umask=MASK             umask for file creation (in numeric form)
  -X, --release-vips           Drop VIP on transition from signal.
  -V, --dont-release-vrrp      Don't remove VRRP VIPs and VROUTEs on daemon stop
  -I, --dont-release-ipvs      Don't remove IPVS topology on daemon stop
  -R, --dont-respawn           Don't respawn child processes
  -n, --dont-fork              Don't fork the daemon process
  -d, --dump-conf              Dump the configuration data (as JSON, on standard output)
  -p, --pid=FILE               Use specified pidfile for parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for VRRP child process
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process
  -s, --namespace=NAME         Run in network namespace NAME (overrides config)
  -m, --core-dump              Produce core dump if terminate abnormally
  -e, --all-config             Error if any configuration file missing
  -i, --config-id id           Skip any configuration lines beginning '@' that don't match id
                                or any lines beginning @^ that do match.
                                The config-id defaults to the node name if option not used
  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors, output to
                                stderr by default
      --control-socket=PATH    Control socket (default /run/keepalived-rs/control.sock)
      --metrics-listen=ADDR:PORT
                               Serve Prometheus metrics on http://ADDR:PORT/metrics
                                (overrides metrics_listen in global_defs)
  -v, --version                Display the version number
  -h, --help                   Display this help message
";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, CliError> {
        let mut v: Vec<OsString> = vec!["keepalived-rs".into()];
        v.extend(args.iter().map(OsString::from));
        parse(v)
    }

    fn opts(args: &[&str]) -> Options {
        match p(args) {
            Ok(Command::Run(o)) => *o,
            other => panic!("expected Run, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = opts(&[]);
        assert_eq!(o, Options::default());
        assert_eq!(o.config_file, PathBuf::from(DEFAULT_CONFIG));
    }

    #[test]
    fn keepalived_spellings() {
        let o = opts(&[
            "-f", "/x.conf", "-P", "-l", "-D", "-S", "local3", "-n", "-d", "-p", "/p", "-r", "/r",
            "-c", "/c", "-i", "node1", "-R",
        ]);
        assert_eq!(o.config_file, PathBuf::from("/x.conf"));
        assert!(o.vrrp_only && o.log_console && o.log_detail && o.dont_fork && o.dump_conf);
        assert!(o.dont_respawn);
        assert_eq!(o.log_facility, Facility::Local(3));
        assert_eq!(o.pid_file, PathBuf::from("/p"));
        assert_eq!(o.vrrp_pid_file, PathBuf::from("/r"));
        assert_eq!(o.checkers_pid_file, PathBuf::from("/c"));
        assert_eq!(o.config_id.as_deref(), Some("node1"));
        let o = opts(&["--use-file=/y.conf", "--log-facility=7", "--config-test"]);
        assert_eq!(o.config_file, PathBuf::from("/y.conf"));
        assert_eq!(o.log_facility, Facility::Local(7));
        assert_eq!(o.config_test, Some(None));
        let o = opts(&["--config-test=/tmp/log", "-C"]);
        assert_eq!(o.config_test, Some(Some(PathBuf::from("/tmp/log"))));
        assert!(o.check_only);
        // Bundled short flags as getopt allows; -t's optional value binds
        // only when attached, as with getopt's "t::".
        let o = opts(&["-lt", "-f", "/z.conf"]);
        assert_eq!(o.config_test, Some(None));
        assert!(o.log_console);
        assert_eq!(o.config_file, PathBuf::from("/z.conf"));
        let o = opts(&["-tlog"]);
        assert_eq!(o.config_test, Some(Some(PathBuf::from("log"))));
    }

    #[test]
    fn facilities() {
        assert_eq!(Facility::parse("daemon"), Some(Facility::Daemon));
        assert_eq!(Facility::parse("user"), Some(Facility::User));
        assert_eq!(Facility::parse("0"), Some(Facility::Local(0)));
        assert_eq!(Facility::parse("local7"), Some(Facility::Local(7)));
        assert_eq!(Facility::parse("8"), None);
        assert_eq!(Facility::parse("local"), None);
        assert_eq!(Facility::parse("07"), None);
        assert_eq!(Facility::Local(0).code(), 16);
        assert!(p(&["-S", "kern"]).is_err());
    }

    #[test]
    fn errors() {
        assert!(p(&["--bogus"]).is_err());
        assert!(p(&["-f"]).is_err());
        assert!(p(&["-P", "-C"]).is_err());
        assert!(p(&["-T"]).is_err());
        assert!(p(&["-u", "999"]).is_err());
        assert_eq!(opts(&["-u", "022"]).umask, Some(0o22));
        assert_eq!(opts(&["-u", "18"]).umask, Some(18));
        assert!(p(&["--metrics-listen", "9650"]).is_err());
        assert_eq!(
            opts(&["--metrics-listen=[::1]:9650"]).metrics_listen,
            Some("[::1]:9650".parse().expect("addr"))
        );
    }

    #[test]
    fn subcommands() {
        assert_eq!(p(&["-v"]), Ok(Command::Version));
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        assert_eq!(
            p(&["--worker=vrrp"]),
            Ok(Command::Worker {
                role: "vrrp".into(),
                file_check_paths: vec![],
            })
        );
        assert_eq!(
            p(&[
                "--worker=check",
                "--file-check-path=/run/a",
                "--file-check-path",
                "/run/b",
                "--log-detail"
            ]),
            Ok(Command::Worker {
                role: "check".into(),
                file_check_paths: vec![PathBuf::from("/run/a"), PathBuf::from("/run/b")],
            })
        );
        assert!(p(&["--worker=check", "--bogus"]).is_err());
        assert_eq!(
            p(&["ctl", "--control-socket", "/s", "status", "--json"]),
            Ok(Command::Ctl {
                socket: PathBuf::from("/s"),
                args: vec!["status".into(), "--json".into()]
            })
        );
    }
}
