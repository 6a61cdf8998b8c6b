#!/bin/sh
# VRRP track script: the local resolver answers.
exec dig +time=1 +tries=1 @127.0.0.1 localhost >/dev/null
