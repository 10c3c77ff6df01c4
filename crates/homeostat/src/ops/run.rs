//! What `hs-ops` does per subcommand, so the binary only wires flags: loading config,
//! runbooks and ledger, reading alerts, printing and publishing results.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Alert, Model, Ops, OpsConfig, Outcome, runbook};
use crate::error::{Error, Position, Result};
use crate::forge::Forge;
use crate::gha::{Actions, Env};
use crate::ledger::Ledger;
use crate::output::OutputFormat;
use crate::settings::Config;

/// Everything a subcommand needs besides the forge.
pub struct Session {
    pub config: Config,
    pub ops: OpsConfig,
    pub ledger: Ledger,
    pub env: Env,
}

impl Session {
    /// Reads the `ops` section, over the run's ledger (the app context pulled its branch,
    /// so cooldowns and statistics see earlier runs).
    pub fn open(ctx: &crate::app::Context, ledger: Ledger) -> Self {
        // Without an `ops` section, the default runbook folder is the config's too.
        let ops = ctx.config.ops.clone().unwrap_or_else(|| {
            let default = crate::ops::OpsConfig::default();
            crate::ops::OpsConfig { sops: ctx.config.resolve(&default.sops), ..default }
        });
        Self { config: ctx.config.clone(), ops, ledger, env: ctx.env.clone() }
    }

    /// The runbook folder the config names (resolved against the config file's folder).
    pub fn sops_dir(&self) -> PathBuf {
        self.ops.sops.clone()
    }

    /// Built-in runbooks plus those in the configured folder.
    pub fn runbooks(&self) -> Result<Vec<runbook::Runbook>> {
        runbook::load(Some(&self.sops_dir()))
    }

    pub fn ops<'a>(&self, forge: &'a dyn Forge, model: Option<&'a dyn Model>) -> Result<Ops<'a>> {
        let mut ops = Ops::new(self.ops.clone(), self.runbooks()?, forge, self.ledger.clone(), self.env.clone())?;
        ops.model = model;
        Ok(ops)
    }
}

/// The result of `hs-ops lint`.
#[derive(Debug, Clone, Serialize)]
pub struct Lint {
    pub runbooks: usize,
    pub problems: Vec<String>,
}

/// Lints every runbook in `dir`.
pub fn lint(dir: &Path) -> Result<Lint> {
    let (runbooks, problems) = runbook::load_dir(dir)?;
    Ok(Lint { runbooks: runbooks.len(), problems: problems.iter().map(ToString::to_string).collect() })
}

/// Reads the alerts to handle: a file (`-` for stdin), an issue, or the Actions event
/// (`repository_dispatch` carries the alert in `client_payload`; `issues` the issue).
pub async fn read_alerts(file: Option<&Path>, issue: Option<u64>, forge: &dyn Forge, env: &Env) -> Result<Vec<Alert>> {
    if let Some(number) = issue {
        return Ok(vec![super::alert::from_issue(&forge.get_issue(number).await?)]);
    }
    if let Some(path) = file {
        let (name, text) = if path == Path::new("-") {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| Error::io("<stdin>", e))?;
            ("<stdin>".to_string(), text)
        } else {
            (path.display().to_string(), crate::error::read_to_string(path)?)
        };
        return Ok(super::alert::parse(&name, &text)?);
    }
    match (env.event_name(), env.event_payload()?) {
        (Some("repository_dispatch"), Some(payload)) => {
            let text = serde_json::to_string(&payload).unwrap_or_default();
            Ok(super::alert::parse("$GITHUB_EVENT_PATH", &text)?)
        }
        (Some("issues"), Some(payload)) => {
            let number = payload.pointer("/issue/number").and_then(serde_json::Value::as_u64).ok_or_else(|| {
                Error::input(Position::file("$GITHUB_EVENT_PATH"), "an issues event without issue.number")
            })?;
            Ok(vec![super::alert::from_issue(&forge.get_issue(number).await?)])
        }
        _ => Err(Error::input(Position::file("hs-ops handle"), "give --alert FILE or --issue N")),
    }
}

