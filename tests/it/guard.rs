//! hs-guard over real git repositories built in temp dirs: one test per check, renames,
//! binary files, merge bases, external checks, the CLI contract and the PR comment.

use std::path::{Path, PathBuf};
use std::process::Command;

use homeostat::diff::{self, FileStatus};
use homeostat::guard::{self, Decision, ExternalCheck, GuardConfig, Status, Verdict};
use homeostat::policy::{Class, Policy};
use homeostat::scrub::Scrubber;

use crate::snap;
use crate::support::run::{self, Cmd};

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    /// A repository on `main` with a little Rust project: code, a test, docs, a lock file.
    fn new() -> Self {
        let repo = Self { dir: tempfile::tempdir().unwrap() };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.write("src/lib.rs", "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n");
        repo.write("src/util.rs", "pub fn id(x: i32) -> i32 {\n    x\n}\n");
        repo.write("tests/add.rs", "#[test]\nfn adds() {\n    assert_eq!(homeo::add(1, 2), 3);\n}\n");
        repo.write("README.md", "# demo\n");
        repo.write("Cargo.lock", "# lock\nversion = 3\n");
        repo.commit("initial");
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn write(&self, path: &str, content: impl AsRef<[u8]>) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    fn remove(&self, path: &str) {
        std::fs::remove_file(self.path().join(path)).unwrap();
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Starts a fix branch from main.
    fn branch(&self) {
        self.git(&["checkout", "-q", "-b", "fix"]);
    }

    fn judge_with(&self, policy: &Policy, config: &GuardConfig) -> Verdict {
        let req = guard::run::Request { repo_dir: self.path(), base: "main", head: "HEAD", skip_external: false };
        guard::run::evaluate(&req, policy, config, Scrubber::builtin()).unwrap()
    }

    fn judge(&self) -> Verdict {
        self.judge_with(&Policy::builtin(), &GuardConfig::default())
    }
}

fn row<'a>(v: &'a Verdict, id: &str) -> &'a guard::CheckRow {
    v.checks.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no row {id}: {v:#?}"))
}

/// A small fix with its test: every check passes and the bot may merge it.
fn small_fix(repo: &Repo) {
    repo.branch();
    repo.write("src/lib.rs", "pub fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}\n");
    repo.write("tests/add.rs", "#[test]\nfn adds() {\n    assert_eq!(homeo::add(1, 2), 3);\n    assert_eq!(homeo::add(i32::MAX, 1), i32::MIN);\n}\n");
    repo.commit("fix overflow");
}

#[test]
fn a_small_tested_fix_may_auto_merge() {
    let repo = Repo::new();
    small_fix(&repo);
    let v = repo.judge();
    assert_eq!(v.verdict, Decision::AutoMerge, "{v:#?}");
    assert_eq!(v.class, Class::Safe);
    assert!(v.checks.iter().all(|r| r.status == Status::Pass), "{v:#?}");
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["verdict"], "auto-merge");
    assert_eq!(json["files"][0]["path"], "src/lib.rs");
    assert_eq!(json["files"][0]["status"], "modified");
    assert_eq!((json["files"][0]["added"].as_u64(), json["files"][0]["deleted"].as_u64()), (Some(1), Some(1)));
    assert_eq!(json["checks"][0]["id"], "max-files");
}

#[test]
fn limits_on_files_and_lines() {
    let repo = Repo::new();
    small_fix(&repo);
    for i in 0..3 {
        repo.write(&format!("src/m{i}.rs"), "pub fn f() {}\n");
    }
    repo.commit("more files");
    let v = repo.judge();
    assert_eq!(row(&v, "max-files").status, Status::Fail);
    assert_eq!(row(&v, "max-files").class, Some(Class::NeedsValidation));
    assert_eq!(v.verdict, Decision::HumanReview);

    let repo = Repo::new();
    small_fix(&repo);
    repo.write("src/util.rs", "// x\n".repeat(250));
    repo.commit("big");
    let v = repo.judge();
    assert_eq!(row(&v, "max-changed-lines").status, Status::Fail, "{v:#?}");
    assert_eq!(row(&v, "max-files").status, Status::Pass);
    assert_eq!(v.verdict, Decision::HumanReview);
}

#[test]
fn critical_paths_block_and_manifest_paths_need_review() {
    let repo = Repo::new();
    small_fix(&repo);
    repo.write("auth/session.rs", "pub fn check() {}\n");
    repo.commit("touch auth");
    let v = repo.judge();
    let r = row(&v, "path-classes");
    assert_eq!((r.status, r.class), (Status::Fail, Some(Class::Critical)));
    assert!(r.detail.contains("auth/session.rs"));
    assert_eq!(v.verdict, Decision::Blocked);
    assert_eq!(v.files.iter().find(|f| f.path == "auth/session.rs").unwrap().class, Class::Critical);
}

