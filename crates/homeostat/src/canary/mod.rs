//! The canary watch (hs-canary): metric sources ([`source`]), the Argo-style measurement
//! loop ([`watch`]), the final Kayenta-style comparison ([`judge`], pure), what happens on
//! rollback or promote ([`action`]) and the step summary's charts ([`chart`]).

pub mod action;
pub mod chart;
pub mod command;
pub mod measure;
pub use crate::settings::canary as config;
pub use homeostat_core::canary::{judge, stats};
pub mod source;
pub mod watch;

pub use config::{ActionConfig, CanaryConfig, CommandLine, MetricConfig, SourceConfig};
pub use watch::{Decision, Report};

use crate::error::{Error, Position, Result};
use crate::gha::vars;
use crate::settings::Config;

/// The `canary` section of `config`, checked beyond what serde checks. Problems name the
/// config file and the line and column of the offending key.
pub fn section(config: &Config) -> Result<&CanaryConfig> {
    let Some(canary) = config.canary.as_ref() else {
        return Err(Error::input(Position::file(config.file()), "no `canary:` section"));
    };
    validate(canary)
        .map_err(|(key, message)| Error::input(config.at(&format!("canary.{key}")), format!("canary: {message}")))?;
    Ok(canary)
}

/// Checks what the types cannot say; on a problem returns (the key's path under
/// `canary`, e.g. `metrics[1].name`, message).
pub fn validate(c: &CanaryConfig) -> std::result::Result<(), (String, String)> {
    let err = |key: &str, msg: String| Err((key.to_string(), msg));
    if c.metrics.is_empty() {
        return err("metrics", "`metrics` needs at least one metric".into());
    }
    if c.count == 0 {
        return err("count", "`count` must be at least 1".into());
    }
    if !(c.judge.confidence > 0.5 && c.judge.confidence < 0.999_999) {
        return err(
            "judge.confidence",
            format!("judge.confidence {} must be between 0.5 and 0.999999", c.judge.confidence),
        );
    }
    if !(c.judge.tolerance >= 0.0 && c.judge.tolerance.is_finite()) {
        return err("judge.tolerance", "judge.tolerance must be a number ≥ 0".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, m) in c.metrics.iter().enumerate() {
        let key = format!("metrics[{i}].name");
        if m.name.trim().is_empty() {
            return err(&key, "a metric needs a name".into());
        }
        if !seen.insert(m.name.as_str()) {
            return err(&key, format!("metric `{}` is defined twice", m.name));
        }
        validate_metric(m).map_err(|(k, message)| (k.map_or(key, |k| format!("metrics[{i}].{k}")), message))?;
    }
    for (key, action) in [("on_rollback", &c.on_rollback), ("on_promote", &c.on_promote)] {
        if let Some(a) = action {
            match (&a.run, &a.revert) {
                (Some(_), Some(_)) => return err(key, format!("{key} takes `run` or `revert`, not both")),
                (None, None) => return err(key, format!("{key} needs `run` or `revert`")),
                (Some(CommandLine::Args(args)), None) if args.is_empty() => {
                    return err(&format!("{key}.run"), "an empty command".into());
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// One metric's bounds; on a problem, (the key under the metric, None for its name; message).
fn validate_metric(m: &MetricConfig) -> std::result::Result<(), (Option<&'static str>, String)> {
    if (m.max_increase.is_some() || m.max_decrease.is_some()) && m.baseline.is_none() {
        return Err((None, format!("metric `{}`: max_increase/max_decrease need a `baseline` source", m.name)));
    }
    for (k, v) in [("max_increase", m.max_increase), ("max_decrease", m.max_decrease)] {
        if v.is_some_and(|v| !(v >= 0.0 && v.is_finite())) {
            return Err((Some(k), format!("metric `{}`: {k} must be a number ≥ 0", m.name)));
        }
    }
    if let (Some(min), Some(max)) = (m.min, m.max)
        && min > max
    {
        return Err((None, format!("metric `{}`: min {min} is above max {max}", m.name)));
    }
    if m.max.is_none()
        && m.min.is_none()
        && m.max_increase.is_none()
        && m.max_decrease.is_none()
        && m.baseline.is_none()
    {
        return Err((
            None,
            format!("metric `{}` has no bound (max, min, max_increase, max_decrease) and no baseline", m.name),
        ));
    }
    Ok(())
}

/// `--fail-on`: which decisions make the binary exit 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Exit 3 on rollback.
    Rollback,
    /// Exit 3 on rollback or inconclusive (anything but promote).
    Inconclusive,
}

/// How a run is carried out, beyond the config.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where the JSON report and the SVG charts go.
    pub out_dir: std::path::PathBuf,
    /// The checkout: commands run here, reverts are built here.
    pub repo_dir: std::path::PathBuf,
    /// `--revert REV`: on rollback, open a revert PR for REV (replaces `on_rollback`).
    pub revert: Option<String>,
    /// `--issue N`: the issue the reverted change fixed.
    pub issue: Option<u64>,
    pub dry_run: bool,
    /// Wait `interval` between measurements (false in tests: replays as fast as they read).
    pub wait: bool,
}

/// The run's result: the report, what the action did, the chart files.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    #[serde(flatten)]
    pub report: Report,
    pub actions: Vec<action::ActionOutcome>,
    pub charts: Vec<String>,
}

impl Outcome {
    /// Ok, or the error the binary exits with: 1 when an action failed, 3 when the
    /// decision is one `fail_on` names.
    pub fn verdict(&self, fail_on: Option<FailOn>) -> Result<()> {
        if let Some(a) = self.actions.iter().find(|a| !a.ok) {
            return Err(Error::Failed(format!("{} failed: {}", a.on, a.detail)));
        }
        let gate = match (fail_on, self.report.decision) {
            (Some(FailOn::Rollback), Decision::Rollback) => true,
            (Some(FailOn::Inconclusive), d) => d != Decision::Promote,
            _ => false,
        };
        if gate {
            return Err(Error::Gate(format!("canary {}: {}", self.report.decision.as_str(), self.report.reason)));
        }
        Ok(())
    }
}

/// The actions in force: the config's, with `--revert`/`--issue` replacing `on_rollback`.
pub fn effective_actions(canary: &CanaryConfig, opts: &RunOptions) -> (Option<ActionConfig>, Option<ActionConfig>) {
    let mut rollback = canary.on_rollback.clone();
    if let Some(rev) = &opts.revert {
        rollback = Some(ActionConfig { revert: Some(rev.clone()), ..rollback.unwrap_or_default() });
        if let Some(a) = rollback.as_mut() {
            a.run = None;
        }
    }
    if let (Some(n), Some(a)) = (opts.issue, rollback.as_mut()) {
        a.issue = Some(n);
    }
    (rollback, canary.on_promote.clone())
}

/// True when a forge is needed (a revert PR may be opened).
pub fn needs_forge(canary: &CanaryConfig, opts: &RunOptions) -> bool {
    let (rollback, promote) = effective_actions(canary, opts);
    [rollback, promote].iter().flatten().any(|a| a.revert.is_some())
}

/// Watches the canary to a decision, writes the report and charts, runs the action, and
/// reports to the Actions runner (outputs `decision`, `reason`; the step summary).
pub async fn run(
    config: &Config,
    opts: &RunOptions,
    forge: Option<&dyn crate::forge::Forge>,
    env: &crate::gha::Env,
    gha: &crate::gha::Actions,
    ledger: &crate::ledger::Ledger,
) -> Result<Outcome> {
    let canary = section(config)?;
    // `file` sources were resolved against the config file's folder when it was read.
    let at = |key: &str| config.at(&format!("canary.{key}"));
    let sources = watch::Sources::open(canary, std::path::Path::new(""), at, env)?;
    for secret in &sources.secrets {
        gha.mask(secret);
    }
    let report = watch::watch(canary, &sources, opts.wait).await;
    tracing::info!(decision = report.decision.as_str(), reason = %report.reason, "canary decided");
    if !opts.dry_run {
        // The daily ops report counts rollbacks from here; the run id lets a notice link the
        // run that decided (a number, as GitHub gives it; anything else is left out).
        let run_id = env.get(crate::gha::vars::GITHUB_RUN_ID).and_then(|id| id.parse::<u64>().ok());
        ledger.append(
            crate::ledger::kinds::CANARY_DECISION,
            report.decision.as_str(),
            serde_json::json!({"decision": report.decision.as_str(), "reason": report.reason, "run_id": run_id}),
        )?;
    }

    let mut charts = Vec::new();
    let report_file = opts.out_dir.join("report.json");
    for s in chart::series(&report) {
        let path = opts.out_dir.join(chart::file_name(&s.name));
        crate::files::write_whole(&path, chart::svg(&s).as_bytes())?;
        charts.push(path.display().to_string());
    }
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Failed(e.to_string()))?;
    crate::files::write_whole(&report_file, json.as_bytes())?;

    let (rollback, promote) = effective_actions(canary, opts);
    let ctx = action::ActionContext {
        repo_dir: &opts.repo_dir,
        forge,
        report_file: Some(&report_file),
        dry_run: opts.dry_run,
    };
    let mut actions = Vec::new();
    match action::act(rollback.as_ref(), promote.as_ref(), &report, &ctx).await {
        Ok(Some(a)) => actions.push(a),
        Ok(None) => {}
        Err(e) => actions.push(action::ActionOutcome {
            kind: if report.decision == Decision::Rollback && rollback.as_ref().is_some_and(|a| a.revert.is_some()) {
                "revert"
            } else {
                "run"
            },
            on: if report.decision == Decision::Rollback { "on_rollback" } else { "on_promote" },
            ok: false,
            detail: e.to_string(),
            exit_code: None,
            branch: None,
            pr: None,
            issue: None,
        }),
    }
    gha.set_output("decision", report.decision.as_str())?;
    gha.set_output("reason", &report.reason)?;
    let run_url =
        match (env.get(vars::GITHUB_SERVER_URL), env.get(vars::GITHUB_REPOSITORY), env.get(vars::GITHUB_RUN_ID)) {
            (Some(server), Some(repo), Some(run)) => Some(format!("{server}/{repo}/actions/runs/{run}#artifacts")),
            _ => None,
        };
    gha.append_summary(&chart::summary(&report, &charts, &actions, run_url.as_deref()))?;
    let outcome = Outcome { report, actions, charts };
    let json = serde_json::to_string(&outcome).map_err(|e| Error::Failed(e.to_string()))?;
    gha.set_output("result", &json)?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tmp", e))?;
        let path = dir.path().join("homeostat.yml");
        std::fs::write(&path, yaml).map_err(|e| Error::io(&path, e))?;
        section(&Config::load(&path)?).map(|_| ())
    }

    const METRIC: &str = "  metrics:\n    - name: errors\n      canary: {file: {path: c.json}}\n      max: 0.1\n";

    #[test]
    fn a_bad_source_names_its_key() {
        let text = "canary:\n  metrics:\n    - name: errors\n      canary: {http: {url: 'http://x', pointer: /a}}\n\
                    \x20     baseline: {http: {url: 'http://x', pointer: data}}\n      max_increase: 1\n";
        let config = Config::parse("h.yml", text).unwrap();
        let canary = section(&config).unwrap();
        let at = |key: &str| config.at(&format!("canary.{key}"));
        let err = watch::Sources::open(canary, std::path::Path::new(""), at, &Default::default()).err().unwrap();
        assert!(err.to_string().starts_with("h.yml:5:7: pointer `data` must start with `/`"), "{err}");
    }

    #[test]
    fn semantic_errors_name_the_line_of_the_key() {
        let err = load(&format!("canary:\n  judge: {{confidence: 1.5}}\n{METRIC}")).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("homeostat.yml:2:") && err.to_string().contains("confidence"), "{err}");

        let twice =
            format!("canary:\n{METRIC}    - name: errors\n      canary: {{file: {{path: c.json}}}}\n      max: 1\n");
        let err = load(&twice).unwrap_err().to_string();
        // The second `name: errors`, not the first one a text search would find.
        assert!(err.contains("homeostat.yml:6:7:") && err.contains("defined twice"), "{err}");

        let both = format!("canary:\n{METRIC}  on_rollback: {{run: x.sh, revert: HEAD}}\n");
        let err = load(&both).unwrap_err().to_string();
        assert!(err.contains("homeostat.yml:6:3:") && err.contains("not both"), "{err}");

        let unbounded = "canary:\n  metrics:\n    - name: errors\n      canary: {file: {path: c.json}}\n";
        assert!(load(unbounded).unwrap_err().to_string().contains("has no bound"));
        assert!(load("canary:\n  count: 0\n  metrics: []\n").is_err());
        assert!(load(&format!("canary:\n{METRIC}")).is_ok());
    }

    #[test]
    fn fail_on_gates_and_failed_actions_fail() {
        let report =
            Report { decision: Decision::Inconclusive, reason: "r".into(), measurements: vec![], judge: vec![] };
        let mut outcome = Outcome { report, actions: vec![], charts: vec![] };
        assert!(outcome.verdict(None).is_ok());
        assert!(outcome.verdict(Some(FailOn::Rollback)).is_ok());
        assert_eq!(outcome.verdict(Some(FailOn::Inconclusive)).unwrap_err().exit_code(), 3);
        outcome.report.decision = Decision::Promote;
        assert!(outcome.verdict(Some(FailOn::Inconclusive)).is_ok());
        outcome.report.decision = Decision::Rollback;
        assert_eq!(outcome.verdict(Some(FailOn::Rollback)).unwrap_err().exit_code(), 3);
        outcome.actions.push(action::ActionOutcome {
            kind: "run",
            on: "on_rollback",
            ok: false,
            detail: "x".into(),
            exit_code: Some(1),
            branch: None,
            pr: None,
            issue: None,
        });
        assert_eq!(outcome.verdict(None).unwrap_err().exit_code(), 1);
    }
}
