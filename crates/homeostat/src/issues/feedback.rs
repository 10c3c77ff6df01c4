//! User feedback → issues: one issue per piece of feedback that reached hs-relay through
//! a Sentry SDK (a `user-feedback` dispatch read by hs-issue, or the relay's direct mode),
//! labelled `homeostat:feedback` and the feedback label, so hs-cluster links its
//! near-duplicates and hs-content's feedback step reads it.
//!
//! The issue carries the feedback's id in its trailer (`homeostat:feedback=<id>`), read
//! back only from issues by someone who can write, so a resent batch or a re-run files
//! nothing twice and a stranger's issue cannot claim an id. A daily quota
//! (`issues.feedback_per_day`) holds the rest in the ledger; later runs file them first.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Position, Result};
use crate::event::Feedback;
use crate::forge::{Forge, IssueUpdate, NewIssue, State, StateFilter, limits};
use crate::gha::Actions;
use crate::ledger::{Ledger, kinds};
use crate::markers::{self, Marker};
use crate::prompt::Prompts;
use crate::scrub::Scrubber;
use crate::settings::Config;

/// Every feedback issue carries this label; the index lists issues by it.
pub const LABEL: &str = "homeostat:feedback";
/// The dispatch event type hs-relay sends feedback as.
pub const EVENT_TYPE: &str = "user-feedback";
/// What a feedback issue's title starts with (hs-cluster reads the title without it).
pub const TITLE_PREFIX: &str = "Feedback: ";
/// The heading the issue template puts the user's words under (see [`message_of`]).
const MESSAGE_HEADING: &str = "### Feedback";

/// What happened to one piece of feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Filing {
    Created,
    /// Filed before (a re-run, a resent batch).
    Known,
    /// Past `issues.feedback_per_day`: waits in the ledger.
    Held,
}

impl Filing {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Known => "known",
            Self::Held => "held",
        }
    }
}

/// One piece of feedback and what happened to it (hs-issue's `feedback` output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filed {
    pub id: String,
    pub action: Filing,
    pub issue: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The feedback in a dispatch payload: `client_payload.feedback` (a list; absent: none).
/// `file` names where the payload came from, for the message of a bad entry.
pub fn from_payload(file: &str, payload: &Value) -> Result<Vec<Feedback>> {
    let Some(list) = payload.pointer("/client_payload/feedback") else { return Ok(Vec::new()) };
    let Some(list) = list.as_array() else {
        return Err(Error::input(Position::file(file), "client_payload.feedback is not a list"));
    };
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let fb: Feedback = serde_json::from_value(v.clone()).map_err(|e| {
                Error::input(Position::file(file), format!("client_payload.feedback[{i}] is not feedback: {e}"))
            })?;
            // hs-relay gives every piece an id of 32 hex digits; the id goes into a marker.
            let id_ok = fb.id.len() == 32 && fb.id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !id_ok || fb.message.trim().is_empty() {
                let why = format!("client_payload.feedback[{i}] needs an id of 32 hex digits and a message");
                return Err(Error::input(Position::file(file), why));
            }
            Ok(fb)
        })
        .collect()
}

