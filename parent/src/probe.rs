//! Test builds only (cargo feature `test-messages`): the control socket's
//! `probe ROLE WHAT [ARG]` asks a running worker to try something its
//! sandbox should refuse (see `ipc::probe`), and `probes` lists the answers
//! received so far. A release build has neither.

use ipc::{ProbeAction, ProbeResult, Role, ScriptId};
use serde_json::{Value, json};

/// `ROLE netlink`, `ROLE read PATH`, `ROLE exec PATH`, `ROLE script ID`,
/// `ROLE script-path PATH`.
pub fn parse<'a>(mut words: impl Iterator<Item = &'a str>) -> Result<(Role, ProbeAction), String> {
    const USAGE: &str = "usage: probe vrrp|check|ipvs|metrics netlink | read PATH | exec PATH | script ID | script-path PATH";
    let role = match words.next() {
        Some("vrrp") => Role::Vrrp,
        Some("check") => Role::Check,
        Some("ipvs") => Role::Ipvs,
        Some("metrics") => Role::Metrics,
        _ => return Err(USAGE.into()),
    };
    let action = match (words.next(), words.next()) {
        (Some("netlink"), None) => ProbeAction::OpenNetlink,
        (Some("read"), Some(p)) => ProbeAction::ReadFile(p.into()),
        (Some("exec"), Some(p)) => ProbeAction::Exec(p.into()),
        (Some("script"), Some(id)) => {
            ProbeAction::RunScript(ScriptId(id.parse().map_err(|_| USAGE.to_string())?))
        }
        (Some("script-path"), Some(p)) => ProbeAction::RunScriptPath(p.into()),
        _ => return Err(USAGE.into()),
    };
    if words.next().is_some() {
        return Err(USAGE.into());
    }
    Ok((role, action))
}

/// One answer, as `probes` lists it.
pub fn reply_json(role: Role, pid: u32, action: &ProbeAction, result: &ProbeResult) -> Value {
    let (ok, errno, message) = match result {
        ProbeResult::Succeeded => (true, None, String::new()),
        ProbeResult::Failed { errno, message } => (false, *errno, message.clone()),
    };
    json!({
        "role": role.as_str(),
        "pid": pid,
        "action": format!("{action:?}"),
        "ok": ok,
        "errno": errno,
        "message": message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        let p = |s: &str| parse(s.split_whitespace());
        assert_eq!(
            p("vrrp netlink"),
            Ok((Role::Vrrp, ProbeAction::OpenNetlink))
        );
        assert_eq!(
            p("check read /etc/shadow"),
            Ok((Role::Check, ProbeAction::ReadFile("/etc/shadow".into())))
        );
        assert_eq!(
            p("ipvs script 9"),
            Ok((Role::Ipvs, ProbeAction::RunScript(ScriptId(9))))
        );
        assert!(p("parent netlink").is_err());
        assert!(p("vrrp exec").is_err());
        assert!(p("vrrp netlink extra").is_err());
        assert!(p("vrrp script x").is_err());
    }
}
