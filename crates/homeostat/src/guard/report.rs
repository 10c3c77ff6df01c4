//! Where a verdict goes: text and markdown for people, the Actions step summary,
//! outputs and annotations, and on the pull request one sticky comment and labels.

use super::{CheckRow, Decision, Status, Verdict};
use crate::forge::{self, Forge, ForgeResult};
use crate::gha::{Actions, Annotation, AnnotationLevel};
use crate::policy::{CHANGE_CLASS_LABEL_PREFIX, NEEDS_HUMAN_REVIEW_LABEL};

/// Hidden marker of the guard's one comment on a pull request.
pub const COMMENT_MARKER: &str = crate::markers::tag::GUARD;
/// Put on a pull request the guard blocks.
pub const BLOCKED_LABEL: &str = "homeostat:blocked";

fn icon(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅",
        Status::Warn => "⚠️",
        Status::Fail => "❌",
    }
}

fn cell(text: &str) -> String {
    crate::markers::escape_md(text)
}

/// The markdown table of checks (and the files), for the PR comment and the step summary.
pub fn markdown(v: &Verdict) -> String {
    let mut out = format!(
        "### homeostat guard: **{}** (class `{}`)\n\n| check | status | detail |\n|---|---|---|\n",
        v.verdict.as_str(),
        v.class
    );
    for r in &v.checks {
        let status = format!("{:?}", r.status).to_lowercase();
        out.push_str(&format!("| `{}` | {} {status} | {} |\n", r.id, icon(r.status), cell(&r.detail)));
    }
    out.push_str("\n<details><summary>Files</summary>\n\n| file | status | class | + | − |\n|---|---|---|---|---|\n");
    for f in v.files.iter().take(300) {
        // Only the status is lowercased: paths keep their case (`Cargo.lock`).
        let status = format!("{:?}", f.status).to_lowercase();
        out.push_str(&format!("| `{}` | {status} | {} | {} | {} |\n", cell(&f.path), f.class, f.added, f.deleted));
    }
    if v.files.len() > 300 {
        out.push_str(&format!("\n… and {} more files\n", v.files.len() - 300));
    }
    out.push_str("\n</details>\n");
    out
}

/// A verdict as text for people.
pub fn text(v: &Verdict) -> String {
    let mut out = format!("verdict: {} (class {})\n", v.verdict.as_str(), v.class);
    for r in &v.checks {
        out.push_str(&format!("  {:<4} {:<20} {}\n", format!("{:?}", r.status).to_lowercase(), r.id, r.detail));
    }
    out
}

/// Outputs (`verdict`, `change_class`), the summary table, and an annotation on each offending file.
pub fn write_actions(actions: &Actions, v: &Verdict) -> crate::Result<()> {
    actions.set_output("verdict", v.verdict.as_str())?;
    actions.set_output("change_class", v.class.as_str())?;
    actions.append_summary(&markdown(v))?;
    for row in v.checks.iter().filter(|r| r.status != Status::Pass) {
        annotate(actions, row);
    }
    Ok(())
}

fn annotate(actions: &Actions, row: &CheckRow) {
    let level = if row.status == Status::Fail { AnnotationLevel::Error } else { AnnotationLevel::Warning };
    let title = format!("homeostat guard: {}", row.id);
    if row.locations.is_empty() {
        actions.annotate(level, &Annotation { title: Some(&title), ..Default::default() }, &row.detail);
    }
    for l in row.locations.iter().take(50) {
        let at = Annotation {
            file: Some(&l.path),
            line: l.line.map(|n| n as usize),
            title: Some(&title),
            ..Default::default()
        };
        actions.annotate(level, &at, &row.detail);
    }
}

/// On the pull request: the sticky comment (updated in place) and the labels
/// `change-class:<class>`, `needs-human-review` (human review) or `homeostat:blocked`.
pub async fn publish(forge: &dyn Forge, pr: u64, v: &Verdict) -> ForgeResult<()> {
    forge::upsert_comment(forge, pr, &crate::markers::Marker::tag(COMMENT_MARKER), &markdown(v)).await?;
    let current = forge.get_pull(pr).await?.labels;
    let class_label = v.class.label();
    for stale in current.iter().filter(|l| l.starts_with(CHANGE_CLASS_LABEL_PREFIX) && **l != class_label) {
        forge.remove_label(pr, stale).await?;
    }
    if v.verdict != Decision::Blocked && current.iter().any(|l| l == BLOCKED_LABEL) {
        forge.remove_label(pr, BLOCKED_LABEL).await?;
    }
    let mut wanted = vec![class_label];
    match v.verdict {
        Decision::HumanReview => wanted.push(NEEDS_HUMAN_REVIEW_LABEL.into()),
        Decision::Blocked => wanted.push(BLOCKED_LABEL.into()),
        Decision::AutoMerge => {}
    }
    let missing: Vec<String> =
        wanted.into_iter().filter(|w| !current.iter().any(|l| l.eq_ignore_ascii_case(w))).collect();
    if !missing.is_empty() {
        forge.add_labels(pr, &missing).await?;
    }
    Ok(())
}
