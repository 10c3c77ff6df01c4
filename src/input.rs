//! Reading error events from the files (or stdin) a binary was given: the same inputs
//! for hs-fingerprint, hs-issue and hs-classify. Bad lines are reported with their file
//! and line and skipped; with `--strict` the first one stops the run (exit 2).

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Position, Result};
use crate::event::{ErrorEvent, InputFormat, read_events};

/// Where events come from.
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

/// What a read saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputStats {
    pub events: usize,
    pub bad: usize,
}

impl InputArgs {
    fn format(&self) -> InputFormat {
        if self.text { InputFormat::Text } else { InputFormat::Auto }
    }

    /// The readers to take events from, in the order given: each named file, and
    /// standard input where `-` stands (or alone, when no file is named).
    pub fn sources(&self) -> Result<Vec<(String, Box<dyn BufRead>)>> {
        if self.files.is_empty() && std::io::stdin().is_terminal() {
            return Err(Error::input(Position::file("<stdin>"), "no input: name event files or pipe events in"));
        }
        let stdin = || -> (String, Box<dyn BufRead>) { ("<stdin>".into(), Box::new(BufReader::new(std::io::stdin()))) };
        if self.files.is_empty() {
            return Ok(vec![stdin()]);
        }
        self.files
            .iter()
            .map(|path| {
                if path.as_os_str() == "-" {
                    return Ok(stdin());
                }
                let name = path.display().to_string();
                let file = File::open(path).map_err(|e| Error::input(Position::file(&name), e.to_string()))?;
                Ok((name, Box::new(BufReader::with_capacity(1 << 16, file)) as Box<dyn BufRead>))
            })
            .collect()
    }

    /// The reading format the flags ask for.
    pub fn input_format(&self) -> InputFormat {
        self.format()
    }

    /// Calls `each` for every event of every source, in order.
    pub fn for_each(&self, mut each: impl FnMut(ErrorEvent) -> Result<()>) -> Result<InputStats> {
        let mut stats = InputStats::default();
        for (name, reader) in self.sources()? {
            self.read(&name, reader, &mut stats, &mut each)?;
        }
        Ok(stats)
    }

    fn read<R: std::io::BufRead>(
        &self,
        name: &str,
        reader: R,
        stats: &mut InputStats,
        each: &mut impl FnMut(ErrorEvent) -> Result<()>,
    ) -> Result<()> {
        for item in read_events(name, reader, self.format()) {
            match item {
                Ok(event) => {
                    stats.events += 1;
                    each(event)?;
                }
                Err(bad) if self.strict => return Err(Error::input(bad.at, bad.reason)),
                Err(bad) => {
                    stats.bad += 1;
                    crate::gha::eprint_safe(&format!("warning: {bad} (skipped)"));
                }
            }
        }
        Ok(())
    }
}

/// Events from JSON values (a `repository_dispatch` payload), through the same checks as
/// a file's lines.
pub fn events_from_values(source: &str, values: &[serde_json::Value], strict: bool) -> Result<Vec<ErrorEvent>> {
    let mut out = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let text = value.to_string();
        match crate::event::parse_event(&text) {
            Ok(event) => out.push(event),
            Err(reason) if strict => return Err(Error::input(Position::file(format!("{source}[{i}]")), reason)),
            Err(reason) => crate::gha::eprint_safe(&format!("warning: {source}[{i}]: {reason} (skipped)")),
        }
    }
    Ok(out)
}

/// The fingerprint engine a config asks for: the built-in rules, plus `rules` when given,
/// else the config's `fingerprint.rules`.
pub fn engine_for(
    config: &crate::config::Config,
    rules: Option<&std::path::Path>,
) -> Result<crate::fingerprint::Engine> {
    let path = rules
        .map(std::path::Path::to_path_buf)
        .or_else(|| config.fingerprint.rules.as_ref().map(|p| crate::config::relative_to(config, p)));
    match path {
        None => Ok(crate::fingerprint::Engine::builtin()),
        Some(path) => {
            let text = crate::error::read_to_string(&path)?;
            crate::fingerprint::Engine::with_rules(&path.display().to_string(), &text)
        }
    }
}
