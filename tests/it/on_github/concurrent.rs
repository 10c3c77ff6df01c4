//! Runs at once, as GitHub starts them for a burst (one run per dispatch, no queue): two
//! runs filing one new error or one piece of feedback, one batch carried by two runs, and
//! several runs counting on one known issue.

use std::process::{Child, Stdio};

use github_standin::{Fault, FaultKind, Standin};

use crate::support::bins::{Job, stderr};

/// The tests' pace: every rule of GitHub's, waits of milliseconds.
const FAST: &str = "fast";

/// A config without the second look after counting, so only what a test is about keeps a count.
const NO_SETTLE: &str = "issues:\n  settle: 0s\nledger:\n  path: ledger.jsonl\n";

/// An hs-issue run started in its own checkout (a job folder, with `config` as its
/// homeostat.yml when given) on `text`: a JSONL file, or a repository_dispatch payload when
/// `name` is not `.jsonl`. `pace`: `HOMEOSTAT_GITHUB_RETRY` (the tests' `fast` by default).
fn start(gh: &Standin, config: Option<&str>, (name, text): (&str, String), args: &[&str], pace: &str) -> (Job, Child) {
    let job = Job::new(gh);
    if let Some(config) = config {
        job.write("homeostat.yml", config);
    }
    let file = job.write(name, &text);
    let mut cmd = job.command("hs-issue", args);
    cmd.env("HOMEOSTAT_GITHUB_RETRY", pace);
    if name.ends_with(".jsonl") {
        cmd.arg(&file);
    } else {
        cmd.env("GITHUB_EVENT_PATH", &file).env("GITHUB_EVENT_NAME", "repository_dispatch");
    }
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    (job, child)
}

/// Waits for the runs, each of which must succeed; returns their ledgers.
fn finish(runs: Vec<(Job, Child)>) -> Vec<String> {
    runs.into_iter()
        .map(|(job, child)| {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
            std::fs::read_to_string(job.path("ledger.jsonl")).unwrap_or_default()
        })
        .collect()
}

/// hs-issue runs at once, each with its own checkout and `args`; every create answered
/// 3 s late, so each run has read the issues before any create lands — as when GitHub
/// starts several report-errors runs for one burst. Returns the runs' ledgers.
fn runs_at_once<const N: usize>(gh: &Standin, inputs: [(&str, String); N], args: &[&str]) -> Vec<String> {
    gh.fault(Fault::new("POST", "/issues$", FaultKind::Slow { ms: 3000 }).times(N as u32));
    let ledgers = finish(inputs.into_iter().map(|input| start(gh, None, input, args, FAST)).collect());
    assert_eq!(gh.count("POST", "/issues$"), N, "the race happened: every run filed");
    ledgers
}

/// The count an issue's hidden state holds.
fn count_of(issue: &github_standin::state::Issue) -> u64 {
    homeostat::issues::parse_state(issue.body.as_deref().unwrap_or("")).count
}

/// Files the known issue the count tests start from: #1, two occurrences of `cart_errors`.
fn known_issue(gh: &Standin, config: Option<&str>) {
    finish(vec![start(gh, config, ("errors.jsonl", cart_errors(0..2)), &[], FAST)]);
}

/// JSONL of `ids`' events, one error (`KeyError: 'cart'`) each.
fn cart_errors(ids: std::ops::Range<usize>) -> String {
    ids.map(|id| {
        serde_json::json!({"event_id": format!("{id:032x}"), "type": "KeyError", "message": "'cart'",
            "platform": "python", "release": "3.1.0",
            "stack": "Traceback (most recent call last):\n  File \"shop/cart.py\", line 40, in total\nKeyError: 'cart'"})
        .to_string()
            + "\n"
    })
    .collect()
}

/// The issues labelled `label`: the one left open, a closed one and its closing note.
fn kept_and_closed(gh: &Standin, label: &str) -> (github_standin::state::Issue, u64, String) {
    let state = gh.state();
    let issues: Vec<_> = state.plain_issues().filter(|i| i.labels.iter().any(|l| l == label)).collect();
    let open: Vec<_> = issues.iter().filter(|i| i.state == "open").collect();
    assert_eq!(open.len(), 1, "one issue keeps it: {issues:#?}");
    let kept = (*open[0]).clone();
    assert_eq!(kept.number, issues.iter().map(|i| i.number).min().unwrap(), "the older one");
    let closed = issues.iter().find(|i| i.state == "closed").expect("a later one is closed").number;
    let note = state.comments.values().find(|c| c.issue == closed).expect("with a note").body.clone();
    assert!(note.contains(&format!("#{}", kept.number)), "the note names the kept issue: {note}");
    (kept, closed, note)
}

