#!/usr/bin/env bash
# Makes sure the programs the integration tests start are installed, from Debian's packages:
# nats-server (the `patrol consume` tests run their own JetStream server on a loopback port) and
# chromium (the review-page tests load the page headless). Idempotent.
set -euo pipefail
missing=()
command -v nats-server >/dev/null || missing+=(nats-server)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "missing: ${missing[*]}: run 'sudo apt-get install ${missing[*]}' first" >&2
  exit 2
fi
