//! The core's rules, each with its figures: a simulated clock, probes that
//! answer instantly (or after a given time) from a script of results.

use super::*;
use ipc::{Protocol, VirtualServerKey};
use std::path::Path;

/// The LVS part of configuration `text`, which must have no errors (the
/// other modules' tests use it too).
pub(crate) fn lvs(text: &str) -> LvsConfig {
    let loaded = config::load_str(Path::new("t.conf"), text, &config::LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.config.lvs
}

fn conf(rs_body: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 80 {{\n delay_loop 10\n lb_kind NAT\n protocol TCP\n\
         real_server 10.0.1.1 80 {{\n weight 3\n {rs_body}\n }}\n}}\n"
    )
}

fn key(lvs: &LvsConfig, vs: usize, rs: usize) -> RealServerKey {
    let v = &lvs.virtual_servers[vs];
    rs_key(v, &v.real_servers[rs])
}

const S: Duration = Duration::from_secs(1);

/// A run: the core, a start instant, and what happened when.
struct Sim {
    core: Core,
    t0: Instant,
    /// (seconds since t0, up, weight)
    reports: Vec<(f64, bool, u32)>,
    /// (seconds since t0, checker id, url)
    starts: Vec<(f64, CheckerId, usize)>,
    logs: Vec<String>,
}

fn secs(t0: Instant, t: Instant) -> f64 {
    (t - t0).as_secs_f64()
}

impl Sim {
    fn new(text: &str, restored: &[(bool, u32)]) -> Sim {
        Sim::with_jitter(text, restored, 0.0)
    }

    fn with_jitter(text: &str, restored: &[(bool, u32)], j: f64) -> Sim {
        let l = lvs(text);
        let mut map = BTreeMap::new();
        let mut n = 0;
        for (v, vs) in l.virtual_servers.iter().enumerate() {
            for r in 0..vs.real_servers.len() {
                if let Some(&(up, weight)) = restored.get(n) {
                    map.insert(key(&l, v, r), Health { up, weight });
                }
                n += 1;
            }
        }
        let t0 = Instant::now();
        let (core, out) = Core::new(&l, &map, t0, Box::new(move || j));
        let mut s = Sim {
            core,
            t0,
            reports: Vec::new(),
            starts: Vec::new(),
            logs: Vec::new(),
        };
        s.absorb(t0, out);
        s
    }

    fn absorb(&mut self, t: Instant, out: Vec<Output>) -> Vec<(CheckerId, usize)> {
        let mut started = Vec::new();
        for o in out {
            match o {
                Output::Health(h) => self.reports.push((secs(self.t0, t), h.up, h.weight)),
                Output::Log(_, m) => self.logs.push(m),
                Output::Start { id, url } => {
                    self.starts.push((secs(self.t0, t), id, url));
                    started.push((id, url));
                }
            }
        }
        started
    }

    /// Run until `until` seconds; each probe of checker `id` started at
    /// time `t` (seconds) for url `u` takes `latency` and ends with
    /// `result(id, u, t)`.
    fn run(
        &mut self,
        until: f64,
        latency: f64,
        mut result: impl FnMut(CheckerId, usize, f64) -> ProbeResult,
    ) {
        let end = self.t0 + Duration::from_secs_f64(until);
        // (end time, id, result)
        let mut inflight: Vec<(Instant, CheckerId, ProbeResult)> = Vec::new();
        loop {
            let next_start = self.core.next_deadline();
            let next_end = inflight.iter().map(|x| x.0).min();
            let t = match (next_start, next_end) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            if t > end {
                break;
            }
            if let Some(pos) = inflight.iter().position(|x| x.0 == t) {
                let (_, id, r) = inflight.remove(pos);
                let out = self.core.complete(id, r, t);
                self.absorb(t, out);
                continue;
            }
            let out = self.core.poll(t);
            for (id, url) in self.absorb(t, out) {
                let r = result(id, url, secs(self.t0, t));
                inflight.push((t + Duration::from_secs_f64(latency), id, r));
            }
        }
    }

    fn start_times(&self) -> Vec<f64> {
        self.starts.iter().map(|s| round(s.0)).collect()
    }

    fn report_list(&self) -> Vec<(f64, bool, u32)> {
        self.reports
            .iter()
            .map(|&(t, u, w)| (round(t), u, w))
            .collect()
    }
}

