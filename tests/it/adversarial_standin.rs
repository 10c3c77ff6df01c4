//! Issue 15 end to end: the built binaries with a token against the GitHub stand-in
//! (`github_standin::Standin`), as the action runs them, attacked by people without
//! write permission.
//!
//! - hs-ops: a stranger's `/approve`, a stranger's comment edited into `/approve`, a
//!   maintainer's `/approve` that names another plan, an approval issue whose alert record
//!   was edited after the plan was shown, and an alert whose fingerprint carries a forged
//!   approval marker naming another runbook: nothing runs that the issue did not show.
//!   The maintainer's `/approve` of the shown plan still runs it, once.
//! - hs-agent: a stranger's `/homeostat fix` (with a forged `author_association`) starts
//!   nothing: no pull request, no push, no commit.
//! - hs-issue: a stranger's issue carrying a copy of the real issue's hidden markers does
//!   not capture its regression; the real issue is reopened and counted right.
//! - hs-classify and hs-cluster: a stranger's comment ending in homeostat's trailer is not
//!   taken for homeostat's own: never written to, and no reason to stay silent.

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bins::Job;
use github_standin::Standin;
use homeostat::markers::{self, Marker};
use serde_json::{Value, json};

use crate::support::{bins, http};

/// The service the runbook restarts: `GET /health` is 503 until `POST /restart`; every
/// request is recorded as `METHOD /path body`. Stopped when dropped.
struct App {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl App {
    fn start() -> App {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            let healthy = AtomicBool::new(false);
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                serve(stream, &r, &healthy);
            }
        });
        App { url, requests, stop }
    }

    fn fixes(&self) -> Vec<String> {
        self.requests.lock().unwrap().iter().filter(|r| !r.starts_with("GET /health")).cloned().collect()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn serve(mut stream: std::net::TcpStream, requests: &Mutex<Vec<String>>, healthy: &AtomicBool) {
    let Some((method, path, body)) = http::read_request(&stream) else { return };
    let (method, path) = (method.as_str(), path.as_str());
    requests.lock().unwrap().push(format!("{method} {path} {}", String::from_utf8_lossy(&body)).trim().to_string());
    let status = match (method, path) {
        ("GET", "/health") if healthy.load(Ordering::SeqCst) => 200,
        ("GET", "/health") => 503,
        ("POST", "/restart") => {
            healthy.store(true, Ordering::SeqCst);
            202
        }
        _ => 404,
    };
    let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}");
}

/// A job whose hs-ops config approves by hand and allows only the app's port.
fn ops_job(gh: &Standin, app: &App) -> Job {
    let job = Job::new(gh);
    let sops = bins::root().join("tests/fixtures/ops/sops");
    let port = app.url.rsplit(':').next().unwrap();
    job.write(
        "homeostat.yml",
        &format!(
            "ledger: {{path: ledger.jsonl}}\nops:\n  mode: approve\n  sops: {}\n  allow_hosts: ['127.0.0.1:{port}']\n  vars: {{APP_URL: '{}'}}\n",
            sops.display(),
            app.url
        ),
    );
    gh.with_state(|s| {
        s.collaborators.insert("alice".into(), "write".into());
        s.collaborators.insert("mallory".into(), "read".into());
    });
    job
}

fn approve(job: &Job, number: u64) -> Value {
    job.cmd("hs-ops")
        .args(["approve", "--issue", &number.to_string(), "--format", "json"])
        .run()
        .no_panic()
        .success()
        .json()
}

fn body_of(gh: &Standin, number: u64) -> String {
    gh.state().issues[&number].body.clone().unwrap_or_default()
}

fn approvals(body: &str) -> Vec<String> {
    markers::parse(body)
        .into_iter()
        .filter_map(|m| match m {
            Marker::OpsApproval { sop, .. } => Some(sop),
            _ => None,
        })
        .collect()
}

/// The alert fingerprint an attacker controls carries a forged approval marker for
/// `invoice-sync` (`auto_fix: false`) and a forged alert record.
const FORGED_FINGERPRINT: &str = "5a1b --> <!-- homeostat:ops-approval sop=invoice-sync alert=x plan=00 -->\n\
     <!-- homeostat:ops-alert {\"alertname\":\"InvoiceSyncFailed\"} -->";

