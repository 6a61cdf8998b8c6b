//! `keepalived-rs ctl`: the operator's client of the control socket.
//! `status` prints tables (workers, VRRP instances with their counters,
//! IPVS, virtual and real servers with their checkers); `reload` reloads
//! and says which configuration generation runs; `dump` and `stats` print
//! what SIGUSR1 / SIGUSR2 write (keepalived's files), `json` what SIGJSON
//! writes. `--json` prints the daemon's JSON reply as is, for scripts.

use crate::{control, exit};
use serde_json::Value;
use std::fmt::Write;
use std::path::Path;

pub const USAGE: &str =
    "usage: keepalived-rs ctl [--control-socket PATH] [--json] status|reload|dump|stats|json";

/// Run `ctl` with its arguments (after the socket options); returns the
/// exit code.
pub fn main(socket: &Path, args: &[String]) -> i32 {
    let json = args.iter().any(|a| a == "--json");
    let words: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if let Some(bad) = args.iter().find(|a| a.starts_with("--") && *a != "--json") {
        eprintln!("keepalived-rs ctl: unknown option {bad}\n{USAGE}");
        return exit::USAGE;
    }
    let req = match words.as_slice() {
        [w] if ["status", "reload", "dump", "stats", "json"].contains(&w.as_str()) => w.as_str(),
        _ => {
            eprintln!("{USAGE}");
            return exit::USAGE;
        }
    };
    let reply = match control::request(socket, req) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("keepalived-rs ctl: {e}");
            return exit::FATAL;
        }
    };
    let v: Value = match serde_json::from_str(reply.trim()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("keepalived-rs ctl: the daemon's reply is not JSON ({e}): {reply}");
            return exit::FATAL;
        }
    };
    if let Some(err) = v.get("error").and_then(Value::as_str) {
        if json {
            print!("{reply}");
        }
        eprintln!("keepalived-rs ctl {req}: {err}");
        return exit::FATAL;
    }
    if json {
        print!("{reply}");
        return exit::OK;
    }
    let text = match req {
        "status" => status_table(&v),
        "reload" => format!(
            "reloaded: configuration generation {}\n",
            v["generation"].as_u64().unwrap_or(0)
        ),
        _ => files_text(&v),
    };
    print!("{text}");
    exit::OK
}

