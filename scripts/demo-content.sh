#!/usr/bin/env bash
# The content chain end to end, offline: the replay provider answers from the recorded
# files in tests/fixtures/content/replay, the local forge keeps the pull request, and a
# bare repository in a temp folder stands in for the remote.
#
#   scripts/demo-content.sh            build hs-content, run plan → generate → publish → feedback
#   HS_CONTENT=path/to/hs-content scripts/demo-content.sh    use a binary already built
#   KEEP=1 scripts/demo-content.sh     keep the temp folder to look at the files
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fixtures="$root/tests/fixtures/content"
if [ -z "${HS_CONTENT:-}" ]; then
  cargo build --quiet --manifest-path "$root/Cargo.toml" --bin hs-content
  HS_CONTENT="${CARGO_TARGET_DIR:-$root/target}/debug/hs-content"
fi
work="$(mktemp -d)"
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; fi
say() { printf '\n== %s\n' "$*" >&2; }

repo="$work/repo"; remote="$work/remote.git"; forge="$work/forge"
mkdir -p "$repo/content" "$remote"
cp "$fixtures/homeostat.yml" "$repo/"
cp "$fixtures/topics.yml" "$repo/content/topics.yml"
cp -r "$fixtures/replay" "$repo/replay"
git -C "$remote" init --quiet --bare -b main
git -C "$repo" init --quiet -b main
git -C "$repo" -c user.name=demo -c user.email=demo@example.com add -A
git -C "$repo" -c user.name=demo -c user.email=demo@example.com commit --quiet -m "site with topics"
git -C "$repo" remote add origin "$remote"
git -C "$repo" push --quiet origin main

now="2026-11-23T10:00:00Z"
hs() { (cd "$repo" && env -u GITHUB_TOKEN -u GITHUB_ACTIONS HOMEOSTAT_LOG=warn \
  "$HS_CONTENT" --config homeostat.yml --forge local --forge-dir "$forge" --format json --now "$now" "$@"); }

say "plan: what the next run writes and why"
hs plan
say "generate: idea → page → edit → guardrails → files → image → social bundle → one PR"
hs generate
say "the page's front matter"
sed -n '1,/^---$/{p}' "$repo/content/guides/how-to-price-a-saas-product.md" | sed -n '1,20p'
say "the branch on the remote"
git -C "$remote" log --oneline --stat -1 "homeostat/content-2026-W48" | cat
say "generate again the same week: the weekly limit holds"
now="2026-11-25T10:00:00Z" hs generate
say "a maintainer sets the page live and approves one post; publish"
sed -i 's/^status: pending_review$/status: live/' "$repo/content/guides/how-to-price-a-saas-product.md"
sed -i '0,/review: pending/s//review: approve/' "$repo/content/social/how-to-price-a-saas-product.yml"
hs publish
cat "$repo/static/sitemap.xml"
say "feedback: issues labelled feedback → content/feedback/<week>.yml"
mkdir -p "$forge/issues"
printf '%s\n' '{"number": 1, "title": "How do I raise prices?", "body": "An email template would help", "labels": ["feedback"], "state": "open", "comments": []}' > "$forge/issues/1.json"
hs feedback
cat "$repo/content/feedback/2026-W48.yml"
say "model calls in the ledger"
grep -c '"kind":"llm.call"' "$repo/.homeostat/ledger.jsonl" | sed 's/$/ calls recorded/'
if [ "${KEEP:-0}" = 1 ]; then say "files kept in $work"; fi
