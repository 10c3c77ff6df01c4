//! hs-relay end to end, every server on 127.0.0.1: real Sentry SDKs (Python, Node, a
//! browser in headless Chromium) → the relay → issues; crashes, outages, shared limits
//! through a real redis-server, bad input and slow clients.

mod deploy;
mod harness;
mod servers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use harness::{KEY, Relay, dispatches, envelope, metric, sentry_event, wait_for, write_config};
use serde_json::{Value, json};

const GHP: &str = "ghp_R3layT0kenR3layT0kenR3layT0kenR3la0";

fn issue(forge: &Path, n: u64) -> Option<Value> {
    let text = std::fs::read_to_string(forge.join(format!("issues/{n}.json"))).ok()?;
    serde_json::from_str(&text).ok()
}

/// Runs hs-issue on a dispatch's payload as the report-errors workflow does (the event
/// file Actions writes), filing on the local forge in `dir/issues-forge`.
fn issue_from_dispatch(dir: &Path, payload: &Value, file: &str) {
    issue_from_dispatch_of(dir, "production-error", payload, file);
}

fn issue_from_dispatch_of(dir: &Path, action: &str, payload: &Value, file: &str) {
    let event_path = dir.join(file);
    std::fs::write(&event_path, json!({"action": action, "client_payload": payload}).to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hs-issue"))
        .current_dir(dir)
        .args(["--from-event", "--forge", "local", "--forge-dir", "issues-forge", "--config", "homeostat.yml"])
        .env("GITHUB_EVENT_PATH", &event_path)
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    assert!(out.status.success(), "hs-issue: {}", String::from_utf8_lossy(&out.stderr));
}

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

/// Sends `n` store events with ids `{prefix}{i}` from 8 tasks; returns the ids answered 200.
async fn burst(url: &str, prefix: &str, n: usize, stop_after: Option<(usize, i32)>) -> BTreeSet<String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..8 {
        let (http, url, prefix, sent) = (http.clone(), url.to_string(), prefix.to_string(), sent.clone());
        tasks.spawn(async move {
            let mut ok = Vec::new();
            for i in (t..n).step_by(8) {
                let id = format!("{prefix}{i:05}");
                let done = sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if let Some((at, pid)) = stop_after
                    && done == at
                {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                // One fingerprint per event, so none is folded into another and every
                // accepted id must appear in a dispatch.
                let mut event = sentry_event(&id, &format!("boom {i}"), "3.0.0");
                event["exception"]["values"][0]["stacktrace"]["frames"][1]["function"] = json!(format!("render{i}"));
                let r = http.post(format!("{url}/api/1/store/?sentry_key={KEY}")).json(&event).send().await;
                if r.is_ok_and(|r| r.status() == 200) {
                    ok.push(id);
                }
            }
            ok
        });
    }
    let mut all = BTreeSet::new();
    while let Some(ok) = tasks.join_next().await {
        all.extend(ok.unwrap());
    }
    all
}

/// Every event id of every distinct dispatched batch; panics when an id is in two batches
/// or a batch id was reused for other events.
fn forwarded_once(sent: &[Value]) -> BTreeSet<String> {
    let mut batches: BTreeMap<String, Value> = BTreeMap::new();
    for d in sent {
        let p = &d["client_payload"];
        let id = p["batch"].as_str().unwrap().to_string();
        if let Some(before) = batches.insert(id.clone(), p.clone()) {
            assert_eq!(before, *p, "batch {id} was resent with other events");
        }
    }
    let mut ids = BTreeSet::new();
    for p in batches.values() {
        for e in p["events"].as_array().unwrap() {
            let id = e["id"].as_str().unwrap().to_string();
            assert!(ids.insert(id.clone()), "event {id} is in two batches: it would count twice");
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_then_restart_forwards_every_accepted_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let limits = "  limits: {per_project_per_minute: 0, per_client_per_minute: 0, per_fingerprint_per_minute: 0}\n";
    write_config(dir.path(), &format!("  forward: {{every: 150ms, max_events: 40}}\n{limits}"));
    let mut relay = Relay::start(dir.path(), &[], &[]);
    let accepted = burst(&relay.url.clone(), "k", 600, Some((300, relay.pid()))).await;
    assert!(!relay.alive(), "the relay should have been killed");
    relay.kill9();
    assert!(accepted.len() >= 250 && accepted.len() < 600, "accepted {}", accepted.len());
    let relay = Relay::start(dir.path(), &[], &[]);
    let http = reqwest::Client::new();
    let drained = wait_for(20, || async {
        let backlog = metric(&http, &relay.url, "homeostat_relay_spool_backlog_bytes", &[]).await?;
        (backlog == 0.0).then_some(())
    })
    .await;
    assert!(drained.is_some(), "the spool was not forwarded; log:\n{}", relay.log_text());
    let forwarded = forwarded_once(&dispatches(&dir.path().join("forge")));
    let missing: Vec<_> = accepted.difference(&forwarded).collect();
    assert!(missing.is_empty(), "accepted but never forwarded: {missing:?}");
    for d in dispatches(&dir.path().join("forge")) {
        assert!(d["client_payload"].to_string().len() < 64_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_failing_for_a_while_loses_nothing() {
    let standin = servers::DispatchStandIn::start(Duration::from_secs(3)).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), "  forward: {every: 200ms, max_events: 7}\n");
    let env = [("GITHUB_TOKEN", "ghs_server_side_token"), ("GITHUB_API_URL", standin.url.as_str())];
    let relay = Relay::start(dir.path(), &["--forge", "github", "--repo", "octo/app"], &env);
    let accepted = burst(&relay.url, "g", 30, None).await;
    assert_eq!(accepted.len(), 30);
    let got = wait_for(40, || async {
        let got = forwarded_once(&standin.received());
        accepted.is_subset(&got).then_some(got)
    })
    .await;
    assert!(got.is_some(), "not everything arrived; relay log:\n{}", relay.log_text());
    assert!(standin.refused() > 0, "the stand-in never failed: the test proves nothing");
    assert!(standin.tokens().iter().all(|t| t == "ghs_server_side_token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_share_one_rate_limit_through_redis() {
    let Some(redis) = servers::Redis::start() else {
        assert!(std::env::var("CI").is_err(), "redis-server is needed in CI (apt-get install -y redis-server)");
        eprintln!("skipped: no redis-server");
        return;
    };
    // A window that turns over mid-test would reset the count.
    servers::not_near_a_minute_boundary().await;
    let limits = "  limits: {per_project_per_minute: 10, per_client_per_minute: 0, per_fingerprint_per_minute: 0}\n";
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_config(a_dir.path(), &format!("{limits}  redis: {}\n", redis.url));
    write_config(b_dir.path(), &format!("{limits}  redis: {}\n", redis.url));
    let (a, b) = (Relay::start(a_dir.path(), &[], &[]), Relay::start(b_dir.path(), &[], &[]));
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..16 {
        let url = if i % 2 == 0 { &a.url } else { &b.url };
        let r = http
            .post(format!("{url}/api/1/envelope/"))
            .header("x-sentry-auth", format!("Sentry sentry_version=7, sentry_key={KEY}"))
            .body(envelope(&format!("r{i}"), &sentry_event(&format!("r{i}"), "x", "1.0.0")))
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            let h = r.headers();
            assert!(h["retry-after"].to_str().unwrap().parse::<u64>().is_ok_and(|s| (1..=60).contains(&s)));
            assert!(h["x-sentry-rate-limits"].to_str().unwrap().contains(":error"));
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 6, "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "both relays refuse once the shared limit is reached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_status_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "  read_timeout: 1s\n  limits: {max_body_bytes: 65536, max_decompressed_bytes: 262144, per_client_per_minute: 0}\n",
    );
    let mut relay = Relay::start(dir.path(), &[], &[]);
    let http = reqwest::Client::new();
    let post = |path: &str| http.post(format!("{}{path}", relay.url));
    let auth = format!("Sentry sentry_key={KEY}");
    let good = envelope("a1", &sentry_event("a1", "fine", "1.0.0"));
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        (
            "broken envelope",
            post("/api/1/envelope/")
                .header("x-sentry-auth", &auth)
                .body("{\"event_id\":1}\n{\"type\":\"event\",\"length\":500}\n{}"),
            400,
        ),
        ("not JSON", post("/api/1/store/").header("x-sentry-auth", &auth).body("<html>"), 400),
        (
            "wrong key",
            post("/api/1/envelope/").header("x-sentry-auth", "Sentry sentry_key=nope").body(good.clone()),
            401,
        ),
        ("no key", post("/api/1/envelope/").body(good.clone()), 401),
        // Refused before the body is read: the relay reads what is left (bounded), so the
        // client gets the status, not a reset from a socket closed with unread data.
        (
            "wrong key, big body",
            post("/api/1/envelope/").header("x-sentry-auth", "Sentry sentry_key=nope").body(vec![b'x'; 60_000]),
            401,
        ),
        ("unknown project", post("/api/9/envelope/").header("x-sentry-auth", &auth).body(good.clone()), 401),
        (
            "bad origin",
            post("/api/1/envelope/")
                .header("x-sentry-auth", &auth)
                .header("origin", "https://evil.example")
                .body(good.clone()),
            403,
        ),
        ("oversize", post("/api/1/envelope/").header("x-sentry-auth", &auth).body(vec![b'x'; 100_000]), 413),
        (
            "gzip bomb",
            post("/api/1/envelope/")
                .header("x-sentry-auth", &auth)
                .header("content-encoding", "gzip")
                .body(servers::gzip(&vec![b' '; 4 << 20])),
            413,
        ),
        (
            "odd encoding",
            post("/api/1/envelope/")
                .header("x-sentry-auth", &auth)
                .header("content-encoding", "zstd")
                .body(good.clone()),
            415,
        ),
        ("no bearer", post("/v1/events").body("{\"message\":\"x\"}"), 401),
        (
            "good gzip",
            post("/api/1/envelope/")
                .header("x-sentry-auth", &auth)
                .header("content-encoding", "gzip")
                .body(servers::gzip(good.as_bytes())),
            200,
        ),
        (
            "key in the envelope",
            post("/api/1/envelope/").body(format!(
                "{{\"event_id\":\"a2\",\"dsn\":\"{}\"}}\n{{\"type\":\"event\"}}\n{}\n",
                relay.dsn(),
                sentry_event("a2", "x", "1.0.0")
            )),
            200,
        ),
        (
            "canonical",
            post("/v1/events")
                .bearer_auth(KEY)
                .body("{\"message\":\"TypeError: x\",\"release\":\"1.0.0\"}\n{\"message\":\"y\"}\n"),
            200,
        ),
        (
            "sessions only",
            post("/api/1/envelope/")
                .header("x-sentry-auth", &auth)
                .body("{}\n{\"type\":\"session\"}\n{\"sid\":\"s\"}\n"),
            200,
        ),
    ];
    // Slow clients hold connections while everyone else is served.
    let slow = servers::slowloris(&relay.url, 20).await;
    for (what, request, want) in cases {
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(status, want, "{what}: {text}");
        if want != 200 {
            assert!(serde_json::from_str::<Value>(&text).is_ok_and(|v| v["detail"].is_string()), "{what}: {text}");
        }
    }
    let outcomes = slow.await.unwrap();
    assert!(outcomes.iter().all(|o| o.closed_within < Duration::from_secs(4)), "{outcomes:?}");
    assert!(outcomes.iter().any(|o| o.status == Some(408)), "a slow body gets 408: {outcomes:?}");
    assert!(relay.alive());
    assert_eq!(http.get(format!("{}/healthz", relay.url)).send().await.unwrap().status(), 200);
    assert_eq!(relay.stop(), Some(0), "SIGTERM drains and exits 0");
}

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

/// hs-canary's `relay:` source for `release` in production, reading `metric`.
fn relay_source(url: &str, dir: &Path, release: &str, metric: &str) -> homeostat::canary::source::Source {
    use homeostat::canary::config::{RelaySource, SourceConfig};
    let cfg = json!({"url": url, "release": release, "environment": "production", "metric": metric});
    let cfg: RelaySource = serde_json::from_value(cfg).unwrap();
    homeostat::canary::source::Source::open(&SourceConfig::Relay(cfg), dir, Duration::ZERO, "test").unwrap()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_the_limits_refuse_still_counts_for_the_canary_and_a_noisy_client_does_not() {
    // A window that turns over mid-test would reset the counts.
    servers::not_near_a_minute_boundary().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "  limits: {per_project_per_minute: 0, per_client_per_minute: 8, per_fingerprint_per_minute: 3}\n",
    );
    let relay = Relay::start(dir.path(), &[], &[]);
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 0..10 {
        let r = http
            .post(format!("{}/api/1/store/?sentry_key={KEY}", relay.url))
            .json(&sentry_event(&format!("s{i}"), "boom", "3.0.0"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    // Three stored; five refused by the fingerprint limit (the storm); two by the client
    // limit (this one sender is past its share).
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
    let refused = |reason: &'static str| {
        let (http, url) = (http.clone(), relay.url.clone());
        async move { metric(&http, &url, "homeostat_relay_refused_total", &[("reason", reason)]).await }
    };
    assert_eq!(refused("rate limited (fingerprint)").await, Some(5.0));
    assert_eq!(refused("rate limited (client)").await, Some(2.0));
    let source = relay_source(&relay.url, dir.path(), "3.0.0", "events_last_minute");
    // The canary sees the release's eight errors, not the three the spool kept.
    assert_eq!(source.read(0).await.as_value(), Some(8.0));
    assert_eq!(metric(&http, &relay.url, "homeostat_relay_events_total", &[("release", "3.0.0")]).await, Some(8.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_storm_costs_a_dispatch_a_round_and_hs_issue_counts_every_occurrence() {
    let dir = tempfile::tempdir().unwrap();
    let limits = "  limits: {per_project_per_minute: 0, per_client_per_minute: 0, per_fingerprint_per_minute: 0}\n";
    write_config(dir.path(), &format!("  forward: {{every: 1s}}\n{limits}"));
    let relay = Relay::start(dir.path(), &[], &[]);
    let http = reqwest::Client::new();
    for i in 0..40 {
        let r = http
            .post(format!("{}/api/1/store/?sentry_key={KEY}", relay.url))
            .json(&sentry_event(&format!("storm{i:02}"), &format!("boom {i}"), "4.0.0"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // A sender cannot say how many occurrences an event stands for: the public DSN key is
    // in every copy of the app.
    let r = http
        .post(format!("{}/v1/events", relay.url))
        .bearer_auth(KEY)
        .body(
            json!({"id": "forged", "message": "SyntaxError: other", "release": "4.0.0", "occurrences": 1_000_000})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let forge = dir.path().join("forge");
    let weight = |e: &Value| e["occurrences"].as_u64().unwrap_or(1);
    let sent = wait_for(10, || async {
        let sent = dispatches(&forge);
        let total: u64 = sent
            .iter()
            .flat_map(|d| d["client_payload"]["events"].as_array().unwrap().clone())
            .map(|e| weight(&e))
            .sum();
        (total == 41).then_some(sent)
    })
    .await
    .unwrap_or_else(|| panic!("the storm was not forwarded: {:?}", dispatches(&forge)));
    // Forty events in one or two rounds: each round's repeats are its first and last
    // (and the other error, once).
    assert!(sent.len() <= 2, "{} dispatches", sent.len());
    for d in &sent {
        let events = d["client_payload"]["events"].as_array().unwrap();
        assert!(events.len() <= 3, "{events:?}");
    }
    let ids: BTreeSet<&str> = sent
        .iter()
        .flat_map(|d| d["client_payload"]["events"].as_array().unwrap())
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert!(ids.contains("storm00") && ids.contains("storm39"), "first and last seen are kept: {ids:?}");
    // The workflow side counts every occurrence, once, however often a dispatch comes.
    for (n, d) in sent.iter().chain(sent.iter()).enumerate() {
        issue_from_dispatch(dir.path(), &d["client_payload"], &format!("event{n}.json"));
    }
    let filed = issue(&dir.path().join("issues-forge"), 1).expect("an issue");
    let state = homeostat::markers::IssueState::find(filed["body"].as_str().unwrap()).expect("the issue's state");
    assert_eq!(state.count, 40);
    let forged = issue(&dir.path().join("issues-forge"), 2).expect("the other error's issue");
    let state = homeostat::markers::IssueState::find(forged["body"].as_str().unwrap()).expect("its state");
    assert_eq!(state.count, 1, "a sender's `occurrences` counts for nothing");
    assert!(issue(&dir.path().join("issues-forge"), 3).is_none(), "two errors, two issues");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_event_is_stored_and_counted_once_also_across_relays_sharing_redis() {
    let redis = servers::Redis::start();
    if redis.is_none() {
        assert!(std::env::var("CI").is_err(), "redis-server is needed in CI (apt-get install -y redis-server)");
    }
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let shared = redis.as_ref().map(|r| format!("  redis: {}\n", r.url)).unwrap_or_default();
    write_config(a_dir.path(), &format!("  forward: {{every: 200ms}}\n{shared}"));
    write_config(b_dir.path(), &format!("  forward: {{every: 200ms}}\n{shared}"));
    let (a, b) = (Relay::start(a_dir.path(), &[], &[]), Relay::start(b_dir.path(), &[], &[]));
    let http = reqwest::Client::new();
    // What an SDK retrying after a lost answer sends: the same envelope, the same id.
    let id = "5d3b4c1a9e8f4a7b8c6d5e4f3a2b1c0d";
    let send = |url: String| {
        let http = http.clone();
        async move {
            let r = http
                .post(format!("{url}/api/1/envelope/"))
                .header("x-sentry-auth", format!("Sentry sentry_version=7, sentry_key={KEY}"))
                .body(envelope(id, &sentry_event(id, "boom", "5.0.0")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["id"].clone()
        }
    };
    for _ in 0..3 {
        assert_eq!(send(a.url.clone()).await, id, "the SDK gets its id back each time");
    }
    let total = |url: String| {
        let http = http.clone();
        async move { metric(&http, &url, "homeostat_relay_events_total", &[("release", "5.0.0")]).await }
    };
    assert_eq!(total(a.url.clone()).await, Some(1.0), "counted once");
    let forwarded = wait_for(10, || async { Some(dispatches(&a_dir.path().join("forge"))).filter(|d| !d.is_empty()) })
        .await
        .expect("a dispatch");
    let events: Vec<&Value> =
        forwarded.iter().flat_map(|d| d["client_payload"]["events"].as_array().unwrap()).collect();
    assert_eq!(events.len(), 1, "stored once: {events:?}");
    if redis.is_some() {
        // The load balancer sends the retry to the other relay.
        assert_eq!(send(b.url.clone()).await, id);
        assert_eq!(total(b.url.clone()).await, None, "the other relay knew it through Redis");
        assert_eq!(metric(&http, &b.url, "homeostat_relay_spool_backlog_bytes", &[]).await, Some(0.0));
    } else {
        eprintln!("skipped the shared part: no redis-server");
    }
}
