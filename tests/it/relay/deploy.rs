//! The deployment examples run as written: `deploy/hs-relay.service` (a plain VM) and
//! `deploy/fly.toml` (Fly.io) are read, not copied into the test, and hs-relay is started
//! with their command line and environment — only the listen address moved to 127.0.0.1,
//! their absolute paths moved into a temporary folder, and GitHub replaced by the stand-in
//! checked against GitHub's OpenAPI description. So a renamed flag, a misspelt variable, a
//! spool outside the unit's writable paths or off Fly's volume fails here, not on a
//! user's machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::harness::{BIN, KEY, Relay, envelope, sentry_event, wait_for};
use super::servers::not_near_a_minute_boundary;

fn deploy_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A systemd unit's `[Service]` section: every key with its values in order.
fn service_section(unit: &str) -> BTreeMap<String, Vec<String>> {
    let mut section = String::new();
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in unit.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with(['#', ';'])) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
        } else if let (Some((key, value)), "Service") = (line.split_once('='), section.as_str()) {
            keys.entry(key.trim().to_string()).or_default().push(value.trim().to_string());
        }
    }
    keys
}

/// `path` moved from under `from` to under `to`; panics when it is not under `from`.
fn moved(path: &str, from: &str, to: &Path) -> PathBuf {
    let rest = Path::new(path).strip_prefix(from).unwrap_or_else(|_| panic!("{path} is not under {from}"));
    to.join(rest)
}