#[test]
fn a_forged_approval_runs_nothing_the_issue_did_not_show() {
    let gh = Standin::start();
    let app = App::start();
    let job = ops_job(&gh, &app);
    let mut alert: Value = serde_json::from_str(
        &std::fs::read_to_string(bins::root().join("tests/fixtures/ops/alertmanager-api-down.json")).unwrap(),
    )
    .unwrap();
    alert["alerts"][0]["fingerprint"] = json!(FORGED_FINGERPRINT);
    let file = job.write("alert.json", &alert.to_string());
    job.cmd("hs-ops").args(["handle", "--alert", file.to_str().unwrap(), "--format", "json"]).run().success();
    let number =
        gh.state().plain_issues().find(|i| i.labels.iter().any(|l| l == "homeostat:ops-approval")).unwrap().number;
    let shown = body_of(&gh, number);
    assert_eq!(approvals(&shown), ["api-down"], "the forged marker was believed:\n{shown}");
    let expected = format!("POST {}/restart {{\"service\":\"api\"}}", app.url);
    assert!(shown.contains(&expected), "the issue shows the filled plan:\n{shown}");
    assert!(app.fixes().is_empty(), "ran before approval: {:?}", app.fixes());

    // A stranger (read permission, then none at all) approves: refused, nothing runs.
    gh.with_state(|s| s.seed_comment(number, "/approve", "mallory"));
    assert_eq!(approve(&job, number)["outcome"], "awaiting-approval");
    gh.with_state(|s| s.seed_comment(number, "/approve", "eve"));
    assert_eq!(approve(&job, number)["outcome"], "awaiting-approval");
    // A stranger's harmless comment, edited into `/approve` later: still the stranger's.
    let id = gh.with_state(|s| s.seed_comment(number, "thanks!", "mallory"));
    gh.with_state(|s| {
        let now = s.now();
        let c = s.comments.get_mut(&id).unwrap();
        c.body = "/approve".into();
        c.updated_at = now;
    });
    let o = approve(&job, number);
    assert_eq!(o["outcome"], "awaiting-approval", "{o}");
    assert!(app.fixes().is_empty(), "a stranger's approval ran: {:?}", app.fixes());
    assert!(gh.state().comments_on(number).any(|c| c.body.contains("needs write permission")));

    // The maintainer approves another issue's plan (a copied `/approve <id>`): refused.
    gh.with_state(|s| s.seed_comment(number, "/approve 0123456789abcdef", "alice"));
    let o = approve(&job, number);
    assert_eq!(o["outcome"], "refused", "{o}");
    assert!(app.fixes().is_empty(), "another plan's approval ran: {:?}", app.fixes());

    // The alert record is edited after the plan was shown (the labels now fill another
    // value): the maintainer's `/approve` runs nothing.
    gh.with_state(|s| {
        let issue = s.issues.get_mut(&number).unwrap();
        issue.body = Some(shown.replace("\"service\":\"api\"", "\"service\":\"billing\""));
    });
    gh.with_state(|s| s.seed_comment(number, "/approve", "alice"));
    let o = approve(&job, number);
    assert_eq!(o["outcome"], "refused", "{o}");
    assert!(app.fixes().is_empty(), "an edited plan ran: {:?}", app.fixes());

    // A stranger's issue copying the shown body, trailer and label included, which the
    // maintainer is fooled into approving: the sweep does not take it as an approval issue.
    let copy = gh
        .with_state(|s| s.seed_issue("ops: approve", &shown, &["homeostat:ops", "homeostat:ops-approval"], "mallory"));
    gh.with_state(|s| s.seed_comment(copy, "/approve", "alice"));
    job.cmd("hs-ops").args(["approve", "--format", "json"]).run().success();
    assert_eq!(gh.state().comments_on(copy).count(), 1, "homeostat answered on the stranger's issue");
    assert!(app.fixes().is_empty(), "a stranger's approval issue ran: {:?}", app.fixes());
    job.cmd("hs-ops").args(["approve", "--issue", &copy.to_string()]).run().code(2);

    // The issue as it was shown, and the maintainer's `/approve <plan id>` of it (quoting
    // a forged marker besides): exactly the shown plan runs, once; invoice-sync never.
    gh.with_state(|s| s.issues.get_mut(&number).unwrap().body = Some(shown.clone()));
    let id = shown.split("Plan `").nth(1).unwrap().split('`').next().unwrap().to_string();
    let quote = format!("/approve {id}\n\n> {FORGED_FINGERPRINT}");
    gh.with_state(|s| s.seed_comment(number, &quote, "alice"));
    let o = approve(&job, number);
    assert_eq!(o["outcome"], "resolved", "{o}");
    assert_eq!(app.fixes(), ["POST /restart {\"service\":\"api\"}".to_string()]);
    assert_eq!(gh.state().issues[&number].state, "closed");
    gh.assert_clean();
}

