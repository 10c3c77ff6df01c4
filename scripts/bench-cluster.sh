#!/usr/bin/env bash
# Speed of hs-cluster on generated items: N items clustered, and one new item matched
# against N existing ones. Usage: scripts/bench-cluster.sh [N=10000]
# PROFILE=debug times the debug binary instead of the release one; HS_CLUSTER_BIN=path
# times that binary as it is (nothing is built).
set -euo pipefail
n="${1:-10000}"
profile="${PROFILE:-release}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bin="${HS_CLUSTER_BIN:-${CARGO_TARGET_DIR:-$root/target}/$profile/hs-cluster}"
if [ -z "${HS_CLUSTER_BIN:-}" ] && [ "$profile" = release ]; then
  cargo build --release --quiet --bin hs-cluster --manifest-path "$root/Cargo.toml"
elif [ -z "${HS_CLUSTER_BIN:-}" ]; then
  cargo build --quiet --bin hs-cluster --manifest-path "$root/Cargo.toml"
fi
python3 - "$n" "$work" <<'PY'
import json, random, sys
n, work = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
words = [f"w{i}" for i in range(4000)]
types = ["TypeError", "ValueError", "KeyError", "IOException", "NullPointerException", "RuntimeError"]
funcs = [f"fn{i}" for i in range(600)]
def item(i, problem):
    r = random.Random(problem)
    t, f1, f2 = r.choice(types), r.choice(funcs), r.choice(funcs)
    topic = r.sample(words, 6)
    title = " ".join(rng.sample(topic, 4) + rng.sample(words, 2))
    body = f"{t}: {' '.join(topic[:4])} failed\n    at {f1} (app.js:{rng.randint(1,99)}:3)\n    at {f2} (app.js:9:1)\n" + " ".join(rng.sample(words, 30))
    return {"id": str(i), "repo": f"o/r{problem % 5}", "title": title, "body": body}
problems = max(1, n // 3)
with open(f"{work}/items.jsonl", "w") as f:
    for i in range(n):
        f.write(json.dumps(item(i, rng.randrange(problems))) + "\n")
with open(f"{work}/new.jsonl", "w") as f:
    f.write(json.dumps(item(n, 42)) + "\n")
PY
t0=$(date +%s.%N)
"$bin" "$work/items.jsonl" --format jsonl > "$work/out.jsonl"
t1=$(date +%s.%N)
"$bin" "$work/new.jsonl" --against "$work/items.jsonl" --format jsonl > /dev/null 2>&1
t2=$(date +%s.%N)
HOMEOSTAT_LOG=info "$bin" "$work/new.jsonl" --against "$work/items.jsonl" --format jsonl 2>&1 >/dev/null | grep -o 'matched .* ms' || true
clusters=$(python3 -c "import json,sys; print(len({json.loads(l)['cluster'] for l in open(sys.argv[1])}))" "$work/out.jsonl")
echo "cluster $n items ($profile): $(echo "$t1 - $t0" | bc) s ($clusters clusters)"
echo "one new item vs $n (whole command, incl. reading and clustering the $n): $(echo "$t2 - $t1" | bc) s"
