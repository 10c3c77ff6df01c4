#!/usr/bin/env bash
# The hs-relay container image, built from deploy/Dockerfile and run the way the deploy
# examples run it: non-root, the spool on a named volume, settings from the environment,
# forwarding to a GitHub stand-in (crates/github-standin, checked against GitHub's OpenAPI
# description) with a token that lives only in the container.
#
#   scripts/test-image.sh            (needs podman; not part of scripts/test.sh)
#
# Where a Rust base image can be pulled, `docker build -f deploy/Dockerfile .` compiles
# inside the image. This script packages a static binary built here instead
# (`--build-arg BINARY_FROM=prebuilt`), so it needs no registry: the image's runtime
# stage — scratch, user 65534, /data, entry point — is the same.
#
# Checks: 20 Sentry envelopes of one error accepted while GitHub answers 503; `kill -9`
# of the container; a restart forwards all 20 occurrences exactly once (folded into the
# first and last event); spool files belong to 65534; the stand-in saw no request outside
# GitHub's description; the token is not in the container's log.
set -euo pipefail
cd "$(dirname "$0")/.."
ENGINE=${ENGINE:-podman}
target=${CARGO_TARGET_DIR:-target}
tag=homeostat-relay:test-$$
name=hs-relay-test-$$
volume=hs-relay-test-$$
dir=$(mktemp -d)
standin_pid=""
run_opts=(--network host)
# runc works with cgroup v1, v2 and hybrid hosts (crun refuses hybrid); a host without
# CAP_SYS_RESOURCE cannot give a container the engine's default limits.
if [ "$ENGINE" = podman ] && command -v runc >/dev/null; then
  engine=("$ENGINE" --runtime runc)
else
  engine=("$ENGINE")
