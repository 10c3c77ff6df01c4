//! hs-guard's I/O side: opens the repository, builds the change set, runs the external
//! checks, and hands everything to the pure [`super::judge`].

use std::path::Path;

use super::{GuardConfig, SecretFinder, Verdict};
use crate::error::Result;
use crate::policy::Policy;

/// What to judge and how.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub repo_dir: &'a Path,
    pub base: &'a str,
    pub head: &'a str,
    /// Leave the external checks out (a privileged job that must not run the change's code).
    pub skip_external: bool,
}

/// Judges `base...head` in `repo_dir`.
pub fn evaluate(
    req: &Request<'_>,
    policy: &Policy,
    config: &GuardConfig,
    secrets: &dyn SecretFinder,
) -> Result<Verdict> {
    let started = std::time::Instant::now();
    let repo = crate::diff::open(req.repo_dir)?;
    let change = crate::diff::change_set(&repo, req.base, req.head)?;
    let diffed = started.elapsed();
    let external = if req.skip_external {
        Vec::new()
    } else {
        let dir = repo.workdir().unwrap_or(req.repo_dir);
        super::external::run(config, &repo, dir, &change)?
    };
    let ran = started.elapsed();
    let verdict = super::judge(&change, policy, &external, secrets);
    tracing::debug!(
        files = change.files.len(),
        diff_ms = diffed.as_secs_f64() * 1e3,
        external_ms = (ran - diffed).as_secs_f64() * 1e3,
        judge_ms = (started.elapsed() - ran).as_secs_f64() * 1e3,
        "guard timings"
    );
    Ok(verdict)
}

/// Runs the guard for hs-guard (with the config's scrub rules and external checks) and
/// renders its output.
pub fn gate(
    req: &Request<'_>,
    policy: &Policy,
    config: &crate::settings::Config,
    format: crate::output::OutputFormat,
) -> Result<(Verdict, String)> {
    let scrubber = crate::scrub::config_scrubber(config)?;
    if !req.skip_external {
        super::external::check(config)?;
    }
    let verdict = evaluate(req, policy, &config.guard.clone().unwrap_or_default(), &scrubber)?;
    let out = crate::triage::render(format, &verdict, || super::report::text(&verdict))?;
    Ok((verdict, out))
}

/// The exit decision for `--fail-on`.
pub fn gate_error(verdict: &Verdict, fail_on: Option<super::Decision>) -> Option<crate::Error> {
    let limit = fail_on?;
    (verdict.verdict >= limit).then(|| {
        crate::Error::Gate(format!(
            "guard verdict {} is at or past --fail-on {}",
            verdict.verdict.as_str(),
            limit.as_str()
        ))
    })
}

/// The pull request to comment on: `--pr N`, else the triggering event's.
pub fn pr_number(env: &crate::gha::Env, explicit: Option<u64>) -> Result<Option<u64>> {
    if explicit.is_some() {
        return Ok(explicit);
    }
    let payload = env.event_payload()?;
    Ok(payload.and_then(|p| p.pointer("/pull_request/number").and_then(serde_json::Value::as_u64)))
}
