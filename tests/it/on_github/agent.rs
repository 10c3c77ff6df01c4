//! hs-agent against the stand-in: a scripted stand-in agent (tests/fixtures/agent/edit.sh),
//! a bare git remote as `origin`, and the draft pull request on the stand-in.

use std::path::PathBuf;

use github_standin::{Fault, FaultKind, Standin};

use crate::support::bins::{self, Job, assert_no_panic, stderr};
use crate::support::git::git;

const ISSUE_BODY: &str = "**TypeError: Cannot read properties of undefined (reading 'id')**\n\n\
Seen 3 times in release 1.4.2.\n\n```text\nTypeError: Cannot read properties of undefined (reading 'id')\n    \
at renderNote (chrome-extension://abcdef/src/popup.js:2:15)\n```\n\n\
<!-- homeostat:fingerprint=0123456789abcdef algorithm=v1 -->\n";

/// A job with an app on a bare `origin`, issue #1 asking for a fix, and `ann` (write).
pub struct AgentJob {
    pub job: Job,
    /// The issue asking for a fix.
    pub issue: u64,
}

impl AgentJob {
    pub fn new(gh: &Standin) -> Self {
        let job = Job::new(gh);
        let origin = job.path("origin.git");
        let seed = job.path("seed");
        std::fs::create_dir_all(&seed).unwrap();
        git(job.dir.path(), &["init", "--quiet", "--bare", "--initial-branch=main", origin.to_str().unwrap()]);
        git(&seed, &["init", "--quiet", "--initial-branch=main"]);
        job.write(
            "seed/src/popup.js",
            "function renderNote(note) {\n  return note.id;\n}\nmodule.exports = { renderNote };\n",
        );
        job.write("seed/tests/popup.test.js", "const { renderNote } = require('../src/popup');\n");
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "--quiet", "-m", "app"]);
        git(&seed, &["push", "--quiet", origin.to_str().unwrap(), "main"]);
        let script = bins::root().join("tests/fixtures/agent/edit.sh");
        job.write(
            "homeostat.yml",
            &format!(
                "ledger: {{path: {}}}\nagents:\n  route: {{safe: stand-in}}\n  define:\n    stand-in: {{adapter: custom, run: [\"{}\"]}}\n  timeout: 30s\n  max_attempts: 1\n",
                job.path("ledger.jsonl").display(),
                script.display()
            ),
        );
        let labels = homeostat::init::labels().unwrap();
        let issue = gh.with_state(|s| {
            s.collaborators.insert("ann".into(), "write".into());
            // The labels a maintainer put on the issue exist, as `homeostat init` made them.
            for l in labels.iter().filter(|l| l.name == "homeostat:error" || l.name == "homeostat:fix") {
                s.seed_label(&l.name, &l.color, &l.description);
            }
            s.seed_issue(
                "TypeError: Cannot read properties of undefined (reading 'id')",
                ISSUE_BODY,
                &["homeostat:error", "homeostat:fix"],
                "dev",
            )
        });
        Self { job, issue }
    }

    /// A fresh checkout of `origin` (as every Actions run starts), named `name`.
    pub fn checkout(&self, name: &str) -> PathBuf {
        let dir = self.job.path(name);
        git(self.job.dir.path(), &["clone", "--quiet", self.job.path("origin.git").to_str().unwrap(), name]);
        dir
    }

    /// `hs-agent fix --issue N --actor ann` in a fresh checkout.
    pub fn fix(&self, checkout: &str) -> std::process::Output {
        self.checkout(checkout);
        let n = self.issue.to_string();
        let out = self.job.run("hs-agent", &["fix", "--issue", &n, "--actor", "ann", "--repo-dir", checkout]);
        assert_no_panic("hs-agent", &out);
        out
    }

    pub fn remote_branch(&self, branch: &str) -> String {
        git(&self.job.path("origin.git"), &["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}")])
    }
}

/// The one draft PR for the issue, checked as docs/agent.md describes it.
pub fn assert_one_fix_pr(gh: &Standin, aj: &AgentJob, what: &str) {
    let n = aj.issue;
    let branch = format!("homeostat/fix-{n}");
    let state = gh.state();
    let pulls: Vec<_> = state.pulls().collect();
    assert_eq!(pulls.len(), 1, "{what}: exactly one PR: {pulls:#?}");
    let pr = pulls[0];
    let pull = pr.pull.as_ref().unwrap();
    assert_eq!((pull.head.as_str(), pull.base.as_str(), pull.draft), (branch.as_str(), "main", true), "{what}");
    assert_eq!(pr.state, "open", "{what}");
    let body = pr.body.as_deref().unwrap_or_default();
    assert!(body.starts_with(&format!("Fixes #{n}")), "{what}: {body}");
    assert!(body.contains(&format!("<!-- homeostat:issue={n} -->")), "{what}: the issue marker: {body}");
    for label in ["homeostat:ai-proposed", "change-class:safe"] {
        assert!(pr.labels.iter().any(|l| l == label), "{what}: PR label {label}: {:?}", pr.labels);
    }
    let issue = &state.issues[&n];
    assert!(issue.labels.iter().any(|l| l == "homeostat:review"), "{what}: issue to review: {:?}", issue.labels);
    assert!(!issue.labels.iter().any(|l| l == "homeostat:fix"), "{what}: trigger label removed: {:?}", issue.labels);
    assert!(!aj.remote_branch(&branch).is_empty(), "{what}: the branch is on origin");
}

