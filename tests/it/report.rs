//! hs-report end to end: a seeded 90-day ledger (scripts/gen-ledger.py) against the
//! totals its generator counted, the site's pages, every notification payload against
//! its platform's limits (Teams: the Adaptive Cards library), and `hs-report post`
//! delivering to HTTP receivers on 127.0.0.1 with the local forge.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use homeostat::ledger::Ledger;
use homeostat::report::payload::{self, EventKind, Link, Notice};
use homeostat::report::{Budgets, compute, kinds};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::support::run;

const UNTIL: &str = "2026-12-01T00:00:00Z";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the generator; returns (ledger file, totals).
fn generate(dir: &Path, seed: u64, days: u32) -> (PathBuf, Value) {
    let out = Command::new("python3")
        .arg(root().join("scripts/gen-ledger.py"))
        .args(["--seed", &seed.to_string(), "--days", &days.to_string(), "--until", UNTIL, "--out"])
        .arg(dir)
        .output()
        .expect("python3 runs scripts/gen-ledger.py");
    assert!(out.status.success(), "gen-ledger: {}", String::from_utf8_lossy(&out.stderr));
    let totals = serde_json::from_str(&std::fs::read_to_string(dir.join("totals.json")).unwrap()).unwrap();
    (dir.join("ledger.jsonl"), totals)
}

/// Every leaf of `expected` equals the same path in `actual`; returns how many leaves.
fn assert_matches(actual: &Value, expected: &Value, path: &str) -> usize {
    match expected {
        Value::Object(map) => map.iter().map(|(k, v)| assert_matches(&actual[k], v, &format!("{path}.{k}"))).sum(),
        leaf => {
            assert_eq!(actual, leaf, "{path}");
            1
        }
    }
}

fn until() -> Timestamp {
    UNTIL.parse().unwrap()
}

#[test]
fn figures_equal_the_generated_ledgers_totals_exactly() {
    for seed in [7, 11, 2026] {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, totals) = generate(dir.path(), seed, 90);
        let entries = Ledger::open(&ledger).entries().unwrap();
        let f = compute(&entries, until() - SignedDuration::from_hours(90 * 24), until(), Budgets::default());
        let figures = serde_json::to_value(&f).unwrap();
        let leaves = assert_matches(&figures, &totals, &format!("seed {seed}"));
        assert!(leaves >= 30, "the totals cover every figure ({leaves} compared)");
        assert_eq!(f.daily.len(), 90);
        let daily_new: u64 = f.daily.iter().map(|d| d.new_bugs).sum();
        assert_eq!(daily_new, f.errors.new_bugs, "the daily series add up to the window");
    }
}

#[test]
fn the_binary_prints_the_same_figures_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, totals) = generate(dir.path(), 5, 90);
    let config = dir.path().join("homeostat.yml");
    std::fs::write(&config, format!("ledger: {{path: {}, branch: ''}}\n", ledger.display())).unwrap();
    let figures = run::bin("hs-report")
        .arg("--config")
        .arg(&config)
        .args(["--since", "90d", "--until", UNTIL, "--format", "json"])
        .run()
        .success()
        .json();
    assert_matches(&figures, &totals, "hs-report");
}

/// Each `<svg class="plot">…</svg>` of a page.
fn charts(html: &str) -> Vec<&str> {
    html.match_indices("<svg class=\"plot\"")
        .map(|(start, _)| &html[start..start + html[start..].find("</svg>").unwrap() + 6])
        .collect()
}

