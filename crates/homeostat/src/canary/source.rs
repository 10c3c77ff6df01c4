//! Where a metric's values come from: Prometheus (instant or range query), a JSON URL
//! and pointer, a command that prints a number, or a file of numbers for replays.
//!
//! Every read ends in a [`Reading`]: a value, no data (empty result, NaN, null: the
//! watch never reads these as healthy), or an error (HTTP, parse, exit status).

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use super::config::{CommandLine, Reduce, SourceConfig};
use crate::error::{Error, Position, Result};

/// One read of one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Reading {
    Value { value: f64 },
    NoData { reason: String },
    Error { reason: String },
}

impl Reading {
    fn value(v: f64) -> Self {
        if v.is_nan() { Self::NoData { reason: "the value is NaN".into() } } else { Self::Value { value: v } }
    }
    fn no_data(reason: impl Into<String>) -> Self {
        Self::NoData { reason: reason.into() }
    }
    fn error(reason: impl Into<String>) -> Self {
        Self::Error { reason: reason.into() }
    }
    pub fn as_value(&self) -> Option<f64> {
        match self {
            Self::Value { value } => Some(*value),
            _ => None,
        }
    }
}

/// A source ready to read: the config resolved, files loaded, a client built.
#[derive(Debug)]
pub enum Source {
    Prometheus {
        client: crate::http::Client,
        config: super::config::PrometheusSource,
        at: Option<jiff::Timestamp>,
        step: StdDuration,
    },
    Http {
        client: crate::http::Client,
        config: super::config::HttpSource,
    },
    Command {
        run: CommandLine,
        timeout: StdDuration,
        dir: PathBuf,
    },
    File {
        path: PathBuf,
        values: Vec<Option<f64>>,
    },
    Relay {
        client: crate::http::Client,
        config: super::config::RelaySource,
    },
}

impl Source {
    /// Prepares `config`; `base` resolves relative paths, `interval` is the default step.
    /// A file that cannot be read or parsed, or a bad timestamp, is bad input (exit 2).
    pub fn open(config: &SourceConfig, base: &Path, interval: StdDuration, at: &str) -> Result<Self> {
        Self::open_with(config, base, interval, &Position::file(at), &crate::gha::Env::default(), &mut Vec::new())
    }

