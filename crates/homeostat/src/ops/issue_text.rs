//! What the approval and escalation issues say about an alert and its steps.

use super::{Alert, StepResult};
use crate::markers::escape_md;

/// The steps as a markdown table.
pub(in crate::ops) fn steps_table(steps: &[StepResult]) -> String {
    let mut t = String::from("| step | kind | result | detail |\n| --- | --- | --- | --- |\n");
    for s in steps {
        let (name, detail) = (escape_md(&s.name), escape_md(&s.detail));
        t.push_str(&format!("| {name} | {} | {} | {detail} |\n", s.kind, if s.ok { "✅" } else { "❌" }));
    }
    t
}

/// The alert's name, fingerprint, title and description (scrubbed, fenced).
pub(in crate::ops) fn alert_block(alert: &Alert) -> String {
    let text = format!("{}\n\n{}", alert.title, alert.description);
    let text = crate::prompt::strip_hidden(&crate::forge::limits::truncate_chars(&text, 4000));
    let text = crate::scrub::Scrubber::builtin().scrub(&text).into_owned();
    format!(
        "Alert {} ({}):\n\n{}\n",
        escape_md(&alert.alertname),
        escape_md(&alert.fingerprint),
        crate::prompt::fenced(&text, "text")
    )
}
