//! Making the writes: issue bodies and comments from templates, one write at a time,
//! each recorded in the ledger.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::count::{self, Count};
use super::plan::{Step, newest, plan, replan};
use super::state::{fingerprint_marker, merge_state};
use super::{
    Action, Group, Index, IssueState, LABEL, LEDGER_CREATED, LEDGER_HELD, LEDGER_REOPENED, LEDGER_SEEN, PlanLimits,
    REGRESSION_LABEL, held_groups, parse_state,
};
use crate::error::Result;
use crate::forge::{Forge, Issue, IssueUpdate, NewIssue, State, limits};
use crate::ledger::Ledger;
use crate::policy::board::Stage;
use crate::prompt::Prompts;
use crate::settings::IssuesConfig;

/// The outcome for one fingerprint (hs-issue's output line).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub fingerprint: String,
    pub action: Action,
    pub issue: Option<u64>,
    pub url: Option<String>,
    /// Occurrences of this fingerprint in the run.
    pub occurrences: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip)]
    pub title: String,
}

/// The text homeostat posts, rendered and scrubbed.
pub struct Writer<'a> {
    pub prompts: &'a Prompts,
    /// Applied to every title, body and comment right before it is posted.
    pub scrub: &'a dyn Fn(&str) -> String,
}

impl Writer<'_> {
    fn title(&self, g: &Group) -> String {
        limits::truncate_chars(&(self.scrub)(&g.title), limits::TITLE_MAX_CHARS)
    }

    pub(super) fn body(&self, g: &Group, state: &IssueState, old_markers: &[(String, String)]) -> Result<String> {
        let context = serde_json::json!({
            "title": g.title, "culprit": g.culprit, "platform": g.platform, "message": g.message,
            "frames": g.frames, "sample_stack": g.sample_stack, "fingerprint": g.fingerprint,
            "count": state.count,
            "first_seen": state.first_seen.as_deref().unwrap_or("unknown"),
            "last_seen": state.last_seen.as_deref().unwrap_or("unknown"),
            "releases": state.releases, "environments": state.environments,
            "surfaces": state.surfaces, "tags": state.tags,
        });
        let text = (self.scrub)(&self.prompts.render("issue-body.md.j2", &context)?);
        let mut trailer = vec![state.marker()];
        let mut seen = BTreeSet::new();
        for (fp, alg) in old_markers.iter().cloned().chain([(g.fingerprint.clone(), g.algorithm.clone())]) {
            if seen.insert((fp.clone(), alg.clone())) {
                trailer.push(fingerprint_marker(&fp, &alg));
            }
        }
        Ok(crate::markers::body(&text, &trailer))
    }

    fn comment(&self, template: &str, g: &Group, state: &IssueState, extra: serde_json::Value) -> Result<String> {
        let mut context = serde_json::json!({
            "new": g.count, "count": state.count,
            "last_seen": state.last_seen.as_deref().unwrap_or("unknown"),
            "releases": g.releases, "environments": g.environments,
        });
        if let (Some(map), serde_json::Value::Object(extra)) = (context.as_object_mut(), extra) {
            map.extend(extra);
        }
        let text = (self.scrub)(&self.prompts.render(template, &context)?);
        Ok(crate::markers::body(&text, &[]))
    }
}
/// Labels of a new error issue: `homeostat:error`, the board's first stage and the
/// configured ones. No label per fingerprint: the hidden marker finds the issue, and a
/// label per bug would pile up in the repository's label list.
pub fn labels_for(_g: &Group, config: &IssuesConfig) -> Vec<String> {
    let mut labels = vec![LABEL.to_string(), Stage::Backlog.label().to_string()];
    labels.extend(config.labels.iter().cloned());
    labels.into_iter().map(|l| limits::label(&l)).collect()
}

/// A regression's labels: back on the board's first column (it needs triage again) and
/// marked as a regression; every other label kept.
fn regression_labels(issue: &Issue) -> Vec<String> {
    let mut labels: Vec<String> = issue
        .labels
        .iter()
        .filter(|l| !Stage::ALL.iter().any(|s| s.label().eq_ignore_ascii_case(l)))
        .cloned()
        .collect();
    labels.push(REGRESSION_LABEL.to_string());
    labels.push(Stage::Backlog.label().to_string());
    labels
}