#[test]
fn code_without_tests_needs_review_but_docs_do_not() {
    let repo = Repo::new();
    repo.branch();
    repo.write("src/util.rs", "pub fn id(x: i32) -> i32 {\n    x + 0\n}\n");
    repo.commit("code only");
    let v = repo.judge();
    let r = row(&v, "tests-required");
    assert_eq!((r.status, r.class), (Status::Fail, Some(Class::NeedsValidation)));
    assert_eq!(r.locations[0].path, "src/util.rs");
    assert_eq!(v.verdict, Decision::HumanReview);

    let repo = Repo::new();
    repo.branch();
    repo.write("README.md", "# demo\n\nMore words.\n");
    repo.commit("docs only");
    let v = repo.judge();
    assert_eq!(row(&v, "tests-required").status, Status::Pass);
    assert_eq!(v.verdict, Decision::AutoMerge);
}

#[test]
fn deleted_emptied_or_moved_tests_block() {
    let repo = Repo::new();
    repo.branch();
    repo.remove("tests/add.rs");
    repo.write("src/util.rs", "pub fn id(x: i32) -> i32 {\n    x * 1\n}\n");
    repo.commit("drop the test");
    let v = repo.judge();
    let r = row(&v, "tests-kept");
    assert_eq!((r.status, r.class), (Status::Fail, Some(Class::Critical)), "{v:#?}");
    assert!(r.detail.contains("tests/add.rs") && r.detail.contains("deleted"));
    assert_eq!(v.verdict, Decision::Blocked);

    let repo = Repo::new();
    repo.branch();
    repo.write("tests/add.rs", "");
    repo.commit("empty the test");
    let v = repo.judge();
    assert!(row(&v, "tests-kept").detail.contains("emptied"), "{v:#?}");
    assert_eq!(v.verdict, Decision::Blocked);
}

#[test]
fn renames_are_found_and_judged_by_both_paths() {
    let repo = Repo::new();
    repo.branch();
    repo.git(&["mv", "src/util.rs", "src/helpers.rs"]);
    repo.write("tests/add.rs", "#[test]\nfn adds() {\n    assert_eq!(homeo::add(2, 2), 4);\n}\n");
    repo.commit("rename");
    let v = repo.judge();
    let f = v.files.iter().find(|f| f.path == "src/helpers.rs").unwrap();
    assert_eq!(f.status, FileStatus::Renamed);
    assert_eq!((f.added, f.deleted), (0, 0));
    assert_eq!(v.verdict, Decision::AutoMerge, "{v:#?}");

    // Renaming a file out of a critical directory is still critical.
    let repo = Repo::new();
    repo.write("auth/keys.rs", "pub const N: u8 = 1;\n");
    repo.commit("auth");
    repo.branch();
    repo.git(&["mv", "auth/keys.rs", "src/keys.rs"]);
    repo.commit("move out of auth");
    let v = repo.judge();
    assert_eq!(v.files[0].class, Class::Critical);
    let change = diff::change_set(&diff::open(repo.path()).unwrap(), "main", "HEAD").unwrap();
    assert_eq!(change.files[0].old_path.as_deref(), Some("auth/keys.rs"));
}

#[test]
fn binary_files_need_review() {
    let repo = Repo::new();
    small_fix(&repo);
    repo.write("assets/logo.png", [0x89u8, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0, 1, 2]);
    repo.commit("logo");
    let v = repo.judge();
    let r = row(&v, "binary-files");
    assert_eq!((r.status, r.class), (Status::Fail, Some(Class::NeedsValidation)));
    assert!(r.detail.contains("assets/logo.png"));
    assert_eq!(v.files.iter().find(|f| f.path == "assets/logo.png").unwrap().added, 0);
}

#[test]
fn lock_files_need_their_class_to_allow_them() {
    let repo = Repo::new();
    small_fix(&repo);
    repo.write("Cargo.lock", "# lock\nversion = 4\n");
    repo.commit("bump lock");
    let v = repo.judge();
    let r = row(&v, "manifests");
    assert_eq!((r.status, r.class), (Status::Fail, Some(Class::NeedsValidation)));
    assert!(r.detail.contains("Cargo.lock"));
    assert_eq!(v.verdict, Decision::HumanReview);

    let allowing = Policy::parse("p.yml", "version: 1\nchanges:\n  paths:\n    safe: ['Cargo.lock']\n").unwrap();
    let v = repo.judge_with(&allowing, &GuardConfig::default());
    assert_eq!(row(&v, "manifests").status, Status::Pass, "{v:#?}");
}

