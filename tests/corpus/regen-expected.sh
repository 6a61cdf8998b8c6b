#!/bin/sh
# Record Debian keepalived's verdict on every configuration of the corpus
# into tests/corpus/expected/NAME.txt (exit code, flagged file:line places,
# keepalived's messages), for tests/tests/config_oracle.rs to compare
# keepalived-rs against where keepalived is not installed.
#
# Needs root (it creates a network namespace) and keepalived
# (apt-get install keepalived). Arguments: config names (e.g.
# bad-vrid-range.conf) to redo only those; default all.
#
# The conditions (private corpus copy, namespace with eth0..eth3, host
# name lb1, ...) are defined once, in tests/src/oracle.rs, and shared with
# the test, so recordings and checks cannot drift apart.
set -eu
cd "$(dirname "$0")/../.."
exec cargo run --quiet -p tests --bin oracle-regen -- "$@"
