//! homeostat on GitHub: the forge and every binary run against a stateful GitHub stand-in
//! (crates/github-standin) whose requests and answers are checked against GitHub's own
//! OpenAPI description. docs/standin.md has the fault matrix these tests assert.

mod agent;
mod concurrent;
mod content;
mod faults;

use std::collections::BTreeMap;

use bins::{Job, assert_no_panic, example, stderr};
use github_standin::{Fault, FaultKind, Standin};
use homeostat::forge::{Forge, IssueUpdate, NewIssue, NewPull, Permission, PullUpdate, State, StateFilter};
use support::{forge, runtime};

use crate::support::{self, bins};

#[test]
fn the_forge_speaks_githubs_rest_api_as_described() {
    let gh = Standin::start();
    gh.with_state(|s| {
        s.collaborators.insert("maintainer".into(), "maintain".into());
        s.caches.push(github_standin::state::Cache {
            id: 1,
            key: "deps-linux".into(),
            git_ref: "refs/heads/main".into(),
        });
        s.discussions.push(github_standin::state::Discussion {
            number: 3,
            title: "Feedback".into(),
            body: "more guides".into(),
            labels: vec!["feedback".into()],
            closed: false,
        });
    });
    runtime().block_on(async {
        let f = forge(&gh);
        let new = NewIssue { title: "TypeError".into(), body: "body".into(), labels: vec!["homeostat:error".into()] };
        let issue = f.create_issue(&new).await.unwrap();
        assert_eq!(issue.number, 1);
        for i in 0..120 {
            f.create_comment(1, &format!("comment {i}")).await.unwrap();
        }
        assert_eq!(f.list_comments(1).await.unwrap().len(), 120, "pages of 100 followed through Link");
        f.add_labels(1, &["bug".into()]).await.unwrap();
        f.remove_label(1, "bug").await.unwrap();
        f.remove_label(1, "absent").await.unwrap();
        let closed =
            f.update_issue(1, &IssueUpdate { state: Some(State::Closed), ..Default::default() }).await.unwrap();
        assert_eq!(closed.state, State::Closed);
        assert_eq!(f.list_issues("homeostat:error", StateFilter::All).await.unwrap().len(), 1);
        assert!(f.list_issues("homeostat:error", StateFilter::Open).await.unwrap().is_empty());
        let pr = NewPull {
            title: "Fix".into(),
            body: "Fixes #1".into(),
            head: "homeostat/fix-1".into(),
            base: "main".into(),
            draft: true,
        };
        let pr = f.create_pull(&pr).await.unwrap();
        assert!(pr.draft);
        assert_eq!(f.list_pulls(StateFilter::Open).await.unwrap().len(), 1);
        f.update_pull(pr.number, &PullUpdate { body: Some("new".into()), ..Default::default() }).await.unwrap();
        assert_eq!(f.get_pull(pr.number).await.unwrap().body, "new");
        assert_eq!(f.permission("maintainer").await.unwrap(), Permission::Maintain);
        assert_eq!(f.permission("stranger").await.unwrap(), Permission::None);
        assert_eq!(f.default_branch().await.unwrap(), "main");
        f.workflow_dispatch("restart.yml", "main", &BTreeMap::from([("service".into(), "api".into())])).await.unwrap();
        f.rerun_failed_jobs(42).await.unwrap();
        assert_eq!(f.cache_delete("deps-linux", None).await.unwrap(), 1);
        assert_eq!(f.cache_delete("deps-linux", None).await.unwrap(), 0);
        let d = f.list_discussions("feedback").await.unwrap();
        assert_eq!(d.len(), 1);
    });
    let state = gh.state();
    assert_eq!(state.workflow_dispatches.len(), 1);
    assert_eq!(state.reruns, vec![42]);
    gh.assert_clean();
}

