//! Who asked, for which issue, of which class, with which agent and how much budget.

use super::{Stage, Stop};
use crate::agent::bridge::{self, Classification};
use crate::agent::trigger::{Mode, Trigger, TriggerKind};
use crate::agent::{AdapterKind, AgentDef, AgentsConfig, Options, Outcome, Report, runner};
use crate::error::{Error, Position, Result};
use crate::forge::{Forge, Issue, Permission, State};
use crate::ledger::Ledger;
use crate::policy::Policy;
use crate::settings::Config;

/// What the run may do, once allowed.
pub(in crate::agent) struct Authorized {
    pub agents: AgentsConfig,
    pub policy: Policy,
    pub issue: Issue,
    pub class: Classification,
    pub agent_name: String,
    pub agent_def: AgentDef,
    pub usd_left: f64,
}

/// The issue a trigger is about: named by it, or by the marker of the PR a revise was
/// asked on.
pub(in crate::agent) async fn issue_number(forge: &dyn Forge, trigger: &Trigger) -> Result<u64> {
    match (trigger.issue, trigger.pr) {
        (Some(n), _) => Ok(n),
        (None, Some(pr)) => {
            let pull = forge.get_pull(pr).await?;
            crate::agent::pr::issue_of(&pull.body)
                .or_else(|| crate::agent::trigger::issue_of_branch(&pull.head))
                .ok_or_else(|| {
                    Error::input(
                        Position::file(format!("pull request #{pr}")),
                        "is not a homeostat pull request (no issue marker)",
                    )
                })
        }
        (None, None) => Err(Error::input(Position::file("hs-agent"), "no issue number (use --issue N)")),
    }
}

/// Checks the config, who asked, the issue, its class, the route and the budgets.
pub(in crate::agent) async fn authorize(
    forge: &dyn Forge,
    config: &Config,
    trigger: &Trigger,
    opts: &Options,
    report: &mut Report,
) -> Stage<Authorized> {
    let agents = config.agents.clone().unwrap_or_default();
    for (class, name) in &agents.route {
        if !agents.define.contains_key(name) {
            let at = format!("agents.route.{class}");
            return Err(config.bad_value(&at, format!("no agent `{name}` in agents.define")).into());
        }
    }
    for (name, def) in &agents.define {
        if def.adapter == AdapterKind::Custom && def.run.is_empty() {
            let at = format!("agents.define.{name}");
            return Err(config.bad_value(&at, "a custom agent needs `run: [program, args...]`").into());
        }
    }
    let policy = bridge::load_policy(config)?;
    let issue_number = report.issue.unwrap_or_default();
    check_actor(forge, trigger).await?;
    let issue = forge.get_issue(issue_number).await?;
    if issue.state == State::Closed {
        let why = format!("Issue #{issue_number} is closed; the agent only works on open issues.");
        return Err(Stop::End(Outcome::NoChange, why));
    }
    let class = bridge::classify_issue(&policy, &issue);
    report.class = Some(class.class.clone());
    if !class.auto_fixable {
        let allowed = bridge::agent_classes(&policy).iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
        let reason = format!(
            "The policy classes this error as `{}` ({}); the agent may only attempt {allowed}.",
            class.class,
            class.reasons.join("; "),
        );
        return Err(Stop::End(Outcome::RefusedClass, reason));
    }
    let Some((agent_name, agent_def)) = agents.agent_for(&class.class) else {
        let why = format!("No agent is routed for class `{}` (agents.route / agents.define).", class.class);
        return Err(Stop::End(Outcome::RefusedClass, why));
    };
    let (agent_name, agent_def) = (agent_name.to_string(), agent_def.clone());
    check_follow_ups(&agents, trigger, &opts.ledger, issue_number)?;
    let usd_left = match runner::check_budget(&opts.ledger, &agents.budget, opts.ledger.now())? {
        runner::BudgetCheck::Ok { usd_left } => usd_left,
        runner::BudgetCheck::Over(why) => {
            return Err(Stop::End(Outcome::OverBudget, format!("Budget reached: {why}.")));
        }
    };
    Ok(Authorized { agents, policy, issue, class, agent_name, agent_def, usd_left })
}

/// Bots and forks never; people only with write permission, read from the forge. A CI
/// failure starts a revise on the bot's own branch: no person asked.
async fn check_actor(forge: &dyn Forge, trigger: &Trigger) -> Stage<()> {
    let refuse = |why: String| Err(Stop::End(Outcome::RefusedPermission, why));
    if trigger.from_fork {
        return refuse("The event comes from a fork; homeostat only acts on its own branches.".into());
    }
    if trigger.actor_is_bot {
        return refuse(format!("`{}` is a bot account; bots cannot start the coding agent.", trigger.actor));
    }
    if trigger.kind == TriggerKind::CiFailure {
        return Ok(());
    }
    if trigger.actor.is_empty() {
        return refuse("No actor is known for this request.".into());
    }
    let permission = forge.permission(&trigger.actor).await?;
    if permission.can_write() {
        return Ok(());
    }
    refuse(format!(
        "@{} has `{}` permission on this repository; starting the coding agent needs write or higher.",
        trigger.actor,
        permission_name(permission)
    ))
}

/// Follow-ups are bounded: a revise loop (CI fails, agent revises, CI fails…) ends.
fn check_follow_ups(agents: &AgentsConfig, trigger: &Trigger, ledger: &Ledger, issue: u64) -> Stage<()> {
    if trigger.mode != Mode::Revise {
        return Ok(());
    }
    let attempts = revise_attempts(ledger, issue)?;
    if attempts < agents.max_attempts as usize {
        return Ok(());
    }
    Err(Stop::End(
        Outcome::OverBudget,
        format!(
            "{attempts} follow-up runs already made for #{issue} (agents.max_attempts: {}); a person takes it from here.",
            agents.max_attempts
        ),
    ))
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
