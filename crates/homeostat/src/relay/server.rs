//! The HTTP side: routes, keys, origins, body limits, slow clients, answers.
//!
//! Connections are served by hyper directly so a client that dawdles over its headers is
//! cut off (`read_timeout`), and bodies are read under the same deadline; a semaphore caps
//! open connections so slow clients cannot starve the others.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::RelayError;
use super::config::{ProjectConfig, RelayConfig};
use super::envelope;
use super::ingest::{self, Items, Record};
use super::limits::{Check, Limiter, Recent, now_secs};
use super::metrics::Metrics;
use super::spool::Spool;
use crate::fingerprint::Engine;
use crate::scrub::Scrubber;
use crate::settings::Config;

/// Open connections at most; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 2048;
/// What a refused request's body may still take to read before the answer (see `drain`).
const DRAIN_MAX_BYTES: usize = 4 << 20;
const DRAIN_WITHIN: Duration = Duration::from_secs(2);
/// Alertmanager messages are forwarded whole in one dispatch.
const ALERT_MAX_BYTES: usize = 60_000;

/// Everything a request needs.
pub struct State {
    pub relay: RelayConfig,
    pub spool: Spool,
    pub metrics: Arc<Metrics>,
    limiter: Limiter,
    /// Fingerprints of the events stored in the last hour, by `project:event id`: user
    /// feedback about an event names it, and its issue can then name the error's.
    fingerprints: std::sync::Mutex<Recent<u64>>,
    engine: Engine,
    scrubber: Scrubber,
}

/// How long and how many event fingerprints are kept for feedback about the events: a
/// user answers a crash dialog within minutes; 50,000 take about 2 MB.
const FINGERPRINTS_WINDOW_SECS: u64 = 3600;
const FINGERPRINTS_KEPT: usize = 50_000;

/// The client's address, set per connection.
#[derive(Clone, Copy)]
struct Client(SocketAddr);

impl State {
    pub async fn open(config: &Config, relay: RelayConfig) -> crate::Result<Arc<Self>> {
        let engine = crate::input::engine_for(config, None)?;
        let scrubber = crate::scrub::config_scrubber(config)?;
        let spool = Spool::open(&relay.spool, relay.spool_max_bytes)?;
        let limiter = Limiter::open(relay.redis.as_deref()).await?;
        let fingerprints = std::sync::Mutex::new(Recent::new(FINGERPRINTS_WINDOW_SECS, FINGERPRINTS_KEPT));
        Ok(Arc::new(Self { relay, spool, metrics: Arc::default(), limiter, fingerprints, engine, scrubber }))
    }
}

/// The routes.
pub fn router(state: Arc<State>) -> Router {
    let sentry = |endpoint: &'static str| {
        let s1 = state.clone();
        let s2 = state.clone();
        post(move |path, query, req| sentry_endpoint(s1.clone(), endpoint, path, query, req))
            .options(move |path, req| preflight(s2.clone(), path, req))
    };
    let (s_events, s_alerts, s_metrics) = (state.clone(), state.clone(), state.clone());
    Router::new()
        .route("/api/{project}/envelope/", sentry("envelope"))
        .route("/api/{project}/envelope", sentry("envelope"))
        .route("/api/{project}/store/", sentry("store"))
        .route("/api/{project}/store", sentry("store"))
        .route("/v1/events", post(move |req| canonical_endpoint(s_events.clone(), req)))
        .route("/v1/alerts", post(move |req| alerts_endpoint(s_alerts.clone(), req)))
        .route("/metrics", get(move || async move { metrics_endpoint(&s_metrics) }))
        .route("/healthz", get(|| async { "ok\n" }))
}

/// The relay's counters and the process's own figures, in Prometheus text format.
fn metrics_endpoint(state: &State) -> Response {
    let mut text = state.metrics.render(state.spool.backlog());
    if let Some(process) = super::process::ProcessStats::read() {
        process.render(&mut text);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// Accepts connections until `stop`, then lets open requests finish (a few seconds).
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<State>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let read_timeout = state.relay.read_timeout.as_std().max(Duration::from_millis(100));
    let app = router(state);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut open = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.changed() => break,
        };
        let (stream, addr) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut stop = stop.clone();
        open.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(Client(addr));
                let mut app = app.clone();
                async move { tower::Service::call(&mut app, req.map(Body::new)).await }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(read_timeout)
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
        while open.try_join_next().is_some() {}
    }
    let _ = tokio::time::timeout(Duration::from_secs(6), async { while open.join_next().await.is_some() {} }).await;
}

