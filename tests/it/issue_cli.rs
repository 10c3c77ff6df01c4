//! hs-issue end to end on the local forge: bad input, killed runs, scrubbing, Actions I/O.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::{Value, json};

use crate::snap;
use crate::support::run::{self, Cmd, LocalForge, Ran};

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Self {
        let run = Self { dir: tempfile::tempdir().unwrap() };
        run.write(
            "homeostat.yml",
            "issues:\n  max_new_per_run: 5000\n  max_new_per_day: 5000\nledger:\n  path: ledger.jsonl\n",
        );
        run
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn command(&self, args: &[&str]) -> Cmd {
        run::bin("hs-issue")
            .dir(self.dir.path())
            .args(["--forge", "local", "--forge-dir", "forge", "--config", "homeostat.yml"])
            .args(args)
            .env_remove("GITHUB_TOKEN")
            .env("HOMEOSTAT_LOG", "warn")
    }

    fn run(&self, args: &[&str]) -> Ran {
        self.command(args).run()
    }

    fn issues(&self) -> Vec<Value> {
        LocalForge::new(self.path("forge")).issues()
    }
}

fn event(i: usize, message: &str) -> Value {
    json!({
        "type": "TypeError",
        "message": message,
        "stack": format!("TypeError: {message}\n    at handler{i} (https://app.example.com/static/app.js:{}:7)\n    at main (https://app.example.com/static/app.js:3:1)", 10 + i),
        "platform": "javascript",
        "release": "1.0.0",
        "timestamp": "2026-11-22T10:00:00Z"
    })
}

fn jsonl(events: impl IntoIterator<Item = Value>) -> String {
    events.into_iter().map(|e| e.to_string() + "\n").collect()
}

#[test]
fn broken_lines_are_reported_with_position_and_skipped_or_fatal_with_strict() {
    let run = Run::new();
    let text = format!(
        "{}{{\"message\": broken\n\n{}",
        jsonl([event(1, "a is undefined")]),
        jsonl([event(2, "b is undefined")])
    );
    let file = run.write("events.jsonl", &text);
    let out = run.run(&["--format", "jsonl", file.to_str().unwrap()]).success().stderr_has("events.jsonl:2");
    assert_eq!(out.stdout().lines().count(), 2);

    let run = Run::new();
    let file = run.write("events.jsonl", &text);
    run.run(&["--strict", file.to_str().unwrap()]).code(2).stderr_has("events.jsonl:2");
    assert!(run.issues().is_empty(), "nothing is written when the input is refused");
}

#[test]
fn a_huge_event_is_skipped_not_fatal() {
    let run = Run::new();
    let huge = event(1, &"x".repeat(2 << 20));
    let file = run.write("events.jsonl", &jsonl([huge, event(2, "b is undefined")]));
    run.run(&[file.to_str().unwrap()]).success().stderr_has("events.jsonl:1");
    assert_eq!(run.issues().len(), 1);
}

#[test]
fn a_wrong_config_key_is_exit_2_with_its_position() {
    let run = Run::new();
    run.write("homeostat.yml", "issues:\n  max_new_per_rum: 3\n");
    let file = run.write("events.jsonl", &jsonl([event(1, "a")]));
    run.run(&[file.to_str().unwrap()]).code(2).stderr_has("homeostat.yml:2:3").stderr_has("max_new_per_rum");
    assert!(!run.path("forge/issues").exists() || run.issues().is_empty());
}

#[test]
fn a_missing_input_file_is_exit_2() {
    let run = Run::new();
    run.run(&["nope.jsonl"]).code(2).stderr_has("nope.jsonl");
}

