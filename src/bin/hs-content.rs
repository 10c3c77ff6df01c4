//! hs-content: scheduled guides and social posts as committed files, proposed in one PR.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use homeostat::cli::{self, ConfigArgs, ForgeArgs, FormatArgs};
use homeostat::content::generate as run;

#[derive(Parser)]
#[command(version, about = "Plan, generate, publish and learn from feedback: guides and social posts as files")]
struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    forge: ForgeArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// The repository checkout (paths in the config are relative to it).
    #[arg(long, default_value = ".", global = true)]
    repo_dir: PathBuf,
    /// The time the run acts at, RFC 3339 (tests and replays; default now).
    #[arg(long, global = true, hide = true)]
    now: Option<jiff::Timestamp>,
}

#[derive(Subcommand)]
enum Command {
    /// Show what the next run would write and why.
    Plan,
    /// Write the next pages, images and social bundles and propose them in one PR.
    Generate {
        /// Write the files only: no commit, push or PR.
        #[arg(long)]
        no_pr: bool,
        /// The git remote to push the branch to.
        #[arg(long, default_value = "origin")]
        remote: String,
        /// Another folder of fonts for the Open Graph image.
        #[arg(long)]
        fonts: Vec<PathBuf>,
    },
    /// Sitemap from live pages; approve the posts maintainers marked.
    Publish,
    /// Summarise issues labelled `feedback` into content/feedback/<period>.yml.
    Feedback,
}

fn main() -> ExitCode {
    cli::main(|| {
        let args = Args::parse();
        let env = homeostat::gha::Env::from_process();
        let session = homeostat::content::Session::open(&args.config.load()?, &args.repo_dir, &env, args.now)?;
        let report = match args.command {
            Command::Plan => serde_json::to_value(session.plan()?)?,
            Command::Publish => {
                serde_json::to_value(run::publish(&session.workspace, homeostat::content::sitemap::MAX_URLS)?)?
            }
            // A dry run spends nothing: it shows the plan the run would follow.
            Command::Generate { .. } if args.forge.dry_run => serde_json::to_value(session.plan()?)?,
            Command::Generate { no_pr, remote, fonts } => {
                let forge = args.forge.open(&env)?;
                let propose = !no_pr;
                serde_json::to_value(cli::block_on(session.generate(forge.as_ref(), propose, remote, fonts))??)?
            }
            Command::Feedback => {
                let forge = args.forge.open(&env)?;
                serde_json::to_value(cli::block_on(session.feedback(forge.as_ref()))??)?
            }
        };
        session.finish(&report)?;
        cli::print_json(args.format.format, &report)?;
        Ok(ExitCode::SUCCESS)
    })
}
