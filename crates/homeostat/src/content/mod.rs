//! Scheduled guides and social posts as committed files (hs-content): topic planning,
//! generation through the model, guardrails, guide and social files, Open Graph images,
//! the sitemap, and the feedback loop. One branch and one pull request per weekly batch.

pub mod batch;
pub use crate::settings::content as config;
pub mod feedback;
pub mod feedback_run;
pub mod generate;
pub mod guardrails;
pub mod og;
pub mod page;
pub mod plan;
pub mod pr;
pub mod publish;
pub mod sitemap;
pub mod social;
pub mod topics;
pub mod workspace;

pub use config::ContentConfig;
pub use feedback_run::collect_feedback;
pub use generate::{GenerateReport, Generator};
pub use publish::{PublishOptions, PublishReport, publish};
pub use workspace::Workspace;

use std::path::{Path, PathBuf};

use crate::error::{Error, Position, Result};
use crate::gha::{Actions, Env};
use crate::ledger::Ledger;

/// The subcommands of hs-content.
#[derive(Debug, Clone)]
pub enum Command {
    /// Show what the next run would write and why.
    Plan,
    /// Write the next pages, images and social bundles and propose them in one PR (--dry-run: the plan).
    Generate {
        /// Write the files only: no commit, push or PR.
        no_pr: bool,
    },
    /// Sitemap from live pages; approve the posts maintainers marked.
    Publish {
        /// Propose the changed files in a pull request (branch `<branch_prefix>publish`).
        pr: bool,
    },
    /// Summarise issues labelled `feedback` into content/feedback/<period>.yml.
    Feedback,
}

/// One invocation of hs-content: the workspace, the run's ledger, the model settings and
/// the time the run acts at.
pub struct Session {
    pub workspace: Workspace,
    pub ledger: Ledger,
    pub now: jiff::Timestamp,
    llm: Option<crate::llm::LlmConfig>,
    env: Env,
    scrubber: crate::scrub::Scrubber,
    /// How feedback posts are grouped into threads: hs-cluster's similarity at
    /// `cluster.threshold`.
    threads_by: crate::cluster::Options,
}

impl Session {
    /// A session over the run's context and ledger; it acts at the context's clock.
    pub fn open(ctx: &crate::app::Context, repo_dir: &Path, ledger: Ledger) -> Result<Self> {
        let config = &ctx.config;
        let content = config
            .content
            .clone()
            .ok_or_else(|| Error::input(Position::file(config.file()), "no `content` section: hs-content needs one"))?;
        let mut llm = config.llm.clone();
        // A replay folder was resolved against the config file's folder when it was read;
        // settings not read from a file name it from the checkout.
        if config.source.is_none()
            && let Some(llm) = &mut llm
            && let Some(dir) = llm.dir.as_mut().filter(|d| d.is_relative())
        {
            *dir = repo_dir.join(&*dir);
        }
        let scrubber = crate::scrub::config_scrubber(config)?;
        let threshold =
            config.cluster.as_ref().map_or_else(|| crate::cluster::ClusterConfig::default().threshold, |c| c.threshold);
        let threads_by = crate::cluster::Options { threshold: threshold as f32, ..Default::default() };
        Ok(Self {
            workspace: Workspace::new(repo_dir, content),
            now: ledger.now(),
            ledger,
            llm,
            env: ctx.env.clone(),
            scrubber,
            threads_by,
        })
    }

    /// Runs one subcommand and returns its report.
    /// `open_forge` is called only by the subcommands that need a forge.
    pub async fn run(
        &self,
        command: Command,
        open_forge: impl Fn() -> Result<Box<dyn crate::forge::Forge>>,
        dry_run: bool,
    ) -> Result<serde_json::Value> {
        let json =
            |v: std::result::Result<serde_json::Value, serde_json::Error>| v.map_err(|e| Error::Failed(e.to_string()));
        match command {
            Command::Plan => json(serde_json::to_value(self.plan()?)),
            // A dry run spends nothing: it shows the plan the run would follow.
            Command::Generate { .. } if dry_run => json(serde_json::to_value(self.plan()?)),
            Command::Generate { no_pr } => {
                let forge = open_forge()?;
                json(serde_json::to_value(self.generate(forge.as_ref(), !no_pr, "origin".into(), Vec::new()).await?))
            }
            Command::Publish { pr } => {
                let options =
                    publish::PublishOptions { max_urls_per_file: sitemap::MAX_URLS, now: self.now, write: !dry_run };
                let mut report = json(serde_json::to_value(publish(&self.workspace, options)?))?;
                if pr && !dry_run {
                    let changed: Vec<String> = serde_json::from_value(report["changed"].clone()).unwrap_or_default();
                    let proposal = self.propose_publish(&changed, open_forge()?.as_ref()).await?;
                    report["pr"] = proposal.map_or(serde_json::Value::Null, |p| p.pr.into());
                }
                Ok(report)
            }
            // A dry run lists what it would read; it calls no model and writes nothing.
            Command::Feedback if dry_run => {
                let forge = open_forge()?;
                let posts = feedback_run::feedback_posts(forge.as_ref(), &self.workspace.config.feedback_label).await?;
                Ok(serde_json::json!({"issues": posts.iter().map(|p| p.number).collect::<Vec<_>>(), "path": null}))
            }
            Command::Feedback => json(serde_json::to_value(self.feedback(open_forge()?.as_ref()).await?)),
        }
    }