fn client_ip(state: &State, parts: &axum::http::request::Parts) -> String {
    if let Some(name) = &state.relay.client_ip_header
        && let Some(value) = header_str(&parts.headers, name.as_str())
        && let Some(last) = value.rsplit(',').next().map(str::trim).filter(|v| !v.is_empty())
    {
        return last.to_string();
    }
    parts.extensions.get::<Client>().map(|c| c.0.ip().to_string()).unwrap_or_default()
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads the body within the size cap and the read deadline.
async fn read_body(state: &State, body: &mut Body) -> Result<Bytes, RelayError> {
    use http_body_util::BodyExt;
    let max = state.relay.limits.max_body_bytes;
    let read = http_body_util::Limited::new(body, max).collect();
    match tokio::time::timeout(state.relay.read_timeout.as_std(), read).await {
        Err(_) => Err(RelayError::Timeout("the body did not arrive in time".into())),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(RelayError::TooLarge(format!("body is over {max} bytes")))
        }
        Ok(Err(e)) => Err(RelayError::BadRequest(format!("body: {e}"))),
    }
}

/// The JSON answer of an ingest endpoint, or its refusal once the body is drained.
async fn answer(state: &State, result: Result<serde_json::Value, RelayError>, body: Body) -> Response {
    match result {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(e) => {
            drain(state, &e, body).await;
            refusal(state, &e)
        }
    }
}

/// After a refusal, what is left of the body is read and thrown away (bounded in bytes and
/// time): a socket closed with unread data makes the kernel send a reset, and the SDK would
/// see a broken connection instead of the status it acts on (413, 401, 429 with its wait).
/// A client too slow for the read deadline is not waited for again.
async fn drain(state: &State, refused: &RelayError, body: Body) {
    use http_body_util::BodyExt;
    if matches!(refused, RelayError::Timeout(_)) {
        return;
    }
    let deadline = state.relay.read_timeout.as_std().min(DRAIN_WITHIN);
    let discard = async {
        let mut body = body;
        let mut seen = 0usize;
        while seen <= DRAIN_MAX_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(deadline, discard).await;
}

/// Refuses a browser whose origin the project does not allow; otherwise the CORS headers
/// to answer it with.
fn cors(project: &ProjectConfig, headers: &HeaderMap) -> Result<Option<HeaderValue>, RelayError> {
    let Some(origin) = headers.get(header::ORIGIN) else { return Ok(None) };
    let text = origin.to_str().unwrap_or("");
    if project.allows_origin(text) {
        Ok(Some(origin.clone()))
    } else {
        Err(RelayError::Forbidden(format!("origin `{text}` is not allowed for project {}", project.id)))
    }
}

fn with_cors(mut response: Response, origin: Option<HeaderValue>) -> Response {
    if let Some(origin) = origin {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("x-sentry-error, x-sentry-rate-limits, retry-after"),
        );
    }
    response
}

/// The answer for a refusal, in the shape Sentry's SDKs read.
fn refusal(state: &State, e: &RelayError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let reason = match e {
        RelayError::RateLimited { scope, .. } => format!("rate limited ({scope})"),
        _ => status.canonical_reason().unwrap_or("").to_ascii_lowercase(),
    };
    state.metrics.refused(e.status(), &reason);
    let mut response = (status, axum::Json(serde_json::json!({ "detail": e.to_string() }))).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&e.to_string()) {
        h.insert("x-sentry-error", v);
    }
    if let RelayError::RateLimited { retry_after, scope } = e {
        // Sentry's form: retry_after:categories:scope — the SDKs pause error events.
        let sentry_scope = if *scope == "client" { "key" } else { "project" };
        if let Ok(v) = HeaderValue::from_str(&format!("{retry_after}:error;default:{sentry_scope}")) {
            h.insert("x-sentry-rate-limits", v);
        }
        h.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
    }
    response
}

fn project<'a>(state: &'a State, id: &str) -> Result<&'a ProjectConfig, RelayError> {
    state.relay.project(id).ok_or_else(|| RelayError::Unauthorized(format!("unknown project `{id}`")))
}

async fn preflight(state: Arc<State>, Path(id): Path<String>, req: Request) -> Response {
    let outcome = project(&state, &id).and_then(|p| cors(p, req.headers()));
    match outcome {
        Ok(origin) => {
            let mut r = with_cors(StatusCode::OK.into_response(), origin);
            let h = r.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(
                    "content-type, x-sentry-auth, authorization, content-encoding, sentry-trace, baggage",
                ),
            );
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
            r
        }
        Err(e) => refusal(&state, &e),
    }
}

