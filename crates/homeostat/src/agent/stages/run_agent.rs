//! The agent in its sandbox, what it left, the bot's commit and the guard's verdict.

use super::{Authorized, Prepared, Stage, Stop};
use crate::agent::trigger::Trigger;
use crate::agent::{Options, Outcome, Report, adapter, git, runner};
use crate::gha::Env;
use crate::guard::{Decision, Verdict};
use crate::settings::Config;

/// A change the guard let through, committed but not pushed.
pub(in crate::agent) struct Ran {
    pub commit: git2::Oid,
    pub verdict: Verdict,
    pub usage: adapter::Usage,
    pub seconds: f64,
}

pub(in crate::agent) fn run_agent(
    config: &Config,
    env: &Env,
    trigger: &Trigger,
    opts: &Options,
    allowed: &Authorized,
    prepared: &Prepared,
    report: &mut Report,
) -> Stage<Ran> {
    let (agents, checkout, issue_number) = (&allowed.agents, &opts.checkout, allowed.issue.number);
    checkout.switch(&prepared.branch, prepared.start)?;
    let agent_env = runner::agent_env(
        agents,
        env,
        &[
            ("HOMEOSTAT_PROMPT_FILE", prepared.files.prompt_file.to_string_lossy().into_owned()),
            ("HOMEOSTAT_SUMMARY_FILE", prepared.files.summary_file.to_string_lossy().into_owned()),
            ("HOMEOSTAT_ISSUE", issue_number.to_string()),
        ],
    );
    tracing::info!(
        "running agent `{}` ({:?}) on #{issue_number}, deadline {}",
        allowed.agent_name,
        allowed.agent_def.adapter,
        agents.timeout
    );
    let heads_before = checkout.remote_heads()?;
    let agent_run = {
        let _no_push = checkout.disable_push()?;
        let log = prepared.work.path().join("agent.log");
        runner::run(&prepared.invocation, &checkout.dir, &agent_env, agents.timeout.as_std(), &log)
    };
    let agent_run = agent_run.map_err(|e| Stop::End(Outcome::AgentFailed, format!("The agent could not run: {e}")))?;
    let usage = adapter::parse_usage(allowed.agent_def.adapter, &agent_run.output);
    if env.in_actions() {
        // What the agent did, for the job log: scrubbed, and unable to run workflow commands.
        let actions = crate::gha::Actions::new(env);
        let _group = actions.group("agent output");
        actions.print_untrusted(&tail_chars(&opts.scrubber.scrub(&agent_run.output), 60_000));
    }
    runner::record(&opts.ledger, issue_number, &allowed.agent_name, prepared.mode, &agent_run, &usage)?;

    let heads_after = checkout.remote_heads()?;
    let moved: Vec<&String> =
        heads_after.iter().filter(|(b, sha)| heads_before.get(*b) != Some(*sha)).map(|(b, _)| b).collect();
    if !moved.is_empty() {
        return Err(Stop::End(
            Outcome::AgentFailed,
            format!(
                "The agent changed remote branches on its own ({moved:?}); homeostat pushed nothing. Check those branches."
            ),
        ));
    }
    check_exit(allowed, &agent_run, &usage, opts)?;
    if !checkout.has_changes(prepared.start)? {
        return Err(Stop::End(
            Outcome::NoChange,
            format!(
                "The agent (`{}`) finished without changing any file; no pull request was opened.",
                allowed.agent_name
            ),
        ));
    }
    let co_author = (!trigger.actor.is_empty()).then(|| (trigger.actor.clone(), git::noreply_email(&trigger.actor)));
    let co_author = co_author.as_ref().map(|(l, e)| (l.as_str(), e.as_str()));
    let message = git::commit_message(issue_number, &allowed.issue.title, co_author);
    let commit = checkout.commit(&prepared.branch, prepared.start, &agents.bot, &message)?;
    let verdict = guard(config, opts, allowed, prepared, commit)?;
    report.guard = Some(verdict.clone());
    if verdict.verdict == Decision::Blocked {
        return Err(Stop::End(
            Outcome::BlockedByGuard,
            format!(
                "The agent's change was blocked by the guard and not pushed.\n\n{}",
                crate::guard::report::markdown(&verdict)
            ),
        ));
    }
    Ok(Ran { commit, verdict, usage, seconds: agent_run.seconds })
}

/// A timed-out, failed or cut-short agent: nothing is pushed.
fn check_exit(allowed: &Authorized, agent_run: &runner::AgentRun, usage: &adapter::Usage, opts: &Options) -> Stage<()> {
    match &agent_run.exit {
        runner::Exit::TimedOut => Err(Stop::End(
            Outcome::AgentTimeout,
            format!(
                "The agent did not finish within {} and was stopped with its processes; nothing was pushed.",
                allowed.agents.timeout
            ),
        )),
        // An agent that ran out of turns (or budget) may still exit 0: its change is
        // unfinished, so nothing is pushed.
        runner::Exit::Code(0) if usage.stopped_short.is_some() => {
            let why = usage.stopped_short.as_deref().unwrap_or_default();
            let turns = usage.turns.map(|t| format!(" after {t} turns")).unwrap_or_default();
            Err(Stop::End(
                Outcome::AgentFailed,
                format!(
                    "The agent stopped short{turns}: {why}. Its unfinished change was not pushed; raise the limit in `agents.define` or fix by hand."
                ),
            ))
        }
        runner::Exit::Code(0) => Ok(()),
        other => {
            let tail = tail_chars(&opts.scrubber.scrub(&agent_run.output), 1500).replace("```", "ʼʼʼ");
            Err(Stop::End(
                Outcome::AgentFailed,
                format!(
                    "The agent exited with {other:?}; nothing was pushed.\n\n<details><summary>last output</summary>\n\n```text\n{tail}\n```\n</details>"
                ),
            ))
        }
    }
}

/// The guard on the bot's commit. External checks (semver, API diff) would run the
/// agent's code in a job holding the token: they are left to the guard's own run on the
/// pull request.
fn guard(
    config: &Config,
    opts: &Options,
    allowed: &Authorized,
    prepared: &Prepared,
    commit: git2::Oid,
) -> crate::Result<Verdict> {
    let request = crate::guard::run::Request {
        repo_dir: &opts.checkout.dir,
        base: &prepared.default_head.to_string(),
        head: &commit.to_string(),
        skip_external: true,
    };
    crate::guard::run::evaluate(&request, &allowed.policy, &config.guard.clone().unwrap_or_default(), &opts.scrubber)
}

pub(in crate::agent) fn tail_chars(text: &str, max_chars: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(max_chars)).collect()
}
