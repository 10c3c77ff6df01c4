//! A rollback's revert pull request on a bare repo and the local forge, and the fixed issue
//! reopened.

use super::*;
use crate::support::git::{git, repo_with_a_fix};
use homeostat::forge::{Forge, IssueUpdate, NewIssue, State, local::LocalForge};

#[test]
fn rollback_opens_a_revert_pr_and_reopens_the_fixed_issue() {
    let tmp = tempfile::tempdir().unwrap();
    let (origin, work, fix) = repo_with_a_fix(tmp.path());

    let forge_dir = tmp.path().join("forge");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let forge = LocalForge::open(&forge_dir).unwrap();
        let issue = forge
            .create_issue(&NewIssue { title: "TypeError in popup".into(), body: "b".into(), labels: vec![] })
            .await
            .unwrap();
        assert_eq!(issue.number, 1);
        forge.update_issue(1, &IssueUpdate { state: Some(State::Closed), ..Default::default() }).await.unwrap();
    });

    let args = [
        "--config",
        &fixture("rollback.yml"),
        "--revert",
        "HEAD",
        "--forge",
        "local",
        "--forge-dir",
        forge_dir.to_str().unwrap(),
        "--repo-dir",
        work.to_str().unwrap(),
        "--fail-on",
        "rollback",
        "--format",
        "json",
    ];
    let (code, stdout, stderr) = hs_canary(&args, tmp.path(), &[]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let branch = format!("homeostat/revert-{}", &fix[..12]);
    assert_eq!(out["actions"][0]["kind"], "revert", "{out}");
    assert_eq!(out["actions"][0]["branch"], branch.as_str());
    assert_eq!(out["actions"][0]["issue"], 1);
    let pr = out["actions"][0]["pr"].as_u64().unwrap();

    // The branch reached origin, and its tree is the one before the fix.
    let on_origin = git(&origin, &["show", &format!("refs/heads/{branch}:app.txt")]);
    assert_eq!(on_origin, "v1");
    let message = git(&origin, &["log", "-1", "--format=%an%n%B", &format!("refs/heads/{branch}")]);
    assert!(message.starts_with("homeostat[bot]\nRevert \"Fix the popup crash\""), "{message}");
    assert!(message.contains(&format!("This reverts commit {fix}.")), "{message}");

    rt.block_on(async {
        let forge = LocalForge::open(&forge_dir).unwrap();
        let pull = forge.get_pull(pr).await.unwrap();
        assert_eq!((pull.head.as_str(), pull.base.as_str()), (branch.as_str(), "main"));
        assert!(pull.body.contains(&fix), "the revert PR names the fix's commit: {}", pull.body);
        crate::snap!("revert_pr_body", &pull.body, [(r"revert-[0-9a-f]{12}", "revert-[SHORT]")]);
        let issue = forge.get_issue(1).await.unwrap();
        assert_eq!(issue.state, State::Open);
        assert!(issue.has_label("homeostat:regressed"), "{:?}", issue.labels);
        let comments = forge.list_comments(1).await.unwrap();
        assert_eq!(comments.len(), 1);
        assert!(comments[0].body.contains(&format!("#{pr}")), "{}", comments[0].body);
        crate::snap!("revert_issue_comment", &comments[0].body, [(r"revert-[0-9a-f]{12}", "revert-[SHORT]")]);
    });

    // A second run finds the open PR instead of opening another.
    let (code, stdout, _) = hs_canary(&args, tmp.path(), &[]);
    assert_eq!(code, 3);
    let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(out["actions"][0]["pr"].as_u64(), Some(pr));
    assert!(out["actions"][0]["detail"].as_str().unwrap().contains("already open"));
    rt.block_on(async {
        let forge = LocalForge::open(&forge_dir).unwrap();
        assert_eq!(forge.list_pulls(homeostat::forge::StateFilter::All).await.unwrap().len(), 1);
        assert_eq!(forge.list_comments(1).await.unwrap().len(), 1, "the comment is kept up to date, not repeated");
    });
}
