//! Runs at once, as GitHub starts them for a burst (one run per dispatch, no queue): two
//! runs filing one new error or one piece of feedback, one batch carried by two runs, and
//! several runs counting on one known issue.

use github_standin::{Fault, FaultKind, Standin};

use crate::support::bins::{Job, stderr};

/// hs-issue runs at once, each with its own checkout and `args` (a job's file written from
/// `input`); every create answered 3 s late, so each run has read the issues before any
/// create lands — as when GitHub starts several report-errors runs for one burst. Returns
/// the runs' ledgers.
fn runs_at_once<const N: usize>(gh: &Standin, inputs: [(&str, String); N], args: &[&str]) -> Vec<String> {
    gh.fault(Fault::new("POST", "/issues$", FaultKind::Slow { ms: 3000 }).times(N as u32));
    let runs: Vec<_> = inputs
        .into_iter()
        .map(|(name, text)| {
            let job = Job::new(gh);
            let file = job.write(name, &text);
            let mut cmd = job.command("hs-issue", args);
            if name.ends_with(".jsonl") {
                cmd.arg(&file);
            } else {
                cmd.env("GITHUB_EVENT_PATH", &file).env("GITHUB_EVENT_NAME", "repository_dispatch");
            }
            let child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
            (job, child)
        })
        .collect();
    let mut ledgers = Vec::new();
    for (job, child) in runs {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        ledgers.push(std::fs::read_to_string(job.path("ledger.jsonl")).unwrap_or_default());
    }
    assert_eq!(gh.count("POST", "/issues$"), N, "the race happened: every run filed");
    ledgers
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
    let count = homeostat::issues::parse_state(kept.body.as_deref().unwrap_or("")).count;
    assert_eq!(count, 5, "the 3 and the 2 occurrences counted once each, on the kept issue");
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
    let ledgers = runs_at_once(&gh, inputs, &[]);
    let (kept, _, _) = kept_and_closed(&gh, "homeostat:error");
    let state = gh.state();
    let closed = state.plain_issues().filter(|i| i.state == "closed").count();
    assert_eq!(closed, 2, "the two later issues closed, each with a note");
    assert_eq!(ledgers.iter().filter(|l| l.contains("\"issue.filed_twice\"")).count(), 2, "{ledgers:#?}");
    // The two runs that closed theirs count on the oldest at the same moment.
    let count = homeostat::issues::parse_state(kept.body.as_deref().unwrap_or("")).count;
    assert_eq!(count, 9, "2 + 3 + 4 occurrences, each counted once, on the kept issue");
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
    let count = homeostat::issues::parse_state(kept.body.as_deref().unwrap_or("")).count;
    assert_eq!(count, 3, "the batch both runs carried counted once");
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
/// each write replaces the others' counts. The runs read the issue again after they
/// counted and count once more where their batch is gone.
#[test]
fn three_runs_at_once_on_a_known_error_lose_no_occurrence() {
    let gh = Standin::start();
    let event = |id: usize| {
        serde_json::json!({"event_id": format!("{id:032x}"), "type": "KeyError", "message": "'cart'",
            "platform": "python", "release": "3.1.0",
            "stack": "Traceback (most recent call last):\n  File \"shop/cart.py\", line 40, in total\nKeyError: 'cart'"})
        .to_string()
            + "\n"
    };
    let batch = |ids: std::ops::Range<usize>| ids.map(event).collect::<String>();
    let config = "issues:\n  settle: 3s\nledger:\n  path: ledger.jsonl\n";
    let first = Job::new(&gh);
    first.write("homeostat.yml", config);
    let out = first.run("hs-issue", &[first.write("errors.jsonl", &batch(0..2)).to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    gh.fault(Fault::new("PATCH", "/issues/1$", FaultKind::Slow { ms: 2500 }).times(3));
    let runs: Vec<_> = [2..5, 5..9, 9..10]
        .into_iter()
        .map(|ids| {
            let job = Job::new(&gh);
            job.write("homeostat.yml", config);
            let file = job.write("errors.jsonl", &batch(ids));
            let child = job
                .command("hs-issue", &[file.to_str().unwrap()])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (job, child)
        })
        .collect();
    for (_job, child) in runs {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let state = gh.state();
    let issues: Vec<_> = state.plain_issues().collect();
    assert_eq!(issues.len(), 1, "one issue: {issues:#?}");
    let count = homeostat::issues::parse_state(issues[0].body.as_deref().unwrap_or("")).count;
    assert_eq!(count, 10, "2 + 3 + 4 + 1 occurrences, each counted once");
    assert!(gh.count("PATCH", "/issues/1$") > 3, "the race happened: a count was written again");
    gh.assert_clean();
}