/// Posts one Sentry envelope as the browser SDK would; the status.
async fn send(client: &reqwest::Client, url: &str, id: &str, client_ip: Option<&str>) -> u16 {
    let mut request = client
        .post(format!("{url}/api/1/envelope/?sentry_key={KEY}&sentry_version=7"))
        .header("Origin", "https://app.example.com")
        .header("Content-Type", "text/plain;charset=UTF-8")
        .body(envelope(id, &sentry_event(id, &format!("cannot read '{id}'"), "3.1.0")));
    if let Some(ip) = client_ip {
        request = request.header("fly-client-ip", ip);
    }
    request.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

/// Whether the stand-in holds a dispatch carrying event `id` (within 15 s).
async fn dispatched(gh: &github_standin::Standin, id: &str) -> bool {
    let carried = || gh.state().repository_dispatches.iter().any(|d| d["client_payload"].to_string().contains(id));
    wait_for(15, || async { carried().then_some(()) }).await.is_some()
}

/// Bytes in the spool's segments (the cursor file aside).
fn spooled_bytes(spool: &Path) -> u64 {
    let segments = std::fs::read_dir(spool).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default();
    segments
        .iter()
        .filter(|e| e.file_name().to_string_lossy().starts_with("events-"))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

fn systemd_analyze_verify(unit: &Path) {
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(unit)
        .output()
        .unwrap_or_else(|e| panic!("systemd-analyze (Debian package systemd, installed by scripts/test.sh): {e}"));
    // verify also loads the host's units this one depends on and may warn about those:
    // only what it says about this unit counts.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = unit.file_name().unwrap().to_string_lossy();
    let about_this: Vec<&str> = stderr.lines().filter(|l| l.contains(name.as_ref())).collect();
    assert!(out.status.success() && about_this.is_empty(), "systemd-analyze verify: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systemd_unit_starts_the_relay_which_forwards_and_drains_on_its_stop_signal() {
    let unit_text = deploy_file("hs-relay.service");
    let unit = service_section(&unit_text);
    let one = |key: &str| unit.get(key).and_then(|v| v.last()).unwrap_or_else(|| panic!("no {key}=")).clone();
    let dir = tempfile::tempdir().unwrap();

    // systemd itself reads the unit (an unknown key is a warning it would ignore).
    let exec = one("ExecStart");
    let argv: Vec<&str> = exec.split_whitespace().collect();
    std::fs::write(dir.path().join("hs-relay.service"), unit_text.replace(argv[0], BIN)).unwrap();
    systemd_analyze_verify(&dir.path().join("hs-relay.service"));

    // Where the unit lets the relay write (ProtectSystem=strict makes the rest read-only):
    // the spool must be there.
    let env: BTreeMap<&str, &str> = unit["Environment"].iter().filter_map(|e| e.split_once('=')).collect();
    let spool = env["HOMEOSTAT_RELAY_SPOOL"];
    let state = format!("/var/lib/{}", one("StateDirectory"));
    let under = |dir: &str| Path::new(spool).starts_with(dir);
    assert!(unit["ReadWritePaths"].iter().any(|p| under(p)), "{spool} is read-only");
    assert!(under(&state), "{spool} is not in the StateDirectory {state}");

    let gh = github_standin::Standin::start();
    let config = dir.path().join("etc/homeostat.yml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let origins = "[\"https://app.example.com\"]";
    std::fs::write(
        &config,
        // Forwarding once an hour: what reaches GitHub before that, the drain sent.
        format!("relay:\n  projects: [{{id: \"1\", public_key: {KEY}, allowed_origins: {origins}}}]\n  forward: {{every: 1h}}\n"),
    )
    .unwrap();
    let mut cmd = Relay::command();
    for pair in argv[1..].windows(2).step_by(2) {
        let value = match pair[0] {
            "--config" => config.display().to_string(),
            "--listen" => "127.0.0.1:0".to_string(),
            _ => pair[1].to_string(),
        };
        cmd.args([pair[0], &value]);
    }
    assert_eq!(argv.len() % 2, 1, "ExecStart is a binary and --flag value pairs: {exec}");
    let moved_spool = moved(spool, &state, &dir.path().join("state"));
    cmd.env("HOMEOSTAT_RELAY_SPOOL", &moved_spool);
    // The EnvironmentFile's variables, as its comment names them (GitHub is the stand-in).
    cmd.envs([("GITHUB_TOKEN", "ghs_unit_token"), ("GITHUB_REPOSITORY", &gh.repo()), ("GITHUB_API_URL", gh.url())]);
    let mut relay = Relay::spawn(cmd, dir.path());

    let client = reqwest::Client::new();
    let health = client.get(format!("{}/healthz", relay.url)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let id = "5e1f0c0a1b2c3d4e5f60718293a4b5c6";
    assert_eq!(send(&client, &relay.url, id, None).await, 200, "log:\n{}", relay.log_text());
    assert!(spooled_bytes(&moved_spool) > 0, "the event is not in the unit's spool");
    assert!(gh.state().repository_dispatches.is_empty(), "forwarded before the drain");

    let signal = match one("KillSignal").as_str() {
        "SIGTERM" => libc::SIGTERM,
        "SIGINT" => libc::SIGINT,
        other => panic!("KillSignal={other}: the relay drains on SIGTERM or SIGINT"),
    };
    let timeout: u64 = one("TimeoutStopSec").parse().unwrap();
    let code = relay.stop_with(signal, Duration::from_secs(timeout));
    assert_eq!(code, Some(0), "not drained within TimeoutStopSec={timeout}; log:\n{}", relay.log_text());
    assert!(dispatched(&gh, id).await, "the drain did not forward the spool; log:\n{}", relay.log_text());
    let log = relay.log_text();
    assert!(!log.contains("ghs_unit_token"), "the token reached the log");
    assert!(!log.contains('\u{1b}'), "colour codes in the journal: {log}");
    gh.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fly_config_starts_the_relay_on_its_volume_and_limits_each_client_by_flys_header() {
    let fly: toml::Table = toml::from_str(&deploy_file("fly.toml")).expect("fly.toml is TOML");
    let env = fly["env"].as_table().expect("[env]");
    let var = |k: &str| env[k].as_str().unwrap_or_else(|| panic!("[env] {k}")).to_string();
    let service = fly["http_service"].as_table().expect("[http_service]");
    let port = service["internal_port"].as_integer().unwrap();
    let check = service["checks"].as_array().and_then(|c| c.first()).expect("a health check");
    let mount = fly["mounts"]["destination"].as_str().unwrap();

    // Fly routes to internal_port, and the spool must live on the volume to survive a
    // restart.
    let listen = var("HOMEOSTAT_RELAY_LISTEN");
    assert_eq!(listen, format!("0.0.0.0:{port}"), "the relay listens where Fly routes");
    let spool = var("HOMEOSTAT_RELAY_SPOOL");
    assert!(Path::new(&spool).starts_with(mount), "{spool} is not on the volume at {mount}");

    let gh = github_standin::Standin::start();
    let dir = tempfile::tempdir().unwrap();
    // The image's entry point takes no arguments: everything is in the environment.
    let mut cmd = Relay::command();
    for (key, value) in env {
        cmd.env(key, value.as_str().unwrap());
    }
    let moved_spool = moved(&spool, mount, &dir.path().join("volume"));
    cmd.env("HOMEOSTAT_RELAY_LISTEN", "127.0.0.1:0").env("HOMEOSTAT_RELAY_SPOOL", &moved_spool);
    // `fly secrets set` as the file's comment says; the repository is the stand-in's
    // (fly.toml's is a placeholder); two events a minute per client, to see whose they are.
    cmd.envs([
        ("GITHUB_TOKEN", "ghs_fly_token".to_string()),
        ("HOMEOSTAT_RELAY_PROJECT", format!("1:{KEY}:https://app.example.com")),
        ("GITHUB_REPOSITORY", gh.repo()),
        ("GITHUB_API_URL", gh.url().to_string()),
        ("HOMEOSTAT_RELAY_FORWARD_EVERY", "200ms".to_string()),
        ("HOMEOSTAT_RELAY_PER_CLIENT_PER_MINUTE", "2".to_string()),
    ]);
    let relay = Relay::spawn(cmd, dir.path());

    let client = reqwest::Client::new();
    let path = check["path"].as_str().unwrap();
    let health = client.get(format!("{}{path}", relay.url)).send().await.unwrap();
    assert_eq!(health.status(), 200, "Fly's health check {path}");

    // Every request reaches the relay from Fly's proxy; only the header tells clients apart.
    // (The limit counts per minute: the three must fall in one.)
    not_near_a_minute_boundary().await;
    let first = [
        send(&client, &relay.url, "a0000000000000000000000000000001", Some("203.0.113.1")).await,
        send(&client, &relay.url, "a0000000000000000000000000000002", Some("203.0.113.1")).await,
        send(&client, &relay.url, "a0000000000000000000000000000003", Some("203.0.113.1")).await,
    ];
    assert_eq!(first, [200, 200, 429], "the third event of one client in a minute is refused");
    let other = send(&client, &relay.url, "b0000000000000000000000000000001", Some("198.51.100.7")).await;
    assert_eq!(other, 200, "another client behind the same proxy is not: log:\n{}", relay.log_text());

    assert!(spooled_bytes(&moved_spool) > 0, "nothing spooled on the volume");
    assert!(dispatched(&gh, "b0000000000000000000000000000001").await, "log:\n{}", relay.log_text());
    assert!(!relay.log_text().contains("ghs_fly_token"), "the token reached the log");
    gh.assert_clean();
}
