//! Which of the matching runbooks handles the alert: the only one, the model's pick
//! among several, else the most specific rule.

use crate::ops::matcher::Candidate;
use crate::ops::{Alert, Ops};

fn schema_match() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "required": ["sop", "reason"],
        "properties": {"sop": {"type": ["string", "null"]}, "reason": {"type": "string"}}
    })
}

impl Ops<'_> {
    /// The candidate to use and why: the model's choice among several when there is a
    /// model and it names a candidate, else the most specific rule.
    pub(super) async fn choose<'c>(
        &self,
        alert: &Alert,
        candidates: &'c [Candidate],
    ) -> Option<(&'c Candidate, String)> {
        let first = candidates.first()?;
        if candidates.len() == 1 {
            return Some((first, format!("matched `{}` ({})", first.sop, first.matched.join(", "))));
        }
        if let Some(model) = self.model {
            let context = self.match_context(alert, candidates);
            match model.ask_json("ops-match.j2", &context, &schema_match()).await {
                Ok(answer) => {
                    let pick = answer.get("sop").and_then(|v| v.as_str()).unwrap_or_default();
                    let reason = answer.get("reason").and_then(|v| v.as_str()).unwrap_or_default();
                    if let Some(c) = candidates.iter().find(|c| c.sop == pick) {
                        let reason = crate::forge::limits::truncate_chars(reason, 200);
                        return Some((
                            c,
                            format!("{} runbooks matched; the model chose `{}`: {reason}", candidates.len(), c.sop),
                        ));
                    }
                    tracing::warn!("the model named `{pick}`, not a candidate: using the most specific rule");
                }
                Err(e) => tracing::warn!("tie-break by the model failed ({e}): using the most specific rule"),
            }
        }
        let tied = candidates.iter().filter(|c| c.specificity == first.specificity).count();
        let how = if tied > 1 { "tied on specificity, first by name" } else { "the most specific rule" };
        Some((
            first,
            format!("{} runbooks matched; `{}` is {how} ({})", candidates.len(), first.sop, first.matched.join(", ")),
        ))
    }

    fn match_context(&self, alert: &Alert, candidates: &[Candidate]) -> serde_json::Value {
        let labels: Vec<String> = alert.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let text = format!(
            "alertname: {}\nseverity: {}\nlabels: {}\ntitle: {}\ndescription: {}",
            alert.alertname,
            alert.severity.as_deref().unwrap_or("-"),
            labels.join(", "),
            alert.title,
            crate::forge::limits::truncate_chars(&alert.description, 2000)
        );
        let candidates: Vec<serde_json::Value> = candidates
            .iter()
            .filter_map(|c| self.runbook(&c.sop).map(|r| (c, r)))
            .map(|(c, r)| {
                let about = r.body.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or("");
                serde_json::json!({"sop": c.sop, "title": r.title, "category": r.category,
                    "risk": r.risk.as_str(), "matched": c.matched,
                    "about": crate::forge::limits::truncate_chars(about, 300)})
            })
            .collect();
        serde_json::json!({"alert": text, "candidates": candidates})
    }
}
