//! `hs-content feedback`: reader feedback from issues and discussions, summarised into
//! `content/feedback/<period>.yml` for the next plans.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::json;

use super::feedback::{self, FeedbackFile};
use super::plan;
use super::topics::TopicsFile;
use super::workspace::{Workspace, write_file};
use crate::error::{Error, Result};
use crate::forge::{Forge, StateFilter};
use crate::llm::Llm;

#[derive(Debug, Clone, Serialize)]
pub struct FeedbackReport {
    pub path: Option<String>,
    pub issues: Vec<u64>,
    pub keywords: usize,
    pub faq: usize,
}

/// One piece of reader feedback: an issue or a discussion.
#[derive(Debug, Clone)]
pub struct FeedbackPost {
    pub number: u64,
    /// `issue` or `discussion`.
    pub kind: &'static str,
    pub title: String,
    pub body: String,
}

/// The open issues and discussions labelled `label`, by number (they share one sequence).
/// Discussions that cannot be read (a token without `discussions: read`) are skipped with
/// a warning.
pub async fn feedback_posts(forge: &dyn Forge, label: &str) -> Result<Vec<FeedbackPost>> {
    let post = |number, kind, title, body| FeedbackPost { number, kind, title, body };
    let mut posts: Vec<FeedbackPost> = forge
        .list_issues(label, StateFilter::Open)
        .await?
        .into_iter()
        .map(|i| post(i.number, "issue", i.title, i.body))
        .collect();
    match forge.list_discussions(label).await {
        Ok(found) => posts.extend(found.into_iter().map(|d| post(d.number, "discussion", d.title, d.body))),
        Err(e) => tracing::warn!("feedback: discussions skipped: {e}"),
    }
    posts.sort_by_key(|p| p.number);
    posts.dedup_by_key(|p| p.number);
    Ok(posts)
}

/// `hs-content feedback`: summarises open issues and discussions labelled `feedback` into
/// `content/feedback/<period>.yml`.
pub async fn collect_feedback(
    ws: &Workspace,
    forge: &dyn Forge,
    llm: &Llm,
    scrubber: &crate::scrub::Scrubber,
    now: jiff::Timestamp,
) -> Result<FeedbackReport> {
    let cfg = &ws.config;
    let posts = feedback_posts(forge, &cfg.feedback_label).await?;
    let numbers: Vec<u64> = posts.iter().map(|p| p.number).collect();
    if posts.is_empty() {
        return Ok(FeedbackReport { path: None, issues: numbers, keywords: 0, faq: 0 });
    }
    let topics = TopicsFile::load(&ws.at(&cfg.topics))?;
    let ctx = json!({
        "brand": cfg.brand,
        "topics": topics.topics.iter().map(|t| json!({"name": t.name, "description": t.description})).collect::<Vec<_>>(),
        "issues": posts
            .iter()
            // Personal data and secrets never leave the machine.
            .map(|p| {
                json!({"number": p.number, "kind": p.kind, "title": scrubber.scrub(&p.title), "body": scrubber.scrub(&p.body)})
            })
            .collect::<Vec<_>>(),
    });
    let answer = llm.ask_json("content-feedback.j2", &ctx, &feedback::answer_schema()).await?;
    let names: BTreeSet<&str> = topics.topics.iter().map(|t| t.name.as_str()).collect();
    let mut file: FeedbackFile = serde_json::from_value(json!({
        "period": plan::iso_week(now),
        "summary": answer["summary"],
        "sources": numbers,
        "keywords": answer["keywords"],
        "faq": answer["faq"],
    }))
    .map_err(|e| Error::Failed(format!("llm: the feedback answer does not fit: {e}")))?;
    // A topic the file does not know is dropped rather than invented.
    for k in &mut file.keywords {
        if k.topic.as_deref().is_some_and(|t| !names.contains(t)) {
            k.topic = None;
        }
    }
    let path = ws.at(&cfg.out.feedback).join(format!("{}.yml", file.period));
    let yml = serde_yaml_ng::to_string(&file).map_err(|e| Error::Failed(e.to_string()))?;
    write_file(&path, yml.as_bytes())?;
    Ok(FeedbackReport {
        path: Some(Workspace::rel(&cfg.out.feedback, &format!("{}.yml", file.period))),
        issues: numbers,
        keywords: file.keywords.len(),
        faq: file.faq.len(),
    })
}
