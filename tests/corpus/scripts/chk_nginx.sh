#!/bin/sh
# VRRP track script: nginx answers on its status page.
exec curl --silent --fail --max-time 2 http://127.0.0.1/nginx_status >/dev/null
