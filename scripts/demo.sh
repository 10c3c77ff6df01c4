#!/usr/bin/env bash
# The main loop on one machine, no token: production errors → one issue per bug on the
# local forge (.homeostat/demo/forge). Run it again and nothing is filed twice.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "building"
cargo build --quiet --bins
bin="$(pwd)/target/debug"

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
