//! Issues from errors (hs-issue): one open issue per fingerprint, whatever the number of
//! occurrences or runs.
//!
//! A run groups its occurrences by fingerprint ([`group`]), lists the `homeostat:error`
//! issues once to build the fingerprint index ([`Index`]), decides what to do for each
//! group without touching the forge ([`plan`]), then makes the writes one at a time
//! ([`apply`]). The issue body carries the fingerprint marker and a hidden state (counts,
//! releases, the keys of the batches already counted), so a run that is repeated or was
//! killed half-way counts nothing twice and never opens a second issue.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::event::ErrorEvent;
use crate::fingerprint::{Engine, Fingerprint};
use crate::forge::{Forge, Issue, IssueUpdate, NewIssue, State, StateFilter, limits};
use crate::gha::Actions;
use crate::input::{InputArgs, InputStats};
use crate::ledger::Ledger;
use crate::markers::Marker;
use crate::output::OutputFormat;
use crate::policy::board::Stage;
use crate::prompt::Prompts;
use crate::scrub::Scrubber;
use crate::settings::{Config, IssuesConfig};

/// Every error issue carries this label; the index lists issues by it.
pub const LABEL: &str = "homeostat:error";
/// Added when a closed issue comes back.
pub const REGRESSION_LABEL: &str = "homeostat:regression";
/// Ledger kinds.
pub const LEDGER_CREATED: &str = crate::ledger::kinds::ISSUE_CREATED;
pub const LEDGER_HELD: &str = crate::ledger::kinds::ISSUE_HELD;
pub const LEDGER_SEEN: &str = crate::ledger::kinds::ISSUE_SEEN;
pub const LEDGER_REOPENED: &str = crate::ledger::kinds::ISSUE_REOPENED;
/// How many batch keys an issue remembers.
const APPLIED_KEYS_KEPT: usize = 50;

/// One occurrence of an error, already fingerprinted and scrubbed.
#[derive(Debug, Clone, Default)]
pub struct Occurrence {
    pub fingerprint: String,
    pub algorithm: String,
    /// The same error's fingerprints under older algorithm versions: an issue filed
    /// under one of them is this error's issue.
    pub aliases: Vec<String>,
    pub title: String,
    pub culprit: String,
    pub platform: String,
    pub message: String,
    /// The in-app frames as grouped, one line each.
    pub frames: Vec<String>,
    pub stack: Option<String>,
    pub release: Option<String>,
    pub environment: Option<String>,
    /// Where in the product it happened (the event's `surface`), scrubbed.
    pub surface: Option<String>,
    /// The event's tags as `key=value`, scrubbed.
    pub tags: Vec<String>,
    pub timestamp: Option<jiff::Timestamp>,
    /// What makes this occurrence distinct (its id, else time and message).
    pub identity: String,
}

/// All occurrences of one fingerprint in a run (every text already scrubbed: a group held
/// back by a quota is kept whole in the ledger).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub fingerprint: String,
    pub algorithm: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub title: String,
    pub culprit: String,
    pub platform: String,
    pub message: String,
    pub frames: Vec<String>,
    pub sample_stack: Option<String>,
    pub count: u64,
    pub first_seen: Option<jiff::Timestamp>,
    pub last_seen: Option<jiff::Timestamp>,
    pub releases: BTreeSet<String>,
    pub environments: BTreeSet<String>,
    #[serde(default)]
    pub surfaces: BTreeSet<String>,
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// SHA-256 over the occurrences' identities: the same batch sent twice has one key.
    pub key: String,
    /// The keys of batches held back earlier that this group includes: counted with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_keys: Vec<String>,
}

impl Group {
    /// The newest release among the occurrences.
    pub fn newest_release(&self) -> Option<&str> {
        newest(self.releases.iter().map(String::as_str))
    }

    /// Adds the occurrences of another batch of the same fingerprint (and remembers its
    /// keys, so that batch is never counted again).
    fn absorb(&mut self, other: &Group) {
        self.held_keys.extend(std::iter::once(&other.key).chain(&other.held_keys).cloned());
        self.count += other.count;
        self.first_seen = self.first_seen.into_iter().chain(other.first_seen).min();
        self.last_seen = self.last_seen.into_iter().chain(other.last_seen).max();
        self.releases.extend(other.releases.iter().cloned());
        self.environments.extend(other.environments.iter().cloned());
        self.surfaces.extend(other.surfaces.iter().cloned());
        self.tags.extend(other.tags.iter().cloned());
        if self.sample_stack.is_none() {
            self.sample_stack = other.sample_stack.clone();
        }
    }
}

