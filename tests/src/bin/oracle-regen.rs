//! Record keepalived's verdicts on the corpus into tests/corpus/expected/.
//! Run through tests/corpus/regen-expected.sh (as root, with Debian's
//! keepalived installed). Arguments: config names to redo (default: all).
//!
//! Each configuration is checked three times; a verdict that changes
//! between runs is an error, since the oracle test relies on recordings
//! being reproducible.

use std::collections::BTreeSet;
use std::fs;
use std::process::ExitCode;
use tests::oracle::{self, CorpusCopy, Expected};
use tests::{Requirement, keepalived_system_binary};

fn main() -> ExitCode {
    if !tests::require(
        "oracle-regen",
        &[
            Requirement::Root,
            Requirement::NetTools,
            Requirement::Keepalived,
        ],
    ) {
        return ExitCode::FAILURE;
    }
    let env_problems = oracle::environment_problems();
    if !env_problems.is_empty() {
        eprintln!("oracle-regen: this machine would give unrepresentative verdicts:");
        for p in env_problems {
            eprintln!("  - {p}");
        }
        return ExitCode::FAILURE;
    }
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let all = match oracle::corpus_configs() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("oracle-regen: reading the corpus: {e}");
            return ExitCode::FAILURE;
        }
    };
    for w in &wanted {
        if !all.contains(w) {
            eprintln!("oracle-regen: no config {w} in the corpus");
            return ExitCode::FAILURE;
        }
    }
    let names: Vec<&String> = all
        .iter()
        .filter(|n| wanted.is_empty() || wanted.contains(n))
        .collect();
    let keepalived = keepalived_system_binary();
    let version = match oracle::keepalived_version(&keepalived) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("oracle-regen: {}: {e}", keepalived.display());
            return ExitCode::FAILURE;
        }
    };
    let copy = CorpusCopy::new().expect("copying the corpus");
    let ns = oracle::oracle_netns("kars-regen").expect("creating the network namespace");
    let mut failed = false;
    println!("{:<48} {:>4}  lines", "config", "rc");
    for name in names {
        let mut verdicts = Vec::new();
        for _ in 0..3 {
            let out = oracle::run_check(&ns, &keepalived, &copy, name).expect("running keepalived");
            if out.timed_out {
                eprintln!("oracle-regen: {name}: keepalived timed out");
                failed = true;
            }
            let text = format!("{}{}", out.stdout, out.stderr);
            verdicts.push(oracle::parse_keepalived(
                out.code(),
                &text,
                copy.root(),
                name,
            ));
        }
        let first = &verdicts[0];
        let stable = verdicts.iter().all(|v| {
            v.exit == first.exit && v.flags == first.flags && v.message_set() == first.message_set()
        });
        if !stable {
            eprintln!("oracle-regen: {name}: keepalived's verdict differs between runs:");
            for v in &verdicts {
                eprintln!("  exit {} lines {}", v.exit, v.flags_string());
            }
            failed = true;
            continue;
        }
        println!("{:<48} {:>4}  {}", name, first.exit, first.flags_string());
        let exp = Expected {
            version: version.clone(),
            verdict: first.clone(),
        };
        let path = oracle::expected_path(name);
        if let Err(e) = fs::write(&path, oracle::render_expected(name, &exp)) {
            eprintln!("oracle-regen: writing {}: {e}", path.display());
            failed = true;
        }
    }
    // Recordings whose configuration is gone.
    if wanted.is_empty() {
        let stems: BTreeSet<String> = all
            .iter()
            .map(|n| n.trim_end_matches(".conf").to_string())
            .collect();
        if let Ok(entries) = fs::read_dir(oracle::corpus_dir().join("expected")) {
            for e in entries.flatten() {
                let file = e.file_name().to_string_lossy().into_owned();
                if let Some(stem) = file.strip_suffix(".txt") {
                    if !stems.contains(stem) {
                        println!("removing stale {file}");
                        let _ = fs::remove_file(e.path());
                    }
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