#[test]
fn a_run_killed_half_way_and_run_again_leaves_one_issue_per_fingerprint() {
    let run = Run::new();
    let fingerprints = 400;
    let file = run.write("events.jsonl", &jsonl((0..fingerprints).map(|i| event(i, &format!("failure {i}")))));
    let mut child =
        run.command(&[file.to_str().unwrap()]).command().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let issues_dir = run.path("forge/issues");
    let started = std::time::Instant::now();
    loop {
        let made = std::fs::read_dir(&issues_dir).map(|d| d.count()).unwrap_or(0);
        if made >= 20 || started.elapsed() > std::time::Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    let before = run.issues().len();
    eprintln!("killed after {before} of {fingerprints} issues (exit status {status:?})");
    assert!(before < fingerprints, "the kill must land half-way for this test to mean anything");

    run.run(&[file.to_str().unwrap()]).success();
    let issues = run.issues();
    assert_eq!(issues.len(), fingerprints);
    let mut markers: Vec<String> = issues
        .iter()
        .map(|i| {
            let body = i["body"].as_str().unwrap();
            let at = body.find("homeostat:fingerprint=").expect("every issue has its marker");
            body[at..at + 38].to_string()
        })
        .collect();
    markers.sort();
    markers.dedup();
    assert_eq!(markers.len(), fingerprints, "one issue per fingerprint");
    // No file was left half-written, and the killed run's temporaries were cleaned up.
    assert!(
        std::fs::read_dir(&issues_dir).unwrap().all(|e| e.unwrap().path().extension().is_some_and(|x| x == "json"))
    );
}

const PLANTED: &[&str] = &[
    "ana.silva@example.com",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "AKIAIOSFODNN7EXAMPLE",
    "xoxb-1234567890-1234567890123-abcdefghijklmnopqrstuvwx",
    "sk_live_51H8abcdefghijklmnopqrstuvwx",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "4111 1111 1111 1111",
    "hunter2pass",
    "203.0.113.77",
];

#[test]
fn no_planted_secret_reaches_a_title_body_or_comment() {
    let run = Run::new();
    let events = [
        event(1, "login failed for ana.silva@example.com from 203.0.113.77"),
        event(2, "GET https://api.example.com/repos?access_token=ghp_abcdefghijklmnopqrstuvwxyz0123456789 failed"),
        event(3, "AWS key AKIAIOSFODNN7EXAMPLE rejected; slack xoxb-1234567890-1234567890123-abcdefghijklmnopqrstuvwx"),
        event(4, "stripe sk_live_51H8abcdefghijklmnopqrstuvwx card 4111 1111 1111 1111 declined"),
        event(
            5,
            "bad token Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ),
        event(6, "connect postgres://app:hunter2pass@db.internal:5432/app refused"),
    ];
    let file = run.write("events.jsonl", &jsonl(events.clone()));
    run.run(&[file.to_str().unwrap()]).success();
    // A second batch with new occurrences: comments are scrubbed too.
    let again: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e["timestamp"] = json!("2026-11-22T11:00:00Z");
            e
        })
        .collect();
    let file = run.write("again.jsonl", &jsonl(again));
    run.run(&[file.to_str().unwrap()]).success();
    let issues = run.issues();
    assert_eq!(issues.len(), 6);
    let everything = std::fs::read_dir(run.path("forge/issues"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    // What the forge shows, scrubbed: every issue's title, body and comments.
    let forge = LocalForge::new(run.path("forge"));
    let shown: Vec<String> = issues
        .iter()
        .map(|i| {
            let n = i["number"].as_u64().unwrap();
            format!(
                "# {}\n\n{}\n\n{}",
                i["title"].as_str().unwrap(),
                i["body"].as_str().unwrap(),
                forge.comments(n).join("\n\n")
            )
        })
        .collect();
    snap!("scrubbed_issues_and_comments", shown.join("\n\n=====\n\n"));
    for secret in PLANTED {
        assert!(!everything.contains(secret), "{secret} leaked into the forge");
    }
    // New fingerprints held back by a quota are kept whole in the ledger: scrubbed too.
    run.write("homeostat.yml", "issues:\n  max_new_per_run: 0\nledger:\n  path: ledger.jsonl\n");
    let held: Vec<Value> = events.iter().map(|e| with_handler(e, 90)).collect();
    let file = run.write("held.jsonl", &jsonl(held));
    run.run(&[file.to_str().unwrap()]).success();
    let ledger = std::fs::read_to_string(run.path("ledger.jsonl")).unwrap();
    assert_eq!(ledger.matches("\"issue.held\"").count(), 6, "{ledger}");
    assert!(ledger.contains("\"sample_stack\""), "{ledger}");
    for secret in PLANTED {
        assert!(!ledger.contains(secret), "{secret} leaked into the ledger");
    }
}

/// The same event thrown from another function (another fingerprint).
fn with_handler(e: &Value, n: usize) -> Value {
    let mut e = e.clone();
    let stack = e["stack"].as_str().unwrap().replacen("at handler", &format!("at handler{n}_"), 1);
    e["stack"] = json!(stack);
    e
}

#[test]
fn dispatch_payload_events_and_actions_outputs() {
    let run = Run::new();
    let payload = json!({"action": "production-error", "client_payload": {"events": [event(1, "a is undefined"), event(2, "b is undefined"), event(1, "a is undefined")]}});
    let event_path = run.write("event.json", &payload.to_string());
    let output = run.path("output.txt");
    let summary = run.path("summary.md");
    let result = run
        .command(&["--from-event", "--format", "json"])
        .env("GITHUB_EVENT_PATH", &event_path)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_ACTIONS", "true")
        .run()
        .success()
        .json();
    assert_eq!(result.as_array().unwrap().len(), 2);
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains("created<<ghadelimiter_"), "{outputs}");
    assert!(outputs.contains("\n2\n"), "{outputs}");
    snap!("dispatch_step_summary", std::fs::read_to_string(&summary).unwrap());
}

#[test]
fn a_bad_feedback_payload_names_the_event_file_and_files_nothing() {
    let run = Run::new();
    let good = json!({"id": format!("{:032x}", 1), "message": "Export does nothing"});
    let forged = json!({"id": "x --> <!-- homeostat:feedback=1", "message": "hi"});
    let payload = json!({"action": "user-feedback", "client_payload": {"feedback": [good, forged]}});
    let event_path = run.write("event.json", &payload.to_string());
    let ran = run.command(&["--from-event"]).env("GITHUB_EVENT_PATH", &event_path).run().no_panic();
    assert_eq!(ran.exit(), 2, "{}", ran.stderr());
    assert!(
        ran.stderr().contains("event.json: client_payload.feedback[1] needs an id of 32 hex digits"),
        "{}",
        ran.stderr()
    );
    assert!(run.issues().is_empty(), "nothing filed from a payload that does not read");
}

#[test]
fn quota_holds_back_and_reports_instead_of_dropping() {
    let run = Run::new();
    run.write("homeostat.yml", "issues:\n  max_new_per_run: 2\nledger:\n  path: ledger.jsonl\n");
    let file = run.write("events.jsonl", &jsonl((0..5).map(|i| event(i, &format!("failure {i}")))));
    let out = run.run(&["--format", "jsonl", file.to_str().unwrap()]).success();
    let lines: Vec<Value> = out.stdout().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.iter().filter(|l| l["action"] == "created").count(), 2);
    let held: Vec<&Value> = lines.iter().filter(|l| l["action"] == "held").collect();
    assert_eq!(held.len(), 3);
    assert!(held[0]["reason"].as_str().unwrap().contains("quota"));
    let ledger = std::fs::read_to_string(run.path("ledger.jsonl")).unwrap();
    assert_eq!(ledger.lines().filter(|l| l.contains("\"issue.held\"")).count(), 3);
    assert_eq!(run.issues().len(), 2);
}

