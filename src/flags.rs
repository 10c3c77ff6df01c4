//! Flags every binary shares, defined once (as ripgrep does).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use homeostat::app::{self, Context, ForgeChoice};
use homeostat::output::OutputFormat;

/// A clap value enum that stands for a library enum of the same variants: the library
/// stays free of clap, the flag keeps its possible values in `--help`.
#[macro_export]
macro_rules! value_enum {
    ($(#[$meta:meta])* $name:ident => $target:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl From<$name> for $target {
            fn from(value: $name) -> Self {
                match value { $($name::$variant => $target::$variant),+ }
            }
        }
    };
}

value_enum! {
    /// `--format`: text for people, json or jsonl for machines.
    Format => OutputFormat { Text, Json, Jsonl }
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
    pub fn context(&self) -> homeostat::Result<Context> {
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
                ForgeKind::Github => app::ForgeKind::Github,
                ForgeKind::Local => app::ForgeKind::Local,
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
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    pub format: Format,
}

impl FormatArgs {
    pub fn get(&self) -> OutputFormat {
        self.format.into()
    }
}

/// Event files: the same inputs for hs-fingerprint and hs-issue.
#[derive(Debug, Clone, Default, Args)]
pub struct InputArgs {
    /// Event files: JSONL (one event per line), Sentry event JSON, or logs with --text.
    /// None, or `-`, reads standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Read raw log text: every stack trace in it becomes an event.
    #[arg(long)]
    pub text: bool,
    /// Stop at the first bad line (exit 2) instead of reporting and skipping it.
    #[arg(long)]
    pub strict: bool,
}

impl From<InputArgs> for homeostat::input::InputArgs {
    fn from(a: InputArgs) -> Self {
        Self { files: a.files, text: a.text, strict: a.strict }
    }
}
