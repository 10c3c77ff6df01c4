//! The forge's Actions calls (dispatch, re-run, cache delete) against wiremock: retries
//! and rate limits.

use std::collections::BTreeMap;
use std::time::Duration;

use homeostat::forge::Forge;
use homeostat::forge::github::{GithubForge, RetryPolicy};
use wiremock::matchers::{body_json, header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn forge(server: &MockServer) -> GithubForge {
    let policy = RetryPolicy {
        write_gap: Duration::from_millis(1),
        max_attempts: 3,
        backoff: Duration::from_millis(5),
        secondary_wait: Duration::from_millis(5),
        max_wait: Duration::from_secs(5),
    };
    GithubForge::with_policy(&server.uri(), "test-token", "octo/app", policy).unwrap()
}

#[tokio::test]
async fn dispatch_rerun_and_cache_delete_call_the_actions_api() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/repos/octo/app/actions/workflows/restart(\.|%2E)yml/dispatches$"))
        .and(header("authorization", "Bearer test-token"))
        .and(body_json(serde_json::json!({"ref": "main", "inputs": {"service": "api"}})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/app/actions/runs/42/rerun-failed-jobs"))
        .respond_with(ResponseTemplate::new(201).set_body_string("{}"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/octo/app/actions/caches"))
        .and(query_param("key", "cargo-linux-abc"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"total_count": 2, "actions_caches": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let f = forge(&server);
    let inputs = BTreeMap::from([("service".to_string(), "api".to_string())]);
    f.workflow_dispatch("restart.yml", "main", &inputs).await.unwrap();
    f.rerun_failed_jobs(42).await.unwrap();
    assert_eq!(f.cache_delete("cargo-linux-abc", None).await.unwrap(), 2);
}

#[tokio::test]
async fn a_dispatch_is_not_sent_twice_after_a_server_error_but_waits_out_a_rate_limit() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"/actions/workflows/.*/dispatches$"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let f = forge(&server);
    let err = f.workflow_dispatch("deploy.yml", "main", &BTreeMap::new()).await.unwrap_err();
    assert!(err.to_string().contains("502"), "{err}");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).expect(1).mount(&server).await;
    forge(&server).workflow_dispatch("deploy.yml", "main", &BTreeMap::new()).await.unwrap();
    // No cache with that key: nothing deleted, not an error.
    Mock::given(method("DELETE")).respond_with(ResponseTemplate::new(404)).mount(&server).await;
    assert_eq!(forge(&server).cache_delete("gone", Some("refs/heads/main")).await.unwrap(), 0);
}
