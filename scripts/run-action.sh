#!/usr/bin/env bash
# The action's run step: runs hs-$INPUT_COMMAND (or `homeostat init|dispatch`) with
# $INPUT_ARGS. Inputs arrive only through the environment; nothing here is evaluated as
# shell code.
#
# INPUT_ARGS: over several lines (`args: |`), ONE ARGUMENT PER LINE (trimmed; empty lines
# skipped; an argument may hold spaces). On one line, whitespace separates arguments and
# quotes or backslashes are refused (they would not be interpreted): use one per line.
set -euo pipefail

INPUT_COMMAND="${INPUT_COMMAND#hs-}"
case "${INPUT_COMMAND:-}" in
  fingerprint|issue|classify|agent|guard|canary|ops|content|report|cluster) bin=("hs-${INPUT_COMMAND}") ;;
  init|dispatch) bin=(homeostat "${INPUT_COMMAND}") ;;
  *) echo "::error title=homeostat::unknown command '${INPUT_COMMAND:-}' (fingerprint, issue, classify, agent, guard, canary, ops, content, report, cluster, init, dispatch)"; exit 2 ;;
esac

args=()
raw="${INPUT_ARGS:-}"
if [[ "$raw" == *$'\n'* ]]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%$'\r'}"
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    [ -n "$line" ] && args+=("$line")
  done <<< "$raw"
elif [ -n "$raw" ]; then
  if [[ "$raw" == *[\"\'\\]* ]]; then
    echo "::error title=homeostat::args: quotes and backslashes are not interpreted on one line; give one argument per line (args: |)"
    exit 2
  fi
  set -f
  read -r -a args <<< "$raw"
  set +f
fi
if [ -n "${INPUT_CONFIG:-}" ]; then
  export HOMEOSTAT_CONFIG="$INPUT_CONFIG"
fi
if [ -n "${GITHUB_TOKEN:-}" ]; then
  echo "::add-mask::${GITHUB_TOKEN}"
fi

command -v "${bin[0]}" >/dev/null || { echo "::error title=homeostat::${bin[0]} is not installed"; exit 1; }
exec "${bin[@]}" "${args[@]}"
