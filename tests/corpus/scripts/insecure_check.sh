#!/bin/sh
# Deliberately insecure script: the oracle harness makes this file
# world-writable (mode 0777) in its private copy of the corpus, so that
# keepalived's script-security checks have something to find.
exit 0
