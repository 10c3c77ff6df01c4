//! hs-content against the stand-in: the week's guides go up in one pull request from
//! `homeostat/content-<YYYY-Www>`, however the runs before failed.

use github_standin::{Fault, FaultKind, Standin};

use crate::support::bins::{self, Job, assert_no_panic, stderr};
use crate::support::git::git;

const BRANCH: &str = "homeostat/content-2026-W48";
const GUIDE: &str = "content/guides/how-to-price-a-saas-product.md";

/// A site with topics on a bare `origin`, the replayed model, the ledger beside the job.
fn content_job(gh: &Standin) -> Job {
    let job = Job::new(gh);
    let fixtures = bins::root().join("tests/fixtures/content");
    let origin = job.path("origin.git");
    let seed = job.path("seed");
    std::fs::create_dir_all(&seed).unwrap();
    git(job.dir.path(), &["init", "--quiet", "--bare", "--initial-branch=main", origin.to_str().unwrap()]);
    git(&seed, &["init", "--quiet", "--initial-branch=main"]);
    job.write("seed/content/topics.yml", &std::fs::read_to_string(fixtures.join("topics.yml")).unwrap());
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "--quiet", "-m", "site with topics"]);
    git(&seed, &["push", "--quiet", origin.to_str().unwrap(), "main"]);
    let config = std::fs::read_to_string(fixtures.join("homeostat.yml"))
        .unwrap()
        .replace("dir: replay", &format!("dir: {}", fixtures.join("replay").display()));
    let config = format!("ledger: {{path: {}}}\n{config}", job.path("ledger.jsonl").display());
    job.write("homeostat.yml", &config);
    job
}

/// `hs-content generate` in a fresh clone of `origin` at `now`.
fn generate(job: &Job, checkout: &str, now: &str) -> std::process::Output {
    git(job.dir.path(), &["clone", "--quiet", job.path("origin.git").to_str().unwrap(), checkout]);
    let out = job.run("hs-content", &["--repo-dir", checkout, "--now", now, "--format", "json", "generate"]);
    assert_no_panic("hs-content", &out);
    out
}

fn assert_one_content_pr(gh: &Standin, job: &Job, what: &str) {
    let state = gh.state();
    let pulls: Vec<_> = state.pulls().collect();
    assert_eq!(pulls.len(), 1, "{what}: one PR for the week's guides: {pulls:#?}");
    let pull = pulls[0].pull.as_ref().unwrap();
    assert_eq!((pull.head.as_str(), pull.base.as_str()), (BRANCH, "main"), "{what}");
    let body = pulls[0].body.as_deref().unwrap_or_default();
    assert!(body.contains(GUIDE) && body.contains("<!-- homeostat:content -->"), "{what}: {body}");
    let page = git(&job.path("origin.git"), &["show", &format!("{BRANCH}:{GUIDE}")]);
    assert!(page.contains("status: pending_review"), "{what}: the guide is on the branch");
}

#[test]
fn hs_content_opens_one_pr_for_the_weeks_guides_on_github() {
    let gh = Standin::start();
    let job = content_job(&gh);
    let out = generate(&job, "run1", "2026-11-23T10:00:00Z");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_one_content_pr(&gh, &job, "first run");
    let pr = gh.state().pulls().next().unwrap().number;
    crate::snap!("pr_body", crate::support::run::StandinState::body(&gh, pr));
    // Later the same week: nothing new to write (the weekly limit), the PR stays the one.
    let again = generate(&job, "run2", "2026-11-25T10:00:00Z");
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_one_content_pr(&gh, &job, "second run of the week");
    assert_eq!(gh.count("POST", "/pulls$"), 1);
    gh.assert_clean();
}

/// A failed first run, then a re-run (fresh checkout, ledger as the first run left it).
fn content_rerun_after(faults: Vec<Fault>, name: &str) {
    let gh = Standin::start();
    let job = content_job(&gh);
    for f in faults {
        gh.fault(f);
    }
    let first = generate(&job, "run1", "2026-11-23T10:00:00Z");
    let err = stderr(&first);
    assert_eq!(first.status.code(), Some(1), "{name}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "{name}: one clear line: {err}");
    gh.clear_faults();
    let rerun = generate(&job, "run2", "2026-11-23T11:00:00Z");
    assert_eq!(rerun.status.code(), Some(0), "{name}: {}", stderr(&rerun));
    assert_one_content_pr(&gh, &job, name);
    gh.assert_clean();
}

#[test]
fn hs_content_rerun_after_a_failed_pr_create_leaves_one_pr() {
    // The create lands, the answer is lost, and GitHub then fails every read of the PR.
    content_rerun_after(
        vec![
            Fault::new("POST", "/pulls$", FaultKind::LandedThenDrop),
            Fault::new("GET", "/pulls/\\d+$", FaultKind::Status { status: 502 }).always(),
        ],
        "create landed, answer lost, PR unreadable",
    );
    // Every create fails: the branch is pushed, the PR never opened; the re-run opens it.
    content_rerun_after(
        vec![Fault::new("POST", "/pulls$", FaultKind::Status { status: 502 }).always()],
        "every PR create fails",
    );
}
