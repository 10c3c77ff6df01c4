//! Running the built binaries as the action runs them: GITHUB_TOKEN, GITHUB_API_URL (the
//! stand-in) and GITHUB_REPOSITORY set, in a checkout-like temp folder.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use github_standin::Standin;

/// Every binary, by name, with the path cargo built it at.
pub const ALL: &[(&str, &str)] = &[
    ("hs-fingerprint", env!("CARGO_BIN_EXE_hs-fingerprint")),
    ("hs-issue", env!("CARGO_BIN_EXE_hs-issue")),
    ("hs-classify", env!("CARGO_BIN_EXE_hs-classify")),
    ("hs-agent", env!("CARGO_BIN_EXE_hs-agent")),
    ("hs-guard", env!("CARGO_BIN_EXE_hs-guard")),
    ("hs-canary", env!("CARGO_BIN_EXE_hs-canary")),
    ("hs-ops", env!("CARGO_BIN_EXE_hs-ops")),
    ("hs-content", env!("CARGO_BIN_EXE_hs-content")),
    ("hs-cluster", env!("CARGO_BIN_EXE_hs-cluster")),
    ("hs-report", env!("CARGO_BIN_EXE_hs-report")),
];

pub fn bin(name: &str) -> &'static str {
    ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p).expect("a homeostat binary")
}

/// The repository root (examples, fixtures).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A job's working folder: a config and a ledger file that survive between runs, as the
/// ledger branch does between an Actions run and its re-run.
pub struct Job {
    pub dir: tempfile::TempDir,
    pub api: String,
    pub repo: String,
}

impl Job {
    pub fn new(gh: &Standin) -> Self {
        Self::at(gh.url(), &gh.repo())
    }

    /// A job against any URL (a dead port, for instance).
    pub fn at(api: &str, repo: &str) -> Self {
        let job = Self { dir: tempfile::tempdir().unwrap(), api: api.into(), repo: repo.into() };
        job.write(
            "homeostat.yml",
            "issues:\n  labels: [bug]\n  max_new_per_run: 100\n  max_new_per_day: 100\nledger:\n  path: ledger.jsonl\n",
        );
        job
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The command as the action runs it: a token, the API URL, the repository; no other
    /// Actions variables (outputs and summaries are tested elsewhere).
    pub fn command(&self, name: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin(name));
        cmd.current_dir(self.dir.path())
            .args(args)
            .env("GITHUB_TOKEN", "ghs_standin_token")
            .env("GITHUB_API_URL", &self.api)
            .env("GITHUB_REPOSITORY", &self.repo)
            .env("HOMEOSTAT_GITHUB_RETRY", "fast")
            .env("HOMEOSTAT_CONFIG", self.path("homeostat.yml"))
            .env("HOMEOSTAT_LOG", "warn")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_OUTPUT")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("GITHUB_EVENT_PATH")
            .stdin(Stdio::null());
        cmd
    }

    /// The same command in the fluent harness ([`super::run`]).
    pub fn cmd(&self, name: &str) -> super::run::Cmd {
        super::run::Cmd::from(self.command(name, &[]))
    }

    pub fn run(&self, name: &str, args: &[&str]) -> Output {
        self.command(name, args).output().unwrap()
    }
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Fails when a run panicked (exit 101 or a panic message).
pub fn assert_no_panic(name: &str, out: &Output) {
    let err = stderr(out);
    assert!(
        out.status.code() != Some(101) && !err.contains("panicked"),
        "{name} panicked ({:?}):\n{err}",
        out.status.code()
    );
}

pub fn example(name: &str) -> String {
    root().join("examples/errors").join(name).to_string_lossy().into_owned()
}