/// The groups held back by a quota since `since`, one per fingerprint in the order they
/// were first held: a batch held twice (a run repeated) counts once. Entries written
/// before groups were kept whole are skipped.
pub fn held_groups(ledger: &Ledger, since: jiff::Timestamp) -> Result<Vec<Group>> {
    let mut order: Vec<String> = Vec::new();
    let mut held: HashMap<String, (Group, BTreeSet<String>)> = HashMap::new();
    for entry in ledger.since(LEDGER_HELD, since)? {
        let Some(value) = entry.data.get("group") else { continue };
        let g: Group = match serde_json::from_value(value.clone()) {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!("{}: a held group of {} is unreadable: {e}", ledger.path().display(), entry.key);
                continue;
            }
        };
        match held.get_mut(&g.fingerprint) {
            Some((merged, keys)) => {
                if keys.insert(g.key.clone()) {
                    merged.absorb(&g);
                }
            }
            None => {
                order.push(g.fingerprint.clone());
                let keys = BTreeSet::from([g.key.clone()]);
                held.insert(g.fingerprint.clone(), (g, keys));
            }
        }
    }
    Ok(order.into_iter().filter_map(|fp| held.remove(&fp)).map(|(g, _)| g).collect())
}

/// Groups occurrences by fingerprint as they stream in; memory grows with the number of
/// fingerprints, not of occurrences.
#[derive(Default)]
pub struct Grouper {
    order: Vec<String>,
    groups: HashMap<String, (Group, Sha256)>,
}

impl Grouper {
    pub fn add(&mut self, o: Occurrence) {
        let (g, hasher) = self.groups.entry(o.fingerprint.clone()).or_insert_with(|| {
            self.order.push(o.fingerprint.clone());
            let g = Group {
                fingerprint: o.fingerprint.clone(),
                algorithm: o.algorithm.clone(),
                aliases: o.aliases.clone(),
                title: o.title.clone(),
                culprit: o.culprit.clone(),
                platform: o.platform.clone(),
                message: o.message.clone(),
                frames: o.frames.clone(),
                sample_stack: None,
                count: 0,
                first_seen: None,
                last_seen: None,
                releases: BTreeSet::new(),
                environments: BTreeSet::new(),
                surfaces: BTreeSet::new(),
                tags: BTreeSet::new(),
                key: String::new(),
                held_keys: Vec::new(),
            };
            (g, Sha256::new())
        });
        g.count += 1;
        if g.sample_stack.is_none() {
            g.sample_stack = o.stack;
        }
        if let Some(ts) = o.timestamp {
            g.first_seen = Some(g.first_seen.map_or(ts, |f| f.min(ts)));
            g.last_seen = Some(g.last_seen.map_or(ts, |l| l.max(ts)));
        }
        g.releases.extend(o.release);
        g.environments.extend(o.environment);
        g.surfaces.extend(o.surface);
        g.tags.extend(o.tags);
        hasher.update(o.identity.as_bytes());
        hasher.update([0]);
    }

    /// The groups, in the order their fingerprints first appeared.
    pub fn finish(mut self) -> Vec<Group> {
        self.order
            .into_iter()
            .filter_map(|fp| self.groups.remove(&fp))
            .map(|(mut g, hasher)| {
                g.key = hex16(&hasher.finalize());
                g
            })
            .collect()
    }
}

/// Groups occurrences by fingerprint, in the order fingerprints first appear.
pub fn group(occurrences: impl IntoIterator<Item = Occurrence>) -> Vec<Group> {
    let mut grouper = Grouper::default();
    occurrences.into_iter().for_each(|o| grouper.add(o));
    grouper.finish()
}

fn hex16(bytes: &[u8]) -> String {
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// What an issue remembers between runs, kept in a hidden comment in its body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IssueState {
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub first_seen: Option<String>,
    #[serde(default)]
    pub last_seen: Option<String>,
    #[serde(default)]
    pub releases: Vec<String>,
    #[serde(default)]
    pub environments: Vec<String>,
    /// The events' surfaces and tags (`key=value`), scrubbed: policy rules on `surface`
    /// read the issue as they read the event.
    #[serde(default)]
    pub surfaces: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub last_comment_at: Option<String>,
    /// Keys of the batches already counted (newest last).
    #[serde(default)]
    pub applied: Vec<String>,
}

/// The hidden marker that ties an issue to its fingerprint.
pub fn marker(fingerprint: &str, algorithm: &str) -> String {
    fingerprint_marker(fingerprint, algorithm).render()
}

fn fingerprint_marker(fingerprint: &str, algorithm: &str) -> Marker {
    Marker::Fingerprint { fingerprint: fingerprint.to_string(), algorithm: algorithm.to_string() }
}

/// Every `(fingerprint, algorithm)` marker in a body's trailer (an issue keeps its old
/// markers when the algorithm is bumped, so old fingerprints keep matching).
pub fn markers(body: &str) -> Vec<(String, String)> {
    crate::markers::fingerprints(body)
}

