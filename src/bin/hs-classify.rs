//! hs-classify: how risky is a fix for this error (`error`), is a policy sound
//! (`check-policy`), which class does a changed path take (`path`).
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use homeostat::cli::{self, ConfigArgs, ForgeArgs, FormatArgs};
use homeostat::triage::{self, ClassifyCommand as Command};
use homeostat::{input, policy::Policy};

#[derive(Parser)]
#[command(version, about = "Classify errors and paths by the risk policy")]
struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    config: ConfigArgs,
    /// Policy file (else the config's `policy:`, else the built-in default).
    #[arg(long, value_name = "FILE", global = true)]
    policy: Option<PathBuf>,
    #[command(flatten)]
    forge: ForgeArgs,
    #[command(flatten)]
    format: FormatArgs,
}

fn main() -> ExitCode {
    cli::main(|| {
        let args = Args::parse();
        let (format, ctx) = (args.format.format, args.config.context()?);
        let engine = input::engine_for(&ctx.config, None)?;
        let out = if let Command::CheckPolicy { file, sample, paths } = &args.command {
            triage::run_check_policy(file, sample.as_deref(), paths.as_deref(), &engine, format)?
        } else {
            let policy = Policy::from_config(&ctx.config, args.policy.as_deref())?;
            match args.command {
                Command::Error { event: Some(input), .. } => {
                    let results = triage::classify_event_file(&policy, &engine, &input, &ctx.actions())?;
                    let each = |c| triage::render(format, c, || triage::classification_text(c));
                    results.iter().map(each).collect::<Result<String, _>>()?
                }
                Command::Error { issue: Some(number), .. } => {
                    let forge = ctx.open_forge(&args.forge.choice())?;
                    let done = ctx.block_on(triage::classify_issue(forge.as_ref(), &policy, number))?;
                    triage::write_actions(&ctx.actions(), &done.classification)?;
                    triage::render(format, &done, || triage::classification_text(&done.classification))?
                }
                Command::Path { paths } => {
                    let rows = triage::path_rows(&policy, &paths);
                    triage::render(format, &rows, || triage::paths_text(&rows))?
                }
                _ => Err(homeostat::Error::input(
                    homeostat::error::Position::file("hs-classify error"),
                    "needs --event FILE or --issue N",
                ))?,
            }
        };
        print!("{out}");
        Ok(ExitCode::SUCCESS)
    })
}