/// One line per outcome for people.
pub fn outcome_text(o: &Outcome) -> String {
    let conf = o.confidence.map_or(String::new(), |c| format!(" confidence {c:.0}"));
    let mut text = format!(
        "{} → {}: {}{conf} → {}\n  {}",
        if o.alertname.is_empty() { &o.alert } else { &o.alertname },
        o.sop.as_deref().unwrap_or("no runbook"),
        o.decision.as_str(),
        o.outcome,
        o.reason
    );
    for s in &o.steps {
        text.push_str(&format!("\n  {} {} {}: {}", if s.ok { "✓" } else { "✗" }, s.kind, s.name, s.detail));
    }
    if let Some(n) = o.issue {
        text.push_str(&format!("\n  issue #{n}"));
    }
    text
}

/// Step outputs (`decision`, `sop`, `outcome` of the last alert) and a summary table.
pub fn publish(actions: &Actions, outcomes: &[Outcome]) -> Result<()> {
    if let Some(last) = outcomes.last() {
        actions.set_output("decision", last.decision.as_str())?;
        actions.set_output("sop", last.sop.as_deref().unwrap_or(""))?;
        actions.set_output("outcome", &last.outcome)?;
    }
    let mut md = String::from(
        "### hs-ops\n\n| alert | runbook | confidence | decision | outcome |\n| --- | --- | ---: | --- | --- |\n",
    );
    for o in outcomes {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            crate::markers::escape_md(&o.alertname),
            o.sop.as_deref().map_or("–".into(), crate::markers::escape_md),
            o.confidence.map_or("–".into(), |c| format!("{c:.0}")),
            o.decision.as_str(),
            o.outcome
        ));
    }
    actions.append_summary(&md)
}

/// Where `hs-ops report` sends the markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportTarget {
    /// stdout (and the step summary in Actions).
    Summary,
    /// The one issue labelled `homeostat:ops-report`, updated in place.
    Issue,
    /// The Slack-compatible webhook named by `ops.webhook_env`.
    Webhook,
}

/// Sends the report; returns the issue number when it went to the issue.
pub async fn send_report(ops: &Ops<'_>, actions: &Actions, to: ReportTarget, markdown: &str) -> Result<Option<u64>> {
    actions.append_summary(markdown)?;
    match to {
        ReportTarget::Summary => Ok(None),
        ReportTarget::Issue => {
            // One issue kept up to date (as hs-report's living report), not a new one a day.
            let (issue, _) = crate::report::living::upsert_marked(
                ops.forge,
                "homeostat:ops-report",
                &crate::markers::Marker::tag(crate::markers::tag::OPS_REPORT),
                "Ops report (updated daily)",
                markdown,
                false,
            )
            .await?;
            Ok(Some(issue.number))
        }
        ReportTarget::Webhook => {
            if !ops.post_webhook(markdown).await? {
                return Err(Error::input(
                    Position::file("--to webhook"),
                    "needs ops.webhook_env naming a set variable",
                ));
            }
            Ok(None)
        }
    }
}

/// The subcommands of `hs-ops`.
#[derive(Debug, Clone)]
pub enum Job {
    /// Check every runbook in a folder (default: the config's ops.sops).
    Lint { dir: Option<PathBuf> },
    /// Handle an alert: Alertmanager v4 JSON, our alert JSON (`-` for stdin), or an issue;
    /// in Actions without either, the triggering event.
    Handle {
        /// Alert file: an Alertmanager v4 message, our alert JSON, or a repository_dispatch event; `-` reads stdin.
        alert: Option<PathBuf>,
        /// An issue whose title and body are the alert.
        issue: Option<u64>,
        /// Overrides ops.mode.
        mode: Option<super::Mode>,
    },
    /// Continue from a maintainer's `/approve` (or `/reject`) on approval issue N, or on
    /// every open approval issue without `--issue` (for a scheduled sweep).
    Approve {
        /// The approval issue (default: every open one).
        issue: Option<u64>,
    },
    /// Write the report of what happened since a time ago (e.g. 24h).
    Report {
        /// How far back the report looks.
        since: crate::settings::Duration,
        /// Where the markdown goes besides stdout and the step summary.
        to: ReportTarget,
    },
}

