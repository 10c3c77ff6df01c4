//! What the relay's /metrics gives the canary (error rates, release health) and
//! Prometheus (checked by promtool).

use std::process::Command;

use super::harness::{KEY, Relay, sentry_event, wait_for, write_config};
use super::relay_source;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_reads_a_release_error_rate_from_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "  limits: {per_client_per_minute: 0}\n");
    let relay = Relay::start(dir.path(), &[], &[]);
    let http = reqwest::Client::new();
    for (i, release) in ["2.0.0", "2.0.0", "2.0.0", "1.9.0"].iter().enumerate() {
        let r = http
            .post(format!("{}/api/1/store/?sentry_key={KEY}", relay.url))
            .json(&sentry_event(&format!("c{i}"), "boom", release))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let source = |release: &str, metric: &str| relay_source(&relay.url, dir.path(), release, metric);
    assert_eq!(source("2.0.0", "events_last_minute").read(0).await.as_value(), Some(3.0));
    assert_eq!(source("1.9.0", "events_total").read(0).await.as_value(), Some(1.0));
    assert_eq!(source("2.0.0", "fingerprints").read(0).await.as_value(), Some(1.0));
    assert_eq!(source("7.7.7", "events_last_minute").read(0).await.as_value(), Some(0.0));

    // What Prometheus scrapes: its own checker accepts the whole page, and the relay
    // process's memory and CPU are there under the names every client library uses.
    let page = http.get(format!("{}/metrics", relay.url)).send().await.unwrap();
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = page.text().await.unwrap();
    let rss = homeostat::relay::metrics::sum_samples(&text, "process_resident_memory_bytes", &[]);
    assert!(rss.is_some_and(|b| b > 1e6), "{text}");
    assert!(homeostat::relay::metrics::sum_samples(&text, "process_cpu_seconds_total", &[]).is_some_and(|s| s > 0.0));
    promtool_accepts(&text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_health_from_the_python_sdk_gives_the_canary_a_rate_traffic_does_not_skew() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "  limits: {per_client_per_minute: 0}\n");
    let relay = Relay::start(dir.path(), &[], &[]);
    // A server in request mode (one session per request, sent as aggregates): the old
    // release serves 100 requests and fails 6; the canary serves 8 and fails 4. Fewer
    // errors from the canary, and a failure rate eight times as high.
    let script = r#"
import sys, sentry_sdk
release, requests, failing = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sentry_sdk.init(dsn=sys.argv[1], release=release, environment="production")
for i in range(requests):
    with sentry_sdk.isolation_scope() as scope:
        scope.start_session(session_mode="request")
        if i < failing:
            try:
                raise ValueError(f"request {i} failed")
            except ValueError as e:
                sentry_sdk.capture_exception(e)
        scope.end_session()
sentry_sdk.flush(5)
"#;
    std::fs::write(dir.path().join("server.py"), script).unwrap();
    for (release, requests, failing) in [("1.0.0", "100", "6"), ("1.1.0", "8", "4")] {
        let out = Command::new("python3")
            .arg(dir.path().join("server.py"))
            .args([relay.dsn().as_str(), release, requests, failing])
            .output()
            .unwrap();
        assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    }
    let source = |release: &str, metric: &str| relay_source(&relay.url, dir.path(), release, metric);
    let sessions =
        wait_for(10, || async { source("1.1.0", "sessions_total").read(0).await.as_value().filter(|&n| n >= 8.0) })
            .await;
    assert_eq!(sessions, Some(8.0), "relay log:\n{}", relay.log_text());
    assert_eq!(source("1.0.0", "sessions_total").read(0).await.as_value(), Some(100.0));
    assert_eq!(source("1.0.0", "events_total").read(0).await.as_value(), Some(6.0));
    assert_eq!(source("1.1.0", "events_total").read(0).await.as_value(), Some(4.0));
    assert_eq!(source("1.0.0", "unhealthy_session_share").read(0).await.as_value(), Some(0.06));
    assert_eq!(source("1.1.0", "unhealthy_session_share").read(0).await.as_value(), Some(0.5));
    let none = source("7.7.7", "unhealthy_session_share").read(0).await;
    assert_eq!(none.as_value(), None, "no sessions is no data, not a healthy 0");

    // hs-canary as a workflow runs it: by errors per minute the canary passes, by its
    // share of unhealthy sessions it is rolled back.
    let config = format!(
        r#"canary:
  interval: 0s
  count: 3
  failure_limit: 1
  metrics:
    - name: errors-per-minute
      canary: {{relay: {{url: "{url}", release: "1.1.0", environment: production}}}}
      baseline: {{relay: {{url: "{url}", release: "1.0.0", environment: production}}}}
      max: 5
    - name: unhealthy-sessions
      canary: {{relay: {{url: "{url}", release: "1.1.0", environment: production, metric: unhealthy_session_share}}}}
      baseline: {{relay: {{url: "{url}", release: "1.0.0", environment: production, metric: unhealthy_session_share}}}}
      max: 0.2
"#,
        url = relay.url
    );
    std::fs::write(dir.path().join("canary.yml"), config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hs-canary"))
        .current_dir(dir.path())
        .args(["--config", "canary.yml", "--fail-on", "rollback"])
        .env_remove("GITHUB_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.starts_with("rollback: 2 failed measurements"), "{said}");
    assert!(said.contains("| ✅ 4 (baseline 6) ≤ 5 | ❌ 0.5 (baseline 0.06) ≤ 0.2 |"), "{said}");
    let text = reqwest::get(format!("{}/metrics", relay.url)).await.unwrap().text().await.unwrap();
    promtool_accepts(&text);
}

/// `promtool check metrics` (Debian's prometheus package, installed by scripts/test.sh)
/// on a metrics page: the exposition format and Prometheus's naming rules.
fn promtool_accepts(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "promtool is missing: scripts/test.sh installs it");
        eprintln!("notice: promtool is not installed: the metrics page is not checked by it");
        return;
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics: {said}\n{text}");
}
