#!/bin/sh
# Generic keepalived notify script.
# Called as: notify.sh [ARGS...] TYPE NAME STATE PRIORITY
# TYPE is GROUP or INSTANCE, STATE is MASTER, BACKUP, FAULT, STOP or DELETED.
logger -t keepalived-notify -- "$*"
exit 0
