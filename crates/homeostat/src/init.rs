//! `homeostat init`: puts homeostat into a repository — the example workflows, a
//! commented `.github/homeostat.yml`, the policy, the labels — and says which repository
//! settings a person still has to switch on. Also `homeostat dispatch`, the one hand-off
//! the workflows make with the job's token (events the token causes start no workflow,
//! except `workflow_dispatch` and `repository_dispatch`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Position, Result};
use crate::forge::Forge;

/// The example workflows, as shipped.
pub const WORKFLOWS: &[(&str, &str)] = &[
    ("report-errors.yml", include_str!("../../../examples/workflows/report-errors.yml")),
    ("triage.yml", include_str!("../../../examples/workflows/triage.yml")),
    ("agent-fix.yml", include_str!("../../../examples/workflows/agent-fix.yml")),
    ("agent-revise.yml", include_str!("../../../examples/workflows/agent-revise.yml")),
    ("guard.yml", include_str!("../../../examples/workflows/guard.yml")),
    ("auto-merge.yml", include_str!("../../../examples/workflows/auto-merge.yml")),
    ("canary.yml", include_str!("../../../examples/workflows/canary.yml")),
    ("ops.yml", include_str!("../../../examples/workflows/ops.yml")),
    ("content.yml", include_str!("../../../examples/workflows/content.yml")),
    ("cluster.yml", include_str!("../../../examples/workflows/cluster.yml")),
];
const CONFIG: &str = include_str!("../../../examples/homeostat.yml");
const POLICY: &str = include_str!("../../../policies/default.yml");
/// The placeholder the examples pin the action with.
pub const ACTION_PLACEHOLDER: &str = "homeostat/homeostat@0000000000000000000000000000000000000000";
/// The CI workflow name agent-revise listens for in the examples.
pub const CI_PLACEHOLDER: &str = "workflows: [CI]";

/// The settings `init` cannot make through the API with a workflow token.
pub const SETTINGS: &[&str] = &[
    "Settings → Actions → General → Workflow permissions: allow \"GitHub Actions to create and approve pull requests\" (hs-agent opens draft PRs with the workflow token).",
    "Settings → Actions → General → Workflow permissions: \"Read and write permissions\" is NOT needed: every job asks for the permissions it uses.",
    "Your CI workflow: add `workflow_dispatch:` to its `on:` — hs-agent's pushes start no workflow, so agent-fix.yml dispatches it (and guard.yml) on the bot's branch; set the repository variable HOMEOSTAT_CI_WORKFLOW to its file name when it is not ci.yml.",
    "Branch protection or a ruleset on the default branch: require the `guard` check (and your CI) — the merge gate reads them and merges only when they are green; it also works when none are required.",
    "Secrets: ANTHROPIC_API_KEY (or the key of the agent you route to) for agent-fix.yml and agent-revise.yml.",
    "Optional upgrade: a GitHub App token instead of the workflow token (README \"GitHub App token\") makes the bot's pushes start CI on their own; then add \"<app-slug>[bot]\" to agents.bot.logins.",
];

/// `homeostat`'s subcommands.
#[derive(Debug, Clone)]
pub enum Command {
    /// Write the workflows, .github/homeostat.yml and the policy; create the labels.
    Init {
        dir: PathBuf,
        /// OWNER/NAME@SHA the workflows pin (default: a placeholder to replace).
        action: Option<String>,
        /// The `name:` of your CI workflow (agent-revise follows its failures).
        ci_workflow: Option<String>,
        force: bool,
    },
    /// Start `--workflow FILE` on `--ref REF` with `--input key=value` (workflow_dispatch).
    Dispatch { workflow: String, git_ref: String, inputs: Vec<String> },
}

/// Runs one subcommand.
pub fn main(
    ctx: &crate::app::Context,
    command: Command,
    forge: &dyn Forge,
    format: crate::output::OutputFormat,
) -> crate::Result<()> {
    match command {
        Command::Init { dir, action, ci_workflow, force } => {
            let req = InitRequest { dir, action, ci_workflow, force };
            let report = ctx.block_on(run(forge, &req))?;
            crate::output::print_json(format, &report)?;
            eprintln!("homeostat init: still to do in the repository's settings:\n- {}", report.settings.join("\n- "));
        }
        Command::Dispatch { workflow, git_ref, inputs } => {
            let inputs = parse_inputs(&inputs)?;
            ctx.block_on(forge.workflow_dispatch(&workflow, &git_ref, &inputs))?;
            eprintln!("homeostat: dispatched {workflow} on {git_ref}");
        }
    }
    Ok(())
}

