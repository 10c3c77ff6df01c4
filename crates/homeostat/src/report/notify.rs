//! Notifications where people are: which ledger lines become a notice (pure), the words
//! (`prompts/report-notify.md.j2`), and delivery to Slack, Discord, Teams or a JSON
//! webhook, each URL read from a secret, each destination rate-limited per hour, each
//! ledger line notified once (recorded as `report.notified`).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use super::figures::{self, Figures};
use super::kinds;
pub use super::payload::{EventKind, Link, Notice};
use crate::error::{Error, Result};
use crate::ledger::{Entry, Ledger};

pub use crate::settings::notify::{NotifyConfig, Target};

/// Where links point: `{server}/{repo}/…`, and the run that posts, for lines that do not
/// name their own run.
#[derive(Debug, Clone, Default)]
pub struct Links {
    pub server: String,
    pub repo: String,
    pub run_id: Option<String>,
    pub site_url: Option<String>,
}

impl Links {
    pub fn from_env(env: &crate::gha::Env, site_url: Option<String>) -> Self {
        Self {
            server: env.get("GITHUB_SERVER_URL").unwrap_or("https://github.com").trim_end_matches('/').to_string(),
            repo: env.repository().unwrap_or_default().to_string(),
            run_id: env.get("GITHUB_RUN_ID").map(str::to_string),
            site_url,
        }
    }

    fn repo_url(&self, path: &str) -> Option<String> {
        (!self.repo.is_empty()).then(|| format!("{}/{}/{path}", self.server, self.repo))
    }

    fn run(&self, e: Option<&Entry>) -> Option<Link> {
        let id = e.and_then(|e| e.data.get("run_id")).and_then(|v| v.as_u64().map(|n| n.to_string()));
        let id = id.or_else(|| self.run_id.clone()).filter(|id| id.bytes().all(|b| b.is_ascii_digit()))?;
        Some(Link { label: "Workflow run".into(), url: self.repo_url(&format!("actions/runs/{id}"))? })
    }

    fn numbered(&self, label: &str, path: &str, n: Option<u64>) -> Option<Link> {
        Some(Link { label: format!("{label} #{}", n?), url: self.repo_url(&format!("{path}/{}", n?))? })
    }
}

/// Ledger lines since `since` that call for a notice and were not notified yet.
pub fn pending(entries: &[Entry], since: Timestamp) -> Vec<(EventKind, &Entry)> {
    let done: BTreeSet<&str> =
        entries.iter().filter(|e| e.kind == kinds::REPORT_NOTIFIED).filter_map(|e| e.get_str("source")).collect();
    entries
        .iter()
        .filter(|e| e.ts >= since && !e.id.is_empty() && !done.contains(e.id.as_str()))
        .filter_map(|e| {
            let outcome = e.get_str("outcome").unwrap_or_default();
            let kind = match e.kind.as_str() {
                kinds::CANARY_DECISION if e.get_str("decision") == Some("rollback") => EventKind::Rollback,
                kinds::AGENT_OUTCOME if figures::AGENT_FAILED.contains(&outcome) => EventKind::AgentFailure,
                kinds::AGENT_OUTCOME if outcome == "pr-opened" => EventKind::Review,
                kinds::OPS_ESCALATION => EventKind::Escalation,
                _ => return None,
            };
            Some((kind, e))
        })
        .collect()
}

/// The words of a notice for a ledger line, scrubbed of secrets.
pub fn notice(prompts: &crate::prompt::Prompts, links: &Links, kind: EventKind, e: &Entry) -> Result<Notice> {
    let num = |f: &str| e.data.get(f).and_then(Value::as_u64);
    let issue = num("issue").or_else(|| e.key.parse().ok().filter(|_| kind != EventKind::Escalation));
    let context = json!({"n": {
        "kind": kind.as_str(), "issue": issue, "pr": num("pr"), "outcome": e.get_str("outcome"),
        "reason": e.get_str("reason").unwrap_or("no reason recorded"), "release": e.get_str("release"),
        "runbook": e.key,
    }});
    let mut links_out: Vec<Link> =
        [links.run(Some(e)), links.numbered("Issue", "issues", issue)].into_iter().flatten().collect();
    if kind == EventKind::Review {
        links_out.extend(links.numbered("Pull request", "pull", num("pr")));
    }
    words(prompts, &context, kind, e.id.clone(), e.ts, links_out, None)
}