/// Plans and makes the writes for a run's groups, one at a time. A write that fails
/// stops the run (the next run picks up where it stopped: nothing is counted twice);
/// what it counted before is still looked at again ([`count::recount_replaced`]).
pub async fn apply(
    forge: &dyn Forge,
    ledger: &Ledger,
    config: &IssuesConfig,
    writer: &Writer<'_>,
    groups: &[Group],
    limits: &PlanLimits,
) -> Result<Vec<Outcome>> {
    let mut index = Index::load(forge).await?;
    index.adopt_aliases(groups);
    tracing::info!("{} known fingerprints on {} ({})", index.len(), forge.repo(), forge.kind());
    let (merged, fresh) = with_held(groups, held_groups(ledger, limits.held_since)?, &index);
    let steps = plan(&merged, &index, limits);
    let mut outcomes = Vec::with_capacity(merged.len());
    let mut counted: Vec<(u64, &Group)> = Vec::new(); // the issues counted on, with the group
    let now = limits.now.to_string();
    let written: Result<()> = async {
        for ((g, fresh), step) in merged.iter().zip(fresh).zip(steps) {
            let outcome = |action: Action, issue: Option<&Issue>, reason: Option<String>| Outcome {
                fingerprint: g.fingerprint.clone(),
                action,
                issue: issue.map(|i| i.number).filter(|&n| n > 0),
                url: issue.map(|i| i.url.clone()).filter(|u| !u.is_empty()),
                occurrences: g.count,
                reason,
                title: g.title.clone(),
            };
            let known = |n: u64| index.get(&g.fingerprint).filter(|i| i.number == n);
            match step {
                Step::Create => {
                    let issue = create(forge, ledger, config, writer, g, &now).await?;
                    outcomes.push(outcome(Action::Created, Some(&issue), None));
                }
                Step::Comment(n) | Step::Count(n, _) | Step::Reopen(n) => {
                    let Some(issue) = known(n) else { continue };
                    let done = update_known(forge, ledger, writer, g, issue, &step, limits).await?;
                    if done.wrote {
                        counted.push((n, g));
                    }
                    outcomes.push(outcome(done.action, Some(&done.issue), done.reason));
                }
                Step::Nothing(n) => {
                    outcomes.push(outcome(Action::Skipped, known(n), Some("this batch was counted already".into())));
                }
                Step::Hold(reason) => {
                    // Only what this run saw: what was held before is in the ledger already.
                    if let Some(fresh) = fresh {
                        let data = serde_json::json!({
                            "title": writer.title(fresh), "occurrences": fresh.count, "reason": reason, "group": fresh,
                        });
                        record(forge, ledger, LEDGER_HELD, &g.fingerprint, data)?;
                    }
                    outcomes.push(outcome(Action::Held, None, Some(reason)));
                }
            }
        }
        Ok(())
    }
    .await;
    // Best effort from here: a failure leaves what was there before it.
    let settled = settle_double_filings(forge, ledger, writer, &merged, &mut outcomes, &mut counted, limits).await;
    if let Err(e) = settled {
        tracing::warn!("reading the issues again after filing failed: {e}");
    }
    let listing = index.len().div_ceil(100).max(1);
    count::recount_replaced(forge, writer, &counted, config.settle.as_std(), listing).await;
    written.map(|()| outcomes)
}

/// Files a new fingerprint's issue and records it.
async fn create(
    forge: &dyn Forge,
    ledger: &Ledger,
    config: &IssuesConfig,
    writer: &Writer<'_>,
    g: &Group,
    now: &str,
) -> Result<Issue> {
    let mut state = merge_state(IssueState::default(), g);
    state.last_comment_at = Some(now.to_string());
    let new = NewIssue { title: writer.title(g), body: writer.body(g, &state, &[])?, labels: labels_for(g, config) };
    let issue = forge.create_issue(&new).await?;
    let data = serde_json::json!({"issue": issue.number, "occurrences": g.count});
    record(forge, ledger, LEDGER_CREATED, &g.fingerprint, data)?;
    Ok(issue)
}

/// GitHub starts one run per dispatch, with no queue, so two runs at once can each find a
/// fingerprint unknown and file it. After filing, the issues are read again: where an
/// older issue carries a fingerprint this run filed, this run's issue is closed with a
/// comment naming the older one, and its occurrences are counted there. Whichever run
/// reads last, the oldest issue is the one that stays (a run never closes the oldest).
async fn settle_double_filings<'g>(
    forge: &dyn Forge,
    ledger: &Ledger,
    writer: &Writer<'_>,
    groups: &'g [Group],
    outcomes: &mut [Outcome],
    counted: &mut Vec<(u64, &'g Group)>,
    limits: &PlanLimits,
) -> Result<()> {
    if !outcomes.iter().any(|o| o.action == Action::Created) {
        return Ok(());
    }
    let index = Index::load(forge).await?;
    for outcome in outcomes.iter_mut().filter(|o| o.action == Action::Created) {
        let Some(mine) = outcome.issue else { continue };
        let Some(kept) = index.get(&outcome.fingerprint).filter(|k| k.number < mine) else { continue };
        let Some(g) = groups.iter().find(|g| g.fingerprint == outcome.fingerprint) else { continue };
        tracing::warn!(
            "#{mine} and #{} were filed at once for {}: keeping #{}",
            kept.number,
            g.fingerprint,
            kept.number
        );
        // Closed first: a failure after that leaves no second open issue behind.
        forge.update_issue(mine, &IssueUpdate { state: Some(State::Closed), ..Default::default() }).await?;
        let context = serde_json::json!({ "kept": kept.number });
        forge
            .create_comment(mine, &writer.comment("issue-filed-twice.md.j2", g, &IssueState::default(), context)?)
            .await?;
        // Both runs may have carried the same batch (a resent dispatch, the same held
        // fingerprint): then the older issue counted it already.
        let why = "filed at the same time by another run; counted on the older issue";
        let done = update_known(forge, ledger, writer, g, kept, &Step::Count(kept.number, why), limits).await?;
        if done.wrote {
            counted.push((done.issue.number, g));
        }
        let updated = done.issue;
        let data = serde_json::json!({"issue": mine, "kept": kept.number, "occurrences": g.count});
        record(forge, ledger, crate::ledger::kinds::ISSUE_FILED_TWICE, &g.fingerprint, data)?;
        outcome.action = Action::Skipped;
        outcome.issue = Some(updated.number);
        outcome.url = Some(updated.url.clone()).filter(|u| !u.is_empty());
        outcome.reason = Some(why.to_string());
    }
    Ok(())
}

