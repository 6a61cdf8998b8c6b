#!/bin/sh
# notify_up / notify_down hook for real servers.
logger -t keepalived-rs-state -- "$*"
exit 0