    /// [`Source::open`] with `${NAME}` in headers read from `env`; the values substituted
    /// are pushed to `secrets` so the caller can mask them. Problems are placed at `at`.
    pub fn open_with(
        config: &SourceConfig,
        base: &Path,
        interval: StdDuration,
        at: &Position,
        env: &crate::gha::Env,
        secrets: &mut Vec<String>,
    ) -> Result<Self> {
        let mut header_map = |headers: &std::collections::BTreeMap<String, String>| -> Result<HeaderMap> {
            let mut map = HeaderMap::new();
            for (name, template) in headers {
                let bad = |e: String| Error::input(at.clone(), format!("header `{name}`: {e}"));
                let (text, used) = expand(template, env).map_err(bad)?;
                let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(e.to_string()))?;
                let mut value = HeaderValue::from_str(&text).map_err(|e| bad(e.to_string()))?;
                if used {
                    value.set_sensitive(true);
                    secrets.push(text);
                }
                map.insert(name, value);
            }
            Ok(map)
        };
        let headers = match config {
            SourceConfig::Prometheus(p) => header_map(&p.headers)?,
            SourceConfig::Http(h) => header_map(&h.headers)?,
            _ => HeaderMap::new(),
        };
        // A reading is taken every interval: a 5xx or a dropped connection is tried twice
        // more, briefly, before the reading counts as missing.
        let client = |timeout: StdDuration| {
            let retry = crate::http::RetryPolicy::unpaced(3, StdDuration::from_millis(250), StdDuration::from_secs(10));
            let options = crate::http::ClientOptions::default().headers(headers.clone()).timeout(timeout).retry(retry);
            crate::http::client(options).map_err(Error::Failed)
        };
        Ok(match config {
            SourceConfig::Prometheus(p) => {
                let ts = match &p.at {
                    Some(text) => Some(parse_time(text).map_err(|e| Error::input(at.clone(), e))?),
                    None => None,
                };
                let step = p.step.map(|s| s.as_std()).unwrap_or(interval);
                if p.range.is_some() && step.is_zero() {
                    return Err(Error::input(at.clone(), "a range query needs `step` when the interval is 0s"));
                }
                Self::Prometheus { client: client(p.timeout.as_std())?, config: p.clone(), at: ts, step }
            }
            SourceConfig::Http(h) => {
                if !h.pointer.is_empty() && !h.pointer.starts_with('/') {
                    return Err(Error::input(at.clone(), format!("pointer `{}` must start with `/`", h.pointer)));
                }
                Self::Http { client: client(h.timeout.as_std())?, config: h.clone() }
            }
            SourceConfig::Command(c) => {
                Self::Command { run: c.run.clone(), timeout: c.timeout.as_std(), dir: PathBuf::new() }
            }
            SourceConfig::Relay(r) => {
                if !RELAY_METRICS.contains(&r.metric.as_str()) {
                    let known = RELAY_METRICS.join(", ");
                    return Err(Error::input(at.clone(), format!("relay metric `{}`: use one of {known}", r.metric)));
                }
                Self::Relay { client: client(r.timeout.as_std())?, config: r.clone() }
            }
            SourceConfig::File(f) => {
                let path = if f.path.is_relative() { base.join(&f.path) } else { f.path.clone() };
                let text = crate::error::read_to_string(&path)?;
                let values: Vec<Option<f64>> = crate::parse::json(&path.display().to_string(), &text)?;
                Self::File { path, values }
            }
        })
    }

    /// Reads measurement `index`.
    pub async fn read(&self, index: usize) -> Reading {
        match self {
            Self::File { path, values } => match values.get(index) {
                Some(Some(v)) => Reading::value(*v),
                Some(None) => Reading::no_data(format!("{}[{index}] is null", path.display())),
                None => Reading::no_data(format!("{} has no element {index}", path.display())),
            },
            Self::Prometheus { client, config, at, step } => {
                let time = at.map(|t| t + jiff::SignedDuration::try_from(*step * index as u32).unwrap_or_default());
                prometheus(client, config, time, *step).await
            }
            Self::Http { client, config } => http(client, &config.url, &config.pointer).await,
            Self::Command { run, timeout, dir } => command(run, *timeout, dir).await,
            Self::Relay { client, config } => relay(client, config).await,
        }
    }
}

/// Replaces `${NAME}` with the variable's value; says whether anything was replaced.
/// An unset variable is bad input (it would send an empty credential).
pub fn expand(template: &str, env: &crate::gha::Env) -> std::result::Result<(String, bool), String> {
    let mut out = String::new();
    let mut rest = template;
    let mut used = false;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| format!("unclosed `${{` in `{template}`"))?;
        let name = &after[..end];
        let value = env.get(name).ok_or_else(|| format!("environment variable `{name}` is not set"))?;
        out.push_str(value);
        used = true;
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok((out, used))
}

fn parse_time(text: &str) -> std::result::Result<jiff::Timestamp, String> {
    if let Ok(secs) = text.trim().parse::<f64>() {
        return jiff::Timestamp::from_millisecond((secs * 1000.0) as i64).map_err(|e| e.to_string());
    }
    text.trim()
        .parse::<jiff::Timestamp>()
        .map_err(|e| format!("`{text}` is not an RFC 3339 time or Unix seconds ({e})"))
}

fn unix(t: jiff::Timestamp) -> String {
    format!("{:.3}", t.as_millisecond() as f64 / 1000.0)
}

