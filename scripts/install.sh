#!/usr/bin/env bash
# Installs homeostat's binaries for the runner (used by action.yml), or for this machine.
#
#   INPUT_VERSION=0.1.0 scripts/install.sh    the release for this OS and CPU, checksum-verified
#   INPUT_VERSION=source scripts/install.sh   build this checkout with cargo
#   HOMEOSTAT_BIN=DIR scripts/install.sh      use the binaries already in DIR
#
# A release is only used when its SHA-256 matches the release's SHA256SUMS file; anything
# else (no asset for this platform, no network, a mismatch) falls back to building from
# source. Binaries go to $RUNNER_TEMP/homeostat/bin (or ~/.local/share/homeostat/bin),
# which is added to $GITHUB_PATH in Actions.
set -euo pipefail

version="${INPUT_VERSION:-source}"
repo="${HOMEOSTAT_RELEASE_REPO:-homeostat/homeostat}"
src="$(cd "$(dirname "$0")/.." && pwd)"
root="${RUNNER_TEMP:-${HOME}/.local/share}/homeostat"
bin="$root/bin"
mkdir -p "$bin"

log() { printf 'homeostat install: %s\n' "$*" >&2; }

target() {
  local os arch
  os="$(uname -s)"; arch="$(uname -m)"
  case "$os/$arch" in
    Linux/x86_64) echo x86_64-unknown-linux-gnu ;;
    Linux/aarch64|Linux/arm64) echo aarch64-unknown-linux-gnu ;;
    Darwin/x86_64) echo x86_64-apple-darwin ;;
    Darwin/arm64|Darwin/aarch64) echo aarch64-apple-darwin ;;
    *) return 1 ;;
  esac
}

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

from_release() {
  local t url tmp asset expected actual
  t="$(target)" || { log "no release build for $(uname -s)/$(uname -m)"; return 1; }
  case "$version" in v*) ;; *) version="v$version" ;; esac
  # HOMEOSTAT_RELEASE_URL: a mirror (and the installer's test); HTTPS only, as below.
  url="${HOMEOSTAT_RELEASE_URL:-https://github.com/$repo/releases/download}/$version"
  asset="homeostat-$t.tar.gz"
  tmp="$(mktemp -d)"
  log "downloading $asset ($version)"
  curl --proto '=https' --tlsv1.2 -fsSL --retry 3 -o "$tmp/$asset" "$url/$asset" || return 1
  curl --proto '=https' --tlsv1.2 -fsSL --retry 3 -o "$tmp/SHA256SUMS" "$url/SHA256SUMS" || return 1
  expected="$(awk -v a="$asset" '$2 == a || $2 == "*"a {print $1}' "$tmp/SHA256SUMS")"
  actual="$(sha256 "$tmp/$asset")"
  if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
    log "checksum mismatch for $asset (expected '${expected:-none}', got $actual)"
    return 1
  fi
  tar -xzf "$tmp/$asset" -C "$bin"
  rm -rf "$tmp"
}

from_source() {
  command -v cargo >/dev/null || { log "cargo is not installed: cannot build from source"; exit 1; }
  command -v c++ >/dev/null || log "no C++ compiler on PATH: the source build (libgit2, mimalloc, cxx) will likely fail"
  log "building from source in $src"
  cargo install --locked --quiet --path "$src" --root "$root" --force
}

if [ -n "${HOMEOSTAT_BIN:-}" ]; then
  # Binaries already on the machine (a self-hosted runner's image, the workflow tests).
  [ -x "$HOMEOSTAT_BIN/hs-issue" ] || { log "HOMEOSTAT_BIN=$HOMEOSTAT_BIN holds no hs-issue"; exit 1; }
  bin="$HOMEOSTAT_BIN"
  log "using the binaries in $bin"
elif [ "$version" = source ] || ! from_release; then
  from_source
fi

if [ -n "${GITHUB_PATH:-}" ]; then
  echo "$bin" >> "$GITHUB_PATH"
fi
log "installed: $(cd "$bin" && ls -d hs-* homeostat 2>/dev/null | tr '\n' ' ')"
