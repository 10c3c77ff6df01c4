//! The GitHub side: the same run against wiremock serving GitHub's examples.

use super::*;
use homeostat::agent::{self, Mode, Trigger};
use homeostat::forge::github::{GithubForge, RetryPolicy};
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REPO: &str = "octocat/Hello-World";

fn fixture(name: &str) -> Option<Value> {
    let path = homeostat::testing::shared_path(&format!("fixtures/github/{name}"))?;
    Some(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        write_gap: Duration::from_millis(1),
        max_attempts: 2,
        backoff: Duration::from_millis(5),
        secondary_wait: Duration::from_millis(5),
        max_wait: Duration::from_secs(2),
    }
}

fn route(m: &str, p: &str, status: u16, body: Value) -> Mock {
    Mock::given(method(m))
        .and(path(format!("/repos/{REPO}{p}")))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
}

/// The forge side of a fix run: repository (default branch `master`), the issue, the
/// actor's permission, comments, labels; pull requests as `pull` says.
async fn server(permission: &str, pull: Option<Value>) -> Option<MockServer> {
    let (repo, issue, comment, labels, pr) = (
        fixture("repos-get.200.json")?,
        fixture("issues-create.201.json")?,
        fixture("issues-create-comment.201.json")?,
        fixture("issues-add-labels.200.json")?,
        fixture("pulls-create.201.json")?,
    );
    let server = MockServer::start().await;
    let mut issue = issue;
    issue["number"] = json!(1);
    issue["title"] = json!("TypeError: Cannot read properties of undefined (reading 'id')");
    issue["body"] = json!(ISSUE_BODY);
    issue.as_object_mut().unwrap().remove("pull_request");
    route("GET", "", 200, repo).mount(&server).await;
    route("GET", "/issues/1", 200, issue).mount(&server).await;
    route("GET", "/collaborators/ann/permission", 200, json!({"permission": permission, "role_name": permission}))
        .mount(&server)
        .await;
    route("GET", "/issues/1/comments", 200, json!([])).mount(&server).await;
    route("POST", "/issues/1/comments", 201, comment).mount(&server).await;
    route("POST", "/issues/1/labels", 200, labels.clone()).mount(&server).await;
    route("DELETE", "/issues/1/labels/homeostat:fix", 200, json!([])).mount(&server).await;
    route("POST", "/issues/1347/labels", 200, labels).mount(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/repos/{REPO}/pulls")))
        .and(query_param("state", "open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let mut created = pr;
    created["draft"] = json!(true);
    created["head"]["ref"] = json!("homeostat/fix-1");
    created["body"] = json!("Fixes #1\n\n<!-- homeostat:issue=1 -->");
    Mock::given(method("POST"))
        .and(path(format!("/repos/{REPO}/pulls")))
        .and(body_partial_json(json!({"head": "homeostat/fix-1", "base": "master", "draft": true})))
        .respond_with(ResponseTemplate::new(201).set_body_json(created.clone()))
        .expect(if permission == "write" { 1 } else { 0 })
        .mount(&server)
        .await;
    route("GET", "/pulls/1347", 200, pull.unwrap_or(created)).mount(&server).await;
    Some(server)
}

async fn fix(server: &MockServer, fx: &Fixture) -> homeostat::Result<agent::Report> {
    let forge = GithubForge::with_policy(&server.uri(), "test-token", REPO, fast()).unwrap();
    let config = homeostat::settings::Config::load(&fx.tmp.path().join("homeostat.yml")).unwrap();
    let path_var = std::env::var("PATH").unwrap();
    let home = fx.tmp.path().to_string_lossy().into_owned();
    let env =
        homeostat::gha::Env::from_pairs([("PATH", path_var.as_str()), ("HOME", &home), ("GITHUB_TOKEN", "test-token")]);
    let ledger = homeostat::ledger::Ledger::open(fx.work().join(&config.ledger.path));
    let options = agent::options(&config, &env, &forge, &fx.work(), ledger).unwrap();
    let trigger = Trigger::command(Mode::Fix, Some(1), None, "ann", None);
    agent::run(&forge, &config, &env, &trigger, &options).await
}

fn fixture_repo() -> Fixture {
    let fx = Fixture::new("edit.sh");
    // GitHub's example repository's default branch is `master`.
    git(&fx.work(), &["push", "--quiet", "origin", "main:master"]);
    fx
}

#[tokio::test(flavor = "current_thread")]
async fn a_writer_gets_one_verified_draft_pr_on_github() {
    let fx = fixture_repo();
    let Some(server) = server("write", None).await else { return };
    let report = fix(&server, &fx).await.unwrap();
    assert_eq!(report.outcome.as_str(), "pr-opened", "{}", report.reason);
    assert_eq!(report.pr, Some(1347));
    assert!(fx.remote_branch("homeostat/fix-1").is_some());
    let requests = server.received_requests().await.unwrap();
    let create = requests.iter().find(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/pulls")).unwrap();
    let body: Value = serde_json::from_slice(&create.body).unwrap();
    let text = body["body"].as_str().unwrap();
    assert!(text.starts_with("Fixes #1") && text.contains("<!-- homeostat:issue=1 -->"), "{text}");
    let pr_labels = requests.iter().find(|r| r.url.path().ends_with("/issues/1347/labels")).unwrap();
    let labels: Value = serde_json::from_slice(&pr_labels.body).unwrap();
    assert!(
        labels.to_string().contains("homeostat:ai-proposed") && labels.to_string().contains("change-class:safe"),
        "{labels}"
    );
    // The permission came from the API, with the pinned API version.
    let perm = requests.iter().find(|r| r.url.path().ends_with("/collaborators/ann/permission")).unwrap();
    assert!(perm.headers.get("x-github-api-version").is_some());
}

#[tokio::test(flavor = "current_thread")]
async fn a_reader_on_github_is_refused_with_a_comment() {
    let fx = fixture_repo();
    let Some(server) = server("read", None).await else { return };
    let report = fix(&server, &fx).await.unwrap();
    assert_eq!(report.outcome.as_str(), "refused-permission");
    let requests = server.received_requests().await.unwrap();
    let comment =
        requests.iter().find(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/issues/1/comments")).unwrap();
    assert!(String::from_utf8_lossy(&comment.body).contains("needs write or higher"));
    assert_eq!(fx.ledger_runs(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_pr_that_cannot_be_read_back_fails_the_run() {
    let fx = fixture_repo();
    // GitHub answers the create, but the PR read back is closed and from another branch.
    let Some(mut stale) = fixture("pulls-create.201.json") else { return };
    stale["state"] = json!("closed");
    let server = server("write", Some(stale)).await.unwrap();
    let err = fix(&server, &fx).await.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("verification failed"), "{err}");
}
