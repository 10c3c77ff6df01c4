//! The hs-fingerprint run: events in (streamed from readers the caller opened), one
//! output line per event (or per group) out. Bad lines go to `errors` as `file:line: reason`.

use std::io::{BufRead, Write};

use serde::Serialize;

use super::{Engine, Explanation, Fingerprint, Grouper};
use crate::error::{Error, InputError, Result};
use crate::event::{InputFormat, read_events};

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// A table for people.
    #[default]
    Text,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub input: InputFormat,
    pub output: Output,
    /// One line per fingerprint instead of one per event.
    pub group: bool,
    /// Say for each frame whether it counted, and why.
    pub explain: bool,
    /// Stop at the first bad line (exit 2) instead of reporting and skipping it.
    pub strict: bool,
}

/// What a run saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub events: u64,
    pub bad_lines: u64,
    pub fingerprints: u64,
}

#[derive(Serialize)]
struct Explained<'a> {
    #[serde(flatten)]
    fingerprint: &'a Fingerprint,
    explain: &'a Explanation,
}

/// Fingerprints every event of every source, in order.
pub fn run(
    engine: &Engine,
    sources: Vec<(String, Box<dyn BufRead + '_>)>,
    options: Options,
    out: &mut dyn Write,
    errors: &mut dyn Write,
) -> Result<Summary> {
    let io = |e: std::io::Error| Error::io("<stdout>", e);
    let mut summary = Summary::default();
    let mut grouper = Grouper::default();
    let mut seen = std::collections::HashSet::new();
    let mut first = true;
    if options.output == Output::Json {
        out.write_all(b"[").map_err(io)?;
    }
    if options.output == Output::Text && !options.group {
        writeln!(out, "{:<16}  {:<10}  {:<50}  culprit", "fingerprint", "platform", "title").map_err(io)?;
    }
    for (name, reader) in sources {
        for item in read_events(&name, reader, options.input) {
            let event = match item {
                Ok(event) => event,
                Err(bad) => {
                    summary.bad_lines += 1;
                    if options.strict {
                        return Err(InputError::new(bad.at, bad.reason).into());
                    }
                    writeln!(errors, "{bad}").map_err(io)?;
                    continue;
                }
            };
            summary.events += 1;
            let fp = if options.explain { engine.explain(&event) } else { engine.fingerprint(&event) };
            if seen.insert(fp.fingerprint.clone()) {
                summary.fingerprints += 1;
            }
            if options.group {
                grouper.add(&fp, &event);
                continue;
            }
            match options.output {
                Output::Text => write_text(out, &fp).map_err(io)?,
                Output::Json | Output::Jsonl => {
                    if options.output == Output::Json {
                        out.write_all(if first { b"\n" } else { b",\n" }).map_err(io)?;
                    }
                    first = false;
                    match fp.explanation.as_ref() {
                        Some(explain) => serde_json::to_writer(&mut *out, &Explained { fingerprint: &fp, explain }),
                        None => serde_json::to_writer(&mut *out, &fp),
                    }
                    .map_err(|e| Error::Failed(e.to_string()))?;
                    if options.output == Output::Jsonl {
                        out.write_all(b"\n").map_err(io)?;
                    }
                }
            }
        }
    }
    if options.group {
        let groups = grouper.finish();
        match options.output {
            Output::Text => {
                writeln!(
                    out,
                    "{:>7}  {:<16}  {:<20}  {:<20}  title",
                    "count", "fingerprint", "first seen", "last seen"
                )
                .map_err(io)?;
                for g in &groups {
                    writeln!(
                        out,
                        "{:>7}  {:<16}  {:<20}  {:<20}  {}",
                        g.count,
                        g.fingerprint,
                        g.first_seen.as_deref().unwrap_or("-"),
                        g.last_seen.as_deref().unwrap_or("-"),
                        g.title
                    )
                    .map_err(io)?;
                }
            }
            Output::Json | Output::Jsonl => {
                for g in &groups {
                    if options.output == Output::Json {
                        out.write_all(if first { b"\n" } else { b",\n" }).map_err(io)?;
                    }
                    first = false;
                    serde_json::to_writer(&mut *out, g).map_err(|e| Error::Failed(e.to_string()))?;
                    if options.output == Output::Jsonl {
                        out.write_all(b"\n").map_err(io)?;
                    }
                }
            }
        }
    }
    if options.output == Output::Json {
        out.write_all(b"\n]\n").map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(summary)
}

fn write_text(out: &mut dyn Write, fp: &Fingerprint) -> std::io::Result<()> {
    let title: String = fp.title.chars().take(50).collect();
    writeln!(out, "{:<16}  {:<10}  {:<50}  {}", fp.fingerprint, fp.platform, title, fp.culprit)?;
    if let Some(x) = &fp.explanation {
        writeln!(
            out,
            "    grouped by: {}{}",
            x.variant,
            x.rule.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
        )?;
        writeln!(out, "    values: {}", serde_json::to_string(&x.values).unwrap_or_default())?;
        for (n, ex) in x.exceptions.iter().enumerate() {
            writeln!(out, "    exception {}: {}", n + 1, ex.r#type.as_deref().unwrap_or("(no type)"))?;
            // Most recent call first, as people read stacks.
            for f in ex.frames.iter().rev() {
                let place = f.module.as_deref().or(f.file.as_deref()).unwrap_or("?");
                writeln!(
                    out,
                    "      {} {} ({place}){}  — {}",
                    if f.contributes { "+" } else { "-" },
                    f.function.as_deref().unwrap_or("?"),
                    if f.in_app { " [app]" } else { "" },
                    f.reason
                )?;
            }
        }
    }
    Ok(())
}
