#!/usr/bin/env bash
# The action's run step: runs hs-$INPUT_COMMAND with $INPUT_ARGS. Inputs arrive only
# through the environment; nothing here is evaluated as shell code.
set -euo pipefail

INPUT_COMMAND="${INPUT_COMMAND#hs-}"
case "${INPUT_COMMAND:-}" in
  fingerprint|issue|classify|agent|guard|canary|ops|content|report) ;;
  *) echo "::error title=homeostat::unknown command '${INPUT_COMMAND:-}' (fingerprint, issue, classify, agent, guard, canary, ops, content, report)"; exit 2 ;;
esac

args=()
if [ -n "${INPUT_ARGS:-}" ]; then
  # Whitespace-separated words; no quotes, globs or expansions are interpreted.
  set -f
  read -r -a args <<< "${INPUT_ARGS}"
  set +f
fi
if [ -n "${INPUT_CONFIG:-}" ]; then
  export HOMEOSTAT_CONFIG="$INPUT_CONFIG"
fi
if [ -n "${GITHUB_TOKEN:-}" ]; then
  echo "::add-mask::${GITHUB_TOKEN}"
fi

bin="hs-${INPUT_COMMAND}"
command -v "$bin" >/dev/null || { echo "::error title=homeostat::$bin is not installed"; exit 1; }
exec "$bin" "${args[@]}"
