//! The HTTP side: one hyper service serving the REST routes, GraphQL and the control API
//! under `/_standin/`, with faults applied and every exchange checked and logged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::faults::{self, Fault, FaultKind};
use crate::rest::{self, Answer};
use crate::{Shared, graphql, openapi};

/// One request as the log keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// The query's pairs, decoded, in the order sent.
    pub query: Vec<(String, String)>,
    pub operation: Option<String>,
    /// 0 when the connection was dropped.
    pub status: u16,
    pub fault: Option<FaultKind>,
    pub violations: Vec<String>,
}

/// The connection is closed without an answer (a dropped-connection fault).
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a programmed fault")
    }
}

impl std::error::Error for Dropped {}

pub async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => return,
            a = listener.accept() => a,
        };
        let Ok((stream, _)) = accepted else { continue };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
            let io = hyper_util::rt::TokioIo::new(stream);
            // A dropped connection ends here with an error: that is the point of it.
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
        });
    }
}

fn response(answer: &Answer) -> Response<Full<Bytes>> {
    let body = answer.body.as_ref().map(|b| b.to_string()).unwrap_or_default();
    let mut r = Response::builder().status(answer.status);
    if answer.body.is_some() {
        r = r.header("content-type", "application/json; charset=utf-8");
    }
    r = r.header("x-github-api-version-selected", openapi::API_VERSION);
    for (k, v) in &answer.headers {
        r = r.header(k.as_str(), v.as_str());
    }
    r.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let bytes = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let body: Option<Value> = if bytes.is_empty() {
        None
    } else {
        Some(serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())))
    };
    let query: Vec<(String, String)> = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(&v.replace('+', " ")))
        })
        .collect();
    if let Some(rest) = path.strip_prefix("/_standin/") {
        return Ok(response(&control(&shared, &method, rest, body)));
    }
    let mut log = Logged {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        operation: None,
        status: 0,
        fault: None,
        violations: Vec::new(),
    };
    let matched = if path == "/graphql" {
        log.violations.extend(check_graphql(&headers, body.as_ref()));
        log.operation = Some("graphql".into());
        None
    } else {
        match openapi::shared() {
            Ok(spec) => {
                let (m, bad) = spec.check_request(&method, &path, &query, &headers, body.as_ref());
                log.operation = m.as_ref().map(|m| m.operation_id.clone());
                log.violations.extend(bad);
                m
            }
            Err(e) => {
                log.violations.push(e);
                None
            }
        }
    };
    let fault = shared.faults.lock().ok().and_then(|mut f| faults::take(&mut f, &method, &path));
    log.fault = fault.clone();
    let outcome = answer_with_fault(&shared, fault, &method, &path, &query, body).await;
    if let (Ok(a), Some(m), Ok(spec)) = (&outcome, &matched, openapi::shared()) {
        // Only the stand-in's own answers are checked: a programmed fault is GitHub's
        // infrastructure failing, which the description does not list.
        if log.fault.as_ref().is_none_or(|f| matches!(f, FaultKind::Slow { .. })) {
            log.violations.extend(spec.check_response(m, a.status, a.body.as_ref()));
        }
    }
    log.status = outcome.as_ref().map(|a| a.status).unwrap_or(0);
    if let Ok(mut v) = shared.log.lock() {
        v.push(log);
    }
    outcome.map(|a| response(&a))
}

