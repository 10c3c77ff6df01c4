//! The coding agent (hs-agent): from an auto-fixable issue to one verified draft pull
//! request, safely.
//!
//! [`run`] goes trigger → permission → policy class → budget → one PR per issue (by
//! marker) → context bundle → agent run (env allowlist, deadline on the process group,
//! pushes disabled) → no change? → bot commit → guard → push → open or update the draft
//! PR → labels and board → re-read branch and PR from the forge. A run that cannot prove
//! the branch and PR exist fails (exit 1).

pub mod adapter;
pub mod bridge;
pub mod command;
pub mod config;
pub mod context;
pub mod git;
pub mod pr;
pub mod runner;
pub mod sandbox;
pub mod trigger;

use serde::Serialize;

pub use config::{AdapterKind, AgentBudget, AgentDef, AgentsConfig};
pub use trigger::{Mode, Trigger, TriggerKind};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::forge::{Forge, Permission, upsert_comment};
use crate::gha::Env;
use crate::guard::Decision;
use crate::ledger::Ledger;
use crate::prompt::Prompts;

/// How a run ended (DESIGN.md "Agent config and interface").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    PrOpened,
    PrUpdated,
    NoChange,
    BlockedByGuard,
    RefusedPermission,
    RefusedClass,
    OverBudget,
    AgentFailed,
    AgentTimeout,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PrOpened => "pr-opened",
            Self::PrUpdated => "pr-updated",
            Self::NoChange => "no-change",
            Self::BlockedByGuard => "blocked-by-guard",
            Self::RefusedPermission => "refused-permission",
            Self::RefusedClass => "refused-class",
            Self::OverBudget => "over-budget",
            Self::AgentFailed => "agent-failed",
            Self::AgentTimeout => "agent-timeout",
        }
    }

    /// The agent itself failed: the job should show red.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::AgentFailed | Self::AgentTimeout)
    }
}

/// The run's result: `{"issue", "outcome", "class", "branch", "pr", "guard", "reason"}`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub issue: Option<u64>,
    pub outcome: Outcome,
    pub class: Option<String>,
    pub branch: Option<String>,
    pub pr: Option<u64>,
    pub guard: Option<crate::guard::Verdict>,
    /// One sentence on why, for people.
    pub reason: String,
}

/// Where a run works and what it remembers.
pub struct Options {
    pub checkout: git::Checkout,
    pub ledger: Ledger,
    pub prompts: Prompts,
    /// Scrubs what leaves the machine (issue text in the prompt, agent output in comments and the PR).
    pub scrubber: crate::scrub::Scrubber,
    /// `--dry-run`: stop before the agent runs (nothing spent, checked out or pushed).
    pub dry_run: bool,
}

/// Marker of the one status comment hs-agent keeps on an issue (edited in place).
pub const STATUS_MARKER: &str = crate::markers::tag::AGENT_STATUS;

/// The branch for an issue.
pub fn branch_for(issue: u64) -> String {
    format!("{}{issue}", trigger::BRANCH_PREFIX)
}

struct Ctx<'a> {
    forge: &'a dyn Forge,
    report: Report,
    /// Where the status comment goes.
    thread: u64,
}

impl Ctx<'_> {
    /// Ends the run with `outcome`, telling the thread why.
    async fn end(mut self, outcome: Outcome, reason: String) -> Result<Report> {
        self.report.outcome = outcome;
        self.report.reason.clone_from(&reason);
        if self.thread > 0 {
            let body = format!("**homeostat agent: `{}`**\n\n{reason}", outcome.as_str());
            upsert_comment(self.forge, self.thread, &crate::markers::Marker::tag(STATUS_MARKER), &body).await?;
        }
        Ok(self.report)
    }
}

