//! The keepalived-rs parent process: parses the configuration, checks it
//! (`-t`), dumps it (`-d`), and runs the daemon.

pub mod addrwatch;
pub mod alerts;
pub mod cli;
pub mod control;
pub mod ctl;
pub mod daemon;
pub mod dump;
pub mod exit;
pub mod log;
pub mod machine;
pub mod notify;
pub mod pidfile;
pub mod privileges;
#[cfg(feature = "test-messages")]
pub mod probe;
pub mod restart;
pub mod script_table;
pub mod scripts;
pub mod state;
pub mod sys;
pub mod users;
pub mod worker;

use cli::{Command, Options};
use config::{Diagnostic, LoadOptions, Loaded, Severity};
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn run(args: Vec<OsString>) -> i32 {
    let cmd = match cli::parse(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keepalived-rs: {e}");
            eprintln!("Try 'keepalived-rs --help' for more information.");
            return exit::USAGE;
        }
    };
    match cmd {
        Command::Help => {
            print!("{}", cli::HELP);
            exit::OK
        }
        Command::Version => {
            eprintln!("keepalived-rs v{VERSION} (reads keepalived 2.2.x configuration)");
            exit::OK
        }
        Command::Run(opts) => run_options(&opts),
        Command::Ctl { socket, args } => ctl::main(&socket, &args),
        Command::Worker {
            role,
            file_check_paths,
        } => worker::main(&role, &file_check_paths),
    }
}

/// The config id keepalived uses when `-i` is not given: the host name up
/// to its first dot.
pub fn default_config_id() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let short = name.trim().split('.').next()?.to_string();
    (!short.is_empty()).then_some(short)
}

/// Load the configuration as the daemon and `-t` see it: the language,
/// the model, then the checks against this machine.
pub fn load_config(opts: &Options) -> Loaded {
    let load_opts = LoadOptions {
        config_id: opts.config_id.clone().or_else(default_config_id),
        instance: None,
        all_config: opts.all_config,
    };
    let mut loaded = config::load(&opts.config_file, &load_opts);
    let extra = machine::check(&loaded.config);
    loaded.diagnostics.extend(extra);
    loaded
}

/// Write each diagnostic as `FILE:LINE: severity: message` (no line:
/// `FILE: severity: message`, naming the main configuration file).
pub fn write_diagnostics(out: &mut dyn Write, main_file: &Path, diags: &[Diagnostic]) {
    for d in diags {
        let r = if d.loc.is_some() {
            writeln!(out, "{d}")
        } else {
            writeln!(out, "{}: {d}", main_file.display())
        };
        if r.is_err() {
            return;
        }
    }
}

/// `-t`'s exit code, as keepalived's: 6 when there is any script-security
/// problem (even alongside errors), else 5 when keepalived would report
/// any configuration problem (errors, and settings it adjusts or ignores),
/// else 0. Notices (keywords keepalived accepts silently and keepalived-rs
/// ignores) do not count.
pub fn config_test_exit_code(diags: &[Diagnostic]) -> i32 {
    if diags.iter().any(|d| d.severity == Severity::Security) {
        exit::CONFIG_TEST_SECURITY
    } else if diags
        .iter()
        .any(|d| matches!(d.severity, Severity::Warning | Severity::Error))
    {
        exit::CONFIG_TEST
    } else {
        exit::OK
    }
}

