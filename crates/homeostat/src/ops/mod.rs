//! Runbooks (SOPs): an alert is matched to a runbook ([`matcher`]), diagnosed, decided
//! on ([`decide`], pure), repaired with typed, allowlisted operations ([`executor`]),
//! verified ([`verify`]), escalated when the fix does not hold, and remembered in the
//! ledger, from which the daily [`report`] and the runbooks' success rates come.
//!
//! Flow of [`Ops::handle`]: match → (model tie-break) → diagnosis → confidence →
//! decision → auto-fix (fix, verify, up to `escalate.after_attempts` times, then
//! escalate) | approval issue | escalation | diagnosis only. [`Ops::approve`] continues
//! from a maintainer's `/approve` comment on the approval issue.

pub mod alert;
pub use homeostat_core::ops::{decide, matcher, vars};
pub mod executor;
pub mod report;
pub mod run;
pub mod runbook;
pub mod verify;

use async_trait::async_trait;
use serde::Serialize;

pub use alert::Alert;
pub use decide::{Decision, Mode};
pub use executor::StepResult;
pub use runbook::Runbook;

use crate::error::{Error, Position, Result};
use crate::forge::{Forge, IssueUpdate, State};
use crate::ledger::Ledger;
use crate::markers::{self, Marker, escape_md, tag};
use executor::{Executor, OPS_LABEL};
use matcher::Candidate;

pub use crate::settings::ops::OpsConfig;

/// A model that answers a prompt template with JSON checked against a schema
/// (implemented by `crate::llm::Llm`; tests may bring their own).
#[async_trait]
pub trait Model: Send + Sync {
    async fn ask_json(
        &self,
        template: &str,
        context: &serde_json::Value,
        schema: &serde_json::Value,
    ) -> Result<serde_json::Value>;
}

/// What handling one alert did: the output of `hs-ops handle`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub sop: Option<String>,
    pub confidence: Option<f64>,
    pub decision: Decision,
    pub steps: Vec<StepResult>,
    pub reason: String,
    /// `resolved`, `failed`, `escalated`, `awaiting-approval`, `diagnosed`, `no-match`, `ignored`.
    pub outcome: String,
    pub alert: String,
    pub alertname: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
    /// The approval or escalation issue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<u64>,
}

/// hs-ops: the runbooks and everything they act through.
pub struct Ops<'a> {
    pub config: OpsConfig,
    pub runbooks: Vec<Runbook>,
    pub forge: &'a dyn Forge,
    pub ledger: Ledger,
    pub model: Option<&'a dyn Model>,
    pub env: crate::gha::Env,
    pub http: crate::http::Client,
    /// `--dry-run`: diagnose, decide and show the fix, but call nothing that changes
    /// anything and write nothing to the ledger.
    pub dry_run: bool,
}

pub const APPROVAL_LABEL: &str = "homeostat:ops-approval";

/// The alert, kept in the approval issue's trailer so `approve` can continue.
/// The client for runbook operations, checks and the webhook: each request sent once (a
/// runbook repeats a check on its own schedule, and an operation may not be safe to
/// repeat) and never redirected, so an allowed host cannot send it elsewhere.
pub(crate) fn http_client() -> Result<crate::http::Client> {
    let options = crate::http::ClientOptions::default().no_redirects().retry(crate::http::RetryPolicy::once());
    crate::http::client(options).map_err(Error::Failed)
}

fn alert_marker(alert: &Alert) -> Marker {
    // Title and description are scrubbed like everything posted; labels stay as they are,
    // since placeholders (`${labels.instance}`) read them when the fix runs.
    let scrubber = crate::scrub::Scrubber::builtin();
    let mut alert = alert.clone();
    let clean = |text: &str| scrubber.scrub(&crate::prompt::strip_hidden(text)).into_owned();
    alert.title = clean(&alert.title);
    alert.description = clean(&alert.description);
    for value in alert.annotations.values_mut() {
        *value = clean(value);
    }
    Marker::OpsAlert(serde_json::to_value(&alert).unwrap_or_default())
}

fn schema_match() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "required": ["sop", "reason"],
        "properties": {"sop": {"type": ["string", "null"]}, "reason": {"type": "string"}}
    })
}

