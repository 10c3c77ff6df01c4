//! A real Prometheus (Debian's `prometheus` package, installed by scripts/test.sh) over a
//! TSDB backfilled with `promtool tsdb create-blocks-from openmetrics`: a bad release is
//! rolled back and a good one promoted, each by a command that really ran.

use super::*;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn tools_present() -> bool {
    let present = ["prometheus", "promtool"]
        .iter()
        .all(|t| Command::new(t).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok());
    if !present {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("prometheus and promtool are missing: scripts/test.sh installs them (apt-get install prometheus)");
        }
        eprintln!("notice: skipping the Prometheus test, `prometheus`/`promtool` are not installed");
    }
    present
}

struct Server {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn start_prometheus(data: &Path, dir: &Path) -> Server {
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global: {}\nscrape_configs: []\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.join("prometheus.log");
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg("--storage.tsdb.retention.time=10y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("prometheus starts");
    let mut server = Server { child, port, log };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if get(port, "/-/ready").is_some_and(|r| r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200")) {
            return server;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("prometheus exited with {status}: {}", std::fs::read_to_string(&server.log).unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "prometheus not ready after 60s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// 40 minutes of per-minute counters, ending over two hours ago (backfilled blocks
/// must not overlap the head block): a stable track, and three canaries.
fn openmetrics(start: i64) -> String {
    let tracks = [("stable", "v1"), ("canary", "good"), ("canary", "bad"), ("canary", "idle")];
    let errors_per_minute = |release: &str, i: i64| -> f64 {
        match release {
            "v1" => 10.0 + ((i * 3) % 5 - 2) as f64,
            "good" => 10.0 + ((i * 3 + 2) % 5 - 2) as f64,
            "bad" if i >= 12 => 90.0,
            "bad" => 10.0,
            _ => 0.0,
        }
    };
    let mut out = String::new();
    for (family, errors) in [("http_requests", false), ("http_errors", true)] {
        out.push_str(&format!("# HELP {family} Requests served.\n# TYPE {family} counter\n"));
        for (track, release) in tracks {
            let mut total = 500.0;
            for i in 0..40 {
                let added = match (errors, release) {
                    (_, "idle") => 0.0,
                    (false, _) => 1000.0,
                    (true, r) => errors_per_minute(r, i),
                };
                total += added;
                out.push_str(&format!(
                    "{family}_total{{track=\"{track}\",release=\"{release}\"}} {total} {}\n",
                    start + 60 * i
                ));
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

fn ratio(release: &str, track: &str) -> String {
    format!(
        "sum(rate(http_errors_total{{track=\"{track}\",release=\"{release}\"}}[5m])) / sum(rate(http_requests_total{{track=\"{track}\",release=\"{release}\"}}[5m]))"
    )
}

fn config(url: &str, at: &str, canary_query: &str, extra_source: &str, limits: &str) -> String {
    format!(
        r#"canary:
  interval: 0s
  count: 10
  failure_limit: 1
  {limits}
  metrics:
    - name: error-rate
      canary: {{prometheus: {{url: "{url}", query: '{canary_query}', at: "{at}", step: 60s{extra_source}}}}}
      baseline: {{prometheus: {{url: "{url}", query: '{baseline}', at: "{at}", step: 60s}}}}
      max: 0.05
      max_increase: 0.5
  on_rollback: {{run: "echo \"$HOMEOSTAT_CANARY_REASON\" > rolled-back"}}
  on_promote: {{run: "echo \"$HOMEOSTAT_CANARY_DECISION\" > promoted"}}
"#,
        baseline = ratio("v1", "stable"),
    )
}

fn run(dir: &Path, name: &str, text: &str, fail_on: &str) -> (i32, serde_json::Value, String) {
    let path = dir.join(format!("{name}.yml"));
    std::fs::write(&path, text).unwrap();
    let work = dir.join(name);
    std::fs::create_dir_all(&work).unwrap();
    let (code, stdout, stderr) = hs_canary(
        &["--config", path.to_str().unwrap(), "--format", "json", "--fail-on", fail_on],
        &work,
        &[("NO_PROXY", "127.0.0.1"), ("no_proxy", "127.0.0.1")],
    );
    let out = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{name}: {e}: {stdout}\n{stderr}"));
    (code, out, stderr)
}

#[test]
fn bad_release_rolled_back_good_release_promoted() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now().as_second();
    let start = (now - 3 * 3600) / 60 * 60;
    let input = tmp.path().join("series.om");
    std::fs::write(&input, openmetrics(start)).unwrap();
    let data = tmp.path().join("data");
    let status = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&data)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "promtool could not backfill");
    let server = start_prometheus(&data, tmp.path());
    let url = format!("http://127.0.0.1:{}", server.port);
    // Measurements at minutes 8..17 of the window: the rate windows are full.
    let at = jiff::Timestamp::from_second(start + 8 * 60).unwrap().to_string();

    // Bad release: its error rate jumps at minute 12 and passes baseline × 1.5.
    let (code, out, stderr) = run(tmp.path(), "bad", &config(&url, &at, &ratio("bad", "canary"), "", ""), "rollback");
    assert_eq!(code, 3, "{out}\n{stderr}");
    assert_eq!(out["decision"], "rollback", "{out}");
    let first = &out["measurements"][0]["metrics"][0];
    assert!((first["canary"].as_f64().unwrap() - 0.01).abs() < 0.002, "{first}");
    assert!((first["baseline"].as_f64().unwrap() - 0.01).abs() < 0.002, "{first}");
    let rolled = std::fs::read_to_string(tmp.path().join("bad/rolled-back")).unwrap();
    assert!(rolled.contains("failed measurements"), "{rolled}");
    assert!(!tmp.path().join("bad/promoted").exists());

    // Good release, read through range queries: promoted, the judge agrees.
    let extra = ", range: 5m, reduce: last";
    let (code, out, stderr) =
        run(tmp.path(), "good", &config(&url, &at, &ratio("good", "canary"), extra, ""), "inconclusive");
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert_eq!(out["decision"], "promote", "{out}");
    assert_eq!(out["measurements"].as_array().unwrap().len(), 10);
    assert_eq!(out["judge"][0]["worse"], false, "{out}");
    assert_eq!(std::fs::read_to_string(tmp.path().join("good/promoted")).unwrap().trim(), "promote");
    assert!(!tmp.path().join("good/rolled-back").exists());

    // Zero traffic: 0/0 is NaN, which is no data, never healthy.
    let (code, out, _) = run(
        tmp.path(),
        "idle",
        &config(&url, &at, &ratio("idle", "canary"), "", "inconclusive_limit: 2"),
        "inconclusive",
    );
    assert_eq!(code, 3);
    assert_eq!(out["decision"], "inconclusive", "{out}");
    assert!(out["measurements"][0]["metrics"][0]["reason"].as_str().unwrap().contains("NaN"), "{out}");
    assert!(!tmp.path().join("idle/promoted").exists() && !tmp.path().join("idle/rolled-back").exists());

    // A query Prometheus rejects (HTTP 400) is a source error: inconclusive, not healthy.
    let (code, out, _) = run(
        tmp.path(),
        "broken",
        &config(&url, &at, "sum(rate(http_errors_total[5m]", "", "consecutive_error_limit: 1"),
        "inconclusive",
    );
    assert_eq!(code, 3);
    assert_eq!(out["decision"], "inconclusive", "{out}");
    let reason = out["measurements"][0]["metrics"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("HTTP 400") && reason.contains("bad_data"), "{reason}");
    drop(server);
}
