#!/usr/bin/env bash
# The main loop on one machine, no token: production errors → one issue per bug on the
# local forge (.homeostat/demo/forge). Run it again and nothing is filed twice. Then the
# rest of the loop: the risk policy classes the issues, a (stand-in) coding agent turns one
# into a verified draft PR behind the guard, a canary rolls a bad release back, a runbook
# repairs a service, and the content job proposes a guide.
#
#   scripts/demo.sh          everything
#   scripts/demo.sh issues   only the error → issue loop
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# HOMEOSTAT_BIN_DIR runs the binaries already built there: scripts/test.sh passes the ones
# its `cargo test` built, which a plain `cargo build` would build again with other features.
if [ -n "${HOMEOSTAT_BIN_DIR:-}" ]; then
  bin=$(cd "$HOMEOSTAT_BIN_DIR" && pwd)
else
  say "building"
  cargo build --quiet --bins
  bin=$(cd "${CARGO_TARGET_DIR:-target}/debug" && pwd)
fi
export HOMEOSTAT_BIN_DIR="$bin"  # scripts/demo-agent.sh

demo=.homeostat/demo
rm -rf "$demo"
mkdir -p "$demo"
export HOMEOSTAT_CONFIG=examples/demo/homeostat.yml
export HOMEOSTAT_LOG=warn
unset GITHUB_TOKEN GITHUB_ACTIONS GITHUB_OUTPUT GITHUB_STEP_SUMMARY GITHUB_EVENT_PATH
forge=(--forge local --forge-dir "$demo/forge")

say "1. 20 production errors from 7 platforms arrive (examples/errors/production.jsonl)"
"$bin/hs-issue" "${forge[@]}" examples/errors/production.jsonl

say "2. the same batch again: nothing new is filed, nothing is counted twice"
"$bin/hs-issue" "${forge[@]}" examples/errors/production.jsonl

say "3. a maintainer closes #1; the next day it comes back from release 1.5.0, with a new error"
sed -i.bak 's/"state": "open"/"state": "closed"/' "$demo/forge/issues/1.json" && rm -f "$demo/forge/issues/1.json.bak"
"$bin/hs-issue" "${forge[@]}" examples/errors/next-day.jsonl

say "the issues on the local forge"
for f in "$demo"/forge/issues/*.json; do
  n=$(basename "$f" .json)
  state=$(grep -m1 '"state"' "$f" | sed 's/.*"state": "\(.*\)".*/\1/')
  title=$(grep -m1 '"title"' "$f" | sed 's/.*"title": "\(.*\)",$/\1/' | cut -c1-80)
  printf '#%-3s %-7s %s\n' "$n" "$state" "$title"
done
printf '\nIssue files: %s/forge/issues/<n>.json (body, labels, comments). Secrets and emails in the\nerrors were scrubbed before anything was written; see #2 and #6.\n' "$demo"
[ "${1:-all}" = issues ] && exit 0

say "4. the risk policy (policies/default.yml) classes each issue: labels, a reasons comment, the board"
for f in "$demo"/forge/issues/*.json; do
  n=$(basename "$f" .json)
  printf '#%s ' "$n"
  "$bin/hs-classify" "${forge[@]}" error --issue "$n"
done

say "5. the coding agent (a scripted stand-in) takes an auto-fixable issue to one draft PR"
if command -v jq >/dev/null; then
  bash scripts/demo-agent.sh
else
  echo "(skipped: scripts/demo-agent.sh needs jq)"
fi

say "6. a canary whose error rate climbs past its bound is rolled back"
(cd examples/demo && "$bin/hs-canary" --config canary.yml --out-dir ../../"$demo"/canary) || true

say "7. an Alertmanager alert: the runbook diagnoses, restarts the service, verifies"
port_file="$demo/fake-api.port"
python3 examples/demo/fake-api.py > "$port_file" &
api=$!
trap 'kill $api 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
cat > "$demo/ops.yml" <<YML
ledger: {path: $demo/ledger.jsonl}
ops:
  mode: auto
  sops: $(pwd)/tests/fixtures/ops/sops
  allow_hosts: ["127.0.0.1:*"]
  vars: {APP_URL: "http://127.0.0.1:$(cat "$port_file")"}
YML
"$bin/hs-ops" --config "$demo/ops.yml" "${forge[@]}" handle --alert tests/fixtures/ops/alertmanager-api-down.json
say "   the same alert again, inside the runbook's cooldown: diagnosed, not acted on"
"$bin/hs-ops" --config "$demo/ops.yml" "${forge[@]}" handle --alert tests/fixtures/ops/alertmanager-api-down.json
say "   the daily report, from the ledger"
"$bin/hs-ops" --config "$demo/ops.yml" "${forge[@]}" report --since 24h

say "8. the content job: guide, Open Graph image and social posts from recorded model answers, one PR"
HS_CONTENT="$bin/hs-content" bash scripts/demo-content.sh
