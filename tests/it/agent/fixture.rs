//! The fixture every hs-agent test starts from: a bare remote with a small app, a clone to
//! work in, a local forge with issue #1 and collaborators, a config routing `safe` to a
//! scripted stand-in agent; and hs-agent run in it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::run::{self, Cmd, LocalForge};

pub(super) const SECRET: &str = "hs-test-secret-7f3a9c";

pub(super) const ISSUE_BODY: &str = "**TypeError: Cannot read properties of undefined (reading 'id')**\n\n\
Seen 3 times in release 1.4.2.\n\n```text\nTypeError: Cannot read properties of undefined (reading 'id')\n    \
at renderNote (chrome-extension://abcdef/src/popup.js:2:15)\n    at main (chrome-extension://abcdef/src/popup.js:5:3)\n```\n\n\
<!-- homeostat:fingerprint=0123456789abcdef algorithm=v1 -->\n";

pub(super) struct Fixture {
    pub(super) tmp: tempfile::TempDir,
}

pub(super) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Dev", "-c", "user.email=dev@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(super) fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agent")
}

impl Fixture {
    /// A bare remote with a small app on `main`, a clone to work in, a local forge with
    /// issue #1 and collaborators, and a config routing `safe` to `script`.
    pub(super) fn new(script: &str) -> Self {
        let fx = Self { tmp: tempfile::tempdir().unwrap() };
        let root = fx.tmp.path();
        git(root, &["init", "--quiet", "--bare", "--initial-branch=main", "remote.git"]);
        let seed = root.join("seed");
        git(root, &["init", "--quiet", "--initial-branch=main", "seed"]);
        write(
            &seed.join("src/popup.js"),
            "function renderNote(note) {\n  return note.id;\n}\nmodule.exports = { renderNote };\n",
        );
        write(&seed.join("tests/popup.test.js"), "const { renderNote } = require('../src/popup');\n");
        write(&seed.join("AGENTS.md"), "Run `npm test` before you finish.\n");
        write(
            &seed.join(".github/workflows/ci.yml"),
            "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n",
        );
        git(&seed, &["add", "-A"]);
        git(&seed, &["commit", "--quiet", "-m", "app"]);
        git(&seed, &["push", "--quiet", fx.remote().to_str().unwrap(), "main"]);
        git(root, &["clone", "--quiet", fx.remote().to_str().unwrap(), "work"]);
        write(&fx.forge().join("collaborators.json"), r#"{"ann": "write", "rita": "read"}"#);
        fx.add_issue("TypeError: Cannot read properties of undefined (reading 'id')", ISSUE_BODY);
        std::fs::create_dir_all(fx.out()).unwrap();
        fx.config(script, "30s", "{runs_per_hour: 10, runs_per_day: 30, usd_per_day: 20}");
        fx
    }

    pub(super) fn remote(&self) -> PathBuf {
        self.tmp.path().join("remote.git")
    }
    pub(super) fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }
    pub(super) fn forge(&self) -> PathBuf {
        self.tmp.path().join("forge")
    }
    pub(super) fn out(&self) -> PathBuf {
        self.tmp.path().join("out")
    }
    pub(super) fn ledger(&self) -> PathBuf {
        self.tmp.path().join("ledger.jsonl")
    }

    pub(super) fn config(&self, script: &str, timeout: &str, budget: &str) {
        let text = format!(
            "ledger: {{path: {ledger}}}\nagents:\n  route: {{safe: stand-in}}\n  define:\n    stand-in: {{adapter: custom, run: [\"{script}\"]}}\n  timeout: {timeout}\n  max_attempts: 1\n  budget: {budget}\n  env: [AGENT_TEST_OUT, AGENT_TEST_MODE]\n",
            ledger = self.ledger().display(),
            script = fixtures().join(script).display(),
        );
        write(&self.tmp.path().join("homeostat.yml"), &text);
    }

    pub(super) fn add_issue(&self, title: &str, body: &str) -> u64 {
        let issues = self.forge().join("issues");
        std::fs::create_dir_all(&issues).unwrap();
        let n = std::fs::read_dir(&issues).unwrap().count() as u64 + 1;
        let issue = serde_json::json!({"number": n, "title": title, "body": body, "labels": ["homeostat:error", "homeostat:fix"],
                                       "state": "open", "comments": []});
        write(&issues.join(format!("{n}.json")), &issue.to_string());
        n
    }

    /// Runs hs-agent; returns its exit code and JSON report.
    pub(super) fn run(&self, args: &[&str], mode: &str) -> (i32, Value) {
        let out = self.output(args, mode);
        (out.exit(), out.json())
    }

    /// hs-agent in the fixture's folder with only PATH in its environment, on the local forge.
    pub(super) fn hs_agent(&self) -> Cmd {
        run::bin("hs-agent")
            .env_clear()
            .dir(self.tmp.path())
            .args(["--forge", "local", "--forge-dir"])
            .arg(self.forge())
    }

    pub(super) fn output(&self, args: &[&str], mode: &str) -> run::Ran {
        self.hs_agent()
            .env("HOME", self.tmp.path())
            .env("HS_TEST_SECRET", SECRET)
            .env("AGENT_TEST_OUT", self.out())
            .env("AGENT_TEST_MODE", mode)
            .args(args)
            .arg("--repo-dir")
            .arg(self.work())
            .args(["--config", "homeostat.yml", "--format", "json"])
            .run()
    }

    pub(super) fn fix(&self, actor: &str) -> (i32, Value) {
        self.run(&["fix", "--issue", "1", "--actor", actor], "")
    }

    fn local(&self) -> LocalForge {
        LocalForge::new(self.forge())
    }

    pub(super) fn json(&self, rel: &str) -> Value {
        self.local().json(rel)
    }

    pub(super) fn pulls(&self) -> Vec<Value> {
        self.local().pulls()
    }

    pub(super) fn remote_branch(&self, name: &str) -> Option<String> {
        let text = git(&self.remote(), &["for-each-ref", "--format=%(objectname)", &format!("refs/heads/{name}")]);
        Some(text.trim().to_string()).filter(|s| !s.is_empty())
    }

    pub(super) fn issue_comments(&self) -> String {
        self.json("issues/1.json")["comments"].to_string()
    }

    /// Issue 1's comments as rendered, one after another.
    pub(super) fn comments_text(&self) -> String {
        self.local().comments(1).join("\n\n---\n\n")
    }

    pub(super) fn ledger_runs(&self) -> usize {
        std::fs::read_to_string(self.ledger())
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"agent.run\""))
            .count()
    }
}