/// The hidden count and the handler named in an issue (`handlerN` tells the bug).
fn count_and_handler(issue: &Value) -> (u64, String) {
    let body = issue["body"].as_str().unwrap();
    let state = body.split("<!-- homeostat:state ").nth(1).unwrap().split(" -->").next().unwrap();
    let state: Value = serde_json::from_str(state).unwrap();
    let handler: String = body.split("handler").nth(1).unwrap().chars().take_while(char::is_ascii_digit).collect();
    (state["count"].as_u64().unwrap(), format!("handler{handler}"))
}

#[test]
fn held_fingerprints_are_filed_by_later_runs_most_frequent_first() {
    let run = Run::new();
    run.write("homeostat.yml", "issues:\n  max_new_per_run: 2\nledger:\n  path: ledger.jsonl\n");
    let occurrence = |bug: usize, n: usize| {
        let mut e = event(bug, "failure");
        e["id"] = json!(format!("ev-{bug}-{n}"));
        e
    };
    // Bug i occurs i + 1 times: 4 and 3 are filed, 2, 1 and 0 held.
    let first = run.write("first.jsonl", &jsonl((0..5).flat_map(|bug| (0..=bug).map(move |n| occurrence(bug, n)))));
    let actions = |out: &Ran| -> Vec<(String, u64)> {
        assert_eq!(out.exit(), 0, "{out}");
        out.stdout()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|l| (l["action"].as_str().unwrap().to_string(), l["occurrences"].as_u64().unwrap()))
            .collect()
    };
    let got = actions(&run.run(&["--format", "jsonl", first.to_str().unwrap()]));
    // Outcomes come in the order fingerprints first appear.
    let created: Vec<u64> = got.iter().filter(|(a, _)| a == "created").map(|(_, n)| *n).collect();
    assert_eq!(created, [4, 5]);
    assert_eq!(got.iter().filter(|(a, _)| a == "held").count(), 3);

    // Run 2 sees bug 0 once more: with its held occurrence it ties bug 1 (2 each) behind
    // bug 2 (3); bug 2 and bug 0 (seen first) are filed, bug 1 waits without a new entry.
    let second = run.write("second.jsonl", &jsonl([occurrence(0, 1)]));
    let got = actions(&run.run(&["--format", "jsonl", second.to_str().unwrap()]));
    assert_eq!(got, [("created".to_string(), 2), ("held".to_string(), 2), ("created".to_string(), 3)]);
    let ledger = std::fs::read_to_string(run.path("ledger.jsonl")).unwrap();
    assert_eq!(ledger.lines().filter(|l| l.contains("\"issue.held\"")).count(), 3, "{ledger}");

    // Run 3 has no events: the last held bug is filed; run 4 has nothing left to do.
    let empty = run.write("empty.jsonl", "");
    assert_eq!(actions(&run.run(&["--format", "jsonl", empty.to_str().unwrap()])), [("created".to_string(), 2)]);
    assert!(actions(&run.run(&["--format", "jsonl", empty.to_str().unwrap()])).is_empty());

    let mut counts: Vec<(u64, String)> = run.issues().iter().map(count_and_handler).collect();
    counts.sort();
    let want = [(2, "handler0"), (2, "handler1"), (3, "handler2"), (4, "handler3"), (5, "handler4")];
    assert_eq!(counts, want.map(|(n, h)| (n, h.to_string())));

    // The first batch again: every occurrence was counted once already.
    let got = actions(&run.run(&["--format", "jsonl", first.to_str().unwrap()]));
    assert!(got.iter().all(|(a, _)| a == "skipped"), "{got:?}");
    assert_eq!(run.issues().iter().map(|i| count_and_handler(i).0).sum::<u64>(), 16);
}

#[test]
fn dry_run_reads_everything_and_writes_nothing() {
    let run = Run::new();
    let file = run.write("events.jsonl", &jsonl([event(1, "a is undefined"), event(2, "b is undefined")]));
    let out = run.run(&["--dry-run", "--format", "jsonl", file.to_str().unwrap()]).success();
    assert!(run.issues().is_empty(), "no issue was written");
    let printed = out.stderr();
    assert_eq!(printed.matches("\"dry_run\":\"create_issue\"").count(), 2, "{printed}");
    assert!(
        !run.path("ledger.jsonl").exists() || std::fs::read_to_string(run.path("ledger.jsonl")).unwrap().is_empty()
    );
}
