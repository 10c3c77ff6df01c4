//! A merge commit reverted (mainline 1), the fixed issue found through its pull request.

use super::*;
use crate::support::git::git;
use homeostat::forge::{Forge, IssueUpdate, NewIssue, NewPull, State, StateFilter, local::LocalForge};

/// A merged pull request (merge commit, mainline 1): the fixed issue is found through
/// the PR's body; `--dry-run` first pushes nothing and opens nothing.
#[test]
fn merge_commit_is_reverted_and_the_issue_found_through_its_pull_request() {
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin.git");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let in_work = |args: &[&str]| git(&work, args);
    git(tmp.path(), &["init", "--bare", "-q", origin.to_str().unwrap()]);
    in_work(&["init", "-q"]);
    in_work(&["remote", "add", "origin", origin.to_str().unwrap()]);
    std::fs::write(work.join("app.txt"), "v1\n").unwrap();
    std::fs::write(work.join("other.txt"), "kept\n").unwrap();
    in_work(&["add", "."]);
    in_work(&["commit", "-qm", "Initial"]);
    in_work(&["checkout", "-qb", "homeostat/fix-1"]);
    std::fs::write(work.join("app.txt"), "v2 with the fix\n").unwrap();
    in_work(&["commit", "-qam", "Guard the undefined id"]);
    in_work(&["checkout", "-q", "main"]);
    std::fs::write(work.join("other.txt"), "kept, and changed on main\n").unwrap();
    in_work(&["commit", "-qam", "Unrelated change on main"]);
    in_work(&["merge", "-q", "--no-ff", "homeostat/fix-1", "-m", "Merge pull request #2 from o/homeostat/fix-1"]);
    in_work(&["push", "-q", "origin", "HEAD:refs/heads/main"]);
    let merge = in_work(&["rev-parse", "HEAD"]);

    let forge_dir = tmp.path().join("forge");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let forge = LocalForge::open(&forge_dir).unwrap();
        forge.create_issue(&NewIssue { title: "TypeError".into(), ..Default::default() }).await.unwrap();
        forge.update_issue(1, &IssueUpdate { state: Some(State::Closed), ..Default::default() }).await.unwrap();
        let pr = forge
            .create_pull(&NewPull {
                title: "Fix TypeError".into(),
                body: "Root cause: …\n\nFixes #1\n".into(),
                head: "homeostat/fix-1".into(),
                base: "main".into(),
                draft: true,
            })
            .await
            .unwrap();
        assert_eq!(pr.number, 2);
    });
    let mut args = vec![
        "--config".to_string(),
        fixture("rollback.yml"),
        "--revert".into(),
        merge.clone(),
        "--forge".into(),
        "local".into(),
        "--forge-dir".into(),
        forge_dir.display().to_string(),
        "--repo-dir".into(),
        work.display().to_string(),
        "--format".into(),
        "json".into(),
        "--dry-run".into(),
    ];
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = hs_canary(&argv, tmp.path(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("\"dry_run\""), "{stderr}");
    let branch = format!("homeostat/revert-{}", &merge[..12]);
    let listed = git(&origin, &["branch", "--list"]);
    assert!(!listed.contains("revert"), "dry run pushed: {listed}");
    assert!(!std::path::Path::new(&work).join(".git/refs/heads/homeostat/revert").exists());
    rt.block_on(async {
        let forge = LocalForge::open(&forge_dir).unwrap();
        assert_eq!(forge.list_pulls(StateFilter::All).await.unwrap().len(), 1);
        assert_eq!(forge.get_issue(1).await.unwrap().state, State::Closed);
    });

    args.pop();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = hs_canary(&argv, tmp.path(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(out["actions"][0]["issue"], 1, "{out}");
    assert_eq!(out["actions"][0]["pr"], 3, "{out}");
    // The fix is undone; the unrelated change made on main after it stays.
    assert_eq!(git(&origin, &["show", &format!("refs/heads/{branch}:app.txt")]), "v1");
    assert_eq!(git(&origin, &["show", &format!("refs/heads/{branch}:other.txt")]), "kept, and changed on main");
    rt.block_on(async {
        let forge = LocalForge::open(&forge_dir).unwrap();
        let issue = forge.get_issue(1).await.unwrap();
        assert_eq!(issue.state, State::Open);
        assert!(issue.has_label("homeostat:regressed"));
    });
}
