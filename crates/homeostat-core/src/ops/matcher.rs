//! Rules first: which runbooks does an alert trigger, and how specifically. Pure.

use serde::Serialize;

use super::alert::Alert;
use super::runbook::{Runbook, severity_rank};

/// A runbook whose trigger holds for the alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub sop: String,
    /// How precisely the trigger held (alert name 2 or title pattern 1, each label 1,
    /// severity 1): among candidates, the most specific rule wins.
    pub specificity: u32,
    /// 0–1: 1 when an alert name or a label matched, 0.6 when only a title pattern did.
    pub trigger_match: f64,
    /// The conditions that held, for the output's reason.
    pub matched: Vec<String>,
}

/// Whether `runbook`'s trigger holds for `alert`: its name or a title pattern identifies
/// the alert, and every label matcher and the severity floor hold.
pub fn matches(runbook: &Runbook, alert: &Alert) -> Option<Candidate> {
    if !runbook.enabled {
        return None;
    }
    let t = &runbook.trigger;
    let mut specificity = 0;
    let mut matched = Vec::new();
    let mut structured = false;
    // The alert's identity: its name, or (for issues and alerts named otherwise) a title
    // pattern. When a trigger gives both, either identifies the alert.
    let by_name = t.alertname.iter().any(|n| n == &alert.alertname);
    if by_name {
        specificity += 2;
        structured = true;
        matched.push(format!("alertname={}", alert.alertname));
    } else if !runbook.title_patterns.is_empty() {
        let text = format!("{}\n{}", alert.title, alert.alertname);
        let re = runbook.title_patterns.iter().find(|re| re.is_match(&text))?;
        specificity += 1;
        matched.push(format!("title~{}", re.as_str()));
    } else if !t.alertname.is_empty() {
        return None;
    }
    for (name, re) in &runbook.alert_labels {
        let value = alert.labels.get(name)?;
        if !re.is_match(value) {
            return None;
        }
        specificity += 1;
        structured = true;
        matched.push(format!("{name}={value}"));
    }
    if let Some(min) = runbook.severity_min {
        let rank = alert.severity.as_deref().and_then(severity_rank)?;
        if rank < min {
            return None;
        }
        specificity += 1;
        matched.push(format!("severity={}", alert.severity.as_deref().unwrap_or_default()));
    }
    Some(Candidate {
        sop: runbook.name.clone(),
        specificity,
        trigger_match: if structured { 1.0 } else { 0.6 },
        matched,
    })
}

/// Every candidate, most specific first (ties by name, so the order is stable).
pub fn candidates(runbooks: &[Runbook], alert: &Alert) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = runbooks.iter().filter_map(|r| matches(r, alert)).collect();
    out.sort_by(|a, b| b.specificity.cmp(&a.specificity).then_with(|| a.sop.cmp(&b.sop)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::runbook::parse;

    fn runbook(name: &str, trigger: &str) -> Runbook {
        let text = format!(
            "---\nname: {name}\ncategory: availability\nrisk: low\ntrigger: {trigger}\n\
             diagnosis: [{{name: d, http: {{url: 'http://127.0.0.1/'}}}}]\n---\n"
        );
        parse(&format!("{name}.md"), &text).unwrap()
    }

    fn alert(name: &str, labels: &[(&str, &str)], severity: &str) -> Alert {
        Alert {
            alertname: name.into(),
            title: format!("{name} fired"),
            labels: labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
            severity: Some(severity.into()),
            ..Alert::default()
        }
    }

    #[test]
    fn every_condition_must_hold_and_specific_rules_rank_first() {
        let general = runbook("general", "{alertname: [ApiDown]}");
        let specific = runbook("specific", "{alertname: [ApiDown], labels: {service: 'api'}, severity_min: high}");
        let title = runbook("by-title", "{title: ['(?i)apidown']}");
        let all = [general, specific, title];
        let c = candidates(&all, &alert("ApiDown", &[("service", "api")], "critical"));
        let names: Vec<&str> = c.iter().map(|c| c.sop.as_str()).collect();
        assert_eq!(names, ["specific", "general", "by-title"]);
        assert_eq!(c[2].trigger_match, 0.6);
        // Below the severity floor, or another service: the specific rule drops out.
        let c = candidates(&all, &alert("ApiDown", &[("service", "api")], "warning"));
        assert!(c.iter().all(|c| c.sop != "specific"));
        let c = candidates(&all, &alert("ApiDown", &[("service", "apiv2")], "critical"));
        assert!(c.iter().all(|c| c.sop != "specific"), "label regexes are anchored");
        assert!(candidates(&all, &alert("DiskFull", &[], "critical")).is_empty());
        // Name or title identify: a runbook giving both matches an issue by its title.
        let either = runbook("either", "{alertname: [DeployFailed], title: ['(?i)deploy failed']}");
        let mut issue = alert("", &[], "high");
        issue.title = "Deploy failed on main".into();
        let c = candidates(std::slice::from_ref(&either), &issue);
        assert_eq!((c.len(), c[0].trigger_match), (1, 0.6));
        assert_eq!(candidates(&[either], &alert("DeployFailed", &[], "high"))[0].specificity, 2);
    }
}
