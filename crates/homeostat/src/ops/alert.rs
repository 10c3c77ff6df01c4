//! Alerts hs-ops handles: parsing is `homeostat_core::ops::alert`; this module adds an
//! issue read from the forge as an alert.

use std::collections::BTreeMap;

pub use homeostat_core::ops::alert::*;

/// An issue as an alert: its title and body; labels become `label:<name>` = `true`, and a
/// label `severity:<s>` sets the severity.
pub fn from_issue(issue: &crate::forge::Issue) -> Alert {
    let mut labels = BTreeMap::new();
    let mut severity = None;
    for l in &issue.labels {
        if let Some(s) = l.strip_prefix("severity:") {
            severity = Some(s.trim().to_string());
        }
        labels.insert(format!("label:{l}"), "true".to_string());
    }
    Alert {
        source: "issue".into(),
        alertname: String::new(),
        status: if issue.state == crate::forge::State::Open { "firing".into() } else { "resolved".into() },
        severity,
        labels,
        annotations: BTreeMap::new(),
        title: issue.title.clone(),
        description: issue.body.clone(),
        fingerprint: format!("issue-{}", issue.number),
        starts_at: Some(issue.created_at.clone()).filter(|s| !s.is_empty()),
        issue: Some(issue.number),
    }
}
