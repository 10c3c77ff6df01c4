//! What `hs-report` does per subcommand, so the binary only wires flags.

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::figures::{self, Budgets, Figures};
use super::{kinds, living, notify};
use crate::error::{Error, Result};
use crate::gha::{Actions, Env};
use crate::ledger::{Entry, Ledger};
use crate::output::{OutputFormat, print_json};
use crate::prompt::Prompts;
use crate::settings::{Config, Duration};

/// The window the figures cover.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// How far back the figures look (default: 30d; 90d for `site`).
    pub since: Option<Duration>,
    /// The end of the window, RFC 3339 (default: now).
    pub until: Option<Timestamp>,
}

impl Window {
    fn resolve(&self, now: Timestamp, default: Duration) -> Result<(Timestamp, Timestamp)> {
        let until = self.until.unwrap_or(now);
        let span = SignedDuration::try_from(self.since.unwrap_or(default).as_std())
            .map_err(|e| Error::Failed(format!("--since: {e}")))?;
        let since = until.checked_sub(span).map_err(|e| Error::Failed(format!("--since: {e}")))?;
        Ok((since, until))
    }
}

/// The subcommands of `hs-report` (none: print the figures).
#[derive(Debug, Clone)]
pub enum Job {
    /// Write the static dashboard: index.html, one page per view, style.css.
    Site {
        /// The folder to write (created if missing).
        out: PathBuf,
    },
    /// Update the living report issue and the step summary, and send notifications.
    Post {
        /// The dashboard's address, linked from the issue and the digest.
        site_url: Option<String>,
    },
}

/// Budgets from the `agents` and `llm` sections.
pub fn budgets(config: &Config) -> Budgets {
    Budgets {
        agent_usd_per_day: config.agents.as_ref().map(|a| a.budget.usd_per_day),
        model_usd_per_day: config.llm.as_ref().and_then(|l| l.usd_per_day),
    }
}

/// Runs one subcommand against the run's ledger; `open_forge` is called only by `post`.
/// Returns the exit code.
pub async fn execute(
    ctx: &crate::app::Context,
    ledger: &Ledger,
    open_forge: impl FnOnce() -> Result<Box<dyn crate::forge::Forge>>,
    format: OutputFormat,
    window: &Window,
    job: Option<Job>,
) -> Result<u8> {
    let (config, env, now) = (&ctx.config, &ctx.env, ledger.now());
    let entries = ledger.entries()?;
    let prompts = Prompts::builtin()?;
    match job {
        None => {
            let (since, until) = window.resolve(now, Duration::from_secs(30 * 86_400))?;
            let f = figures::compute(&entries, since, until, budgets(config));
            match format {
                OutputFormat::Text => print!("{}", body(&living::markdown(&prompts, &f, "", None, false)?)),
                _ => print_json(format, &f).map_err(|e| Error::Failed(e.to_string()))?,
            }
            Ok(0)
        }
        Some(Job::Site { out }) => {
            let (since, until) = window.resolve(now, Duration::from_secs(90 * 86_400))?;
            let f = figures::compute(&entries, since, until, budgets(config));
            let repo = env.repository().unwrap_or("this repository");
            write_site(&out, &super::site::build(&f, repo, now)?)?;
            println!("{}", out.join("index.html").display());
            Ok(0)
        }
        Some(Job::Post { site_url }) => {
            let forge = open_forge()?;
            let result = post(config, env, ledger, &entries, forge.as_ref(), window, site_url).await?;
            match format {
                OutputFormat::Text => println!("{}", result["summary"].as_str().unwrap_or_default()),
                _ => print_json(format, &result).map_err(|e| Error::Failed(e.to_string()))?,
            }
            Ok(0)
        }
    }
}

/// The markdown under a template's first line (the title).
fn body(text: &str) -> &str {
    text.split_once('\n').map_or(text, |(_, rest)| rest.trim_start_matches('\n'))
}

fn write_site(out: &Path, files: &[(String, String)]) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    for (name, text) in files {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// When notices were last looked for: the last post, at most a week back.
fn last_post(entries: &[Entry], now: Timestamp) -> Timestamp {
    let week = now - SignedDuration::from_hours(24 * 7);
    let day = now - SignedDuration::from_hours(24);
    entries.iter().rev().find(|e| e.kind == kinds::REPORT_POSTED).map_or(day, |e| e.ts.max(week))
}

async fn post(
    config: &Config,
    env: &Env,
    ledger: &Ledger,
    entries: &[Entry],
    forge: &dyn crate::forge::Forge,
    window: &Window,
    site_url: Option<String>,
) -> Result<serde_json::Value> {
    let prompts = Prompts::builtin()?;
    let (since, now) = window.resolve(ledger.now(), Duration::from_secs(30 * 86_400))?;
    let day: Figures = figures::compute(entries, now - SignedDuration::from_hours(24), now, budgets(config));
    let span: Figures = figures::compute(entries, since, now, budgets(config));
    let links = notify::Links::from_env(env, site_url.clone());
    let suppressed = entries
        .iter()
        .filter(|e| e.kind == kinds::REPORT_NOTIFIED && e.ts >= day.since)
        .filter(|e| e.data.get("suppressed").and_then(serde_json::Value::as_bool) == Some(true))
        .count();
    let digest = notify::digest(&prompts, &links, &day, suppressed)?;
    let text = living::markdown(&prompts, &span, &digest.text, site_url.as_deref(), true)?;
    let (title, markdown) = (text.lines().next().unwrap_or_default().trim(), body(&text));
    Actions::new(env).append_summary(markdown)?;
    let quiet = day.is_quiet();
    let mut issue = None;
    if quiet {
        tracing::info!("a quiet day: the living report stays as it is and no digest goes out");
    } else {
        let (i, created) = living::upsert(forge, title, markdown).await?;
        issue = Some(json!({"number": i.number, "url": i.url, "created": created}));
    }
    let mut notices = Vec::new();
    for (kind, e) in notify::pending(entries, last_post(entries, now)) {
        notices.push(notify::notice(&prompts, &links, kind, e)?);
    }
    let digest_sent =
        entries.iter().any(|e| e.kind == kinds::REPORT_NOTIFIED && e.get_str("source") == Some(&digest.source));
    if !quiet && !digest_sent {
        notices.push(digest);
    }
    let delivery = match &config.notify {
        Some(n) if !forge.is_dry_run() => Some(notify::deliver(n, env, ledger, &notices).await?),
        _ => None,
    };
    if !forge.is_dry_run() {
        ledger.append_at(now, kinds::REPORT_POSTED, "issue", json!({"issue": issue, "quiet": quiet}))?;
    }
    let summary = match (&issue, quiet) {
        (_, true) => format!("quiet day: report left as it is; {} notices", notices.len()),
        (Some(i), _) => format!("report issue #{}; {} notices", i["number"], notices.len()),
        (None, _) => format!("{} notices", notices.len()),
    };
    Ok(
        json!({"summary": summary, "quiet": quiet, "issue": issue, "notices": notices, "delivery": delivery, "markdown": markdown}),
    )
}