/// Runs the agent for one trigger. Designed endings (refusals, no change, a blocked
/// change, a failed agent) are `Ok` with their outcome; a run that could not do or
/// prove its writes is `Err`.
pub async fn run(forge: &dyn Forge, config: &Config, env: &Env, trigger: &Trigger, opts: &Options) -> Result<Report> {
    let agents = config.agents.clone().unwrap_or_default();
    for (class, name) in &agents.route {
        if !agents.define.contains_key(name) {
            return Err(crate::config::bad_value(
                config,
                &format!("agents.route.{class}"),
                format!("no agent `{name}` in agents.define"),
            ));
        }
    }
    let policy = bridge::load_policy(config)?;
    let scrubber = &opts.scrubber;

    // The issue: named by the trigger, or by the marker of the PR a revise was asked on.
    let issue_number = match (trigger.issue, trigger.pr) {
        (Some(n), _) => n,
        (None, Some(pr)) => {
            let pull = forge.get_pull(pr).await?;
            pr::issue_of(&pull.body).or_else(|| trigger::issue_of_branch(&pull.head)).ok_or_else(|| {
                Error::input(
                    crate::error::Position::file(format!("pull request #{pr}")),
                    "is not a homeostat pull request (no issue marker)",
                )
            })?
        }
        (None, None) => {
            return Err(Error::input(crate::error::Position::file("hs-agent"), "no issue number (use --issue N)"));
        }
    };
    let branch = branch_for(issue_number);
    let mut ctx = Ctx {
        forge,
        report: Report {
            issue: Some(issue_number),
            outcome: Outcome::NoChange,
            class: None,
            branch: None,
            pr: None,
            guard: None,
            reason: String::new(),
        },
        thread: trigger.pr.unwrap_or(issue_number),
    };

    // Who asked: bots and forks never; people only with write permission, from the forge.
    if trigger.from_fork {
        return ctx
            .end(
                Outcome::RefusedPermission,
                "The event comes from a fork; homeostat only acts on its own branches.".into(),
            )
            .await;
    }
    if trigger.actor_is_bot {
        return ctx
            .end(
                Outcome::RefusedPermission,
                format!("`{}` is a bot account; bots cannot start the coding agent.", trigger.actor),
            )
            .await;
    }
    if trigger.kind != TriggerKind::CiFailure {
        if trigger.actor.is_empty() {
            return ctx.end(Outcome::RefusedPermission, "No actor is known for this request.".into()).await;
        }
        let permission = forge.permission(&trigger.actor).await?;
        if !permission.can_write() {
            return ctx
                .end(
                    Outcome::RefusedPermission,
                    format!(
                        "@{} has `{}` permission on this repository; starting the coding agent needs write or higher.",
                        trigger.actor,
                        permission_name(permission)
                    ),
                )
                .await;
        }
    }

    let issue = forge.get_issue(issue_number).await?;
    ctx.thread = if trigger.pr.is_some() { ctx.thread } else { issue.number };
    if issue.state == crate::forge::State::Closed {
        return ctx
            .end(Outcome::NoChange, format!("Issue #{issue_number} is closed; the agent only works on open issues."))
            .await;
    }
    let class = bridge::classify_issue(&policy, &issue);
    ctx.report.class = Some(class.class.clone());
    if !class.auto_fixable {
        let reason = format!(
            "The policy classes this error as `{}` ({}); the agent may only attempt {}.",
            class.class,
            class.reasons.join("; "),
            bridge::agent_classes(&policy).iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        );
        return ctx.end(Outcome::RefusedClass, reason).await;
    }
    let Some((agent_name, agent_def)) = agents.agent_for(&class.class) else {
        return ctx
            .end(
                Outcome::RefusedClass,
                format!("No agent is routed for class `{}` (agents.route / agents.define).", class.class),
            )
            .await;
    };

    // Follow-ups are bounded: a revise loop (CI fails, agent revises, CI fails…) ends.
    if trigger.mode == Mode::Revise {
        let attempts = revise_attempts(&opts.ledger, issue_number)?;
        if attempts >= agents.max_attempts as usize {
            return ctx
                .end(
                    Outcome::OverBudget,
                    format!(
                        "{attempts} follow-up runs already made for #{issue_number} (agents.max_attempts: {}); a person takes it from here.",
                        agents.max_attempts
                    ),
                )
                .await;
        }
    }
    let usd_left = match runner::check_budget(&opts.ledger, &agents.budget, opts.ledger.now())? {
        runner::BudgetCheck::Ok { usd_left } => usd_left,
        runner::BudgetCheck::Over(why) => return ctx.end(Outcome::OverBudget, format!("Budget reached: {why}.")).await,
    };

    // One PR per issue.
    let existing = pr::find_open(forge, issue_number, &agents.bot.logins()).await?;
    let checkout = &opts.checkout;
    let default_branch = forge.default_branch().await?;
    let default_head = checkout.fetch(&default_branch)?;
    let remote_branch = checkout.remote_head(&branch)?;
    if trigger.mode == Mode::Revise && existing.is_none() {
        return ctx
            .end(Outcome::NoChange, format!("There is no open pull request for #{issue_number} to revise."))
            .await;
    }
    let (start, lease) = match (&remote_branch, trigger.mode) {
        (None, Mode::Revise) => {
            return ctx
                .end(
                    Outcome::NoChange,
                    format!("There is no branch `{branch}` to revise; label the issue `homeostat:fix` first."),
                )
                .await;
        }
        (None, Mode::Fix) => (default_head, None),
        (Some(_), Mode::Revise) => (checkout.fetch(&branch)?, None),
        (Some(sha), Mode::Fix) => {
            let head = checkout.fetch(&branch)?;
            let base = checkout.merge_base(default_head, head)?;
            if checkout.only_bot_commits(base, head, &agents.bot)? {
                // A fresh attempt from the default branch replaces the bot's own work.
                (default_head, Some(sha.clone()))
            } else {
                // Someone else pushed to the branch: build on it, never overwrite it.
                (head, None)
            }
        }
    };
    ctx.report.branch = Some(branch.clone());

    // The prompt and the agent's notes live outside the checkout.
    let work = tempfile::Builder::new().prefix("homeostat-agent-").tempdir().map_err(|e| Error::io("temp dir", e))?;
    let files =
        adapter::RunFiles { prompt_file: work.path().join("prompt.md"), summary_file: work.path().join("summary.md") };
    let mode = match trigger.mode {
        Mode::Fix => "fix",
        Mode::Revise => "revise",
    };
    let bundle = context::build(
        &context::BundleInput {
            mode,
            issue: &issue,
            class: &class,
            branch: &branch,
            summary_file: &files.summary_file.to_string_lossy(),
            feedback: trigger.feedback.as_deref(),
            pr: existing.as_ref().map(|p| p.number),
            byte_budget: agents.context_bytes,
        },
        checkout,
        default_head,
        &policy,
        scrubber,
    )?;
    let template = if trigger.mode == Mode::Revise { "agent-revise.md.j2" } else { "agent-fix.md.j2" };
    let prompt = opts.prompts.render(template, &bundle)?;
    std::fs::write(&files.prompt_file, &prompt).map_err(|e| Error::io(&files.prompt_file, e))?;

    let usd_cap = Some(agent_def.max_usd.map_or(usd_left, |cap| cap.min(usd_left)));
    let invocation = adapter::build(agent_def, &files, issue_number, usd_cap)?;
    if opts.dry_run {
        // Running the agent spends money and edits the checkout: a dry run stops here.
        crate::gha::eprint_safe(&prompt);
        let line = std::iter::once(invocation.program.as_str()).chain(invocation.args.iter().map(String::as_str));
        let reason = format!(
            "Dry run: would run agent `{agent_name}` as `{}` on `{branch}` from {} with the prompt above ({} bytes).",
            line.collect::<Vec<_>>().join(" "),
            &start.to_string()[..12],
            prompt.len()
        );
        ctx.report.reason = reason;
        return Ok(ctx.report);
    }
    checkout.switch(&branch, start)?;
    let agent_env = runner::agent_env(
        &agents,
        env,
        &[
            ("HOMEOSTAT_PROMPT_FILE", files.prompt_file.to_string_lossy().into_owned()),
            ("HOMEOSTAT_SUMMARY_FILE", files.summary_file.to_string_lossy().into_owned()),
            ("HOMEOSTAT_ISSUE", issue_number.to_string()),
        ],
    );
    tracing::info!(
        "running agent `{agent_name}` ({:?}) on #{issue_number}, deadline {}",
        agent_def.adapter,
        agents.timeout
    );
    let heads_before = checkout.remote_heads()?;
    let agent_run = {
        let _no_push = checkout.disable_push()?;
        runner::run(&invocation, &checkout.dir, &agent_env, agents.timeout.as_std(), &work.path().join("agent.log"))
    };
    let agent_run = match agent_run {
        Ok(r) => r,
        Err(e) => return ctx.end(Outcome::AgentFailed, format!("The agent could not run: {e}")).await,
    };
    let usage = adapter::parse_usage(agent_def.adapter, &agent_run.output);
    let actions = crate::gha::Actions::new(env);
    if env.in_actions() {
        // What the agent did, for the job log: scrubbed, and unable to run workflow commands.
        let _group = actions.group("agent output");
        actions.print_untrusted(&tail_chars(&scrubber.scrub(&agent_run.output), 60_000));
    }
    runner::record(&opts.ledger, issue_number, agent_name, mode, &agent_run, &usage)?;

    let heads_after = checkout.remote_heads()?;
    let moved: Vec<&String> =
        heads_after.iter().filter(|(b, sha)| heads_before.get(*b) != Some(*sha)).map(|(b, _)| b).collect();
    if !moved.is_empty() {
        return ctx
            .end(
                Outcome::AgentFailed,
                format!("The agent changed remote branches on its own ({moved:?}); homeostat pushed nothing. Check those branches."),
            )
            .await;
    }
    match agent_run.exit {
        runner::Exit::TimedOut => {
            return ctx
                .end(
                    Outcome::AgentTimeout,
                    format!(
                        "The agent did not finish within {} and was stopped with its processes; nothing was pushed.",
                        agents.timeout
                    ),
                )
                .await;
        }
        // An agent that ran out of turns (or budget) may still exit 0: its change is
        // unfinished, so nothing is pushed.
        runner::Exit::Code(0) if usage.stopped_short.is_some() => {
            let why = usage.stopped_short.as_deref().unwrap_or_default();
            let turns = usage.turns.map(|t| format!(" after {t} turns")).unwrap_or_default();
            return ctx
                .end(
                    Outcome::AgentFailed,
                    format!("The agent stopped short{turns}: {why}. Its unfinished change was not pushed; raise the limit in `agents.define` or fix by hand."),
                )
                .await;
        }
        runner::Exit::Code(0) => {}
        other => {
            let tail = tail(&scrubber.scrub(&agent_run.output), 1500);
            return ctx
                .end(
                    Outcome::AgentFailed,
                    format!("The agent exited with {other:?}; nothing was pushed.\n\n<details><summary>last output</summary>\n\n```text\n{tail}\n```\n</details>"),
                )
                .await;
        }
    }

    if !checkout.has_changes(start)? {
        return ctx
            .end(
                Outcome::NoChange,
                format!("The agent (`{agent_name}`) finished without changing any file; no pull request was opened."),
            )
            .await;
    }
    let co_author = (!trigger.actor.is_empty()).then(|| (trigger.actor.clone(), git::noreply_email(&trigger.actor)));
    let message =
        git::commit_message(issue_number, &issue.title, co_author.as_ref().map(|(l, e)| (l.as_str(), e.as_str())));
    let commit = checkout.commit(&branch, start, &agents.bot, &message)?;
    // External checks (semver, API diff) would run the agent's code in a job holding the
    // token: they are left to the guard's own run on the pull request.
    let request = crate::guard::run::Request {
        repo_dir: &checkout.dir,
        base: &default_head.to_string(),
        head: &commit.to_string(),
        skip_external: true,
    };
    let verdict = crate::guard::run::evaluate(&request, &policy, &config.guard.clone().unwrap_or_default(), scrubber)?;
    ctx.report.guard = Some(verdict.clone());
    if verdict.verdict == Decision::Blocked {
        return ctx
            .end(
                Outcome::BlockedByGuard,
                format!(
                    "The agent's change was blocked by the guard and not pushed.\n\n{}",
                    crate::guard::report::markdown(&verdict)
                ),
            )
            .await;
    }

    // A CLI that ran past its caps and still said success (claude-code-action #1577): the
    // change is proposed, but for a person to review.
    let overran = usage.overran(agent_def.max_turns, usd_cap);
    checkout.push(commit, &branch, lease.as_deref())?;
    let summary = read_capped(&files.summary_file, 256 * 1024);
    let summary = if summary.trim().is_empty() {
        "_The agent wrote no summary._".to_string()
    } else {
        inert_references(&scrubber.scrub(&crate::prompt::strip_hidden(&tail_chars(&summary, 20_000))))
    };
    let body = opts.prompts.render(
        "agent-pr.md.j2",
        &serde_json::json!({
            "issue": issue_number,
            "agent": agent_name,
            "class": class.class,
            "summary": summary,
            "guard_table": crate::guard::report::markdown(&verdict),
            "trigger": format!("{:?}", trigger.kind).to_lowercase(),
            "actor": trigger.actor,
            "mode": mode,
            "seconds": format!("{:.0}", agent_run.seconds),
            "cost": usage.usd.map_or("not reported".to_string(), |u| format!("${u:.2}")),
            "branch": branch,
            "max_attempts": agents.max_attempts,
            "overran": overran,
        }),
    )?;
    let title = format!("fix: {} (#{issue_number})", crate::prompt::strip_hidden(&issue.title));
    let (pull, created) =
        pr::open_or_update(forge, existing.as_ref(), &title, &body, &branch, &default_branch, issue_number).await?;
    let human_review = verdict.verdict == Decision::HumanReview || overran.is_some();
    pr::label(forge, &pull, issue_number, verdict.class, human_review).await?;
    let pull = pr::verify(forge, checkout, &branch, commit, pull.number, issue_number).await?;
    ctx.report.pr = Some(pull.number);
    let outcome = if created { Outcome::PrOpened } else { Outcome::PrUpdated };
    opts.ledger.append(
        crate::ledger::kinds::AGENT_OUTCOME,
        &issue_number.to_string(),
        serde_json::json!({"outcome": outcome.as_str(), "pr": pull.number, "commit": commit.to_string(), "overran": overran}),
    )?;
    let verb = if created { "Opened" } else { "Updated" };
    ctx.thread = issue_number;
    ctx.end(
        outcome,
        format!("{verb} draft pull request #{} from `{branch}` (guard: {}).", pull.number, verdict.verdict.as_str()),
    )
    .await
}