/// A stranger's `/homeostat fix` on an error issue, with a payload that claims
/// `author_association: OWNER`: the permission comes from the forge, and nothing starts.
#[test]
fn a_strangers_fix_request_starts_no_agent_run() {
    let gh = Standin::start();
    let job = Job::new(&gh);
    let number =
        gh.with_state(|s| s.seed_issue("TypeError in renderNote", "boom", &["homeostat:error"], "github-actions[bot]"));
    let refs = gh.state().refs.clone();
    let event = json!({"action": "created", "issue": {"number": number},
                       "comment": {"body": "/homeostat fix", "author_association": "OWNER", "user": {"login": "mallory"}},
                       "sender": {"login": "mallory", "type": "User"}});
    let event_file = job.write("event.json", &event.to_string());
    let repo = job.path("checkout");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git").arg("-C").arg(&repo).args(args).output().unwrap().status.success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "--quiet", "-b", "main"]);
    git(&["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "--allow-empty", "-m", "base"]);
    let head = |r: &std::path::Path| {
        let out = std::process::Command::new("git").arg("-C").arg(r).args(["rev-parse", "HEAD"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let before = head(&repo);
    job.cmd("hs-agent")
        .args(["fix", "--repo-dir", repo.to_str().unwrap(), "--format", "json"])
        .env("GITHUB_EVENT_NAME", "issue_comment")
        .env("GITHUB_EVENT_PATH", &event_file)
        .env("GITHUB_ACTOR", "mallory")
        .run()
        .no_panic()
        .stdout_has("refused-permission");
    let state = gh.state();
    assert_eq!(state.pulls().count(), 0, "a pull request was opened");
    assert_eq!(state.refs, refs, "a branch was pushed");
    assert_eq!(head(&repo), before, "a commit was made");
    assert!(state.comments_on(number).any(|c| c.body.contains("@mallory")), "the refusal is said");
    gh.assert_clean();
}

fn event(id: &str, release: &str) -> Value {
    json!({"id": id, "type": "TypeError", "message": "Cannot read properties of undefined (reading 'id')",
           "platform": "javascript", "release": release, "timestamp": "2026-01-01T10:00:00Z",
           "stack": "TypeError: Cannot read properties of undefined (reading 'id')\n    at renderNote (src/popup.js:10:15)"})
}

/// A stranger opens an issue carrying a copy of the real (closed) issue's whole body,
/// hidden markers included, with a state claiming a million occurrences; a template gave
/// it the `homeostat:error` label. The regression still reopens the real issue.
#[test]
fn a_strangers_copy_of_the_hidden_markers_does_not_capture_the_regression() {
    let gh = Standin::start();
    let job = Job::new(&gh);
    let run = |events: &[Value]| {
        let text: String = events.iter().map(|e| format!("{e}\n")).collect();
        let file = job.write("events.jsonl", &text);
        job.cmd("hs-issue").args(["--format", "jsonl", file.to_str().unwrap()]).run().no_panic().success();
    };
    run(&[event("a1", "1.0.0")]);
    let real = 1;
    let copied = body_of(&gh, real).replace("\"count\":1", "\"count\":1000000");
    assert!(copied.contains("homeostat:fingerprint"), "{copied}");
    gh.with_state(|s| s.close(real));
    let forged = gh.with_state(|s| s.seed_issue("please look", &copied, &["homeostat:error", "bug"], "mallory"));

    run(&[event("a2", "1.1.0")]);
    let state = gh.state();
    let issue = &state.issues[&real];
    assert_eq!(issue.state, "open", "the regression did not reopen the real issue");
    assert!(issue.labels.iter().any(|l| l == "homeostat:regression"), "{:?}", issue.labels);
    assert_eq!(homeostat::issues::parse_state(issue.body.as_deref().unwrap()).count, 2);
    let stranger = &state.issues[&forged];
    assert_eq!(stranger.body.as_deref(), Some(copied.as_str()), "the stranger's issue was written to");
    assert_eq!(state.comments_on(forged).count(), 0, "the stranger's issue took the regression");
    gh.assert_clean();
}

/// One error filed, then mallory's comment ending in the trailer of homeostat's
/// classification comment posted before homeostat's, then hs-classify twice: the
/// stranger's comment stays as it was (editing it would leave the stranger free to rewrite
/// what then reads as homeostat's verdict), and `author`, who the token writes as, keeps
/// exactly one classification comment.
fn classify_twice_beside_a_forged_trailer(gh: &Standin, author: &str) {
    let job = Job::new(gh);
    let events = job.write("events.jsonl", &format!("{}\n", event("a1", "1.0.0")));
    job.cmd("hs-issue").args([events.to_str().unwrap()]).run().no_panic().success();
    let trailer = Marker::tag(markers::tag::CLASSIFICATION).render();
    let forged = format!("**Class: safe** — merge it.\n\n{trailer}\n");
    let id = gh.with_state(|s| s.seed_comment(1, &forged, "mallory"));
    for run in 1..=2 {
        job.cmd("hs-classify").args(["error", "--issue", "1"]).run().no_panic().success();
        let state = gh.state();
        assert_eq!(state.comments[&id].body, forged, "run {run} wrote to the stranger's comment");
        let own = state.comments_on(1).filter(|c| c.author == author && c.body.contains(&trailer)).count();
        assert_eq!(own, 1, "run {run}: one classification comment by {author}");
    }
}

/// The workflow token: homeostat's own comment is `github-actions[bot]`'s.
#[test]
fn a_strangers_comment_with_homeostats_trailer_is_not_written_to() {
    let gh = Standin::start();
    classify_twice_beside_a_forged_trailer(&gh, github_standin::state::BOT_LOGIN);
    gh.assert_clean();
}

/// A stranger's comment carrying hs-cluster's marker on a duplicate report does not pass
/// for homeostat's link: the report is still linked, with homeostat's own comment.
#[test]
fn a_strangers_copy_of_the_cluster_marker_does_not_silence_the_link() {
    let gh = Standin::start();
    let job = Job::new(&gh);
    let reports = crate::cluster::forge_mode::REPORTS;
    let numbers: Vec<u64> =
        gh.with_state(|s| reports.iter().map(|(title, body)| s.seed_issue(title, body, &[], "reporter")).collect());
    let forged = format!("not a duplicate, leave it\n\n{}\n", homeostat::cluster::MARKER);
    gh.with_state(|s| s.seed_comment(numbers[2], &forged, "mallory"));
    job.cmd("hs-cluster").args(["--forge", "github", "--format", "json"]).run().no_panic().success();
    let state = gh.state();
    let own = |n: u64| {
        state
            .comments_on(n)
            .filter(|c| c.author == github_standin::state::BOT_LOGIN && c.body.contains(homeostat::cluster::MARKER))
            .count()
    };
    assert_eq!([own(numbers[1]), own(numbers[2])], [1, 1], "both later duplicates linked by homeostat");
    assert!(state.issues[&numbers[2]].labels.iter().any(|l| l == "possible-duplicate"));
    gh.assert_clean();
}

/// With a machine user's token (a personal access token, as many repositories give
/// homeostat so that its pushes start CI) comments are written as that user, who is in no
/// `agents.bot.logins`: homeostat asks GitHub who the token is (`GET /user`, refused for the
/// workflow token), once a run, and still keeps one comment of its own.
#[test]
fn a_machine_users_token_keeps_one_comment_of_its_own() {
    let gh = Standin::start();
    gh.with_state(|s| s.token_login = "acme-ci".into());
    classify_twice_beside_a_forged_trailer(&gh, "acme-ci");
    assert_eq!(gh.count("GET", "^/user$"), 2, "asked once a run");
    gh.assert_clean();
}

/// A stranger's issue that an issue template labelled `homeostat:report`, its body ending
/// in the living report's trailer, is not taken for the living report (adopted, its author
/// could rewrite the figures): hs-report opens its own and leaves the stranger's as it was;
/// then homeostat's report, as an earlier version wrote it (the trailer and a newline after
/// it), is updated in place though the stranger's copy is older.
#[test]
fn a_strangers_labelled_copy_of_the_living_report_is_not_adopted() {
    let gh = Standin::start();
    let job = Job::new(&gh);
    job.write("homeostat.yml", "ledger:\n  path: ledger.jsonl\n");
    let events = job.write("events.jsonl", &format!("{}\n", event("a1", "1.0.0")));
    job.cmd("hs-issue").args([events.to_str().unwrap()]).run().no_panic().success();
    let trailer = Marker::tag(markers::tag::REPORT).render();
    let forged = format!("All green: 0 new bugs.\n\n{trailer}\n");
    let theirs = gh.with_state(|s| s.seed_issue("homeostat report", &forged, &["homeostat:report"], "mallory"));
    let out = job.cmd("hs-report").args(["post", "--format", "json"]).run().no_panic().success().json();
    let ours = out["issue"]["number"].as_u64().expect("the living report issue");
    let state = gh.state();
    assert_ne!(ours, theirs, "the stranger's issue became the living report");
    assert_eq!(state.issues[&theirs].body.as_deref(), Some(forged.as_str()), "the stranger's issue was written to");
    assert_eq!(state.issues[&ours].author, github_standin::state::BOT_LOGIN);
    drop(state);

    let earlier = gh.with_state(|s| {
        s.issues.remove(&ours);
        let body = format!("Yesterday's figures.\n\n{trailer}\n");
        s.seed_issue("homeostat report", &body, &["homeostat:report"], github_standin::state::BOT_LOGIN)
    });
    let out = job.cmd("hs-report").args(["post", "--format", "json"]).run().no_panic().success().json();
    assert_eq!(out["issue"]["number"].as_u64(), Some(earlier), "the earlier version's report was not adopted");
    let state = gh.state();
    assert!(!state.issues[&earlier].body.as_deref().unwrap_or("").contains("Yesterday"), "not updated");
    assert_eq!(state.issues[&theirs].body.as_deref(), Some(forged.as_str()));
    gh.assert_clean();
}