#[test]
fn hs_agent_opens_one_draft_pr_on_github() {
    let gh = Standin::start();
    let aj = AgentJob::new(&gh);
    let out = aj.fix("work");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_one_fix_pr(&gh, &aj, "first run");
    let status: Vec<_> =
        gh.state().comments_on(aj.issue).filter(|c| c.body.contains("homeostat:agent-status")).cloned().collect();
    assert_eq!(status.len(), 1, "one status comment on the issue: {status:#?}");
    let pr = gh.state().pulls().next().unwrap().number;
    crate::snap!("pr_body", crate::support::run::StandinState::body(&gh, pr));
    crate::snap!("status_comment", &status[0].body);
    gh.assert_clean();
}

#[test]
fn hs_agent_pr_create_landed_then_dropped_leaves_one_pr() {
    // The create lands, the answer is lost: the forge re-reads, finds it and goes on.
    let gh = Standin::start();
    let aj = AgentJob::new(&gh);
    gh.fault(Fault::new("POST", "/pulls$", FaultKind::LandedThenDrop));
    let out = aj.fix("work");
    assert_eq!(out.status.code(), Some(0), "recovers by re-reading: {}", stderr(&out));
    assert_eq!(gh.count("POST", "/pulls$"), 1, "no second create is sent");
    assert_one_fix_pr(&gh, &aj, "recovered run");
    gh.assert_clean();

    // The create lands, the answer is lost, and GitHub then fails every read of the PR:
    // the run cannot prove its PR and says so in one line; the re-run (fresh checkout,
    // ledger as the first run left it) adopts that PR instead of opening another.
    let gh = Standin::start();
    let aj = AgentJob::new(&gh);
    gh.fault(Fault::new("POST", "/pulls$", FaultKind::LandedThenDrop));
    gh.fault(Fault::new("GET", "/pulls/\\d+$", FaultKind::Status { status: 502 }).always());
    let first = aj.fix("work");
    let err = stderr(&first);
    assert_eq!(first.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "one clear line: {err}");
    assert!(lines[0].contains("pull request"), "{err}");
    gh.clear_faults();
    let rerun = aj.fix("rerun");
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    assert_one_fix_pr(&gh, &aj, "after the re-run");
    gh.assert_clean();
}

#[test]
fn labels_homeostat_writes_exist_with_colour_and_description() {
    let gh = Standin::start();
    let job = Job::new(&gh);
    let production = bins::example("production.jsonl");
    let filed = job.run("hs-issue", &[&production]);
    assert!(filed.status.success(), "{}", stderr(&filed));
    let classified = job.run("hs-classify", &["error", "--issue", "1"]);
    assert!(classified.status.success(), "{}", stderr(&classified));
    let aj = AgentJob::new(&gh);
    let fixed = aj.fix("work");
    assert_eq!(fixed.status.code(), Some(0), "{}", stderr(&fixed));
    // hs-cluster's label on two duplicate reports, hs-report's on the living report.
    gh.with_state(|s| {
        for (title, body) in &crate::cluster::forge_mode::REPORTS[..2] {
            s.seed_issue(title, body, &[], "reporter");
        }
    });
    let linked = job.run("hs-cluster", &["--forge", "github", "--format", "json"]);
    assert!(linked.status.success(), "{}", stderr(&linked));
    // An hour on: with HOMEOSTAT_NOW pinned (the suite's year-ahead run) every process
    // starts at the same instant, so the day's entries would lie past the report's "now".
    let now = std::env::var("HOMEOSTAT_NOW").ok().and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let later = now.unwrap_or_else(jiff::Timestamp::now) + jiff::SignedDuration::from_hours(1);
    let posted = job.run("hs-report", &["post", "--until", &later.to_string()]);
    assert!(posted.status.success(), "{}", stderr(&posted));
    let state = gh.state();
    let unmade: Vec<_> = state
        .labels
        .values()
        .filter(|l| l.implicit || l.color.is_empty() || l.description.as_deref().unwrap_or("").is_empty())
        .collect();
    assert!(unmade.is_empty(), "labels GitHub made on the fly or without colour/description: {unmade:#?}");
    let policy = homeostat::init::labels().unwrap();
    for l in state.labels.values() {
        if let Some(p) = policy.iter().find(|p| p.name == l.name) {
            assert_eq!((&l.color, l.description.as_deref()), (&p.color, Some(p.description.as_str())), "{}", l.name);
        }
    }
    for name in [
        "homeostat:error",
        "homeostat:ai-proposed",
        "homeostat:review",
        "change-class:safe",
        "bug",
        "possible-duplicate",
        "homeostat:report",
    ] {
        assert!(state.labels.contains_key(name), "{name}: {:?}", state.labels.keys());
    }
    // Each label is created once per repository; a later run only reads it.
    let created = gh.count("POST", "/repos/[^/]+/[^/]+/labels$");
    assert_eq!(
        created,
        state.labels.len() - 1,
        "one create per label homeostat made (homeostat:fix is the maintainer's)"
    );
    let again = job.run("hs-issue", &[&production]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(gh.count("POST", "/repos/[^/]+/[^/]+/labels$"), created, "a re-run creates no label");
    gh.assert_clean();
}
