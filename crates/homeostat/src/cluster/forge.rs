//! Forge mode: for each open issue in order, its nearest earlier cluster (issues closed
//! within `closed_within` count as reports to link to, never to comment on); above the
//! repository's threshold, one comment linking the likely duplicates with the evidence
//! and a label — never a close. Maintainers' reactions (closed as duplicate, label
//! removed) go to the ledger and tune the threshold per repository.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::json;

use super::engine::{Index, Match};
use super::model::{Model, Options};
use super::{ClusterConfig, Item, read};
use crate::error::Result;
use crate::forge::{Forge, State, StateFilter, find_marked_own};
use crate::ledger::Ledger;
use crate::llm::Llm;
use crate::markers::{self, Marker, tag};
use crate::prompt::{self, Prompts};
use crate::scrub::Scrubber;

/// Ledger kinds: a duplicate comment posted (key `owner/name#n`; fields `repo`, `issue`,
/// `duplicates`, `similarity`, `title` — the cluster's earliest report's) and the
/// maintainer's reaction to it (`reaction`).
pub const LINKED: &str = "cluster.linked";
pub const REACTION: &str = "cluster.reaction";

/// Borderline pairs this far below the threshold go to the model when configured.
pub const BORDER: f32 = 0.08;

/// What the run needs besides the forge.
pub struct Deps<'a> {
    pub config: &'a ClusterConfig,
    pub ledger: &'a Ledger,
    pub scrubber: &'a Scrubber,
    pub prompts: &'a Prompts,
    pub llm: Option<&'a Llm>,
    /// The run's clock reading (how far back `closed_within` reaches).
    pub now: jiff::Timestamp,
}

/// One likely duplicate found.
#[derive(Debug, Clone, Serialize)]
pub struct Linked {
    pub issue: u64,
    pub duplicates: Vec<u64>,
    pub similarity: f32,
    /// Whether this run posted (false: posted by an earlier run, or the cap was reached).
    pub posted: bool,
    pub confirmed_by_model: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub repo: String,
    pub items: usize,
    pub threshold: f64,
    pub linked: Vec<Linked>,
    pub reactions: Vec<(u64, String)>,
}

/// The number of an issue item, to comment on and label; `None` for a discussion (its id
/// has no `#`: the issues API cannot comment on it). Not [`super::features::issue_number`],
/// which also reads a discussion's number from its URL, for the age rule.
fn issue_number(item: &Item) -> Option<u64> {
    item.id.rsplit_once('#').and_then(|(_, n)| n.parse().ok())
}

/// The issue a comment can follow: an open issue's number (a discussion, a closed issue:
/// none).
fn commentable(item: &Item, closed: &HashSet<u64>) -> Option<u64> {
    issue_number(item).filter(|n| !closed.contains(n))
}

/// The threshold for `repo`: configured, then raised past wrongly linked pairs while
/// that costs fewer confirmed ones than twice the wrong ones it avoids.
pub fn tuned_threshold(config: &ClusterConfig, repo: &str, ledger: &Ledger) -> Result<f64> {
    let base = config.thresholds.get(repo).copied().unwrap_or(config.threshold);
    if !config.tune {
        return Ok(base);
    }
    let mut seen: Vec<(f64, bool)> = Vec::new();
    for e in ledger.entries()?.iter().filter(|e| e.kind == REACTION && e.get_str("repo") == Some(repo)) {
        if let (Some(s), Some(r)) = (e.get_f64("similarity"), e.get_str("reaction")) {
            seen.push((s, r == "confirmed"));
        }
    }
    let score = |t: f64| {
        let kept = seen.iter().filter(|(s, _)| *s >= t);
        kept.fold(0i64, |acc, (_, ok)| acc + if *ok { 1 } else { -2 })
    };
    let mut best = (score(base), base);
    for &(s, _) in &seen {
        let t = (s + 0.005).min(0.95);
        if t > base && score(t) > best.0 {
            best = (score(t), t);
        }
    }
    Ok(best.1)
}

