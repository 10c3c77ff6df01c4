#!/usr/bin/env bash
# What tests/it/relay.rs needs beside cargo, then the tests: the Python sentry-sdk, the npm
# Sentry SDKs and esbuild (tests/npm), and Debian's redis-server, chromium and systemd
# (systemd-analyze checks deploy/hs-relay.service).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import sentry_sdk' 2>/dev/null || python3 -m pip install --quiet 'sentry-sdk==2.*'
[ -d tests/npm/node_modules/@sentry/node ] || npm ci --prefix tests/npm --no-audit --no-fund
missing=""
command -v redis-server >/dev/null || missing="$missing redis-server"
command -v chromium >/dev/null || missing="$missing chromium"
command -v systemd-analyze >/dev/null || missing="$missing systemd"
if [ -n "$missing" ]; then
  apt-get install -y --no-install-recommends $missing >/dev/null || { apt-get update >/dev/null && apt-get install -y --no-install-recommends $missing >/dev/null; }
fi
cargo test --locked --test it relay::
