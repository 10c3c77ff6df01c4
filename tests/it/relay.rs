//! hs-relay end to end, every server on 127.0.0.1: real Sentry SDKs (Python, Node, a
//! browser in headless Chromium) → the relay → issues; crashes, outages, shared limits
//! through a real redis-server, bad input and slow clients.
//!
//! The helpers every group uses live here; the tests by theme: `sdks` (the Sentry SDKs and a
//! browser, through to issues), `delivery` (crashes, outages, storms and resent events:
//! every accepted event forwarded and counted once), `limits` (shared rate limits, bad input,
//! slow clients), `metrics` (what the canary and Prometheus read from the relay), `deploy`
//! (the systemd unit and Fly.io's config, run as written).

mod delivery;
mod deploy;
mod harness;
mod limits;
mod metrics;
mod sdks;
mod servers;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

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

/// hs-canary's `relay:` source for `release` in production, reading `metric`.
fn relay_source(url: &str, dir: &Path, release: &str, metric: &str) -> homeostat::canary::source::Source {
    use homeostat::canary::config::{RelaySource, SourceConfig};
    let cfg = json!({"url": url, "release": release, "environment": "production", "metric": metric});
    let cfg: RelaySource = serde_json::from_value(cfg).unwrap();
    homeostat::canary::source::Source::open(&SourceConfig::Relay(cfg), dir, Duration::ZERO, "test").unwrap()
}