/// Records how maintainers answered earlier comments: closed with a `duplicate` label or
/// closed at all → confirmed; our label removed while open → rejected.
async fn record_reactions(forge: &dyn Forge, deps: &Deps<'_>, repo: &str) -> Result<Vec<(u64, String)>> {
    let entries = deps.ledger.entries()?;
    let answered: std::collections::HashSet<&str> =
        entries.iter().filter(|e| e.kind == REACTION).map(|e| e.key.as_str()).collect();
    let mut out = Vec::new();
    for e in entries.iter().filter(|e| e.kind == LINKED && e.get_str("repo") == Some(repo)) {
        let Some(n) = e.get_f64("issue").map(|n| n as u64) else { continue };
        if answered.contains(e.key.as_str()) || out.iter().any(|(m, _)| *m == n) {
            continue;
        }
        let issue = forge.get_issue(n).await?;
        let reaction = match issue.state {
            State::Closed => "confirmed",
            State::Open if !issue.has_label(&deps.config.label) => "rejected",
            State::Open => continue,
        };
        let similarity = e.get_f64("similarity").unwrap_or(0.0);
        if forge.is_dry_run() {
            continue;
        }
        deps.ledger.append(
            REACTION,
            &e.key,
            json!({"repo": repo, "issue": n, "reaction": reaction, "similarity": similarity}),
        )?;
        out.push((n, reaction.to_string()));
    }
    Ok(out)
}

/// The items to match: discussions first, then the open issues and those closed within
/// `closed_within`, in number order; and the numbers of the closed ones.
async fn read_items(forge: &dyn Forge, deps: &Deps<'_>, repo: &str) -> Result<(Vec<Item>, HashSet<u64>)> {
    let labels: Vec<&str> =
        if deps.config.labels.is_empty() { vec![""] } else { deps.config.labels.iter().map(String::as_str).collect() };
    // Not before 1970: GitHub takes no earlier `since`, and has no issue from then.
    let (window, epoch) = (deps.config.closed_within.as_std(), jiff::Timestamp::UNIX_EPOCH);
    let window = jiff::SignedDuration::try_from(window).unwrap_or(jiff::SignedDuration::MAX);
    let since = (!window.is_zero()).then(|| deps.now.checked_sub(window).map_or(epoch, |t| t.max(epoch)));
    let mut issues = Vec::new();
    for label in labels {
        issues.extend(forge.list_issues(label, StateFilter::Open).await?);
        if let Some(since) = since {
            issues.extend(forge.list_closed_since(label, since).await?);
        }
    }
    issues.sort_by_key(|i| i.number);
    issues.dedup_by_key(|i| i.number);
    let closed = issues.iter().filter(|i| i.state == State::Closed).map(|i| i.number).collect();
    let mut items: Vec<Item> = Vec::new();
    if let Some(label) = &deps.config.discussions {
        for d in forge.list_discussions(label).await? {
            items.push(read::from_discussion(repo, &d, deps.scrubber));
        }
    }
    items.extend(issues.iter().map(|i| read::from_issue(repo, i, deps.scrubber)));
    Ok((items, closed))
}

fn confirm_context(a: &Item, b: &Item) -> serde_json::Value {
    let show = |i: &Item| prompt::quote_untrusted("report", &format!("{}\n\n{}", i.title, i.body));
    json!({"a": show(a), "b": show(b)})
}

/// Asks the model whether a borderline pair is one problem (any failure: no).
async fn model_says_duplicate(llm: &Llm, a: &Item, b: &Item) -> bool {
    let schema = json!({"type": "object", "required": ["duplicate"],
        "properties": {"duplicate": {"type": "boolean"}, "reason": {"type": "string"}}});
    match llm.ask_json("cluster-confirm.j2", &confirm_context(a, b), &schema).await {
        Ok(v) => v["duplicate"].as_bool().unwrap_or(false),
        Err(e) => {
            tracing::warn!("cluster: model confirmation failed, treating as not a duplicate: {e}");
            false
        }
    }
}

/// Matches each item against the clusters of the items before it. The model is asked only
/// about open issues, which a comment can follow: a closed issue or a discussion joins a
/// cluster on its similarity alone.
async fn matches(
    deps: &Deps<'_>,
    items: &[Item],
    closed: &HashSet<u64>,
    threshold: f32,
) -> (Index, Vec<Option<(Match, bool)>>) {
    let opts = Options { threshold, across_repos: deps.config.across_repos, ..Options::default() };
    let (model, vectors) = Model::fit(items, opts);
    let mut index = Index::new(model);
    let mut out = Vec::new();
    for (i, v) in vectors.into_iter().enumerate() {
        let near = index.nearest(&v);
        let mut found = near.clone().filter(|m| m.similarity >= threshold).map(|m| (m, false));
        let llm = deps.llm.filter(|_| deps.config.llm_confirm && commentable(&items[i], closed).is_some());
        if let (None, Some(m), Some(llm)) = (&found, near, llm) {
            let best = &items[m.members[0].0 as usize];
            if m.similarity >= threshold - BORDER && model_says_duplicate(llm, &items[i], best).await {
                found = Some((m, true));
            }
        }
        index.insert(v, found.as_ref().map(|(m, _)| m.cluster));
        out.push(found);
    }
    (index, out)
}

