//! The built binary against the GitHub stand-in, as the action runs it (a token, the API
//! URL, the repository): the same four reports as `forge_mode`, seeded as issues.

use crate::support::bins::Job;
use github_standin::Standin;
use homeostat::cluster::MARKER;

fn marked(gh: &Standin, n: u64) -> usize {
    gh.state().comments_on(n).filter(|c| c.body.contains(MARKER)).count()
}

/// The runs' clock, a day after the stand-in's: issues it closes lie within `closed_within`.
const NOW: &str = "2026-01-02T00:00:00Z";

#[test]
fn hs_cluster_comments_on_the_two_later_duplicates_only_and_a_rerun_posts_nothing() {
    let gh = Standin::start();
    let numbers: Vec<u64> = gh
        .with_state(|s| super::forge_mode::REPORTS.iter().map(|(t, b)| s.seed_issue(t, b, &[], "reporter")).collect());
    let job = Job::new(&gh);
    job.write("homeostat.yml", "ledger:\n  path: ledger.jsonl\ncluster:\n  threshold: 0.62\n");
    let hs_cluster = || job.cmd("hs-cluster").args(["--forge", "github", "--format", "json"]).env("HOMEOSTAT_NOW", NOW);
    for run in 1..=2 {
        hs_cluster().run().no_panic().success();
        let counts: Vec<usize> = numbers.iter().map(|&n| marked(&gh, n)).collect();
        assert_eq!(counts, [0, 1, 1, 0], "marked comments per issue after run {run}");
    }
    let state = gh.state();
    let body = &state.comments_on(numbers[2]).next().expect("a comment on the third report").body;
    assert!(body.contains(&format!("#{}", numbers[0])), "{body}");
    crate::snap!("standin_duplicate_comment", body);
    for (i, &n) in numbers.iter().enumerate() {
        let issue = &state.issues[&n];
        assert_eq!(issue.state, "open", "nothing is closed");
        let labelled = issue.labels.iter().any(|l| l == "possible-duplicate");
        assert_eq!(labelled, i == 1 || i == 2, "label on #{n}: {:?}", issue.labels);
    }
    assert_eq!(state.comments.len(), 2, "two comments in all after two runs");
    drop(state);

    // The maintainer closes one linked report as a duplicate and takes the label off
    // the other; the next run records both reactions (the closed one is read again, as a
    // report to link to), and hs-report counts them.
    gh.with_state(|s| {
        s.close(numbers[1]);
        s.issues.get_mut(&numbers[1]).unwrap().state_reason = Some("duplicate".into());
        s.issues.get_mut(&numbers[2]).unwrap().labels.retain(|l| l != "possible-duplicate");
    });
    let third = hs_cluster().run().no_panic().success().json();
    assert_eq!(third["items"], 4, "the three open reports and the one closed a day ago: {third}");
    assert_eq!(gh.state().comments.len(), 2, "nothing new after the reactions");
    // An hour after the runs (each pinned clock ticks from NOW).
    let report =
        job.cmd("hs-report").args(["--since", "1d", "--format", "json"]).env("HOMEOSTAT_NOW", "2026-01-02T01:00:00Z");
    let report = report.run().success().json();
    let cluster = serde_json::json!({"repo": "octo-org/app", "title": super::forge_mode::REPORTS[0].0, "issues": numbers[..3], "reports": 3});
    assert_eq!(
        report["duplicates"],
        serde_json::json!({"linked": 2, "confirmed": 1, "rejected": 1, "confirmed_share": 0.5, "clusters": [cluster]}),
        "{report}"
    );
    // Without the ledger (a lost branch), homeostat's own marked comments still say the
    // links were made: nothing is posted again, the label taken off stays off.
    std::fs::remove_file(job.path("ledger.jsonl")).unwrap();
    hs_cluster().run().no_panic().success();
    assert_eq!(gh.state().comments.len(), 2, "a run without the ledger posted again");
    assert!(!gh.state().issues[&numbers[2]].labels.iter().any(|l| l == "possible-duplicate"));
    gh.assert_clean();
}

/// A report closed as fixed ten days ago is a report to link to: the third wording of
/// its problem, opened now, is linked to it (marked closed), the closed one gets no
/// comment, and the same problem closed 200 days ago (past `closed_within`, 90 days)
/// is not read.
#[test]
fn a_new_report_of_a_problem_closed_last_week_is_linked_to_it() {
    let gh = Standin::start();
    let reports = super::forge_mode::REPORTS;
    let closed_at = |days: i64| {
        let t =
            "2026-01-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap() - jiff::SignedDuration::from_hours(24 * days);
        t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    };
    let numbers: Vec<u64> = gh.with_state(|s| {
        let numbers: Vec<u64> = reports.iter().map(|(t, b)| s.seed_issue(t, b, &[], "reporter")).collect();
        for (n, days) in [(numbers[0], 200), (numbers[1], 10)] {
            let issue = s.issues.get_mut(&n).unwrap();
            issue.state = "closed".into();
            issue.state_reason = Some("completed".into());
            issue.closed_at = Some(closed_at(days));
            issue.updated_at = closed_at(days);
        }
        numbers
    });
    let job = Job::new(&gh);
    job.write("homeostat.yml", "ledger:\n  path: ledger.jsonl\n");
    let out = job
        .cmd("hs-cluster")
        .args(["--forge", "github", "--format", "json"])
        .env("HOMEOSTAT_NOW", "2026-01-01T00:10:00Z")
        .run()
        .no_panic()
        .success()
        .json();
    assert_eq!(out["items"], 3, "two open reports and the one closed ten days ago: {out}");
    // GitHub is asked only for what changed in the last 90 days.
    let since: Vec<(String, String)> =
        gh.requests().into_iter().filter_map(|r| r.query.into_iter().find(|(k, _)| k == "since")).collect();
    assert_eq!(since, [("since".to_string(), "2025-10-03T00:10:00Z".to_string())]);
    let counts: Vec<usize> = numbers.iter().map(|&n| marked(&gh, n)).collect();
    assert_eq!(counts, [0, 0, 1, 0], "a comment on the new report only");
    let state = gh.state();
    let body = &state.comments_on(numbers[2]).next().unwrap().body;
    assert!(body.contains(&format!("#{} ", numbers[1])) && body.contains("(closed)"), "{body}");
    assert!(!body.contains(&format!("#{} ", numbers[0])), "the report closed 200 days ago is linked: {body}");
    assert_eq!(state.issues[&numbers[1]].labels, Vec::<String>::new(), "the closed report is left alone");
    drop(state);
    gh.assert_clean();
}
