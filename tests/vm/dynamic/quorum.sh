#!/bin/sh
# quorum_up / quorum_down of health.conf: one line per call.
echo "$*" >> /tmp/quorum.log