/// One instant or range query, reduced to a reading.
pub async fn prometheus(
    client: &crate::http::Client,
    config: &super::config::PrometheusSource,
    time: Option<jiff::Timestamp>,
    step: StdDuration,
) -> Reading {
    let base = config.url.trim_end_matches('/');
    let mut form: Vec<(&str, String)> = vec![("query", config.query.clone())];
    let endpoint = match config.range {
        None => {
            if let Some(t) = time {
                form.push(("time", unix(t)));
            }
            "query"
        }
        Some(range) => {
            let end = time.unwrap_or_else(jiff::Timestamp::now);
            let start = end - jiff::SignedDuration::try_from(range.as_std()).unwrap_or_default();
            form.push(("start", unix(start)));
            form.push(("end", unix(end)));
            form.push(("step", format!("{}", step.as_secs_f64().max(0.001))));
            "query_range"
        }
    };
    let url = format!("{base}/api/v1/{endpoint}");
    // A query changes nothing: safe to send again.
    let response = match client.post(&url).with_extension(crate::http::Idempotent).form(&form).send().await {
        Ok(r) => r,
        Err(e) => return Reading::error(format!("prometheus {url}: {}", crate::http::describe(&e))),
    };
    let status = response.status();
    let body: serde_json::Value = match response.json().await {
        Ok(b) => b,
        Err(e) => {
            return Reading::error(format!(
                "prometheus {url}: HTTP {status}, body is not JSON: {}",
                crate::http::describe_reqwest(&e)
            ));
        }
    };
    if !status.is_success() || body["status"] != "success" {
        let kind = body["errorType"].as_str().unwrap_or("error");
        let message = body["error"].as_str().unwrap_or("no message");
        return Reading::error(format!("prometheus {url}: HTTP {}: {kind}: {message}", status.as_u16()));
    }
    parse_prometheus(&body["data"], config.reduce)
}

/// Reads a Prometheus `data` object (vector, matrix, scalar) as one reading.
pub fn parse_prometheus(data: &serde_json::Value, reduce: Reduce) -> Reading {
    let sample = |pair: &serde_json::Value| -> std::result::Result<f64, String> {
        let text = pair.get(1).and_then(|v| v.as_str()).ok_or_else(|| format!("unexpected sample {pair}"))?;
        parse_number(text)
    };
    let result = &data["result"];
    match data["resultType"].as_str() {
        Some("scalar") => match sample(result) {
            Ok(v) => Reading::value(v),
            Err(e) => Reading::error(e),
        },
        Some("vector") => {
            let Some(series) = result.as_array() else { return Reading::error("vector result is not a list") };
            match series.as_slice() {
                [] => Reading::no_data("the query returned no series (no traffic, or an unknown metric)"),
                [one] => match sample(&one["value"]) {
                    Ok(v) => Reading::value(v),
                    Err(e) => Reading::error(e),
                },
                many => {
                    Reading::error(format!("the query returned {} series; aggregate it to one (sum, avg)", many.len()))
                }
            }
        }
        Some("matrix") => {
            let Some(series) = result.as_array() else { return Reading::error("matrix result is not a list") };
            match series.as_slice() {
                [] => Reading::no_data("the query returned no series (no traffic, or an unknown metric)"),
                [one] => {
                    let mut values = Vec::new();
                    for pair in one["values"].as_array().map(Vec::as_slice).unwrap_or_default() {
                        match sample(pair) {
                            Ok(v) if !v.is_nan() => values.push(v),
                            Ok(_) => {}
                            Err(e) => return Reading::error(e),
                        }
                    }
                    match reduce_values(&values, reduce) {
                        Some(v) => Reading::value(v),
                        None => Reading::no_data("the range holds no samples (or only NaN)"),
                    }
                }
                many => {
                    Reading::error(format!("the query returned {} series; aggregate it to one (sum, avg)", many.len()))
                }
            }
        }
        other => Reading::error(format!("unsupported result type {other:?}")),
    }
}