#[test]
fn every_page_has_charts_with_points_titles_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, _) = generate(dir.path(), 7, 90);
    let mut entries = Ledger::open(&ledger).entries().unwrap();
    // A class name that is markup must stay text.
    let evil = Ledger::open(dir.path().join("evil.jsonl"));
    let at = until() - SignedDuration::from_hours(2);
    evil.append_at(at, kinds::ISSUE_CLASSIFIED, "1", json!({"class": "<script>alert(1)</script>"})).unwrap();
    entries.extend(evil.entries().unwrap());
    let f = compute(&entries, until() - SignedDuration::from_hours(90 * 24), until(), Budgets::default());
    let files = homeostat::report::site::build(&f, "octo/app", until()).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["style.css", "index.html", "errors.html", "fixes.html", "canary.html", "runbooks.html", "spend.html"]
    );
    for (name, html) in files.iter().filter(|(n, _)| n.ends_with(".html")) {
        assert!(!html.contains("<script"), "{name}: no script, and markup from the ledger is escaped");
        let svgs = charts(html);
        assert!(!svgs.is_empty(), "{name} has charts");
        for svg in svgs {
            let id = svg.split("aria-labelledby=\"").nth(1).unwrap().split('-').next().unwrap();
            let mut reader = quick_xml::Reader::from_str(svg);
            let (mut points, mut title, mut desc) = (0, false, false);
            loop {
                match reader.read_event().unwrap() {
                    quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                        let point =
                            e.attributes().flatten().any(|a| a.key.as_ref() == "class" && a.value.starts_with("pt "));
                        match e.name().as_ref() {
                            "rect" if point => points += 1,
                            "title" => title = true,
                            "desc" => desc = true,
                            _ => {}
                        }
                    }
                    quick_xml::events::Event::Eof => break,
                    _ => {}
                }
            }
            assert!(points > 0 && title && desc, "{name}: chart {id} has points ({points}), a title and a description");
            assert!(svg.contains("role=\"img\""), "{name}: chart {id} is an image to assistive technology");
            assert!(html.contains(&format!("<table id=\"{id}")), "{name}: chart {id} has a table of its values");
        }
    }
    let errors = &files.iter().find(|(n, _)| n == "errors.html").unwrap().1;
    assert!(errors.contains("&lt;script&gt;alert(1)"), "shown as text");
    // Seed 7's largest cluster of duplicates, one row with its count.
    assert!(errors.contains("<tr><th scope=\"row\">Problem 3</th><td>7</td></tr>"), "{errors}");
}

fn notice(kind: EventKind, text: &str) -> Notice {
    Notice {
        kind,
        source: "0123abcd".into(),
        title: format!("{} {}", kind.as_str(), text.chars().take(400).collect::<String>()),
        text: text.into(),
        links: vec![
            Link { label: "Workflow run".into(), url: "https://github.com/octo/app/actions/runs/42".into() },
            Link { label: "Issue #7".into(), url: "https://github.com/octo/app/issues/7".into() },
        ],
        ts: until(),
        figures: (kind == EventKind::Digest).then(|| json!({"errors": {"new_bugs": 3}})),
    }
}

/// Validates Teams payloads with the Adaptive Cards library (node).
fn adaptive_card_problems(dir: &Path, payloads: &[Value]) -> String {
    let npm = std::env::var("HOMEOSTAT_NPM").map_or_else(|_| root().join("tests/npm/node_modules"), PathBuf::from);
    assert!(
        npm.join("adaptivecards/dist/adaptivecards.js").exists(),
        "npm `adaptivecards` (3.0.6) is missing from {}: it validates the Teams cards",
        npm.display()
    );
    let files: Vec<PathBuf> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let path = dir.join(format!("teams-{i}.json"));
            std::fs::write(&path, serde_json::to_string(p).unwrap()).unwrap();
            path
        })
        .collect();
    let out = Command::new("node")
        .arg(root().join("scripts/report-validate-card.js"))
        .args(&files)
        .env("HOMEOSTAT_NPM", &npm)
        .output()
        .unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), if out.status.success() { "" } else { "(failed)" })
}

