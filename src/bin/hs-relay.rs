//! hs-relay: the Sentry-protocol ingest server (errors in, issues out, no token in clients).

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use homeostat::{gha, relay};
use homeostat_cli::edge;
use homeostat_cli::flags::{ConfigArgs, ForgeArgs};

/// Accept errors from Sentry SDKs, canonical JSON and Alertmanager; scrub, fingerprint,
/// rate-limit and spool them; forward them to GitHub (repository_dispatch) or file issues.
#[derive(Parser)]
#[command(name = "hs-relay", version)]
struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address to listen on (port 0 picks a free one; the address is printed on stdout).
    #[arg(long, value_name = "ADDR:PORT", env = "HOMEOSTAT_RELAY_LISTEN", default_value = "127.0.0.1:9477")]
    listen: SocketAddr,
    /// Run the issue flow in the relay instead of dispatching to GitHub.
    #[arg(long)]
    direct: bool,
    #[command(flatten)]
    forge: ForgeArgs,
}

fn main() -> ExitCode {
    edge::main(|| {
        let args = Args::parse();
        let env = gha::Env::from_process();
        let config = homeostat::settings::Config::discover(args.config.config.as_deref(), &env)?;
        relay::serve_blocking(args.listen, config, args.direct, args.forge.choice(), &env)?;
        Ok(ExitCode::SUCCESS)
    })
}

// Every request allocates per header, field and frame on two worker threads; glibc's
// malloc spent ≈ 12 % of the relay's CPU under load (perf), mimalloc far less.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