fi
run_opts+=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
cleanup() {
  "${engine[@]}" rm -f "$name" >/dev/null 2>&1 || true
  "${engine[@]}" volume rm -f "$volume" >/dev/null 2>&1 || true
  "${engine[@]}" rmi -f "$tag" >/dev/null 2>&1 || true
  [ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "test-image: $*" >&2; "${engine[@]}" logs "$name" 2>&1 | tail -20 >&2 || true; exit 1; }

command -v "$ENGINE" >/dev/null || { echo "test-image: $ENGINE is not installed (apt-get install podman runc)" >&2; exit 2; }

echo "==> a static hs-relay (release) and the GitHub stand-in"
RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$target/static" \
  cargo build --locked --release --quiet --target x86_64-unknown-linux-gnu --bin hs-relay
cargo build --locked --quiet -p github-standin
binary="$target/static/x86_64-unknown-linux-gnu/release/hs-relay"
file -b "$binary" 2>/dev/null | grep -q 'static' || ldd "$binary" 2>&1 | grep -q 'not a dynamic' \
  || fail "$binary is not statically linked"

echo "==> the image (deploy/Dockerfile, BINARY_FROM=prebuilt)"
mkdir -p "$dir/ctx/image/etc/ssl/certs" "$dir/ctx/image/data"
cp "$binary" "$dir/ctx/image/hs-relay"
cp /etc/ssl/certs/ca-certificates.crt "$dir/ctx/image/etc/ssl/certs/"
"${engine[@]}" build --quiet -f deploy/Dockerfile --build-arg BINARY_FROM=prebuilt -t "$tag" "$dir/ctx" >/dev/null
size=$("${engine[@]}" image inspect --format '{{.Size}}' "$tag")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
"$target/debug/github-standin" --listen 127.0.0.1:0 --repo octo/app > "$dir/standin.out" 2> "$dir/standin.log" &
standin_pid=$!
for _ in $(seq 50); do [ -s "$dir/standin.out" ] && break; sleep 0.1; done
standin=$(head -1 "$dir/standin.out")
[ -n "$standin" ] || fail "the stand-in did not start: $(cat "$dir/standin.log")"
# GitHub fails every dispatch until the container has been killed and restarted.
curl -fsS -X POST "$standin/_standin/faults" -d '{"method":"POST","path":"/dispatches$","kind":"status","status":503,"times":0}' >/dev/null

port=$(free_port)
relay=http://127.0.0.1:$port
"${engine[@]}" volume create "$volume" >/dev/null
"${engine[@]}" run -d --name "$name" "${run_opts[@]}" -v "$volume:/data" \
  -e HOMEOSTAT_RELAY_LISTEN="127.0.0.1:$port" -e HOMEOSTAT_RELAY_PROJECT=1:imagekey \
  -e HOMEOSTAT_RELAY_FORWARD_EVERY=300ms -e GITHUB_TOKEN=ghs_image_server_token \
  -e GITHUB_REPOSITORY=octo/app -e GITHUB_API_URL="http://localhost:${standin##*:}" "$tag" >/dev/null
up() { for _ in $(seq 100); do curl -fsS "$relay/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
up || fail "the relay in the container did not answer /healthz"

echo "==> 20 envelopes while GitHub answers 503, kill -9, restart"
python3 - "$relay" <<'PY' || fail "the relay refused an envelope"
import json, sys, urllib.request
relay = sys.argv[1]
for n in range(20):
    event = {"event_id": f"{n:032x}", "platform": "python", "release": "2.0.0", "environment": "production",
             "exception": {"values": [{"type": "KeyError", "value": f"'user_{n}'",
                 "stacktrace": {"frames": [{"filename": "app/views.py", "function": "profile", "lineno": 42, "in_app": True}]}}]}}
    body = "\n".join([json.dumps({"event_id": event["event_id"]}), json.dumps({"type": "event"}), json.dumps(event)]) + "\n"
    req = urllib.request.Request(f"{relay}/api/1/envelope/", data=body.encode(), method="POST",
        headers={"X-Sentry-Auth": "Sentry sentry_version=7, sentry_key=imagekey", "Content-Type": "application/x-sentry-envelope"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200, r.status
PY
sleep 1
"${engine[@]}" kill -s KILL "$name" >/dev/null
mount=$("${engine[@]}" volume inspect --format '{{.Mountpoint}}' "$volume")
owners=$(find "$mount" -mindepth 1 -printf '%u:%g\n' | sort -u | tr '\n' ' ')
[ "$owners" = "65534:65534 " ] || [ "$owners" = "nobody:nogroup " ] || fail "spool files owned by $owners, not 65534"
spooled=$(cat "$mount"/spool/events-*.jsonl | wc -l)
[ "$spooled" -eq 20 ] || fail "the spool holds $spooled events after kill -9, not 20"
curl -fsS -X DELETE "$standin/_standin/faults" >/dev/null
"${engine[@]}" start "$name" >/dev/null
up || fail "the restarted relay did not answer /healthz"

python3 - "$standin" <<'PY' || fail "the restarted relay did not forward the spool"
import json, sys, time, urllib.request
standin = sys.argv[1]
get = lambda what: json.load(urllib.request.urlopen(f"{standin}/_standin/{what}"))
deadline = time.time() + 30
while True:
    batches = {}
    for d in get("state")["repository_dispatches"]:
        p = d["client_payload"]
        assert batches.setdefault(p["batch"], p) == p, f"batch {p['batch']} resent with other events"
    events = [e for p in batches.values() for e in p["events"]]
    # The 20 are one error: the relay folds repeats into the first and last event, the
    # last standing for the rest (`occurrences`).
    total = sum(e.get("occurrences", 1) for e in events)
    if total >= 20 or time.time() > deadline:
        break
    time.sleep(0.3)
ids = [e["id"] for e in events]
assert len(ids) == len(set(ids)), f"an event was forwarded twice: {sorted(ids)}"
assert total == 20, f"{total} of 20 occurrences forwarded"
assert f"{0:032x}" in ids and f"{19:032x}" in ids, f"first and last kept: {ids}"
requests = get("requests")
refused = sum(1 for r in requests if r.get("fault"))
assert refused > 0, "GitHub never failed: the test proves nothing"
violations = get("violations")
assert not violations, f"requests outside GitHub's description: {violations}"
print(f"forwarded 20 occurrences once ({len(events)} events, {len(batches)} batches) after {refused} refused dispatches")
PY
grep -q ghs_image_server_token <("${engine[@]}" logs "$name" 2>&1) && fail "the token reached the container's log"

printf '%-14s %s\n' "image" "$tag" "size" "$(( size / 1000 / 1000 )) MB ($size bytes)" \
  "binary" "$(( $(stat -c %s "$binary") / 1000 / 1000 )) MB, static" "user" "65534 (spool files $owners)"
echo "test-image: ok"
