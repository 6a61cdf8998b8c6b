#!/bin/sh
# Run when an instance or sync group enters FAULT.
logger -t keepalived-notify -- "FAULT $*"
exit 0