/// Revise runs for `issue` since its last fix run.
fn revise_attempts(ledger: &Ledger, issue: u64) -> Result<usize> {
    let key = issue.to_string();
    let runs: Vec<_> = ledger.entries()?.into_iter().filter(|e| e.kind == runner::RUN_KIND && e.key == key).collect();
    Ok(runs.iter().rev().take_while(|e| e.get_str("mode") == Some("revise")).count())
}

fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::None => "no",
        Permission::Read => "read",
        Permission::Triage => "triage",
        Permission::Write => "write",
        Permission::Maintain => "maintain",
        Permission::Admin => "admin",
    }
}

fn tail(text: &str, max_chars: usize) -> String {
    tail_chars(text, max_chars).replace("```", "ʼʼʼ")
}

/// The agent's text in the PR body must not act: no `Closes #5` that closes another issue
/// on merge, no `@someone` that pings people. A zero-width space breaks the reference.
fn inert_references(text: &str) -> String {
    static REFERENCE: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"([#@])([0-9A-Za-z])").ok());
    match REFERENCE.as_ref() {
        Some(re) => re.replace_all(text, "$1\u{200B}$2").into_owned(),
        None => text.to_string(),
    }
}

/// At most `max` bytes of a file the agent wrote (it may write anything, of any size).
fn read_capped(path: &std::path::Path, max: u64) -> String {
    use std::io::Read;
    let mut bytes = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(max).read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn tail_chars(text: &str, max_chars: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(max_chars)).collect()
}