#[test]
fn every_payload_fits_its_platforms_documented_limits() {
    let dir = tempfile::tempdir().unwrap();
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("schema/report-notification.schema.json")).unwrap())
            .unwrap();
    let webhook = jsonschema::validator_for(&schema).unwrap();
    let huge = format!("<!channel> @everyone {}", "a reason that goes on ".repeat(3000));
    let mut teams = Vec::new();
    for kind in EventKind::ALL {
        for text in ["The canary saw 5xx at 12% (bound 2%).", huge.as_str()] {
            let n = notice(kind, text);
            let slack = payload::slack(&n);
            assert_eq!(payload::check_slack(&slack), Vec::<String>::new(), "{kind:?}");
            let mrkdwn = format!("{}{}", slack["text"], slack["blocks"][1]["text"]["text"]);
            assert!(!mrkdwn.contains("<!channel>"), "Slack mrkdwn cannot mention a channel");
            assert_eq!(payload::check_discord(&payload::discord(&n)), Vec::<String>::new(), "{kind:?}");
            let t = payload::teams(&n);
            assert_eq!(payload::check_teams(&t), Vec::<String>::new(), "{kind:?}");
            teams.push(t);
            let w = payload::webhook(&n);
            let errors: Vec<String> = webhook.iter_errors(&w).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{kind:?}: {errors:?}");
        }
    }
    // The checks themselves catch a payload over the limits.
    let mut bad = payload::slack(&notice(EventKind::Rollback, "x"));
    bad["blocks"][0]["text"]["text"] = json!("x".repeat(151));
    assert_eq!(payload::check_slack(&bad).len(), 1);
    let mut bad = payload::discord(&notice(EventKind::Rollback, "x"));
    bad["embeds"][0]["description"] = json!("x".repeat(6100));
    assert_eq!(payload::check_discord(&bad).len(), 2, "description and total are both over");
    assert_eq!(adaptive_card_problems(dir.path(), &teams), "");
    let mut broken = teams[0].clone();
    broken["attachments"][0]["content"]["body"][0]["color"] = json!("Purple");
    broken["attachments"][0]["content"]["actions"][0].as_object_mut().unwrap().remove("url");
    let problems = adaptive_card_problems(dir.path(), &[broken]);
    assert!(problems.contains("color") && problems.contains("url") && problems.contains("(failed)"), "{problems}");
}

/// What a receiver got: `(path, JSON body)` per request.
type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// An HTTP receiver on 127.0.0.1 that answers 200 and records every request.
fn receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or_default().to_string();
            let mut length = 0;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            store.lock().unwrap().push((path, serde_json::from_slice(&body).unwrap_or(Value::Null)));
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (url, got)
}

fn post(dir: &Path, env: &[(String, String)], until: &str) -> Value {
    let cmd = run::bin("hs-report")
        .env_clear()
        .dir(dir)
        .args(["--config", "homeostat.yml", "--forge", "local", "--forge-dir", "forge", "--format", "json"])
        .args(["--until", until, "post", "--site-url", "https://octo.github.io/app/"])
        .env("GITHUB_REPOSITORY", "octo/app")
        .env("GITHUB_RUN_ID", "4242");
    let out = env.iter().fold(cmd, |cmd, (k, v)| cmd.env(k, v)).run().success();
    // A webhook URL is a secret.
    out.stdout_lacks("s3cr3t").stderr_lacks("s3cr3t").json()
}

