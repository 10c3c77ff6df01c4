//! One PR per issue, where the branch starts, and the prompt.

use super::{Authorized, Stage, Stop};
use crate::agent::trigger::{Mode, Trigger};
use crate::agent::{Options, Outcome, Report, adapter, branch_for, context, pr};
use crate::error::Error;
use crate::forge::{Forge, PullRequest};

/// Everything the agent run needs.
pub(in crate::agent) struct Prepared {
    pub branch: String,
    pub default_branch: String,
    pub default_head: git2::Oid,
    /// The commit the agent works from.
    pub start: git2::Oid,
    /// The bot's own head being replaced (pushed with a lease on it).
    pub lease: Option<String>,
    pub existing: Option<PullRequest>,
    pub mode: &'static str,
    pub files: adapter::RunFiles,
    pub invocation: adapter::Invocation,
    pub usd_cap: Option<f64>,
    /// Holds the prompt and the agent's notes, outside the checkout; removed on drop.
    pub work: tempfile::TempDir,
}

pub(in crate::agent) async fn prepare(
    forge: &dyn Forge,
    trigger: &Trigger,
    opts: &Options,
    allowed: &Authorized,
    report: &mut Report,
) -> Stage<Prepared> {
    let issue_number = allowed.issue.number;
    let branch = branch_for(issue_number);
    let existing = pr::find_open(forge, issue_number, &allowed.agents.bot.logins()).await?;
    let checkout = &opts.checkout;
    let default_branch = forge.default_branch().await?;
    let default_head = checkout.fetch(&default_branch)?;
    if trigger.mode == Mode::Revise && existing.is_none() {
        let why = format!("There is no open pull request for #{issue_number} to revise.");
        return Err(Stop::End(Outcome::NoChange, why));
    }
    let (start, lease) = starting_point(opts, allowed, trigger.mode, &branch, default_head)?;
    report.branch = Some(branch.clone());

    let work = tempfile::Builder::new().prefix("homeostat-agent-").tempdir().map_err(|e| Error::io("temp dir", e))?;
    let files =
        adapter::RunFiles { prompt_file: work.path().join("prompt.md"), summary_file: work.path().join("summary.md") };
    let mode = match trigger.mode {
        Mode::Fix => "fix",
        Mode::Revise => "revise",
    };
    let input = context::BundleInput {
        mode,
        issue: &allowed.issue,
        class: &allowed.class,
        branch: &branch,
        summary_file: &files.summary_file.to_string_lossy(),
        feedback: trigger.feedback.as_deref(),
        pr: existing.as_ref().map(|p| p.number),
        byte_budget: allowed.agents.context_bytes,
    };
    let bundle = context::build(&input, checkout, default_head, &allowed.policy, &opts.scrubber)?;
    let template = if trigger.mode == Mode::Revise { "agent-revise.md.j2" } else { "agent-fix.md.j2" };
    let prompt = opts.prompts.render(template, &bundle)?;
    std::fs::write(&files.prompt_file, &prompt).map_err(|e| Error::io(&files.prompt_file, e))?;

    let usd_cap = Some(allowed.agent_def.max_usd.map_or(allowed.usd_left, |cap| cap.min(allowed.usd_left)));
    let invocation = adapter::build(&allowed.agent_def, &files, issue_number, usd_cap)?;
    if opts.dry_run {
        // Running the agent spends money and edits the checkout: a dry run stops here.
        crate::gha::eprint_safe(&prompt);
        let line = std::iter::once(invocation.program.as_str()).chain(invocation.args.iter().map(String::as_str));
        return Err(Stop::DryRun(format!(
            "Dry run: would run agent `{}` as `{}` on `{branch}` from {} with the prompt above ({} bytes).",
            allowed.agent_name,
            line.collect::<Vec<_>>().join(" "),
            &start.to_string()[..12],
            prompt.len()
        )));
    }
    Ok(Prepared {
        branch,
        default_branch,
        default_head,
        start,
        lease,
        existing,
        mode,
        files,
        invocation,
        usd_cap,
        work,
    })
}

/// Where the agent starts: the default branch for a first fix; the bot's branch for a
/// revise; on a fix whose branch exists, the default branch again when only the bot
/// committed there (replacing its own work, with a lease), else that branch (someone
/// else pushed to it: build on it, never overwrite it).
fn starting_point(
    opts: &Options,
    allowed: &Authorized,
    mode: Mode,
    branch: &str,
    default_head: git2::Oid,
) -> Stage<(git2::Oid, Option<String>)> {
    let checkout = &opts.checkout;
    match (checkout.remote_head(branch)?, mode) {
        (None, Mode::Revise) => Err(Stop::End(
            Outcome::NoChange,
            format!("There is no branch `{branch}` to revise; label the issue `homeostat:fix` first."),
        )),
        (None, Mode::Fix) => Ok((default_head, None)),
        (Some(_), Mode::Revise) => Ok((checkout.fetch(branch)?, None)),
        (Some(sha), Mode::Fix) => {
            let head = checkout.fetch(branch)?;
            let base = checkout.merge_base(default_head, head)?;
            if checkout.only_bot_commits(base, head, &allowed.agents.bot)? {
                Ok((default_head, Some(sha)))
            } else {
                Ok((head, None))
            }
        }
    }
}