async fn sentry_endpoint(
    state: Arc<State>,
    endpoint: &'static str,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    req: Request,
) -> Response {
    let mut origin = None;
    let (parts, mut body) = req.into_parts();
    let result = async {
        let project = project(&state, &id)?;
        origin = cors(project, &parts.headers)?;
        let headers = &parts.headers;
        let client = client_ip(&state, &parts);
        let declared = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > state.relay.limits.max_body_bytes) {
            return Err(RelayError::TooLarge(format!("body is over {} bytes", state.relay.limits.max_body_bytes)));
        }
        let mut key = header_str(headers, "x-sentry-auth")
            .or_else(|| header_str(headers, header::AUTHORIZATION))
            .and_then(envelope::auth_key)
            .or_else(|| query.as_deref().and_then(envelope::query_key));
        // A key that is there must be right before the body is even read.
        check_key(project, key.as_deref(), false)?;
        let raw = read_body(&state, &mut body).await?;
        let decoded = envelope::decompress(
            header_str(headers, header::CONTENT_ENCODING),
            &raw,
            state.relay.limits.max_decompressed_bytes,
        )?;
        let items = if endpoint == "envelope" {
            let env = envelope::parse(&decoded)?;
            key = key.or_else(|| env.dsn_key());
            check_key(project, key.as_deref(), true)?;
            ingest::envelope_items(&env, state.relay.limits.max_event_bytes)?
        } else {
            check_key(project, key.as_deref(), true)?;
            if decoded.len() > state.relay.limits.max_event_bytes {
                return Err(RelayError::TooLarge(format!("event of {} bytes", decoded.len())));
            }
            let event = ingest::sentry_event(&decoded).map_err(RelayError::BadRequest)?;
            Items { events: vec![event], ..Items::default() }
        };
        state.metrics.dropped_items(items.other);
        let ids = accept(&state, &project.id, &client, items).await?;
        Ok(match ids.first() {
            Some(id) => serde_json::json!({ "id": id }),
            None => serde_json::json!({}),
        })
    }
    .await;
    let response = answer(&state, result, body).await;
    with_cors(response, origin)
}

fn check_key(project: &ProjectConfig, key: Option<&str>, required: bool) -> Result<(), RelayError> {
    match key {
        Some(k) if k == project.public_key => Ok(()),
        Some(_) => Err(RelayError::Unauthorized(format!("wrong DSN key for project {}", project.id))),
        None if required => {
            Err(RelayError::Unauthorized("no DSN key (X-Sentry-Auth, sentry_key or the envelope's dsn)".into()))
        }
        None => Ok(()),
    }
}

/// Scrubs, fingerprints, counts against the limits, spools; returns the ids.
///
/// An event or feedback whose id was stored within the dedup window (an SDK resending it)
/// is answered with its id and neither stored nor counted again. The metrics count every
/// other error event the app sent except those refused by the per-client limit: an event
/// refused by the project or fingerprint limit is a storm the canary must see (it is what
/// a bad release looks like), while the client limit guards against one noisy or hostile
/// sender, whose events should weigh nothing. Feedback counts against the client and
/// project limits like an event (a form can be scripted too). Sessions are counted on
/// `/metrics` once the rest is stored; an envelope of sessions alone counts against the
/// client limit only (every page load sends one: the project limit is for errors).
async fn accept(state: &State, project: &str, client: &str, items: Items) -> Result<Vec<String>, RelayError> {
    let limits = &state.relay.limits;
    let client_check =
        || Check { scope: "client", key: format!("c:{project}:{client}"), limit: limits.per_client_per_minute };
    let project_check =
        || Check { scope: "project", key: format!("p:{project}"), limit: limits.per_project_per_minute };
    let event_keys = items.events.iter().map(|e| dedup_key(project, e.id.as_deref()));
    let keys: Vec<Option<String>> =
        event_keys.chain(items.feedback.iter().map(|f| dedup_key(project, Some(&f.id)))).collect();
    let mut seen = state.limiter.seen(&keys.iter().flatten().cloned().collect::<Vec<_>>()).await.into_iter();
    let mut keys = keys.into_iter();
    if items.events.is_empty() && items.feedback.is_empty() && !items.sessions.is_empty() {
        state.limiter.hit(&[client_check()]).await?;
    }
    let (mut records, mut ids, mut stored) = (Vec::with_capacity(keys.len()), Vec::new(), Vec::new());
    for event in items.events {
        let key = keys.next().flatten();
        if key.is_some() && seen.next() == Some(true) {
            ids.push(event.id.unwrap_or_default());
            continue;
        }
        let record = ingest::prepare(project, event, &state.engine, &state.scrubber);
        if let Record::Event { fingerprint, event, .. } = &record {
            let fingerprint_check = Check {
                scope: "fingerprint",
                key: format!("f:{project}:{fingerprint}"),
                limit: limits.per_fingerprint_per_minute,
            };
            let outcome = state.limiter.hit(&[client_check(), project_check(), fingerprint_check]).await;
            if !matches!(outcome, Err(RelayError::RateLimited { scope: "client", .. })) {
                state.metrics.received(project, event.release.as_deref(), event.environment.as_deref(), fingerprint);
            }
            outcome?;
            ids.push(event.id.clone().unwrap_or_default());
            if let (Some(key), Ok(fp)) = (&key, u64::from_str_radix(fingerprint, 16))
                && let Ok(mut kept) = state.fingerprints.lock()
            {
                kept.insert(key, fp, now_secs());
            }
        }
        stored.extend(key);
        records.push(record);
    }
    for mut feedback in items.feedback {
        let key = keys.next().flatten();
        ids.push(feedback.id.clone());
        if key.is_some() && seen.next() == Some(true) {
            continue;
        }
        state.limiter.hit(&[client_check(), project_check()]).await?;
        state.metrics.feedback(project);
        if let Some(about) = dedup_key(project, feedback.associated_event_id.as_deref())
            && let Ok(mut kept) = state.fingerprints.lock()
        {
            feedback.associated_fingerprint = kept.get(&about, now_secs()).map(|fp| format!("{fp:016x}"));
        }
        stored.extend(key);
        records.push(ingest::prepare_feedback(project, feedback, &state.scrubber));
    }
    if !records.is_empty() {
        state.spool.append(&records).await?;
    }
    state.limiter.remember(&stored).await;
    state.metrics.sessions(project, &items.sessions);
    Ok(ids)
}

