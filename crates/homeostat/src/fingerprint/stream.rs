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

impl From<crate::output::OutputFormat> for Output {
    fn from(f: crate::output::OutputFormat) -> Self {
        match f {
            crate::output::OutputFormat::Text => Output::Text,
            crate::output::OutputFormat::Json => Output::Json,
            crate::output::OutputFormat::Jsonl => Output::Jsonl,
        }
    }
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
    /// Worker threads for JSONL (1: fingerprint on the reading thread; 0: one per core).
    pub jobs: usize,
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

/// Fingerprints every event of every source, in order. With `jobs` > 1, JSONL sources are
/// parsed and fingerprinted on that many worker threads in bounded batches; the output
/// keeps the input order.
pub fn run(
    engine: &Engine,
    sources: Vec<(String, Box<dyn BufRead + '_>)>,
    options: Options,
    out: &mut dyn Write,
    errors: &mut dyn Write,
) -> Result<Summary> {
    let workers = match options.jobs {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    let mut sink = Sink {
        options,
        out,
        errors,
        summary: Summary::default(),
        grouper: Grouper::default(),
        seen: Default::default(),
        first: true,
        line: Vec::with_capacity(1024),
    };
    sink.start()?;
    for (name, reader) in sources {
        let mut events = read_events(&name, reader, options.input);
        if options.input == InputFormat::Auto && workers > 1 && !events.starts_with_document() {
            run_parallel(engine, &name, &mut events, workers, &mut sink)?;
            continue;
        }
        for item in events {
            sink.accept(item.map(|event| {
                let fp = fingerprint(engine, &event, options.explain);
                (event, fp)
            }))?;
        }
    }
    sink.finish()?;
    Ok(sink.summary)
}

fn fingerprint(engine: &Engine, event: &crate::event::ErrorEvent, explain: bool) -> Fingerprint {
    if explain { engine.explain(event) } else { engine.fingerprint(event) }
}

type Item = std::result::Result<(crate::event::ErrorEvent, Fingerprint), crate::event::BadLine>;

fn run_parallel<R: BufRead>(
    engine: &Engine,
    name: &str,
    events: &mut crate::event::EventReader<R>,
    workers: usize,
    sink: &mut Sink<'_>,
) -> Result<()> {
    use crate::event::RawLine;
    use std::sync::mpsc;
    const BATCH: usize = 256;
    let explain = sink.options.explain;
    let (job_tx, job_rx) = mpsc::sync_channel::<(u64, Vec<RawLine>)>(workers * 2);
    let job_rx = std::sync::Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<(u64, Vec<Item>)>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || worker(engine, name, explain, job_rx, done_tx));
        }
        drop(done_tx);
        let mut pending: std::collections::BTreeMap<u64, Vec<Item>> = Default::default();
        let mut next = 0u64;
        let mut sent = 0u64;
        let mut outcome = Ok(());
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let line = events.next_raw();
            let end = line.is_none();
            batch.extend(line);
            if batch.len() >= BATCH || (end && !batch.is_empty()) {
                if job_tx.send((sent, std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))).is_err() {
                    break;
                }
                sent += 1;
            }
            while let Ok((seq, items)) = done_rx.try_recv() {
                pending.insert(seq, items);
            }
            if let Err(e) = drain(&mut pending, &mut next, sink) {
                outcome = Err(e);
                break;
            }
            if end {
                break;
            }
        }
        drop(job_tx);
        for (seq, items) in done_rx.iter() {
            pending.insert(seq, items);
            if outcome.is_ok()
                && let Err(e) = drain(&mut pending, &mut next, sink)
            {
                outcome = Err(e);
            }
        }
        outcome
    })
}

