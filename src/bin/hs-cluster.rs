//! hs-cluster: near-duplicate reports found (from a JSONL file) or linked (on the forge).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use homeostat::output::print_json;
use homeostat::{cluster, scrub};
use homeostat_cli::edge;
use homeostat_cli::flags::{ConfigArgs, ForgeArgs, FormatArgs};

/// Find near-duplicate reports: `FILE.jsonl` prints `{"id", "cluster"}` per item; `--forge`
/// comments on likely duplicates among the repository's open issues (never closes them).
#[derive(Parser)]
#[command(name = "hs-cluster", version)]
struct Args {
    /// Items, one JSON object per line (`{id, repo, title, body, …}`).
    #[arg(required_unless_present = "forge")]
    file: Option<PathBuf>,
    /// Match FILE's items one by one against the clusters of these existing items.
    #[arg(long, value_name = "EXISTING.jsonl")]
    against: Option<PathBuf>,
    /// Similarity at which items are duplicates (default: config, else 0.62).
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
    edge::main(|| {
        let args = Args::parse();
        let mut ctx = args.config.context()?;
        let section = ctx.config.cluster.get_or_insert_with(Default::default);
        section.threshold = args.threshold.unwrap_or(section.threshold);
        section.across_repos |= args.across_repos;
        if let Some(file) = args.file.filter(|_| args.forge.forge.is_none()) {
            let scrubber = scrub::config_scrubber(&ctx.config)?;
            let section = ctx.config.cluster.clone().unwrap_or_default();
            cluster::run::run_file(&file, args.against.as_deref(), &section, &scrubber, args.format.get())?;
            return Ok(ExitCode::SUCCESS);
        }
        let forge = ctx.open_forge(&args.forge.choice())?;
        let session = ctx.ledger(Path::new("."));
        let now = ctx.clock.now();
        let run = cluster::forge::run_with_config(forge.as_ref(), &ctx.config, &session.ledger, &ctx.env, now);
        let outcome = ctx.block_on(run);
        ctx.finish_ledger(&session);
        print_json(args.format.get(), &outcome?)?;
        Ok(ExitCode::SUCCESS)
    })
}
