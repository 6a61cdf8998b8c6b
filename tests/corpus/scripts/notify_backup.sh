#!/bin/sh
# Run when an instance or sync group becomes BACKUP.
logger -t keepalived-notify -- "BACKUP $*"
exit 0
