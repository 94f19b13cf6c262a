#!/usr/bin/env bash
# Makes sure nats-server (Debian's package) is installed: the `patrol consume` tests start their
# own JetStream server from it on a loopback port. Idempotent.
set -euo pipefail
command -v nats-server >/dev/null && exit 0
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server
else
  echo "nats-server is missing: run 'sudo apt-get install nats-server' first" >&2
  exit 2
fi
