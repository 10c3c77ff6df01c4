//! The composition root: what a run needs from the outside world, built once per
//! process and handed to the flows.
//!
//! A binary parses its flags, builds one [`Context`] (environment, settings, clock and
//! the async runtime), opens the forge through it (inside that runtime, which later
//! drives the forge's requests: the GitHub client's connection pool needs a reactor when
//! it is built) and the ledger session (pulled once before, pushed once after, with the
//! job's token), and calls a flow. No flow opens a forge or a ledger by itself.

use std::future::Future;
use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::error::{Error, Position, Result};
use crate::forge::{self, DryRun, Forge};
use crate::gha::{Actions, Env, vars};
use crate::ledger::LedgerSession;
use crate::settings::Config;

/// Which forge a run talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgeKind {
    Github,
    Local,
}

/// What `--forge`, `--forge-dir`, `--repo` and `--dry-run` chose.
#[derive(Debug, Clone)]
pub struct ForgeChoice {
    /// `None`: GitHub when there is a token, else local.
    pub kind: Option<ForgeKind>,
    /// The local forge's folder.
    pub dir: PathBuf,
    /// `owner/name` (default `$GITHUB_REPOSITORY`).
    pub repo: Option<String>,
    pub dry_run: bool,
}

impl Default for ForgeChoice {
    fn default() -> Self {
        Self { kind: None, dir: PathBuf::from(".homeostat/forge"), repo: None, dry_run: false }
    }
}

/// Everything a run reads from outside, built once.
pub struct Context {
    pub env: Env,
    pub config: Config,
    pub clock: Clock,
    runtime: tokio::runtime::Runtime,
}

impl Context {
    /// The context of this process: its environment, the config `--config` (or the usual
    /// places) names, and the clock (`HOMEOSTAT_NOW` pins it).
    pub fn from_process(config: Option<&Path>) -> Result<Self> {
        let env = Env::from_process();
        let config = Config::discover(config, &env)?;
        Self::new(env, config)
    }

    /// A context over a given environment and config (tests build it this way).
    pub fn new(env: Env, config: Config) -> Result<Self> {
        let clock = Clock::from_value(env.get(vars::HOMEOSTAT_NOW))
            .map_err(|e| Error::input(Position::file(vars::HOMEOSTAT_NOW), format!("is not an RFC 3339 time: {e}")))?;
        // One thread: the binaries do their I/O one request at a time by design.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Failed(format!("cannot start the async runtime: {e}")))?;
        Ok(Self { env, config, clock, runtime })
    }

    /// Pins the clock to `start` (a binary's `--now`); it ticks from there.
    pub fn pin_clock(&mut self, start: jiff::Timestamp) {
        self.clock = Clock::pinned_at(start);
    }

    /// Runs an async flow to its end on the context's runtime.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.runtime.block_on(fut)
    }

    /// Where results go in Actions (outputs, step summary, annotations).
    pub fn actions(&self) -> Actions {
        Actions::new(&self.env)
    }

    /// Opens the chosen forge inside the runtime that will drive it.
    pub fn open_forge(&self, choice: &ForgeChoice) -> Result<Box<dyn Forge>> {
        let _inside = self.runtime.enter();
        let forge = self.open_forge_kind(choice)?;
        Ok(if choice.dry_run { Box::new(DryRun::new(forge)) } else { forge })
    }

    fn open_forge_kind(&self, choice: &ForgeChoice) -> Result<Box<dyn Forge>> {
        let kind = choice.kind.unwrap_or_else(|| {
            if self.env.token().is_some() {
                ForgeKind::Github
            } else {
                tracing::info!("no GITHUB_TOKEN: using the local forge in {}", choice.dir.display());
                ForgeKind::Local
            }
        });
        match kind {
            ForgeKind::Local => Ok(Box::new(forge::local::LocalForge::open(&choice.dir)?.with_clock(self.clock))),
            ForgeKind::Github => {
                let needs = |what: &str| Error::input(Position::file("--forge github"), format!("needs {what}"));
                let token = self.env.token().ok_or_else(|| needs("GITHUB_TOKEN in the environment"))?;
                let repo = choice.repo.as_deref().or(self.env.repository());
                let repo = repo.ok_or_else(|| needs("--repo owner/name or GITHUB_REPOSITORY"))?;
                let api = self.env.get(vars::GITHUB_API_URL).unwrap_or(forge::github::DEFAULT_API);
                let policy = forge::github::RetryPolicy::from_env(&self.env)?;
                // The labels homeostat writes are made with their colour and description.
                let known = homeostat_core::labels::labels()?
                    .into_iter()
                    .map(|l| forge::github::LabelSpec { name: l.name, color: l.color, description: l.description })
                    .collect();
                let own = self.config.agents.clone().unwrap_or_default().bot.own_logins();
                let forge = forge::github::GithubForge::with_policy(api, token, repo, policy)?;
                Ok(Box::new(forge.with_labels(known).with_own_logins(own)))
            }
        }
    }

    /// Opens the run's ledger in the checkout `repo_dir`: in Actions, its branch is
    /// pulled now and pushed by [`LedgerSession::finish`].
    pub fn ledger(&self, repo_dir: &Path) -> LedgerSession {
        LedgerSession::open(&self.config, &self.env, repo_dir, self.clock)
    }

    /// Ends a ledger session: pushes it and shows a failed push as a warning in the job.
    pub fn finish_ledger(&self, session: &LedgerSession) {
        if let Some(warning) = session.finish() {
            self.actions().annotate(crate::gha::AnnotationLevel::Warning, &Default::default(), &warning);
        }
    }
}

/// Runs an async body on a throw-away single-threaded runtime, for work outside a
/// [`Context`] (tests over the local forge, the policy's board moves).
pub fn block_on<F: Future>(fut: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the async runtime: {e}")))?;
    Ok(rt.block_on(fut))
}
