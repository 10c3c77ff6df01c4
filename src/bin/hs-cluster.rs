//! hs-cluster: near-duplicate reports found (from a JSONL file) or linked (on the forge).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use homeostat::cli::{self, ConfigArgs, ForgeArgs, FormatArgs, OutputFormat};
use homeostat::cluster::{self, Options, read};
use homeostat::{gha, ledger, scrub};

/// Find near-duplicate reports: `FILE.jsonl` prints `{"id", "cluster"}` per item; `--forge`
/// comments on likely duplicates among the repository's open issues (never closes them).
#[derive(Parser)]
#[command(name = "hs-cluster", version)]
struct Args {
    /// Items, one JSON object per line (`{id, repo, title, body, …}`).
    #[arg(required_unless_present = "forge")]
    file: Option<PathBuf>,
    /// Similarity at which items are duplicates (default: config, else 0.72).
    #[arg(long)]
    threshold: Option<f64>,
    /// Let clusters span repositories.
    #[arg(long)]
    across_repos: bool,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    forge: ForgeArgs,
    #[command(flatten)]
    format: FormatArgs,
}

fn main() -> ExitCode {
    cli::main(|| {
        let args = Args::parse();
        let env = gha::Env::from_process();
        let mut config = args.config.load()?;
        let section = config.cluster.get_or_insert_with(Default::default);
        section.threshold = args.threshold.unwrap_or(section.threshold);
        section.across_repos |= args.across_repos;
        let Some(file) = args.file.filter(|_| args.forge.forge.is_none()) else {
            let forge = args.forge.open(&env)?;
            let run_ledger = ledger::RunLedger::open(&config, &env);
            let outcome = cluster::forge::run_with_config(forge.as_ref(), &config, &run_ledger.ledger, &env)?;
            run_ledger.finish();
            cli::print_json(args.format.format, &outcome)?;
            return Ok(ExitCode::SUCCESS);
        };
        let items = read::read_jsonl(&file, &scrub::config_scrubber(&config)?)?;
        let section = config.cluster.unwrap_or_default();
        let opts =
            Options { threshold: section.threshold as f32, across_repos: section.across_repos, ..Options::default() };
        let assignments = cluster::assign(&items, opts);
        match args.format.format {
            OutputFormat::Text => print!("{}", cluster::summary(&items, &assignments)),
            format => assignments.iter().try_for_each(|a| cli::print_json(format, a))?,
        }
        Ok(ExitCode::SUCCESS)
    })
}
