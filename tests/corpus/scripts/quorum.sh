#!/bin/sh
# quorum_up / quorum_down hook for virtual servers.
logger -t keepalived-quorum -- "$*"
exit 0
