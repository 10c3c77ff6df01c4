//! `hs-content feedback`: reader feedback from issues and discussions, summarised into
//! `content/feedback/<period>.yml` for the next plans.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::json;

use super::feedback::{self, FeedbackFile};
use super::plan;
use super::topics::TopicsFile;
use super::workspace::Workspace;
use crate::error::{Error, Result};
use crate::files::write_whole;
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
    let words = |i: &crate::forge::Issue| crate::issues::feedback::users_words(i).unwrap_or_else(|| i.body.clone());
    let mut posts: Vec<FeedbackPost> = forge
        .list_issues(label, StateFilter::Open)
        .await?
        .into_iter()
        .map(|i| post(i.number, "issue", i.title.clone(), words(&i)))
        .collect();
    match forge.list_discussions(label).await {
        Ok(found) => posts.extend(found.into_iter().map(|d| post(d.number, "discussion", d.title, d.body))),
        Err(e) => tracing::warn!("feedback: discussions skipped: {e}"),
    }
    posts.sort_by_key(|p| p.number);
    posts.dedup_by_key(|p| p.number);
    Ok(posts)
}

/// The posts grouped by near-duplicates with hs-cluster's similarity (`cluster.threshold`):
/// each thread's first post (lowest number) and the numbers of the others, largest thread
/// first, then by number.
fn threads(posts: &[FeedbackPost], opts: crate::cluster::Options) -> Vec<(&FeedbackPost, Vec<u64>)> {
    use crate::cluster::{Item, Kind, assign};
    let items: Vec<Item> = posts
        .iter()
        .map(|p| Item {
            id: format!("#{}", p.number),
            kind: Kind::Feedback,
            title: p.title.clone(),
            // Hidden text is not the reader's words (as hs-cluster reads issues).
            body: crate::prompt::strip_hidden(&p.body),
            ..Item::default()
        })
        .collect();
    let mut by_cluster: std::collections::BTreeMap<String, Vec<&FeedbackPost>> = Default::default();
    for (post, a) in posts.iter().zip(assign(&items, opts)) {
        by_cluster.entry(a.cluster).or_default().push(post);
    }
    let mut threads: Vec<(&FeedbackPost, Vec<u64>)> =
        by_cluster.into_values().map(|members| (members[0], members[1..].iter().map(|p| p.number).collect())).collect();
    threads.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.number.cmp(&b.0.number)));
    threads
}

/// `hs-content feedback`: summarises open issues and discussions labelled `feedback` into
/// `content/feedback/<period>.yml`.
pub async fn collect_feedback(
    ws: &Workspace,
    forge: &dyn Forge,
    llm: &Llm,
    scrubber: &crate::scrub::Scrubber,
    threads_by: crate::cluster::Options,
    now: jiff::Timestamp,
) -> Result<FeedbackReport> {
    let cfg = &ws.config;
    let posts = feedback_posts(forge, &cfg.feedback_label).await?;
    let numbers: Vec<u64> = posts.iter().map(|p| p.number).collect();
    if posts.is_empty() {
        return Ok(FeedbackReport { path: None, issues: numbers, keywords: 0, faq: 0 });
    }
    let topics = TopicsFile::load(&ws.at(&cfg.topics))?;
    // Personal data and secrets never leave the machine, nor reach the comparison.
    let posts: Vec<FeedbackPost> = posts
        .into_iter()
        .map(|p| FeedbackPost {
            title: scrubber.scrub(&p.title).into_owned(),
            body: scrubber.scrub(&p.body).into_owned(),
            ..p
        })
        .collect();
    let threads = threads(&posts, threads_by);
    let ctx = json!({
        "brand": cfg.brand,
        "topics": topics.topics.iter().map(|t| json!({"name": t.name, "description": t.description})).collect::<Vec<_>>(),
        // One entry per thread: its first post, with how many asked the same.
        "issues": threads
            .iter()
            .map(|(first, also)| json!({
                "number": first.number, "kind": first.kind, "title": first.title, "body": first.body,
                "count": 1 + also.len(), "also": also,
            }))
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
        "threads": threads
            .iter()
            .map(|(first, also)| json!({
                "title": first.title,
                "count": 1 + also.len(),
                "sources": std::iter::once(first.number).chain(also.iter().copied()).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>(),
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
    write_whole(&path, yml.as_bytes())?;
    Ok(FeedbackReport {
        path: Some(Workspace::rel(&cfg.out.feedback, &format!("{}.yml", file.period))),
        issues: numbers,
        keywords: file.keywords.len(),
        faq: file.faq.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Feedback;

    #[tokio::test]
    async fn feedback_sent_through_the_relay_reads_as_the_users_words() {
        let dir = tempfile::tempdir().unwrap();
        let forge = crate::forge::local::LocalForge::open(&dir.path().join("forge")).unwrap();
        let ledger = crate::ledger::Ledger::open(dir.path().join("ledger.jsonl"));
        let fb = Feedback {
            id: format!("{:032x}", 7),
            message: "Please add a dark mode".into(),
            release: Some("2.0.0".into()),
            ..Feedback::default()
        };
        let config = crate::settings::Config::default();
        let scrubber = crate::scrub::Scrubber::builtin();
        crate::issues::feedback::file(&forge, &config, &ledger, scrubber, &[fb]).await.unwrap();
        let posts = feedback_posts(&forge, "feedback").await.unwrap();
        assert_eq!(posts.len(), 1);
        assert_eq!(
            (posts[0].title.as_str(), posts[0].body.as_str()),
            ("Feedback: Please add a dark mode", "Please add a dark mode")
        );
    }
}