/// The files of a dump reply, each after a `==> PATH <==` line.
pub fn files_text(v: &Value) -> String {
    let mut s = String::new();
    for f in v["files"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let _ = writeln!(s, "==> {} <==", f["path"].as_str().unwrap_or("?"));
        let t = f["text"].as_str().unwrap_or("");
        s.push_str(t);
        if !t.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

/// Left-aligned columns separated by two spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                let pad = w[i] - c.chars().count();
                l.push_str(c);
                l.push_str(&" ".repeat(pad + 2));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut s = line(header.to_vec());
    for r in rows {
        s.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    s
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        other => other.to_string(),
    }
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn endpoint(addr: &Value, port: &Value) -> String {
    let a = text(addr);
    match port.as_u64() {
        Some(p) if a.contains(':') => format!("[{a}]:{p}"),
        Some(p) => format!("{a}:{p}"),
        None => a,
    }
}

/// `ctl status` as tables.
pub fn status_table(v: &Value) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "configuration generation {}\n",
        v["generation"].as_u64().unwrap_or(0)
    );
    let rows: Vec<Vec<String>> = arr(&v["workers"])
        .iter()
        .map(|w| {
            vec![
                text(&w["role"]),
                text(&w["pid"]),
                text(&w["ready"]),
                text(&w["restarts"]),
                text(&w["seccomp_violations"]),
            ]
        })
        .collect();
    s.push_str(&table(
        &["WORKER", "PID", "READY", "RESTARTS", "SECCOMP KILLS"],
        &rows,
    ));

    let inst = arr(&v["vrrp_instances"]);
    if !inst.is_empty() {
        let rows: Vec<Vec<String>> = inst
            .iter()
            .map(|i| {
                let c = &i["counters"];
                let drops: u64 = c["drops"]
                    .as_object()
                    .map(|m| m.values().filter_map(Value::as_u64).sum())
                    .unwrap_or(0);
                let vips: Vec<String> = arr(&i["vips"]).iter().map(text).collect();
                vec![
                    text(&i["name"]),
                    text(&i["state"]),
                    format!(
                        "{}/{}",
                        text(&i["priority"]),
                        text(&i["effective_priority"])
                    ),
                    text(&i["holds_vips"]),
                    format!(
                        "{}/{}",
                        text(&c["adverts_sent"]),
                        text(&c["adverts_received"])
                    ),
                    format!(
                        "{}/{}",
                        text(&c["became_master"]),
                        text(&c["released_master"])
                    ),
                    drops.to_string(),
                    vips.join(" "),
                ]
            })
            .collect();
        s.push('\n');
        s.push_str(&table(
            &[
                "VRRP INSTANCE",
                "STATE",
                "PRIO/EFF",
                "VIPS HELD",
                "ADVERTS TX/RX",
                "MASTER +/-",
                "DROPS",
                "VIPS",
            ],
            &rows,
        ));
    }
    if let Some(m) = v["vrrp_unknown_vrid"].as_object().filter(|m| !m.is_empty()) {
        let per: Vec<String> = m.iter().map(|(k, n)| format!("{k} {}", text(n))).collect();
        let _ = writeln!(
            s,
            "\nadverts dropped for an unknown VRID: {}",
            per.join(", ")
        );
    }

    if let Some(ipvs) = v["ipvs"].as_object() {
        let avail = ipvs.get("available").and_then(Value::as_bool) == Some(true);
        let _ = write!(
            s,
            "\nIPVS: {}, {} repaired",
            if avail { "available" } else { "unavailable" },
            ipvs.get("repaired").map_or("0".into(), text)
        );
        if let Some(e) = ipvs.get("error").and_then(Value::as_str) {
            let _ = write!(s, " (last error: {e})");
        }
        s.push('\n');
    }

    let vss = arr(&v["virtual_servers"]);
    if !vss.is_empty() {
        let mut rows = Vec::new();
        for vs in vss {
            let name = if let Some(m) = vs["fwmark"].as_u64() {
                format!("fwmark {m}")
            } else if let Some(g) = vs["group"].as_str() {
                format!("group {g}")
            } else {
                endpoint(&vs["address"], &vs["port"])
            };
            let rss = arr(&vs["real_servers"]);
            if rss.is_empty() {
                rows.push(vec![name.clone(), text(&vs["protocol"]), "-".into()]);
            }
            for rs in rss {
                let checks: Vec<String> = arr(&rs["checkers"])
                    .iter()
                    .map(|c| {
                        let mut t = text(&c["type"]);
                        if let Some(target) = c["target"].as_str() {
                            t.push(' ');
                            t.push_str(target);
                        }
                        if let Some(iv) = c["interval_s"].as_f64() {
                            let _ = write!(t, " every {iv}s");
                        }
                        if let Some(l) = c["last_probe_s"].as_f64() {
                            let verdict = match c["last_probe_ok"].as_bool() {
                                Some(true) => "ok",
                                _ => "failed",
                            };
                            let _ = write!(t, " (last {:.1} ms {verdict}", l * 1e3);
                            if let (Some(n), Some(f)) =
                                (c["probes"].as_u64(), c["probe_failures"].as_u64())
                            {
                                let _ = write!(t, ", {f}/{n} failed");
                            }
                            t.push(')');
                        }
                        t
                    })
                    .collect();
                rows.push(vec![
                    name.clone(),
                    text(&vs["protocol"]),
                    endpoint(&rs["address"], &rs["port"]),
                    text(&rs["up"]),
                    text(&rs["weight"]),
                    if checks.is_empty() {
                        "-".into()
                    } else {
                        checks.join(", ")
                    },
                ]);
            }
        }
        s.push('\n');
        s.push_str(&table(
            &[
                "VIRTUAL SERVER",
                "PROTO",
                "REAL SERVER",
                "UP",
                "WEIGHT",
                "CHECKERS",
            ],
            &rows,
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_tables() {
        let v: Value = serde_json::from_str(
            r#"{"generation":2,
            "workers":[{"role":"vrrp","pid":10,"restarts":1,"ready":true,"seccomp_violations":1},
                       {"role":"check","pid":null,"restarts":0,"ready":false,"seccomp_violations":0}],
            "vrrp_instances":[{"name":"VI_1","state":"MASTER","priority":100,
                "effective_priority":90,"holds_vips":true,"vips":["10.0.0.1/24"],
                "counters":{"adverts_sent":5,"adverts_received":2,"became_master":1,
                "released_master":0,"drops":{"ip_ttl":2,"checksum":1}}}],
            "vrrp_unknown_vrid":{"eth0":7},
            "ipvs":{"available":false,"error":"no IP_VS","repaired":0},
            "virtual_servers":[{"address":"10.0.0.10","port":80,"fwmark":null,
                "group":null,"protocol":"TCP","real_servers":[{"address":"fd00::1",
                "port":80,"up":false,"weight":3,"checkers":[{"type":"TCP_CHECK",
                "target":"[fd00::1]:80","interval_s":5.0,"last_probe_s":0.0004,
                "last_probe_ok":true,"probes":12,"probe_failures":2}]}]}]}"#,
        )
        .expect("json");
        let t = status_table(&v);
        assert_eq!(
            t,
            "configuration generation 2\n\n\
             WORKER  PID  READY  RESTARTS  SECCOMP KILLS\n\
             vrrp    10   yes    1         1\n\
             check   -    no     0         0\n\n\
             VRRP INSTANCE  STATE   PRIO/EFF  VIPS HELD  ADVERTS TX/RX  MASTER +/-  DROPS  VIPS\n\
             VI_1           MASTER  100/90    yes        5/2            1/0         3      10.0.0.1/24\n\n\
             adverts dropped for an unknown VRID: eth0 7\n\n\
             IPVS: unavailable, 0 repaired (last error: no IP_VS)\n\n\
             VIRTUAL SERVER  PROTO  REAL SERVER   UP  WEIGHT  CHECKERS\n\
             10.0.0.10:80    TCP    [fd00::1]:80  no  3       TCP_CHECK [fd00::1]:80 every 5s (last 0.4 ms ok, 2/12 failed)\n"
        );
    }

    #[test]
    fn dump_files() {
        let v: Value = serde_json::from_str(
            r#"{"files":[{"path":"/tmp/a","text":"x\n"},{"path":"/tmp/b","text":"y"}]}"#,
        )
        .expect("json");
        assert_eq!(files_text(&v), "==> /tmp/a <==\nx\n==> /tmp/b <==\ny\n");
    }
}
