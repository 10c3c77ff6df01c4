//! hs-classify's I/O side: reads events, issues and sample files, writes labels, the
//! sticky reasons comment, the board column and the Actions outputs. The engine it
//! drives ([`crate::policy`]) stays pure.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Position, Result};
use crate::fingerprint::Engine;
use crate::forge::{self, Forge};
use crate::gha::Actions;
use crate::output::OutputFormat;
use crate::policy::board::{self, Stage};
use crate::policy::{
    self, CHANGE_CLASS_LABEL_PREFIX, Class, Classification, ErrorFacts, NEEDS_HUMAN_REVIEW_LABEL, Policy,
};

/// Hidden marker of the one reasons comment hs-classify keeps on an issue.
pub const COMMENT_MARKER: &str = crate::markers::tag::CLASSIFICATION;

/// Reads events (JSON lines, Sentry JSON, or log text with `text`) through the shared
/// event reader and fingerprints them, as hs-fingerprint does; bad lines are skipped
/// with a warning, or stop the run with `strict`.
pub fn read_event_facts(path: &Path, engine: &Engine, text: bool, strict: bool) -> Result<Vec<ErrorFacts>> {
    let input = crate::input::InputArgs { files: vec![path.to_path_buf()], text, strict };
    let mut out = Vec::new();
    input.for_each(|event| {
        out.push(policy::facts_from_event(&event, &engine.fingerprint(&event)));
        Ok(())
    })?;
    Ok(out)
}

/// What `hs-classify error --issue N` did.
#[derive(Debug, Clone, Serialize)]
pub struct IssueTriage {
    pub issue: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(flatten)]
    pub classification: Classification,
    pub labels_added: Vec<String>,
    pub labels_removed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
}

/// Reads issue `number`, classifies it, and writes the result back: `change-class:<class>`
/// (replacing an older one), `needs-human-review` when a bot may not act, one reasons
/// comment updated in place, and the board column (auto-fixable issues go to
/// `ai-queue` when the policy's `agent.queue` says so, others to `backlog` unless a
/// person already moved them past it).
pub async fn classify_issue(forge: &dyn Forge, policy: &Policy, number: u64) -> Result<IssueTriage> {
    let issue = forge.get_issue(number).await?;
    let fingerprint = policy::issue::marker(&issue.body).map(|m| m.fingerprint);
    let facts = policy::issue::facts_from_issue(&issue);
    let classification = policy.classify_error(&facts);
    let class_label = classification.class.label();

    let mut labels_removed = Vec::new();
    for label in &issue.labels {
        if label.starts_with(CHANGE_CLASS_LABEL_PREFIX) && *label != class_label {
            forge.remove_label(number, label).await?;
            labels_removed.push(label.clone());
        }
    }
    let mut wanted = vec![class_label];
    if !classification.auto_fixable {
        wanted.push(NEEDS_HUMAN_REVIEW_LABEL.to_string());
    }
    let labels_added: Vec<String> = wanted.into_iter().filter(|l| !issue.has_label(l)).collect();
    if !labels_added.is_empty() {
        forge.add_labels(number, &labels_added).await?;
    }

    forge::upsert_comment(
        forge,
        number,
        &crate::markers::Marker::tag(COMMENT_MARKER),
        &reasons_markdown(&classification),
    )
    .await?;

    let current = Stage::of(&issue.labels);
    let target = if classification.auto_fixable && policy.queue_auto_fixable() {
        (current.is_none() || current == Some(Stage::Backlog)).then_some(Stage::AiQueue)
    } else {
        (current.is_none() || current == Some(Stage::AiQueue)).then_some(Stage::Backlog)
    };
    if let Some(stage) = target {
        board::move_to(forge, number, stage).await?;
    }
    Ok(IssueTriage {
        issue: number,
        fingerprint,
        classification,
        labels_added,
        labels_removed,
        stage: target.or(Stage::of(&issue.labels)),
    })
}

/// The comment people read: the class, what it means, and each reason.
pub fn reasons_markdown(c: &Classification) -> String {
    let meaning = match c.class {
        Class::Safe => "a bot may fix this alone",
        Class::NeedsValidation => "a fix needs a person's review",
        Class::Unknown => "no rule matched: a person decides",
        Class::Critical => "a bot must not touch this",
    };
    let mut out = format!(
        "### homeostat risk class: `{}`\n\n{meaning}; auto-fixable: **{}**.\n\n| rule | matched |\n|---|---|\n",
        c.class,
        if c.auto_fixable { "yes" } else { "no" }
    );
    for r in &c.reasons {
        out.push_str(&format!("| {} | {} |\n", md_cell(&r.rule), md_cell(&r.matched)));
    }
    out
}

