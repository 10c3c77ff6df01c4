//! The example workflows in a real Actions runner (act, on the host) against the GitHub
//! stand-in, the test playing GitHub: it sends the webhook a person's action or an error
//! reporter causes, and starts a workflow for what the workflow token caused only when
//! GitHub would — the `workflow_dispatch`es the stand-in recorded. See
//! `tests/support/act.rs` and docs/github.md ("Tests").
//!
//! Needs `act` and the built binaries (`cargo build --bins`); skipped with a notice
//! without act, failed when CI=true.

use act::{Bench, have_act, issue_labeled, issue_opened, pull_comment, repository_dispatch, repository_dispatch_of};
use homeostat::ledger::Entry;
use serde_json::{Value, json};

use crate::support::{act, git};

/// The stand-in coding agent: fixes `note.id` (source and a test) and writes its summary,
/// as an agent would; a second run (a revision) adds one more test.
const AGENT: &str = r#"#!/bin/sh
set -eu
sed -i 's/return note.id;/return note?.id;/' src/app.js
mkdir -p tests
echo "test('no note $(date +%s%N)', () => expect(id(undefined)).toBe(undefined));" >> tests/app.test.js
printf '### Root cause\n`id` read a missing note.\n\n### Change\nOptional chaining, with a test.\n' > "$HOMEOSTAT_SUMMARY_FILE"
echo '{"type":"result","total_cost_usd":0.05,"num_turns":2}'
"#;

/// The built-in policy, plus a rule that makes errors on the checkout page
/// `needs-validation` (the bot may attempt them, a person merges).
fn policy() -> String {
    include_str!("../../policies/default.yml").replacen(
        "  rules:\n",
        "  rules:\n    - {name: checkout, class: needs-validation, when: {text: ['(?i)checkout page']}}\n",
        1,
    )
}

fn bench(workflows: &[&str]) -> Bench {
    // `{tmp}`: the bench's folder, outside the repository (the agent is the runner's tool).
    let config = "policy: .github/homeostat-policy.yml\nagents:\n  define:\n    default: {adapter: custom, run: [\"{tmp}/agent.sh\"]}\n  timeout: 1m\n\
         canary:\n  interval: 0s\n  count: 3\n  metrics:\n    - name: error-rate\n      canary: {file: {path: canary-errors.json}}\n      max: 0.05\n";
    let files = [
        ("../agent.sh", AGENT.to_string()),
        (".github/homeostat.yml", config.to_string()),
        (".github/homeostat-policy.yml", policy()),
        // The repository's own CI (its `name:` is what agent-revise.yml listens for).
        (
            ".github/workflows/ci.yml",
            "name: CI\non:\n  workflow_dispatch:\n  pull_request:\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n        with: {persist-credentials: false}\n      - run: cat src/app.js && grep -q 'note?.id' src/app.js\n".into(),
        ),
        // The release the canary watches is bad: its error rate is past 0.05.
        ("canary-errors.json", "[0.2, 0.3, 0.25]".into()),
        ("scripts/deploy.sh", "#!/bin/sh\necho \"deploying $1\"\n".into()),
        ("src/app.js", "export function id(note) {\n  return note.id;\n}\n".into()),
    ];
    let b = Bench::new(workflows, &files);
    act::chmod_x(&b.path("agent.sh"));
    act::chmod_x(&b.repo.join("scripts/deploy.sh"));
    git::git(&b.repo, &["commit", "-qam", "deploy is executable"]);
    git::git(&b.repo, &["push", "-q", b.origin.to_str().unwrap(), "main"]);
    b
}

fn error(id: &str, message: &str) -> Value {
    json!({"type": "TypeError", "message": message, "platform": "javascript", "release": "1.0.0",
           "stack": format!("TypeError: {message}\n    at {id} (https://app.example.com/assets/{id}.js:10:15)")})
}

fn class_of(labels: &[String]) -> Option<&str> {
    labels.iter().find_map(|l| l.strip_prefix("change-class:"))
}

