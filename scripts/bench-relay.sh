#!/usr/bin/env bash
# Benchmark of hs-relay (not a test): realistic Sentry envelopes over keep-alive
# connections from benches/relay_load.rs → events/s, p50/p99 latency; the ratio to
# hs-fingerprint's own events/s on the same events (goal ≥ 50 %); the relay's memory
# (RSS) sampled over the run (goal: flat).
#
#   scripts/bench-relay.sh            30-second run
#   scripts/bench-relay.sh 600        10-minute run (memory over time)
#   CONNECTIONS=32 scripts/bench-relay.sh
#   RELAY_BIN=/tmp/hs-relay-old scripts/bench-relay.sh 10
#                                     the same run against another build (pair them)
#   PIN=1 scripts/bench-relay.sh      the relay and the engine each on core 1 alone (taskset),
#                                     the load client on core 0: the ratio on equal CPU,
#                                     without the client's share
#   STRETCHES=6 scripts/bench-relay.sh 230
#                                     the live heap instead: 6 stretches of 230 s of load;
#                                     after each, once the spool is empty, the heap in use
#                                     as glibc counts it (malloc_stats through gdb), with
#                                     hs-relay built on the system allocator (needs gdb)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN=${1:-30}
CONNECTIONS=${CONNECTIONS:-16}
STRETCHES=${STRETCHES:-}
PIN=${PIN:-}
# Pinned: the server side (relay, engine) on core 1, the load client on core 0.
server=(); client=(); engine_jobs=()
if [ -n "$PIN" ]; then
  command -v taskset >/dev/null || { echo "PIN needs taskset (util-linux)" >&2; exit 2; }
  server=(taskset -c 1); client=(taskset -c 0); engine_jobs=(--jobs 1)
