//! Load generator for hs-relay (run by scripts/bench-relay.sh, not a test): keep-alive
//! HTTP/1.1 connections posting Sentry envelopes, one event each, for a fixed time.
//!
//!   relay_load URL EVENTS.jsonl CONNECTIONS SECONDS KEY [--floor]
//!
//! Prints one JSON line: requests, ok, refused, events/s, p50/p99/max latency (ms).
//! `--floor` sends `GET /healthz` instead of the envelopes: the cost of the HTTP exchange
//! alone (client and server on the same cores), the most any relay could do here.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let floor = args.iter().any(|a| a == "--floor");
    let args: Vec<&String> = args.iter().filter(|a| *a != "--floor").collect();
    let [url, file, conns, secs, key] = args.as_slice() else {
        // `cargo test --all-targets` runs this without arguments: nothing to load then.
        eprintln!("usage: relay_load URL EVENTS.jsonl CONNECTIONS SECONDS KEY (scripts/bench-relay.sh runs it)");
        return;
    };
    let addr = url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let text = std::fs::read_to_string(file).expect("events file");
    let requests: Vec<Vec<u8>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, event)| {
            if floor {
                return format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
            }
            let body = format!("{{\"event_id\":\"{i:032x}\",\"sent_at\":\"2026-01-21T10:00:00Z\"}}\n{{\"type\":\"event\",\"length\":{}}}\n{event}\n", event.len());
            format!(
                "POST /api/1/envelope/ HTTP/1.1\r\nHost: {addr}\r\nX-Sentry-Auth: Sentry sentry_version=7, sentry_key={key}, sentry_client=relay-load/1.0\r\nContent-Type: application/x-sentry-envelope\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        })
        .collect();
    // Where each request carries its event id (the envelope header and the event): every
    // send writes a new one there, as real SDKs never send an id twice — a repeated id
    // would be answered from the relay's dedup window without the work being measured.
    let requests: Vec<(Vec<u8>, Vec<usize>)> = requests
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let id = format!("{i:032x}");
            let at = r.windows(32).enumerate().filter(|(_, w)| *w == id.as_bytes()).map(|(at, _)| at).collect();
            (r, at)
        })
        .collect();
    let conns: usize = conns.parse().expect("connections");
    let duration = Duration::from_secs_f64(secs.parse().expect("seconds"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let requests = std::sync::Arc::new(requests);
    let results = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        let until = Instant::now() + duration;
        for c in 0..conns {
            let (addr, requests) = (addr.clone(), requests.clone());
            set.spawn(async move { connection(&addr, &requests, c, until).await });
        }
        let mut all = (Vec::new(), 0u64, 0u64);
        while let Some(r) = set.join_next().await {
            let (lat, ok, refused) = r.unwrap();
            all.0.extend(lat);
            all.1 += ok;
            all.2 += refused;
        }
        all
    });
    let (mut lat, ok, refused) = results;
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "{{\"requests\":{},\"ok\":{ok},\"refused\":{refused},\"events_per_s\":{:.0},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2}}}",
        lat.len(),
        ok as f64 / duration.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
}

async fn connection(
    addr: &str,
    requests: &[(Vec<u8>, Vec<usize>)],
    first: usize,
    until: Instant,
) -> (Vec<u32>, u64, u64) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).unwrap();
    let (mut lat, mut ok, mut refused) = (Vec::new(), 0, 0);
    let mut buf = vec![0u8; 64 * 1024];
    let mut i = first;
    let mut sent: u64 = 0;
    let mut request = Vec::new();
    while Instant::now() < until {
        let started = Instant::now();
        let (template, ids_at) = &requests[i % requests.len()];
        request.clear();
        request.extend_from_slice(template);
        let id = format!("{first:08x}{sent:024x}");
        for &at in ids_at {
            request[at..at + 32].copy_from_slice(id.as_bytes());
        }
        sent += 1;
        stream.write_all(&request).await.expect("write");
        i += 7;
        let mut have = 0;
        let (status, total) = loop {
            let n = stream.read(&mut buf[have..]).await.expect("read");
            assert!(n > 0, "the relay closed the connection");
            have += n;
            if let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                    .unwrap_or(0);
                break (status, end + 4 + len);
            }
        };
        while have < total {
            have += stream.read(&mut buf[have..]).await.expect("read body");
        }
        lat.push(started.elapsed().as_micros() as u32);
        if status == 200 { ok += 1 } else { refused += 1 }
    }
    (lat, ok, refused)
}
