//! Real Sentry SDKs (Python, Node, a browser in headless Chromium) → the relay → a
//! dispatch → hs-issue → issues, scrubbed.

use std::path::Path;
use std::process::Command;

use super::harness::{self, Relay, dispatches, metric, wait_for, write_config};
use super::{GHP, issue, issue_from_dispatch, issue_from_dispatch_of, servers};

/// Runs `script` with Node (the test tools' @sentry packages on its path), the DSN as its argument.
fn run_node(dir: &Path, script: &str, dsn: &str) {
    std::fs::write(dir.join("app.js"), script).unwrap();
    let out = Command::new("node")
        .arg(dir.join("app.js"))
        .arg(dsn)
        .env("NODE_PATH", harness::node_modules())
        .output()
        .unwrap();
    assert!(out.status.success(), "node: {}", String::from_utf8_lossy(&out.stderr));
}

fn assert_clean(text: &str) {
    for secret in [GHP, "alice@example.com", "4111 1111 1111 1111"] {
        assert!(!text.contains(secret), "`{secret}` was not scrubbed from:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sentry_sdk_errors_reach_an_issue_through_a_dispatch_and_hs_issue() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "  forward: {every: 200ms}\n");
    let relay = Relay::start(dir.path(), &[], &[]);
    let script = format!(
        r#"
import sys, sentry_sdk
sentry_sdk.init(dsn=sys.argv[1], release="2.3.1", environment="production")
sentry_sdk.set_tag("feature", "checkout")
def load_user(uid):
    raise KeyError(f"no user {{uid}} token {GHP} mail alice@example.com")
def handle_request():
    load_user(42)
try:
    handle_request()
except Exception as e:
    sentry_sdk.capture_exception(e)
sentry_sdk.flush(5)
"#
    );
    std::fs::write(dir.path().join("app.py"), script).unwrap();
    let out = Command::new("python3").arg(dir.path().join("app.py")).arg(relay.dsn()).output().unwrap();
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    let forge = dir.path().join("forge");
    let sent = wait_for(10, || async { dispatches(&forge).into_iter().next() }).await;
    let sent = sent.unwrap_or_else(|| panic!("no dispatch; relay log:\n{}", relay.log_text()));
    assert_eq!(sent["event_type"], "production-error");
    let payload = &sent["client_payload"];
    assert_clean(&payload.to_string());
    let event = &payload["events"][0];
    assert_eq!((event["release"].as_str(), event["environment"].as_str()), (Some("2.3.1"), Some("production")));
    assert_eq!(event["tags"]["feature"], "checkout", "{event}");
    assert!(payload["batch"].as_str().is_some_and(|b| !b.is_empty()));

    // The workflow side: hs-issue reads the dispatch as Actions hands it over.
    issue_from_dispatch(dir.path(), payload, "event.json");
    let filed = issue(&dir.path().join("issues-forge"), 1).expect("an issue");
    let (title, body) = (filed["title"].as_str().unwrap(), filed["body"].as_str().unwrap());
    assert!(title.starts_with("KeyError"), "{title}");
    let functions: Vec<&str> = event["exception"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["function"].as_str()).collect())
        .unwrap_or_default();
    assert!(functions.ends_with(&["handle_request", "load_user"]), "{functions:?}");
    for want in ["load_user", "2.3.1", "production", "homeostat:fingerprint="] {
        assert!(body.contains(want), "`{want}` missing from:\n{body}");
    }
    assert_clean(&filed.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sentry_sdk_errors_and_feedback_become_issues_in_direct_mode() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "  forward: {every: 200ms}\n");
    let relay = Relay::start(dir.path(), &["--direct"], &[]);
    let script = format!(
        r#"
const Sentry = require("@sentry/node");
Sentry.init({{ dsn: process.argv[2], release: "5.0.0", environment: "staging" }});
Sentry.setTag("shop", "eu");
function parseCart(cart) {{
  return cart.items.map((i) => i.price + " card 4111 1111 1111 1111 {GHP}");
}}
function checkout() {{ return parseCart(undefined); }}
let eventId;
try {{ checkout(); }} catch (e) {{ eventId = Sentry.captureException(e); }}
Sentry.flush(5000).then(() => {{
  Sentry.captureFeedback({{ message: "Checkout broke when I opened my cart", associatedEventId: eventId }});
  return Sentry.flush(5000);
}}).then((ok) => process.exit(ok ? 0 : 3));
"#
    );
    run_node(dir.path(), &script, &relay.dsn());
    let forge = dir.path().join("forge");
    // The feedback's issue comes second and names the error's.
    let feedback = wait_for(15, || async { issue(&forge, 2) }).await;
    let feedback = feedback.unwrap_or_else(|| panic!("no feedback issue; relay log:\n{}", relay.log_text()));
    assert_eq!(feedback["title"], "Feedback: Checkout broke when I opened my cart");
    assert!(feedback["body"].as_str().unwrap().contains("| About error | #1 |"), "{}", feedback["body"]);
    let filed = wait_for(15, || async { issue(&forge, 1) }).await;
    let filed = filed.unwrap_or_else(|| panic!("no issue; relay log:\n{}", relay.log_text()));
    let (title, body) = (filed["title"].as_str().unwrap(), filed["body"].as_str().unwrap());
    assert!(title.starts_with("TypeError"), "{title}");
    for want in ["parseCart", "checkout", "5.0.0", "staging"] {
        assert!(body.contains(want), "`{want}` missing from:\n{body}");
    }
    assert_clean(&filed.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_sentry_sdk_user_feedback_becomes_one_scrubbed_feedback_issue() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "  forward: {every: 200ms}\n");
    let relay = Relay::start(dir.path(), &[], &[]);
    // What an app's "report a problem" form does: the user's words, their name and email,
    // tied to the error they just saw.
    let script = format!(
        r#"
const Sentry = require("@sentry/node");
Sentry.init({{ dsn: process.argv[2], release: "5.0.0", environment: "production" }});
const eventId = Sentry.captureException(new Error("export failed"));
// The user reads the error dialog and writes: the feedback comes after the error.
Sentry.flush(5000).then(() => {{
  Sentry.captureFeedback({{
    message: "The export button does nothing.\nI pasted my key {GHP} in case it helps, write to alice@example.com",
    name: "Alice Liddell", email: "alice@example.com", url: "https://app.example.com/export",
    associatedEventId: eventId,
  }});
  return Sentry.flush(5000);
}}).then((ok) => process.exit(ok ? 0 : 3));
"#
    );
    run_node(dir.path(), &script, &relay.dsn());
    let forge = dir.path().join("forge");
    let find = |kind: &'static str| {
        let forge = forge.clone();
        async move { dispatches(&forge).into_iter().find(|d| d["event_type"] == kind) }
    };
    let sent = wait_for(10, || find("user-feedback")).await;
    let sent = sent.unwrap_or_else(|| panic!("no feedback dispatch; relay log:\n{}", relay.log_text()));
    let errors = wait_for(10, || find("production-error")).await.expect("the error's own dispatch");
    let payload = &sent["client_payload"];
    assert_clean(&payload.to_string());
    assert!(!payload.to_string().contains("Alice Liddell"), "the sender's name is not kept: {payload}");
    let fb = &payload["feedback"][0];
    assert!(fb["message"].as_str().is_some_and(|m| m.starts_with("The export button does nothing.")), "{fb}");
    assert_eq!((fb["release"].as_str(), fb["url"].as_str()), (Some("5.0.0"), Some("https://app.example.com/export")));
    let error_id = errors["client_payload"]["events"][0]["id"].as_str().unwrap().replace('-', "");
    assert_eq!(fb["associated_event_id"].as_str().map(|s| s.replace('-', "")), Some(error_id), "{fb}");
    let counted =
        metric(&reqwest::Client::new(), &relay.url, "homeostat_relay_feedback_total", &[("project", "1")]).await;
    assert_eq!(counted, Some(1.0), "feedback counted per project on /metrics");

    // The workflow side: the error's issue, then the feedback twice (a resent batch): one
    // feedback issue, naming the error's.
    issue_from_dispatch(dir.path(), &errors["client_payload"], "errors.json");
    issue_from_dispatch_of(dir.path(), "user-feedback", payload, "event.json");
    issue_from_dispatch_of(dir.path(), "user-feedback", payload, "event-again.json");
    let issues_forge = dir.path().join("issues-forge");
    assert!(issue(&issues_forge, 1).is_some_and(|i| i["title"].as_str().unwrap().starts_with("Error: export failed")));
    let filed = issue(&issues_forge, 2).expect("a feedback issue");
    assert!(issue(&issues_forge, 3).is_none(), "a resent batch filed a second issue");
    assert_eq!(filed["title"], "Feedback: The export button does nothing.");
    assert!(filed["body"].as_str().unwrap().contains("| About error | #1 |"), "{}", filed["body"]);
    let labels: Vec<&str> = filed["labels"].as_array().unwrap().iter().filter_map(|l| l.as_str()).collect();
    assert_eq!(labels, ["homeostat:feedback", "feedback"]);
    let body = filed["body"].as_str().unwrap();
    for want in ["The export button does nothing.", "5.0.0", "app.example.com/export", "homeostat:feedback="] {
        assert!(body.contains(want), "`{want}` missing from:\n{body}");
    }
    assert_clean(&filed.to_string());
    assert!(!filed.to_string().contains("Alice Liddell"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_sends_with_its_origin_and_a_stranger_is_refused() {
    let Some(chromium) = servers::chromium() else {
        assert!(std::env::var("CI").is_err(), "chromium is needed in CI (apt-get install -y chromium)");
        eprintln!("skipped: no chromium");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = servers::Page::start(dir.path(), &harness::node_modules()).await;
    let allowed = format!("http://127.0.0.1:{}", page.port);
    write_config(dir.path(), "");
    let cfg = std::fs::read_to_string(dir.path().join("homeostat.yml")).unwrap();
    std::fs::write(
        dir.path().join("homeostat.yml"),
        cfg.replace("\"https://app.example.com\"", &format!("\"{allowed}\"")),
    )
    .unwrap();
    let relay = Relay::start(dir.path(), &[], &[]);
    let http = reqwest::Client::new();
    let count = |labels: &'static [(&'static str, &'static str)], name: &'static str| {
        let (http, url) = (http.clone(), relay.url.clone());
        async move { metric(&http, &url, name, labels).await }
    };
    let browser = servers::open_page(&chromium, &format!("{allowed}/?dsn={}", relay.dsn()), dir.path());
    let got = wait_for(20, || async { count(&[("release", "1.4.2")], "homeostat_relay_events_total").await }).await;
    let feedback = wait_for(20, || async { count(&[("project", "1")], "homeostat_relay_feedback_total").await }).await;
    // Release health: the page load was one session, and its error made it unhealthy.
    let unhealthy = wait_for(20, || async {
        count(&[("release", "1.4.2")], "homeostat_relay_sessions_unhealthy_total").await.filter(|&n| n > 0.0)
    })
    .await;
    drop(browser);
    assert_eq!(got, Some(1.0), "the page's error did not arrive; relay log:\n{}", relay.log_text());
    assert_eq!(feedback, Some(1.0), "the page's feedback did not arrive; relay log:\n{}", relay.log_text());
    assert_eq!(unhealthy, Some(1.0), "the page's session did not turn unhealthy once");
    assert_eq!(count(&[("release", "1.4.2")], "homeostat_relay_sessions_total").await, Some(1.0));
    let stranger = format!("http://localhost:{}/?dsn={}", page.port, relay.dsn());
    let browser = servers::open_page(&chromium, &stranger, dir.path());
    // Both of its requests (the error, the feedback) refused.
    let refused = wait_for(20, || async {
        count(&[("status", "403")], "homeostat_relay_refused_total").await.filter(|&n| n >= 2.0)
    })
    .await;
    drop(browser);
    assert!(refused.is_some(), "the stranger was not refused twice");
    assert_eq!(count(&[("release", "1.4.2")], "homeostat_relay_events_total").await, Some(1.0));
    assert_eq!(
        count(&[("project", "1")], "homeostat_relay_feedback_total").await,
        Some(1.0),
        "the stranger's feedback"
    );

    // What the browser saw: CORS headers for allowed origins (extensions too), none otherwise.
    let preflight = |origin: &str| {
        http.request(reqwest::Method::OPTIONS, format!("{}/api/1/envelope/", relay.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = preflight("chrome-extension://abcdefghijklmnop").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["access-control-allow-origin"], "chrome-extension://abcdefghijklmnop");
    let no = preflight("https://evil.example").await.unwrap();
    assert_eq!(no.status(), 403);
    assert!(no.headers().get("access-control-allow-origin").is_none());
}
