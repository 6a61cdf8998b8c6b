#!/bin/sh
# Run when an instance or sync group becomes MASTER: start the services
# that follow the VIP.
logger -t keepalived-notify -- "MASTER $*"
exit 0
