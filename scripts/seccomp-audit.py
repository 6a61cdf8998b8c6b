#!/usr/bin/env python3
"""Compare what the workers really call with their seccomp allow-lists.

    seccomp-audit.py POLICY_NAMES TRACE_DIR

POLICY_NAMES: the output of `cargo run -p sandbox --example policy-names`.
TRACE_DIR: `strace -f -ff -o TRACE_DIR/t` output files of keepalived-rs runs
(see scripts/seccomp-audit.sh). A worker's trace is found by its execve of
`--worker=ROLE`; only the calls after its seccomp filter is installed
count. Prints, per role, the calls seen (with counts), calls seen that the
policy lacks (each would have killed the worker), allowed calls never seen,
and workers killed by SIGSYS. Exits 1 when a call outside a policy or a
SIGSYS was seen.
"""
import collections, glob, os, re, sys

names, tdir = sys.argv[1], sys.argv[2]
policy = collections.defaultdict(set)
for line in open(names):
    role, call = line.split()
    policy[role].add(call)

call_re = re.compile(r"^(?:\d+ +)?([a-z_0-9]+)\(")
seen = collections.defaultdict(collections.Counter)
workers = collections.Counter()
sigsys = collections.Counter()
for path in glob.glob(os.path.join(tdir, "t.*")):
    role = None
    confined = False
    with open(path, errors="replace") as f:
        for line in f:
            if role is None:
                m = re.search(r'execve\("[^"]*", \[[^\]]*"--worker=(\w+)"', line)
                if m:
                    role = m.group(1)
                    workers[role] += 1
                continue
            if not confined:
                if line.startswith("seccomp(SECCOMP_SET_MODE_FILTER") or "PR_SET_SECCOMP" in line:
                    confined = True
                continue
            if "killed by SIGSYS" in line:
                sigsys[role] += 1
            m = call_re.match(line)
            if m:
                seen[role][m.group(1)] += 1

bad = False
for role in sorted(set(policy) | set(seen)):
    calls = seen[role]
    outside = sorted(c for c in calls if c not in policy[role])
    unused = sorted(policy[role] - set(calls))
    print(f"== {role}: {workers[role]} worker traces, {sum(calls.values())} calls after confinement, "
          f"{len(calls)} distinct; policy allows {len(policy[role])}")
    print("   seen: " + ", ".join(f"{c} {n}" for c, n in calls.most_common()))
    print("   seen but not allowed: " + (", ".join(outside) or "none"))
    print("   allowed but not seen: " + (", ".join(unused) or "none"))
    print(f"   killed by SIGSYS: {sigsys[role]}")
    if outside or sigsys[role]:
        bad = True
sys.exit(1 if bad else 0)
