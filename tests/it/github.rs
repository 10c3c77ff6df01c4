//! GitHub contract tests: the issue loop against wiremock serving GitHub's official
//! example responses from ../shared/fixtures/github/.

use std::time::Duration;

use homeostat::forge::github::{GithubForge, RetryPolicy};
use homeostat::settings::IssuesConfig;

use homeostat::issues::{self, Action, Group, Occurrence, PlanLimits, Writer};
use homeostat::ledger::Ledger;
use homeostat::prompt::Prompts;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const REPO: &str = "octocat/Hello-World";

fn fixture(name: &str) -> Option<Value> {
    let path = homeostat::testing::shared_path(&format!("fixtures/github/{name}"))?;
    Some(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

/// GitHub's example issue, turned into one of ours (an issue, not a pull request).
fn issue_json(base: &Value, number: u64, body: &str, state: &str) -> Value {
    let mut issue = base.clone();
    let map = issue.as_object_mut().unwrap();
    map.remove("pull_request");
    map.insert("number".into(), json!(number));
    map.insert("body".into(), json!(body));
    map.insert("state".into(), json!(state));
    map.insert("html_url".into(), json!(format!("https://github.com/{REPO}/issues/{number}")));
    // Filed by hs-issue, so by the workflow's bot: its markers are believed without asking
    // for the author's permission (a stranger's copied marker is not; tests/adversarial_standin.rs).
    map["user"]["login"] = json!("github-actions[bot]");
    issue
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        write_gap: Duration::from_millis(1),
        max_attempts: 4,
        backoff: Duration::from_millis(5),
        secondary_wait: Duration::from_millis(5),
        max_wait: Duration::from_secs(5),
    }
}

fn forge(server: &MockServer) -> GithubForge {
    GithubForge::with_policy(&server.uri(), "test-token", REPO, fast()).unwrap()
}

fn occurrence(fp: &str, n: usize) -> Occurrence {
    Occurrence {
        fingerprint: fp.into(),
        algorithm: "v1".into(),
        aliases: Vec::new(),
        title: format!("TypeError: failure {fp}"),
        culprit: "render (app.js)".into(),
        platform: "javascript".into(),
        message: "failure".into(),
        frames: vec!["render (app.js)".into()],
        stack: None,
        release: Some("1.0.0".into()),
        environment: Some("production".into()),
        surface: None,
        tags: Vec::new(),
        timestamp: Some("2026-01-21T10:00:00Z".parse().unwrap()),
        identity: format!("{fp}-{n}"),
        weight: 1,
    }
}

fn fp(i: usize) -> String {
    format!("{i:016x}")
}

fn limits() -> PlanLimits {
    PlanLimits {
        new_allowed: 1000,
        comments_allowed: 1000,
        dedup_window: Duration::ZERO,
        reopen_on_regression: true,
        now: "2026-01-22T00:00:00Z".parse().unwrap(),
        held_since: "2026-01-15T00:00:00Z".parse().unwrap(),
    }
}

async fn run(forge: &GithubForge, groups: &[Group]) -> Vec<issues::Outcome> {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path().join("ledger.jsonl"));
    let prompts = Prompts::builtin().unwrap();
    let scrub = |t: &str| t.to_string();
    let writer = Writer { prompts: &prompts, scrub: &scrub };
    // No second look after counting: this mock keeps no state, so every count would look
    // replaced (the stateful stand-in tests it: tests/it/on_github/concurrent.rs).
    let config = IssuesConfig { settle: homeostat::settings::Duration::from_secs(0), ..IssuesConfig::default() };
    issues::apply(forge, &ledger, &config, &writer, groups, &limits()).await.unwrap()
}

/// `GET /repos/{owner}/{repo}/issues/{n}`: hs-issue reads a known issue right before it
/// counts on it, once.
async fn known_issue_reads(server: &MockServer, issue: Value) {
    let n = issue["number"].as_u64().unwrap();
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/issues/{n}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(issue))
        .expect(1)
        .mount(server)
        .await;
}

fn count(requests: &[Request], m: &str, p: &str) -> usize {
    requests.iter().filter(|r| r.method.as_str() == m && r.url.path() == p).count()
}