fn run_options(opts: &Options) -> i32 {
    let loaded = load_config(opts);
    if opts.dump_conf {
        match serde_json::to_string_pretty(&loaded.config) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("keepalived-rs: cannot dump the configuration: {e}"),
        }
    }
    if let Some(log_file) = &opts.config_test {
        let code = config_test_exit_code(&loaded.diagnostics);
        match log_file {
            None => write_diagnostics(
                &mut std::io::stderr(),
                &loaded.main_file,
                &loaded.diagnostics,
            ),
            Some(path) => match std::fs::File::create(path) {
                Ok(mut f) => write_diagnostics(&mut f, &loaded.main_file, &loaded.diagnostics),
                Err(e) => {
                    eprintln!("keepalived-rs: cannot write {}: {e}", path.display());
                    write_diagnostics(
                        &mut std::io::stderr(),
                        &loaded.main_file,
                        &loaded.diagnostics,
                    );
                }
            },
        }
        return code;
    }
    let logger = log::Logger::new(
        opts.log_facility.code(),
        opts.log_console,
        opts.log_detail,
        !opts.no_syslog,
    );
    let me = || std::process::id();
    for d in &loaded.diagnostics {
        let line = match &d.loc {
            Some(_) => d.to_string(),
            None => format!("{}: {d}", loaded.main_file.display()),
        };
        logger.log(diag_level(d.severity), daemon::ident(None), me(), &line);
    }
    if loaded.has_errors() {
        let msg = format!(
            "{}: configuration has errors, not starting",
            loaded.main_file.display()
        );
        logger.log(log::Level::Err, daemon::ident(None), me(), &msg);
        if !opts.log_console {
            eprintln!("keepalived-rs: {msg}");
        }
        return exit::CONFIG;
    }
    start_daemon(opts, logger, loaded.config)
}

/// The syslog level a configuration diagnostic is logged at.
pub fn diag_level(s: Severity) -> log::Level {
    match s {
        Severity::Notice => log::Level::Notice,
        Severity::Warning => log::Level::Warning,
        Severity::Error | Severity::Security => log::Level::Err,
    }
}

fn start_daemon(opts: &Options, logger: log::Logger, cfg: config::model::Config) -> i32 {
    let me = || std::process::id();
    if let Some(pid) = pidfile::running(&opts.pid_file) {
        logger.log(
            log::Level::Err,
            daemon::ident(None),
            me(),
            &format!(
                "daemon is already running (pid {pid}, {})",
                opts.pid_file.display()
            ),
        );
        return exit::FATAL;
    }
    if let Some(mask) = opts.umask {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(mask));
    }
    if !opts.dont_fork {
        if let Err(e) = sys::daemonize() {
            eprintln!("keepalived-rs: cannot detach: {e}");
            return exit::FATAL;
        }
    }
    if let Err(e) = pidfile::write(&opts.pid_file, me()) {
        logger.log(
            log::Level::Warning,
            daemon::ident(None),
            me(),
            &format!("cannot write pid file {}: {e}", opts.pid_file.display()),
        );
    }
    let code = match daemon::Daemon::new(opts.clone(), logger, cfg) {
        Ok(d) => d.run(),
        Err(e) => {
            let l = log::Logger::new(opts.log_facility.code(), true, false, !opts.no_syslog);
            l.log(
                log::Level::Err,
                daemon::ident(None),
                me(),
                &format!("cannot start: {e}"),
            );
            exit::FATAL
        }
    };
    let _ = std::fs::remove_file(&opts.pid_file);
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(severity: Severity) -> Diagnostic {
        Diagnostic {
            severity,
            loc: None,
            message: String::new(),
        }
    }

    #[test]
    fn config_test_exit_codes_as_keepalived() {
        assert_eq!(config_test_exit_code(&[]), 0);
        assert_eq!(config_test_exit_code(&[d(Severity::Notice)]), 0);
        assert_eq!(config_test_exit_code(&[d(Severity::Warning)]), 5);
        assert_eq!(
            config_test_exit_code(&[d(Severity::Error), d(Severity::Notice)]),
            5
        );
        assert_eq!(config_test_exit_code(&[d(Severity::Security)]), 6);
        // keepalived 2.2.7: a security problem wins over errors and warnings.
        assert_eq!(
            config_test_exit_code(&[d(Severity::Warning), d(Severity::Security)]),
            6
        );
        assert_eq!(
            config_test_exit_code(&[d(Severity::Error), d(Severity::Security)]),
            6
        );
    }
}
