#!/usr/bin/env bash
# The dashboard in a real browser: builds the site from the seeded 90-day ledger, opens
# every page in headless Chromium (Debian `chromium`) at desktop and phone widths, and
# fails when a page logs a console error or a chart lacks data points, a title, a
# description or its table. Console messages come from Chromium's own log
# (`--enable-logging=stderr --v=0` prints each as `CONSOLE(...)`); the DOM checked is
# Chromium's (`--dump-dom`), not the file. A page with a planted console.error proves the
# log is read.
#   scripts/test-report-site.sh            check only (screenshots in a temp folder)
#   scripts/test-report-site.sh --update   also write docs/screenshots/report-*.png
set -euo pipefail
cd "$(dirname "$0")/.."
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium is missing: apt-get install -y chromium" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# HOMEOSTAT_BIN_DIR: the binaries are already built there (scripts/test.sh).
if [ -n "${HOMEOSTAT_BIN_DIR:-}" ]; then
  bin="$HOMEOSTAT_BIN_DIR/hs-report"
else
  cargo build --quiet --locked --bin hs-report
  bin="${CARGO_TARGET_DIR:-target}/debug/hs-report"
fi
python3 scripts/gen-ledger.py --seed 7 --days 90 --until 2026-12-01T00:00:00Z --out "$work/ledger"
printf 'ledger: {path: %s/ledger/ledger.jsonl, branch: ""}\n' "$work" >"$work/homeostat.yml"
GITHUB_REPOSITORY=octo/app "$bin" --config "$work/homeostat.yml" --since 90d --until 2026-12-01T00:00:00Z \
  site --out "$work/site" >/dev/null

chrome() { # chrome LOG ARGS… — one headless run, its log in LOG
  local log=$1; shift
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
    --user-data-dir="$(mktemp -d -p "$work")" --enable-logging=stderr --v=0 "$@" 2>"$log"
}
console_errors() { grep -E ':CONSOLE[(:]|CONSOLE\(|Uncaught|Failed to load resource' "$1" || true; }

# The log is read: a planted error must show up.
printf '<!doctype html><title>t</title><script>console.error("planted")</script>' >"$work/planted.html"
chrome "$work/planted.log" --dump-dom "file://$work/planted.html" >/dev/null
console_errors "$work/planted.log" | grep -q planted || { echo "the console log is not read" >&2; exit 1; }

shots="$work/shots"; mkdir -p "$shots"
failed=0
for page in "$work"/site/*.html; do
  name=$(basename "$page" .html)
  # The three runs of a page at once: each has its own profile folder and log.
  chrome "$work/$name.log" --window-size=1280,900 --dump-dom "file://$page" >"$work/$name.dom.html" &
  chrome "$work/$name-d.log" --window-size=1280,1500 --screenshot="$shots/report-$name-desktop.png" "file://$page" >/dev/null &
  chrome "$work/$name-p.log" --window-size=390,2200 --screenshot="$shots/report-$name-phone.png" "file://$page" >/dev/null &
  for run in 1 2 3; do wait -n || { echo "$name: chromium failed (run $run of 3)" >&2; failed=1; }; done
  for log in "$work/$name.log" "$work/$name-d.log" "$work/$name-p.log"; do
    if [ -n "$(console_errors "$log")" ]; then echo "$name: console: $(console_errors "$log")" >&2; failed=1; fi
  done
  python3 - "$work/$name.dom.html" "$name" <<'PY' || failed=1
import sys
from html.parser import HTMLParser

class Charts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts, self.tables, self.svg, self.scripts = [], set(), None, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "svg" and "plot" in (a.get("class") or ""):
            self.svg = {"id": a.get("aria-labelledby", "").split("-t ")[0], "role": a.get("role"),
                        "title": False, "desc": False, "points": 0}
        elif self.svg is not None:
            if tag == "title": self.svg["title"] = True
            if tag == "desc": self.svg["desc"] = True
            if tag == "rect" and (a.get("class") or "").startswith("pt "): self.svg["points"] += 1
        if tag == "table" and a.get("id"):
            self.tables.add(a["id"])
    def handle_endtag(self, tag):
        if tag == "svg" and self.svg is not None:
            self.charts.append(self.svg); self.svg = None

p = Charts(); p.feed(open(sys.argv[1]).read())
problems = []
if not p.charts: problems.append("no chart")
if p.scripts: problems.append("a script on the page")
for c in p.charts:
    if not (c["title"] and c["desc"] and c["role"] == "img"): problems.append(f"{c['id']}: no title, desc or role=img")
    if c["points"] == 0: problems.append(f"{c['id']}: no data points")
    if f"{c['id']}-table" not in p.tables: problems.append(f"{c['id']}: no table alternative")
for x in problems: print(f"{sys.argv[2]}: {x}", file=sys.stderr)
print(f"{sys.argv[2]}: {len(p.charts)} charts, {sum(c['points'] for c in p.charts)} data points, ok" if not problems else "", end="\n" if not problems else "")
sys.exit(1 if problems else 0)
PY
done
# Dark mode, as a reader with prefers-color-scheme: dark sees the overview.
chrome "$work/dark.log" --force-dark-mode --blink-settings=preferredColorScheme=0 --window-size=1280,1500 \
  --screenshot="$shots/report-index-dark.png" "file://$work/site/index.html" >/dev/null
[ -z "$(console_errors "$work/dark.log")" ] || failed=1
if [ "${1:-}" = "--update" ]; then
  mkdir -p docs/screenshots && cp "$shots"/*.png docs/screenshots/
  echo "screenshots written to docs/screenshots/"
fi
[ "$failed" = 0 ] && echo "report site: every page opened in Chromium without console errors; every chart checked"
exit "$failed"
