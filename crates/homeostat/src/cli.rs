//! Flags every binary shares, defined once (as ripgrep does), and the edge where a
//! binary's result becomes an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::app::{Context, ForgeChoice};

/// Output format: text for people (stderr carries progress), JSON for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
    Jsonl,
}

/// `--config FILE`.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// homeostat.yml to read (else $HOMEOSTAT_CONFIG, .github/homeostat.yml, homeostat.yml).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

impl ConfigArgs {
    /// The run's context: this process's environment, the config these flags name, the clock.
    pub fn context(&self) -> crate::Result<Context> {
        Context::from_process(self.config.as_deref())
    }
}

/// `--forge github|local`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForgeKind {
    Github,
    Local,
}

/// `--forge`, `--forge-dir`, `--repo`, `--dry-run`.
#[derive(Debug, Clone, Args)]
pub struct ForgeArgs {
    /// Where issues and pull requests live (default: github with a token, else local).
    #[arg(long, value_enum, global = true)]
    pub forge: Option<ForgeKind>,
    /// Folder of the local forge.
    #[arg(long, value_name = "DIR", default_value = ".homeostat/forge", env = "HOMEOSTAT_FORGE_DIR", global = true)]
    pub forge_dir: PathBuf,
    /// owner/name on GitHub (default: $GITHUB_REPOSITORY).
    #[arg(long, value_name = "OWNER/NAME", global = true)]
    pub repo: Option<String>,
    /// Read everything, write nothing; print the writes that would be made.
    #[arg(long, global = true)]
    pub dry_run: bool,
}

impl ForgeArgs {
    /// The forge these flags choose (opened by [`Context::open_forge`]).
    pub fn choice(&self) -> ForgeChoice {
        ForgeChoice {
            kind: self.forge.map(|k| match k {
                ForgeKind::Github => crate::app::ForgeKind::Github,
                ForgeKind::Local => crate::app::ForgeKind::Local,
            }),
            dir: self.forge_dir.clone(),
            repo: self.repo.clone(),
            dry_run: self.dry_run,
        }
    }
}

/// `--format`.
#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// text for people, json or jsonl for machines.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub format: OutputFormat,
}

/// Sets up logging on stderr (`HOMEOSTAT_LOG`, else `RUST_LOG`, else info).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var(crate::gha::vars::HOMEOSTAT_LOG)
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info,octocrab=off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::gha::SafeStderr::default)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Runs a binary's body and maps its result to the shared exit codes, printing the
/// error (with its causes) on stderr.
pub fn main(body: impl FnOnce() -> anyhow::Result<ExitCode>) -> ExitCode {
    restore_sigpipe();
    init_logging();
    match body() {
        Ok(code) => code,
        Err(err) => {
            // Error messages may quote input (serde does): scrubbed like every log line.
            crate::gha::eprint_safe(&format!("error: {err}"));
            for cause in err.chain().skip(1) {
                let text = cause.to_string();
                if !err.to_string().contains(&text) {
                    crate::gha::eprint_safe(&format!("  caused by: {text}"));
                }
            }
            ExitCode::from(crate::error::exit_code(&err))
        }
    }
}

/// `hs-issue … | head` should stop quietly when the reader goes away, as command-line
/// tools do, instead of panicking on a broken pipe (Rust ignores SIGPIPE by default).
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Runs an async body on a throw-away single-threaded runtime: for tests over the local
/// forge. Binaries run flows through [`Context::block_on`], whose runtime also opened
/// the forge.
pub fn block_on<F: std::future::Future>(fut: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(rt.block_on(fut))
}

/// Prints one value as JSON on stdout (one line for jsonl, pretty for json).
pub fn print_json<T: serde::Serialize>(format: OutputFormat, value: &T) -> anyhow::Result<()> {
    let text = match format {
        OutputFormat::Json => serde_json::to_string_pretty(value)?,
        _ => serde_json::to_string(value)?,
    };
    println!("{text}");
    Ok(())
}
