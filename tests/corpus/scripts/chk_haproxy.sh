#!/bin/sh
# VRRP track script: succeed while an haproxy process exists.
# Signal 0 only checks that the process can be signalled.
exec killall -0 haproxy 2>/dev/null
