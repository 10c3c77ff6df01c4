#!/usr/bin/env bash
# Time to load (or refuse) a 100,000-level nested YAML config, three shapes: flow
# sequences `[[[…]]]`, flow mappings `{a: {a: …}}`, and block sequences `- - - …`.
# The goal is < 2 s each (the depth check runs before serde_yaml_ng, in one pass).
#
#   scripts/bench-yaml-depth.sh            debug build
#   PROFILE=release scripts/bench-yaml-depth.sh
#   DEPTH=1000000 scripts/bench-yaml-depth.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
profile="${PROFILE:-debug}"
depth="${DEPTH:-100000}"
target="${CARGO_TARGET_DIR:-$root/target}"
if [ "$profile" = release ]; then cargo build --quiet --release --bin hs-classify; else cargo build --quiet --bin hs-classify; fi
bin="$target/$profile/hs-classify"
export HOMEOSTAT_LOG=error

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp" "$depth" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
open(f"{d}/flow-seq.yml", "w").write("issues: " + "[" * n + "1" + "]" * n + "\n")
open(f"{d}/flow-map.yml", "w").write("issues: " + "{a: " * n + "1" + "}" * n + "\n")
open(f"{d}/block-seq.yml", "w").write("issues:\n  " + "- " * n + "1\n")
PY
echo '{"message": "x"}' > "$tmp/event.json"
for shape in flow-seq flow-map block-seq; do
  start=$(date +%s.%N)
  code=0
  "$bin" --config "$tmp/$shape.yml" path src/a.js > /dev/null 2> "$tmp/err" || code=$?
  end=$(date +%s.%N)
  printf '%-10s depth %s: exit %s in %.3f s (%s)\n' "$shape" "$depth" "$code" "$(echo "$end - $start" | bc)" \
    "$(head -c 120 "$tmp/err" | tr '\n' ' ')"
done