#[tokio::test]
async fn create_sends_pinned_version_labels_and_marker() {
    let Some(created) = fixture("issues-create.201.json") else { return };
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/issues")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/issues")))
        .and(header("x-github-api-version", homeostat::forge::github::API_VERSION))
        .and(header("authorization", "Bearer test-token"))
        .and(body_partial_json(json!({"labels": ["homeostat:error", "homeostat:backlog"]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(&created))
        .expect(1)
        .mount(&server)
        .await;
    let out = run(&forge(&server), &issues::group([occurrence(&fp(1), 0)])).await;
    assert_eq!(out[0].action, Action::Created);
    assert_eq!(out[0].issue, Some(1347));
    assert_eq!(out[0].url.as_deref(), Some("https://github.com/octocat/Hello-World/issues/1347"));
    let requests = server.received_requests().await.unwrap();
    let post = requests.iter().find(|r| r.method.as_str() == "POST").unwrap();
    assert_eq!(post.headers.get_all("x-github-api-version").iter().count(), 1, "the version header is sent once");
    let body: Value = serde_json::from_slice(&post.body).unwrap();
    assert!(body["body"].as_str().unwrap().ends_with(&issues::marker(&fp(1), "v1")));
    assert_eq!(body["title"], format!("TypeError: failure {}", fp(1)));
}

#[tokio::test]
async fn marker_lookup_follows_pages_and_comments_on_a_known_issue() {
    let (Some(list), Some(comment)) =
        (fixture("issues-list-for-repo.200.json"), fixture("issues-create-comment.201.json"))
    else {
        return;
    };
    let base = &list[0];
    let server = MockServer::start().await;
    let page2 =
        format!("{}/repositories/1296269/issues?labels=homeostat%3Aerror&state=all&per_page=100&page=2", server.uri());
    // Page 1 holds someone else's issue without a marker; the known one is on page 2.
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/issues")))
        .and(query_param("labels", "homeostat:error"))
        .and(query_param("state", "all"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", format!("<{page2}>; rel=\"next\", <{page2}>; rel=\"last\"").as_str())
                .set_body_json(json!([issue_json(base, 1, "no marker here", "open")])),
        )
        .mount(&server)
        .await;
    let known_body = format!("old\n{}", issues::marker(&fp(7), "v1"));
    Mock::given(method("GET"))
        .and(path("/repositories/1296269/issues"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([issue_json(base, 1347, &known_body, "open")])))
        .mount(&server)
        .await;
    known_issue_reads(&server, issue_json(base, 1347, &known_body, "open")).await;
    Mock::given(method("PATCH"))
        .and(path(format!("/repos/{REPO}/issues/1347")))
        .respond_with(ResponseTemplate::new(200).set_body_json(issue_json(base, 1347, &known_body, "open")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/issues/1347/comments")))
        .respond_with(ResponseTemplate::new(201).set_body_json(&comment))
        .expect(1)
        .mount(&server)
        .await;
    let out = run(&forge(&server), &issues::group([occurrence(&fp(7), 0), occurrence(&fp(7), 1)])).await;
    assert_eq!(out[0].action, Action::Commented);
    assert_eq!(out[0].issue, Some(1347));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(count(&requests, "POST", &format!("/repos/{REPO}/issues")), 0, "no new issue for a known fingerprint");
}

#[tokio::test]
async fn closed_issue_from_a_newer_release_is_reopened() {
    let (Some(list), Some(comment)) =
        (fixture("issues-list-for-repo.200.json"), fixture("issues-create-comment.201.json"))
    else {
        return;
    };
    let base = &list[0];
    let server = MockServer::start().await;
    let state = r#"<!-- homeostat:state {"count":3,"releases":["0.9.0"]} -->"#;
    let body = format!("old\n{state}\n{}", issues::marker(&fp(3), "v1"));
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/issues")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([issue_json(base, 1347, &body, "closed")])))
        .mount(&server)
        .await;
    known_issue_reads(&server, issue_json(base, 1347, &body, "closed")).await;
    Mock::given(method("PATCH"))
        .and(path(format!("/repos/{REPO}/issues/1347")))
        .and(body_partial_json(json!({"state": "open"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(issue_json(base, 1347, &body, "open")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/issues/1347/comments")))
        .respond_with(ResponseTemplate::new(201).set_body_json(&comment))
        .expect(1)
        .mount(&server)
        .await;
    let out = run(&forge(&server), &issues::group([occurrence(&fp(3), 0)])).await;
    assert_eq!(out[0].action, Action::Reopened);
    let requests = server.received_requests().await.unwrap();
    // Two writes: the comment, then one PATCH that reopens, relabels and counts.
    let writes: Vec<&Request> = requests.iter().filter(|r| r.method.as_str() != "GET").collect();
    assert_eq!(writes.len(), 2, "{writes:?}");
    let patch: Value = serde_json::from_slice(&writes[1].body).unwrap();
    let labels = patch["labels"].as_array().unwrap();
    assert!(labels.contains(&json!("homeostat:regression")) && labels.contains(&json!("homeostat:backlog")), "{patch}");
    let comment_req = requests.iter().find(|r| r.url.path().ends_with("/comments")).unwrap();
    let sent: Value = serde_json::from_slice(&comment_req.body).unwrap();
    // The regression comment names the release it came back in.
    crate::snap!("regression_comment", sent["body"].as_str().unwrap());
}

async fn injected(failure: ResponseTemplate, landed: bool) -> (Vec<issues::Outcome>, Vec<Request>) {
    let created = fixture("issues-create.201.json").unwrap();
    let server = MockServer::start().await;
    let body_of_created = std::sync::Arc::new(std::sync::Mutex::new(None::<Value>));
    // The listing used by the index (first) and by the re-read after a failure.
    let listing = {
        let body_of_created = body_of_created.clone();
        move |_: &Request| {
            let items = body_of_created.lock().unwrap().clone().map(|b| vec![b]).unwrap_or_default();
            ResponseTemplate::new(200).set_body_json(items)
        }
    };
    Mock::given(method("GET")).and(path(format!("/repos/{REPO}/issues"))).respond_with(listing).mount(&server).await;
    let posts = {
        let body_of_created = body_of_created.clone();
        let created = created.clone();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        move |req: &Request| {
            let sent: Value = serde_json::from_slice(&req.body).unwrap();
            let mut issue = issue_json(&created, 1347, sent["body"].as_str().unwrap(), "open");
            issue["title"] = sent["title"].clone();
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                if landed {
                    // GitHub made the issue, then the reply was lost.
                    *body_of_created.lock().unwrap() = Some(issue);
                }
                return failure.clone();
            }
            *body_of_created.lock().unwrap() = Some(issue.clone());
            ResponseTemplate::new(201).set_body_json(issue)
        }
    };
    Mock::given(method("POST")).and(path(format!("/repos/{REPO}/issues"))).respond_with(posts).mount(&server).await;
    let out = run(&forge(&server), &issues::group([occurrence(&fp(5), 0)])).await;
    (out, server.received_requests().await.unwrap())
}

#[tokio::test]
async fn a_500_after_the_issue_landed_makes_no_duplicate() {
    if fixture("issues-create.201.json").is_none() {
        return;
    }
    let (out, requests) = injected(ResponseTemplate::new(500).set_body_json(json!({"message": "boom"})), true).await;
    assert_eq!(out[0].action, Action::Created);
    assert_eq!(out[0].issue, Some(1347));
    assert_eq!(count(&requests, "POST", &format!("/repos/{REPO}/issues")), 1, "the re-read found it: no second POST");
}

#[tokio::test]
async fn a_429_and_a_secondary_limit_are_waited_out_and_create_once() {
    if fixture("issues-create.201.json").is_none() {
        return;
    }
    for failure in [
        ResponseTemplate::new(429).insert_header("retry-after", "1").set_body_json(json!({"message": "slow down"})),
        ResponseTemplate::new(403).set_body_json(json!({
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
        })),
    ] {
        let (out, requests) = injected(failure, false).await;
        assert_eq!(out[0].action, Action::Created);
        assert_eq!(count(&requests, "POST", &format!("/repos/{REPO}/issues")), 2, "one refused, one made");
        // The index listing and the one re-read after filing (two runs at once): a refused
        // create did nothing, so there is nothing to re-read before sending it again.
        assert_eq!(count(&requests, "GET", &format!("/repos/{REPO}/issues")), 2);
    }
    // retry-after: 1 was honoured.
    let started = std::time::Instant::now();
    injected(ResponseTemplate::new(429).insert_header("retry-after", "1"), false).await;
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn forbidden_without_a_rate_limit_fails_without_retrying() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/issues")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/issues")))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"message": "Resource not accessible by integration"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path().join("l.jsonl"));
    let prompts = Prompts::builtin().unwrap();
    let scrub = |t: &str| t.to_string();
    let writer = Writer { prompts: &prompts, scrub: &scrub };
    let forge = forge(&server);
    let groups = issues::group([occurrence(&fp(9), 0)]);
    let err = issues::apply(&forge, &ledger, &IssuesConfig::default(), &writer, &groups, &limits()).await.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("Resource not accessible"), "{err}");
}

#[tokio::test]
async fn writes_are_paced_at_least_the_write_gap_apart() {
    let Some(created) = fixture("issues-create.201.json") else { return };
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/issues")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(201).set_body_json(&created)).mount(&server).await;
    let policy = RetryPolicy { write_gap: Duration::from_millis(300), ..fast() };
    let forge = GithubForge::with_policy(&server.uri(), "t", REPO, policy).unwrap();
    let started = std::time::Instant::now();
    run(&forge, &issues::group((0..4).map(|i| occurrence(&fp(100 + i), 0)))).await;
    // Four creates: three gaps of at least 300 ms.
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
}

#[tokio::test]
async fn request_budget_for_1000_events_over_40_fingerprints() {
    let (Some(list), Some(created), Some(comment)) = (
        fixture("issues-list-for-repo.200.json"),
        fixture("issues-create.201.json"),
        fixture("issues-create-comment.201.json"),
    ) else {
        return;
    };
    let base = &list[0];
    let server = MockServer::start().await;
    // 10 fingerprints are known: their issues come back from one listing page.
    let known: Vec<Value> = (0..10)
        .map(|i| issue_json(base, 100 + i as u64, &format!("x\n{}", issues::marker(&fp(i), "v1")), "open"))
        .collect();
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/issues")))
        .respond_with(ResponseTemplate::new(200).set_body_json(&known))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/issues")))
        .respond_with(ResponseTemplate::new(201).set_body_json(&created))
        .mount(&server)
        .await;
    for issue in &known {
        let n = issue["number"].as_u64().unwrap();
        known_issue_reads(&server, issue.clone()).await;
        Mock::given(method("PATCH"))
            .and(path(format!("/repos/{REPO}/issues/{n}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(issue))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/repos/{REPO}/issues/{n}/comments")))
            .respond_with(ResponseTemplate::new(201).set_body_json(&comment))
            .mount(&server)
            .await;
    }
    let events: Vec<Occurrence> = (0..1000).map(|i| occurrence(&fp(i % 40), i)).collect();
    let out = run(&forge(&server), &issues::group(events)).await;
    let requests = server.received_requests().await.unwrap();
    let listings = count(&requests, "GET", &format!("/repos/{REPO}/issues"));
    let reads = requests.iter().filter(|r| r.method.as_str() == "GET").count() - listings;
    let creates = count(&requests, "POST", &format!("/repos/{REPO}/issues"));
    let writes = requests.iter().filter(|r| r.method.as_str() != "GET").count();
    println!(
        "requests for 1,000 events over 40 fingerprints (10 known): {} in all — {listings} listing page(s), \
         {reads} reads of a known issue, {creates} creates, {} writes on known issues \
         (and one listing more `issues.settle` later)",
        requests.len(),
        writes - creates
    );
    assert_eq!(listings, 2, "one listing page for ≤ 100 tracked issues, read again once after filing");
    assert_eq!(reads, 10, "each known issue read right before it is counted on");
    assert_eq!(creates, 30, "one write per new fingerprint");
    assert_eq!(writes - creates, 20, "two writes per touched fingerprint (comment, counter)");
    assert_eq!(out.iter().filter(|o| o.action == Action::Created).count(), 30);
    assert_eq!(out.iter().filter(|o| o.action == Action::Commented).count(), 10);
    assert!(out.iter().all(|o| o.occurrences == 25));
}

#[tokio::test]
async fn actions_operations_hit_their_endpoints_and_a_5xx_dispatch_is_not_repeated() {
    use homeostat::forge::Forge;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/actions/workflows/restart.yml/dispatches")))
        .and(body_partial_json(json!({"ref": "main", "inputs": {"service": "api"}})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/actions/workflows/flaky.yml/dispatches")))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/actions/runs/42/rerun-failed-jobs")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/repos/{REPO}/actions/caches")))
        .and(query_param("key", "cargo-linux"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"total_count": 2, "actions_caches": []})))
        .expect(1)
        .mount(&server)
        .await;
    let forge = forge(&server);
    let inputs = std::collections::BTreeMap::from([("service".to_string(), "api".to_string())]);
    forge.workflow_dispatch("restart.yml", "main", &inputs).await.unwrap();
    assert!(forge.workflow_dispatch("flaky.yml", "main", &inputs).await.is_err(), "a 5xx dispatch fails once, untried");
    forge.rerun_failed_jobs(42).await.unwrap();
    assert_eq!(forge.cache_delete("cargo-linux", None).await.unwrap(), 2);
}

#[tokio::test]
async fn an_over_long_body_is_cut_to_githubs_limit_not_refused() {
    use homeostat::forge::{Forge, NewIssue};
    let Some(created) = fixture("issues-create.201.json") else { return };
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/issues")))
        .respond_with(ResponseTemplate::new(201).set_body_json(&created))
        .expect(1)
        .mount(&server)
        .await;
    let new = NewIssue { title: "t".into(), body: "x".repeat(100_000), labels: vec![] };
    forge(&server).create_issue(&new).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["body"].as_str().unwrap().chars().count(), homeostat::forge::limits::BODY_MAX_CHARS);
}

