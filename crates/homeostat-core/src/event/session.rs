//! Release health from the Sentry SDKs: how many sessions a release started and how many
//! went unhealthy (an error, a crash, an abnormal end), read from the two shapes the SDKs
//! send — a `session` item (one session's update: browsers, apps) and a `sessions` item
//! (aggregates per minute: servers in request mode, one "session" per request).
//!
//! A release's share of unhealthy sessions is its error *rate*: errors per minute grow with
//! traffic, so a canary serving a tenth of the users shows a tenth of the errors even when
//! it fails five times as often. Pure.

use serde_json::Value;

/// What one item says about a release's sessions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionCounts {
    pub release: String,
    pub environment: Option<String>,
    /// Sessions that started (an update with `init: true`, or every aggregated session).
    pub started: u64,
    /// Aggregated sessions that ended errored, abnormal or crashed.
    pub unhealthy: u64,
    /// A single session that is unhealthy: counted once per id by whoever keeps the
    /// counts, since a session may report its trouble in more than one update.
    pub unhealthy_session: Option<String>,
}

/// A `session` item's payload.
pub fn from_session(payload: &[u8]) -> Result<SessionCounts, String> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| format!("session is not JSON: {e}"))?;
    let (release, environment) = attrs(&v)?;
    let sid = v.get("sid").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or("session has no `sid`")?;
    let errors = v.get("errors").and_then(Value::as_u64).unwrap_or(0);
    let status = v.get("status").and_then(Value::as_str).unwrap_or("ok");
    let unhealthy = errors > 0 || matches!(status, "errored" | "crashed" | "abnormal");
    Ok(SessionCounts {
        release,
        environment,
        started: u64::from(v.get("init").and_then(Value::as_bool).unwrap_or(false)),
        unhealthy: 0,
        unhealthy_session: unhealthy.then(|| sid.replace('-', "").to_ascii_lowercase()),
    })
}

/// A `sessions` item's payload: every aggregate's sessions, by how they ended.
pub fn from_aggregates(payload: &[u8]) -> Result<SessionCounts, String> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| format!("sessions is not JSON: {e}"))?;
    let (release, environment) = attrs(&v)?;
    let list = v.get("aggregates").and_then(Value::as_array).ok_or("sessions has no `aggregates` list")?;
    let mut counts = SessionCounts { release, environment, ..SessionCounts::default() };
    for a in list {
        let n = |k: &str| a.get(k).and_then(Value::as_u64).unwrap_or(0);
        let unhealthy = n("errored").saturating_add(n("abnormal")).saturating_add(n("crashed"));
        counts.unhealthy = counts.unhealthy.saturating_add(unhealthy);
        counts.started = counts.started.saturating_add(n("exited").saturating_add(unhealthy));
    }
    Ok(counts)
}

fn attrs(v: &Value) -> Result<(String, Option<String>), String> {
    let attrs = v.get("attrs").ok_or("session has no `attrs`")?;
    let text = |k: &str| attrs.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let release = text("release").ok_or("session has no `attrs.release`")?;
    Ok((release.to_string(), text("environment").map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_update_starts_a_session_and_names_it_when_unhealthy() {
        // As @sentry/node 11 sends them.
        let ok = br#"{"sid":"52969473b1914a9bb4c0eead13972cd9","init":true,"started":"2026-12-05T14:44:00.873Z","status":"exited","errors":0,"attrs":{"release":"9.9.9","environment":"production"}}"#;
        let c = from_session(ok).unwrap();
        assert_eq!((c.release.as_str(), c.environment.as_deref(), c.started), ("9.9.9", Some("production"), 1));
        assert_eq!(c.unhealthy_session, None);
        let hurt = br#"{"sid":"5296-9473","init":false,"status":"ok","errors":1,"attrs":{"release":"9.9.9"}}"#;
        let c = from_session(hurt).unwrap();
        assert_eq!((c.started, c.unhealthy_session.as_deref()), (0, Some("52969473")));
        let crashed = br#"{"sid":"a","status":"crashed","attrs":{"release":"9.9.9"}}"#;
        assert!(from_session(crashed).unwrap().unhealthy_session.is_some());
    }

    #[test]
    fn aggregates_count_every_session_by_how_it_ended() {
        // As sentry-python 2 sends them in request mode.
        let agg = br#"{"attrs":{"environment":"production","release":"9.9.9"},"aggregates":[{"started":"2026-12-05T14:44:00.000000Z","exited":4,"errored":1},{"started":"2026-12-05T14:45:00Z","exited":2,"crashed":1,"abnormal":1}]}"#;
        let c = from_aggregates(agg).unwrap();
        assert_eq!((c.started, c.unhealthy, c.unhealthy_session), (9, 3, None));
    }

    #[test]
    fn a_session_without_a_release_or_json_is_refused_with_a_reason() {
        assert_eq!(from_session(br#"{"sid":"a","attrs":{}}"#).unwrap_err(), "session has no `attrs.release`");
        assert_eq!(from_session(br#"{"attrs":{"release":"1"}}"#).unwrap_err(), "session has no `sid`");
        assert!(from_aggregates(b"[").unwrap_err().starts_with("sessions is not JSON"));
        assert_eq!(from_aggregates(br#"{"attrs":{"release":"1"}}"#).unwrap_err(), "sessions has no `aggregates` list");
    }
}
