#!/usr/bin/env bash
# Installs what the tests need, then runs every check CI runs: fmt, clippy with warnings
# denied, all tests, the demo, the action's installer, zizmor on every workflow and action file.
#
#   scripts/test.sh            everything
#   SKIP_INSTALL=1 scripts/test.sh   assume the tools are there
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }

# --- tools the tests need -------------------------------------------------------------
if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  step "installing test tools"
  need_apt=()
  command -v git >/dev/null || need_apt+=(git)
  command -v jq >/dev/null || need_apt+=(jq)  # the demo's agent part
  command -v openssl >/dev/null || need_apt+=(openssl)  # the installer's test (HTTPS)
  command -v curl >/dev/null || need_apt+=(curl)
  command -v node >/dev/null || need_apt+=(nodejs npm)
  command -v prometheus >/dev/null || need_apt+=(prometheus)
  command -v promtool >/dev/null || need_apt+=(prometheus)
  ls /usr/share/fonts/truetype/dejavu/DejaVuSans*.ttf >/dev/null 2>&1 || need_apt+=(fonts-dejavu-core)  # og images
  if [ ${#need_apt[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
  pip=(python3 -m pip install --quiet --disable-pip-version-check)
  command -v zizmor >/dev/null || "${pip[@]}" 'zizmor==1.*'
  # GitHub's REST description, webhook examples, Sentry SDKs, esbuild: locked in tests/npm.
  [ -d tests/npm/node_modules/@octokit/openapi ] || npm ci --prefix tests/npm --no-audit --no-fund --loglevel=error
fi
if [ -d ../shared ]; then
  export HOMEOSTAT_SHARED="${HOMEOSTAT_SHARED:-$(cd ../shared && pwd)}"
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings denied)"
cargo clippy --all-targets --locked -- -D warnings

step "cargo test"
cargo test --all-targets --locked
cargo test --doc --locked

step "figures (printed by the conformance and budget tests)"
# Already built above; these re-run a few tests with their output shown.
run_figures() { cargo test -q --locked --test "$1" "$2" -- --nocapture 2>&1 | grep -E "$3" || true; }
run_figures github request_budget 'requests for'
run_figures fingerprint sentry 'sentry'
run_figures fingerprint own_corpus_pairwise 'own corpus'
run_figures policy corpus_passes 'codeowners|wildmatch'
run_figures canary conformance 'conformance'
run_figures content twitter_text 'twitter-text'

step "demo (scripts/demo.sh: the whole loop on the local forge), today and a year ahead"
# The README's main command, end to end; its output only when it fails. The second run
# pins the clock a year ahead (HOMEOSTAT_NOW), so nothing in it depends on the calendar.
logs="${CARGO_TARGET_DIR:-target}"
mkdir -p "$logs"
for ahead in "" "+1 year"; do
  now=""; [ -z "$ahead" ] || now=$(date -u -d "$ahead" +%Y-%m-%dT%H:%M:%SZ)
  if ! HOMEOSTAT_NOW="$now" bash scripts/demo.sh > "$logs/demo.log" 2>&1; then
    tail -n 60 "$logs/demo.log"
    echo "scripts/demo.sh failed${now:+ with HOMEOSTAT_NOW=$now} (whole output: $logs/demo.log)" >&2
    exit 1
  fi
  echo "demo${now:+ at $now}: every step ran"
done

step "installer (scripts/test-install.sh: action.yml's install against a local HTTPS release)"
bash scripts/test-install.sh

step "zizmor"
# zizmor collects workflows from a folder only under `.github/workflows`: the examples are
# linked from examples/workflows/.github/workflows, so `zizmor examples/workflows` audits
# them too. Every example must have its link.
for f in examples/workflows/*.yml; do
  [ "$(readlink "examples/workflows/.github/workflows/$(basename "$f")")" = "../../$(basename "$f")" ] \
    || { echo "missing link: examples/workflows/.github/workflows/$(basename "$f") -> ../../$(basename "$f")" >&2; exit 1; }
done
zizmor --offline --no-progress action.yml .github/workflows examples/workflows

step "all checks passed"