/// The state in a body's trailer (the default when there is none or it is damaged).
pub fn parse_state(body: &str) -> IssueState {
    crate::markers::find(body, |m| match m {
        Marker::State(v) => serde_json::from_value(v).ok(),
        _ => None,
    })
    .unwrap_or_default()
}

fn state_marker(state: &IssueState) -> Marker {
    Marker::State(serde_json::to_value(state).unwrap_or_else(|_| serde_json::json!({})))
}

#[cfg(test)]
fn state_comment(state: &IssueState) -> String {
    state_marker(state).render()
}

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
enum Step {
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
fn plan(groups: &[Group], index: &Index, limits: &PlanLimits) -> Vec<Step> {
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

fn newest<'a>(releases: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    releases.max_by(|a, b| compare_releases(a, b))
}

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

    fn body(&self, g: &Group, state: &IssueState, old_markers: &[(String, String)]) -> Result<String> {
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
        let mut trailer = vec![state_marker(state)];
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

/// Adds a group's occurrences to an issue's state.
fn merge_state(mut state: IssueState, g: &Group) -> IssueState {
    state.count += g.count;
    let fmt = |t: jiff::Timestamp| t.to_string();
    if let Some(first) = g.first_seen {
        let earlier =
            state.first_seen.as_deref().and_then(|s| s.parse::<jiff::Timestamp>().ok()).is_none_or(|s| first < s);
        if earlier {
            state.first_seen = Some(fmt(first));
        }
    }
    if let Some(last) = g.last_seen {
        let later = state.last_seen.as_deref().and_then(|s| s.parse::<jiff::Timestamp>().ok()).is_none_or(|s| last > s);
        if later {
            state.last_seen = Some(fmt(last));
        }
    }
    for r in &g.releases {
        if !state.releases.contains(r) {
            state.releases.push(r.clone());
        }
    }
    state.releases.sort_by(|a, b| compare_releases(a, b));
    for e in &g.environments {
        if !state.environments.contains(e) {
            state.environments.push(e.clone());
        }
    }
    state.environments.sort();
    merge_sorted(&mut state.surfaces, &g.surfaces);
    merge_sorted(&mut state.tags, &g.tags);
    state.applied.push(g.key.clone());
    state.applied.extend(g.held_keys.iter().cloned());
    let excess = state.applied.len().saturating_sub(APPLIED_KEYS_KEPT);
    state.applied.drain(..excess);
    state
}

/// Adds the new values to a sorted list kept in the issue state, at most 50 of them.
fn merge_sorted(list: &mut Vec<String>, new: &BTreeSet<String>) {
    for v in new {
        if !list.contains(v) && list.len() < 50 {
            list.push(v.clone());
        }
    }
    list.sort();
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
/// stops the run (the next run picks up where it stopped: nothing is counted twice).
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
    for ((g, fresh), step) in merged.iter().zip(fresh).zip(steps) {
        let now = limits.now.to_string();
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
                let mut state = merge_state(IssueState::default(), g);
                state.last_comment_at = Some(now.clone());
                let new = NewIssue {
                    title: writer.title(g),
                    body: writer.body(g, &state, &[])?,
                    labels: labels_for(g, config),
                };
                let issue = forge.create_issue(&new).await?;
                record(
                    forge,
                    ledger,
                    LEDGER_CREATED,
                    &g.fingerprint,
                    serde_json::json!({"issue": issue.number, "occurrences": g.count}),
                )?;
                outcomes.push(outcome(Action::Created, Some(&issue), None));
            }
            Step::Comment(n) | Step::Count(n, _) | Step::Reopen(n) => {
                let Some(issue) = known(n) else { continue };
                let (action, updated) = update_known(forge, ledger, writer, g, issue, &step, &now).await?;
                let reason = match step {
                    Step::Count(_, why) => Some(why.to_string()),
                    _ => None,
                };
                outcomes.push(outcome(action, Some(&updated), reason));
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
    Ok(outcomes)
}

/// Counts a known issue's new occurrences: a comment when due (the regression comment on
/// a reopen), then one PATCH with the counter, the state and (on a reopen) the whole label
/// set — at most two writes. The comment goes first: if the PATCH fails, the batch is not
/// marked counted and a re-run posts and counts it again; the other order would lose the
/// comment for good. The ledger line (`issue.seen` or `issue.reopened`) follows the PATCH,
/// so a failed run records nothing it did not count.
async fn update_known(
    forge: &dyn Forge,
    ledger: &Ledger,
    writer: &Writer<'_>,
    g: &Group,
    issue: &Issue,
    step: &Step,
    now: &str,
) -> Result<(Action, Issue)> {
    let n = issue.number;
    let old_state = parse_state(&issue.body);
    let mut state = merge_state(old_state.clone(), g);
    let reopen = matches!(step, Step::Reopen(_));
    let comment = matches!(step, Step::Comment(_)) || reopen;
    if comment {
        state.last_comment_at = Some(now.to_string());
    }
    let body = writer.body(g, &state, &markers(&issue.body))?;
    let action = if reopen {
        let fixed = newest(old_state.releases.iter().map(String::as_str));
        let extra = serde_json::json!({"release": g.newest_release(), "fixed_release": fixed});
        forge.create_comment(n, &writer.comment("issue-regression.md.j2", g, &state, extra)?).await?;
        Action::Reopened
    } else if comment {
        forge.create_comment(n, &writer.comment("issue-comment.md.j2", g, &state, serde_json::json!({}))?).await?;
        Action::Commented
    } else {
        Action::Skipped
    };
    let labels = reopen.then(|| regression_labels(issue));
    let update = IssueUpdate { body: Some(body), state: reopen.then_some(State::Open), labels, ..Default::default() };
    let updated = forge.update_issue(n, &update).await?;
    let kind = if reopen { LEDGER_REOPENED } else { LEDGER_SEEN };
    let data = serde_json::json!({"issue": n, "occurrences": g.count, "fingerprint": g.fingerprint});
    record(forge, ledger, kind, &n.to_string(), data)?;
    Ok((action, updated))
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

/// Counts of each action, for outputs and summaries.
pub fn tally(outcomes: &[Outcome]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::from([("created", 0), ("commented", 0), ("reopened", 0), ("skipped", 0), ("held", 0)]);
    for o in outcomes {
        let key = match o.action {
            Action::Created => "created",
            Action::Commented => "commented",
            Action::Reopened => "reopened",
            Action::Skipped => "skipped",
            Action::Held => "held",
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// A markdown table of a run's outcomes (step summary, text output).
pub fn summary_markdown(outcomes: &[Outcome]) -> String {
    let mut out =
        String::from("### homeostat: errors → issues\n\n| action | issue | occurrences | title |\n|---|---|---|---|\n");
    for o in outcomes {
        let issue = o.issue.map_or_else(|| "–".to_string(), |n| format!("#{n}"));
        let title = crate::markers::escape_md(&limits::truncate_chars(&o.title, 80));
        let action =
            serde_json::to_value(&o.action).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        out.push_str(&format!("| {action} | {issue} | {} | {title} |\n", o.occurrences));
    }
    let held: Vec<&Outcome> = outcomes.iter().filter(|o| o.action == Action::Held).collect();
    if !held.is_empty() {
        let n: u64 = held.iter().map(|o| o.occurrences).sum();
        out.push_str(&format!(
            "\n**{} fingerprint(s) held back by a quota** ({n} occurrences). They wait in the ledger: the next \
             runs file them, most frequent first, for `issues.hold_for`; or raise `issues.max_new_per_run` / \
             `issues.max_new_per_day`.\n",
            held.len()
        ));
    }
    out
}

/// Events carried by a `repository_dispatch` payload: `client_payload.events` (a list),
/// `client_payload.event` (one), or the client payload itself when it looks like an event.
pub fn dispatch_events(payload: &serde_json::Value) -> Vec<serde_json::Value> {
    let Some(client) = payload.get("client_payload") else { return Vec::new() };
    if let Some(list) = client.get("events").and_then(serde_json::Value::as_array) {
        return list.clone();
    }
    if let Some(one) = client.get("event") {
        return vec![one.clone()];
    }
    if client.get("message").is_some() || client.get("stack").is_some() || client.get("exception").is_some() {
        return vec![client.clone()];
    }
    Vec::new()
}

/// Caps on what one issue shows, so bodies stay far below GitHub's 65,536 characters.
const MESSAGE_MAX_CHARS: usize = 4_000;
const STACK_MAX_CHARS: usize = 16_000;
const FRAMES_MAX: usize = 40;

/// One occurrence from an event and its fingerprint, every text scrubbed.
pub fn occurrence(event: &ErrorEvent, fp: &Fingerprint, scrubber: &Scrubber) -> Occurrence {
    let scrub = |text: &str| scrubber.scrub(text).into_owned();
    let message = event
        .message
        .clone()
        .or_else(|| event.exceptions.last().and_then(|e| e.value.clone()))
        .unwrap_or_else(|| fp.title.clone());
    let frames: Vec<String> = fp
        .frames
        .iter()
        .filter(|f| f.in_app)
        .take(FRAMES_MAX)
        .map(|f| {
            let function = f.function.as_deref().unwrap_or("?");
            match f.module.as_deref().or(f.file.as_deref()) {
                Some(place) => scrub(&format!("{function}  ({place})")),
                None => scrub(function),
            }
        })
        .collect();
    let identity = match &event.id {
        Some(id) => format!("id:{id}"),
        None => format!(
            "{}\u{1f}{}\u{1f}{}",
            event.timestamp.as_deref().unwrap_or(""),
            message,
            event.stack.as_deref().unwrap_or("")
        ),
    };
    Occurrence {
        fingerprint: fp.fingerprint.clone(),
        algorithm: fp.algorithm.to_string(),
        aliases: fp.aliases.iter().map(|a| a.fingerprint.clone()).collect(),
        title: scrub(&fp.title),
        culprit: scrub(&fp.culprit),
        platform: fp.platform.clone(),
        message: limits::truncate_chars(&scrub(&message), MESSAGE_MAX_CHARS),
        frames,
        stack: event.stack.as_deref().map(|s| limits::truncate_chars(&scrub(s), STACK_MAX_CHARS)),
        release: event.release.as_deref().map(scrub),
        environment: event.environment.as_deref().map(scrub),
        surface: event.surface.as_deref().map(scrub),
        tags: event.tags.iter().map(|(k, v)| scrub(&format!("{k}={v}"))).collect(),
        timestamp: event.timestamp.as_deref().and_then(|t| t.parse().ok()),
        identity,
    }
}

/// Reads the run's events (files or stdin, and the dispatch payload when asked) into
/// fingerprint groups.
pub fn read_groups(
    input: &InputArgs,
    payload: Option<&serde_json::Value>,
    engine: &Engine,
    scrubber: &Scrubber,
) -> Result<(Vec<Group>, InputStats)> {
    let mut grouper = Grouper::default();
    let mut add = |event: ErrorEvent| {
        let fp = engine.fingerprint_with_aliases(&event);
        grouper.add(occurrence(&event, &fp, scrubber));
    };
    let stats = match payload {
        Some(payload) => {
            let values = dispatch_events(payload);
            let events = crate::input::events_from_values("client_payload", &values, input.strict)?;
            let stats = InputStats { events: events.len(), bad: values.len() - events.len() };
            events.into_iter().for_each(&mut add);
            stats
        }
        None => input.for_each(|event| {
            add(event);
            Ok(())
        })?,
    };
    Ok((grouper.finish(), stats))
}

/// A whole hs-issue run against a forge: plan within the quotas, write, record.
pub async fn run(
    forge: &dyn Forge,
    config: &Config,
    ledger: &Ledger,
    scrubber: &Scrubber,
    groups: &[Group],
) -> Result<Vec<Outcome>> {
    let prompts = Prompts::builtin()?;
    let scrub = |text: &str| scrubber.scrub(text).into_owned();
    let writer = Writer { prompts: &prompts, scrub: &scrub };
    let now = ledger.clock().now_seconds();
    let limits = PlanLimits::from_config(&config.issues, ledger, now)?;
    apply(forge, ledger, &config.issues, &writer, groups, &limits).await
}

/// Prints the outcomes (a table for people, one JSON line per fingerprint for machines)
/// and, in Actions, sets the outputs and the step summary.
pub fn emit(outcomes: &[Outcome], format: OutputFormat, actions: &Actions) -> Result<()> {
    let json_err = |e: serde_json::Error| Error::Failed(e.to_string());
    match format {
        OutputFormat::Jsonl => {
            for o in outcomes {
                println!("{}", serde_json::to_string(o).map_err(json_err)?);
            }
        }
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(outcomes).map_err(json_err)?),
        OutputFormat::Text => {
            println!("{:<10} {:>6} {:>6}  {:<16}  title", "action", "issue", "count", "fingerprint");
            for o in outcomes {
                let action = serde_json::to_value(&o.action).map_err(json_err)?;
                let issue = o.issue.map_or_else(|| "-".to_string(), |n| format!("#{n}"));
                println!(
                    "{:<10} {:>6} {:>6}  {:<16}  {}",
                    action.as_str().unwrap_or(""),
                    issue,
                    o.occurrences,
                    o.fingerprint,
                    limits::truncate_chars(&o.title, 70)
                );
            }
        }
    }
    for (name, count) in tally(outcomes) {
        actions.set_output(name, &count.to_string())?;
    }
    actions.set_output("result", &serde_json::to_string(outcomes).map_err(json_err)?)?;
    actions.append_summary(&summary_markdown(outcomes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occ(fp: &str, id: &str, release: Option<&str>) -> Occurrence {
        Occurrence {
            fingerprint: fp.into(),
            algorithm: "v1".into(),
            aliases: Vec::new(),
            title: format!("TypeError: boom {fp}"),
            culprit: "render (app.js)".into(),
            platform: "javascript".into(),
            message: "boom".into(),
            frames: vec!["render (app.js)".into()],
            stack: Some("TypeError: boom\n    at render (app.js:1:2)".into()),
            release: release.map(str::to_string),
            environment: Some("production".into()),
            surface: None,
            tags: Vec::new(),
            timestamp: Some("2026-01-21T10:00:00Z".parse().unwrap()),
            identity: id.into(),
        }
    }

    fn limits(n: u64) -> PlanLimits {
        PlanLimits {
            new_allowed: n,
            comments_allowed: 100,
            dedup_window: std::time::Duration::ZERO,
            reopen_on_regression: true,
            now: "2026-01-22T00:00:00Z".parse().unwrap(),
            held_since: "2026-01-15T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn held_groups_count_each_batch_once_and_forget_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path().join("ledger.jsonl"));
        let hold = |at: &str, g: &Group| {
            let data = serde_json::json!({"title": g.title, "occurrences": g.count, "group": g});
            ledger.append_at(at.parse().unwrap(), LEDGER_HELD, &g.fingerprint, data).unwrap();
        };
        let a = "aaaaaaaaaaaaaaaa";
        let b = "bbbbbbbbbbbbbbbb";
        let first = &group([occ(a, "1", Some("1.0.0")), occ(a, "2", Some("1.0.0"))])[0];
        let second = &group([occ(a, "3", Some("1.1.0"))])[0];
        let old = &group([occ(b, "4", None)])[0];
        hold("2026-01-01T00:00:00Z", old);
        hold("2026-01-20T00:00:00Z", first);
        hold("2026-01-20T00:05:00Z", first); // the same run repeated
        hold("2026-01-21T00:00:00Z", second);
        ledger.append(LEDGER_HELD, b, serde_json::json!({"title": "written before groups were kept"})).unwrap();
        ledger.append(LEDGER_HELD, b, serde_json::json!({"group": {"fingerprint": 7}})).unwrap();

        let held = held_groups(&ledger, "2026-01-15T00:00:00Z".parse().unwrap()).unwrap();
        assert_eq!(held.len(), 1, "b is older than the window, or unreadable");
        let g = &held[0];
        assert_eq!((g.fingerprint.as_str(), g.count), (a, 3));
        assert_eq!(g.releases.iter().map(String::as_str).collect::<Vec<_>>(), ["1.0.0", "1.1.0"]);
        assert_eq!((&g.key, &g.held_keys), (&first.key, &vec![second.key.clone()]));
        // Filed, it remembers both batches: neither counts again.
        let state = merge_state(IssueState::default(), g);
        assert!(state.applied.contains(&first.key) && state.applied.contains(&second.key));
    }

    fn issue(n: u64, body: &str, state: State) -> Issue {
        Issue {
            number: n,
            title: "t".into(),
            body: body.into(),
            labels: vec![LABEL.into()],
            state,
            url: String::new(),
            author: String::new(),
            created_at: String::new(),
            closed_at: Some("2026-01-15T00:00:00Z".into()),
        }
    }

    #[test]
    fn groups_keep_first_appearance_order_and_a_batch_key() {
        let groups = group([occ("a", "1", None), occ("b", "2", None), occ("a", "3", Some("1.0.0"))]);
        assert_eq!(groups.iter().map(|g| (g.fingerprint.as_str(), g.count)).collect::<Vec<_>>(), [("a", 2), ("b", 1)]);
        let again = group([occ("a", "1", None), occ("b", "2", None), occ("a", "3", Some("1.0.0"))]);
        assert_eq!(groups[0].key, again[0].key);
        let other = group([occ("a", "1", None), occ("a", "4", None)]);
        assert_ne!(groups[0].key, other[0].key);
    }

    #[test]
    fn quota_creates_the_most_frequent_first_and_holds_the_rest() {
        let groups = group([occ("a", "1", None), occ("b", "2", None), occ("b", "3", None), occ("c", "4", None)]);
        let steps = plan(&groups, &Index::default(), &limits(1));
        assert!(matches!(steps[0], Step::Hold(_)));
        assert_eq!(steps[1], Step::Create);
        assert!(matches!(steps[2], Step::Hold(_)));
    }

    #[test]
    fn known_open_issue_gets_a_comment_and_a_counted_batch_nothing() {
        let groups = group([occ("aaaaaaaaaaaaaaaa", "1", None)]);
        let body = format!("x\n{}", marker("aaaaaaaaaaaaaaaa", "v1"));
        let index = Index::from_issues(vec![issue(7, &body, State::Open)]);
        assert_eq!(plan(&groups, &index, &limits(10)), [Step::Comment(7)]);
        let state = merge_state(IssueState::default(), &groups[0]);
        let body = format!("x\n{}\n{}", state_comment(&state), marker("aaaaaaaaaaaaaaaa", "v1"));
        let index = Index::from_issues(vec![issue(7, &body, State::Open)]);
        assert_eq!(plan(&groups, &index, &limits(10)), [Step::Nothing(7)]);
    }

    #[test]
    fn closed_issue_reopens_only_for_a_newer_release() {
        let fp = "bbbbbbbbbbbbbbbb";
        let state = IssueState { releases: vec!["1.4.2".into()], ..Default::default() };
        let body = format!("x\n{}\n{}", state_comment(&state), marker(fp, "v1"));
        let index = Index::from_issues(vec![issue(3, &body, State::Closed)]);
        assert_eq!(plan(&group([occ(fp, "1", Some("1.4.10"))]), &index, &limits(10)), [Step::Reopen(3)]);
        let silently = Step::Count(3, "closed; counted silently (not from a newer release)");
        assert_eq!(plan(&group([occ(fp, "2", Some("1.4.2"))]), &index, &limits(10)), std::slice::from_ref(&silently));
        assert_eq!(plan(&group([occ(fp, "3", Some("1.3.9"))]), &index, &limits(10)), [silently]);
    }

    #[test]
    fn past_the_comment_budget_the_busiest_issues_comment_and_the_rest_count() {
        let fps = ["1111111111111111", "2222222222222222", "3333333333333333"];
        let index = Index::from_issues(
            fps.iter().enumerate().map(|(i, fp)| issue(i as u64 + 1, &marker(fp, "v1"), State::Open)).collect(),
        );
        // 1 occurrence of the first bug, 3 of the second, 2 of the third.
        let occurrences = [(0, 1), (1, 3), (2, 2)]
            .into_iter()
            .flat_map(|(bug, n)| (0..n).map(move |k| occ(fps[bug], &format!("{bug}-{k}"), None)));
        let limits = PlanLimits { comments_allowed: 2, ..limits(10) };
        let budget = "counted; this run's comment budget (issues.max_comments_per_run) is spent";
        assert_eq!(
            plan(&group(occurrences), &index, &limits),
            [Step::Count(1, budget), Step::Comment(2), Step::Comment(3)]
        );
    }

    #[test]
    fn without_releases_a_closed_issue_reopens_when_seen_after_the_close() {
        let fp = "cccccccccccccccc";
        let body = format!("x\n{}", marker(fp, "v1"));
        let index = Index::from_issues(vec![issue(4, &body, State::Closed)]);
        // occ() happened on 2026-01-21, after the close on 2026-01-15.
        assert_eq!(plan(&group([occ(fp, "1", None)]), &index, &limits(10)), [Step::Reopen(4)]);
    }

    #[test]
    fn releases_compare_as_versions() {
        assert_eq!(compare_releases("1.10.0", "1.9.3"), Ordering::Greater);
        assert_eq!(compare_releases("v2.0.0-rc.1", "2.0.0"), Ordering::Less);
        assert_eq!(compare_releases("2026.01.3", "2026.01.12"), Ordering::Less);
        assert_eq!(newest(["1.2", "1.10", "1.9"].into_iter()), Some("1.10"));
    }

    #[test]
    fn state_comment_cannot_be_closed_by_a_value() {
        let state = IssueState { releases: vec!["1.0 --> <script>".into()], ..Default::default() };
        let comment = state_comment(&state);
        assert_eq!(comment.matches("-->").count(), 1);
        assert_eq!(parse_state(&format!("a\n\n{comment}")), state);
        // A state anywhere but the trailer is not believed.
        assert_eq!(parse_state(&format!("a\n{comment}\nb")), IssueState::default());
    }

    #[test]
    fn index_prefers_the_open_issue_then_the_oldest() {
        let fp = "dddddddddddddddd";
        let body = marker(fp, "v1");
        let index = Index::from_issues(vec![
            issue(9, &body, State::Closed),
            issue(12, &body, State::Open),
            issue(11, &body, State::Open),
        ]);
        assert_eq!(index.get(fp).unwrap().number, 11);
    }

    #[test]
    fn an_issue_filed_under_v1_is_found_by_the_v2_fingerprint() {
        // A Rust panic without backtrace: v2 keeps its location, so the fingerprint moved.
        let event = ErrorEvent {
            stack: Some("thread 'main' panicked at src/config.rs:10:5:\nboom".into()),
            ..ErrorEvent::default()
        };
        let engine = Engine::builtin();
        let v1 = engine.fingerprint_as(&event, crate::fingerprint::Algorithm::V1).fingerprint;
        let fp = engine.fingerprint_with_aliases(&event);
        assert_ne!(fp.fingerprint, v1);
        let o = occurrence(&event, &fp, Scrubber::builtin());
        assert_eq!(o.aliases, vec![v1.clone()]);
        let mut grouper = Grouper::default();
        grouper.add(o);
        let groups = grouper.finish();
        let mut index = Index::from_issues(vec![issue(5, &marker(&v1, "v1"), State::Closed)]);
        assert!(index.get(&groups[0].fingerprint).is_none());
        index.adopt_aliases(&groups);
        assert_eq!(index.get(&groups[0].fingerprint).map(|i| i.number), Some(5));
    }

    #[test]
    fn dispatch_payloads_carry_events_three_ways() {
        let p = serde_json::json!({"client_payload": {"events": [{"message": "a"}, {"message": "b"}]}});
        assert_eq!(dispatch_events(&p).len(), 2);
        let p = serde_json::json!({"client_payload": {"event": {"message": "a"}}});
        assert_eq!(dispatch_events(&p).len(), 1);
        let p = serde_json::json!({"client_payload": {"message": "a", "stack": "x"}});
        assert_eq!(dispatch_events(&p).len(), 1);
        assert!(dispatch_events(&serde_json::json!({"action": "opened"})).is_empty());
    }

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn the_loop_on_the_local_forge_creates_counts_comments_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let forge = crate::forge::local::LocalForge::open(&dir.path().join("forge")).unwrap();
        let ledger = Ledger::open(dir.path().join("ledger.jsonl"));
        let prompts = Prompts::builtin().unwrap();
        let scrub = |t: &str| t.replace("secret", "[redacted]");
        let writer = Writer { prompts: &prompts, scrub: &scrub };
        let config = IssuesConfig::default();
        let fp = "eeeeeeeeeeeeeeee";
        let mut first = occ(fp, "1", Some("1.0.0"));
        first.message = "boom with secret `x` @someone".into();
        first.surface = Some("popup".into());
        first.tags = vec!["region=eu".into()];
        block(async {
            let run = |groups: Vec<Group>| {
                let (forge, ledger, writer, config) = (&forge, &ledger, &writer, &config);
                async move { apply(forge, ledger, config, writer, &groups, &limits(10)).await.unwrap() }
            };
            let out = run(group([first.clone()])).await;
            assert_eq!(out[0].action, Action::Created);
            let n = out[0].issue.unwrap();
            let created = forge.get_issue(n).await.unwrap();
            assert!(created.body.ends_with(&marker(fp, "v1")), "{}", created.body);
            assert!(!created.body.contains("secret"));
            assert!(created.body.contains("```text\nboom with [redacted] `x` @someone\n```"), "{}", created.body);
            assert!(!created.labels.iter().any(|l| l.starts_with("fp:")), "no label per fingerprint");
            assert_eq!(parse_state(&created.body).count, 1);
            // The event's surface and tags are in the body and the hidden state, and a
            // policy reads the surface from the issue as it reads it from the event.
            let state = parse_state(&created.body);
            assert_eq!(state.surfaces, vec!["popup".to_string()]);
            assert_eq!(state.tags, vec!["region=eu".to_string()]);
            assert!(created.body.contains("| Surface | `popup` |"), "{}", created.body);
            assert!(created.body.contains("| Tags | `region=eu` |"), "{}", created.body);
            assert_eq!(crate::policy::issue::facts_from_issue(&created).surfaces, vec!["popup".to_string()]);

            // The same batch again: nothing is written.
            let out = run(group([first.clone()])).await;
            assert_eq!(out[0].action, Action::Skipped);
            assert_eq!(forge.get_issue(n).await.unwrap().body, created.body);

            // New occurrences: one comment, counter updated.
            let out = run(group([occ(fp, "2", Some("1.0.1")), occ(fp, "3", Some("1.0.1"))])).await;
            assert_eq!(out[0].action, Action::Commented);
            let comments = forge.list_comments(n).await.unwrap();
            assert_eq!(comments.len(), 1);
            assert!(comments[0].body.starts_with("**2 new occurrences**"), "{}", comments[0].body);
            assert_eq!(parse_state(&forge.get_issue(n).await.unwrap().body).count, 3);

            // Closed, then seen from an old release: counted silently; from a newer one: reopened.
            forge.update_issue(n, &IssueUpdate { state: Some(State::Closed), ..Default::default() }).await.unwrap();
            let out = run(group([occ(fp, "4", Some("1.0.0"))])).await;
            assert_eq!(out[0].action, Action::Skipped);
            assert_eq!(forge.get_issue(n).await.unwrap().state, State::Closed);
            let out = run(group([occ(fp, "5", Some("1.1.0"))])).await;
            assert_eq!(out[0].action, Action::Reopened);
            let reopened = forge.get_issue(n).await.unwrap();
            assert_eq!(reopened.state, State::Open);
            assert!(reopened.labels.contains(&REGRESSION_LABEL.to_string()));
            assert_eq!(parse_state(&reopened.body).count, 5);
            assert_eq!(forge.list_issues(LABEL, StateFilter::All).await.unwrap().len(), 1);
        });
        let count = |kind| ledger.count(kind, None, jiff::Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(count(LEDGER_CREATED), 1);
        // The report's "events" and "regressions" read these: the commented batch and the
        // silently counted one are seen, the last one reopened; the skipped re-run is neither.
        assert_eq!((count(LEDGER_SEEN), count(LEDGER_REOPENED)), (2, 1));
        let seen: u64 = ledger
            .entries()
            .unwrap()
            .iter()
            .filter(|e| e.kind == LEDGER_SEEN || e.kind == LEDGER_REOPENED)
            .filter_map(|e| e.data.get("occurrences")?.as_u64())
            .sum();
        assert_eq!(seen, 4, "occurrences 2+3, 4 and 5 after the first");
    }
}
