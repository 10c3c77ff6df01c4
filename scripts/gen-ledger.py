#!/usr/bin/env python3
"""A seeded ledger of N days with the totals it was built from.

    scripts/gen-ledger.py --seed 7 --days 90 --until 2026-12-01T00:00:00Z --out DIR

writes DIR/ledger.jsonl (every kind hs-report reads, plus noise it must ignore) and
DIR/totals.json: the figures of `hs-report --since <days>d --until <until> --format json`
as this process counted them while it drew the events — never by reading the lines back —
so a test can demand that the report equals them exactly.

Definitions match docs/report.md: percentiles are nearest-rank (integer arithmetic), money
is summed in whole micro-dollars.
"""

import argparse
import json
import os
import random
from datetime import datetime, timedelta, timezone

CLASSES = ["low", "medium", "high", "critical"]
AGENT_OUTCOMES = ["pr-opened"] * 6 + ["no-change", "blocked-by-guard", "agent-failed", "agent-timeout"]
AGENT_OK = {"pr-opened", "pr-updated"}
RUNBOOKS = ["restart-service", "clear-cache", "rerun-ci"]
RUNBOOK_OUTCOMES = ["resolved"] * 6 + ["escalated", "diagnosed", "awaiting-approval", "failed"]
FILING_DELAYS = [3, 20, 45, 59, 60, 61, 90, 300, 3600]


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def nearest_rank(sorted_values, percent):
    if not sorted_values:
        return None
    return sorted_values[(percent * len(sorted_values) + 99) // 100 - 1]


class Gen:
    def __init__(self, seed, until):
        self.rng = random.Random(seed)
        # The inbox (links, reactions, feedback) draws from its own stream, so adding it left
        # every earlier figure of a seed as it was.
        self.inbox_rng = random.Random(seed * 7919 + 1)
        self.until = until
        self.lines = []
        self.issues = []  # (number, first_seen)
        self.t = {
            "events": 0, "new_bugs": 0, "regressions": 0, "filed": 0, "filed_of": 0,
            "classes": {}, "agent_runs": 0, "outcomes": {}, "merged": 0, "gate": 0, "people": 0,
            "fix_seconds": [], "decisions": {}, "runbook_outcomes": {}, "recovery": [],
            "runbook_runs": 0, "agent_micros": 0, "model_micros": 0,
            "linked": 0, "reactions": {}, "feedback_filed": 0, "feedback_held": 0,
            "clusters": [], "grouped": set(),
        }

    def put(self, ts, kind, key, rng=None, **data):
        assert ts < self.until, (kind, ts)
        line = {"ts": iso(ts), "kind": kind, "key": str(key), "id": "%016x" % (rng or self.rng).getrandbits(64)}
        line.update(data)
        self.lines.append((ts, line))

    def micros(self, lo, hi):
        return self.rng.randint(lo, hi)

    def bug(self, day_start):
        r, t = self.rng, self.t
        number = 1000 + len(self.issues)
        first_seen = day_start + timedelta(seconds=r.randrange(0, 80_000))
        delay = r.choice(FILING_DELAYS)
        created = first_seen + timedelta(seconds=delay)
        occurrences = r.randint(1, 50)
        self.issues.append(number)
        self.put(created, "issue.created", f"fp{number:05x}", issue=number, occurrences=occurrences,
                 first_seen=iso(first_seen))
        t["new_bugs"] += 1
        t["events"] += occurrences
        t["filed_of"] += 1
        t["filed"] += delay <= 60
        cls = r.choice(CLASSES)
        self.put(created + timedelta(seconds=30), "issue.classified", number, issue=number, **{"class": cls})
        t["classes"][cls] = t["classes"].get(cls, 0) + 1
        if cls in ("low", "medium") and r.random() < 0.8:
            self.agent(number, first_seen, created)

    def agent(self, number, first_seen, created):
        r, t = self.rng, self.t
        usd = self.micros(1_000, 900_000)
        self.put(created + timedelta(seconds=600), "agent.run", number, agent="claude", mode="fix",
                 seconds=r.randint(30, 900), usd=usd / 1e6, turns=r.randint(1, 30), exit=0)
        t["agent_runs"] += 1
        t["agent_micros"] += usd
        outcome = r.choice(AGENT_OUTCOMES)
        pr = number + 50_000
        self.put(created + timedelta(seconds=700), "agent.outcome", number, outcome=outcome, pr=pr)
        t["outcomes"][outcome] = t["outcomes"].get(outcome, 0) + 1
        if outcome != "pr-opened" or r.random() >= 0.8:
            return
        merged = created + timedelta(seconds=r.randint(3600, 3 * 86400))
        if merged >= self.until:
            return
        gate = r.random() < 0.6
        self.put(merged, "pr.merged", pr, issue=number, gate=gate, merged_by="homeostat[bot]" if gate else "alice")
        t["merged"] += 1
        t["gate" if gate else "people"] += 1
        t["fix_seconds"].append(int((merged - first_seen).total_seconds()))

    def day(self, day_start):
        r, t = self.rng, self.t
        for _ in range(r.randint(0, 4)):
            self.bug(day_start)
        for _ in range(r.randint(0, 3) if self.issues else 0):
            n = r.randint(1, 40)
            number = r.choice(self.issues)
            self.put(day_start + timedelta(seconds=r.randrange(84_000, 86_000)), "issue.seen", number,
                     issue=number, occurrences=n)
            t["events"] += n
        if self.issues and r.random() < 0.15:
            n = r.randint(1, 10)
            number = r.choice(self.issues)
            self.put(day_start + timedelta(seconds=r.randrange(0, 86_000)), "issue.reopened", number,
                     issue=number, occurrences=n)
            t["regressions"] += 1
            t["events"] += n
        for _ in range(r.randint(0, 2)):
            decision = "rollback" if r.random() < 0.2 else "promote"
            self.put(day_start + timedelta(seconds=r.randrange(0, 86_000)), "canary.decision", decision,
                     decision=decision, reason="seeded")
            t["decisions"][decision] = t["decisions"].get(decision, 0) + 1
        for _ in range(r.randint(0, 2)):
            self.runbook(day_start)
        for _ in range(r.randint(1, 6)):
            usd = self.micros(100, 40_000)
            self.put(day_start + timedelta(seconds=r.randrange(0, 86_000)), "llm.call", "ops-match",
                     template="ops-match.j2", usd=usd / 1e6)
            t["model_micros"] += usd
        self.inbox(day_start)
        # Noise the report must not count.
        self.put(day_start + timedelta(seconds=r.randrange(0, 86_000)), "issue.held", "fpheld", occurrences=99)

    def inbox(self, day_start):
        """hs-cluster's links and the maintainers' reactions; user feedback filed or held.

        Links are drawn as clusters: a link either starts a cluster (a new issue linked to
        an earlier one) or adds a new issue to one, linked to all its members, so the
        clusters the report must find are the ones drawn here."""
        r, t = self.inbox_rng, self.t
        for _ in range(r.randint(0, 2)):
            free = [n for n in self.issues if n not in t["grouped"]]
            if len(free) < 2:
                break
            at = day_start + timedelta(seconds=r.randrange(0, 80_000))
            if t["clusters"] and r.random() < 0.5:
                cluster = r.choice(t["clusters"])
                issue, duplicates = r.choice(free), sorted(cluster["issues"])
            else:
                first, issue = sorted(r.sample(free, 2))
                cluster = {"title": f"Problem {len(t['clusters']) + 1}", "issues": [first]}
                t["clusters"].append(cluster)
                t["grouped"].add(first)
                duplicates = [first]
            cluster["issues"].append(issue)
            t["grouped"].add(issue)
            self.put(at, "cluster.linked", f"acme/app#{issue}", r, repo="acme/app", issue=issue,
                     duplicates=duplicates, similarity=0.7, title=cluster["title"])
            t["linked"] += 1
            if r.random() < 0.6:
                reaction = "confirmed" if r.random() < 0.8 else "rejected"
                self.put(at + timedelta(seconds=3600), "cluster.reaction", f"acme/app#{issue}", r,
                         reaction=reaction, similarity=0.7)
                t["reactions"][reaction] = t["reactions"].get(reaction, 0) + 1
        for _ in range(r.randint(0, 5)):
            kind = "feedback.held" if r.random() < 0.1 else "feedback.filed"
            self.put(day_start + timedelta(seconds=r.randrange(0, 86_000)), kind, "%032x" % r.getrandbits(128), r,
                     issue=9000)
            t["feedback_held" if kind == "feedback.held" else "feedback_filed"] += 1

    def runbook(self, day_start):
        r, t = self.rng, self.t
        sop, outcome = r.choice(RUNBOOKS), r.choice(RUNBOOK_OUTCOMES)
        at = day_start + timedelta(seconds=r.randrange(0, 86_000))
        data = {"outcome": outcome, "acted": outcome in ("resolved", "escalated", "failed")}
        if outcome == "resolved":
            seconds = r.randint(30, 1800)
            data["seconds"] = seconds
            t["recovery"].append(seconds)
        self.put(at, "ops.run", sop, **data)
        if outcome == "escalated":
            self.put(at + timedelta(seconds=1), "ops.escalation", sop, issue=7, reason="seeded")
        t["runbook_runs"] += 1
        t["runbook_outcomes"][outcome] = t["runbook_outcomes"].get(outcome, 0) + 1

    def totals(self):
        t = self.t
        fixes, recovery = sorted(t["fix_seconds"]), sorted(t["recovery"])
        ok = sum(n for o, n in t["outcomes"].items() if o in AGENT_OK)
        runs = sum(t["outcomes"].values())
        return {
            "errors": {
                "events": t["events"], "new_bugs": t["new_bugs"], "regressions": t["regressions"],
                "filed_within_minute": t["filed"], "filed_of": t["filed_of"],
                "filed_within_minute_share": t["filed"] / t["filed_of"] if t["filed_of"] else None,
            },
            "duplicates": {
                "linked": t["linked"], "confirmed": t["reactions"].get("confirmed", 0),
                "rejected": t["reactions"].get("rejected", 0),
                "confirmed_share": (t["reactions"].get("confirmed", 0) / sum(t["reactions"].values())
                                    if t["reactions"] else None),
                "clusters": [
                    {"repo": "acme/app", "title": c["title"], "issues": sorted(c["issues"]),
                     "reports": len(c["issues"])}
                    for c in sorted(t["clusters"], key=lambda c: (-len(c["issues"]), min(c["issues"])))[:10]
                ],
            },
            "feedback": {"filed": t["feedback_filed"], "held": t["feedback_held"]},
            "issues_by_class": dict(sorted(t["classes"].items())),
            "agent": {
                "runs": t["agent_runs"], "outcomes": dict(sorted(t["outcomes"].items())),
                "success_rate": ok / runs if runs else None,
            },
            "fixes": {
                "merged": t["merged"], "by_gate": t["gate"], "by_people": t["people"],
                "time_to_fix": {"count": len(fixes), "median_seconds": nearest_rank(fixes, 50),
                                "p90_seconds": nearest_rank(fixes, 90)},
            },
            "canary": {
                "promotions": t["decisions"].get("promote", 0), "rollbacks": t["decisions"].get("rollback", 0),
                "decisions": dict(sorted(t["decisions"].items())),
            },
            "runbooks": {
                "runs": t["runbook_runs"], "outcomes": dict(sorted(t["runbook_outcomes"].items())),
                "recovery": {"count": len(recovery), "median_seconds": nearest_rank(recovery, 50),
                             "p90_seconds": nearest_rank(recovery, 90)},
            },
            "spend": {
                "agent_usd": t["agent_micros"] / 1e6, "model_usd": t["model_micros"] / 1e6,
                "total_usd": (t["agent_micros"] + t["model_micros"]) / 1e6,
            },
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--until", default="2026-12-01T00:00:00Z")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    until = datetime.strptime(args.until, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    gen = Gen(args.seed, until)
    for d in range(args.days):
        gen.day(until - timedelta(days=args.days - d))
    os.makedirs(args.out, exist_ok=True)
    gen.lines.sort(key=lambda pair: pair[0])
    with open(os.path.join(args.out, "ledger.jsonl"), "w") as f:
        for _, line in gen.lines:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
    with open(os.path.join(args.out, "totals.json"), "w") as f:
        json.dump(gen.totals(), f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
