//! hs-fingerprint: turns production errors into stable fingerprints (one per bug).
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use homeostat::cli::{self, ConfigArgs, FormatArgs};
use homeostat::fingerprint::stream;
use homeostat::input::InputArgs;

/// Fingerprint error events: canonical JSONL, Sentry event JSON, or log text (--text).
#[derive(Parser)]
#[command(name = "hs-fingerprint", version)]
struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// One line per fingerprint: {fingerprint, count, title, first_seen, last_seen, ids}.
    #[arg(long)]
    group: bool,
    /// Show for each frame whether it counted, and why.
    #[arg(long)]
    explain: bool,
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
        let ctx = args.config.context()?;
        let engine = homeostat::input::engine_for(&ctx.config, args.rules.as_deref())?;
        let sources = args.input.sources()?;
        let input = args.input.input_format();
        let (output, jobs) = (args.format.format.into(), args.jobs);
        let options = stream::Options {
            input,
            output,
            group: args.group,
            explain: args.explain,
            strict: args.input.strict,
            jobs,
        };
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        stream::run(&engine, sources, options, &mut out, &mut std::io::stderr().lock())?;
        Ok(ExitCode::SUCCESS)
    })
}

// Parsing allocates per field and per frame; mimalloc makes that ~20 % faster than glibc's
// allocator here (scripts/bench-fingerprint.sh), at a flat ~22 MB peak.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
