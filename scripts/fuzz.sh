#!/usr/bin/env bash
# Runs the cargo-fuzz targets (fuzz/) for a while each: the marker parser and the runbook
# placeholder filler. Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh            60 s per target
#   SECONDS_EACH=600 scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
each="${SECONDS_EACH:-60}"
for target in markers placeholders; do
  cargo +nightly fuzz run "$target" -- -max_total_time="$each" -max_len=4096 2>&1 | grep -E "^(#[0-9]+.*(DONE|pulse)|Done|==|SUMMARY)" | tail -3
done