impl<'a> Ops<'a> {
    pub fn new(
        config: OpsConfig,
        runbooks: Vec<Runbook>,
        forge: &'a dyn Forge,
        ledger: Ledger,
        env: crate::gha::Env,
    ) -> Result<Self> {
        let http = http_client()?;
        Ok(Self { config, runbooks, forge, ledger, model: None, env, http, dry_run: forge.is_dry_run() })
    }

    fn runbook(&self, name: &str) -> Option<&Runbook> {
        self.runbooks.iter().find(|r| r.name == name)
    }

    fn executor(&self, runbook: &Runbook, alert: &Alert) -> Executor<'a> {
        let names = executor::placeholders(runbook);
        Executor {
            forge: self.forge,
            allow_hosts: self.config.allow_hosts.clone(),
            commands: self.config.commands.iter().map(runbook::CommandLine::argv).collect(),
            command_env: ["PATH", "HOME", "LANG", "TMPDIR"]
                .iter()
                .map(|s| s.to_string())
                .chain(self.config.command_env.iter().cloned())
                .filter_map(|name| self.env.get(&name).map(|v| (name, v.to_string())))
                .collect(),
            vars: executor::vars_for(alert, &self.config.vars, &self.env, &names),
            http: self.http.clone(),
            dry_run: self.dry_run,
        }
    }

    /// Appends to the ledger, except in a dry run.
    fn append(&self, kind: &str, key: &str, data: serde_json::Value) -> Result<()> {
        if self.dry_run {
            crate::gha::eprint_safe(
                &serde_json::json!({"dry_run": "ledger", "kind": kind, "key": key, "write": data}).to_string(),
            );
            return Ok(());
        }
        self.ledger.append(kind, key, data)?;
        Ok(())
    }

    fn record_step(&self, sop: &str, alert: &Alert, attempt: u32, step: &StepResult) -> Result<()> {
        self.append(
            decide::STEP,
            sop,
            serde_json::json!({"alert": alert.fingerprint, "phase": step.kind, "name": step.name,
                               "ok": step.ok, "detail": step.detail, "attempt": attempt}),
        )?;
        Ok(())
    }

    /// Handles one alert with `mode` (else the config's).
    pub async fn handle(&self, alert: &Alert, mode: Option<Mode>) -> Result<Outcome> {
        let mode = mode.unwrap_or(self.config.mode);
        let mut out = Outcome {
            sop: None,
            confidence: None,
            decision: Decision::NoMatch,
            steps: Vec::new(),
            reason: String::new(),
            outcome: "no-match".into(),
            alert: alert.fingerprint.clone(),
            alertname: alert.alertname.clone(),
            candidates: Vec::new(),
            issue: None,
        };
        if !alert.firing() {
            out.decision = Decision::DiagnoseOnly;
            out.outcome = "ignored".into();
            out.reason = "the alert is resolved: nothing to do".into();
            return Ok(out);
        }
        let candidates = matcher::candidates(&self.runbooks, alert);
        out.candidates = candidates.iter().map(|c| c.sop.clone()).collect();
        let Some((chosen, why)) = self.choose(alert, &candidates).await else {
            out.reason = "no runbook's trigger matches this alert".into();
            self.record_run(&out, alert, false, 0, None, None)?;
            return Ok(out);
        };
        let runbook =
            self.runbook(&chosen.sop).ok_or_else(|| Error::Failed(format!("runbook {} vanished", chosen.sop)))?;
        out.sop = Some(runbook.name.clone());
        let started = self.ledger.now();
        let executor = self.executor(runbook, alert);

        let diagnosis = verify::diagnose(&executor, runbook).await;
        for s in &diagnosis {
            self.record_step(&runbook.name, alert, 0, s)?;
        }
        let entries = self.ledger.entries()?;
        let stats = decide::stats(&entries, &runbook.name);
        let env_problem = executor.environment_problem(runbook);
        let oks: Vec<bool> = diagnosis.iter().map(|s| s.ok).collect();
        let confidence = decide::confidence(&stats, &oks, chosen.trigger_match, env_problem.is_none());
        out.confidence = Some(confidence.total);
        out.steps = diagnosis;
        let mut verdict = decide::decide(runbook, mode, confidence.total, &entries, self.ledger.now());
        if verdict.decision == Decision::AutoFix && env_problem.is_some() {
            // A fix that is known not to be runnable here is not tried: a person looks.
            verdict = decide::Verdict { decision: Decision::Escalate, reason: "the fix cannot run here".into() };
        }
        out.decision = verdict.decision;
        out.reason = format!("{why}; {}", verdict.reason);
        if let Some(p) = &env_problem {
            out.reason.push_str(&format!("; environment: {p}"));
        }
        let mut acted = false;
        let mut attempts = 0;
        let mut seconds = None;
        match verdict.decision {
            Decision::AutoFix => {
                let run = self.fix_and_verify(runbook, alert, &executor).await?;
                acted = true;
                attempts = run.attempts;
                out.steps.extend(run.steps);
                if self.dry_run {
                    out.outcome = "dry-run".into();
                } else if run.resolved {
                    out.outcome = "resolved".into();
                    seconds = Some(self.ledger.now().duration_since(started).as_secs_f64());
                } else {
                    out.outcome = "escalated".into();
                    out.reason.push_str(&format!("; the fix did not hold after {} attempts", run.attempts));
                    out.issue = self.escalate(runbook, alert, &out).await?;
                }
            }
            Decision::AwaitApproval => {
                out.outcome = "awaiting-approval".into();
                out.issue = Some(self.ask_approval(runbook, alert, &out).await?);
            }
            Decision::Escalate => {
                out.outcome = "escalated".into();
                out.issue = self.escalate(runbook, alert, &out).await?;
            }
            Decision::DiagnoseOnly | Decision::NoMatch => out.outcome = "diagnosed".into(),
        }
        self.record_run(&out, alert, acted, attempts, seconds, None)?;
        Ok(out)
    }

    fn record_run(
        &self,
        out: &Outcome,
        alert: &Alert,
        acted: bool,
        attempts: u32,
        seconds: Option<f64>,
        approved_by: Option<&str>,
    ) -> Result<()> {
        let mut data = serde_json::json!({
            "alert": alert.fingerprint, "alertname": alert.alertname, "decision": out.decision.as_str(),
            "confidence": out.confidence, "outcome": out.outcome, "acted": acted, "attempts": attempts,
            "reason": out.reason, "issue": out.issue,
        });
        if let Some(s) = seconds {
            data["seconds"] = serde_json::json!((s * 1000.0).round() / 1000.0);
        }
        if let Some(who) = approved_by {
            data["approved_by"] = serde_json::json!(who);
        }
        self.append(decide::RUN, out.sop.as_deref().unwrap_or("-"), data)?;
        Ok(())
    }

    /// The candidate to use and why: the model's choice among several when there is a
    /// model and it names a candidate, else the most specific rule.
    async fn choose<'c>(&self, alert: &Alert, candidates: &'c [Candidate]) -> Option<(&'c Candidate, String)> {
        let first = candidates.first()?;
        if candidates.len() == 1 {
            return Some((first, format!("matched `{}` ({})", first.sop, first.matched.join(", "))));
        }
        if let Some(model) = self.model {
            let context = self.match_context(alert, candidates);
            match model.ask_json("ops-match.j2", &context, &schema_match()).await {
                Ok(answer) => {
                    let pick = answer.get("sop").and_then(|v| v.as_str()).unwrap_or_default();
                    let reason = answer.get("reason").and_then(|v| v.as_str()).unwrap_or_default();
                    if let Some(c) = candidates.iter().find(|c| c.sop == pick) {
                        let reason = crate::forge::limits::truncate_chars(reason, 200);
                        return Some((
                            c,
                            format!("{} runbooks matched; the model chose `{}`: {reason}", candidates.len(), c.sop),
                        ));
                    }
                    tracing::warn!("the model named `{pick}`, not a candidate: using the most specific rule");
                }
                Err(e) => tracing::warn!("tie-break by the model failed ({e}): using the most specific rule"),
            }
        }
        let tied = candidates.iter().filter(|c| c.specificity == first.specificity).count();
        let how = if tied > 1 { "tied on specificity, first by name" } else { "the most specific rule" };
        Some((
            first,
            format!("{} runbooks matched; `{}` is {how} ({})", candidates.len(), first.sop, first.matched.join(", ")),
        ))
    }

    fn match_context(&self, alert: &Alert, candidates: &[Candidate]) -> serde_json::Value {
        let labels: Vec<String> = alert.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let text = format!(
            "alertname: {}\nseverity: {}\nlabels: {}\ntitle: {}\ndescription: {}",
            alert.alertname,
            alert.severity.as_deref().unwrap_or("-"),
            labels.join(", "),
            alert.title,
            crate::forge::limits::truncate_chars(&alert.description, 2000)
        );
        let candidates: Vec<serde_json::Value> = candidates
            .iter()
            .filter_map(|c| self.runbook(&c.sop).map(|r| (c, r)))
            .map(|(c, r)| {
                let about = r.body.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')).unwrap_or("");
                serde_json::json!({"sop": c.sop, "title": r.title, "category": r.category,
                    "risk": r.risk.as_str(), "matched": c.matched,
                    "about": crate::forge::limits::truncate_chars(about, 300)})
            })
            .collect();
        serde_json::json!({"alert": text, "candidates": candidates})
    }

    async fn fix_and_verify(&self, runbook: &Runbook, alert: &Alert, executor: &Executor<'_>) -> Result<FixRun> {
        let mut steps = Vec::new();
        let max = runbook.escalate.after_attempts.max(1);
        for attempt in 1..=max {
            let mut fixed = true;
            for f in &runbook.fix {
                let s = executor.fix(&runbook.name, f, alert).await;
                self.record_step(&runbook.name, alert, attempt, &s)?;
                let ok = s.ok;
                steps.push(s);
                if !ok {
                    fixed = false;
                    break;
                }
            }
            if fixed && self.dry_run {
                // Nothing was changed, so there is nothing to verify.
                return Ok(FixRun { resolved: false, attempts: attempt, steps });
            }
            if fixed {
                let (held, checks) = verify::verify(executor, runbook).await;
                for s in &checks {
                    self.record_step(&runbook.name, alert, attempt, s)?;
                }
                steps.extend(checks);
                if held {
                    return Ok(FixRun { resolved: true, attempts: attempt, steps });
                }
            }
            tracing::warn!("{}: attempt {attempt} of {max} did not hold", runbook.name);
        }
        Ok(FixRun { resolved: false, attempts: max, steps })
    }

    fn steps_table(steps: &[StepResult]) -> String {
        let mut t = String::from("| step | kind | result | detail |\n| --- | --- | --- | --- |\n");
        for s in steps {
            let (name, detail) = (escape_md(&s.name), escape_md(&s.detail));
            t.push_str(&format!("| {name} | {} | {} | {detail} |\n", s.kind, if s.ok { "✅" } else { "❌" }));
        }
        t
    }

    fn alert_block(alert: &Alert) -> String {
        let text = format!("{}\n\n{}", alert.title, alert.description);
        let text = crate::prompt::strip_hidden(&crate::forge::limits::truncate_chars(&text, 4000));
        let text = crate::scrub::Scrubber::builtin().scrub(&text).into_owned();
        format!(
            "Alert {} ({}):\n\n{}\n",
            escape_md(&alert.alertname),
            escape_md(&alert.fingerprint),
            crate::prompt::fenced(&text, "text")
        )
    }

    async fn ask_approval(&self, runbook: &Runbook, alert: &Alert, out: &Outcome) -> Result<u64> {
        let filled = self.executor(runbook, alert).filled_plan(runbook).map_err(Error::Failed)?;
        let digest = executor::plan_digest(&filled);
        let marker =
            Marker::OpsApproval { sop: runbook.name.clone(), alert: alert.fingerprint.clone(), plan: digest.clone() };
        let mut plan = String::new();
        for (name, op) in &filled {
            plan.push_str(&format!("- **{}**: {}\n", escape_md(name), crate::prompt::inline_code(op)));
        }
        for c in &runbook.verify {
            plan.push_str(&format!("- verify **{}**\n", escape_md(&c.name)));
        }
        let body = format!(
            "## Approval needed: {title}\n\n{alert}\nRunbook `{sop}` (category {cat}, risk {risk}), confidence {conf}.\n\
             Why a person decides: {reason}\n\n### Diagnosis\n\n{table}\n### Proposed fix, exactly as it will run\n\n{plan}\n\
             Plan `{id}`. A maintainer with write permission comments `/approve` (or `/approve {id}`) to run \
             this fix and its verification, or `/reject` to close this without acting. The approval holds for \
             these values only.",
            title = escape_md(&runbook.title),
            alert = Self::alert_block(alert),
            sop = runbook.name,
            cat = runbook.category,
            risk = runbook.risk.as_str(),
            conf = out.confidence.map_or("–".into(), |c| format!("{c:.0}")),
            reason = escape_md(&out.reason),
            table = Self::steps_table(&out.steps),
            id = &digest[..12],
        );
        let labels = vec![OPS_LABEL.to_string(), APPROVAL_LABEL.to_string()];
        let title = format!("ops: approve `{}` for {}", runbook.name, escape_md(&alert.alertname));
        executor::upsert_issue(self.forge, &marker, &[alert_marker(alert)], &title, &body, &labels)
            .await
            .map_err(Error::Failed)
    }

    /// Opens or updates the runbook's one escalation issue, and posts to the webhook when
    /// the runbook escalates to `slack` and one is configured.
    async fn escalate(&self, runbook: &Runbook, alert: &Alert, out: &Outcome) -> Result<Option<u64>> {
        let text = format!(
            "## Escalation: {title}\n\n{alert}\nRunbook `{sop}`: {reason}\n\n{table}\n### What the runbook says\n\n{body}",
            title = escape_md(&runbook.title),
            alert = Self::alert_block(alert),
            sop = runbook.name,
            reason = escape_md(&out.reason),
            table = Self::steps_table(&out.steps),
            body = crate::forge::limits::truncate_chars(runbook.body.trim(), 20_000),
        );
        let mut issue = None;
        if runbook.escalate.to.iter().any(|t| t == "issue") {
            let marker = Marker::OpsEscalation(runbook.name.clone());
            let labels = vec![OPS_LABEL.to_string(), "homeostat:escalation".to_string()];
            let title = format!("ops: `{}` needs a person", runbook.name);
            let n = executor::upsert_issue(self.forge, &marker, &[], &title, &text, &labels).await;
            issue = Some(n.map_err(Error::Failed)?);
        }
        if runbook.escalate.to.iter().any(|t| t == "slack") {
            let summary =
                format!("homeostat ops: `{}` needs a person ({}): {}", runbook.name, alert.alertname, out.reason);
            let summary = crate::scrub::Scrubber::builtin().scrub(&summary).into_owned();
            if let Err(e) = self.post_webhook(&summary).await {
                tracing::warn!("escalation webhook: {e}");
            }
        }
        self.append(
            decide::ESCALATION,
            &runbook.name,
            serde_json::json!({"alert": alert.fingerprint, "issue": issue, "reason": out.reason}),
        )?;
        Ok(issue)
    }

    /// Posts `{"text": …}` to the webhook named by `ops.webhook_env` (Slack, Mattermost,
    /// Discord's /slack endpoint). The URL is a secret: it is masked and never printed.
    pub async fn post_webhook(&self, text: &str) -> Result<bool> {
        let Some(var) = &self.config.webhook_env else { return Ok(false) };
        let Some(url) = self.env.get(var) else {
            tracing::warn!("ops.webhook_env names {var}, which is not set: no webhook sent");
            return Ok(false);
        };
        crate::gha::Actions::new(&self.env).mask(url);
        let response = self
            .http
            .post(url)
            .timeout(std::time::Duration::from_secs(15))
            .json(&serde_json::json!({"text": text}))
            .send()
            .await
            .map_err(|e| Error::Failed(format!("webhook ({var}): {}", crate::http::describe(&e))))?;
        if !response.status().is_success() {
            return Err(Error::Failed(format!("webhook ({var}) answered HTTP {}", response.status().as_u16())));
        }
        Ok(true)
    }

    /// Open approval issues, oldest first.
    pub async fn pending_approvals(&self) -> Result<Vec<u64>> {
        let open = self.forge.list_issues(APPROVAL_LABEL, crate::forge::StateFilter::Open).await?;
        let mut numbers: Vec<u64> = crate::issues::trusted(self.forge, open).await?.iter().map(|i| i.number).collect();
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// Continues from the approval issue `number`: the newest `/approve` or `/reject`
    /// comment from someone with write permission (checked on the forge) decides.
    pub async fn approve(&self, number: u64) -> Result<Outcome> {
        let issue = self.forge.get_issue(number).await?;
        let at = || Position::file(format!("issue #{number}"));
        let Some(issue) = crate::issues::trusted(self.forge, vec![issue]).await?.pop() else {
            return Err(Error::input(at(), "was not written by homeostat nor by a maintainer: not an approval issue"));
        };
        let (sop, plan) = markers::find(&issue.body, |m| match m {
            Marker::OpsApproval { sop, plan, .. } => Some((sop, plan)),
            _ => None,
        })
        .ok_or_else(|| Error::input(at(), "is not an hs-ops approval issue (no approval marker in its trailer)"))?;
        let alert: Alert = markers::find(&issue.body, |m| match m {
            Marker::OpsAlert(v) => serde_json::from_value(v).ok(),
            _ => None,
        })
        .ok_or_else(|| Error::input(at(), "the approval issue's alert record is missing or damaged"))?;
        let runbook = self.runbook(&sop).ok_or_else(|| Error::input(at(), format!("runbook `{sop}` is not loaded")))?;
        let mut out = Outcome {
            sop: Some(sop.clone()),
            confidence: None,
            decision: Decision::AwaitApproval,
            steps: Vec::new(),
            reason: String::new(),
            outcome: "awaiting-approval".into(),
            alert: alert.fingerprint.clone(),
            alertname: alert.alertname.clone(),
            candidates: Vec::new(),
            issue: Some(number),
        };
        if issue.state == State::Closed {
            out.reason = "the approval issue is closed".into();
            out.outcome = "ignored".into();
            return Ok(out);
        }
        let mut answer = None;
        let mut refused = Vec::new();
        for c in self.forge.list_comments(number).await?.iter().rev() {
            let first = c.body.trim().lines().next().unwrap_or_default().trim();
            let verb = if first.starts_with("/approve") {
                "approve"
            } else if first.starts_with("/reject") {
                "reject"
            } else {
                continue;
            };
            let permission = self.forge.permission(&c.author).await?;
            if permission.can_write() && !c.author.ends_with("[bot]") {
                answer = Some((verb, c.author.clone(), executor::other_plan_named(first, &plan)));
                break;
            }
            refused.push(c.author.clone());
        }
        let Some((verb, who, other)) = answer else {
            out.reason = "no /approve from a user with write permission yet".into();
            if !refused.is_empty() {
                refused.dedup();
                let note = format!(
                    "`/approve` from {} ignored: approving needs write permission on the repository.",
                    refused.iter().map(|r| format!("@{r}")).collect::<Vec<_>>().join(", ")
                );
                crate::forge::upsert_comment(self.forge, number, &Marker::tag(tag::OPS_REFUSED), &note).await?;
                out.reason.push_str(&format!(" ({} refused)", refused.join(", ")));
            }
            return Ok(out);
        };
        if verb == "reject" {
            out.decision = Decision::DiagnoseOnly;
            out.outcome = "rejected".into();
            out.reason = format!("rejected by {who}");
            self.forge.create_comment(number, &format!("Rejected by @{who}: nothing was run.")).await?;
            self.forge
                .update_issue(number, &IssueUpdate { state: Some(State::Closed), ..IssueUpdate::default() })
                .await?;
            self.record_run(&out, &alert, false, 0, None, Some(&who))?;
            return Ok(out);
        }
        if let Some(other) = other {
            out.decision = Decision::DiagnoseOnly;
            out.outcome = "refused".into();
            out.reason = format!("{who} approved plan {other}, which is not this issue's plan: nothing ran");
            let note = format!(
                "Not run: that `/approve` names plan `{}`; this issue's plan is `{}`.",
                escape_md(&other),
                plan.chars().take(12).collect::<String>()
            );
            self.forge.create_comment(number, &markers::body(&note, &[])).await?;
            return Ok(out);
        }
        // A person approved: the never-auto rules are answered, the limits still hold.
        let entries = self.ledger.entries()?;
        if let Some(limits) = decide::limits(runbook, &entries, self.ledger.now()) {
            out.reason = format!("approved by {who}, but {}", limits.reason);
            out.decision = limits.decision;
            out.outcome = "deferred".into();
            // One note, updated in place: the sweep comes back every few minutes.
            let note = format!("Approved by @{who}, not run yet: {}. The next sweep tries again.", limits.reason);
            crate::forge::upsert_comment(self.forge, number, &Marker::tag(tag::OPS_DEFERRED), &note).await?;
            return Ok(out);
        }
        let executor = self.executor(runbook, &alert);
        let now_plan = executor.filled_plan(runbook).map(|p| executor::plan_digest(&p));
        if now_plan.as_deref() != Ok(plan.as_str()) {
            out.decision = Decision::DiagnoseOnly;
            out.outcome = "refused".into();
            out.reason = format!("approved by {who}, but the plan to run is not the plan the issue shows: nothing ran");
            tracing::warn!("approval issue #{number}: {}", out.reason);
            self.forge.create_comment(number, &markers::body(&format!("Not run: {}.", out.reason), &[])).await?;
            return Ok(out);
        }
        out.decision = Decision::AutoFix;
        let started = self.ledger.now();
        let run = self.fix_and_verify(runbook, &alert, &executor).await?;
        out.steps = run.steps;
        let seconds = run.resolved.then(|| self.ledger.now().duration_since(started).as_secs_f64());
        if self.dry_run {
            out.outcome = "dry-run".into();
            out.reason = format!("approved by {who}; dry run: nothing ran");
            return Ok(out);
        }
        if run.resolved {
            out.outcome = "resolved".into();
            out.reason = format!("approved by {who}; the fix held");
            let body = format!("Approved by @{who}: fixed and verified.\n\n{}", Self::steps_table(&out.steps));
            self.forge.create_comment(number, &body).await?;
            self.forge
                .update_issue(number, &IssueUpdate { state: Some(State::Closed), ..IssueUpdate::default() })
                .await?;
        } else {
            out.outcome = "escalated".into();
            out.reason = format!("approved by {who}; the fix did not hold after {} attempts", run.attempts);
            let body = format!("Approved by @{who}; the fix did not hold.\n\n{}", Self::steps_table(&out.steps));
            self.forge.create_comment(number, &body).await?;
            self.escalate(runbook, &alert, &out).await?;
        }
        self.record_run(&out, &alert, true, run.attempts, seconds, Some(&who))?;
        Ok(out)
    }

    /// The report since `since`, as markdown; a model writes the opening prose when given.
    pub async fn report(
        &self,
        prompts: &crate::prompt::Prompts,
        since: jiff::Timestamp,
    ) -> Result<(report::Summary, String)> {
        let until = self.ledger.now();
        let summary = report::summarize(&self.ledger.entries()?, since, until);
        let mut prose = None;
        if let Some(model) = self.model {
            let context = serde_json::json!({
                "since": since.to_string(), "until": until.to_string(), "figures": summary,
            });
            match model.ask_json("ops-report.j2", &context, &report::prose_schema()).await {
                Ok(answer) => prose = answer.get("summary").and_then(|s| s.as_str()).map(str::to_string),
                Err(e) => tracing::warn!("report prose by the model failed ({e}): plain report"),
            }
        }
        let markdown = report::markdown(prompts, &summary, prose.as_deref())?;
        Ok((summary, markdown))
    }
}

struct FixRun {
    resolved: bool,
    attempts: u32,
    steps: Vec<StepResult>,
}

/// The model the config's `llm` section names, if any (tie-breaks and report prose).
/// Without one the most specific rule wins and the plain template writes the report.
pub fn model_for(session: &run::Session) -> Result<Option<Box<dyn Model>>> {
    let Some(config) = &session.config.llm else { return Ok(None) };
    let prompts = crate::prompt::Prompts::builtin()?;
    let llm = crate::llm::Llm::from_config(config, prompts, session.ledger.clone(), &session.env)?;
    Ok(Some(Box::new(llm)))
}

#[async_trait]
impl Model for crate::llm::Llm {
    async fn ask_json(
        &self,
        template: &str,
        context: &serde_json::Value,
        schema: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        crate::llm::Llm::ask_json(self, template, context, schema).await
    }
}
