//! Deciding without touching the forge: which issues to believe, the fingerprint index,
//! and the step for each group within the quotas.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::{Group, IssueState, LABEL, LEDGER_CREATED, markers, parse_state};
use crate::error::Result;
use crate::forge::{Forge, Issue, State, StateFilter};
use crate::ledger::Ledger;
use crate::settings::IssuesConfig;

/// The issues whose hidden markers homeostat may believe: written by a bot account (the
/// token homeostat runs with) or by someone with write permission, asked of the forge
/// once per author. A stranger's issue that copies a real issue's trailer (and got the
/// label from an issue template) is skipped, so it cannot capture that issue's
/// regressions nor, as an approval issue, carry a plan.
pub async fn trusted(forge: &dyn Forge, issues: Vec<Issue>) -> Result<Vec<Issue>> {
    let mut verdicts: HashMap<String, bool> = HashMap::new();
    let mut kept = Vec::with_capacity(issues.len());
    for issue in issues {
        let ok = match verdicts.get(&issue.author) {
            Some(ok) => *ok,
            None => {
                let a = &issue.author;
                let ok = a.is_empty() || a.ends_with("[bot]") || forge.permission(a).await?.can_write();
                verdicts.insert(a.clone(), ok);
                ok
            }
        };
        if ok {
            kept.push(issue);
        } else {
            tracing::warn!(
                "issue #{} is by @{}, who cannot write here: its markers are ignored",
                issue.number,
                issue.author
            );
        }
    }
    Ok(kept)
}

/// The fingerprint → issue index of a run, from one listing.
#[derive(Debug, Default)]
pub struct Index {
    by_fingerprint: HashMap<String, Issue>,
}

impl Index {
    /// Lists the `homeostat:error` issues (open and closed) once.
    pub async fn load(forge: &dyn Forge) -> Result<Self> {
        let issues = forge.list_issues(LABEL, StateFilter::All).await?;
        Ok(Self::from_issues(trusted(forge, issues).await?))
    }

    /// When several issues carry one fingerprint, the open one wins, then the oldest.
    pub fn from_issues(issues: Vec<Issue>) -> Self {
        let mut by_fingerprint: HashMap<String, Issue> = HashMap::new();
        for issue in issues {
            for (fp, _) in markers(&issue.body) {
                let better = match by_fingerprint.get(&fp) {
                    None => true,
                    Some(have) => {
                        (issue.state == State::Open && have.state != State::Open)
                            || (issue.state == have.state && issue.number < have.number)
                    }
                };
                if better {
                    by_fingerprint.insert(fp, issue.clone());
                }
            }
        }
        Self { by_fingerprint }
    }

    pub fn get(&self, fingerprint: &str) -> Option<&Issue> {
        self.by_fingerprint.get(fingerprint)
    }

