#!/usr/bin/env bash
# The whole suite's GitHub requests, checked against GitHub's OpenAPI description: every
# test that runs the GitHub stand-in (crates/github-standin) appends its figures to
# $CARGO_TARGET_DIR/standin-report/<pid>.jsonl when the stand-in stops.
#
#   scripts/test-openapi-report.sh clean   before the suite: forget earlier runs
#   scripts/test-openapi-report.sh         after it: "openapi: N requests checked, 0 violations"
#                                          (exit 1 on any violation, or when nothing was checked)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${CARGO_TARGET_DIR:-target}/standin-report"
if [ "${1:-}" = clean ]; then
  rm -rf "$dir"
  exit 0
fi
shopt -s nullglob
files=("$dir"/*.jsonl)
if [ ${#files[@]} -eq 0 ]; then
  echo "openapi: no stand-in report in $dir (run the tests first)" >&2
  exit 1
fi
python3 - "${files[@]}" <<'PY'
import json, sys
requests = 0
violations = []
tests = 0
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line:
            continue
        r = json.loads(line)
        if r.get("on_purpose"):
            continue  # a test of the checks themselves sends bad requests on purpose
        tests += 1
        requests += r["requests"]
        violations += [f'{r.get("test", "?")}: {v}' for v in r["violations"]]
print(f"openapi: {requests} requests checked, {len(violations)} violations ({tests} stand-in runs)")
for v in violations[:50]:
    print("  " + v)
sys.exit(1 if violations or requests == 0 else 0)
PY
