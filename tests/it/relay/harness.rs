//! Starting and stopping hs-relay for the tests, all on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_hs-relay");
pub const KEY: &str = "0123456789abcdef0123456789abcdef";

/// A running relay.
pub struct Relay {
    child: Option<Child>,
    pub url: String,
    pub log: PathBuf,
}

/// The config every test starts from; `extra` is appended under `relay:`.
pub fn write_config(dir: &Path, extra: &str) {
    let origins = "[\"https://app.example.com\", \"chrome-extension://abcdefghijklmnop\"]";
    let text = [
        "issues: {max_new_per_run: 500, max_new_per_day: 500, dedup_window: 0s}".to_string(),
        "ledger: {path: ledger.jsonl}".into(),
        "relay:".into(),
        format!("  projects: [{{id: \"1\", public_key: {KEY}, allowed_origins: {origins}}}]"),
        "  spool: spool".into(),
        extra.to_string(),
    ]
    .join("\n");
    std::fs::write(dir.join("homeostat.yml"), text).unwrap();
}

impl Relay {
    /// Starts the relay in `dir` with the local forge in `dir/forge`, on a free port.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Self::command();
        cmd.args(["--config", "homeostat.yml", "--listen", "127.0.0.1:0", "--forge-dir", "forge"]).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::spawn(cmd, dir)
    }

    /// hs-relay with nothing of this process's GitHub environment.
    pub fn command() -> Command {
        let mut cmd = Command::new(BIN);
        cmd.env_remove("GITHUB_TOKEN").env_remove("GITHUB_REPOSITORY").env_remove("GITHUB_ACTIONS");
        cmd
    }

    /// Starts `cmd` (see [`Relay::command`]) in `dir`, its log in `dir`, and waits for the
    /// address it listens on.
    pub fn spawn(mut cmd: Command, dir: &Path) -> Self {
        let n = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
        let log = dir.join(format!("relay-{n}.log"));
        cmd.current_dir(dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("hs-relay listening on ").map(str::to_string).unwrap_or_else(|| {
            panic!("relay did not start: {line:?}\n{}", std::fs::read_to_string(&log).unwrap_or_default())
        });
        Self { child: Some(child), url, log }
    }

    pub fn dsn(&self) -> String {
        self.url.replacen("http://", &format!("http://{KEY}@"), 1) + "/1"
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// kill -9: no chance to flush or forward anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for the drain; returns the exit status code.
    pub fn stop(&mut self) -> Option<i32> {
        self.stop_with(libc::SIGTERM, Duration::from_secs(20))
    }

    /// Sends `signal`, then waits up to `within` for the exit (killed after that: None);
    /// returns the exit status code.
    pub fn stop_with(&mut self, signal: i32, within: Duration) -> Option<i32> {
        let mut c = self.child.take()?;
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        unsafe { libc::kill(c.id() as i32, signal) };
        let started = Instant::now();
        while started.elapsed() < within {
            if let Ok(Some(status)) = c.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `f` until it returns Some or `secs` pass.
pub async fn wait_for<T, F, Fut>(secs: u64, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(secs) {
        if let Some(v) = f().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The relay's /metrics value for `metric` with these labels (None: no such sample).
pub async fn metric(client: &reqwest::Client, relay: &str, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let text = client.get(format!("{relay}/metrics")).send().await.ok()?.text().await.ok()?;
    homeostat::relay::metrics::sum_samples(&text, metric, labels)
}

/// The repository_dispatch calls the local forge recorded.
pub fn dispatches(forge: &Path) -> Vec<serde_json::Value> {
    // A relay killed mid-write leaves a torn line that the next record continues (the
    // local forge's log is not crash-safe; GitHub gets a request whole or not at all):
    // every record is read from where it starts.
    let text = std::fs::read_to_string(forge.join("actions.jsonl")).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        for (at, _) in line.match_indices("{\"action\":") {
            let mut stream = serde_json::Deserializer::from_str(&line[at..]).into_iter::<serde_json::Value>();
            if let Some(Ok(v)) = stream.next()
                && v["action"] == "repository_dispatch"
            {
                out.push(v);
            }
        }
    }
    out
}

/// A Sentry store-endpoint event with this id and message.
pub fn sentry_event(id: &str, message: &str, release: &str) -> serde_json::Value {
    serde_json::json!({
        "event_id": id, "platform": "javascript", "release": release, "environment": "production",
        "exception": {"values": [{"type": "TypeError", "value": message,
            "stacktrace": {"frames": [
                {"function": "main", "filename": "app:///main.js", "lineno": 1, "colno": 1, "in_app": true},
                {"function": "renderNote", "filename": "app:///popup.js", "lineno": 10, "colno": 15, "in_app": true}]}}]}
    })
}

/// The text after the envelope form of one event.
pub fn envelope(id: &str, event: &serde_json::Value) -> String {
    format!("{{\"event_id\":\"{id}\"}}\n{{\"type\":\"event\"}}\n{event}\n")
}

pub fn node_modules() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/npm/node_modules");
    assert!(dir.join("@sentry/node").exists(), "run `npm ci --prefix tests/npm` first: {} is missing", dir.display());
    dir
}