/// What counting on a known issue came to.
struct Known {
    action: Action,
    /// The issue as written (or as read, when nothing was written).
    issue: Issue,
    /// This run counted the batch there.
    wrote: bool,
    reason: Option<String>,
}

/// Counts a known issue's new occurrences: a comment when due (the regression comment on
/// a reopen), then one PATCH with the counter, the state and (on a reopen) the whole label
/// set — at most two writes. The comment goes first: if the PATCH fails, the batch is not
/// marked counted and a re-run posts and counts it again; the other order would lose the
/// comment for good. The ledger line (`issue.seen` or `issue.reopened`) follows the PATCH,
/// so a failed run records nothing it did not count. The issue is read again right before
/// and the step decided on what it says now ([`replan`]: the listing may be seconds old,
/// and another run or a maintainer may have changed it since).
async fn update_known(
    forge: &dyn Forge,
    ledger: &Ledger,
    writer: &Writer<'_>,
    g: &Group,
    listed: &Issue,
    planned: &Step,
    limits: &PlanLimits,
) -> Result<Known> {
    let n = listed.number;
    let issue = forge.get_issue(n).await?;
    let step = replan(planned, g, &issue, limits);
    let skipped = |issue: Issue| Known {
        action: Action::Skipped,
        issue,
        wrote: false,
        reason: Some("another run counted this batch already".into()),
    };
    let (reopen, comment) = (matches!(step, Step::Reopen(_)), matches!(step, Step::Comment(_) | Step::Reopen(_)));
    let labels = reopen.then(|| regression_labels(&issue));
    let now = limits.now.to_string();
    let count = Count { commented_at: comment.then_some(now.as_str()), labels: labels.as_deref() };
    let Some((update, state)) = count::update_for(writer, g, &issue, count)? else {
        return Ok(skipped(issue));
    };
    let action = if reopen {
        let before = parse_state(&issue.body);
        let fixed = newest(before.releases.iter().map(String::as_str));
        let extra = serde_json::json!({"release": g.newest_release(), "fixed_release": fixed});
        forge.create_comment(n, &writer.comment("issue-regression.md.j2", g, &state, extra)?).await?;
        Action::Reopened
    } else if comment {
        forge.create_comment(n, &writer.comment("issue-comment.md.j2", g, &state, serde_json::json!({}))?).await?;
        Action::Commented
    } else {
        Action::Skipped
    };
    let Some(updated) = count::write(forge, writer, g, n, Some(update), count).await? else {
        // A rate limit refused the write, and meanwhile another run carrying the same
        // batch counted it: that run recorded it.
        return Ok(skipped(issue));
    };
    let kind = if reopen { LEDGER_REOPENED } else { LEDGER_SEEN };
    let data = serde_json::json!({"issue": n, "occurrences": g.count, "fingerprint": g.fingerprint});
    record(forge, ledger, kind, &n.to_string(), data)?;
    let reason = match step {
        Step::Count(_, why) => Some(why.to_string()),
        _ => None,
    };
    Ok(Known { action, issue: updated, wrote: true, reason })
}

/// This run's groups, each new fingerprint with the occurrences held back before added,
/// then the held fingerprints this run did not see; and for each, the part this run saw
/// (`None` for a group only the ledger holds).
fn with_held<'g>(groups: &'g [Group], held: Vec<Group>, index: &Index) -> (Vec<Group>, Vec<Option<&'g Group>>) {
    let mut held: Vec<Option<Group>> =
        held.into_iter().filter(|h| index.get(&h.fingerprint).is_none()).map(Some).collect();
    let position: HashMap<String, usize> =
        held.iter().enumerate().filter_map(|(i, h)| Some((h.as_ref()?.fingerprint.clone(), i))).collect();
    let mut merged: Vec<Group> = groups
        .iter()
        .map(|g| {
            let mut merged = g.clone();
            if let Some(before) = position.get(&g.fingerprint).and_then(|&i| held[i].take()) {
                merged.absorb(&before);
            }
            merged
        })
        .collect();
    let mut fresh: Vec<Option<&Group>> = groups.iter().map(Some).collect();
    for h in held.into_iter().flatten() {
        merged.push(h);
        fresh.push(None);
    }
    (merged, fresh)
}

/// Appends to the ledger, unless this is a dry run.
fn record(forge: &dyn Forge, ledger: &Ledger, kind: &str, key: &str, data: serde_json::Value) -> Result<()> {
    if !forge.is_dry_run() {
        ledger.append(kind, key, data)?;
    }
    Ok(())
}
