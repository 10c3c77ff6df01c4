//! What started a run: the label `homeostat:fix`, a `/homeostat fix` comment, a
//! workflow_dispatch with an issue number, `/homeostat revise <text>` on the bot's pull
//! request, or a failed CI run on a `homeostat/*` branch.
//!
//! Only facts the forge vouches for are read from the payload (event name, numbers,
//! the sender's login and type, repository names). Whether the sender may trigger a run
//! is asked of the forge later (`Forge::permission`), never read from the payload's
//! `author_association`.

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Position, Result};

/// The label that asks for a fix.
pub const FIX_LABEL: &str = "homeostat:fix";
/// Branches the bot pushes to.
pub const BRANCH_PREFIX: &str = "homeostat/fix-";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerKind {
    Label,
    Comment,
    Dispatch,
    ReviseComment,
    CiFailure,
    /// `hs-agent fix|revise` run by hand (local forge, scripts).
    Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Fix,
    Revise,
}

/// A request for a run, before any permission or policy check.
#[derive(Debug, Clone, Serialize)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub mode: Mode,
    /// The issue to fix; for a revise from a PR comment it is found from the PR's marker.
    pub issue: Option<u64>,
    /// The pull request a revise comment was made on.
    pub pr: Option<u64>,
    /// Who asked (for the permission check and `Co-authored-by`); empty for CI failures.
    pub actor: String,
    /// The sender is a bot account.
    pub actor_is_bot: bool,
    /// The event comes from a fork of the repository.
    pub from_fork: bool,
    /// Revise feedback: the maintainer's text, or what failed in CI. Untrusted.
    pub feedback: Option<String>,
}

impl Trigger {
    /// A run asked for on the command line.
    pub fn command(mode: Mode, issue: Option<u64>, pr: Option<u64>, actor: &str, feedback: Option<String>) -> Self {
        Self {
            kind: TriggerKind::Command,
            mode,
            issue,
            pr,
            actor: actor.to_string(),
            actor_is_bot: is_bot_login(actor),
            from_fork: false,
            feedback,
        }
    }
}

/// A login that belongs to a bot (GitHub Apps end in `[bot]`).
pub fn is_bot_login(login: &str) -> bool {
    login.to_ascii_lowercase().ends_with("[bot]")
}

/// The issue number in a bot branch name `homeostat/fix-<n>`.
pub fn issue_of_branch(branch: &str) -> Option<u64> {
    branch.strip_prefix(BRANCH_PREFIX)?.parse().ok()
}

fn bad(what: &str) -> Error {
    Error::input(Position::file("$GITHUB_EVENT_PATH"), format!("event payload: {what}"))
}

fn sender(payload: &Value) -> (String, bool) {
    let login = payload.pointer("/sender/login").and_then(Value::as_str).unwrap_or_default().to_string();
    let is_bot = payload.pointer("/sender/type").and_then(Value::as_str) == Some("Bot") || is_bot_login(&login);
    (login, is_bot)
}

fn number_at(payload: &Value, pointer: &str) -> Result<u64> {
    let v = payload.pointer(pointer).ok_or_else(|| bad(&format!("no {pointer}")))?;
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.trim().trim_start_matches('#').parse().ok()))
        .ok_or_else(|| bad(&format!("{pointer} is not an issue number")))
}

/// A slash command at the start of a comment: `/homeostat fix` or `/homeostat revise <text>`.
fn slash_command(body: &str) -> Option<(&str, &str)> {
    let rest = body.trim_start().strip_prefix("/homeostat")?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let rest = rest.trim_start();
    let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Some((&rest[..word_end], rest[word_end..].trim()))
}

