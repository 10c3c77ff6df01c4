//! The week's batch: the guides `generate` writes in one ISO week go up for review on one
//! branch, `<branch_prefix><YYYY-Www>`, in one pull request. A second run in the week (a
//! re-run after a failure, or a manual dispatch) adds its pages to that branch and updates
//! the pull request; a run with nothing new to write opens the pull request a failed run
//! left unopened. The pull request lists every guide of the batch, read from the ledger.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::generate::{GenerateReport, Generator, LEDGER_PAGE};
use super::plan;
use super::pr::{self, FileChange};
use crate::error::Result;
use crate::ledger::Ledger;

/// A page a run wrote, as the ledger records it (`content.page`, status `written`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page {
    #[serde(skip)]
    pub slug: String,
    #[serde(default)]
    pub title: String,
    pub keyword: String,
    #[serde(default)]
    pub topic: String,
    pub path: String,
    #[serde(default)]
    pub reason: String,
    /// The ISO week of the batch (`2026-W48`).
    #[serde(default)]
    pub batch: String,
}

/// Records the pages in the ledger: the plan counts them from now on.
pub fn record(ledger: &Ledger, pages: &[Page]) -> Result<()> {
    for page in pages {
        let mut data = serde_json::to_value(page).map_err(|e| crate::Error::Failed(e.to_string()))?;
        data["status"] = json!("written");
        ledger.append(LEDGER_PAGE, &page.slug, data)?;
    }
    Ok(())
}

/// Every page the ledger records for `batch`, oldest first, one per path.
pub fn pages_of(ledger: &Ledger, batch: &str) -> Result<Vec<Page>> {
    let mut out: Vec<Page> = Vec::new();
    for e in ledger.entries()?.into_iter().filter(|e| e.kind == LEDGER_PAGE && e.get_str("status") == Some("written")) {
        let Ok(page) = serde_json::from_value::<Page>(serde_json::Value::Object(e.data.clone())) else {
            continue;
        };
        if page.batch == batch && !out.iter().any(|p| p.path == page.path) {
            out.push(page);
        }
    }
    Ok(out)
}

impl Generator<'_> {
    /// Adds the run's files to the week's branch, records the pages, and opens or
    /// updates the batch's pull request.
    pub(super) async fn propose_batch(
        &self,
        report: &mut GenerateReport,
        mut files: Vec<FileChange>,
        pages: &[Page],
    ) -> Result<()> {
        let cfg = &self.ws.config;
        let period = plan::iso_week(self.now);
        let branch = format!("{}{period}", cfg.branch_prefix);
        if !files.is_empty() {
            // The period's feedback file travels with the pages that used it.
            let name = format!("{period}.yml");
            if let Ok(bytes) = std::fs::read(self.ws.root.join(&cfg.out.feedback).join(&name)) {
                let path = cfg.out.feedback.join(&name).to_string_lossy().replace('\\', "/");
                files.push(FileChange { path, bytes });
            }
        }
        let mut target = pr::Target {
            repo_dir: &self.ws.root,
            remote: &self.remote,
            branch: &branch,
            title: "",
            body: "",
            message: "",
            env: self.env,
            mode: pr::Mode::Batch,
        };
        let prepared = match pr::prepare(&target, self.forge).await {
            Ok(p) => p,
            // Nothing new to push: a checkout without its remote only skips the check
            // for a batch a failed run left without its pull request.
            Err(crate::Error::Git(e)) if files.is_empty() => {
                tracing::warn!("content: could not look for the week's branch on `{}`: {e}", self.remote);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if files.is_empty() && !prepared.unproposed() {
            // Nothing new, and the batch's PR (if any) is open already.
            return Ok(());
        }
        let message = match pages {
            [one] => format!("content: {}", one.title),
            many => format!("content: {} new guides", many.len()),
        };
        target.message = &message;
        let commit = if files.is_empty() {
            prepared.parent.map(|c| c.to_string()).unwrap_or_default()
        } else {
            prepared.push(&target, &files)?
        };
        // On the remote now: counted by the plan, and listed in the pull request.
        record(self.ledger, pages)?;
        let all = pages_of(self.ledger, &period)?;
        let title = match all.as_slice() {
            [one] => format!("content: {}", one.title),
            many => format!("content: {} new guides ({period})", many.len()),
        };
        let body = pr_body(&all, report, &period);
        target.title = &title;
        target.body = &body;
        let proposal = prepared.open_or_update(&target, self.forge, &commit).await?;
        report.pr = Some(proposal.pr);
        report.branch = Some(branch.clone());
        Ok(())
    }
}

fn pr_body(pages: &[Page], report: &GenerateReport, period: &str) -> String {
    let mut s = format!(
        "Pages and social posts written by `hs-content generate` in {period}, for review. \
         Later runs of the week add theirs to this pull request.\n\n"
    );
    s.push_str("| page | keyword | file | why now |\n|---|---|---|---|\n");
    for p in pages {
        s.push_str(&format!("| {} | {} | `{}` | {} |\n", cell(&p.title), cell(&p.keyword), p.path, cell(&p.reason)));
    }
    if !report.rejected.is_empty() {
        s.push_str("\n**Not written** in the latest run (guardrails failed):\n\n");
        for r in &report.rejected {
            s.push_str(&format!("- `{}` ({}): {}\n", r.slug, cell(&r.keyword), cell(&r.reasons.join("; "))));
        }
    }
    if !report.dropped_posts.is_empty() {
        s.push_str("\n**Posts left out** in the latest run:\n\n");
        for d in &report.dropped_posts {
            s.push_str(&format!("- {}: {}\n", d.platform.as_str(), cell(&d.reason)));
        }
    }
    s.push_str(
        "\nTo publish: set `status: live` in a page's front matter and `review: approve` on the posts you want; \
         `hs-content publish` then adds the page to the sitemap and marks those posts `approved: true`.\n",
    );
    crate::markers::body(&s, &[crate::markers::Marker::tag(crate::markers::tag::CONTENT)])
}

fn cell(s: &str) -> String {
    crate::markers::escape_md(s)
}