    /// A group whose fingerprint has no issue, but one of its older-algorithm aliases
    /// has, is that issue's group: no duplicate issue after an upgrade (the issue then
    /// carries both markers).
    pub fn adopt_aliases(&mut self, groups: &[Group]) {
        for g in groups {
            if self.by_fingerprint.contains_key(&g.fingerprint) {
                continue;
            }
            if let Some(issue) = g.aliases.iter().find_map(|a| self.by_fingerprint.get(a)).cloned() {
                self.by_fingerprint.insert(g.fingerprint.clone(), issue);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.by_fingerprint.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty()
    }
}

/// What a run does for one fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Created,
    Commented,
    Reopened,
    /// Known, nothing posted: the batch was counted already, or only the counter moved
    /// (a closed issue seen from an old release, or inside the dedup window).
    Skipped,
    /// Held back by a quota; reported, and kept in the ledger for a later run.
    Held,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Step {
    Create,
    Comment(u64),
    /// Update the counter only, for the reason given.
    Count(u64, &'static str),
    Reopen(u64),
    Nothing(u64),
    Hold(String),
}

/// The limits a run plans within.
#[derive(Debug, Clone)]
pub struct PlanLimits {
    /// New issues this run may still open.
    pub new_allowed: u64,
    /// Occurrence comments this run may post.
    pub comments_allowed: u64,
    pub dedup_window: std::time::Duration,
    pub reopen_on_regression: bool,
    pub now: jiff::Timestamp,
    /// Fingerprints held back since then are filed before they are dropped.
    pub held_since: jiff::Timestamp,
}

impl PlanLimits {
    /// The limits from config and the ledger (issues created since midnight UTC).
    pub fn from_config(config: &IssuesConfig, ledger: &Ledger, now: jiff::Timestamp) -> Result<Self> {
        let midnight = now.to_zoned(jiff::tz::TimeZone::UTC).start_of_day().map(|z| z.timestamp()).unwrap_or(now);
        let today = ledger.count(LEDGER_CREATED, None, midnight)? as u64;
        let per_day_left = u64::from(config.max_new_per_day).saturating_sub(today);
        Ok(Self {
            new_allowed: u64::from(config.max_new_per_run).min(per_day_left),
            comments_allowed: u64::from(config.max_comments_per_run),
            dedup_window: config.dedup_window.as_std(),
            reopen_on_regression: config.reopen_on_regression,
            now,
            held_since: now.checked_sub(config.hold_for.as_std()).unwrap_or(jiff::Timestamp::MIN),
        })
    }
}

/// Decides, without touching the forge, what to do for each group. New fingerprints are
/// created most frequent first, within the quota; the rest are held.
pub(super) fn plan(groups: &[Group], index: &Index, limits: &PlanLimits) -> Vec<Step> {
    let mut new_ones: Vec<usize> = (0..groups.len()).filter(|&i| index.get(&groups[i].fingerprint).is_none()).collect();
    new_ones.sort_by(|&a, &b| groups[b].count.cmp(&groups[a].count).then(a.cmp(&b)));
    let allowed: BTreeSet<usize> = new_ones.iter().copied().take(limits.new_allowed as usize).collect();
    let mut steps: Vec<Step> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| match index.get(&g.fingerprint) {
            None if allowed.contains(&i) => Step::Create,
            None => Step::Hold(format!("quota: at most {} new issue(s) now", limits.new_allowed)),
            Some(issue) => plan_known(g, issue, limits),
        })
        .collect();
    // Past the comment budget, the issues with the most new occurrences keep their comment;
    // the others only count (they comment on a later run).
    let mut commenting: Vec<usize> = (0..steps.len()).filter(|&i| matches!(steps[i], Step::Comment(_))).collect();
    commenting.sort_by(|&a, &b| groups[b].count.cmp(&groups[a].count).then(a.cmp(&b)));
    for &i in commenting.iter().skip(limits.comments_allowed as usize) {
        if let Step::Comment(n) = steps[i] {
            steps[i] = Step::Count(n, "counted; this run's comment budget (issues.max_comments_per_run) is spent");
        }
    }
    steps
}

/// The step for a known issue read again right before its write (another run, or a
/// maintainer, may have changed it since the listing): what it says now, except that a
/// planned count stays a count (past the comment budget, or on an issue filed twice).
pub(super) fn replan(planned: &Step, g: &Group, issue: &Issue, limits: &PlanLimits) -> Step {
    match (planned, plan_known(g, issue, limits)) {
        (_, Step::Nothing(n)) => Step::Nothing(n),
        (Step::Count(_, why), fresh) if !matches!(fresh, Step::Count(..)) => Step::Count(issue.number, why),
        (_, fresh) => fresh,
    }
}

fn plan_known(g: &Group, issue: &Issue, limits: &PlanLimits) -> Step {
    let state = parse_state(&issue.body);
    if state.applied.contains(&g.key) {
        return Step::Nothing(issue.number);
    }
    if issue.state == State::Closed {
        return if limits.reopen_on_regression && is_regression(g, issue, &state) {
            Step::Reopen(issue.number)
        } else {
            Step::Count(issue.number, "closed; counted silently (not from a newer release)")
        };
    }
    let recently = state
        .last_comment_at
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .is_some_and(|t| limits.now.duration_since(t).as_secs() < limits.dedup_window.as_secs() as i64);
    if recently { Step::Count(issue.number, "counted; inside the dedup window") } else { Step::Comment(issue.number) }
}

/// A closed issue has regressed when the error comes from a release newer than any it was
/// seen in before; without releases on either side, when it happened after the close.
fn is_regression(g: &Group, issue: &Issue, state: &IssueState) -> bool {
    match (g.newest_release(), newest(state.releases.iter().map(String::as_str))) {
        (Some(now), Some(before)) => compare_releases(now, before) == Ordering::Greater,
        (Some(_), None) => true,
        (None, _) => {
            let closed = issue.closed_at.as_deref().and_then(|t| t.parse::<jiff::Timestamp>().ok());
            match (g.last_seen, closed) {
                (Some(seen), Some(closed)) => seen > closed,
                _ => false,
            }
        }
    }
}

/// Orders release names: semantic versions (with or without a leading `v`) as semver,
/// anything else by its numbers, then as text.
pub fn compare_releases(a: &str, b: &str) -> Ordering {
    let semver = |s: &str| semver::Version::parse(s.trim_start_matches(['v', 'V'])).ok();
    if let (Some(x), Some(y)) = (semver(a), semver(b)) {
        return x.cmp(&y);
    }
    let numbers = |s: &str| -> Vec<u64> {
        s.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect()
    };
    numbers(a).cmp(&numbers(b)).then_with(|| a.cmp(b))
}

pub(super) fn newest<'a>(releases: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    releases.max_by(|a, b| compare_releases(a, b))
}