#[test]
fn a_burst_of_five_dispatches_files_all_of_their_errors_and_classifies_them() {
    if !have_act() {
        return;
    }
    let mut b = bench(&["report-errors.yml"]);
    for batch in 0..5 {
        let events = json!([
            error(&format!("render{batch}a"), "Cannot read properties of undefined (reading 'a')"),
            error(&format!("render{batch}b"), "Cannot read properties of undefined (reading 'b')")
        ]);
        b.act("repository_dispatch", "report-errors.yml", &repository_dispatch(events));
    }
    // User feedback through the same workflow (hs-relay's `user-feedback` dispatch), the
    // first piece twice as a resent batch would carry it.
    let feedback = |n: u8, text: &str| json!({"id": format!("{n:032x}"), "message": text, "release": "1.0.0"});
    let payload = json!({"feedback": [feedback(1, "Export does nothing"), feedback(2, "Dark mode please"), feedback(1, "Export does nothing")], "batch": "f1"});
    b.act("repository_dispatch", "report-errors.yml", &repository_dispatch_of("user-feedback", payload));
    let state = b.gh.state();
    let (feedback, issues): (Vec<_>, Vec<_>) =
        state.plain_issues().partition(|i| i.labels.iter().any(|l| l == "feedback"));
    assert_eq!(issues.len(), 10, "{issues:#?}");
    // Classified in the same job: issues the workflow token files start no triage run.
    for i in &issues {
        assert_eq!(class_of(&i.labels), Some("safe"), "{i:#?}");
        assert_eq!(i.author, "github-actions[bot]");
    }
    let titles: Vec<&str> = feedback.iter().map(|i| i.title.as_str()).collect();
    assert_eq!(titles, ["Feedback: Export does nothing", "Feedback: Dark mode please"], "{feedback:#?}");
    assert!(feedback.iter().all(|i| class_of(&i.labels).is_none()), "feedback is not classified as an error fix");
    assert!(state.workflow_dispatches.is_empty(), "{:?}", state.workflow_dispatches);
    b.gh.assert_clean();
    eprintln!("{}", b.timings());
}

#[test]
fn the_loop_runs_from_errors_to_a_merge_a_refusal_a_revision_and_a_rollback() {
    if !have_act() {
        return;
    }
    let started = std::time::Instant::now();
    let mut b =
        bench(&["report-errors.yml", "agent-fix.yml", "guard.yml", "auto-merge.yml", "canary.yml", "agent-revise.yml"]);
    let [(safe, safe_pr), (nv, nv_pr)] = errors_become_draft_prs(&mut b);
    let main = the_gate_merges_the_safe_fix_only(&mut b, (safe, safe_pr), nv_pr);

    // 5. auto-merge.yml started the canary on the merge commit: a bad release rolls back.
    let canary = b.new_dispatches();
    assert_eq!(canary.len(), 1, "{canary:#?}");
    assert_eq!(canary[0]["inputs"]["sha"], main.as_str());
    let run = b.run_dispatched(&canary, "canary.yml").remove(0);
    assert!(!run.ok && run.log.contains("decision=rollback"), "{}", run.log);
    let state = b.gh.state();
    let reverts: Vec<_> =
        state.pulls().filter(|p| p.pull.as_ref().unwrap().head.starts_with("homeostat/revert-")).collect();
    assert_eq!(reverts.len(), 1, "one revert PR: {reverts:#?}");
    assert_eq!(state.issues[&safe].state, "open", "the fixed issue is reopened");
    assert!(state.issues[&safe].labels.iter().any(|l| l == "homeostat:regressed"), "{:#?}", state.issues[&safe]);

    // 6. A maintainer asks for a revision on the waiting PR: one more commit, CI and guard again.
    let before = b.head_of(&format!("homeostat/fix-{nv}"));
    b.act("issue_comment", "agent-revise.yml", &pull_comment(nv_pr, "/homeostat revise add a test for a null note"));
    assert_ne!(b.head_of(&format!("homeostat/fix-{nv}")), before, "the revision is pushed");
    let again = b.new_dispatches();
    let guard_again: Vec<&Value> = again.iter().filter(|d| d["workflow"] == "guard.yml").collect();
    assert_eq!(guard_again.len(), 1, "{again:#?}");
    assert_eq!(guard_again[0]["inputs"]["pr"], nv_pr.to_string());

    assert_eq!(b.gh.state().pulls().filter(|p| p.state == "open").count(), 2, "the waiting fix and the revert");
    b.gh.assert_clean();
    eprintln!("{}scenario wall time {:.1}s", b.timings(), started.elapsed().as_secs_f64());
}