/// The digest: the last day's figures in one notice.
pub fn digest(prompts: &crate::prompt::Prompts, links: &Links, day: &Figures, suppressed: usize) -> Result<Notice> {
    let d = json!({
        "events": day.errors.events, "new_bugs": day.errors.new_bugs, "regressions": day.errors.regressions,
        "agent_requests": day.agent.requests, "merged": day.fixes.merged, "promotions": day.canary.promotions,
        "rollbacks": day.canary.rollbacks, "runbook_runs": day.runbooks.runs,
        "success": super::site::format(&json!(day.agent.success_rate), super::site::Format::Percent),
        "spend": super::site::format(&json!(day.spend.total_usd), super::site::Format::Usd),
        "suppressed": suppressed,
    });
    let mut out: Vec<Link> = links.run(None).into_iter().collect();
    if let Some(url) = &links.site_url {
        out.push(Link { label: "Dashboard".into(), url: url.clone() });
    }
    let figures = serde_json::to_value(day).ok().map(|mut v| {
        v.as_object_mut().map(|m| m.remove("daily"));
        v
    });
    let source = format!("digest:{}", day.until.strftime("%Y-%m-%d"));
    words(prompts, &json!({"n": {"kind": "digest"}, "d": d}), EventKind::Digest, source, day.until, out, figures)
}

fn words(
    prompts: &crate::prompt::Prompts,
    context: &Value,
    kind: EventKind,
    source: String,
    ts: Timestamp,
    links: Vec<Link>,
    figures: Option<Value>,
) -> Result<Notice> {
    let text = prompts.render("report-notify.md.j2", context)?;
    let text = crate::scrub::Scrubber::builtin().scrub(text.trim()).into_owned();
    let (title, body) = text.split_once('\n').unwrap_or((&text, ""));
    Ok(Notice { kind, source, title: title.trim().to_string(), text: body.trim().to_string(), links, ts, figures })
}

/// The payload of `notice` for destination `name`.
pub fn payload(name: &str, notice: &Notice) -> Value {
    match name {
        "slack" => super::payload::slack(notice),
        "discord" => super::payload::discord(notice),
        "teams" => super::payload::teams(notice),
        _ => super::payload::webhook(notice),
    }
}

/// What a delivery did, per destination.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Delivery {
    pub sent: BTreeMap<String, u32>,
    pub suppressed: BTreeMap<String, u32>,
    pub failed: BTreeMap<String, u32>,
}

/// Sends every notice to each destination that wants its kind, within the hourly limit;
/// records each (sent or suppressed) in the ledger so it is never sent twice.
pub async fn deliver(
    config: &NotifyConfig,
    env: &crate::gha::Env,
    ledger: &Ledger,
    notices: &[Notice],
) -> Result<Delivery> {
    // A chat message sent twice is better than one lost: a 5xx is tried once more.
    let retry =
        crate::http::RetryPolicy::unpaced(2, std::time::Duration::from_secs(1), std::time::Duration::from_secs(30));
    let options = crate::http::ClientOptions::default().timeout(std::time::Duration::from_secs(15)).retry(retry);
    let client = crate::http::client(options).map_err(|e| Error::Failed(format!("notifications: {e}")))?;
    let hour_ago = ledger.now() - jiff::SignedDuration::from_hours(1);
    let entries = ledger.entries()?;
    let mut out = Delivery::default();
    for (name, target) in config.targets() {
        let Some(url) = env.get(&target.url_env).filter(|u| !u.is_empty()) else {
            tracing::warn!("notify.{name}: ${} is not set; nothing sent there", target.url_env);
            continue;
        };
        crate::gha::Actions::new(env).mask(url);
        let mut recent = entries
            .iter()
            .filter(|e| e.kind == kinds::REPORT_NOTIFIED && e.key == name && e.ts >= hour_ago)
            .filter(|e| e.data.get("suppressed").and_then(Value::as_bool) != Some(true))
            .count();
        for n in notices.iter().filter(|n| target.events.contains(&n.kind)) {
            // The digest comes once a day and carries the count of what was held back.
            let suppressed = n.kind != EventKind::Digest && recent >= config.max_per_hour as usize;
            if suppressed {
                *out.suppressed.entry(name.into()).or_default() += 1;
            } else if let Err(e) = post(&client, url, &payload(name, n)).await {
                tracing::warn!("notify.{name}: {} not delivered: {e}", n.kind.as_str());
                *out.failed.entry(name.into()).or_default() += 1;
                continue;
            } else {
                recent += 1;
                *out.sent.entry(name.into()).or_default() += 1;
            }
            ledger.append(
                kinds::REPORT_NOTIFIED,
                name,
                json!({"source": n.source, "event": n.kind.as_str(), "suppressed": suppressed}),
            )?;
        }
    }
    Ok(out)
}

/// One POST (the retry layer tries a 429 or 5xx once more). Errors never carry the URL
/// (it is a secret).
async fn post(client: &crate::http::Client, url: &str, body: &Value) -> std::result::Result<(), String> {
    let request = client.post(url).with_extension(crate::http::Idempotent).json(body);
    let response = request.send().await.map_err(|e| crate::http::describe(&e))?;
    let status = response.status();
    if status.is_success() { Ok(()) } else { Err(format!("HTTP {status}")) }
}
