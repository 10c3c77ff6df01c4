//! What the relay tests run beside it: a page for a real browser, a GitHub dispatch
//! stand-in that fails for a while, a real redis-server, slow clients.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn serve(app: axum::Router) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

pub fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        let out = Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().ok()?;
        out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
}

/// A page that loads @sentry/browser (bundled by esbuild), throws, and sends what a
/// feedback form would.
pub struct Page {
    pub port: u16,
}

const ENTRY: &str = r#"
import * as Sentry from "@sentry/browser";
const dsn = new URLSearchParams(location.search).get("dsn");
Sentry.init({ dsn, release: "1.4.2", environment: "production" });
function renderNote(note) { return note.id; }
try { renderNote(undefined); } catch (e) { Sentry.captureException(e); }
Sentry.captureFeedback({ message: "The notes list is empty after I sign in", name: "Reader", email: "reader@example.com" });
"#;

impl Page {
    pub async fn start(dir: &Path, node_modules: &Path) -> Self {
        let entry = node_modules.parent().unwrap().join("relay-browser-entry.mjs");
        std::fs::write(&entry, ENTRY).unwrap();
        let bundle = dir.join("bundle.js");
        let out = Command::new(node_modules.join(".bin/esbuild"))
            .arg(&entry)
            .args(["--bundle", "--format=iife", "--log-level=warning"])
            .arg(format!("--outfile={}", bundle.display()))
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&entry);
        assert!(out.status.success(), "esbuild: {}", String::from_utf8_lossy(&out.stderr));
        let js = std::fs::read_to_string(&bundle).unwrap();
        let html = format!("<!doctype html><html><body><p>notes</p><script>{js}</script></body></html>");
        let app = axum::Router::new().route("/", get(move || async move { axum::response::Html(html.clone()) }));
        Self { port: serve(app).await }
    }
}

/// Headless Chromium (its own process group, all of it killed when dropped).
pub struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
        let _ = self.0.wait();
    }
}

/// Headless Chromium on `url`, until dropped.
pub fn open_page(chromium: &Path, url: &str, dir: &Path) -> Browser {
    use std::os::unix::process::CommandExt;
    let profile = tempfile::tempdir_in(dir).unwrap().keep();
    let child = Command::new(chromium)
        .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Browser(child)
}

/// GitHub's `POST /repos/{owner}/{repo}/dispatches`, answering 503 for `fail_for`.
pub struct DispatchStandIn {
    pub url: String,
    state: Arc<Mutex<StandIn>>,
}

#[derive(Default)]
struct StandIn {
    received: Vec<Value>,
    refused: usize,
    tokens: Vec<String>,
}

impl DispatchStandIn {
    /// Fails for `fail_for` from the first request it gets.
    pub async fn start(fail_for: Duration) -> Self {
        let state = Arc::new(Mutex::new(StandIn::default()));
        let first: Arc<Mutex<Option<Instant>>> = Arc::default();
        let s = state.clone();
        let app = axum::Router::new().route(
            "/repos/{owner}/{repo}/dispatches",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let (s, first) = (s.clone(), first.clone());
                async move {
                    let mut s = s.lock().unwrap();
                    let started = *first.lock().unwrap().get_or_insert_with(Instant::now);
                    if started.elapsed() < fail_for {
                        s.refused += 1;
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let token = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
                    s.tokens.push(token.trim_start_matches("Bearer ").trim_start_matches("token ").to_string());
                    match serde_json::from_str::<Value>(&body) {
                        Ok(v)
                            if v["event_type"] == "production-error" && v.as_object().is_some_and(|o| o.len() == 2) =>
                        {
                            s.received.push(v);
                            axum::http::StatusCode::NO_CONTENT
                        }
                        _ => axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    }
                }
            }),
        );
        Self { url: format!("http://127.0.0.1:{}", serve(app).await), state }
    }
    pub fn received(&self) -> Vec<Value> {
        self.state.lock().unwrap().received.clone()
    }
    pub fn refused(&self) -> usize {
        self.state.lock().unwrap().refused
    }
    pub fn tokens(&self) -> Vec<String> {
        self.state.lock().unwrap().tokens.clone()
    }
}

/// A redis-server on a free 127.0.0.1 port, stopped when dropped.
pub struct Redis {
    child: Child,
    pub url: String,
}

impl Redis {
    pub fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = Self { child, url: format!("redis://127.0.0.1:{port}") };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(redis)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn not_near_a_minute_boundary() {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    if secs % 60 > 50 {
        tokio::time::sleep(Duration::from_secs(61 - secs % 60)).await;
    }
}

/// How one slow client ended.
#[derive(Debug)]
pub struct Outcome {
    pub status: Option<u16>,
    pub closed_within: Duration,
}

/// `n` slow clients: half dribble their headers, half their body, a byte every 200 ms.
pub async fn slowloris(url: &str, n: usize) -> tokio::task::JoinHandle<Vec<Outcome>> {
    let addr = url.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..n {
            let addr = addr.clone();
            set.spawn(async move {
                let started = Instant::now();
                let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
                let (head, body): (String, &str) = if i % 2 == 0 {
                    ("POST /api/1/store/ HTTP/1.1\r\nHost: x\r\nX-Padding: ".into(), "")
                } else {
                    let head = format!(
                        "POST /api/1/store/?sentry_key={} HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n",
                        super::harness::KEY
                    );
                    (head, "{\"message\":")
                };
                let slow: Vec<u8> = if body.is_empty() {
                    b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec()
                } else {
                    stream.write_all(head.as_bytes()).await.unwrap();
                    body.bytes().chain(std::iter::repeat_n(b' ', 40)).collect()
                };
                if body.is_empty() {
                    let _ = stream.write_all(head.as_bytes()).await;
                }
                for b in slow {
                    if stream.write_all(&[b]).await.is_err() {
                        break;
                    }
                    let mut buf = [0u8; 512];
                    if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
                        let text = String::from_utf8_lossy(&buf[..n]).to_string();
                        let status = text.split(' ').nth(1).and_then(|s| s.parse().ok());
                        return Outcome { status, closed_within: started.elapsed() };
                    }
                }
                Outcome { status: None, closed_within: started.elapsed() }
            });
        }
        let mut out = Vec::new();
        while let Some(o) = set.join_next().await {
            out.push(o.unwrap());
        }
        out
    })
}