/// A GraphQL page of discussions, shaped as GitHub's schema documents it (there is no
/// official example response for this query in ../shared).
fn discussions_page(nodes: Value, next: Option<&str>) -> Value {
    json!({"data": {"repository": {"discussions": {
        "nodes": nodes,
        "pageInfo": {"hasNextPage": next.is_some(), "endCursor": next},
    }}}})
}

fn discussion(number: u64, labels: &[&str], closed: bool) -> Value {
    json!({
        "number": number, "title": format!("Idea {number}"), "body": "More guides please",
        "url": format!("https://github.com/{REPO}/discussions/{number}"), "closed": closed,
        "labels": {"nodes": labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()},
    })
}

#[tokio::test]
async fn discussions_are_read_with_graphql_across_pages_and_filtered_by_label() {
    use homeostat::forge::Forge;
    let server = MockServer::start().await;
    let first = discussions_page(
        json!([discussion(10, &["feedback"], false), discussion(11, &["feedback"], true)]),
        Some("c1"),
    );
    let second =
        discussions_page(json!([discussion(12, &["Feedback", "idea"], false), discussion(13, &[], false)]), None);
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(json!({"variables": {"owner": "octocat", "name": "Hello-World", "after": null}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(body_partial_json(json!({"variables": {"after": "c1"}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(second))
        .mount(&server)
        .await;
    let found = forge(&server).list_discussions("feedback").await.unwrap();
    assert_eq!(found.iter().map(|d| d.number).collect::<Vec<_>>(), [10, 12], "open and labelled only");
    assert_eq!(found[1].labels, ["Feedback", "idea"]);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert!(sent["query"].as_str().unwrap().contains("discussions(first: 50"), "{sent}");
    assert_eq!(requests[0].headers.get("authorization").unwrap(), "Bearer test-token");
}

#[tokio::test]
async fn a_graphql_error_fails_the_listing_with_githubs_message() {
    use homeostat::forge::Forge;
    let server = MockServer::start().await;
    let denied = json!({"data": {"repository": null}, "errors": [{"type": "FORBIDDEN", "message": "Resource not accessible by integration"}]});
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(denied))
        .expect(1)
        .mount(&server)
        .await;
    let err = forge(&server).list_discussions("feedback").await.unwrap_err().to_string();
    assert!(err.contains("list discussions") && err.contains("Resource not accessible by integration"), "{err}");
}