#[test]
fn two_runs_at_once_on_a_new_error_leave_one_open_issue_with_every_occurrence() {
    let gh = Standin::start();
    let event = |id: usize| {
        serde_json::json!({"event_id": format!("{id:032x}"), "type": "TypeError",
            "message": "Cannot read properties of undefined (reading 'id')", "platform": "javascript",
            "stack": "TypeError: x\n    at renderNote (https://app.example.com/assets/app.js:10:15)", "release": "1.0.0"})
        .to_string()
            + "\n"
    };
    let jsonl = |ids: std::ops::Range<usize>| ids.map(event).collect::<String>();
    let ledgers = runs_at_once(&gh, [("errors.jsonl", jsonl(0..3)), ("errors.jsonl", jsonl(3..5))], &[]);
    let (kept, closed, _) = kept_and_closed(&gh, "homeostat:error");
    // The run that closed its issue says so in its ledger, so reports count one bug.
    let said: Vec<&String> = ledgers.iter().filter(|l| l.contains("\"issue.filed_twice\"")).collect();
    assert_eq!(said.len(), 1, "{ledgers:#?}");
    assert!(said[0].contains(&format!("\"issue\":{closed}")), "{}", said[0]);
    assert_eq!(count_of(&kept), 5, "the 3 and the 2 occurrences counted once each, on the kept issue");
    gh.assert_clean();
}

#[test]
fn three_runs_at_once_on_a_new_error_leave_one_open_issue_with_every_occurrence() {
    let gh = Standin::start();
    let event = |id: usize| {
        serde_json::json!({"event_id": format!("{id:032x}"), "type": "RangeError",
            "message": "Invalid time value", "platform": "javascript", "release": "2.4.0",
            "stack": "RangeError: Invalid time value\n    at formatDue (https://app.example.com/assets/app.js:88:3)"})
        .to_string()
            + "\n"
    };
    let jsonl = |ids: std::ops::Range<usize>| ids.map(event).collect::<String>();
    let inputs = [("errors.jsonl", jsonl(0..2)), ("errors.jsonl", jsonl(2..5)), ("errors.jsonl", jsonl(5..9))];
    // The two later runs count on the oldest, #1, their writes landing 2.5 s late: each
    // reads #1 before the other's count lands, and one replaces the other's.
    gh.fault(Fault::new("PATCH", "/issues/1$", FaultKind::Slow { ms: 2500 }).times(2));
    let ledgers = runs_at_once(&gh, inputs, &[]);
    let (kept, _, _) = kept_and_closed(&gh, "homeostat:error");
    let state = gh.state();
    let closed = state.plain_issues().filter(|i| i.state == "closed").count();
    assert_eq!(closed, 2, "the two later issues closed, each with a note");
    assert_eq!(ledgers.iter().filter(|l| l.contains("\"issue.filed_twice\"")).count(), 2, "{ledgers:#?}");
    assert_eq!(count_of(&kept), 9, "2 + 3 + 4 occurrences, each counted once, on the kept issue");
    assert_eq!(gh.count("PATCH", "/issues/1$"), 3, "the replaced count was written again, once");
    gh.assert_clean();
}

#[test]
fn the_same_batch_handled_by_two_runs_at_once_is_counted_once() {
    let gh = Standin::start();
    // A relay resending a dispatch whose answer it lost, while the first run still goes.
    let event = |id: usize| {
        serde_json::json!({"event_id": format!("{id:032x}"), "type": "KeyError", "message": "'user'",
            "platform": "python", "release": "2.0.0",
            "stack": "Traceback (most recent call last):\n  File \"app/views.py\", line 12, in show\nKeyError: 'user'"})
        .to_string()
            + "\n"
    };
    let batch: String = (0..3).map(event).collect();
    let ledgers = runs_at_once(&gh, [("errors.jsonl", batch.clone()), ("errors.jsonl", batch)], &[]);
    let (kept, _, _) = kept_and_closed(&gh, "homeostat:error");
    assert_eq!(count_of(&kept), 3, "the batch both runs carried counted once");
    assert_eq!(ledgers.iter().filter(|l| l.contains("\"issue.filed_twice\"")).count(), 1);
    gh.assert_clean();
}