/// Text from an error in a table cell: no new rows, no HTML, no mentions.
fn md_cell(text: &str) -> String {
    crate::markers::escape_md(text)
}

/// Step outputs `change_class` and `auto_fixable`, and the summary table.
pub fn write_actions(actions: &Actions, c: &Classification) -> Result<()> {
    actions.set_output("change_class", c.class.as_str())?;
    actions.set_output("auto_fixable", if c.auto_fixable { "true" } else { "false" })?;
    actions.append_summary(&reasons_markdown(c))
}

/// What `check-policy` reports.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyCheck<'a> {
    pub policy: &'a str,
    pub rules: Vec<policy::RuleHits<'a>>,
    /// Events of the sample per class.
    pub classes: BTreeMap<Class, usize>,
    /// Paths of the sample per class (`default` for paths no glob covers).
    pub paths: Vec<PathRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PathRow {
    pub path: String,
    pub class: Class,
    pub glob: Option<String>,
    pub test: bool,
}

pub fn check_policy<'a>(policy: &'a Policy, sample: &[ErrorFacts], paths: &[String]) -> PolicyCheck<'a> {
    let mut classes = BTreeMap::new();
    for facts in sample {
        *classes.entry(policy.classify_error(facts).class).or_insert(0) += 1;
    }
    let paths = paths
        .iter()
        .map(|p| {
            let hit = policy.path_class_with_glob(p);
            PathRow {
                path: p.clone(),
                class: hit.map_or(policy.changes().default, |h| h.0),
                glob: hit.map(|h| h.1.to_string()),
                test: policy.is_test_path(p),
            }
        })
        .collect();
    PolicyCheck { policy: policy.source(), rules: policy.rule_hits(sample), classes, paths }
}

impl PolicyCheck<'_> {
    pub fn to_text(&self) -> String {
        let mut out = format!("{}: ok\n", self.policy);
        for r in &self.rules {
            out.push_str(&format!("  {} → {}: {} event(s)", r.rule, r.class, r.count));
            if !r.examples.is_empty() {
                out.push_str(&format!(", e.g. {}", r.examples.join(" | ")));
            }
            out.push('\n');
        }
        for (class, n) in &self.classes {
            out.push_str(&format!("  class {class}: {n}\n"));
        }
        for line in paths_text(&self.paths).lines() {
            out.push_str(&format!("  {line}\n"));
        }
        out
    }
}

/// A classification as text for people.
pub fn classification_text(c: &Classification) -> String {
    let mut out = format!("{} (auto-fixable: {})\n", c.class, c.auto_fixable);
    for r in &c.reasons {
        out.push_str(&format!("  - {}: {}\n", r.rule, r.matched));
    }
    out
}

/// Classifies every event of a file; a single event's result also goes to the Actions outputs.
pub fn classify_event_file(
    policy: &Policy,
    engine: &Engine,
    input: &EventInput,
    actions: &Actions,
) -> Result<Vec<Classification>> {
    let facts = read_event_facts(&input.event, engine, input.text, input.strict)?;
    let started = std::time::Instant::now();
    let results: Vec<_> = facts.iter().map(|f| policy.classify_error(f)).collect();
    tracing::debug!(events = results.len(), elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "classified");
    if let [only] = results.as_slice() {
        write_actions(actions, only)?;
    }
    Ok(results)
}

/// `check-policy FILE [--sample EVENTS] [--paths LIST]`, rendered.
pub fn run_check_policy(
    file: &Path,
    sample: Option<&Path>,
    paths: Option<&Path>,
    engine: &Engine,
    format: OutputFormat,
) -> Result<String> {
    let policy = crate::policy::load(file)?;
    let sample = sample.map(|p| read_event_facts(p, engine, false, false)).transpose()?.unwrap_or_default();
    let paths = paths.map(read_lines).transpose()?.unwrap_or_default();
    let report = check_policy(&policy, &sample, &paths);
    render(format, &report, || report.to_text())
}

/// The rows of `hs-classify path`.
pub fn path_rows(policy: &Policy, paths: &[String]) -> Vec<PathRow> {
    check_policy(policy, &[], paths).paths
}

/// Non-empty lines of a file, trimmed.
pub fn read_lines(path: &Path) -> Result<Vec<String>> {
    let text = crate::error::read_to_string(path)?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect())
}

