#!/usr/bin/env bash
# Prints how fast hs-ops matches alerts to the built-in runbooks and decides over a
# 5,000-entry ledger (release build).
#
#   scripts/bench-ops.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test it ops::bench_match_and_decide -- --ignored --nocapture 2>&1 | grep '^ops '