#[test]
fn a_feedback_dispatch_handled_by_two_runs_at_once_leaves_one_open_issue() {
    let gh = Standin::start();
    // The relay resent a dispatch whose answer it lost while the first run still went.
    let piece = serde_json::json!({"id": format!("{:032x}", 7), "message": "Export does nothing on Safari"});
    let payload =
        serde_json::json!({"action": "user-feedback", "client_payload": {"feedback": [piece], "batch": "g0-0-1"}});
    let ledgers = runs_at_once(
        &gh,
        [("event.json", payload.to_string()), ("event.json", payload.to_string())],
        &["--from-event"],
    );
    let (kept, closed, _) = kept_and_closed(&gh, "homeostat:feedback");
    let said: Vec<&String> = ledgers.iter().filter(|l| l.contains("\"feedback.filed_twice\"")).collect();
    assert_eq!(said.len(), 1, "{ledgers:#?}");
    assert!(said[0].contains(&format!("\"issue\":{closed}")), "{}", said[0]);
    assert!(kept.body.as_deref().unwrap_or("").contains("Export does nothing on Safari"));
    gh.assert_clean();
}

/// Three runs at once counting new occurrences on one known issue, every count's PATCH
/// answered 2.5 s late: each run reads the issue before any other run's write lands, so
/// each write replaces the others' counts. `issues.settle` (5 s) later, each run looks
/// at the issue again and counts once more where its batch is gone. (With `settle: 0s`
/// the issue ends with 3 to 6 of the 10: whichever write lands last.)
#[test]
fn three_runs_at_once_on_a_known_error_lose_no_occurrence() {
    let gh = Standin::start();
    known_issue(&gh, None);
    gh.fault(Fault::new("PATCH", "/issues/1$", FaultKind::Slow { ms: 2500 }).times(3));
    let runs = [2..5, 5..9, 9..10].map(|ids| start(&gh, None, ("errors.jsonl", cart_errors(ids)), &[], FAST));
    finish(runs.into());
    let state = gh.state();
    let issues: Vec<_> = state.plain_issues().collect();
    assert_eq!(issues.len(), 1, "one issue: {issues:#?}");
    assert_eq!(count_of(issues[0]), 10, "2 + 3 + 4 + 1 occurrences, each counted once");
    assert!(gh.count("PATCH", "/issues/1$") > 3, "the race happened: a count was written again");
    gh.assert_clean();
}

/// A count is a body built from a read; GitHub's secondary limit refuses one run's write
/// and asks it to wait 4 s, and meanwhile another run counts. Resent as it was after the
/// wait, the write would replace that count; it is rebuilt from a new read instead. With
/// `issues.settle: 0s`, so only the re-read can keep the count.
#[test]
fn a_count_refused_by_a_rate_limit_is_read_again_before_it_is_written_again() {
    let gh = Standin::start();
    known_issue(&gh, Some(NO_SETTLE));
    gh.fault(Fault::new("PATCH", "/issues/1$", FaultKind::Secondary { retry_after: Some(4) }));
    // GitHub's own pace for the refused run, so it waits the 4 s asked.
    let mut refused = start(&gh, Some(NO_SETTLE), ("errors.jsonl", cart_errors(2..5)), &[], "github");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while gh.count("PATCH", "/issues/1$") < 1 {
        assert!(std::time::Instant::now() < deadline, "the first run never wrote its count");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let other = start(&gh, Some(NO_SETTLE), ("errors.jsonl", cart_errors(5..9)), &[], FAST);
    finish(vec![other]);
    // The other run counted while the refused one still waited: the order the test is about.
    assert!(refused.1.try_wait().unwrap().is_none(), "the refused run still waits");
    finish(vec![refused]);
    let state = gh.state();
    let issue = state.plain_issues().next().expect("the issue");
    assert_eq!(count_of(issue), 9, "2 + 3 + 4: the other run's count kept");
    gh.assert_clean();
}

/// A count that landed but whose answer GitHub lost (a 502): the re-read finds the batch
/// counted and takes the write as made — not written again, recorded once.
#[test]
fn a_count_that_landed_behind_a_502_is_recorded_once_and_not_written_again() {
    let gh = Standin::start();
    known_issue(&gh, Some(NO_SETTLE));
    gh.fault(Fault::new("PATCH", "/issues/1$", FaultKind::LandedThen502));
    let ledgers = finish(vec![start(&gh, Some(NO_SETTLE), ("errors.jsonl", cart_errors(2..5)), &[], FAST)]);
    let state = gh.state();
    assert_eq!(count_of(state.plain_issues().next().expect("the issue")), 5);
    assert_eq!(gh.count("PATCH", "/issues/1$"), 1, "not written again");
    assert_eq!(ledgers[0].matches("\"issue.seen\"").count(), 1, "recorded once: {}", ledgers[0]);
    gh.assert_clean();
}
