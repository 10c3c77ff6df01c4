#!/usr/bin/env bash
# hs-agent's own overhead and deadline, with the scripted stand-in agents of
# tests/fixtures/agent against the local forge and a bare remote in a temp dir.
#
#   scripts/bench-agent.sh            debug build
#   PROFILE=release scripts/bench-agent.sh
#
# Prints: wall time of a run that opens a PR, of one that updates it (both minus nothing:
# the stand-in agent itself takes a few ms), and how long a hung agent with a 1s deadline
# keeps the job.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
profile="${PROFILE:-debug}"
if [ "$profile" = release ]; then cargo build --quiet --release --bin hs-agent; else cargo build --quiet --bin hs-agent; fi
bin="${CARGO_TARGET_DIR:-$root/target}/$profile/hs-agent"
export HOMEOSTAT_LOG=warn

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
git init --quiet --bare --initial-branch=main remote.git
git init --quiet --initial-branch=main seed
mkdir -p seed/src seed/tests
printf 'function renderNote(note) {\n  return note.id;\n}\n' > seed/src/popup.js
printf "const { renderNote } = require('../src/popup');\n" > seed/tests/popup.test.js
git -C seed add -A
git -C seed -c user.name=Dev -c user.email=dev@example.com commit --quiet -m app
git -C seed push --quiet "$tmp/remote.git" main
git clone --quiet "$tmp/remote.git" work
mkdir -p forge/issues
echo '{"ann": "write"}' > forge/collaborators.json
body=$'TypeError\n\n```\nTypeError: Cannot read properties of undefined (reading \'id\')\n    at renderNote (app://x/src/popup.js:2:15)\n```\n'
jq -n --arg body "$body" '{number: 1, title: "TypeError: Cannot read properties of undefined (reading '"'"'id'"'"')", body: $body, labels: ["homeostat:fix"], state: "open", comments: []}' > forge/issues/1.json

config() {
  cat > homeostat.yml <<YML
ledger: {path: $tmp/ledger.jsonl}
agents:
  route: {safe: stand-in}
  define:
    stand-in: {adapter: custom, run: ["$root/tests/fixtures/agent/$1"]}
  timeout: $2
  budget: {runs_per_hour: 100, runs_per_day: 100, usd_per_day: 100}
YML
}
run() {
  local start end
  start=$(date +%s.%N)
  "$bin" fix --issue 1 --actor ann --forge local --forge-dir forge --repo-dir work --config homeostat.yml --format json > out.json || true
  end=$(date +%s.%N)
  printf '%-28s %-14s %6.3f s\n' "$1" "$(jq -r .outcome out.json)" "$(echo "$end - $start" | bc)"
}
echo "hs-agent ($profile build), $(nproc) cores"
config edit.sh 30s
run "first run (edit.sh)"
run "second run (edit.sh)"
config nothing.sh 30s
run "agent changes nothing"
config hang.sh 1s
run "hung agent, 1s deadline"
