#!/usr/bin/env bash
# Benchmark of hs-fingerprint (not a test): wall time against `sha256sum` of the same
# generated JSONL (goal: ratio ≤ 3), and peak memory (RSS) at two input sizes (goal: flat).
#
#   scripts/bench-fingerprint.sh                 100 MB and 1 GB
#   SIZES_MB="100" scripts/bench-fingerprint.sh  100 MB only
#   BENCH_DIR=/tmp/x keeps the generated files there (default: a temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES_MB=${SIZES_MB:-"100 1024"}
dir=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir"

command -v python3 >/dev/null || { echo "python3 is needed to generate the input" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is needed for peak memory: apt-get install time" >&2; exit 2; }

echo "==> building hs-fingerprint (release)"
cargo build --release --quiet --bin hs-fingerprint
bin="${CARGO_TARGET_DIR:-target}/release/hs-fingerprint"

# Realistic events: the labelled corpus (seven platforms) with every occurrence varied
# as production varies it (ids, line and column numbers, ports, timestamps).
gen() { # gen SIZE_MB FILE
  python3 - "$1" "$2" tests/fixtures/fingerprint/corpus.jsonl <<'PY'
import json, random, re, sys
size = int(sys.argv[1]) * 1024 * 1024
events = [json.loads(l) for l in open(sys.argv[3])]
rnd = random.Random(7)
num = re.compile(r"(?<=:)(\d+)(?=[:)\n ]|$)|(?<=line )(\d+)")
written, n = 0, 0
with open(sys.argv[2], "w") as out:
    while written < size:
        ev = dict(events[n % len(events)])
        n += 1
        ev["id"] = f"ev-{n:09d}"
        ev["timestamp"] = f"2026-01-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:{(n * 7) % 60:02d}Z"
        if "stack" in ev:
            ev["stack"] = num.sub(lambda m: str(int(m.group(0)) + rnd.randrange(0, 40)), ev["stack"])
        line = json.dumps(ev) + "\n"
        out.write(line)
        written += len(line)
PY
}

wall() { # wall CMD... → seconds (best of 3)
  local best=""
  for _ in 1 2 3; do
    local t0 t1 t
    t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
    t=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
  done
  printf '%.3f' "$best"
}

printf '\n%-8s %-10s %-14s %-14s %-8s %-12s %s\n' size events sha256sum_s hs-fp_s ratio peak_rss_MB events/s
for mb in $SIZES_MB; do
  file="$dir/events-${mb}MB.jsonl"
  [ -s "$file" ] || gen "$mb" "$file"
  cat "$file" >/dev/null # warm the page cache for both
  events=$(wc -l <"$file")
  sha=$(wall sha256sum "$file")
  fp=$(wall "$bin" --format jsonl "$file")
  rss=$(/usr/bin/time -f '%M' "$bin" --format jsonl "$file" 2>&1 >/dev/null | tail -1)
  ratio=$(echo "$fp / $sha" | bc -l)
  rate=$(echo "$events / $fp" | bc -l)
  printf '%-8s %-10s %-14s %-14s %-8.2f %-12.1f %.0f\n' "${mb}MB" "$events" "$sha" "$fp" "$ratio" "$(echo "$rss / 1024" | bc -l)" "$rate"
done
echo
echo "ratio = hs-fingerprint wall time / sha256sum wall time (goal ≤ 3); peak RSS should not grow with size."
