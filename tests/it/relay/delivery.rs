//! Delivery: a relay killed mid-burst, GitHub failing for a while, an error storm, a resent
//! event: every accepted event is forwarded and counted once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{KEY, Relay, dispatches, envelope, metric, sentry_event, wait_for, write_config};
use super::{issue, issue_from_dispatch, servers};

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
