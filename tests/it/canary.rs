//! hs-canary: judge conformance with Kayenta's own test cases, the CLI contract (exit
//! codes, bad configs), actions (commands, revert PR on a bare repo and the local forge),
//! and a real Prometheus server with backfilled series.
//!
//! Each part is a module in `canary/`: `conformance` (`canary::conformance`, the figures
//! scripts/test.sh prints), `cli`, `revert`, `revert_merge`, `prometheus`. The helpers they
//! share are here.

mod cli;
mod conformance;
mod prometheus;
mod revert;
mod revert_merge;

/// Runs hs-canary; returns (exit code, stdout, stderr).
fn hs_canary(args: &[&str], dir: &std::path::Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let cmd = crate::support::run::bin("hs-canary").args(args).dir(dir).env_remove("GITHUB_TOKEN").env("NO_COLOR", "1");
    let out = env.iter().fold(cmd, |cmd, (k, v)| cmd.env(k, v)).run();
    (out.exit(), out.stdout(), out.stderr())
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/canary/{name}", env!("CARGO_MANIFEST_DIR"))
}
