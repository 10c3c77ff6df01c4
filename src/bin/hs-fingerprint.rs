//! hs-fingerprint: turns production errors into stable fingerprints (one per bug).
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use homeostat::cli::{self, ConfigArgs, FormatArgs};
use homeostat::error::{Position, read_to_string};
use homeostat::event::InputFormat;
use homeostat::fingerprint::{Engine, stream};

/// Fingerprint error events: canonical JSONL, Sentry event JSON, or log text (--text).
#[derive(Parser)]
#[command(name = "hs-fingerprint", version)]
struct Args {
    /// Input files (none or `-`: standard input).
    files: Vec<PathBuf>,
    /// Read raw log text and fingerprint every stack trace found in it.
    #[arg(long)]
    text: bool,
    /// One line per fingerprint: {fingerprint, count, title, first_seen, last_seen, ids}.
    #[arg(long)]
    group: bool,
    /// Show for each frame whether it counted, and why.
    #[arg(long)]
    explain: bool,
    /// Exit 2 at the first bad line instead of reporting and skipping it.
    #[arg(long)]
    strict: bool,
    /// Worker threads for JSONL input (1: none; 0: one per core).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Rules file (default: fingerprint.rules from the config).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    format: FormatArgs,
}

fn main() -> ExitCode {
    cli::main(|| {
        let args = Args::parse();
        let config = args.config.load()?;
        let rules = args
            .rules
            .or_else(|| config.fingerprint.rules.as_ref().map(|p| homeostat::config::relative_to(&config, p)));
        let engine = match rules {
            Some(path) => Engine::with_rules(&path.display().to_string(), &read_to_string(&path)?)?,
            None => Engine::builtin(),
        };
        let mut sources: Vec<(String, Box<dyn BufRead>)> = Vec::new();
        for path in args.files.iter().filter(|p| p.as_os_str() != "-") {
            let name = path.display().to_string();
            let file =
                std::fs::File::open(path).map_err(|e| homeostat::Error::input(Position::file(&name), e.to_string()))?;
            sources.push((name, Box::new(BufReader::with_capacity(1 << 16, file))));
        }
        if args.files.is_empty() || args.files.iter().any(|p| p.as_os_str() == "-") {
            sources.push(("<stdin>".into(), Box::new(std::io::stdin().lock())));
        }
        let input = if args.text { InputFormat::Text } else { InputFormat::Auto };
        let (output, jobs) = (args.format.format.into(), args.jobs);
        let options =
            stream::Options { input, output, group: args.group, explain: args.explain, strict: args.strict, jobs };
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        stream::run(&engine, sources, options, &mut out, &mut std::io::stderr().lock())?;
        Ok(ExitCode::SUCCESS)
    })
}