fn comment_body(
    deps: &Deps<'_>,
    index: &Index,
    items: &[Item],
    closed: &HashSet<u64>,
    pos: usize,
    m: &Match,
) -> Result<String> {
    let best = m.members[0].0 as usize;
    let (sig, words) = index.model.shared_evidence(&index.vectors[pos], &index.vectors[best], 6);
    let dups: Vec<_> = m
        .members
        .iter()
        .filter_map(|&(p, s)| issue_number(&items[p as usize]).map(|n| (n, &items[p as usize].title, s)))
        .map(|(n, t, s)| {
            let title = prompt::inline_code(t);
            json!({"number": n, "title": title, "similarity": format!("{s:.2}"), "closed": closed.contains(&n)})
        })
        .collect();
    let ctx = json!({
        "duplicates": dups, "similarity": format!("{:.2}", m.similarity), "label": deps.config.label,
        "signature": sig.iter().map(|s| prompt::inline_code(s)).collect::<Vec<_>>(),
        "words": words.iter().map(|s| prompt::inline_code(s)).collect::<Vec<_>>(),
    });
    Ok(markers::body(&deps.prompts.render("cluster-comment.md.j2", &ctx)?, &[Marker::tag(tag::CLUSTER)]))
}

/// One forge run over the repository's open issues (and those closed within
/// `closed_within`, as reports to link to).
pub async fn run(forge: &dyn Forge, deps: &Deps<'_>) -> Result<Outcome> {
    let repo = forge.repo();
    let reactions = record_reactions(forge, deps, &repo).await?;
    let threshold = tuned_threshold(deps.config, &repo, deps.ledger)?;
    let (items, closed) = read_items(forge, deps, &repo).await?;
    let (index, found) = matches(deps, &items, &closed, threshold as f32).await;
    let mut out = Outcome { repo: repo.clone(), items: items.len(), threshold, reactions, linked: Vec::new() };
    let mut budget = deps.config.max_comments_per_run;
    for (pos, (item, m)) in items.iter().zip(&found).enumerate() {
        let (Some((m, by_model)), Some(n)) = (m, commentable(item, &closed)) else { continue };
        let duplicates: Vec<u64> = m.members.iter().filter_map(|&(p, _)| issue_number(&items[p as usize])).collect();
        // The cluster's name in reports: its earliest report's title (scrubbed when read).
        let first = m.members.iter().map(|&(p, _)| &items[p as usize]).min_by_key(|i| issue_number(i));
        let title = first.map_or(item.title.as_str(), |i| i.title.as_str());
        let key = format!("{repo}#{n}");
        let done = deps.ledger.last(LINKED, &key)?.is_some()
            || find_marked_own(forge, forge.list_comments(n).await?, &Marker::tag(tag::CLUSTER)).await?.is_some();
        let posted = !done && budget > 0;
        if posted {
            if deps.config.comment {
                forge.create_comment(n, &comment_body(deps, &index, &items, &closed, pos, m)?).await?;
            }
            forge.add_labels(n, std::slice::from_ref(&deps.config.label)).await?;
            let data = json!({"repo": repo, "issue": n, "duplicates": duplicates, "similarity": m.similarity,
                "by_model": by_model, "title": title});
            if !forge.is_dry_run() {
                deps.ledger.append(LINKED, &key, data)?;
            }
            budget -= 1;
        }
        out.linked.push(Linked {
            issue: n,
            duplicates,
            similarity: m.similarity,
            posted,
            confirmed_by_model: *by_model,
        });
    }
    Ok(out)
}

/// The binary's forge mode: builds the model client when confirmation is on, then runs.
pub async fn run_with_config(
    forge: &dyn Forge,
    config: &crate::settings::Config,
    ledger: &Ledger,
    env: &crate::gha::Env,
    now: jiff::Timestamp,
) -> Result<Outcome> {
    let cluster = config.cluster.clone().unwrap_or_default();
    let prompts = Prompts::builtin()?;
    let llm = match (&config.llm, cluster.llm_confirm) {
        (Some(llm), true) => Some(Llm::from_config(llm, Prompts::builtin()?, ledger.clone(), env)?),
        _ => None,
    };
    let scrubber = crate::scrub::config_scrubber(config)?;
    let deps = Deps { config: &cluster, ledger, scrubber: &scrubber, prompts: &prompts, llm: llm.as_ref(), now };
    run(forge, &deps).await
}