#[test]
fn post_keeps_one_living_issue_and_notifies_each_event_once_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (url, got) = receiver();
    let targets = ["slack", "discord", "teams", "webhook"];
    let mut yml = "ledger: {path: ledger.jsonl, branch: ''}\nnotify:\n  max_per_hour: 3\n".to_string();
    let mut env = Vec::new();
    for t in targets {
        yml.push_str(&format!("  {t}: {{url_env: {}_URL}}\n", t.to_uppercase()));
        env.push((format!("{}_URL", t.to_uppercase()), format!("{url}/{t}/s3cr3t")));
    }
    std::fs::write(dir.path().join("homeostat.yml"), yml).unwrap();
    let ledger = Ledger::open(dir.path().join("ledger.jsonl"));
    let t0: Timestamp = UNTIL.parse().unwrap();
    let h = |n: i64| t0 - SignedDuration::from_hours(n);
    ledger.append_at(h(5), kinds::ISSUE_CREATED, "fp1", json!({"issue": 7, "occurrences": 3})).unwrap();
    ledger
        .append_at(
            h(4),
            kinds::CANARY_DECISION,
            "rollback",
            json!({"decision": "rollback", "reason": "5xx 12%", "run_id": 99}),
        )
        .unwrap();
    ledger.append_at(h(3), kinds::AGENT_OUTCOME, "7", json!({"outcome": "agent-timeout"})).unwrap();
    ledger.append_at(h(2), kinds::AGENT_OUTCOME, "8", json!({"outcome": "pr-opened", "pr": 9})).unwrap();
    ledger
        .append_at(h(1), kinds::OPS_ESCALATION, "restart-service", json!({"issue": 10, "reason": "still down"}))
        .unwrap();

    let first = post(dir.path(), &env, UNTIL);
    assert_eq!(first["quiet"], false);
    let number = first["issue"]["number"].as_u64().unwrap();
    let requests = got.lock().unwrap().clone();
    let mut per: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (path, body) in &requests {
        per.entry(path.split('/').nth(1).unwrap().to_string()).or_default().push(body.clone());
    }
    for t in targets {
        assert_eq!(per[t].len(), 4, "{t}: 3 of 4 events within the hourly limit, and the digest");
        assert_eq!(first["delivery"]["suppressed"][t], 1, "{t}");
    }
    assert!(per["slack"].iter().all(|p| payload::check_slack(p).is_empty()));
    assert!(per["discord"].iter().all(|p| payload::check_discord(p).is_empty()));
    assert!(per["teams"].iter().all(|p| payload::check_teams(p).is_empty()));
    assert_eq!(adaptive_card_problems(dir.path(), &per["teams"]), "");
    let events: Vec<&str> = per["webhook"].iter().map(|p| p["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["rollback", "agent-failure", "review", "digest"]);
    let rollback = &per["webhook"][0]["links"];
    assert_eq!(rollback[0]["url"], "https://github.com/octo/app/actions/runs/99", "the run that decided");
    assert_eq!(per["webhook"][2]["links"][2]["url"], "https://github.com/octo/app/pull/9");

    // Later the same day: nothing new to send, and the same issue is updated in place.
    let second = post(dir.path(), &env, "2026-12-01T01:00:00Z");
    assert_eq!(second["issue"]["number"].as_u64(), Some(number));
    assert_eq!(got.lock().unwrap().len(), requests.len(), "each event is notified once");
    let forge = homeostat::forge::local::LocalForge::open(&dir.path().join("forge")).unwrap();
    let issues = homeostat::app::block_on(homeostat::forge::Forge::list_issues(
        &forge,
        homeostat::report::living::LABEL,
        homeostat::forge::StateFilter::All,
    ))
    .unwrap()
    .unwrap();
    assert_eq!(issues.len(), 1, "one living report");
    assert!(homeostat::report::living::is_report(&issues[0]));
    // The living report: figures, the mermaid chart, the markers.
    crate::snap!("living_report_body", &issues[0].body);

    // Three days on, a quiet day: the issue and the digest are left alone.
    let before = issues[0].body.clone();
    let quiet = post(dir.path(), &env, "2026-12-04T00:00:00Z");
    assert_eq!((quiet["quiet"].as_bool(), quiet["issue"].is_null()), (Some(true), true));
    let after = homeostat::app::block_on(homeostat::forge::Forge::get_issue(&forge, number)).unwrap().unwrap();
    assert_eq!(after.body, before);
    assert_eq!(got.lock().unwrap().len(), requests.len());
}
