//! Issues from errors (hs-issue): one open issue per fingerprint, whatever the number of
//! occurrences or runs.
//!
//! A run groups its occurrences by fingerprint ([`group()`]), lists the `homeostat:error`
//! issues once to build the fingerprint index ([`Index`]), decides what to do for each
//! group without touching the forge (`plan`), then makes the writes one at a time
//! ([`apply()`]). The issue body carries the fingerprint marker and a hidden state (counts,
//! releases, the keys of the batches already counted), so a run that is repeated or was
//! killed half-way counts nothing twice and never opens a second issue.

mod apply;
mod count;
pub mod feedback;
mod group;
mod plan;
mod state;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::forge::{Forge, limits};
use crate::gha::Actions;
use crate::ledger::Ledger;
use crate::output::OutputFormat;
use crate::prompt::Prompts;
use crate::scrub::Scrubber;
use crate::settings::Config;

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

pub use apply::{Outcome, Writer, apply, labels_for};
pub use group::{Group, Grouper, Occurrence, dispatch_events, group, held_groups, occurrence, read_groups};
pub use plan::{Action, Index, PlanLimits, compare_releases, trusted};
pub use state::{IssueState, marker, markers, parse_state};

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
    use std::cmp::Ordering;

    use super::plan::{Step, newest, plan, replan};
    use super::state::{merge_state, state_comment};
    use super::*;
    use crate::event::ErrorEvent;
    use crate::fingerprint::Engine;
    use crate::forge::{Issue, IssueUpdate, State, StateFilter};
    use crate::settings::IssuesConfig;

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
            weight: 1,
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

    #[test]
    fn a_batch_with_more_held_keys_than_are_kept_still_finds_its_own() {
        let mut g = group([occ("a", "1", None)]).remove(0);
        g.held_keys = (0..APPLIED_KEYS_KEPT + 10).map(|i| format!("held-{i}")).collect();
        let state = merge_state(IssueState::default(), &g);
        assert_eq!(state.applied.len(), APPLIED_KEYS_KEPT);
        assert!(state.applied.contains(&g.key), "the batch's own key outlives its held ones");
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
    fn a_known_issue_read_again_decides_the_step_on_what_it_says_now() {
        const FP: &str = "aaaaaaaaaaaaaaaa";
        let g = &group([occ(FP, "1", None)])[0];
        let budget = Step::Count(7, "the comment budget is spent");
        let open = issue(7, &marker(FP, "v1"), State::Open);
        assert_eq!(replan(&Step::Comment(7), g, &open, &limits(1)), Step::Comment(7));
        assert_eq!(replan(&budget, g, &open, &limits(1)), budget, "a planned count stays a count");
        // A maintainer closed it since the listing, and the error is from no newer
        // release than it was seen in: counted silently; from a newer one: reopened.
        let seen = IssueState { releases: vec!["1.0.0".into()], ..IssueState::default() };
        let closed = issue(7, &format!("x\n{}\n{}", state_comment(&seen), marker(FP, "v1")), State::Closed);
        let old = &group([occ(FP, "2", Some("1.0.0"))])[0];
        assert!(matches!(replan(&Step::Comment(7), old, &closed, &limits(1)), Step::Count(7, _)));
        let newer = &group([occ(FP, "3", Some("1.1.0"))])[0];
        assert_eq!(replan(&Step::Comment(7), newer, &closed, &limits(1)), Step::Reopen(7));
        // Another run commented a minute ago, inside a day's dedup window: only counted.
        let state = IssueState { last_comment_at: Some("2026-01-21T23:59:00Z".into()), ..IssueState::default() };
        let commented = issue(7, &format!("x\n{}\n{}", state_comment(&state), marker(FP, "v1")), State::Open);
        let windowed = PlanLimits { dedup_window: std::time::Duration::from_secs(86_400), ..limits(1) };
        assert!(matches!(replan(&Step::Comment(7), g, &commented, &windowed), Step::Count(7, _)));
        // Another run counted this very batch: nothing to do, whatever was planned.
        let counted = merge_state(IssueState::default(), g);
        let done = issue(7, &format!("x\n{}\n{}", state_comment(&counted), marker(FP, "v1")), State::Open);
        assert_eq!(replan(&budget, g, &done, &limits(1)), Step::Nothing(7));
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
        // The second look after counting, soon: with no other run it finds every count.
        let settle = crate::settings::Duration(std::time::Duration::from_millis(10));
        let config = IssuesConfig { settle, ..IssuesConfig::default() };
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
