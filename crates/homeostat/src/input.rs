//! Reading error events from the files (or stdin) a binary was given: the same inputs
//! for hs-fingerprint, hs-issue and hs-classify. Bad lines are reported with their file
//! and line and skipped; with `--strict` the first one stops the run (exit 2).

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::PathBuf;

use crate::error::{Error, Position, Result};
use crate::event::{ErrorEvent, InputFormat, read_events};

/// Where events come from.
#[derive(Debug, Clone, Default)]
pub struct InputArgs {
    /// Event files: JSONL (one event per line), Sentry event JSON, or logs with --text.
    /// None, or `-`, reads standard input.
    pub files: Vec<PathBuf>,
    /// Read raw log text: every stack trace in it becomes an event.
    pub text: bool,
    /// Stop at the first bad line (exit 2) instead of reporting and skipping it.
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
/// else the config's `fingerprint.rules`; source maps from the config's
/// `fingerprint.sourcemaps`.
pub fn engine_for(
    config: &crate::settings::Config,
    rules: Option<&std::path::Path>,
) -> Result<crate::fingerprint::Engine> {
    engine_with(config, rules, None)
}

/// [`engine_for`], with source maps from `sourcemaps` when given.
pub fn engine_with(
    config: &crate::settings::Config,
    rules: Option<&std::path::Path>,
    sourcemaps: Option<&std::path::Path>,
) -> Result<crate::fingerprint::Engine> {
    let path = rules.map(std::path::Path::to_path_buf).or_else(|| config.fingerprint.rules.clone());
    let engine = match path {
        None => crate::fingerprint::Engine::builtin(),
        Some(path) => {
            let text = crate::error::read_to_string(&path)?;
            crate::fingerprint::Engine::with_rules(&path.display().to_string(), &text)?
        }
    };
    let maps = sourcemaps.map(std::path::Path::to_path_buf).or_else(|| config.fingerprint.sourcemaps.clone());
    match maps {
        None => Ok(engine),
        Some(dir) => Ok(engine.with_sourcemaps(load_sourcemaps(&dir)?)),
    }
}

/// Reads the source maps in `dir`: `*.map` files in it apply to every release; those in a
/// sub-folder named after a release (`dir/1.4.2/**/*.map`) to events of that release. Each
/// map belongs to the minified file named by its `file` field, else by its own name less
/// `.map`; that file, when beside the map, is read too (for original function names).
pub fn load_sourcemaps(dir: &std::path::Path) -> Result<crate::fingerprint::sourcemaps::SourceMaps> {
    let mut maps = crate::fingerprint::sourcemaps::SourceMaps::default();
    let at = |p: &std::path::Path| Position::file(p.display().to_string());
    let entries = std::fs::read_dir(dir).map_err(|e| Error::input(at(dir), e.to_string()))?;
    let mut folders = vec![(None, dir.to_path_buf())];
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            folders.push((Some(entry.file_name().to_string_lossy().into_owned()), entry.path()));
        }
    }
    for (release, folder) in folders {
        let mut stack = vec![folder.clone()];
        while let Some(d) = stack.pop() {
            let list = std::fs::read_dir(&d).map_err(|e| Error::input(at(&d), e.to_string()))?;
            for entry in list.flatten() {
                let path = entry.path();
                // Release folders are read on their own; below them, every folder.
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    if release.is_some() {
                        stack.push(path);
                    }
                    continue;
                }
                if path.extension().is_none_or(|e| e != "map") {
                    continue;
                }
                let bytes = std::fs::read(&path).map_err(|e| Error::input(at(&path), e.to_string()))?;
                let named = serde_json::from_slice::<serde_json::Value>(&bytes)
                    .ok()
                    .and_then(|v| v.get("file").and_then(|f| f.as_str()).map(str::to_string));
                let minified = path.with_extension("");
                let file = named.unwrap_or_else(|| minified.file_name().unwrap_or_default().to_string_lossy().into());
                let source = std::fs::read_to_string(&minified).ok();
                maps.add(release.as_deref(), &file, &bytes, source).map_err(|r| Error::input(at(&path), r))?;
            }
        }
    }
    Ok(maps)
}