#[test]
fn workflow_edits_block() {
    let repo = Repo::new();
    small_fix(&repo);
    repo.write(".github/workflows/ci.yml", "on: push\njobs: {}\n");
    repo.commit("ci");
    let v = repo.judge();
    let r = row(&v, "workflows");
    assert_eq!((r.status, r.class), (Status::Fail, Some(Class::Critical)));
    assert_eq!(v.verdict, Decision::Blocked);
}

#[test]
fn an_added_aws_key_blocks_without_being_repeated() {
    let key = "AKIAZ7Q3K5M2N8P4R6T1";
    let repo = Repo::new();
    small_fix(&repo);
    repo.write("src/util.rs", format!("pub fn id(x: i32) -> i32 {{\n    x\n}}\npub const KEY: &str = \"{key}\";\n"));
    repo.commit("key");
    let v = repo.judge();
    let r = row(&v, "secrets");
    assert_eq!((r.status, r.class), (Status::Fail, Some(Class::Critical)), "{v:#?}");
    assert!(r.detail.contains("aws-access-key at `src/util.rs:4`"), "{}", r.detail);
    assert_eq!(r.locations[0].line, Some(4));
    assert!(!serde_json::to_string(&v).unwrap().contains(key), "the verdict never repeats the secret");
    assert_eq!(v.verdict, Decision::Blocked);
}

#[test]
fn escape_hatches_from_the_policy() {
    let repo = Repo::new();
    small_fix(&repo);
    repo.write("src/util.rs", "pub fn id(x: i32) -> i32 {\n    unsafe { std::mem::transmute(x) }\n}\n");
    repo.commit("unsafe");
    let v = repo.judge();
    let r = row(&v, "escape-hatches");
    assert_eq!((r.status, r.class), (Status::Fail, Some(Class::NeedsValidation)));
    assert!(r.detail.contains("rust-unsafe at `src/util.rs:2`"), "{}", r.detail);

    let none = Policy::parse("p.yml", "version: 1\n").unwrap();
    let v = repo.judge_with(&none, &GuardConfig::default());
    assert_eq!(row(&v, "escape-hatches").status, Status::Pass);
}

fn external(name: &str, run: &[&str]) -> ExternalCheck {
    serde_json::from_value(serde_json::json!({"name": name, "run": run})).unwrap()
}

#[test]
fn external_checks_clean_breaking_and_could_not_run() {
    let repo = Repo::new();
    small_fix(&repo);
    let config = GuardConfig {
        checks: vec![
            external("clean", &["sh", "-c", "test \"$0\" = \"$(git rev-parse HEAD)\"", "{head}"]),
            external(
                "compare",
                &[
                    "sh",
                    "-c",
                    "grep -q wrapping_add \"$0\" && ! grep -q wrapping_add \"$1\"",
                    "{head:src/lib.rs}",
                    "{base:src/lib.rs}",
                ],
            ),
        ],
        ..Default::default()
    };
    let v = repo.judge_with(&Policy::builtin(), &config);
    assert_eq!(row(&v, "external:clean").status, Status::Pass, "{v:#?}");
    assert_eq!(row(&v, "external:compare").status, Status::Pass, "{v:#?}");
    assert_eq!(v.verdict, Decision::AutoMerge);

    let config = GuardConfig {
        checks: vec![external("api", &["sh", "-c", "echo 2 breaking changes; exit 1"])],
        ..Default::default()
    };
    let v = repo.judge_with(&Policy::builtin(), &config);
    let r = row(&v, "external:api");
    assert_eq!((r.status, r.class), (Status::Fail, Some(Class::Critical)));
    assert!(r.detail.contains("2 breaking changes"));
    assert_eq!(v.verdict, Decision::Blocked);

    // A tool that is missing, crashes with an unknown code, or whose output does not
    // say "breaking" could not run: never safe.
    let mut semver: ExternalCheck =
        serde_json::from_value(serde_json::json!({"name": "semver", "preset": "cargo-semver-checks"})).unwrap();
    semver.run = vec!["sh".into(), "-c".into(), "echo 'error: rustdoc failed' >&2; exit 1".into()];
    let config = GuardConfig {
        checks: vec![
            external("missing", &["homeostat-no-such-tool", "{base}"]),
            external("crash", &["sh", "-c", "exit 7"]),
            semver,
        ],
        ..Default::default()
    };
    let v = repo.judge_with(&Policy::builtin(), &config);
    for id in ["external:missing", "external:crash", "external:semver"] {
        let r = row(&v, id);
        assert_eq!((r.status, r.class), (Status::Warn, Some(Class::NeedsValidation)), "{id}: {r:#?}");
        assert!(r.detail.starts_with("could not run"), "{}", r.detail);
    }
    assert_eq!(v.verdict, Decision::HumanReview);
}