/// What `hs-agent fix|revise` was asked on the command line.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The issue to fix (in Actions, without --issue or --pr: read from the event).
    pub issue: Option<u64>,
    /// revise: the bot's pull request to revise.
    pub pr: Option<u64>,
    /// Who asked (default: $GITHUB_ACTOR); their permission is read from the forge.
    pub actor: Option<String>,
    /// revise: what to change.
    pub feedback: Option<String>,
}

/// The trigger for a command line run: the numbers given, else the Actions event.
/// `None` means the event is not for hs-agent.
pub fn resolve_trigger(mode: Mode, request: &Request, env: &Env) -> Result<Option<Trigger>> {
    if request.issue.is_none()
        && request.pr.is_none()
        && let (Some(name), Some(payload)) = (env.event_name(), env.event_payload()?)
    {
        return trigger::from_event(name, &payload);
    }
    let actor = request.actor.clone().or_else(|| env.get(crate::gha::vars::GITHUB_ACTOR).map(str::to_string));
    Ok(Some(Trigger::command(
        mode,
        request.issue,
        request.pr,
        actor.as_deref().unwrap_or_default(),
        request.feedback.clone(),
    )))
}

/// Opens the checkout and prompts for a run in `repo_dir`, over the run's ledger.
pub fn options(
    config: &Config,
    env: &Env,
    forge: &dyn Forge,
    repo_dir: &std::path::Path,
    ledger: Ledger,
) -> Result<Options> {
    let mut checkout = git::Checkout::new(repo_dir);
    if forge.kind() == "github"
        && let Some(token) = env.token()
    {
        let server = env.get(crate::gha::vars::GITHUB_SERVER_URL).unwrap_or("https://github.com");
        checkout = checkout.with_token(server, token);
    }
    let prompts = match config.source.as_ref().and_then(|s| s.parent()) {
        Some(dir) => Prompts::with_overrides(&dir.join("prompts"))?,
        None => Prompts::builtin()?,
    };
    let scrubber = crate::scrub::config_scrubber(config)?;
    Ok(Options { checkout, ledger, prompts, scrubber, dry_run: forge.is_dry_run() })
}

