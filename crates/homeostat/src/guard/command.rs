//! hs-guard's command line, kept in the library so the binary only wires it: judge a
//! change (`--base/--head`), or judge a pull request for merging (`--merge-gate N`).
//!
//! Whose config is read: an explicit `--config`/`--policy`/`$HOMEOSTAT_CONFIG` wins; else
//! the config and policy committed at `--base` (the trusted side), never the working tree,
//! which in a pull request's job is the pull request's own.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{Decision, RequiredFor, merge, report, run, trusted};
use crate::gha;
use crate::output;
use crate::policy::Policy;
use crate::settings::Config;

/// What hs-guard was asked.
#[derive(Debug, Clone)]
pub struct Options {
    /// The trusted side of the change (its config and policy are the ones applied).
    pub base: Option<String>,
    pub head: String,
    pub repo_dir: PathBuf,
    /// Policy file (else the config's `policy:`, else the built-in default).
    pub policy: Option<PathBuf>,
    /// Exit 3 when the verdict is at or past this (for people's pull requests only when
    /// `guard.required_for: everyone`).
    pub fail_on: Option<Decision>,
    /// Comment on and label the pull request (`--pr N`, in Actions the event's); needs a write token.
    pub comment: bool,
    pub pr: Option<u64>,
    /// Do not run the external checks (for a privileged job that must not run the change's code).
    pub skip_external: bool,
    /// Judge pull request N (or `all` open `homeostat/fix-*` ones) for merging: homeostat's
    /// own PR, its error class, the guard with the default branch's config and policy,
    /// the required checks.
    pub merge_gate: Option<merge::Target>,
    /// With --merge-gate: merge when every condition holds.
    pub merge: bool,
    /// `--config`: an explicit homeostat.yml (else the one committed at the base).
    pub config: Option<PathBuf>,
    pub forge: crate::app::ForgeChoice,
    pub format: crate::output::OutputFormat,
}

/// Runs hs-guard.
pub fn main(args: Options) -> crate::Result<ExitCode> {
    // The context holds no working-tree config: a pull request's own homeostat.yml must not
    // steer its judge. The config is read from the base (or given explicitly) below.
    let ctx = crate::app::Context::new(gha::Env::from_process(), Config::default())?;
    let env = &ctx.env;
    if let Some(target) = args.merge_gate {
        let forge = ctx.open_forge(&args.forge)?;
        // Only a gate that may merge writes the ledger; a judging-only run syncs nothing.
        let session = (args.merge && !args.forge.dry_run).then(|| ctx.ledger(&args.repo_dir));
        let reports = ctx.block_on(merge::run_gates(forge.as_ref(), env, &args.repo_dir, target, args.merge))?;
        if let Some(session) = &session {
            merge::record_merges(&session.ledger, &reports)?;
            ctx.finish_ledger(session);
        }
        for r in &reports {
            eprintln!(
                "hs-guard merge gate #{}: merge={} {}",
                r.decision.pr,
                r.decision.merge,
                r.decision.refusals.join("; ")
            );
        }
        output::print_json(args.format, &reports)?;
        merge::write_actions(&ctx.actions(), &reports)?;
        return Ok(ExitCode::SUCCESS);
    }
    let base = args.base.as_deref().unwrap_or("HEAD");
    let (config, policy) = load(&args, env, base)?;
    let req = run::Request { repo_dir: &args.repo_dir, base, head: &args.head, skip_external: args.skip_external };
    let (verdict, out) = run::gate(&req, &policy, &config, args.format)?;
    print!("{out}");
    report::write_actions(&ctx.actions(), &verdict)?;
    if let Some(pr) = args.comment.then(|| run::pr_number(env, args.pr)).transpose()?.flatten() {
        let forge = ctx.open_forge(&args.forge)?;
        ctx.block_on(report::publish(forge.as_ref(), pr, &verdict))?;
    }
    let required_for = config.guard.as_ref().map(|g| g.required_for).unwrap_or_default();
    if let Some(author) = people_pr_author(env, &config, required_for)? {
        eprintln!(
            "hs-guard: the pull request is by `{author}`, not homeostat: verdict reported, not enforced (guard.required_for: bots)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    run::gate_error(&verdict, args.fail_on).map_or(Ok(ExitCode::SUCCESS), Err)
}

/// The config and policy to judge with: explicit ones, else those committed at `base`.
fn load(args: &Options, env: &gha::Env, base: &str) -> crate::Result<(Config, Policy)> {
    let explicit = args.config.is_some() || env.get(gha::vars::HOMEOSTAT_CONFIG).is_some();
    if explicit || args.policy.is_some() {
        let config = Config::discover(args.config.as_deref(), env)?;
        let policy = crate::policy::from_config(&config, args.policy.as_deref())?;
        return Ok((config, policy));
    }
    let repo = crate::diff::open(&args.repo_dir)?;
    let t = trusted::load_at(&repo, base)?;
    Ok((t.config, t.policy))
}

/// In a `pull_request` run with `guard.required_for: bots`, the author of a PR that is not
/// homeostat's (its verdict is then advice, not a failed check).
fn people_pr_author(env: &gha::Env, config: &Config, required_for: RequiredFor) -> crate::Result<Option<String>> {
    if required_for == RequiredFor::Everyone {
        return Ok(None);
    }
    let Some(payload) = env.event_payload()? else { return Ok(None) };
    let Some(author) = payload.pointer("/pull_request/user/login").and_then(|v| v.as_str()) else { return Ok(None) };
    let bots = config.agents.clone().unwrap_or_default().bot.logins();
    let head = payload.pointer("/pull_request/head/ref").and_then(|v| v.as_str()).unwrap_or_default();
    let ours = bots.iter().any(|b| b.eq_ignore_ascii_case(author)) && head.starts_with(super::gate::FIX_BRANCH_PREFIX);
    Ok((!ours).then(|| author.to_string()))
}