/// `project:id` for an id shaped like Sentry's (32 hex digits, or a UUID with dashes);
/// ids of other shapes (and lengths) are not deduplicated.
fn dedup_key(project: &str, id: Option<&str>) -> Option<String> {
    let id = id?.replace('-', "").to_ascii_lowercase();
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("{project}:{id}"))
}

/// `Authorization: Bearer <public key>` → the project with that key.
fn bearer_project<'a>(state: &'a State, headers: &HeaderMap) -> Result<&'a ProjectConfig, RelayError> {
    let key = header_str(headers, header::AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| RelayError::Unauthorized("needs `Authorization: Bearer <project key>`".into()))?;
    state
        .relay
        .projects
        .iter()
        .find(|p| p.public_key == key.trim())
        .ok_or_else(|| RelayError::Unauthorized("unknown project key".into()))
}

async fn canonical_endpoint(state: Arc<State>, req: Request) -> Response {
    let (parts, mut body) = req.into_parts();
    let result = async {
        let project = bearer_project(&state, &parts.headers)?.id.clone();
        let client = client_ip(&state, &parts);
        let raw = read_body(&state, &mut body).await?;
        let encoding = header_str(&parts.headers, header::CONTENT_ENCODING);
        let decoded = envelope::decompress(encoding, &raw, state.relay.limits.max_decompressed_bytes)?;
        let events = ingest::canonical_events(&decoded)?;
        let ids = accept(&state, &project, &client, Items { events, ..Items::default() }).await?;
        Ok(serde_json::json!({ "accepted": ids.len(), "ids": ids }))
    }
    .await;
    answer(&state, result, body).await
}

async fn alerts_endpoint(state: Arc<State>, req: Request) -> Response {
    let (parts, mut body) = req.into_parts();
    let result = async {
        let project = bearer_project(&state, &parts.headers)?.id.clone();
        let raw = read_body(&state, &mut body).await?;
        if raw.len() > ALERT_MAX_BYTES {
            return Err(RelayError::TooLarge(format!(
                "an alert message is forwarded whole: at most {ALERT_MAX_BYTES} bytes"
            )));
        }
        let text = std::str::from_utf8(&raw).map_err(|e| RelayError::BadRequest(format!("body is not UTF-8: {e}")))?;
        let alerts = crate::ops::alert::parse("body", text).map_err(|e| RelayError::BadRequest(e.to_string()))?;
        let message: serde_json::Value =
            serde_json::from_str(text).map_err(|e| RelayError::BadRequest(e.to_string()))?;
        state.spool.append(&[Record::Alert { project, message }]).await?;
        Ok(serde_json::json!({ "accepted": alerts.len() }))
    }
    .await;
    answer(&state, result, body).await
}
