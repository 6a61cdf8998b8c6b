#!/bin/sh
# MISC_CHECK: is the application on real server $1 port $2 healthy?
# Exit 0: up, 1: down.
exec curl --silent --fail --max-time 3 "http://$1:$2/health" >/dev/null
