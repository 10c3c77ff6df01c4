#!/usr/bin/env bash
# Benchmark of hs-issue's memory (not a test): peak RSS (GNU time) on a 51 MB log holding one
# stack trace with a million frames, filed on the local forge (goal: below 100 MB). The
# trace is cut to a bounded size as it is read, and the cut is counted.
#
#   scripts/bench-issue-memory.sh                  release build (thin LTO)
#   PROFILE=debug scripts/bench-issue-memory.sh    debug build (when a release build is too slow)
#   BENCH_DIR=/tmp/x keeps the generated log and the local forge there
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is needed: apt-get install time" >&2; exit 2; }

profile="${PROFILE:-release}"
echo "==> building hs-issue ($profile)"
if [ "$profile" = release ]; then cargo build --release --quiet --bin hs-issue; else cargo build --quiet --bin hs-issue; fi
bin=${CARGO_TARGET_DIR:-$PWD/target}/$profile/hs-issue

log="$dir/deep.log"
python3 - "$log" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("2026-01-01T10:00:00Z ERROR request failed\n")
    f.write("RangeError: Maximum call stack size exceeded\n")
    for i in range(1_000_000):
        f.write(f"    at walk{i % 7} (/srv/app/src/lib/tree/walk.mjs:{i % 900 + 1}:{i % 80 + 1})\n")
    f.write("2026-01-01T10:00:01Z INFO next request\n")
PY
echo "log: $(du -m "$log" | cut -f1) MB, $(wc -l < "$log") lines"
cd "$dir"
/usr/bin/time -f "%e s, peak RSS %M KB" "$bin" --text --forge local --forge-dir "$dir/forge" --repo bench/app "$log" \
  > "$dir/out.txt" 2> "$dir/err.txt" || { cat "$dir/err.txt" >&2; exit 1; }
tail -n 1 "$dir/err.txt"
