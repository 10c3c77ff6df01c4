#!/usr/bin/env bash
# Prints how fast the built-in scrub rules go over 1 MiB inputs (release build).
#
#   scripts/bench-scrub.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test it scrub::bench_scrub_one_mebibyte -- --ignored --nocapture 2>&1 | grep '^scrub '