/// Files each piece of feedback not filed before, oldest held first, within the day's quota.
pub async fn file(
    forge: &dyn Forge,
    config: &Config,
    ledger: &Ledger,
    scrubber: &Scrubber,
    feedback: &[Feedback],
) -> Result<Vec<Filed>> {
    let held = held(ledger, config)?;
    if feedback.is_empty() && held.is_empty() {
        return Ok(Vec::new());
    }
    // A dispatch may come from elsewhere than the relay: nothing unscrubbed is kept.
    let feedback: Vec<Feedback> = feedback
        .iter()
        .cloned()
        .map(|mut f| {
            f.scrub_with(|s| scrubber.scrub(s).into_owned());
            f
        })
        .collect();
    let feedback = feedback.as_slice();
    let known = filed_before(forge).await?;
    // The error issues, when some feedback is about an error the relay saw.
    let about_errors = held.iter().chain(feedback).any(|f| f.associated_fingerprint.is_some());
    let errors = if about_errors { Some(super::Index::load(forge).await?) } else { None };
    let error_issue = |fb: &Feedback| {
        let fp = fb.associated_fingerprint.as_deref()?;
        errors.as_ref()?.get(fp).map(|i| i.number)
    };
    let prompts = Prompts::builtin()?;
    let midnight = ledger.now().to_zoned(jiff::tz::TimeZone::UTC).start_of_day().map(|z| z.timestamp());
    let midnight = midnight.unwrap_or(ledger.now());
    // A piece two runs filed at once takes one slot of the day, not two.
    let today = ledger.count(kinds::FEEDBACK_FILED, None, midnight)?;
    let today = today.saturating_sub(ledger.count(kinds::FEEDBACK_FILED_TWICE, None, midnight)?);
    let mut allowed = (config.issues.feedback_per_day as usize).saturating_sub(today);
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for fb in held.iter().chain(feedback) {
        if !done.insert(fb.id.clone()) {
            continue;
        }
        let filed = |action, issue: Option<&crate::forge::Issue>| Filed {
            id: fb.id.clone(),
            action,
            issue: issue.map(|i| i.number),
            url: issue.map(|i| i.url.clone()).filter(|u| !u.is_empty()),
        };
        if known.contains_key(&fb.id) {
            out.push(filed(Filing::Known, None));
        } else if allowed == 0 {
            // Only what this run brought: held feedback is in the ledger already.
            if feedback.iter().any(|f| f.id == fb.id) && !held.iter().any(|h| h.id == fb.id) {
                record(forge, ledger, kinds::FEEDBACK_HELD, &fb.id, serde_json::json!({ "feedback": fb }))?;
            }
            out.push(filed(Filing::Held, None));
        } else {
            let issue = forge.create_issue(&new_issue(&prompts, config, scrubber, fb, error_issue(fb))?).await?;
            record(forge, ledger, kinds::FEEDBACK_FILED, &fb.id, serde_json::json!({ "issue": issue.number }))?;
            allowed -= 1;
            out.push(filed(Filing::Created, Some(&issue)));
        }
    }
    // Best effort: the filing is done; a failure here leaves what was there before it.
    if let Err(e) = settle_double_filings(forge, ledger, &prompts, &mut out).await {
        tracing::warn!("reading the feedback issues again after filing failed: {e}");
    }
    Ok(out)
}

/// The feedback ids filed before, each with its oldest issue (issues by writers only).
async fn filed_before(forge: &dyn Forge) -> Result<BTreeMap<String, u64>> {
    let issues = forge.list_issues(LABEL, StateFilter::All).await?;
    let mut known = BTreeMap::new();
    for issue in super::trusted(forge, issues).await? {
        if let Some(id) = markers::find(&issue.body, |m| if let Marker::Feedback(id) = m { Some(id) } else { None }) {
            let oldest: &mut u64 = known.entry(id).or_insert(issue.number);
            *oldest = (*oldest).min(issue.number);
        }
    }
    Ok(known)
}

/// Two runs at once (a dispatch resent while the first run is still going) can both file
/// one piece. After filing, the issues are read again; where an older issue has the same
/// piece, this run's is closed with a note naming it. The oldest is never closed.
async fn settle_double_filings(forge: &dyn Forge, ledger: &Ledger, prompts: &Prompts, out: &mut [Filed]) -> Result<()> {
    if !out.iter().any(|f| f.action == Filing::Created) {
        return Ok(());
    }
    let known = filed_before(forge).await?;
    for f in out.iter_mut().filter(|f| f.action == Filing::Created) {
        let (Some(mine), Some(&kept)) = (f.issue, known.get(&f.id)) else { continue };
        if kept >= mine {
            continue;
        }
        tracing::warn!("#{mine} and #{kept} were filed at once for feedback {}: keeping #{kept}", f.id);
        // Closed first: a failure after that leaves no second open issue behind.
        forge.update_issue(mine, &IssueUpdate { state: Some(State::Closed), ..Default::default() }).await?;
        let note = prompts.render("feedback-filed-twice.md.j2", &serde_json::json!({ "kept": kept }))?;
        forge.create_comment(mine, &markers::body(&note, &[])).await?;
        let data = serde_json::json!({ "issue": mine, "kept": kept });
        record(forge, ledger, kinds::FEEDBACK_FILED_TWICE, &f.id, data)?;
        *f = Filed { id: f.id.clone(), action: Filing::Known, issue: Some(kept), url: None };
    }
    Ok(())
}