fn round(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

fn fail() -> ProbeResult {
    ProbeResult::Failure("connection refused".into())
}

fn up_until(t_fail: f64) -> impl FnMut(CheckerId, usize, f64) -> ProbeResult {
    move |_, _, t| {
        if t < t_fail {
            ProbeResult::Success
        } else {
            fail()
        }
    }
}

#[test]
fn tcp_retries_before_down_then_delay_loop() {
    // delay_loop 10, retry 2, delay_before_retry 3, no warmup: probes at
    // 1, 11, 21 succeed; 31 fails (retry 1 at 34, retry 2 at 37), down at
    // 37; then every delay_loop (47, 57).
    let mut s = Sim::new(
        &conf("TCP_CHECK {\n retry 2\n delay_before_retry 3\n warmup 0\n }"),
        &[(true, 3)],
    );
    s.run(60.0, 0.0, up_until(30.0));
    assert_eq!(
        s.start_times(),
        vec![1.0, 11.0, 21.0, 31.0, 34.0, 37.0, 47.0, 57.0]
    );
    assert_eq!(s.report_list(), vec![(37.0, false, 3)]);
    assert!(
        s.logs
            .iter()
            .any(|l| l == "TCP_CHECK on service [10.0.1.1]:tcp:80 failed after 2 retries (connection refused)."),
        "{:?}",
        s.logs
    );
    assert!(
        s.logs
            .iter()
            .any(|l| l.starts_with("Removing service [10.0.1.1]:tcp:80 from VS [10.0.0.1]:tcp:80"))
    );
}

#[test]
fn a_single_failure_takes_a_checker_down_before_it_has_run() {
    // keepalived: retry_it = retry at start, so the very first failure
    // counts; retries only apply once a check has succeeded.
    let mut s = Sim::new(
        &conf("TCP_CHECK {\n retry 3\n delay_before_retry 2\n warmup 0\n }"),
        &[(true, 3)],
    );
    s.run(25.0, 0.0, |_, _, _| fail());
    assert_eq!(s.report_list(), vec![(1.0, false, 3)]);
    assert_eq!(
        s.start_times(),
        vec![1.0, 11.0, 21.0],
        "no retries while down"
    );
}

#[test]
fn comes_back_up_on_first_success_and_reports_once() {
    // Down from t=1, back at t=31: exactly two reports, not one per probe.
    let mut s = Sim::new(&conf("TCP_CHECK {\n warmup 0\n }"), &[(true, 3)]);
    s.run(200.0, 0.0, |_, _, t| {
        if (1.0..30.0).contains(&t) {
            fail()
        } else {
            ProbeResult::Success
        }
    });
    assert_eq!(s.report_list(), vec![(1.0, false, 3), (31.0, true, 3)]);
    assert_eq!(s.starts.len(), 20);
}

#[test]
fn probe_latency_delays_the_next_run() {
    // delay_loop counts from the end of a probe: 1, 1.5+10=11.5, 22, ...
    let mut s = Sim::new(&conf("TCP_CHECK {\n warmup 0\n }"), &[(true, 3)]);
    s.run(35.0, 0.5, |_, _, _| ProbeResult::Success);
    assert_eq!(s.start_times(), vec![1.0, 11.5, 22.0, 32.5]);
    assert!(s.reports.is_empty());
}

#[test]
fn warmup_is_a_random_part_of_warmup_after_the_bootstrap_delay() {
    // warmup 10 with the random fraction 0.25: first run at 1 + 2.5.
    let mut s = Sim::with_jitter(&conf("TCP_CHECK {\n warmup 10\n }"), &[(true, 3)], 0.25);
    s.run(20.0, 0.0, |_, _, _| ProbeResult::Success);
    assert_eq!(s.start_times(), vec![3.5, 13.5]);
    // warmup defaults to delay_loop: 1 + 0.5 * 10.
    let mut s = Sim::with_jitter(&conf("TCP_CHECK {\n }"), &[(true, 3)], 0.5);
    s.run(10.0, 0.0, |_, _, _| ProbeResult::Success);
    assert_eq!(s.start_times(), vec![6.0]);
}

#[test]
fn alpha_starts_down_and_needs_a_success() {
    // The parent holds an alpha real server as down; the first success
    // (t=1) brings it up.
    let mut s = Sim::new(&conf("alpha\n TCP_CHECK {\n warmup 0\n }"), &[(false, 3)]);
    s.run(5.0, 0.0, |_, _, _| ProbeResult::Success);
    assert_eq!(s.report_list(), vec![(1.0, true, 3)]);
    // A checker-level alpha on a real server the parent does not hold yet
    // (no restored entry): reported down at once, up at its first success.
    let mut s = Sim::new(&conf("TCP_CHECK {\n alpha\n warmup 0\n }"), &[]);
    s.run(5.0, 0.0, |_, _, _| ProbeResult::Success);
    assert_eq!(s.report_list(), vec![(0.0, false, 3), (1.0, true, 3)]);
}

#[test]
fn a_real_server_is_up_only_when_all_its_checkers_are() {
    // Two checkers; the second (port 81) fails between t=10 and t=30.
    let mut s = Sim::new(
        &conf(
            "TCP_CHECK {\n warmup 0\n }\n TCP_CHECK {\n connect_port 81\n warmup 0\n delay_loop 5\n }",
        ),
        &[(true, 3)],
    );
    let second = s.core.chks[1].id;
    s.run(40.0, 0.0, move |id, _, t| {
        if id == second && (10.0..30.0).contains(&t) {
            fail()
        } else {
            ProbeResult::Success
        }
    });
    // Second checker (TCP_CHECK defaults: retry 1, delay_before_retry 1):
    // runs at 1, 6, 11 (fails), 12 (fails again: down), 17, 22, 27, 32 (up).
    assert_eq!(s.report_list(), vec![(12.0, false, 3), (32.0, true, 3)]);
}

#[test]
fn restored_health_is_the_starting_point() {
    // Restored down (e.g. after a worker restart): the checker starts
    // down and the first success reports it up, with the restored weight.
    let mut s = Sim::new(&conf("TCP_CHECK {\n warmup 0\n }"), &[(false, 9)]);
    s.run(5.0, 0.0, |_, _, _| ProbeResult::Success);
    assert_eq!(s.report_list(), vec![(1.0, true, 9)]);
    // Restored up: nothing to report while it stays up.
    let mut s = Sim::new(&conf("TCP_CHECK {\n warmup 0\n }"), &[(true, 3)]);
    s.run(50.0, 0.0, |_, _, _| ProbeResult::Success);
    assert!(s.reports.is_empty());
}

fn exit(code: i32) -> ProbeResult {
    ProbeResult::Script(ScriptOutcome::Exited { code })
}

#[test]
fn misc_dynamic_exit_codes() {
    // misc_dynamic: 0 up (weight unchanged), 1 down, 2..255 up with weight
    // code - 2. Runs at 1, 11, 21, ... (misc retry defaults to 0).
    let codes = [0, 7, 7, 1, 1, 2, 0, 255, 300];
    let mut s = Sim::new(
        &conf("MISC_CHECK {\n misc_path /bin/true\n misc_dynamic\n warmup 0\n }"),
        &[(true, 3)],
    );
    let mut n = 0;
    s.run(90.0, 0.0, move |_, _, _| {
        let c = codes[n];
        n += 1;
        exit(c)
    });
    assert_eq!(
        s.report_list(),
        vec![
            (11.0, true, 5),    // 7: weight 5
            (31.0, false, 5),   // 1: down
            (51.0, true, 0),    // 2: up, weight 0
            (71.0, true, 253),  // 255: weight 253
            (81.0, false, 253), // 300 is not an exit status 0..255: failure
        ]
    );
    assert!(s.logs.iter().any(|l| l == "Changing weight from 3 to 5 for active service [10.0.1.1]:tcp:80 of VS [10.0.0.1]:tcp:80"));
}

#[test]
fn misc_without_dynamic_treats_nonzero_as_failure() {
    let mut s = Sim::new(
        &conf("MISC_CHECK {\n misc_path /bin/true\n warmup 0\n }"),
        &[(true, 3)],
    );
    let mut n = 0;
    s.run(30.0, 0.0, move |_, _, _| {
        n += 1;
        if n == 2 { exit(7) } else { exit(0) }
    });
    assert_eq!(s.report_list(), vec![(11.0, false, 3), (21.0, true, 3)]);
}

#[test]
fn misc_runs_every_delay_loop_from_the_script_start_and_retries() {
    // Each script takes 4 s; runs start 10 s apart (not 14). retry 1,
    // delay_before_retry 2: the failure at 11 is retried at 13 (from its
    // start), down when that fails too. A timeout is a failure.
    let mut s = Sim::new(
        &conf("MISC_CHECK {\n misc_path /bin/true\n retry 1\n delay_before_retry 2\n warmup 0\n }"),
        &[(true, 3)],
    );
    s.run(40.0, 4.0, |_, _, t| {
        if t < 10.0 {
            exit(0)
        } else {
            ProbeResult::Script(ScriptOutcome::TimedOut)
        }
    });
    // 1 ok (ends 5), 11 timeout (ends 15; next = max(11+2, 15) = 15),
    // 15 timeout (ends 19: down), 25, 35.
    assert_eq!(s.start_times(), vec![1.0, 11.0, 15.0, 25.0, 35.0]);
    assert_eq!(s.report_list(), vec![(19.0, false, 3)]);
    assert!(
        s.logs
            .iter()
            .any(|l| l.contains("Misc check to [10.0.1.1] failed (timed out).")),
        "{:?}",
        s.logs
    );
}

#[test]
fn misc_refused_by_the_parent_changes_nothing() {
    let mut s = Sim::new(
        &conf("MISC_CHECK {\n misc_path /bin/true\n warmup 0\n }"),
        &[(true, 3)],
    );
    s.run(25.0, 0.0, |_, _, _| {
        ProbeResult::Script(ScriptOutcome::Refused {
            reason: "too many scripts running".into(),
        })
    });
    assert!(s.reports.is_empty());
    assert_eq!(s.start_times(), vec![1.0, 11.0, 21.0]);
    assert!(
        s.logs
            .iter()
            .any(|l| l.contains("not run: too many scripts running"))
    );
}

fn http(extra: &str) -> String {
    conf(&format!(
        "HTTP_GET {{\n url {{\n path /\n }}\n retry 1\n delay_before_retry 3\n warmup 0\n {extra}\n }}"
    ))
}

#[test]
fn http_down_after_retry_and_back_after_two_successes() {
    // 1 ok, 11 fails (retry at 14), 14 fails: down, then the failed url
    // every max(delay_before_retry, delay_loop) = 10: 24 fails, 34 ok
    // (the failed url answers: check all urls again after delay_loop),
    // 44 ok: up.
    let mut s = Sim::new(&http(""), &[(true, 3)]);
    s.run(50.0, 0.0, |_, _, t| {
        if (10.0..30.0).contains(&t) {
            fail()
        } else {
            ProbeResult::Success
        }
    });
    assert_eq!(s.start_times(), vec![1.0, 11.0, 14.0, 24.0, 34.0, 44.0]);
    assert_eq!(s.report_list(), vec![(14.0, false, 3), (44.0, true, 3)]);
}

#[test]
fn http_fast_recovery_rechecks_at_once() {
    // Same as above with fast_recovery: the success at 34 is followed by
    // an immediate run (34 again), which brings it up.
    let mut s = Sim::new(&http("fast_recovery"), &[(true, 3)]);
    s.run(50.0, 0.0, |_, _, t| {
        if (10.0..30.0).contains(&t) {
            fail()
        } else {
            ProbeResult::Success
        }
    });
    assert_eq!(
        s.start_times(),
        vec![1.0, 11.0, 14.0, 24.0, 34.0, 34.0, 44.0]
    );
    assert_eq!(s.report_list(), vec![(14.0, false, 3), (34.0, true, 3)]);
}

#[test]
fn http_checks_one_url_per_run() {
    let text = conf(
        "HTTP_GET {\n url {\n path /a\n }\n url {\n path /b\n }\n url {\n path /c\n }\n warmup 0\n }",
    );
    let mut s = Sim::new(&text, &[(true, 3)]);
    s.run(45.0, 0.0, |_, _, _| ProbeResult::Success);
    let urls: Vec<usize> = s.starts.iter().map(|x| x.2).collect();
    assert_eq!(urls, vec![0, 1, 2, 0, 1]);
    assert_eq!(s.start_times(), vec![1.0, 11.0, 21.0, 31.0, 41.0]);
    // url /b (1) failing takes it down (first failure before all urls
    // have been checked once); the failed url is checked until it
    // answers.
    let mut s = Sim::new(&text, &[(true, 3)]);
    s.run(45.0, 0.0, |_, u, t| {
        if u == 1 && t < 20.0 {
            fail()
        } else {
            ProbeResult::Success
        }
    });
    let urls: Vec<usize> = s.starts.iter().map(|x| x.2).collect();
    assert_eq!(s.report_list()[0], (11.0, false, 3));
    assert_eq!(urls, vec![0, 1, 1, 0, 1]);
}

#[test]
fn inhibit_on_failure_reports_down_and_logs_disabling() {
    // The report is the same; the IPVS worker keeps an inhibited server
    // with weight 0.
    let mut s = Sim::new(
        &conf("inhibit_on_failure\n TCP_CHECK {\n warmup 0\n }"),
        &[(true, 3)],
    );
    s.run(15.0, 0.0, |_, _, t| {
        if t < 5.0 {
            fail()
        } else {
            ProbeResult::Success
        }
    });
    assert_eq!(s.report_list(), vec![(1.0, false, 3), (11.0, true, 3)]);
    assert!(
        s.logs
            .iter()
            .any(|l| l.starts_with("Disabling service [10.0.1.1]:tcp:80 of VS"))
    );
    assert!(
        s.logs
            .iter()
            .any(|l| l.starts_with("Enabling service [10.0.1.1]:tcp:80 of VS"))
    );
}

fn two_rs(second_port: u16, extra: &str) -> String {
    format!(
        "virtual_server 10.0.0.1 80 {{\n delay_loop 10\n lb_kind NAT\n protocol TCP\n\
         real_server 10.0.1.1 80 {{\n weight 3\n TCP_CHECK {{\n warmup 0\n }}\n }}\n\
         real_server 10.0.1.2 80 {{\n weight 4\n TCP_CHECK {{\n connect_port {second_port}\n warmup 0\n }}\n }}\n\
         {extra}}}\n"
    )
}

#[test]
fn reload_keeps_unchanged_checkers_and_starts_new_ones() {
    let mut s = Sim::new(&two_rs(80, ""), &[(true, 3), (true, 4)]);
    // Both down at t=1.
    s.run(5.0, 0.0, |_, _, _| fail());
    assert_eq!(s.report_list(), vec![(1.0, false, 3), (1.0, false, 4)]);
    let first_id = s.core.chks[0].id;
    // Reload at t=5: the first real server's checker is unchanged; the
    // second's port changed (a new checker); a third real server with
    // alpha is added.
    let t = s.t0 + 5 * S;
    let out = s.core.reload(
        &lvs(&two_rs(
            8080,
            "real_server 10.0.1.3 80 {\n alpha\n TCP_CHECK {\n warmup 0\n }\n }\n",
        )),
        t,
    );
    s.absorb(t, out);
    assert_eq!(s.core.chks[0].id, first_id, "kept its identity");
    assert!(!s.core.chks[0].is_up, "kept its state");
    assert_eq!(s.core.chks[0].due, Some(s.t0 + 11 * S), "kept its schedule");
    assert_eq!(
        s.core.chks[1].due,
        Some(t + S),
        "new checker: bootstrap delay"
    );
    s.run(20.0, 0.0, |_, _, _| ProbeResult::Success);
    // t=6: the new checkers of RS 2 and 3 succeed; RS 2 (down, its only
    // checker replaced and up) was reported up by the reload itself.
    assert_eq!(
        s.report_list(),
        vec![
            (1.0, false, 3),
            (1.0, false, 4),
            (5.0, true, 4), // RS 2: its failed checker is gone (keepalived: no failed checker, so up)
            (6.0, true, 1), // RS 3 (alpha, default weight 1): first success
            (11.0, true, 3), // RS 1: its kept checker succeeds at its old time
        ]
    );
}

#[test]
fn reload_keeps_a_dynamic_weight_unless_the_configured_weight_changed() {
    let text = conf("MISC_CHECK {\n misc_path /bin/true\n misc_dynamic\n warmup 0\n }");
    let mut s = Sim::new(&text, &[(true, 3)]);
    s.run(5.0, 0.0, |_, _, _| exit(12));
    assert_eq!(s.report_list(), vec![(1.0, true, 10)]);
    let t = s.t0 + 5 * S;
    let out = s.core.reload(&lvs(&text), t);
    assert!(out.is_empty(), "{out:?}");
    let out = s
        .core
        .reload(&lvs(&text.replace("weight 3", "weight 6")), t);
    assert_eq!(
        out.iter()
            .filter_map(|o| match o {
                Output::Health(h) => Some((h.up, h.weight)),
                _ => None,
            })
            .collect::<Vec<_>>(),
        vec![(true, 6)]
    );
}

#[test]
fn a_running_probe_survives_a_reload_of_its_checker() {
    let text = conf("TCP_CHECK {\n warmup 0\n }");
    let mut s = Sim::new(&text, &[(true, 3)]);
    let t1 = s.t0 + S;
    let started = s.core.poll(t1);
    assert_eq!(started.len(), 1);
    let Output::Start { id, .. } = started[0] else {
        panic!()
    };
    assert!(s.core.is_running(id));
    s.core.reload(&lvs(&text), t1);
    assert!(s.core.is_running(id));
    let out = s.core.complete(id, fail(), t1 + S);
    assert!(out.iter().any(|o| matches!(o, Output::Health(h) if !h.up)));
    // A probe of a checker that the reload removed is ignored.
    let s2 = conf("TCP_CHECK {\n connect_port 99\n warmup 0\n }");
    let mut s = Sim::new(&text, &[(true, 3)]);
    let t1 = s.t0 + S;
    let started = s.core.poll(t1);
    let Output::Start { id, .. } = started[0] else {
        panic!()
    };
    s.core.reload(&lvs(&s2), t1);
    assert!(!s.core.is_running(id));
    assert!(s.core.complete(id, fail(), t1 + S).is_empty());
}

#[test]
fn keys_match_the_parents_naming() {
    let l = lvs(&two_rs(80, ""));
    let k = key(&l, 0, 1);
    assert_eq!(
        k,
        RealServerKey {
            virtual_server: VirtualServerKey::Addr {
                addr: "10.0.0.1".parse().unwrap(),
                port: 80,
                protocol: Protocol::Tcp,
            },
            addr: "10.0.1.2".parse().unwrap(),
            port: 80,
        }
    );
}

fn file_conf(rs_body: &str) -> String {
    format!(
        "track_file tf {{\n file /nonexistent/tf\n}}\n\
         track_file tw {{\n file /nonexistent/tw\n weight 10\n}}\n{}",
        conf(rs_body)
    )
}

fn with_files(text: &str, files: &[(&str, Option<i64>)], restored: &[(bool, u32)]) -> Sim {
    let l = lvs(text);
    let mut map = BTreeMap::new();
    for (i, &(up, weight)) in restored.iter().enumerate() {
        map.insert(key(&l, 0, i), Health { up, weight });
    }
    let values: FileValues = files.iter().map(|(p, v)| (p.to_string(), *v)).collect();
    let t0 = Instant::now();
    let (core, out) = Core::with_files(&l, &map, t0, Box::new(|| 0.0), &values);
    let mut s = Sim {
        core,
        t0,
        reports: Vec::new(),
        starts: Vec::new(),
        logs: Vec::new(),
    };
    s.absorb(t0, out);
    s
}

impl Sim {
    fn file(&mut self, path: &str, v: Option<i64>) {
        let out = self.core.file_read(path, v);
        self.absorb(self.t0, out);
    }

    fn last(&self) -> Option<(bool, u32)> {
        self.reports.last().map(|&(_, u, w)| (u, w))
    }
}

#[test]
fn an_unweighted_file_check_is_down_while_the_file_is_non_zero() {
    let text = file_conf("FILE_CHECK {\n track_file tf\n weight 0\n }");
    // The file read 0 at start: up, nothing to report.
    let mut s = with_files(&text, &[("/nonexistent/tf", Some(0))], &[]);
    assert!(s.reports.is_empty());
    s.file("/nonexistent/tf", Some(1));
    assert_eq!(s.last(), Some((false, 3)));
    assert!(
        s.logs
            .iter()
            .any(|l| l.contains("tracked file tf now FAULT")),
        "{:?}",
        s.logs
    );
    // Another non-zero value: still down, nothing new.
    s.file("/nonexistent/tf", Some(-4));
    assert_eq!(s.reports.len(), 1);
    s.file("/nonexistent/tf", Some(0));
    assert_eq!(s.last(), Some((true, 3)));
    // An invalid number is ignored (logged once).
    s.file("/nonexistent/tf", None);
    s.file("/nonexistent/tf", None);
    assert_eq!(s.reports.len(), 2);
    assert_eq!(
        s.logs
            .iter()
            .filter(|l| l.contains("Invalid number"))
            .count(),
        1
    );
    // A file that reads non-zero at start: down from the start.
    let s = with_files(&text, &[("/nonexistent/tf", Some(2))], &[]);
    assert_eq!(s.report_list(), vec![(0.0, false, 3)]);
}

#[test]
fn reverse_swaps_an_unweighted_file_check() {
    let text = file_conf("FILE_CHECK {\n track_file tf\n weight 0 reverse\n }");
    let mut s = with_files(&text, &[("/nonexistent/tf", Some(5))], &[]);
    assert!(s.reports.is_empty());
    s.file("/nonexistent/tf", Some(0));
    assert_eq!(s.last(), Some((false, 3)));
    s.file("/nonexistent/tf", Some(1));
    assert_eq!(s.last(), Some((true, 3)));
}

#[test]
fn a_weighted_file_check_moves_the_weight() {
    // track_file tw's weight 10 applies; the real server's weight is 3.
    let text = file_conf("FILE_CHECK {\n track_file tw\n }");
    let mut s = with_files(&text, &[("/nonexistent/tw", Some(2))], &[]);
    // 3 + 2 * 10 at start.
    assert_eq!(s.report_list(), vec![(0.0, true, 23)]);
    s.file("/nonexistent/tw", Some(5));
    assert_eq!(s.last(), Some((true, 53)));
    // Below 0 the weight stays 0 and the server up.
    s.file("/nonexistent/tw", Some(-1));
    assert_eq!(s.last(), Some((true, 0)));
    // -IPVS_WEIGHT_MAX is FAULT: down, weight unchanged.
    s.file("/nonexistent/tw", Some(-100_000));
    assert_eq!(s.last(), Some((false, 0)));
    // Leaving FAULT brings it up without a weight change (keepalived).
    s.file("/nonexistent/tw", Some(4));
    assert_eq!(s.last(), Some((true, 0)));
    s.file("/nonexistent/tw", Some(5));
    assert_eq!(s.last(), Some((true, 3)));
    // reverse negates: weight -2 on the FILE_CHECK itself.
    let text = file_conf("FILE_CHECK {\n track_file tw\n weight 2 reverse\n }");
    let mut s = with_files(&text, &[("/nonexistent/tw", Some(1))], &[]);
    assert_eq!(s.report_list(), vec![(0.0, true, 1)]);
    s.file("/nonexistent/tw", Some(0));
    assert_eq!(s.last(), Some((true, 3)));
}

#[test]
fn a_file_check_is_one_more_checker_of_its_real_server() {
    let text = file_conf("TCP_CHECK {\n retry 0\n }\n FILE_CHECK {\n track_file tf\n weight 0\n }");
    let mut s = with_files(&text, &[], &[]);
    // TCP fails at 1 s: down. The file going bad and good again changes
    // nothing: the TCP_CHECK is still down.
    s.run(1.5, 0.0, |_, _, _| ProbeResult::Failure("refused".into()));
    assert_eq!(s.last(), Some((false, 3)));
    s.file("/nonexistent/tf", Some(1));
    s.file("/nonexistent/tf", Some(0));
    assert_eq!(s.reports.len(), 1);
    // TCP succeeds while the file is bad: still down until the file is 0.
    s.file("/nonexistent/tf", Some(1));
    s.run(12.0, 0.0, |_, _, _| ProbeResult::Success);
    assert_eq!(s.reports.len(), 1);
    s.file("/nonexistent/tf", Some(0));
    assert_eq!(s.last(), Some((true, 3)));
}

#[test]
fn file_checks_survive_a_reload_and_a_restart() {
    let text = file_conf("FILE_CHECK {\n track_file tw\n }");
    let mut s = with_files(&text, &[("/nonexistent/tw", Some(1))], &[]);
    assert_eq!(s.last(), Some((true, 13)));
    // A reload that finds the same value reports nothing.
    let out = s
        .core
        .reload_with_files(&lvs(&text), s.t0, &FileValues::new());
    s.absorb(s.t0, out);
    assert_eq!(s.reports.len(), 1);
    // A reload that reads a new value applies it.
    let values: FileValues = [("/nonexistent/tw".to_string(), Some(2))].into();
    let out = s.core.reload_with_files(&lvs(&text), s.t0, &values);
    s.absorb(s.t0, out);
    assert_eq!(s.last(), Some((true, 23)));
    assert_eq!(
        s.core.file_paths().into_iter().collect::<Vec<_>>(),
        vec!["/nonexistent/tw".to_string()]
    );
    // A restarted worker given the parent's health (weight 23 with the
    // file at 2) does not add the file's part twice.
    let s = with_files(&text, &[("/nonexistent/tw", Some(2))], &[(true, 23)]);
    assert!(s.reports.is_empty(), "{:?}", s.reports);
}

#[test]
fn poll_max_starts_a_bounded_batch_and_keeps_the_rest_due() {
    // Five real servers due at the same instant (warmup 0).
    let rs: String = (1..=5)
        .map(|i| format!("real_server 10.0.1.{i} 80 {{\n TCP_CHECK {{\n warmup 0\n }}\n }}\n"))
        .collect();
    let text = format!(
        "virtual_server 10.0.0.1 80 {{\n delay_loop 10\n lb_kind NAT\n protocol TCP\n{rs}}}\n"
    );
    let mut s = Sim::new(&text, &[]);
    let t1 = s.t0 + S;
    assert!(
        s.core.poll_max(s.t0, 2).is_empty(),
        "nothing due before the bootstrap delay"
    );
    let first = s.core.poll_max(t1, 2);
    assert_eq!(first.len(), 2);
    // The others are still due: the next deadline is already past.
    assert!(s.core.next_deadline().is_some_and(|d| d <= t1));
    let second = s.core.poll_max(t1, 2);
    assert_eq!(second.len(), 2);
    let rest = s.core.poll(t1);
    assert_eq!(rest.len(), 1);
    assert!(s.core.poll(t1).is_empty());
    let mut ids: Vec<CheckerId> = first
        .iter()
        .chain(&second)
        .chain(&rest)
        .map(|o| match o {
            Output::Start { id, .. } => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "each checker started once");
}

/// Each checker's MISC_CHECK number and name, and its real server's names,
/// as the core hands them out (also after a reload that reorders them).
#[test]
fn checker_identities_misc_numbers_and_shared_names() {
    let body = "TCP_CHECK {\n }\n MISC_CHECK {\n misc_path /bin/a\n }\n \
                TCP_CHECK {\n connect_port 81\n }\n MISC_CHECK {\n misc_path /bin/b\n }";
    let s = Sim::new(&conf(body), &[]);
    let ids: Vec<CheckerId> = (1..=4).collect();
    let of = |core: &Core, id| {
        let c = core.checker(id).unwrap();
        (
            c.checker.kind.keyword(),
            c.misc_index,
            c.name.to_string(),
            Arc::ptr_eq(c.name, c.rs.name),
        )
    };
    let got: Vec<_> = ids.iter().map(|&id| of(&s.core, id)).collect();
    assert_eq!(
        got,
        [
            ("TCP_CHECK", 0, "[10.0.1.1]:tcp:80".to_string(), true),
            ("MISC_CHECK", 0, "[10.0.1.1]".to_string(), false),
            ("TCP_CHECK", 1, "[10.0.1.1]:tcp:81".to_string(), false),
            ("MISC_CHECK", 1, "[10.0.1.1]".to_string(), false),
        ]
    );
    let c = s.core.checker(1).unwrap();
    assert_eq!(
        (&**c.rs.name, &**c.rs.vs_name),
        ("[10.0.1.1]:tcp:80", "[10.0.0.1]:tcp:80")
    );
    assert!(c.rs.smtp_alert && c.rs.reported.up);
    // Reloaded in another order: the TCP_CHECKs keep their ids, the
    // MISC_CHECKs (their scripts' lines changed) are new; each has its
    // new number (a TCP_CHECK's counts the MISC_CHECKs before it, unused).
    let mut s = s;
    let swapped = "MISC_CHECK {\n misc_path /bin/b\n }\n TCP_CHECK {\n }\n \
                   MISC_CHECK {\n misc_path /bin/a\n }\n TCP_CHECK {\n connect_port 81\n }";
    s.core.reload(&lvs(&conf(swapped)), s.t0);
    let got: Vec<_> = [1, 3, 5, 6].iter().map(|&id| of(&s.core, id)).collect();
    assert_eq!(
        got,
        [
            ("TCP_CHECK", 1, "[10.0.1.1]:tcp:80".to_string(), true),
            ("TCP_CHECK", 2, "[10.0.1.1]:tcp:81".to_string(), false),
            ("MISC_CHECK", 0, "[10.0.1.1]".to_string(), false),
            ("MISC_CHECK", 1, "[10.0.1.1]".to_string(), false),
        ]
    );
    assert!(s.core.checker(2).is_none() && s.core.checker(4).is_none());
}

/// Two virtual servers on 10.0.0.1 (ports 80 and 443) with `ha_suspend`,
/// one without, each with a TCP_CHECK every 10 s; the first also a
/// FILE_CHECK.
fn ha_conf() -> String {
    let vs = |port: u16, ha: &str, extra: &str| {
        format!(
            "virtual_server 10.0.0.1 {port} {{\n delay_loop 10\n protocol TCP\n {ha}\n\
             real_server 10.0.1.1 {port} {{\n TCP_CHECK {{\n warmup 0\n }}\n {extra}\n }}\n}}\n"
        )
    };
    format!(
        "track_file tf {{\n file /nonexistent/tf\n}}\n{}{}{}",
        vs(80, "ha_suspend", "FILE_CHECK {\n track_file tf\n }"),
        vs(443, "ha_suspend", ""),
        vs(8080, "", "")
    )
}

fn vip() -> IpAddr {
    "10.0.0.1".parse().unwrap()
}

#[test]
fn ha_suspend_runs_checkers_only_while_the_address_is_present() {
    let mut s = Sim::new(&ha_conf(), &[]);
    let out = s.core.start_checkers(&[]);
    s.absorb(s.t0, out);
    assert_eq!(
        s.logs,
        [
            "Deactivating healthchecker for service [10.0.1.1]:tcp:80 for VS [10.0.0.1]:tcp:80",
            "Deactivating healthchecker for service [10.0.1.1]:tcp:443 for VS [10.0.0.1]:tcp:443",
            "Activating healthchecker for service [10.0.1.1]:tcp:8080 for VS [10.0.0.1]:tcp:8080",
        ]
    );
    s.logs.clear();
    let (c80, c443, c8080) = (s.core.chks[0].id, s.core.chks[1].id, s.core.chks[2].id);
    // Absent: only the checker without ha_suspend probes (at 1, 11, 21);
    // the others keep their schedule without probing, their real servers
    // stay as they were (up) although every probe would fail.
    s.run(25.0, 0.0, |_, _, _| fail());
    assert!(s.starts.iter().all(|x| x.1 == c8080), "{:?}", s.starts);
    assert_eq!(s.start_times(), [1.0, 11.0, 21.0]);
    assert_eq!(s.report_list(), [(1.0, false, 1)]);
    assert!(s.core.chks[0].is_up && s.core.chks[1].is_up);
    s.logs.clear();
    // The address is added at 25: both its virtual servers' checkers are
    // activated (the FILE_CHECK, never disabled, is not logged), and probe
    // at their next turn (31): down.
    let t = s.t0 + Duration::from_secs(25);
    let out = s.core.vs_address(vip(), true);
    s.absorb(t, out);
    assert_eq!(
        s.logs,
        [
            "Netlink reflector reports IP 10.0.0.1 added",
            "Activating healthchecker for service [10.0.1.1]:tcp:80 for VS [10.0.0.1]:tcp:80",
            "Activating healthchecker for service [10.0.1.1]:tcp:443 for VS [10.0.0.1]:tcp:443",
        ]
    );
    // Told twice: nothing more.
    assert!(s.core.vs_address(vip(), true).is_empty());
    s.logs.clear();
    s.starts.clear();
    s.run(45.0, 0.0, |_, _, _| fail());
    let starts = |s: &Sim, id| {
        s.starts
            .iter()
            .filter(|x| x.1 == id)
            .map(|x| round(x.0))
            .collect::<Vec<_>>()
    };
    assert_eq!(starts(&s, c80), [31.0, 41.0]);
    assert_eq!(starts(&s, c443), [31.0, 41.0]);
    assert_eq!(
        s.report_list(),
        [(1.0, false, 1), (31.0, false, 1), (31.0, false, 1)]
    );
    // Removed at 45: suspended (the FILE_CHECK too, as keepalived logs
    // it, after its virtual server's checkers); no probe after, and the
    // real servers stay down.
    s.logs.clear();
    let t = s.t0 + Duration::from_secs(45);
    let out = s.core.vs_address(vip(), false);
    s.absorb(t, out);
    assert_eq!(
        s.logs,
        [
            "Netlink reflector reports IP 10.0.0.1 removed",
            "Suspending healthchecker for service [10.0.1.1]:tcp:80 for VS [10.0.0.1]:tcp:80",
            "Suspending healthchecker for service [10.0.1.1]:tcp:80 for VS [10.0.0.1]:tcp:80",
            "Suspending healthchecker for service [10.0.1.1]:tcp:443 for VS [10.0.0.1]:tcp:443",
        ]
    );
    s.starts.clear();
    s.run(80.0, 0.0, |_, _, _| ProbeResult::Success);
    assert!(s.starts.iter().all(|x| x.1 == c8080), "{:?}", s.starts);
    assert!(!s.core.chks[0].is_up && !s.core.chks[1].is_up);
    let mut d = String::new();
    s.core.dump(s.t0 + Duration::from_secs(80), &mut d);
    assert!(d.contains("suspended (ha_suspend)"), "{d}");
    // Other addresses change nothing.
    assert!(
        s.core
            .vs_address("10.0.0.2".parse().unwrap(), true)
            .is_empty()
    );
}

#[test]
fn ha_suspend_present_at_start_and_reload() {
    let text = ha_conf();
    let mut s = Sim::new(&text, &[]);
    let out = s.core.start_checkers(&[vip()]);
    s.absorb(s.t0, out);
    assert!(
        s.logs.iter().all(|l| l.starts_with("Activating")),
        "{:?}",
        s.logs
    );
    s.run(5.0, 0.0, |_, _, _| ProbeResult::Success);
    assert_eq!(s.start_times(), [1.0, 1.0, 1.0]);
    // A reload starts the checkers again, from the presence then.
    let t = s.t0 + Duration::from_secs(5);
    let out = s.core.reload(&lvs(&text), t);
    s.absorb(t, out);
    s.logs.clear();
    let out = s.core.start_checkers(&[]);
    s.absorb(t, out);
    assert_eq!(
        s.logs
            .iter()
            .filter(|l| l.starts_with("Deactivating"))
            .count(),
        2
    );
    s.starts.clear();
    s.run(30.0, 0.0, |_, _, _| ProbeResult::Success);
    assert_eq!(s.start_times(), [11.0, 21.0]);
}

#[test]
fn ha_suspend_on_a_group_never_activates() {
    // keepalived 2.2.7's addr_matches() matches no address for a virtual
    // server group: its checkers stay deactivated.
    let text = "virtual_server_group G {\n 10.0.0.1 80\n}\n\
                virtual_server group G {\n delay_loop 10\n protocol TCP\n ha_suspend\n\
                real_server 10.0.1.1 80 {\n TCP_CHECK {\n warmup 0\n }\n }\n}\n";
    let mut s = Sim::new(text, &[]);
    let out = s.core.start_checkers(&[vip()]);
    s.absorb(s.t0, out);
    assert_eq!(
        s.logs,
        ["Deactivating healthchecker for service [10.0.1.1]:tcp:80 for VS [G]:0"]
    );
    assert!(s.core.vs_address(vip(), false).is_empty());
    assert!(s.core.vs_address(vip(), true).is_empty());
    s.run(30.0, 0.0, |_, _, _| fail());
    assert!(s.starts.is_empty());
}
