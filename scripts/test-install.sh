#!/usr/bin/env bash
# Tests scripts/install.sh (the action's installer) against a local HTTPS "release": a
# verified asset is installed; a checksum mismatch, a missing asset or plain HTTP falls back
# to building from source (a stand-in `cargo` records that it was asked). Needs openssl,
# python3 and curl.
set -euo pipefail
cd "$(dirname "$0")/.."
here="$(pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "test-install: FAIL: $*" >&2; exit 1; }

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) target=x86_64-unknown-linux-gnu ;;
  Linux/aarch64|Linux/arm64) target=aarch64-unknown-linux-gnu ;;
  *) echo "test-install: skipped on $(uname -s)/$(uname -m)"; exit 0 ;;
esac

# A release v9.9.9 with one binary, and its SHA256SUMS.
rel="$work/www/v9.9.9"
mkdir -p "$rel" "$work/pkg"
printf '#!/bin/sh\necho hs-issue from the release\n' > "$work/pkg/hs-issue"
chmod +x "$work/pkg/hs-issue"
tar -czf "$rel/homeostat-$target.tar.gz" -C "$work/pkg" hs-issue
(cd "$rel" && sha256sum "homeostat-$target.tar.gz" > SHA256SUMS)

# A self-signed certificate for 127.0.0.1, trusted by curl through CURL_CA_BUNDLE only.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
python3 - "$work" > "$work/port" <<'PY' &
import http.server, ssl, sys, os, functools
work = sys.argv[1]
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=os.path.join(work, "www"))
httpd = http.server.HTTPServer(("127.0.0.1", 0), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(work, "cert.pem"), os.path.join(work, "key.pem"))
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print(httpd.server_address[1], flush=True)
httpd.serve_forever()
PY
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port="$(cat "$work/port")"
[ -n "$port" ] || fail "the HTTPS server did not start"

# A stand-in cargo: a source build is recorded, not run.
mkdir -p "$work/fakebin"
printf '#!/bin/sh\necho "$@" >> "%s/cargo-called"\n' "$work" > "$work/fakebin/cargo"
chmod +x "$work/fakebin/cargo"

install() { # install RUNNER_TEMP URL → the installer's log
  env -u GITHUB_PATH PATH="$work/fakebin:$PATH" CURL_CA_BUNDLE="$work/cert.pem" RUNNER_TEMP="$1" \
    INPUT_VERSION=9.9.9 HOMEOSTAT_RELEASE_URL="$2" bash "$here/scripts/install.sh" 2>&1
}

# 1. A verified release is installed, and cargo is not asked.
out="$(install "$work/r1" "https://127.0.0.1:$port")"
[ "$("$work/r1/homeostat/bin/hs-issue")" = "hs-issue from the release" ] || fail "release not installed: $out"
[ ! -e "$work/cargo-called" ] || fail "cargo was run for a verified release"

# 2. A checksum mismatch: nothing from the release is installed; it builds from source.
echo "0000000000000000000000000000000000000000000000000000000000000000  homeostat-$target.tar.gz" > "$rel/SHA256SUMS"
out="$(install "$work/r2" "https://127.0.0.1:$port")"
echo "$out" | grep -q "checksum mismatch" || fail "no mismatch reported: $out"
[ ! -e "$work/r2/homeostat/bin/hs-issue" ] || fail "an unverified binary was installed"
grep -q "install --locked" "$work/cargo-called" || fail "no source build after a mismatch"

# 3. Plain HTTP is refused (curl --proto =https): source build again.
rm -f "$work/cargo-called"
out="$(install "$work/r3" "http://127.0.0.1:$port")"
[ ! -e "$work/r3/homeostat/bin/hs-issue" ] || fail "a binary came over plain HTTP"
[ -e "$work/cargo-called" ] || fail "no source build after plain HTTP was refused"

echo "test-install: verified release installed; checksum mismatch and plain HTTP fall back to a source build (3/3)"