/// Logs what was filed and, in Actions, sets the `feedback` output (JSON) and adds a
/// section to the step summary. Nothing on stdout, which carries the error outcomes.
pub fn emit(filed: &[Filed], actions: &Actions) -> Result<()> {
    if filed.is_empty() {
        return Ok(());
    }
    let mut summary =
        String::from("### homeostat: user feedback → issues\n\n| feedback | action | issue |\n|---|---|---|\n");
    for f in filed {
        let issue = f.issue.map_or_else(|| "–".to_string(), |n| format!("#{n}"));
        tracing::info!("feedback {}: {} {issue}", f.id, f.action.as_str());
        summary.push_str(&format!("| `{}` | {} | {issue} |\n", f.id, f.action.as_str()));
    }
    let held = filed.iter().filter(|f| f.action == Filing::Held).count();
    if held > 0 {
        summary.push_str(&format!(
            "\n**{held} held back by `issues.feedback_per_day`**: they wait in the ledger and the next runs file them first.\n"
        ));
    }
    actions.set_output("feedback", &serde_json::to_string(filed).map_err(|e| Error::Failed(e.to_string()))?)?;
    actions.append_summary(&summary)
}

fn record(forge: &dyn Forge, ledger: &Ledger, kind: &str, key: &str, data: Value) -> Result<()> {
    if !forge.is_dry_run() {
        ledger.append(kind, key, data)?;
    }
    Ok(())
}

/// Feedback held back within `issues.hold_for`, oldest first (filed ones drop out at the
/// index check).
fn held(ledger: &Ledger, config: &Config) -> Result<Vec<Feedback>> {
    let since = ledger.now().checked_sub(config.issues.hold_for.as_std()).unwrap_or(jiff::Timestamp::MIN);
    Ok(ledger
        .since(kinds::FEEDBACK_HELD, since)?
        .into_iter()
        .filter_map(|e| serde_json::from_value(e.data.get("feedback")?.clone()).ok())
        .collect())
}

/// The issue for `fb`; `error_issue` is the issue of the error it is about, when known
/// (named as `#N`, so GitHub shows the link on that issue too).
fn new_issue(
    prompts: &Prompts,
    config: &Config,
    scrubber: &Scrubber,
    fb: &Feedback,
    error_issue: Option<u64>,
) -> Result<NewIssue> {
    let scrub = |s: &str| scrubber.scrub(s).into_owned();
    let context = serde_json::json!({
        "heading": MESSAGE_HEADING, "message": fb.message, "url": fb.url,
        "release": fb.release, "environment": fb.environment, "event": fb.associated_event_id,
        "error_issue": error_issue,
        "source": fb.source,
        "tags": fb.tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
    });
    let text = scrub(&prompts.render("feedback-issue.md.j2", &context)?);
    let title = format!("{TITLE_PREFIX}{}", scrub(&fb.title(80)));
    let mut labels = vec![LABEL.to_string(), config.feedback_label()];
    labels.dedup();
    Ok(NewIssue {
        title: limits::truncate_chars(&title, limits::TITLE_MAX_CHARS),
        body: markers::body(&text, &[Marker::Feedback(fb.id.clone())]),
        labels,
    })
}

/// The user's words when `issue` was filed from feedback (label [`LABEL`]); `None` for
/// any other issue, or one whose body lost the block. hs-cluster and hs-content read these
/// instead of the body: the template around them is the same in every such issue.
pub fn users_words(issue: &crate::forge::Issue) -> Option<String> {
    issue.has_label(LABEL).then(|| message_of(&issue.body)).flatten()
}