#[test]
fn requests_that_break_githubs_description_are_violations() {
    let gh = Standin::start();
    gh.violations_on_purpose();
    runtime().block_on(async {
        let client = reqwest::Client::new();
        let url = |p: &str| format!("{}/repos/{}{p}", gh.url(), gh.repo());
        let ok = |r: reqwest::RequestBuilder| {
            r.header("authorization", "Bearer t")
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28")
        };
        // A well-formed request: no violation.
        ok(client.get(url("/issues?state=open&per_page=5"))).send().await.unwrap();
        // An operation GitHub does not have.
        ok(client.post(url("/issues/1/close"))).send().await.unwrap();
        // A query value outside its enum, and a parameter the operation does not take.
        ok(client.get(url("/issues?state=opened&colour=red"))).send().await.unwrap();
        // A body that does not fit: labels must be an array.
        ok(client.post(url("/issues"))).json(&serde_json::json!({"title": "t", "labels": "bug"})).send().await.unwrap();
        // Headers: the version twice, no Accept, no Authorization.
        client
            .get(url("/issues"))
            .header("x-github-api-version", "2022-11-28")
            .header("x-github-api-version", "2022-11-28")
            .send()
            .await
            .unwrap();
    });
    let v = gh.violations();
    let has = |needle: &str| v.iter().any(|x| x.contains(needle));
    assert!(!v.iter().any(|x| x.contains("GET") && x.contains("state=open")), "{v:#?}");
    assert!(has("POST /repos/octo-org/app/issues/1/close: no such operation"), "{v:#?}");
    assert!(has("query parameter `state`=\"opened\""), "{v:#?}");
    assert!(has("query parameter `colour` is not one the operation takes"), "{v:#?}");
    assert!(has("issues/create: request body: at `/labels`"), "{v:#?}");
    assert!(has("X-GitHub-Api-Version sent 2 times") && has("Authorization missing") && has("Accept"), "{v:#?}");
    assert_eq!(v.len(), 7, "{v:#?}");
}

/// The error issues on the stand-in: (fingerprint marker count, occurrences counted).
fn error_issues(gh: &Standin) -> Vec<(u64, String, u64)> {
    gh.state()
        .plain_issues()
        .filter(|i| i.labels.iter().any(|l| l == "homeostat:error"))
        .map(|i| {
            let body = i.body.clone().unwrap_or_default();
            let state = homeostat::issues::parse_state(&body);
            (i.number, body, state.count)
        })
        .collect()
}

fn occurrences(gh: &Standin) -> u64 {
    error_issues(gh).iter().map(|(_, _, n)| n).sum()
}

