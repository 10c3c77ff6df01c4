//! Limits: one rate limit shared through Redis, bad input and slow clients, a storm the
//! limits refuse.

use std::time::Duration;

use serde_json::Value;

use super::harness::{KEY, Relay, envelope, metric, sentry_event, write_config};
use super::{relay_source, servers};

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