    /// Proposes what `publish` changed on one standing branch; nothing changed, no PR.
    pub async fn propose_publish(
        &self,
        changed: &[String],
        forge: &dyn crate::forge::Forge,
    ) -> Result<Option<pr::Proposal>> {
        if changed.is_empty() {
            return Ok(None);
        }
        let root = &self.workspace.root;
        let files = changed
            .iter()
            .map(|p| {
                let bytes = std::fs::read(root.join(p)).map_err(|e| Error::io(root.join(p), e))?;
                Ok(pr::FileChange { path: p.clone(), bytes })
            })
            .collect::<Result<Vec<_>>>()?;
        let branch = format!("{}publish", self.workspace.config.branch_prefix);
        let title = "content: publish live pages (sitemap, approved posts)";
        let body = format!(
            "`hs-content publish` updated:\n\n{}\n\n{}\n",
            changed.iter().map(|c| format!("- `{c}`")).collect::<Vec<_>>().join("\n"),
            crate::markers::Marker::tag(crate::markers::tag::CONTENT_PUBLISH).render()
        );
        let target = pr::Target {
            repo_dir: root,
            remote: "origin",
            branch: &branch,
            title,
            body: &body,
            message: title,
            env: &self.env,
            mode: pr::Mode::Replace,
        };
        pr::propose(&target, &files, forge).await.map(Some)
    }

    pub fn plan(&self) -> Result<plan::Plan> {
        generate::plan(&self.workspace, &self.ledger, self.now)
    }

    fn llm(&self) -> Result<(crate::llm::Llm, crate::prompt::Prompts)> {
        let config = self.llm.as_ref().ok_or_else(|| {
            Error::input(Position::file("homeostat.yml"), "no `llm` section: hs-content needs a model")
        })?;
        let llm =
            crate::llm::Llm::from_config(config, crate::prompt::Prompts::builtin()?, self.ledger.clone(), &self.env)?;
        Ok((llm, crate::prompt::Prompts::builtin()?))
    }

    /// `generate`; `propose` off writes the files without a commit, push or PR.
    pub async fn generate(
        &self,
        forge: &dyn crate::forge::Forge,
        propose: bool,
        remote: String,
        font_dirs: Vec<PathBuf>,
    ) -> Result<GenerateReport> {
        let (llm, prompts) = self.llm()?;
        Generator {
            ws: &self.workspace,
            llm: &llm,
            prompts: &prompts,
            forge,
            ledger: &self.ledger,
            now: self.now,
            propose,
            remote,
            font_dirs,
            env: &self.env,
        }
        .run()
        .await
    }

    pub async fn feedback(&self, forge: &dyn crate::forge::Forge) -> Result<feedback_run::FeedbackReport> {
        let (llm, _) = self.llm()?;
        collect_feedback(&self.workspace, forge, &llm, &self.scrubber, self.threads_by, self.now).await
    }

    /// In Actions: the report as the `result` output and in the step summary.
    pub fn finish(&self, report: &serde_json::Value) -> Result<()> {
        let actions = Actions::new(&self.env);
        let json = serde_json::to_string(report).map_err(|e| Error::Failed(e.to_string()))?;
        actions.set_output("result", &json)?;
        let pretty = serde_json::to_string_pretty(report).map_err(|e| Error::Failed(e.to_string()))?;
        actions.append_summary(&format!("### hs-content\n\n```json\n{pretty}\n```\n"))
    }
}
