//! The fluent harness: run a built binary with arguments, environment and stdin, then assert
//! its exit code, stdout and stderr, and read back the forge it wrote to (the local forge's
//! folder, or the GitHub stand-in's state).
//!
//! ```ignore
//! let out = support::run::bin("hs-classify").args(["--format", "json"]).stdin(event).run();
//! let report = out.code(0).json();
//! ```
//! Every assertion prints the whole run (command, exit, stdout, stderr) when it fails.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::bins;

/// A command being built: the binary by name (`hs-agent`), or any [`Command`].
pub struct Cmd {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

/// A homeostat binary by name, run with no inherited GitHub Actions variables (a test on
/// a runner must not write to the runner's own outputs).
pub fn bin(name: &str) -> Cmd {
    let mut cmd = Command::new(bins::bin(name));
    for var in ["GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_EVENT_PATH"] {
        cmd.env_remove(var);
    }
    Cmd::from(cmd)
}

impl From<Command> for Cmd {
    fn from(cmd: Command) -> Self {
        Self { cmd, stdin: None }
    }
}

impl Cmd {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// Only `PATH` (and what is set after this) reaches the binary.
    pub fn env_clear(mut self) -> Self {
        self.cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
        self
    }

    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn stdin(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(text.into());
        self
    }

    /// The command itself, for a test that spawns it and stops it half-way (stdin null).
    pub fn command(mut self) -> Command {
        self.cmd.stdin(Stdio::null());
        self.cmd
    }

    /// Runs to the end; stdin is closed (or holds [`Cmd::stdin`]).
    pub fn run(mut self) -> Ran {
        let shown = format!("{:?}", self.cmd);
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.cmd.stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = self.cmd.spawn().unwrap_or_else(|e| panic!("{shown}: {e}"));
        if let Some(text) = self.stdin.take() {
            let mut pipe = child.stdin.take().unwrap();
            // A binary may stop reading early (a refused input): a broken pipe is its answer.
            let writer = std::thread::spawn(move || {
                let _ = pipe.write_all(&text);
            });
            let output = child.wait_with_output().unwrap();
            writer.join().unwrap();
            return Ran { output, shown };
        }
        Ran { output: child.wait_with_output().unwrap(), shown }
    }
}

/// A finished run.
pub struct Ran {
    pub output: Output,
    shown: String,
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\nexit: {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.shown,
            self.output.status.code(),
            self.stdout(),
            self.stderr()
        )
    }
}

impl Ran {
    /// The exit code (-1 when a signal ended it).
    pub fn exit(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.output.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(self.exit(), code, "exit code\n{self}");
        self
    }

    #[track_caller]
    pub fn success(self) -> Self {
        self.code(0)
    }

    /// Asserts that no panic ended the run (exit 101 or a panic message).
    #[track_caller]
    pub fn no_panic(self) -> Self {
        assert!(self.exit() != 101 && !self.stderr().contains("panicked"), "panicked\n{self}");
        self
    }

    #[track_caller]
    pub fn stdout_has(self, text: &str) -> Self {
        assert!(self.stdout().contains(text), "stdout lacks {text:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Self {
        assert!(self.stderr().contains(text), "stderr lacks {text:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn stdout_lacks(self, text: &str) -> Self {
        assert!(!self.stdout().contains(text), "stdout holds {text:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn stderr_lacks(self, text: &str) -> Self {
        assert!(!self.stderr().contains(text), "stderr holds {text:?}\n{self}");
        self
    }
}

/// The local forge's folder (`--forge-dir`): issues/N.json, pulls/N.json, collaborators.
pub struct LocalForge(pub PathBuf);

impl LocalForge {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self(dir.into())
    }

    /// A file of the forge as JSON (`issues/1.json`).
    #[track_caller]
    pub fn json(&self, rel: &str) -> Value {
        let path = self.0.join(rel);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    pub fn issue(&self, number: u64) -> Value {
        self.json(&format!("issues/{number}.json"))
    }

    /// Every file in a folder of the forge (`issues`, `pulls`), by number.
    pub fn all(&self, kind: &str) -> Vec<Value> {
        let mut out: Vec<Value> = std::fs::read_dir(self.0.join(kind))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json")) // not a temporary
                    .map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by_key(|v: &Value| v["number"].as_u64());
        out
    }

    pub fn issues(&self) -> Vec<Value> {
        self.all("issues")
    }

    pub fn pulls(&self) -> Vec<Value> {
        self.all("pulls")
    }

    /// An issue's labels.
    pub fn labels(&self, number: u64) -> Vec<String> {
        let issue = self.issue(number);
        issue["labels"]
            .as_array()
            .map(|l| l.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// An issue's comments' bodies, oldest first.
    pub fn comments(&self, number: u64) -> Vec<String> {
        let issue = self.issue(number);
        let bodies = issue["comments"].as_array().cloned().unwrap_or_default();
        bodies
            .iter()
            .map(|c| c.as_str().map(str::to_string).unwrap_or_else(|| c["body"].as_str().unwrap_or("").to_string()))
            .collect()
    }
}

/// Reading the GitHub stand-in back.
pub trait StandinState {
    /// An issue's (or pull request's) body.
    fn body(&self, number: u64) -> String;
    /// Its labels.
    fn labels(&self, number: u64) -> Vec<String>;
    /// Its comments' bodies, oldest first.
    fn comments(&self, number: u64) -> Vec<String>;
}

impl StandinState for github_standin::Standin {
    fn body(&self, number: u64) -> String {
        self.state().issues[&number].body.clone().unwrap_or_default()
    }

    fn labels(&self, number: u64) -> Vec<String> {
        self.state().issues[&number].labels.clone()
    }

    fn comments(&self, number: u64) -> Vec<String> {
        self.state().comments_on(number).map(|c| c.body.clone()).collect()
    }
}
