#!/usr/bin/env bash
# Benchmark: hs-guard on a generated change of N files (default 10,000; each file gets
# one line changed and one added) against `git diff --numstat` on the same refs.
# Goal: hs-guard's wall time at most 2× git's.
#
#   scripts/bench-guard.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
cargo build --release --quiet --bin hs-guard
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/hs-guard"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1

cd "$work"
git init -q -b main
python3 - "$n" <<'PY'
import os, sys
n = int(sys.argv[1])
for i in range(n):
    d = f"src/m{i // 100:03d}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i:05d}.rs", "w") as f:
        f.write("".join(f"pub fn f{i}_{k}(x: u32) -> u32 {{ x + {k} }}\n" for k in range(20)))
PY
git add -A && git commit -qm base
git checkout -q -b fix
python3 - "$n" <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    p = f"src/m{i // 100:03d}/f{i:05d}.rs"
    lines = open(p).read().splitlines(True)
    lines[5] = lines[5].replace("x + 5", "x.wrapping_add(5)")
    lines.append(f"pub fn g{i}(x: u32) -> u32 {{ x }}\n")
    open(p, "w").write("".join(lines))
PY
git add -A && git commit -qm change
git gc -q >/dev/null 2>&1 || true

best() { # one warm-up, then the best of 5 wall times, in seconds
  local best=""
  "$@" > /dev/null
  for _ in 1 2 3 4 5; do
    local s e t
    s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
  done
  echo "$best"
}
git_t=$(best git diff --numstat main...fix)
guard_t=$(best "$bin" --base main --head fix --format json)
files=$("$bin" --base main --head fix --format json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(len(v["files"]), v["verdict"])')
printf 'change: %s files (verdict %s)\n' ${files}
printf 'git diff --numstat main...fix: %.3f s\n' "$git_t"
printf 'hs-guard --base main --head fix: %.3f s (%.2f× git)\n' "$guard_t" "$(echo "$guard_t / $git_t" | bc -l)"
printf 'load average while measuring: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