/// One worker thread: parses and fingerprints batches of lines until the jobs run out.
fn worker(
    engine: &Engine,
    name: &str,
    explain: bool,
    job_rx: &std::sync::Mutex<std::sync::mpsc::Receiver<(u64, Vec<crate::event::RawLine>)>>,
    done_tx: std::sync::mpsc::Sender<(u64, Vec<Item>)>,
) {
    use crate::event::RawLine;
    loop {
        let job = match job_rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, lines)) = job else { return };
        let items: Vec<Item> = lines
            .into_iter()
            .filter_map(|line| match line {
                RawLine::Line(n, bytes) => crate::event::parse_line(name, n, &bytes),
                RawLine::Bad(bad) => Some(Err(bad)),
            })
            .map(|r| {
                r.map(|event| {
                    let fp = fingerprint(engine, &event, explain);
                    (event, fp)
                })
            })
            .collect();
        if done_tx.send((seq, items)).is_err() {
            return;
        }
    }
}

/// Writes every finished batch that is next in input order.
fn drain(pending: &mut std::collections::BTreeMap<u64, Vec<Item>>, next: &mut u64, sink: &mut Sink<'_>) -> Result<()> {
    while let Some(items) = pending.remove(next) {
        *next += 1;
        for item in items {
            sink.accept(item)?;
        }
    }
    Ok(())
}

/// Where fingerprinted events go, in input order.
struct Sink<'w> {
    options: Options,
    out: &'w mut dyn Write,
    errors: &'w mut dyn Write,
    summary: Summary,
    grouper: Grouper,
    seen: std::collections::HashSet<String>,
    first: bool,
    /// One output line, serialised whole before it is written (one write per line).
    line: Vec<u8>,
}

fn io(e: std::io::Error) -> Error {
    Error::io("<stdout>", e)
}

impl Sink<'_> {
    fn start(&mut self) -> Result<()> {
        if self.options.output == Output::Json {
            self.out.write_all(b"[").map_err(io)?;
        }
        if self.options.output == Output::Text && !self.options.group {
            writeln!(self.out, "{:<16}  {:<10}  {:<50}  culprit", "fingerprint", "platform", "title").map_err(io)?;
        }
        Ok(())
    }

    fn accept(&mut self, item: Item) -> Result<()> {
        let (event, fp) = match item {
            Ok(pair) => pair,
            Err(bad) => {
                self.summary.bad_lines += 1;
                if self.options.strict {
                    return Err(InputError::new(bad.at, bad.reason).into());
                }
                writeln!(self.errors, "{bad}").map_err(io)?;
                return Ok(());
            }
        };
        self.summary.events += 1;
        if !self.seen.contains(&fp.fingerprint) {
            self.seen.insert(fp.fingerprint.clone());
            self.summary.fingerprints += 1;
        }
        if self.options.group {
            self.grouper.add(&fp, &event);
            return Ok(());
        }
        match self.options.output {
            Output::Text => write_text(self.out, &fp).map_err(io)?,
            Output::Json | Output::Jsonl => match fp.explanation.as_ref() {
                Some(explain) => self.write_json(&Explained { fingerprint: &fp, explain })?,
                None => self.write_json(&fp)?,
            },
        }
        Ok(())
    }

    fn write_json<T: Serialize>(&mut self, value: &T) -> Result<()> {
        if self.options.output == Output::Json {
            self.out.write_all(if self.first { b"\n" } else { b",\n" }).map_err(io)?;
        }
        self.first = false;
        self.line.clear();
        serde_json::to_writer(&mut self.line, value).map_err(|e| Error::Failed(e.to_string()))?;
        if self.options.output == Output::Jsonl {
            self.line.push(b'\n');
        }
        self.out.write_all(&self.line).map_err(io)
    }

    fn finish(&mut self) -> Result<()> {
        if self.options.group {
            let groups = std::mem::take(&mut self.grouper).finish();
            match self.options.output {
                Output::Text => {
                    writeln!(
                        self.out,
                        "{:>7}  {:<16}  {:<20}  {:<20}  title",
                        "count", "fingerprint", "first seen", "last seen"
                    )
                    .map_err(io)?;
                    for g in &groups {
                        writeln!(
                            self.out,
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
                        self.write_json(g)?;
                    }
                }
            }
        }
        if self.options.output == Output::Json {
            self.out.write_all(b"\n]\n").map_err(io)?;
        }
        self.out.flush().map_err(io)
    }
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