fi
dir=$(mktemp -d)
relay_pid=""
cleanup() { [ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

echo "==> building hs-relay, hs-fingerprint and the load client (release)"
cargo build --release --quiet --bin hs-relay --bin hs-fingerprint
cargo bench --quiet --no-run --bench relay_load 2>&1 | tail -1 >/dev/null
out=${CARGO_TARGET_DIR:-target}/release
# RELAY_BIN: another build of hs-relay (an earlier commit's), to pair runs against this one.
relay_bin=${RELAY_BIN:-$out/hs-relay}
if [ -n "$STRETCHES" ]; then
  command -v gdb >/dev/null || { echo "STRETCHES needs gdb (apt-get install gdb)" >&2; exit 2; }
  # mimalloc keeps its own books; glibc's malloc_stats counts the live heap. A target
  # directory of its own, so the release hs-relay stays the shipped one.
  heap_target=${CARGO_TARGET_DIR:-target}/heap
  cargo build --release --quiet --no-default-features --bin hs-relay --target-dir "$heap_target"
  relay_bin=$heap_target/release/hs-relay
fi
load=$(ls -t "$out"/deps/relay_load-* | grep -v '\.d$' | head -1)

# Realistic events: the labelled fingerprint corpus (seven platforms) with what SDKs add
# around an error (contexts, breadcrumbs, request, sdk, tags), ids and line numbers varied.
python3 - "$dir/events.jsonl" tests/fixtures/fingerprint/corpus.jsonl <<'PY'
import json, random, sys
rnd = random.Random(7)
base = [json.loads(l) for l in open(sys.argv[2])]
with open(sys.argv[1], "w") as out:
    for n in range(20000):
        ev = dict(base[n % len(base)])
        ev["event_id"] = f"{n:032x}"
        ev["release"] = rnd.choice(["1.4.2", "1.4.3", "1.5.0"])
        ev["environment"] = "production"
        ev["timestamp"] = 1768989600 + n
        ev["tags"] = {"surface": rnd.choice(["popup", "background", "content"]), "locale": "en-US"}
        ev["sdk"] = {"name": "sentry.javascript.browser", "version": "11.17.0"}
        ev["contexts"] = {"browser": {"name": "Chrome", "version": "131.0"}, "os": {"name": "Windows", "version": "11"}}
        ev["request"] = {"url": f"https://app.example.com/notes/{n}", "headers": {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}}
        ev["breadcrumbs"] = {"values": [{"category": "ui.click", "message": f"button#save-{i}", "timestamp": 1768989600 + i} for i in range(8)]}
        out.write(json.dumps(ev) + "\n")
PY
events=$(wc -l < "$dir/events.jsonl")

# The engine alone on the same events (best of 3), ten times over: one pass over 20,000
# takes ≈ 0.15 s, where the process's start and the machine's noise moved the figure by
# a third between runs.
for _ in $(seq 10); do cat "$dir/events.jsonl"; done > "$dir/engine.jsonl"
best=""; best_cpu=""
TIMEFORMAT='%R %U %S'
for _ in 1 2 3; do
  read -r t user sys < <({ time "${server[@]}" "$out/hs-fingerprint" "${engine_jobs[@]}" --format jsonl "$dir/engine.jsonl" >/dev/null; } 2>&1)
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; best_cpu=$(echo "$user + $sys" | bc -l); fi
done
fp_rate=$(echo "10 * $events / $best" | bc -l)
# CPU per event, whatever the number of workers: the engine's share of a relay's budget.
fp_cpu_us=$(echo "1000000 * $best_cpu / (10 * $events)" | bc -l)

cat > "$dir/homeostat.yml" <<YML
ledger: {path: $dir/ledger.jsonl}
relay:
  projects: [{id: "1", public_key: benchkey}]
  spool: $dir/spool
  forward: {every: 1s, max_events: 500}
  limits: {per_project_per_minute: 1000000000, per_client_per_minute: 1000000000, per_fingerprint_per_minute: 1000000000}
YML
# The forwarder files batches on the local forge, as it would dispatch them to GitHub.
"${server[@]}" "$relay_bin" --config "$dir/homeostat.yml" --listen 127.0.0.1:0 --forge local \
  --forge-dir "$dir/forge" > "$dir/relay.out" 2> "$dir/relay.log" &
relay_pid=$!
for _ in $(seq 50); do grep -q listening "$dir/relay.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^hs-relay listening on //p' "$dir/relay.out")

rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$relay_pid/status"; }
# The relay's CPU time (user + system, every thread), as its own /metrics reports it.
cpu_seconds() { curl -s "$url/metrics" | awk '/^process_cpu_seconds_total / {print $2}'; }
if [ -n "$STRETCHES" ]; then
  total=0
  for i in $(seq "$STRETCHES"); do
    "${client[@]}" "$load" "$url" "$dir/events.jsonl" "$CONNECTIONS" "$SECONDS_RUN" benchkey > "$dir/load.json"
    total=$((total + $(python3 -c "import json;print(json.load(open('$dir/load.json'))['requests'])")))
    for _ in $(seq 120); do
      [ "$(curl -s "$url/metrics" | awk '/^homeostat_relay_spool_backlog_bytes/ {print $2}')" = 0 ] && break
      sleep 1
    done
    sleep 2
    if ! gdb -p "$relay_pid" -batch -ex 'call (void) malloc_stats()' >/dev/null 2>&1; then
      echo "gdb could not read the relay's heap: attaching needs ptrace (as root, or kernel.yama.ptrace_scope=0)" >&2
      exit 1
    fi
    sleep 0.3
    heap=$(grep -A2 '^Total' "$dir/relay.log" | tail -1 | awk '{printf "%.1f", $NF / 1048576}')
    echo "after $((SECONDS_RUN * i))s of load, $total events: heap in use ${heap} MB, RSS $(rss) MB at rest; $(cat "$dir/load.json")"
  done
  exit 0
fi
( while kill -0 "$relay_pid" 2>/dev/null; do echo "$(date +%s) $(rss)"; sleep 5; done ) > "$dir/rss.txt" &
sampler=$!
echo "==> $CONNECTIONS connections for ${SECONDS_RUN}s against $url"
c0=$(cpu_seconds)
"${client[@]}" "$load" "$url" "$dir/events.jsonl" "$CONNECTIONS" "$SECONDS_RUN" benchkey | tee "$dir/load.json"
c1=$(cpu_seconds)
kill "$sampler" 2>/dev/null || true
# The HTTP exchange alone (GET /healthz on the same connections): the most any relay could
# answer on these cores with this client, before any event work.
echo "==> the HTTP floor: GET /healthz, $CONNECTIONS connections for 10s"
f0=$(cpu_seconds)
"${client[@]}" "$load" "$url" "$dir/events.jsonl" "$CONNECTIONS" 10 benchkey --floor | tee "$dir/floor.json"
f1=$(cpu_seconds)
floor_rate=$(python3 -c "import json;print(json.load(open('$dir/floor.json'))['events_per_s'])")
relay_rate=$(python3 -c "import json;print(json.load(open('$dir/load.json'))['events_per_s'])")
relay_requests=$(python3 -c "import json;print(json.load(open('$dir/load.json'))['requests'])")
floor_requests=$(python3 -c "import json;print(json.load(open('$dir/floor.json'))['requests'])")
# Server CPU per event and per bare exchange. When the floor kept the relay's core(s) busy
# (PIN=1: one core; near 100 %), the floor is the server's limit, not the client's, and
# 1 / (exchange + engine per event) bounds any relay on this HTTP stack that answers one
# event per request — before scrubbing, the fsync'd spool or forwarding.
relay_cpu_us=$(echo "1000000 * ($c1 - $c0) / $relay_requests" | bc -l)
floor_cpu_us=$(echo "1000000 * ($f1 - $f0) / $floor_requests" | bc -l)
floor_busy=$(echo "100 * ($f1 - $f0) / 10" | bc -l)
bound=$(echo "1000000 / ($floor_cpu_us + $fp_cpu_us)" | bc -l)
bound_text=$(printf '%.0f events/s per core of relay CPU' "$bound")
if [ -n "$PIN" ]; then
  bound_text="$bound_text = $(printf '%.0f' "$(echo "100 * $bound / $fp_rate" | bc -l)")% of hs-fingerprint/s on its core: the most a relay on this HTTP stack could reach, one event per request, before scrub, spool and forwarding"
fi
rss_first=$(awk 'NR==2 {print $2}' "$dir/rss.txt"); rss_last=$(tail -1 "$dir/rss.txt" | awk '{print $2}')
rss_max=$(awk '{if ($2>m) m=$2} END {print m}' "$dir/rss.txt")
# The curve, not only its ends: about a dozen samples spread over the run (seconds since
# the first sample, MB), so "flat" can be seen rather than assumed from first and last.
rss_curve=$(awk 'NR==1 {t0=$1} {t[NR]=$1-t0; m[NR]=$2} END {step=int((NR+10)/11); if (step<1) step=1;
  for (i=1;i<=NR;i+=step) printf "%ds:%d ", t[i], m[i]; if ((NR-1)%step) printf "%ds:%d", t[NR], m[NR]}' "$dir/rss.txt")
printf '\n%-18s %s\n' "events" "$events" "hs-fingerprint/s" "$(printf '%.0f' "$fp_rate")" \
  "relay events/s" "$relay_rate" "ratio" "$(printf '%.0f%%' "$(echo "100 * $relay_rate / $fp_rate" | bc -l)")" \
  "HTTP floor req/s" "$floor_rate ($(printf '%.0f%%' "$(echo "100 * $floor_rate / $fp_rate" | bc -l)") of hs-fingerprint/s)" \
  "CPU µs per event" "$(printf 'relay %.1f, hs-fingerprint %.1f; bare exchange %.1f per request (relay CPU %.0f%% of a core in the floor run)' "$relay_cpu_us" "$fp_cpu_us" "$floor_cpu_us" "$floor_busy")" \
  "exchange + engine" "$bound_text" \
  "relay RSS MB" "first ${rss_first:-?} last ${rss_last:-?} max ${rss_max:-?} (sampled every 5 s)" \
  "RSS curve (MB)" "$rss_curve"
