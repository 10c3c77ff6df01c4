//! What the hs-ops tests run against: a tiny service on 127.0.0.1, a world of local forge
//! and ledger in a temp dir, alerts, and an `Ops` for a mode.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use homeostat::forge::local::LocalForge;
use homeostat::ledger::Ledger;
use homeostat::ops::{self, Alert, Mode, Ops, OpsConfig};
use serde_json::{Value, json};

use crate::support::http;

pub(super) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ops")
}

/// A tiny service: `GET /health` answers 503 until `POST /restart` (202) heals it, unless
/// it is broken for good. Every request is recorded as `METHOD /path body`.
pub(super) struct App {
    pub(super) url: String,
    pub(super) healthy: Arc<AtomicBool>,
    pub(super) fixable: Arc<AtomicBool>,
    pub(super) requests: Arc<Mutex<Vec<String>>>,
}

impl App {
    pub(super) fn start() -> App {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let healthy = Arc::new(AtomicBool::new(false));
        let fixable = Arc::new(AtomicBool::new(true));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (h, f, r) = (healthy.clone(), fixable.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some((method, path, body)) = http::read_request(&stream) else { continue };
                r.lock()
                    .unwrap()
                    .push(format!("{method} {path} {}", String::from_utf8_lossy(&body)).trim().to_string());
                let (status, text) = match (method.as_str(), path.as_str()) {
                    ("GET", "/health") if h.load(Ordering::SeqCst) => (200, "{\"status\":\"ok\"}"),
                    ("GET", "/health") => (503, "{\"status\":\"down\"}"),
                    ("POST", "/restart") => {
                        if f.load(Ordering::SeqCst) {
                            h.store(true, Ordering::SeqCst);
                        }
                        (202, "{\"restarting\":true}")
                    }
                    ("POST", "/hook") => (200, "ok"),
                    _ => (404, "{}"),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        App { url, healthy, fixable, requests }
    }

    pub(super) fn restarts(&self) -> usize {
        self.requests.lock().unwrap().iter().filter(|r| r.starts_with("POST /restart")).count()
    }
}

pub(super) fn config(app: &App, mode: Mode) -> OpsConfig {
    OpsConfig {
        mode,
        sops: fixtures().join("sops"),
        allow_hosts: vec!["127.0.0.1:*".into()],
        vars: BTreeMap::from([("APP_URL".to_string(), app.url.clone())]),
        ..OpsConfig::default()
    }
}

pub(super) struct World {
    _dir: tempfile::TempDir,
    pub(super) forge: LocalForge,
    pub(super) forge_dir: PathBuf,
    pub(super) ledger: Ledger,
}

pub(super) fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let forge_dir = dir.path().join("forge");
    let forge = LocalForge::open(&forge_dir).unwrap();
    let ledger = Ledger::open(dir.path().join("ledger.jsonl"));
    World { _dir: dir, forge, forge_dir, ledger }
}

pub(super) fn ops_for<'a>(w: &'a World, app: &App, mode: Mode) -> Ops<'a> {
    let config = config(app, mode);
    let runbooks = ops::runbook::load(Some(&config.sops)).unwrap();
    Ops::new(config, runbooks, &w.forge, w.ledger.clone(), homeostat::gha::Env::default()).unwrap()
}

pub(super) fn alert(name: &str, labels: &[(&str, &str)]) -> Alert {
    let mut labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    labels.insert("alertname".into(), name.into());
    let text = json!({"alertname": name, "severity": "critical", "labels": labels}).to_string();
    ops::alert::parse("alert.json", &text).unwrap().remove(0)
}

pub(super) fn runs(ledger: &Ledger) -> Vec<homeostat::ledger::Entry> {
    ledger.entries().unwrap().into_iter().filter(|e| e.kind == "ops.run").collect()
}
pub(super) fn add_comment(forge_dir: &Path, number: u64, author: &str, body: &str) {
    let path = forge_dir.join(format!("issues/{number}.json"));
    let mut issue: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let comments = issue["comments"].as_array_mut().unwrap();
    let id = 1000 + comments.len() as u64;
    comments.push(json!({"id": id, "body": body, "author": author, "created_at": "2026-11-23T00:00:00Z"}));
    std::fs::write(&path, serde_json::to_string_pretty(&issue).unwrap()).unwrap();
}
