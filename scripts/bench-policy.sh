#!/usr/bin/env bash
# Benchmark: classify N generated error events (default 100,000) with the built-in policy,
# end to end through hs-classify (read JSON lines, classify, write JSON lines).
#
#   scripts/bench-policy.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
cargo build --release --quiet --bin hs-classify
bin="${CARGO_TARGET_DIR:-target}/release/hs-classify"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A mix of the shapes the rules look at: null reads, auth and billing text, background
# surfaces, unmatched errors; stacks of six frames.
python3 - "$n" > "$work/events.jsonl" <<'PY'
import json, sys
n = int(sys.argv[1])
shapes = [
    ("TypeError", "Cannot read properties of undefined (reading 'id{i}')", "popup"),
    ("Error", "auth token expired for user {i}", "background"),
    ("Error", "Stripe payment {i} declined", "popup"),
    ("RangeError", "Maximum call stack size exceeded at depth {i}", "service-worker"),
    ("ReferenceError", "chrome{i} is not defined", "options"),
    ("Error", "NetworkError when attempting to fetch resource {i}", "content-script"),
]
for i in range(n):
    t, msg, surface = shapes[i % len(shapes)]
    msg = msg.format(i=i)
    frames = "\n".join(f"    at fn{k} (chrome-extension://abcdef/src/popup/file{k}.js:{10 + k}:{i % 80})" for k in range(6))
    print(json.dumps({"type": t, "message": msg, "stack": f"{t}: {msg}\n{frames}",
                      "platform": "javascript", "surface": surface, "release": f"1.{i % 7}.0"}))
PY
size=$(du -h "$work/events.jsonl" | cut -f1)
TIMEFORMAT='%R %U'
times=$( { time HOMEOSTAT_LOG=debug NO_COLOR=1 "$bin" error --event "$work/events.jsonl" --format jsonl \
  > "$work/out.jsonl" 2> "$work/log.txt"; } 2>&1 )
read -r wall cpu <<< "$times"
lines=$(wc -l < "$work/out.jsonl")
printf 'end to end (read %s of JSON lines, classify, write): %d events in %.3f s wall, %.3f s user CPU\n' \
  "$size" "$lines" "$wall" "$cpu"
engine_ms=$(sed 's/\x1b\[[0-9;]*m//g' "$work/log.txt" | grep -o 'elapsed_ms=[0-9.]*' | cut -d= -f2)
printf 'classification alone (the pure engine, wall): %.1f ms for %d events (%.2f µs each)\n' \
  "$engine_ms" "$lines" "$(echo "$engine_ms * 1000 / $lines" | bc -l)"
printf 'load average while measuring: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
awk -F'"class":"' '{split($2, a, "\""); c[a[1]]++} END {for (k in c) printf "  %s: %d\n", k, c[k]}' "$work/out.jsonl" | sort