#[test]
fn hs_issue_files_the_demos_seven_bugs_once() {
    let gh = Standin::start();
    let job = Job::new(&gh);
    let first = job.run("hs-issue", &[&example("production.jsonl")]);
    assert!(first.status.success(), "{}", stderr(&first));
    let issues = error_issues(&gh);
    assert_eq!(issues.len(), 7, "{issues:#?}");
    assert_eq!(occurrences(&gh), 20, "every event of the batch counted once");
    let posts = gh.count("POST", "/issues$");
    let again = job.run("hs-issue", &[&example("production.jsonl")]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(error_issues(&gh).len(), 7);
    assert_eq!(gh.count("POST", "/issues$"), posts, "a re-run files nothing");
    assert_eq!(occurrences(&gh), 20, "and counts nothing twice");
    gh.assert_clean();
}

/// A run hit by `fault` on its creates, then a re-run with the same ledger and no fault.
/// Returns the first run's exit code.
fn issue_run_under(fault: Fault) -> (Standin, Option<i32>, String) {
    let gh = Standin::start();
    gh.fault(fault);
    let job = Job::new(&gh);
    let first = job.run("hs-issue", &[&example("production.jsonl")]);
    assert_no_panic("hs-issue", &first);
    gh.clear_faults();
    let rerun = job.run("hs-issue", &[&example("production.jsonl")]);
    assert!(rerun.status.success(), "{}", stderr(&rerun));
    (gh, first.status.code(), stderr(&first))
}

#[test]
fn hs_issue_fault_matrix_never_files_twice_nor_loses_a_count() {
    let cases: Vec<(&str, FaultKind, u32, i32)> = vec![
        ("502 on create", FaultKind::Status { status: 502 }, 1, 0),
        ("create landed, 502 answered", FaultKind::LandedThen502, 1, 0),
        ("create landed, connection dropped", FaultKind::LandedThenDrop, 2, 0),
        ("connection dropped", FaultKind::Drop, 1, 0),
        ("429 Retry-After", FaultKind::TooMany { retry_after: 1 }, 1, 0),
        ("403 secondary limit", FaultKind::Secondary { retry_after: Some(1) }, 1, 0),
        ("403 primary limit, reset in 1 s", FaultKind::Primary { reset_in: 1 }, 1, 0),
        ("slow answer", FaultKind::Slow { ms: 300 }, 3, 0),
        ("502 on every create: give up", FaultKind::Status { status: 502 }, 0, 1),
    ];
    for (name, kind, times, code) in cases {
        let (gh, first, err) = issue_run_under(Fault::new("POST", "/issues$", kind).times(times));
        assert_eq!(first, Some(code), "{name}: first run exit code\n{err}");
        if code == 1 {
            let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
            assert_eq!(lines.len(), 1, "{name}: a give-up says so in one line:\n{err}");
        }
        let issues = error_issues(&gh);
        assert_eq!(issues.len(), 7, "{name}: one issue per fingerprint after the re-run: {issues:#?}");
        let mut markers: Vec<String> = issues
            .iter()
            .filter_map(|(_, b, _)| b.lines().find(|l| l.contains("homeostat:fingerprint=")).map(str::to_string))
            .collect();
        markers.sort();
        markers.dedup();
        assert_eq!(markers.len(), 7, "{name}: seven distinct fingerprints");
        assert_eq!(occurrences(&gh), 20, "{name}: no occurrence lost or counted twice");
        gh.assert_clean();
    }
}

#[test]
fn no_binary_panics_with_a_token_against_a_dead_port_or_a_failing_github() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let failing = Standin::start();
    failing.fault(Fault::new("*", ".", FaultKind::Status { status: 503 }).always());
    let errors = example("production.jsonl");
    let args: &[(&str, &[&str])] = &[
        ("hs-fingerprint", &[errors.as_str()]),
        ("hs-issue", &[errors.as_str()]),
        ("hs-classify", &["error", "--issue", "1"]),
        ("hs-agent", &["fix", "--issue", "1", "--actor", "ann"]),
        ("hs-guard", &["--base", "HEAD", "--head", "HEAD", "--pr", "1"]),
        ("hs-canary", &[]),
        ("hs-ops", &["handle", "--alert", "alert.json"]),
        ("hs-content", &["generate"]),
    ];
    for api in [dead_url.as_str(), failing.url()] {
        let job = Job::at(api, github_standin::REPO);
        job.write("alert.json", r#"{"title": "api down", "severity": "high"}"#);
        for (name, a) in args {
            let out = job.run(name, a);
            assert_no_panic(name, &out);
        }
    }
}

#[test]
fn hs_report_post_opens_pins_and_keeps_one_living_report_on_github() {
    let gh = Standin::start();
    let job = Job::new(&gh);
    // Within the report's window whatever time the suite runs at (scripts/test.sh also runs
    // it a year ahead through HOMEOSTAT_NOW).
    let now = std::env::var("HOMEOSTAT_NOW").ok().and_then(|t| t.parse().ok()).unwrap_or_else(jiff::Timestamp::now);
    let line = serde_json::json!({
        "ts": now.to_string(), "kind": "issue.created", "key": "fp1", "id": "a1",
        "issue": 1, "occurrences": 3,
    });
    job.write("ledger.jsonl", &format!("{line}\n"));
    for _ in 0..2 {
        job.cmd("hs-report").arg("post").run().success();
    }
    let state = gh.state();
    let reports: Vec<u64> =
        state.issues.values().filter(|i| i.labels.iter().any(|l| l == "homeostat:report")).map(|i| i.number).collect();
    assert_eq!(reports.len(), 1, "one living report, updated in place");
    assert_eq!(state.pinned, reports, "pinned when it was opened");
    assert_eq!(gh.count("POST", "/graphql$"), 1, "and pinned once, not on every run");
    gh.assert_clean();
}