/// Runs one subcommand; returns the exit code (2 when lint finds problems).
pub async fn execute(
    session: &Session,
    open_forge: impl FnOnce() -> Result<Box<dyn Forge>>,
    format: OutputFormat,
    job: Job,
) -> Result<u8> {
    use crate::output::print_json;
    let print = |value: &dyn erased::Print, text: String| -> Result<()> {
        match format {
            OutputFormat::Text => println!("{}", crate::gha::log_safe(&text)),
            _ => value.print(format)?,
        }
        Ok(())
    };
    if let Job::Lint { dir } = &job {
        let dir = dir.clone().unwrap_or_else(|| session.sops_dir());
        let result = lint(&dir)?;
        let text = if result.problems.is_empty() {
            format!("{}: {} runbooks, no problems", dir.display(), result.runbooks)
        } else {
            result.problems.join("\n")
        };
        print(&result, text)?;
        return Ok(if result.problems.is_empty() { 0 } else { 2 });
    }
    let forge = open_forge()?;
    // A dry run spends nothing: no model calls (the most specific rule decides ties).
    let model = if forge.is_dry_run() { None } else { super::model_for(session)? };
    let ops = session.ops(forge.as_ref(), model.as_deref())?;
    let actions = Actions::new(&session.env);
    match job {
        Job::Lint { .. } => Ok(0),
        Job::Handle { alert, issue, mode } => {
            let alerts = read_alerts(alert.as_deref(), issue, forge.as_ref(), &session.env).await?;
            let mut outcomes = Vec::new();
            for a in &alerts {
                let o = ops.handle(a, mode).await?;
                print(&o, outcome_text(&o))?;
                outcomes.push(o);
            }
            publish(&actions, &outcomes)?;
            Ok(0)
        }
        Job::Approve { issue } => {
            let numbers = match issue {
                Some(n) => vec![n],
                None => ops.pending_approvals().await?,
            };
            let mut outcomes = Vec::new();
            for n in numbers {
                let o = ops.approve(n).await?;
                print(&o, outcome_text(&o))?;
                outcomes.push(o);
            }
            publish(&actions, &outcomes)?;
            Ok(0)
        }
        Job::Report { since, to } => {
            let span = jiff::SignedDuration::try_from(since.as_std()).map_err(|e| Error::Failed(e.to_string()))?;
            let since = session.ledger.now() - span;
            let prompts = crate::prompt::Prompts::builtin()?;
            let (summary, markdown) = ops.report(&prompts, since).await?;
            let issue = send_report(&ops, &actions, to, &markdown).await?;
            let json = serde_json::json!({"summary": summary, "markdown": markdown, "issue": issue});
            match format {
                OutputFormat::Text => println!("{}", crate::gha::log_safe(&markdown)),
                _ => print_json(format, &json).map_err(|e| Error::Failed(e.to_string()))?,
            }
            Ok(0)
        }
    }
}

mod erased {
    /// Printing any serializable value as JSON through a trait object.
    pub trait Print {
        fn print(&self, format: crate::output::OutputFormat) -> crate::Result<()>;
    }
    impl<T: serde::Serialize> Print for T {
        fn print(&self, format: crate::output::OutputFormat) -> crate::Result<()> {
            crate::output::print_json(format, self).map_err(|e| crate::Error::Failed(e.to_string()))
        }
    }
}