/// Reads the trigger from an Actions event. `None` means the event is not for hs-agent
/// (another label, an ordinary comment, a green CI run) and the run should end quietly.
pub fn from_event(event_name: &str, payload: &Value) -> Result<Option<Trigger>> {
    let (actor, actor_is_bot) = sender(payload);
    let base = |kind, mode, issue, pr, feedback| Trigger {
        kind,
        mode,
        issue,
        pr,
        actor: actor.clone(),
        actor_is_bot,
        from_fork: false,
        feedback,
    };
    match event_name {
        "issues" => {
            let labeled = payload.get("action").and_then(Value::as_str) == Some("labeled");
            let label = payload.pointer("/label/name").and_then(Value::as_str);
            if !labeled || label != Some(FIX_LABEL) {
                return Ok(None);
            }
            Ok(Some(base(TriggerKind::Label, Mode::Fix, Some(number_at(payload, "/issue/number")?), None, None)))
        }
        "issue_comment" => {
            if payload.get("action").and_then(Value::as_str) != Some("created") {
                return Ok(None);
            }
            let body = payload.pointer("/comment/body").and_then(Value::as_str).unwrap_or_default();
            let number = number_at(payload, "/issue/number")?;
            let on_pull = payload.pointer("/issue/pull_request").is_some_and(|v| !v.is_null());
            match slash_command(body) {
                Some(("fix", _)) if !on_pull => {
                    Ok(Some(base(TriggerKind::Comment, Mode::Fix, Some(number), None, None)))
                }
                Some(("revise", text)) if on_pull => {
                    Ok(Some(base(TriggerKind::ReviseComment, Mode::Revise, None, Some(number), Some(text.to_string()))))
                }
                _ => Ok(None),
            }
        }
        "workflow_dispatch" => {
            let issue = number_at(payload, "/inputs/issue")?;
            Ok(Some(base(TriggerKind::Dispatch, Mode::Fix, Some(issue), None, None)))
        }
        "workflow_run" => {
            let run = payload.get("workflow_run").ok_or_else(|| bad("no workflow_run"))?;
            if run.get("conclusion").and_then(Value::as_str) != Some("failure") {
                return Ok(None);
            }
            let branch = run.get("head_branch").and_then(Value::as_str).unwrap_or_default();
            let Some(issue) = issue_of_branch(branch) else { return Ok(None) };
            let head_repo = run.pointer("/head_repository/full_name").and_then(Value::as_str);
            let repo = payload.pointer("/repository/full_name").and_then(Value::as_str);
            let name = run.get("name").and_then(Value::as_str).unwrap_or("CI");
            let url = run.get("html_url").and_then(Value::as_str).unwrap_or_default();
            let mut trigger = base(
                TriggerKind::CiFailure,
                Mode::Revise,
                Some(issue),
                None,
                Some(format!("The CI workflow \"{name}\" failed on branch {branch}: {url}")),
            );
            // The push that started CI was the bot's own: no person to check or credit.
            trigger.actor = String::new();
            trigger.actor_is_bot = false;
            trigger.from_fork = head_repo.is_some() && head_repo != repo;
            Ok(Some(trigger))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_comment_and_dispatch_start_fix_runs() {
        let labeled = json!({"action": "labeled", "label": {"name": "homeostat:fix"}, "issue": {"number": 7},
                             "sender": {"login": "ann", "type": "User"}});
        let t = from_event("issues", &labeled).unwrap().unwrap();
        assert_eq!((t.kind, t.mode, t.issue, t.actor.as_str()), (TriggerKind::Label, Mode::Fix, Some(7), "ann"));
        let other = json!({"action": "labeled", "label": {"name": "bug"}, "issue": {"number": 7}});
        assert!(from_event("issues", &other).unwrap().is_none());

        let comment = json!({"action": "created", "issue": {"number": 8}, "comment": {"body": "  /homeostat fix please"},
                             "sender": {"login": "dependabot[bot]", "type": "Bot"}});
        let t = from_event("issue_comment", &comment).unwrap().unwrap();
        assert_eq!((t.kind, t.issue), (TriggerKind::Comment, Some(8)));
        assert!(t.actor_is_bot);
        let chatter = json!({"action": "created", "issue": {"number": 8}, "comment": {"body": "/homeostatfix"}});
        assert!(from_event("issue_comment", &chatter).unwrap().is_none());

        let dispatch = json!({"inputs": {"issue": "#12"}, "sender": {"login": "ann"}});
        assert_eq!(from_event("workflow_dispatch", &dispatch).unwrap().unwrap().issue, Some(12));
        let bad = json!({"inputs": {"issue": "twelve"}});
        assert_eq!(from_event("workflow_dispatch", &bad).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn revise_comes_from_pull_comments_and_failed_ci_on_bot_branches() {
        let revise = json!({"action": "created", "issue": {"number": 9, "pull_request": {"url": "x"}},
                            "comment": {"body": "/homeostat revise add a test for the empty list"},
                            "sender": {"login": "ann", "type": "User"}});
        let t = from_event("issue_comment", &revise).unwrap().unwrap();
        assert_eq!(
            (t.mode, t.pr, t.feedback.as_deref()),
            (Mode::Revise, Some(9), Some("add a test for the empty list"))
        );

        let ci = |branch: &str, conclusion: &str, head: &str| {
            json!({"action": "completed", "repository": {"full_name": "o/r"},
                   "workflow_run": {"conclusion": conclusion, "head_branch": branch, "name": "CI",
                                    "head_repository": {"full_name": head}}})
        };
        let t = from_event("workflow_run", &ci("homeostat/fix-5", "failure", "o/r")).unwrap().unwrap();
        assert_eq!((t.mode, t.issue, t.from_fork), (Mode::Revise, Some(5), false));
        assert!(from_event("workflow_run", &ci("homeostat/fix-5", "success", "o/r")).unwrap().is_none());
        assert!(from_event("workflow_run", &ci("feature/x", "failure", "o/r")).unwrap().is_none());
        assert!(from_event("workflow_run", &ci("homeostat/fix-5", "failure", "evil/r")).unwrap().unwrap().from_fork);
    }
}