/// Steps 1 and 2: production errors become classified issues; a maintainer's label on
/// each starts agent-fix.yml, which opens one draft PR per issue. Returns (issue, PR) for
/// the safe error, then the `needs-validation` one.
fn errors_become_draft_prs(b: &mut Bench) -> [(u64, u64); 2] {
    // 1. An error reporter (hs-relay) dispatches production errors: one issue per bug, classified.
    let events = json!([
        error("renderNote", "Cannot read properties of undefined (reading 'id')"),
        error("total", "total is undefined on the checkout page")
    ]);
    b.act("repository_dispatch", "report-errors.yml", &repository_dispatch(events));
    let state = b.gh.state();
    let by_class = |class: &str| {
        state
            .plain_issues()
            .find(|i| class_of(&i.labels) == Some(class))
            .map(|i| i.number)
            .unwrap_or_else(|| panic!("no {class} issue: {:#?}", state.plain_issues().collect::<Vec<_>>()))
    };
    let (safe, nv) = (by_class("safe"), by_class("needs-validation"));
    assert!(b.new_dispatches().is_empty(), "filing issues starts nothing");

    // 2. A maintainer labels both `homeostat:fix` (a person's event: GitHub starts agent-fix.yml).
    for issue in [safe, nv] {
        b.maintainer_labels(issue, "homeostat:fix");
        b.act("issues", "agent-fix.yml", &issue_labeled(&b.gh, issue, "homeostat:fix"));
    }
    let state = b.gh.state();
    let pr_of = |issue: u64| {
        let branch = format!("homeostat/fix-{issue}");
        let prs: Vec<_> = state.pulls().filter(|p| p.pull.as_ref().unwrap().head == branch).collect();
        assert_eq!(prs.len(), 1, "one PR for #{issue}: {prs:#?}");
        let p = prs[0];
        assert!(p.pull.as_ref().unwrap().draft && p.author == "github-actions[bot]", "{p:#?}");
        assert!(p.labels.iter().any(|l| l == "homeostat:ai-proposed"), "{p:#?}");
        p.number
    };
    [(safe, pr_of(safe)), (nv, pr_of(nv))]
}

/// Steps 3 and 4: CI and the guard run on the bot's branches as dispatched; the guard
/// hands each PR to the merge gate, which merges the safe fix and refuses the other.
/// Returns main's head (the merge commit).
fn the_gate_merges_the_safe_fix_only(b: &mut Bench, (safe, safe_pr): (u64, u64), nv_pr: u64) -> String {
    // 3. agent-fix.yml dispatched CI and the guard on each bot branch; GitHub runs them.
    let fixes = b.new_dispatches();
    let started_ci = fixes.iter().filter(|d| d["workflow"] == "ci.yml").count();
    assert_eq!(started_ci, 2, "{fixes:#?}");
    for run in b.run_dispatched(&fixes, "ci.yml") {
        assert!(run.ok, "CI on the bot's branch:\n{}", run.log);
    }
    for run in b.run_dispatched(&fixes, "guard.yml") {
        assert!(run.ok, "guard on the bot's branch:\n{}", run.log);
    }

    // 4. guard.yml handed each PR to the merge gate: the safe fix merges, the other waits.
    let hand_over = b.new_dispatches();
    let gates: Vec<&Value> = hand_over.iter().filter(|d| d["workflow"] == "auto-merge.yml").collect();
    assert_eq!(gates.len(), 2, "{hand_over:#?}");
    let gate_logs: Vec<String> = b
        .run_dispatched(&hand_over, "auto-merge.yml")
        .into_iter()
        .map(|r| {
            assert!(r.ok, "auto-merge:\n{}", r.log);
            r.log
        })
        .collect();
    assert!(gate_logs.iter().any(|l| l.contains("needs a person")), "{gate_logs:#?}");
    let state = b.gh.state();
    let pull = |n: u64| state.issues[&n].clone();
    assert!(pull(safe_pr).pull.unwrap().merged, "the safe fix merges");
    assert_eq!(pull(safe).state, "closed", "its issue is done");
    let refused = pull(nv_pr);
    assert!(!refused.pull.as_ref().unwrap().merged && refused.state == "open", "needs-validation waits: {refused:#?}");
    assert!(git::git(&b.origin, &["show", "main:src/app.js"]).contains("note?.id"), "the fix is on main");
    b.head_of("main")
}