/// A value as text for people or JSON for machines.
pub fn render<T: Serialize>(format: OutputFormat, value: &T, text: impl FnOnce() -> String) -> Result<String> {
    let json = |r: serde_json::Result<String>| r.map_err(|e| Error::Failed(format!("JSON output: {e}")));
    Ok(match format {
        OutputFormat::Text => text(),
        OutputFormat::Json => json(serde_json::to_string_pretty(value))? + "\n",
        OutputFormat::Jsonl => json(serde_json::to_string(value))? + "\n",
    })
}

/// Path rows as text.
pub fn paths_text(rows: &[PathRow]) -> String {
    rows.iter()
        .map(|p| {
            let why = p.glob.as_deref().map_or_else(|| "changes.default".to_string(), |g| format!("glob {g}"));
            format!("{} → {} ({why}){}\n", p.path, p.class, if p.test { ", test" } else { "" })
        })
        .collect()
}

/// hs-classify's subcommands.
#[derive(Debug, Clone)]
pub enum ClassifyCommand {
    /// Classify events (one result each) or an issue (then label, comment and move it on the board).
    Error { event: Option<EventInput>, issue: Option<u64> },
    /// Validate a policy file; show what each rule matches on a sample of events and paths.
    CheckPolicy { file: std::path::PathBuf, sample: Option<std::path::PathBuf>, paths: Option<std::path::PathBuf> },
    /// The class of each path from the policy's `changes.paths`.
    Path { paths: Vec<String> },
}

/// `--event FILE [--text] [--strict]`: the same inputs as hs-fingerprint.
#[derive(Debug, Clone)]
pub struct EventInput {
    /// Events: JSON lines, Sentry event JSON, or log text with --text.
    pub event: std::path::PathBuf,
    /// Read raw log text: every stack trace in it is an event.
    pub text: bool,
    /// Stop at the first bad line (exit 2) instead of skipping it.
    pub strict: bool,
}

/// Runs one hs-classify subcommand and returns what it prints; the forge is opened only
/// to classify an issue, the policy file (`--policy`, else the config's) only when needed.
pub fn run_command(
    ctx: &crate::app::Context,
    command: ClassifyCommand,
    policy_file: Option<&std::path::Path>,
    forge: &crate::app::ForgeChoice,
    format: OutputFormat,
) -> Result<String> {
    let engine = crate::input::engine_for(&ctx.config, None)?;
    if let ClassifyCommand::CheckPolicy { file, sample, paths } = &command {
        return run_check_policy(file, sample.as_deref(), paths.as_deref(), &engine, format);
    }
    let policy = crate::policy::from_config(&ctx.config, policy_file)?;
    match command {
        ClassifyCommand::Error { event: Some(input), .. } => {
            let results = classify_event_file(&policy, &engine, &input, &ctx.actions())?;
            results.iter().map(|c| render(format, c, || classification_text(c))).collect()
        }
        ClassifyCommand::Error { issue: Some(number), .. } => {
            let dry_run = forge.dry_run;
            let forge = ctx.open_forge(forge)?;
            let session = ctx.ledger(Path::new("."));
            let done = ctx.block_on(classify_issue(forge.as_ref(), &policy, number))?;
            if !dry_run {
                let c = &done.classification;
                let data = serde_json::json!({"class": c.class, "auto_fix": c.auto_fixable});
                session.ledger.append(crate::ledger::kinds::ISSUE_CLASSIFIED, &number.to_string(), data)?;
            }
            ctx.finish_ledger(&session);
            write_actions(&ctx.actions(), &done.classification)?;
            render(format, &done, || classification_text(&done.classification))
        }
        ClassifyCommand::Path { paths } => {
            let rows = path_rows(&policy, &paths);
            render(format, &rows, || paths_text(&rows))
        }
        _ => Err(Error::input(Position::file("hs-classify error"), "needs --event FILE or --issue N")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Reason;

    #[test]
    fn reasons_comment_keeps_error_text_inert() {
        let c = Classification {
            class: Class::Critical,
            auto_fixable: false,
            reasons: vec![Reason { rule: "r".into(), matched: "text found \"a | b @admin <img>\nnext\"".into() }],
        };
        let md = reasons_markdown(&c);
        assert!(md.contains("### homeostat risk class: `critical`"));
        assert!(md.contains("a \\| b @\u{200b}admin \\<img\\> next"), "{md}");
        assert_eq!(md.lines().filter(|l| l.starts_with("| r |")).count(), 1);
    }
}
