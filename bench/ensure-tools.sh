#!/bin/sh
# Installs the Debian packages the macro benchmarks need (sysbench, haproxy),
# only those that are missing. Idempotent; never touches anything already present.
set -eu
missing=""
command -v sysbench >/dev/null 2>&1 || missing="$missing sysbench"
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing="$missing haproxy"
if [ -z "$missing" ]; then
  echo "ensure-tools: sysbench and haproxy present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "ensure-tools: installing$missing"
$SUDO apt-get update -qq || true
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
