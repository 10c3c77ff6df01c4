#!/usr/bin/env bash
# Runs the cargo-fuzz targets (fuzz/) for a while each: the marker parser (`markers`) and
# the runbook placeholder filler (`placeholders`). Needs a nightly toolchain and cargo-fuzz
# (`rustup toolchain install nightly`, `cargo install cargo-fuzz --locked`).
#
#   scripts/fuzz.sh                        60 s per target
#   SECONDS_EACH=300 scripts/fuzz.sh       5 minutes each
#   TARGETS="markers" scripts/fuzz.sh      one target
#
# fuzz/ is its own Cargo workspace (it depends on ../crates/homeostat); its corpus grows
# in fuzz/corpus/<target>, a crash is saved in fuzz/artifacts/<target>/ and ends the run
# with a non-zero exit. The whole libFuzzer log of each target is kept in
# ${FUZZ_LOG_DIR:-fuzz/logs}/<target>.log; the last lines (runs, coverage) are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
each="${SECONDS_EACH:-60}"
targets="${TARGETS:-markers placeholders}"
logs="${FUZZ_LOG_DIR:-fuzz/logs}"
mkdir -p "$logs"
command -v cargo-fuzz > /dev/null || { echo "cargo-fuzz is needed: cargo install cargo-fuzz --locked" >&2; exit 2; }
status=0
for target in $targets; do
  log="$logs/$target.log"
  echo "==> $target for ${each}s (log: $log)"
  code=0
  # The seeds in fuzz/seeds start the corpus; -max_len bounds one input.
  mkdir -p "fuzz/corpus/$target"
  cargo +nightly fuzz run "$target" "fuzz/corpus/$target" fuzz/seeds -- \
    -max_total_time="$each" -max_len=4096 -print_final_stats=1 > "$log" 2>&1 || code=$?
  grep -E "^#[0-9]+.*(DONE|pulse)" "$log" | tail -n 1 || true
  grep -E "^(Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)" "$log" || true
  if [ "$code" != 0 ]; then
    echo "!! $target exited $code:" >&2
    grep -E "^(==[0-9]+==|SUMMARY|thread .* panicked|Test unit written|artifact_prefix)" "$log" | head -n 20 >&2 || true
    status=1
  fi
done
exit "$status"