pub use homeostat_core::labels::{Label, labels};

/// What `init` should do.
#[derive(Debug, Clone)]
pub struct InitRequest {
    pub dir: PathBuf,
    /// `owner/name@<sha>` the workflows pin (else the placeholder stays, to be replaced).
    pub action: Option<String>,
    /// The `name:` of the repository's CI workflow (agent-revise listens for it).
    pub ci_workflow: Option<String>,
    /// Overwrite files that exist.
    pub force: bool,
}

/// What `init` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InitReport {
    pub written: Vec<String>,
    pub kept: Vec<String>,
    pub labels: Vec<String>,
    pub settings: Vec<String>,
}

/// The files `init` writes, with their text (pure).
pub fn files(req: &InitRequest) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (name, text) in WORKFLOWS {
        let mut text = text.to_string();
        if let Some(action) = &req.action {
            check_action_ref(action)?;
            text = text.replace(ACTION_PLACEHOLDER, action);
        }
        if let Some(ci) = &req.ci_workflow {
            // A YAML double-quoted string: the name cannot break out of the list.
            let quoted = serde_json::to_string(ci).map_err(|e| Error::Failed(e.to_string()))?;
            text = text.replace(CI_PLACEHOLDER, &format!("workflows: [{quoted}]"));
        }
        out.insert(format!(".github/workflows/{name}"), text);
    }
    out.insert(".github/homeostat.yml".into(), CONFIG.to_string());
    out.insert(".github/homeostat-policy.yml".into(), POLICY.to_string());
    Ok(out)
}

fn check_action_ref(action: &str) -> Result<()> {
    let ok = action.split_once('@').is_some_and(|(repo, rev)| {
        repo.split('/').count() == 2
            && repo.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            && !rev.is_empty()
            && rev.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    });
    if ok { Ok(()) } else { Err(Error::input(Position::file("--action"), format!("`{action}` is not OWNER/NAME@REF"))) }
}

/// Writes the files (keeping existing ones unless `force`), creates the labels.
pub async fn run(forge: &dyn Forge, req: &InitRequest) -> Result<InitReport> {
    let mut report = InitReport { settings: SETTINGS.iter().map(|s| (*s).to_string()).collect(), ..Default::default() };
    for (path, text) in files(req)? {
        let full = req.dir.join(&path);
        if full.exists() && !req.force {
            report.kept.push(path);
            continue;
        }
        write(&full, &text)?;
        report.written.push(path);
    }
    for label in labels()? {
        forge.ensure_label(&label.name, &label.color, &label.description).await?;
        report.labels.push(label.name);
    }
    Ok(report)
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// `homeostat dispatch --input k=v`: the inputs, refused when one is not `key=value`.
pub fn parse_inputs(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(Error::input(Position::file("--input"), format!("`{p}` is not key=value"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_template_parses_and_names_the_policy_it_writes() {
        let config = crate::settings::Config::parse("examples/homeostat.yml", CONFIG).unwrap();
        assert_eq!(config.policy.as_deref(), Some(Path::new(".github/homeostat-policy.yml")));
        crate::policy::Policy::parse("policy", POLICY).unwrap();
        assert!(labels().unwrap().iter().any(|l| l.name == crate::agent::pr::AI_LABEL));
    }

    #[test]
    fn the_action_and_ci_name_are_filled_in_and_checked() {
        let req = InitRequest {
            dir: PathBuf::from("."),
            action: Some("homeostat/homeostat@0123abcd".into()),
            ci_workflow: Some("Build & test".into()),
            force: false,
        };
        let files = files(&req).unwrap();
        let revise = &files[".github/workflows/agent-revise.yml"];
        assert!(revise.contains(r#"workflows: ["Build & test"]"#), "{revise}");
        assert!(files.values().all(|t| !t.contains(ACTION_PLACEHOLDER)));
        let bad = InitRequest { action: Some("x; rm -rf /@v1".into()), ..req };
        assert!(matches!(super::files(&bad), Err(Error::Input(_))));
    }

    #[test]
    fn inputs_must_be_key_value() {
        assert_eq!(parse_inputs(&["pr=3".into()]).unwrap()["pr"], "3");
        assert!(parse_inputs(&["pr".into()]).is_err());
    }
}