async fn answer_with_fault(
    shared: &Shared,
    fault: Option<FaultKind>,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: Option<Value>,
) -> Result<Answer, Dropped> {
    let limited = |status: u16, message: &str, extra: Vec<(String, String)>| {
        let mut a = Answer::error(status, message);
        a.headers = extra;
        Ok(a)
    };
    match fault {
        None => Ok(apply(shared, method, path, query, body)),
        Some(FaultKind::Status { status }) => Ok(Answer::error(status, "Server Error")),
        Some(FaultKind::TooMany { retry_after }) => {
            limited(429, "Too Many Requests", vec![("retry-after".into(), retry_after.to_string())])
        }
        Some(FaultKind::Secondary { retry_after }) => limited(
            403,
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            retry_after.map(|s| vec![("retry-after".into(), s.to_string())]).unwrap_or_default(),
        ),
        Some(FaultKind::Primary { reset_in }) => {
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            limited(
                403,
                "API rate limit exceeded for installation.",
                vec![
                    ("x-ratelimit-limit".into(), "5000".into()),
                    ("x-ratelimit-remaining".into(), "0".into()),
                    ("x-ratelimit-reset".into(), (now + reset_in).to_string()),
                ],
            )
        }
        Some(FaultKind::Slow { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(apply(shared, method, path, query, body))
        }
        Some(FaultKind::Drop) => Err(Dropped),
        Some(FaultKind::LandedThenDrop) => {
            apply(shared, method, path, query, body);
            Err(Dropped)
        }
        Some(FaultKind::LandedThen502) => {
            apply(shared, method, path, query, body);
            Ok(Answer::error(502, "Server Error"))
        }
    }
}

/// The request applied to the state.
fn apply(shared: &Shared, method: &str, path: &str, query: &[(String, String)], body: Option<Value>) -> Answer {
    let Ok(mut state) = shared.state.lock() else { return Answer::error(500, "stand-in state poisoned") };
    if path == "/graphql" {
        let body = body.unwrap_or(Value::Null);
        let mutated = crate::git::mutation(&mut state, &body);
        return Answer::json(200, mutated.unwrap_or_else(|| graphql::answer(&state, &body)));
    }
    let segments = path.split('/').filter(|s| !s.is_empty()).map(decode).collect();
    let req = rest::Req {
        method,
        segments,
        query: query.iter().cloned().collect::<BTreeMap<_, _>>(),
        body: body.unwrap_or(Value::Null),
        api: &shared.url,
        path,
    };
    rest::route(&mut state, &req)
}

fn check_graphql(headers: &[(String, String)], body: Option<&Value>) -> Vec<String> {
    let mut bad: Vec<String> = Vec::new();
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("authorization")) {
        bad.push("graphql: Authorization missing".into());
    }
    let Some(query) = body.and_then(|b| b["query"].as_str()) else {
        bad.push("graphql: body has no `query` string".into());
        return bad;
    };
    match graphql::shared() {
        Ok(schema) => bad.extend(schema.check(query).into_iter().map(|e| format!("graphql: {e}"))),
        Err(e) => bad.push(e),
    }
    bad
}

/// The control API: `GET state`, `PUT state`, `POST faults`, `DELETE faults`,
/// `GET requests`, `GET violations`.
fn control(shared: &Shared, method: &str, what: &str, body: Option<Value>) -> Answer {
    let ok = |v: Value| Answer::json(200, v);
    match (method, what.trim_end_matches('/')) {
        ("GET", "state") => {
            shared.state.lock().map(|s| ok(json!(*s))).unwrap_or_else(|_| Answer::error(500, "poisoned"))
        }
        ("PUT", "state") => match body.map(serde_json::from_value) {
            Some(Ok(new)) => {
                if let Ok(mut s) = shared.state.lock() {
                    *s = new;
                }
                ok(json!({"ok": true}))
            }
            _ => Answer::error(400, "body must be a state dump"),
        },
        ("POST", "faults") => {
            let list = match body {
                Some(Value::Array(a)) => a,
                Some(v) => vec![v],
                None => Vec::new(),
            };
            let parsed: Result<Vec<Fault>, _> = list.into_iter().map(serde_json::from_value).collect();
            match parsed {
                Ok(f) => {
                    if let Ok(mut all) = shared.faults.lock() {
                        all.extend(f);
                    }
                    ok(json!({"ok": true}))
                }
                Err(e) => Answer::error(400, &format!("fault: {e}")),
            }
        }
        ("DELETE", "faults") => {
            if let Ok(mut all) = shared.faults.lock() {
                all.clear();
            }
            ok(json!({"ok": true}))
        }
        ("GET", "requests") => ok(json!(shared.log.lock().map(|l| l.clone()).unwrap_or_default())),
        ("GET", "violations") => ok(json!(crate::violations_of(shared))),
        _ => Answer::error(404, "control API: GET|PUT state, POST|DELETE faults, GET requests, GET violations"),
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}