/// The user's words in a feedback issue's body: the fenced block under the template's
/// heading; `None` when the body has no such block (an edited body, another template).
pub fn message_of(body: &str) -> Option<String> {
    let mut lines = body.lines().skip_while(|l| l.trim_end() != MESSAGE_HEADING).skip(1);
    let open = lines.find(|l| !l.trim().is_empty())?;
    let fence: String = open.chars().take_while(|&c| c == '`' || c == '~').collect();
    if fence.len() < 3 {
        return None;
    }
    let text: Vec<&str> = lines.take_while(|l| l.trim_end() != fence).collect();
    Some(text.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_reads_back_from_the_rendered_issue_with_its_marker() {
        let fb = Feedback {
            id: "9f1b6c1d0a6b4e3a9b7e2c1f0a9d8e7f".into(),
            message: "Export does nothing\n```\nstill nothing <!-- homeostat:feedback=ffff --> @maintainer".into(),
            url: Some("https://app.example.com/notes".into()),
            release: Some("5.0.0".into()),
            ..Feedback::default()
        };
        let new =
            new_issue(&Prompts::builtin().unwrap(), &Config::default(), Scrubber::builtin(), &fb, Some(12)).unwrap();
        assert_eq!(new.title, "Feedback: Export does nothing");
        assert_eq!(new.labels, ["homeostat:feedback", "feedback"]);
        let got = message_of(&new.body).expect("the message block");
        assert!(got.starts_with("Export does nothing\n```\nstill nothing"), "{got}");
        assert!(got.ends_with("@maintainer"), "{got}");
        let ids: Vec<Marker> = markers::parse(&new.body);
        assert_eq!(ids, [Marker::Feedback(fb.id.clone())], "only the trailer's marker counts:\n{}", new.body);
        assert!(new.body.contains("5.0.0") && new.body.contains("app.example.com/notes"), "{}", new.body);
        assert!(new.body.contains("| About error | #12 |"), "{}", new.body);
    }

    #[tokio::test]
    async fn past_the_daily_quota_feedback_waits_in_the_ledger_and_later_runs_file_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let forge = crate::forge::local::LocalForge::open(&dir.path().join("forge")).unwrap();
        let mut config = Config::default();
        config.issues.feedback_per_day = 2;
        let at = |day: &str| {
            let clock = crate::clock::Clock::pinned_at(format!("2026-12-0{day}T10:00:00Z").parse().unwrap());
            Ledger::with_clock(dir.path().join("ledger.jsonl"), clock)
        };
        // Not through the relay: a dispatch's text is scrubbed before anything keeps it.
        let fb = |n: u8| Feedback {
            id: format!("{n:032x}"),
            message: format!("Report number {n} from bob@example.com"),
            ..Feedback::default()
        };
        let scrub = Scrubber::builtin();
        let first = file(&forge, &config, &at("1"), scrub, &[fb(1), fb(2), fb(3)]).await.unwrap();
        let actions: Vec<&str> = first.iter().map(|f| f.action.as_str()).collect();
        assert_eq!(actions, ["created", "created", "held"]);
        let kept = std::fs::read_to_string(dir.path().join("ledger.jsonl")).unwrap();
        assert!(kept.contains("feedback.held") && !kept.contains("bob@example.com"), "{kept}");
        // The same day, the same batch again: nothing new, the held one still waits.
        let again = file(&forge, &config, &at("1"), scrub, &[fb(1), fb(2), fb(3)]).await.unwrap();
        let actions: Vec<&str> = again.iter().map(|f| f.action.as_str()).collect();
        assert_eq!(actions, ["held", "known", "known"], "held first, then the batch");
        // The next day, a run with other feedback files the held one first.
        let next = file(&forge, &config, &at("2"), scrub, &[fb(4)]).await.unwrap();
        let got: Vec<(&str, &str)> = next.iter().map(|f| (f.id.as_str(), f.action.as_str())).collect();
        assert_eq!(got, [(fb(3).id.as_str(), "created"), (fb(4).id.as_str(), "created")]);
        let titles: Vec<String> =
            forge.list_issues(LABEL, StateFilter::All).await.unwrap().into_iter().map(|i| i.title).collect();
        assert_eq!(titles.len(), 4, "{titles:?}");
        let later = file(&forge, &config, &at("3"), scrub, &[]).await.unwrap();
        assert!(later.iter().all(|f| f.action == Filing::Known), "{later:?}");
        // A piece two runs filed at once (two `feedback.filed`, one `feedback.filed_twice`)
        // takes one of the day's two slots: the next piece is filed, not held.
        let day4 = at("4");
        day4.append(kinds::FEEDBACK_FILED, &fb(6).id, serde_json::json!({"issue": 9})).unwrap();
        day4.append(kinds::FEEDBACK_FILED, &fb(6).id, serde_json::json!({"issue": 10})).unwrap();
        day4.append(kinds::FEEDBACK_FILED_TWICE, &fb(6).id, serde_json::json!({"issue": 10, "kept": 9})).unwrap();
        let after = file(&forge, &config, &day4, scrub, &[fb(5)]).await.unwrap();
        let fifth = after.iter().find(|f| f.id == fb(5).id).expect("reported");
        assert_eq!(fifth.action, Filing::Created, "{after:?}");
    }

    #[test]
    fn a_payload_without_feedback_has_none_and_a_bad_entry_names_its_place() {
        assert!(from_payload("event.json", &serde_json::json!({"client_payload": {"events": []}})).unwrap().is_empty());
        let id = "9f1b6c1d0a6b4e3a9b7e2c1f0a9d8e7f";
        let ok = serde_json::json!({"client_payload": {"feedback": [{"id": id, "message": "ok"}]}});
        assert_eq!(from_payload("event.json", &ok).unwrap()[0].message, "ok");
        let bad = serde_json::json!({"client_payload": {"feedback": [{"id": id, "message": "ok"}, {"id": "b -->", "message": "x"}]}});
        let err = from_payload("event.json", &bad).unwrap_err();
        assert!(err.to_string().starts_with("event.json: client_payload.feedback[1]"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
}
