//! hs-classify, hs-guard, hs-canary and hs-ops against the stand-in, without faults and
//! with one each: a run hit by the fault, then a re-run as Actions re-runs it (the same
//! ledger, no fault). docs/standin.md's fault matrix lists every scenario.

use std::process::Output;

use github_standin::{Fault, FaultKind, Standin};

use crate::support::bins::{self, Job, assert_no_panic, example, stderr};
use crate::support::git::{git, repo_with_a_fix};

/// Runs `name` twice, the first run under `faults`; returns both outputs.
fn twice(gh: &Standin, job: &Job, faults: &[Fault], name: &str, args: &[&str]) -> (Output, Output) {
    for f in faults {
        gh.fault(f.clone());
    }
    let first = job.run(name, args);
    assert_no_panic(name, &first);
    gh.clear_faults();
    let rerun = job.run(name, args);
    assert_no_panic(name, &rerun);
    (first, rerun)
}

/// A give-up says so in one line starting with `error`.
fn assert_one_error_line(out: &Output, what: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{what}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "{what}: one clear line:\n{err}");
}

fn classify_under(faults: &[Fault]) -> (Standin, Output, Output) {
    let gh = Standin::start();
    let job = Job::new(&gh);
    let filed = job.run("hs-issue", &[&example("production.jsonl")]);
    assert!(filed.status.success(), "{}", stderr(&filed));
    let (first, rerun) = twice(&gh, &job, faults, "hs-classify", &["error", "--issue", "1"]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    let state = gh.state();
    let classes: Vec<_> = state.issues[&1].labels.iter().filter(|l| l.starts_with("change-class:")).collect();
    assert_eq!(classes.len(), 1, "one class label: {:?}", state.issues[&1].labels);
    let comments = state.comments_on(1).filter(|c| c.body.contains("<!-- homeostat:classification -->")).count();
    assert_eq!(comments, 1, "one classification comment");
    gh.assert_clean();
    (gh, first, rerun)
}

#[test]
fn hs_classify_labels_an_issue_on_github() {
    let (_, first, _) = classify_under(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
}

#[test]
fn hs_classify_label_write_fails_then_the_rerun_labels_it_once() {
    let (gh, first, _) =
        classify_under(&[Fault::new("POST", "/issues/1/labels$", FaultKind::Status { status: 502 }).always()]);
    assert_one_error_line(&first, "label write fails");
    assert!(gh.count("POST", "/issues/1/labels$") >= 2, "the re-run wrote the label");
}

/// A pull request from `homeostat/fix-1` and a checkout with its change; two hs-guard runs.
fn guard_under(faults: &[Fault]) -> (Standin, u64, Output) {
    let gh = Standin::start();
    let pr = gh.with_state(|s| {
        let n = s.seed_issue("Fix", "Fixes #1", &[], github_standin::state::BOT_LOGIN);
        if let Some(i) = s.issues.get_mut(&n) {
            i.pull = Some(github_standin::state::Pull {
                head: "homeostat/fix-1".into(),
                base: "main".into(),
                draft: true,
                head_repo: github_standin::REPO.into(),
                merged: false,
            });
        }
        n
    });
    let job = Job::new(&gh);
    let repo = job.path("checkout");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(repo.join("src/app.js"), "module.exports = 1;\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "--quiet", "-m", "app"]);
    git(&repo, &["checkout", "--quiet", "-b", "homeostat/fix-1"]);
    std::fs::write(repo.join("src/app.js"), "module.exports = 2;\n").unwrap();
    git(&repo, &["commit", "--quiet", "-am", "fix"]);
    let pr_arg = pr.to_string();
    let args = ["--base", "main", "--head", "HEAD", "--repo-dir", "checkout", "--comment", "--pr", pr_arg.as_str()];
    let (first, rerun) = twice(&gh, &job, faults, "hs-guard", &args);
    assert!(matches!(rerun.status.code(), Some(0 | 3)), "{}", stderr(&rerun));
    let state = gh.state();
    let sticky = state.comments_on(pr).filter(|c| c.body.contains("<!-- homeostat:guard -->")).count();
    assert_eq!(sticky, 1, "one sticky comment across two runs");
    assert!(state.issues[&pr].labels.iter().any(|l| l.starts_with("change-class:")), "{:?}", state.issues[&pr].labels);
    gh.assert_clean();
    (gh, pr, first)
}

#[test]
fn hs_guard_keeps_one_sticky_comment_on_the_pull_request() {
    let (_, _, first) = guard_under(&[]);
    assert!(matches!(first.status.code(), Some(0 | 3)), "{}", stderr(&first));
}

#[test]
fn hs_guard_sticky_comment_landed_then_dropped_keeps_one_comment() {
    let (gh, pr, first) = guard_under(&[Fault::new("POST", "/issues/\\d+/comments$", FaultKind::LandedThenDrop)]);
    assert!(matches!(first.status.code(), Some(0 | 3)), "recovers by re-reading: {}", stderr(&first));
    assert_eq!(gh.count("POST", &format!("/issues/{pr}/comments$")), 1, "no second create is sent");
}

/// A fix of issue #1 on a bare origin; two hs-canary runs that roll it back.
fn canary_under(faults: &[Fault]) -> (Standin, Output) {
    let gh = Standin::start();
    gh.with_state(|s| {
        let n = s.seed_issue("TypeError in popup", "b", &["homeostat:error"], "dev");
        s.close(n);
    });
    let job = Job::new(&gh);
    repo_with_a_fix(job.dir.path());
    let config = bins::root().join("tests/fixtures/canary/rollback.yml");
    let args = ["--config", config.to_str().unwrap(), "--revert", "HEAD", "--repo-dir", "work", "--format", "json"];
    let (first, rerun) = twice(&gh, &job, faults, "hs-canary", &args);
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    let state = gh.state();
    let pulls: Vec<_> = state.pulls().collect();
    assert_eq!(pulls.len(), 1, "one revert PR across two runs: {pulls:#?}");
    let head = &pulls[0].pull.as_ref().unwrap().head;
    assert!(head.starts_with("homeostat/revert-"), "{head}");
    assert_eq!(state.issues[&1].state, "open", "the fixed issue is reopened");
    // Every run's decision reaches the ledger (the report counts rollbacks from it).
    let ledger = std::fs::read_to_string(job.path("work/.homeostat/ledger.jsonl")).unwrap();
    let decisions = ledger.lines().filter(|l| l.contains(r#""kind":"canary.decision""#)).count();
    assert_eq!(decisions, 2, "{ledger}");
    gh.assert_clean();
    (gh, first)
}

#[test]
fn hs_canary_rollback_opens_one_revert_pr_on_github() {
    let (_, first) = canary_under(&[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
}

#[test]
fn hs_canary_revert_pr_landed_then_dropped_leaves_one_pr() {
    let (gh, first) = canary_under(&[Fault::new("POST", "/pulls$", FaultKind::LandedThenDrop)]);
    assert_eq!(first.status.code(), Some(0), "recovers by re-reading: {}", stderr(&first));
    assert_eq!(gh.count("POST", "/pulls$"), 1, "no second create is sent");
}

/// An alert whose diagnosis cannot tell (the app's port is closed); two hs-ops runs.
fn ops_under(faults: &[Fault]) -> (Standin, Output) {
    let gh = Standin::start();
    let job = Job::new(&gh);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let app = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let sops = bins::root().join("tests/fixtures/ops/sops");
    job.write(
        "homeostat.yml",
        &format!(
            "ledger: {{path: ledger.jsonl}}\nops:\n  mode: auto\n  sops: {}\n  allow_hosts: [127.0.0.1]\n  vars: {{APP_URL: \"{app}\"}}\n",
            sops.display()
        ),
    );
    let alert = bins::root().join("tests/fixtures/ops/alertmanager-api-down.json");
    let args = ["handle", "--alert", alert.to_str().unwrap(), "--format", "json"];
    let (first, rerun) = twice(&gh, &job, faults, "hs-ops", &args);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    let state = gh.state();
    let escalations =
        state.plain_issues().filter(|i| i.body.as_deref().unwrap_or("").contains("homeostat:ops-escalation=")).count();
    assert_eq!(escalations, 1, "one escalation issue: {:#?}", state.issues);
    gh.assert_clean();
    (gh, first)
}

#[test]
fn hs_ops_escalates_an_unclear_alert_to_one_issue_on_github() {
    let (_, first) = ops_under(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
}

#[test]
fn hs_ops_escalation_landed_then_dropped_leaves_one_issue() {
    let (gh, first) = ops_under(&[Fault::new("POST", "/issues$", FaultKind::LandedThenDrop)]);
    assert!(first.status.success(), "recovers by re-reading: {}", stderr(&first));
    assert_eq!(gh.count("POST", "/issues$"), 1, "no second create is sent");
}

/// A create that lands, then every re-read of it fails: the run gives up in one line, and
/// the re-run (no fault) finds what the first run made instead of making it again.
fn landed_then_unreadable(create: &str, reread: &str) -> Vec<Fault> {
    vec![
        Fault::new("POST", create, FaultKind::LandedThenDrop),
        Fault::new("GET", reread, FaultKind::Status { status: 502 }).always().after(1),
    ]
}

#[test]
fn a_create_that_landed_and_cannot_be_reread_is_not_made_twice_by_the_rerun() {
    let (_, _, first) = guard_under(&landed_then_unreadable("/issues/\\d+/comments$", "/issues/\\d+/comments$"));
    assert_one_error_line(&first, "hs-guard: sticky comment landed, re-read fails");
    let (_, first) = canary_under(&landed_then_unreadable("/pulls$", "/pulls$"));
    assert_one_error_line(&first, "hs-canary: revert PR landed, re-read fails");
    let (_, first) = ops_under(&landed_then_unreadable("/issues$", "/issues$"));
    assert_one_error_line(&first, "hs-ops: escalation landed, re-read fails");
}
