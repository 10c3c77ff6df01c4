//! Alerts hs-ops handles: an Alertmanager webhook (v4, also Grafana's superset), our own
//! alert JSON, or a GitHub issue. All become [`Alert`]s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{InputError, Position, Result};

/// One alert, whatever its source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `alertmanager`, `alert` (our JSON) or `issue`.
    pub source: String,
    pub alertname: String,
    /// `firing` or `resolved`.
    pub status: String,
    pub severity: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Summary line: annotations.summary, else the title given, else the alert name.
    pub title: String,
    pub description: String,
    /// Stable identity of the alert (Alertmanager's fingerprint, else derived).
    pub fingerprint: String,
    pub starts_at: Option<String>,
    /// The issue the alert came from (`--issue`).
    pub issue: Option<u64>,
}

impl Alert {
    pub fn firing(&self) -> bool {
        self.status != "resolved"
    }
}

/// Alertmanager's webhook message (`version: "4"`); unknown fields (Grafana's) are accepted.
#[derive(Debug, Deserialize)]
struct AmMessage {
    version: String,
    #[serde(default)]
    alerts: Vec<AmAlert>,
    #[serde(default)]
    #[serde(rename = "commonLabels")]
    common_labels: BTreeMap<String, String>,
    #[serde(default)]
    #[serde(rename = "commonAnnotations")]
    common_annotations: BTreeMap<String, String>,
    #[serde(default, rename = "truncatedAlerts")]
    truncated_alerts: u64,
}

#[derive(Debug, Deserialize)]
struct AmAlert {
    #[serde(default)]
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default, rename = "startsAt")]
    starts_at: Option<String>,
    #[serde(default)]
    fingerprint: String,
}

/// Our own alert JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnAlert {
    alertname: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
}

/// Reads an alert file: an Alertmanager message (several alerts), or one of ours, or a
/// `repository_dispatch` event whose `client_payload` is either.
pub fn parse(file: &str, text: &str) -> Result<Vec<Alert>> {
    let value: serde_json::Value = crate::parse::json(file, text)?;
    parse_value(file, value)
}

fn parse_value(file: &str, value: serde_json::Value) -> Result<Vec<Alert>> {
    if let Some(payload) = value.get("client_payload").filter(|_| value.get("action").is_some()) {
        return parse_value(file, payload.clone());
    }
    if value.get("version").is_some() && value.get("alerts").is_some() {
        let msg: AmMessage = serde_json::from_value(value)
            .map_err(|e| InputError::new(Position::file(file), format!("not an Alertmanager message: {e}")))?;
        if msg.version != "4" {
            tracing::warn!("{file}: Alertmanager message version {} (expected 4); reading it anyway", msg.version);
        }
        if msg.truncated_alerts > 0 {
            tracing::warn!("{file}: Alertmanager truncated {} alerts (max_alerts)", msg.truncated_alerts);
        }
        return Ok(msg
            .alerts
            .into_iter()
            .map(|a| {
                let mut labels = msg.common_labels.clone();
                labels.extend(a.labels);
                let mut annotations = msg.common_annotations.clone();
                annotations.extend(a.annotations);
                let alertname = labels.get("alertname").cloned().unwrap_or_default();
                let title = annotations.get("summary").cloned().unwrap_or_else(|| alertname.clone());
                let fingerprint = if a.fingerprint.is_empty() { derive_fingerprint(&labels) } else { a.fingerprint };
                Alert {
                    source: "alertmanager".into(),
                    severity: labels.get("severity").cloned(),
                    status: if a.status.is_empty() { "firing".into() } else { a.status },
                    description: annotations.get("description").cloned().unwrap_or_default(),
                    alertname,
                    title,
                    labels,
                    annotations,
                    fingerprint,
                    starts_at: a.starts_at,
                    issue: None,
                }
            })
            .collect());
    }
    let own: OwnAlert = serde_json::from_value(value).map_err(|e| {
        InputError::new(
            Position::file(file),
            format!("neither an Alertmanager v4 message nor an alert {{alertname, …}}: {e}"),
        )
    })?;
    let mut labels = own.labels;
    labels.entry("alertname".into()).or_insert_with(|| own.alertname.clone());
    let severity = own.severity.or_else(|| labels.get("severity").cloned());
    let fingerprint = own.fingerprint.unwrap_or_else(|| derive_fingerprint(&labels));
    Ok(vec![Alert {
        source: "alert".into(),
        title: own.title.or_else(|| own.annotations.get("summary").cloned()).unwrap_or_else(|| own.alertname.clone()),
        description: own.description.or_else(|| own.annotations.get("description").cloned()).unwrap_or_default(),
        alertname: own.alertname,
        status: own.status.unwrap_or_else(|| "firing".into()),
        severity,
        labels,
        annotations: own.annotations,
        fingerprint,
        starts_at: None,
        issue: None,
    }])
}

/// Alertmanager-like identity: a hash of the sorted labels.
fn derive_fingerprint(labels: &BTreeMap<String, String>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (k, v) in labels {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    crate::hex::hex(&h.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alertmanager_message_merges_common_labels() {
        let text = r#"{"version":"4","groupKey":"{}:{}","truncatedAlerts":0,"status":"firing","receiver":"hs",
          "groupLabels":{},"commonLabels":{"service":"api"},"commonAnnotations":{},"externalURL":"http://am",
          "orgId":1,"alerts":[{"status":"firing","labels":{"alertname":"ApiDown","severity":"critical"},
          "annotations":{"summary":"API is down"},"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z",
          "generatorURL":"http://prom","fingerprint":"abc123"}]}"#;
        let alerts = parse("am.json", text).unwrap();
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(
            (a.alertname.as_str(), a.title.as_str(), a.fingerprint.as_str()),
            ("ApiDown", "API is down", "abc123")
        );
        assert_eq!(a.labels["service"], "api");
        assert_eq!(a.severity.as_deref(), Some("critical"));
    }

    #[test]
    fn own_alert_and_dispatch_wrapper() {
        let text = r#"{"action":"alert","client_payload":{"alertname":"QueueBacklog","severity":"high","labels":{"queue":"jobs"}}}"#;
        let a = &parse("d.json", text).unwrap()[0];
        assert_eq!(a.source, "alert");
        assert_eq!(a.labels["queue"], "jobs");
        assert_eq!(a.fingerprint.len(), 16);
        let err = parse("x.json", r#"{"alertnme":"x"}"#).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("x.json"));
    }
}