/// What a run whose event is not a request for the agent says (and its exit code).
pub fn not_for_us() -> std::process::ExitCode {
    eprintln!("hs-agent: the event is not a request for the agent; nothing to do");
    std::process::ExitCode::SUCCESS
}

/// After the bot's pull request merged: [`pr::record_merged`].
pub async fn merged(forge: &dyn Forge, opts: &Options, pr_number: u64) -> Result<pr::Merged> {
    pr::record_merged(forge, &opts.ledger, &opts.prompts, pr_number).await
}

/// Writes the report to the Actions outputs and step summary (no-ops elsewhere).
pub fn publish(report: &Report, env: &Env) -> Result<()> {
    let actions = crate::gha::Actions::new(env);
    actions.set_output("outcome", report.outcome.as_str())?;
    actions.set_output("pr", &report.pr.map(|p| p.to_string()).unwrap_or_default())?;
    actions.set_output("branch", report.branch.as_deref().unwrap_or_default())?;
    actions.set_output("result", &serde_json::to_string(report).map_err(|e| Error::Failed(e.to_string()))?)?;
    let issue = report.issue.map_or_else(String::new, |i| format!("#{i}"));
    let mut summary = format!("### hs-agent {issue}: `{}`\n\n{}\n", report.outcome.as_str(), report.reason);
    if let Some(verdict) = &report.guard {
        summary.push('\n');
        summary.push_str(&crate::guard::report::markdown(verdict));
    }
    actions.append_summary(&summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agents_summary_cannot_close_issues_or_ping_people() {
        let out = inert_references("Closes #5, fixes owner/repo#6, thanks @octocat. ### Root cause");
        assert!(!out.contains("#5") && !out.contains("#6") && !out.contains("@octocat"), "{out}");
        assert!(out.contains("### Root cause"), "markdown headings stay: {out}");
    }
}