#[test]
fn external_check_paths_skip_unconcerned_changes() {
    let repo = Repo::new();
    small_fix(&repo);
    let check: ExternalCheck =
        serde_json::from_value(serde_json::json!({"name": "proto", "preset": "buf-breaking"})).unwrap();
    let v = repo.judge_with(&Policy::builtin(), &GuardConfig { checks: vec![check], ..Default::default() });
    let r = row(&v, "external:proto");
    assert_eq!(r.status, Status::Pass);
    assert!(r.detail.contains("skipped"));
}

#[test]
fn the_change_is_counted_from_the_merge_base() {
    let repo = Repo::new();
    small_fix(&repo);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("auth/new.rs", "pub fn f() {}\n");
    repo.write(".github/workflows/x.yml", "on: push\n");
    repo.commit("main moves on");
    repo.git(&["checkout", "-q", "fix"]);
    let v = repo.judge();
    assert_eq!(v.files.len(), 2, "{:#?}", v.files);
    assert_eq!(v.verdict, Decision::AutoMerge);
}

// --- the binary ------------------------------------------------------------------------

fn hs_guard(dir: &Path) -> Cmd {
    run::bin("hs-guard").dir(dir).env_remove("GITHUB_TOKEN").env_remove("HOMEOSTAT_CONFIG")
}

#[test]
fn cli_prints_the_verdict_and_gates() {
    let repo = Repo::new();
    small_fix(&repo);
    let v = hs_guard(repo.path()).args(["--base", "main", "--head", "fix", "--format", "json"]).run().success().json();
    assert_eq!(v["verdict"], "auto-merge");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"].is_string() && c["status"].is_string() && c["detail"].is_string())
    );

    repo.write(".github/workflows/ci.yml", "on: push\n");
    repo.commit("ci");
    hs_guard(repo.path()).args(["--base", "main", "--fail-on", "blocked"]).run().code(3);
    hs_guard(repo.path()).args(["--base", "main", "--fail-on", "human-review"]).run().code(3);
    let out = hs_guard(repo.path()).args(["--base", "main"]).run().code(0);
    // The text verdict: its first line, then the table of checks.
    snap!("cli_text_verdict_blocked", out.stdout());
}

#[test]
fn bad_refs_and_non_repositories_exit_2() {
    let repo = Repo::new();
    hs_guard(repo.path())
        .args(["--base", "no-such-branch"])
        .run()
        .code(2)
        .stderr_has("--base: `no-such-branch` is not a commit here");

    let empty = tempfile::tempdir().unwrap();
    hs_guard(empty.path())
        .args(["--base", "main", "--repo-dir"])
        .arg(empty.path())
        .run()
        .code(2)
        .stderr_has("not a git repository");
}

#[test]
fn pull_request_gets_one_comment_labels_and_actions_output() {
    use homeostat::forge::{Forge, NewPull, local::LocalForge};
    let repo = Repo::new();
    small_fix(&repo);
    repo.write("Cargo.lock", "# lock\nversion = 4\n");
    repo.commit("lock");
    let work = tempfile::tempdir().unwrap();
    let forge_dir: PathBuf = work.path().join("forge");
    let forge = LocalForge::open(&forge_dir).unwrap();
    let pr = homeostat::app::block_on(forge.create_pull(&NewPull {
        title: "fix".into(),
        body: String::new(),
        head: "fix".into(),
        base: "main".into(),
        draft: true,
    }))
    .unwrap()
    .unwrap();
    let summary = work.path().join("summary.md");
    let outputs = work.path().join("outputs.txt");
    for _ in 0..2 {
        hs_guard(repo.path())
            .args(["--base", "main", "--comment", "--pr", &pr.number.to_string(), "--forge", "local", "--forge-dir"])
            .arg(&forge_dir)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs)
            .run()
            .success()
            .stdout_has("::error file=Cargo.lock,title=homeostat guard%3A manifests::"); // an annotation
    }
    let (pull, comments) = homeostat::app::block_on(async {
        (forge.get_pull(pr.number).await.unwrap(), forge.list_comments(pr.number).await.unwrap())
    })
    .unwrap();
    assert_eq!(comments.len(), 1);
    snap!("pull_request_sticky_comment", &comments[0].body);
    let mut labels = pull.labels.clone();
    labels.sort();
    assert_eq!(labels, ["change-class:needs-validation", "needs-human-review"]);
    let outputs = std::fs::read_to_string(outputs).unwrap();
    assert!(outputs.contains("verdict<<"), "{outputs}");
    // The step summary: both runs' tables, one after the other.
    snap!("pull_request_step_summary", std::fs::read_to_string(summary).unwrap());
}