#[test]
fn the_merge_sweep_leaves_a_strangers_pr_on_a_fix_branch_alone() {
    if !have_act() {
        return;
    }
    let mut b = bench(&["auto-merge.yml"]);
    let issue = b.gh.with_state(|s| {
        s.seed_issue(
            "TypeError: x",
            "<!-- homeostat:fingerprint=0000000000000001 algorithm=v1 -->",
            &[],
            "github-actions[bot]",
        )
    });
    // mallory pushes a safe-looking fix on `homeostat/fix-N` with the issue's marker.
    let branch = format!("homeostat/fix-{issue}");
    git::git(&b.repo, &["checkout", "-q", "-b", &branch]);
    git::write(&b.repo.join("src/app.js"), "export function id(note) {\n  return note?.id;\n}\n");
    git::git(&b.repo, &["commit", "-qam", "fix"]);
    git::git(&b.repo, &["push", "-q", b.origin.to_str().unwrap(), &branch]);
    git::git(&b.repo, &["checkout", "-q", "main"]);
    let pr = b.gh.with_state(|s| {
        let n = s.seed_issue("fix", &format!("Fixes #{issue}\n\n<!-- homeostat:issue={issue} -->"), &[], "mallory");
        let head_repo = s.full_name();
        let pull = github_standin::state::Pull {
            head: branch.clone(),
            base: "main".into(),
            draft: false,
            head_repo,
            merged: false,
        };
        s.issues.get_mut(&n).unwrap().pull = Some(pull);
        n
    });
    // The 15-minute sweep (`schedule`): every open PR on a homeostat/fix-* branch.
    let log = b.act("schedule", "auto-merge.yml", &json!({"schedule": "*/15 * * * *"}));
    assert!(log.contains(&format!("#{pr}: not merged")) && log.contains("mallory"), "{log}");
    let state = b.gh.state();
    let p = &state.issues[&pr];
    assert!(p.state == "open" && !p.pull.as_ref().unwrap().merged && p.labels.is_empty(), "{p:#?}\n{log}");
    assert_eq!(state.issues[&issue].state, "open");
    b.gh.assert_clean();
}

/// The ledger kept on the `homeostat-ledger` branch: its lines of `kind`.
fn ledger_lines(b: &Bench, kind: &str) -> Vec<Entry> {
    let text = git::git(&b.origin, &["show", "homeostat-ledger:ledger.jsonl"]);
    text.lines().map(|l| serde_json::from_str::<Entry>(l).unwrap()).filter(|e| e.kind == kind).collect()
}

#[test]
fn cluster_links_the_later_duplicates_of_a_report_and_keeps_the_maintainers_reactions() {
    if !have_act() {
        return;
    }
    // No homeostat.yml: a repository that copied cluster.yml and nothing else.
    let mut b = Bench::new(&["cluster.yml"], &[]);
    let reports = crate::cluster::forge_mode::REPORTS;
    let numbers: Vec<u64> =
        b.gh.with_state(|s| reports.iter().map(|(title, body)| s.seed_issue(title, body, &[], "reporter")).collect());
    let marked = |b: &Bench| -> Vec<usize> {
        let state = b.gh.state();
        numbers
            .iter()
            .map(|&n| state.comments_on(n).filter(|c| c.body.contains(homeostat::cluster::MARKER)).count())
            .collect()
    };
    // Someone opens the look-alike: the run links the two later duplicates of the first report.
    b.act("issues", "cluster.yml", &issue_opened(&b.gh, numbers[3]));
    assert_eq!(marked(&b), [0, 1, 1, 0], "marked comments per report");
    for (i, &n) in numbers.iter().enumerate() {
        let labelled = b.labels(n).iter().any(|l| l == "possible-duplicate");
        assert_eq!(labelled, i == 1 || i == 2, "label on #{n}");
        assert_eq!(b.gh.state().issues[&n].state, "open", "nothing is closed");
    }
    let linked: Vec<Value> = ledger_lines(&b, "cluster.linked").iter().map(|e| e.data["issue"].clone()).collect();
    assert_eq!(linked, [json!(numbers[1]), json!(numbers[2])], "the links are kept on the ledger branch");

    // The maintainer closes one as a duplicate and takes the label off the other; the
    // morning run posts nothing new and records both reactions on the branch.
    b.gh.with_state(|s| {
        s.close(numbers[1]);
        s.issues.get_mut(&numbers[1]).unwrap().state_reason = Some("duplicate".into());
        s.issues.get_mut(&numbers[2]).unwrap().labels.retain(|l| l != "possible-duplicate");
    });
    b.act("schedule", "cluster.yml", &json!({"schedule": "41 5 * * *"}));
    assert_eq!(marked(&b), [0, 1, 1, 0], "the second run posts nothing new");
    assert_eq!(b.gh.state().comments.len(), 2);
    let reactions: Vec<(Value, Value)> = ledger_lines(&b, "cluster.reaction")
        .iter()
        .map(|e| (e.data["issue"].clone(), e.data["reaction"].clone()))
        .collect();
    assert_eq!(reactions, [(json!(numbers[1]), json!("confirmed")), (json!(numbers[2]), json!("rejected"))]);
    b.gh.assert_clean();
    eprintln!("{}", b.timings());
}