fn reduce_values(values: &[f64], reduce: Reduce) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match reduce {
        Reduce::Last => values[values.len() - 1],
        Reduce::Mean => values.iter().sum::<f64>() / values.len() as f64,
        Reduce::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Reduce::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
    })
}

/// A number as Prometheus and people write it: `0.5`, `NaN`, `+Inf`, `-Inf`.
pub fn parse_number(text: &str) -> std::result::Result<f64, String> {
    match text.trim() {
        "NaN" | "nan" => Ok(f64::NAN),
        "+Inf" | "Inf" | "inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        t => t.parse::<f64>().map_err(|_| format!("`{}` is not a number", t.chars().take(80).collect::<String>())),
    }
}

async fn http(client: &crate::http::Client, url: &str, pointer: &str) -> Reading {
    let response = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => return Reading::error(format!("{url}: {}", crate::http::describe(&e))),
    };
    let status = response.status();
    if !status.is_success() {
        return Reading::error(format!("{url}: HTTP {}", status.as_u16()));
    }
    let body: serde_json::Value = match response.json().await {
        Ok(b) => b,
        Err(e) => return Reading::error(format!("{url}: body is not JSON: {}", crate::http::describe_reqwest(&e))),
    };
    json_value(&body, pointer)
}

/// What the `relay:` source reads: counters and gauges of `/metrics` by their short name,
/// and `unhealthy_session_share`, the share of the release's sessions that had an error,
/// crashed or ended abnormally (its error rate, whatever its share of the traffic).
const RELAY_METRICS: [&str; 5] =
    ["events_last_minute", "events_total", "fingerprints", "sessions_total", "unhealthy_session_share"];

/// A release's figure from hs-relay's `/metrics`. A relay that answers but has no sample
/// for the release has seen none of its errors: a count reads as 0; a share of sessions
/// it has none of is no data yet.
async fn relay(client: &crate::http::Client, config: &super::config::RelaySource) -> Reading {
    let url = format!("{}/metrics", config.url.trim_end_matches('/'));
    let text = match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => match r.text().await {
            Ok(t) => t,
            Err(e) => return Reading::error(format!("{url}: {}", crate::http::describe_reqwest(&e))),
        },
        Ok(r) => return Reading::error(format!("{url}: HTTP {}", r.status().as_u16())),
        Err(e) => return Reading::error(format!("{url}: {}", crate::http::describe(&e))),
    };
    let mut want = vec![("release", config.release.as_str())];
    if let Some(e) = config.environment.as_deref().filter(|_| config.metric != "fingerprints") {
        want.push(("environment", e));
    }
    if let Some(p) = &config.project {
        want.push(("project", p.as_str()));
    }
    let read = |name: &str| {
        let metric = format!("homeostat_relay_{name}");
        if !text.contains(&format!("# TYPE {metric} ")) {
            return Err(Reading::error(format!("{url} has no {metric}: is it hs-relay?")));
        }
        Ok(crate::relay::metrics::sum_samples(&text, &metric, &want).unwrap_or(0.0))
    };
    if config.metric == "unhealthy_session_share" {
        return match (read("sessions_unhealthy_total"), read("sessions_total")) {
            (Ok(_), Ok(started)) if started <= 0.0 => {
                Reading::no_data(format!("no sessions of release {} yet", config.release))
            }
            (Ok(unhealthy), Ok(started)) => Reading::value(unhealthy / started),
            (Err(e), _) | (_, Err(e)) => e,
        };
    }
    read(&config.metric).map_or_else(|e| e, Reading::value)
}

/// The number at `pointer` in `body`: null or missing is no data, anything else not a
/// number is an error.
pub fn json_value(body: &serde_json::Value, pointer: &str) -> Reading {
    match body.pointer(pointer) {
        None => Reading::no_data(format!("nothing at {pointer}")),
        Some(serde_json::Value::Null) => Reading::no_data(format!("null at {pointer}")),
        Some(serde_json::Value::Number(n)) => {
            n.as_f64().map_or_else(|| Reading::error("number out of range"), Reading::value)
        }
        Some(serde_json::Value::String(s)) => match parse_number(s) {
            Ok(v) => Reading::value(v),
            Err(e) => Reading::error(format!("{pointer}: {e}")),
        },
        Some(other) => Reading::error(format!("{pointer} is not a number: {}", kind_of(other))),
    }
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
        _ => "a value",
    }
}

/// Builds the process for a command line: `sh -c LINE` or the argument list as is.
pub fn build_command(run: &CommandLine, dir: &Path) -> Option<tokio::process::Command> {
    let mut cmd = match run {
        CommandLine::Shell(line) => {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(line);
            c
        }
        CommandLine::Args(args) => {
            let (program, rest) = args.split_first()?;
            let mut c = tokio::process::Command::new(program);
            c.args(rest);
            c
        }
    };
    if !dir.as_os_str().is_empty() {
        cmd.current_dir(dir);
    }
    cmd.kill_on_drop(true);
    Some(cmd)
}

async fn command(run: &CommandLine, timeout: StdDuration, dir: &Path) -> Reading {
    let Some(mut cmd) = build_command(run, dir) else { return Reading::error("empty command") };
    cmd.stdin(std::process::Stdio::null());
    let output = match tokio::time::timeout(timeout, cmd.output()).await {
        Err(_) => return Reading::error(format!("command timed out after {}s", timeout.as_secs())),
        Ok(Err(e)) => return Reading::error(format!("command could not start: {e}")),
        Ok(Ok(o)) => o,
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("").chars().take(200).collect::<String>();
        return Reading::error(format!("command exited with {}: {last}", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let text = stdout.trim();
    if text.is_empty() || text == "null" {
        return Reading::no_data("the command printed nothing");
    }
    match parse_number(text.lines().last().unwrap_or(text)) {
        Ok(v) => Reading::value(v),
        Err(e) => Reading::error(format!("command output: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prometheus_shapes() {
        let v = json!({"resultType":"vector","result":[{"metric":{},"value":[1.0,"0.25"]}]});
        assert_eq!(parse_prometheus(&v, Reduce::Last), Reading::Value { value: 0.25 });
        let nan = json!({"resultType":"vector","result":[{"metric":{},"value":[1.0,"NaN"]}]});
        assert!(matches!(parse_prometheus(&nan, Reduce::Last), Reading::NoData { .. }));
        let empty = json!({"resultType":"vector","result":[]});
        assert!(matches!(parse_prometheus(&empty, Reduce::Last), Reading::NoData { .. }));
        let two = json!({"resultType":"vector","result":[{"value":[1,"1"]},{"value":[1,"2"]}]});
        assert!(matches!(parse_prometheus(&two, Reduce::Last), Reading::Error { .. }));
        let m = json!({"resultType":"matrix","result":[{"values":[[1,"1"],[2,"NaN"],[3,"3"]]}]});
        assert_eq!(parse_prometheus(&m, Reduce::Mean), Reading::Value { value: 2.0 });
        assert_eq!(parse_prometheus(&m, Reduce::Last), Reading::Value { value: 3.0 });
        let s = json!({"resultType":"scalar","result":[1,"+Inf"]});
        assert_eq!(parse_prometheus(&s, Reduce::Last), Reading::Value { value: f64::INFINITY });
    }

    #[test]
    fn json_pointer_values() {
        let body = json!({"a": {"rate": 0.5, "s": "0.25", "n": null, "b": true}});
        assert_eq!(json_value(&body, "/a/rate"), Reading::Value { value: 0.5 });
        assert_eq!(json_value(&body, "/a/s"), Reading::Value { value: 0.25 });
        assert!(matches!(json_value(&body, "/a/n"), Reading::NoData { .. }));
        assert!(matches!(json_value(&body, "/a/x"), Reading::NoData { .. }));
        assert!(matches!(json_value(&body, "/a/b"), Reading::Error { .. }));
    }

    #[tokio::test]
    async fn command_source_reads_numbers_and_errors() {
        let dir = Path::new("");
        let t = StdDuration::from_secs(5);
        assert_eq!(command(&CommandLine::Shell("echo 0.125".into()), t, dir).await, Reading::Value { value: 0.125 });
        assert!(matches!(command(&CommandLine::Shell("exit 3".into()), t, dir).await, Reading::Error { .. }));
        assert!(matches!(command(&CommandLine::Shell("echo NaN".into()), t, dir).await, Reading::NoData { .. }));
        assert!(matches!(command(&CommandLine::Shell("echo".into()), t, dir).await, Reading::NoData { .. }));
        let args = CommandLine::Args(vec!["printf".into(), "%s".into(), "7".into()]);
        assert_eq!(command(&args, t, dir).await, Reading::Value { value: 7.0 });
    }

    #[tokio::test]
    async fn http_source_reads_a_pointer_and_reports_http_errors() {
        use wiremock::matchers::path;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(path("/ok"))
            .and(wiremock::matchers::header("authorization", "Bearer s3cret"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"error_rate": 0.02}})))
            .mount(&server)
            .await;
        Mock::given(path("/down")).respond_with(ResponseTemplate::new(503)).mount(&server).await;
        let open = |url: String| {
            let cfg = SourceConfig::Http(super::super::config::HttpSource {
                url,
                pointer: "/data/error_rate".into(),
                headers: [("Authorization".to_string(), "Bearer ${TEST_TOKEN}".to_string())].into(),
                timeout: crate::settings::Duration::from_secs(5),
            });
            let env = crate::gha::Env::from_pairs([("TEST_TOKEN", "s3cret")]);
            let mut secrets = Vec::new();
            let src =
                Source::open_with(&cfg, Path::new(""), StdDuration::ZERO, &Position::file("t.yml"), &env, &mut secrets)
                    .unwrap();
            assert_eq!(secrets, ["Bearer s3cret"]);
            src
        };
        assert_eq!(open(format!("{}/ok", server.uri())).read(0).await, Reading::Value { value: 0.02 });
        let down = open(format!("{}/down", server.uri())).read(0).await;
        assert!(matches!(&down, Reading::Error { reason } if reason.contains("HTTP 503")), "{down:?}");
    }

    #[test]
    fn unset_header_variables_are_bad_input() {
        let env = crate::gha::Env::from_pairs([("A", "1")]);
        assert_eq!(expand("x ${A} y", &env).unwrap(), ("x 1 y".to_string(), true));
        assert_eq!(expand("plain", &env).unwrap(), ("plain".to_string(), false));
        assert!(expand("${B}", &env).unwrap_err().contains("`B` is not set"));
        assert!(expand("${A", &env).is_err());
    }

    #[tokio::test]
    async fn prometheus_errors_are_errors_not_health() {
        use wiremock::matchers::path;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(path("/api/v1/query"))
            .respond_with(ResponseTemplate::new(422).set_body_json(
                json!({"status": "error", "errorType": "execution", "error": "many-to-many matching not allowed"}),
            ))
            .mount(&server)
            .await;
        let cfg: SourceConfig =
            crate::parse::yaml("t.yml", &format!("prometheus: {{url: '{}', query: 'up'}}", server.uri())).unwrap();
        let src = Source::open(&cfg, Path::new(""), StdDuration::from_secs(60), "t.yml").unwrap();
        let r = src.read(0).await;
        assert!(matches!(&r, Reading::Error { reason } if reason.contains("HTTP 422: execution")), "{r:?}");
        let dead: SourceConfig =
            crate::parse::yaml("t.yml", "prometheus: {url: 'http://127.0.0.1:9', query: 'up', timeout: 2s}").unwrap();
        let r = Source::open(&dead, Path::new(""), StdDuration::from_secs(60), "t.yml").unwrap().read(0).await;
        assert!(matches!(r, Reading::Error { .. }), "{r:?}");
    }
}
