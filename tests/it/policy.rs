//! The risk policy: conformance of its globs (CODEOWNERS and git wildmatch corpora),
//! every condition kind, class precedence, reasons, bad policy files, and the
//! hs-classify binary.

use homeostat::policy::glob::{PathGlob, wildmatch};
use homeostat::policy::{Class, ErrorFacts, Policy};
use homeostat::testing::shared_path;

use crate::support::run::{self, Cmd};

fn facts() -> ErrorFacts {
    ErrorFacts {
        title: "TypeError: Cannot read properties of undefined (reading 'id')".into(),
        message: "Cannot read properties of undefined (reading 'id')".into(),
        stack: "TypeError: Cannot read properties of undefined (reading 'id')\n    at renderNote (chrome-extension://abc/popup.js:10:15)".into(),
        r#type: "TypeError".into(),
        surfaces: vec!["popup".into()],
        platform: Some("javascript".into()),
        release: Some("1.4.2".into()),
        environments: vec!["production".into()],
        tags: vec!["browser=chrome-131".into(), "region=eu".into()],
        labels: vec!["homeostat:error".into()],
        in_app_files: vec!["chrome-extension://abc/src/popup/render.js".into()],
    }
}

fn policy(rules: &str) -> Policy {
    let text = format!("version: 1\nerrors:\n  rules:\n{rules}\n  default: unknown\nagent:\n  classes: [safe]\n");
    Policy::parse("p.yml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn class_of(rules: &str, f: &ErrorFacts) -> Class {
    policy(rules).classify_error(f).class
}

// --- conformance ------------------------------------------------------------------------

#[test]
fn codeowners_corpus_passes() {
    let Some(path) = shared_path("corpus/codeowners-patterns/patterns.json") else { return };
    let cases: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (mut pass, mut total, mut failures) = (0, 0, Vec::new());
    for case in cases.as_array().unwrap() {
        let pattern = case["pattern"].as_str().unwrap();
        let glob = PathGlob::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        for (path, expected) in case["paths"].as_object().unwrap() {
            total += 1;
            let got = glob.is_match(path);
            if got == expected.as_bool().unwrap() {
                pass += 1;
            } else {
                failures.push(format!("{pattern} on {path}: expected {expected}, got {got}"));
            }
        }
    }
    println!("codeowners-patterns: {pass}/{total}");
    assert_eq!(total, 153);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn git_wildmatch_corpus_passes() {
    let Some(path) = shared_path("corpus/git-wildmatch/cases.jsonl") else { return };
    let text = std::fs::read_to_string(path).unwrap();
    let (mut pass, mut total, mut failures) = (0, 0, Vec::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let (pattern, subject) = (case["pattern"].as_str().unwrap(), case["text"].as_str().unwrap());
        let expected = case["wildmatch"].as_i64().unwrap() == 1;
        total += 1;
        if wildmatch(pattern, subject) == expected {
            pass += 1;
        } else {
            failures.push(format!("#{} {pattern:?} on {subject:?}: expected {expected}", case["i"]));
        }
    }
    println!("git-wildmatch (wildmatch column): {pass}/{total}");
    assert_eq!(total, 190);
    assert!(failures.is_empty(), "{failures:#?}");
}

// --- conditions -------------------------------------------------------------------------

#[test]
fn text_searches_title_message_and_stack() {
    let f = facts();
    assert_eq!(class_of("    - {class: critical, when: {text: 'renderNote'}}", &f), Class::Critical);
    assert_eq!(class_of("    - {class: critical, when: {text: '(?i)^typeerror: cannot'}}", &f), Class::Critical);
    assert_eq!(class_of("    - {class: critical, when: {text: ['stripe', 'billing']}}", &f), Class::Unknown);
}

#[test]
fn type_is_exact() {
    let f = facts();
    assert_eq!(class_of("    - {class: safe, when: {type: [RangeError, TypeError]}}", &f), Class::Safe);
    assert_eq!(class_of("    - {class: safe, when: {type: typeerror}}", &f), Class::Unknown);
}

#[test]
fn surface_and_platform_ignore_case_and_need_the_field() {
    let mut f = facts();
    assert_eq!(class_of("    - {class: safe, when: {surface: POPUP}}", &f), Class::Safe);
    assert_eq!(class_of("    - {class: safe, when: {platform: [python, JavaScript]}}", &f), Class::Safe);
    f.surfaces.clear();
    assert_eq!(class_of("    - {class: safe, when: {surface: popup}}", &f), Class::Unknown);
}

#[test]
fn environment_and_tags_match_any_value_seen_and_every_key_listed() {
    let mut f = facts();
    assert_eq!(class_of("    - {class: critical, when: {environment: [staging, Production]}}", &f), Class::Critical);
    assert_eq!(class_of("    - {class: critical, when: {environment: staging}}", &f), Class::Unknown);
    let c = policy("    - {name: eu-chrome, class: safe, when: {tags: {region: eu, browser: 'chrome-*'}}}")
        .classify_error(&f);
    assert_eq!(c.class, Class::Safe);
    assert_eq!(c.reasons[0].matched, "tag browser=chrome-* (chrome-131); tag region=eu (eu)");
    // Every key must be present: a missing key or another value means the rule does not hold.
    assert_eq!(class_of("    - {class: safe, when: {tags: {region: eu, os: linux}}}", &f), Class::Unknown);
    assert_eq!(class_of("    - {class: safe, when: {tags: {region: [us, ap]}}}", &f), Class::Unknown);
    // An issue may have seen several environments: any of them counts.
    f.environments = vec!["development".into(), "staging".into()];
    assert_eq!(class_of("    - {class: safe, when: {environment: staging}}", &f), Class::Safe);
    f.environments.clear();
    assert_eq!(class_of("    - {class: safe, when: {environment: staging}}", &f), Class::Unknown);
    for empty in ["{tags: {}}", "{tags: {region: []}}", "{environment: []}"] {
        let text = format!("version: 1\nerrors:\n  rules:\n    - {{class: safe, when: {empty}}}\n");
        let msg = Policy::parse("p.yml", &text).unwrap_err().to_string();
        assert!(msg.contains("can never hold"), "{empty}: {msg}");
    }
}

#[test]
fn path_globs_match_in_app_files_reduced_to_paths() {
    let f = facts();
    assert_eq!(class_of("    - {class: critical, when: {path: 'src/popup/**'}}", &f), Class::Critical);
    assert_eq!(class_of("    - {class: critical, when: {path: 'popup'}}", &f), Class::Critical, "unanchored dir");
    assert_eq!(
        class_of("    - {class: critical, when: {path: 'popup/**'}}", &f),
        Class::Unknown,
        "a middle slash anchors"
    );
    assert_eq!(class_of("    - {class: critical, when: {path: '/popup/**'}}", &f), Class::Unknown, "anchored");
    assert_eq!(class_of("    - {class: critical, when: {path: '**/*.py'}}", &f), Class::Unknown);
}

#[test]
fn labels_and_releases() {
    let f = facts();
    assert_eq!(class_of("    - {class: safe, when: {labels: HOMEOSTAT:ERROR}}", &f), Class::Safe);
    assert_eq!(class_of("    - {class: safe, when: {labels: [wontfix]}}", &f), Class::Unknown);
    assert_eq!(class_of("    - {class: safe, when: {release: '1.4.*'}}", &f), Class::Safe);
    assert_eq!(class_of("    - {class: safe, when: {release: ['1.4.2']}}", &f), Class::Safe);
    assert_eq!(class_of("    - {class: safe, when: {release: '2.*'}}", &f), Class::Unknown);
}

#[test]
fn every_condition_of_a_rule_must_hold() {
    let f = facts();
    assert_eq!(class_of("    - {class: safe, when: {type: TypeError, surface: popup}}", &f), Class::Safe);
    assert_eq!(class_of("    - {class: safe, when: {type: TypeError, surface: background}}", &f), Class::Unknown);
}

// --- precedence and reasons -------------------------------------------------------------

#[test]
fn most_risky_matching_rule_wins_whatever_the_order() {
    let f = facts();
    let rules = "    - {class: safe, when: {type: TypeError}}\n    - {class: critical, when: {surface: popup}}\n    - {class: needs-validation, when: {platform: javascript}}";
    assert_eq!(class_of(rules, &f), Class::Critical);
    let rules =
        "    - {class: needs-validation, when: {platform: javascript}}\n    - {class: safe, when: {type: TypeError}}";
    assert_eq!(class_of(rules, &f), Class::NeedsValidation);
}

#[test]
fn reasons_name_every_matching_rule_in_order() {
    let p = policy(
        "    - {name: nulls, class: safe, when: {text: 'undefined'}}\n    - {class: needs-validation, when: {surface: popup, type: TypeError}}\n    - {name: never, class: critical, when: {surface: background}}",
    );
    let c = p.classify_error(&facts());
    assert_eq!(c.class, Class::NeedsValidation);
    assert!(!c.auto_fixable, "only safe is in agent.classes");
    let rules: Vec<&str> = c.reasons.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(rules, ["nulls", "errors.rules[1] (needs-validation)"]);
    assert!(c.reasons[0].matched.contains("\"undefined\" in the title"), "{}", c.reasons[0].matched);
    assert_eq!(c.reasons[1].matched, "type TypeError; surface popup");
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["class"], "needs-validation");
    assert_eq!(json["reasons"][0]["rule"], "nulls");
}

#[test]
fn no_rule_gives_the_default_with_a_reason() {
    let c = policy("    - {class: critical, when: {surface: background}}").classify_error(&facts());
    assert_eq!(c.class, Class::Unknown);
    assert!(!c.auto_fixable);
    assert_eq!(c.reasons.len(), 1);
    assert_eq!(c.reasons[0].rule, "errors.default");
}

#[test]
fn builtin_policy_classes_design_examples() {
    let p = Policy::builtin();
    let c = p.classify_error(&facts());
    assert_eq!((c.class, c.auto_fixable), (Class::Safe, true));
    let mut f = facts();
    f.message = "Stripe payment failed".into();
    assert_eq!(p.classify_error(&f).class, Class::Critical);
    let mut f = facts();
    f.surfaces = vec!["service-worker".into()];
    let c = p.classify_error(&f);
    assert_eq!((c.class, c.auto_fixable), (Class::NeedsValidation, true));
}

// --- change paths ----------------------------------------------------------------------

#[test]
fn path_class_is_the_most_risky_match() {
    let p = Policy::parse(
        "p.yml",
        "version: 1\nchanges:\n  paths:\n    safe: ['docs/**']\n    needs-validation: ['**/package.json', 'docs/api/**']\n    critical: ['auth/**', '!auth/README.md', 'docs/api/keys.md']\n",
    )
    .unwrap();
    assert_eq!(p.path_class("auth/login.ts"), Some(Class::Critical));
    assert_eq!(p.path_class("auth/README.md"), None);
    assert_eq!(p.path_class("docs/guide.md"), Some(Class::Safe));
    assert_eq!(p.path_class("docs/api/list.md"), Some(Class::NeedsValidation));
    assert_eq!(p.path_class("docs/api/keys.md"), Some(Class::Critical));
    assert_eq!(p.path_class("web/package.json"), Some(Class::NeedsValidation));
    assert_eq!(p.path_class("src/main.rs"), None);
    // Left-out lists come from the built-in policy.
    assert!(p.is_test_path("tests/a.rs"));
    assert!(p.is_test_path("src/a.test.ts"));
    assert!(!p.is_test_path("src/a.ts"));
    assert!(p.changes().manifests.is_match("Cargo.lock"));
}

// --- bad files -------------------------------------------------------------------------

fn load_error(text: &str) -> (u8, String) {
    let e = Policy::parse("bad.yml", text).unwrap_err();
    (e.exit_code(), e.to_string())
}

#[test]
fn bad_policies_are_input_errors_with_positions() {
    let (code, msg) = load_error("version: 1\nerrors:\n  rulez: []\n");
    assert_eq!(code, 2);
    assert!(msg.starts_with("bad.yml:3:3: "), "{msg}");
    assert!(msg.contains("unknown field `rulez`"), "{msg}");

    let (code, msg) =
        load_error("version: 1\nerrors:\n  rules:\n    - class: safe\n      when: {text: ['ok', '(unclosed']}\n");
    assert_eq!(code, 2);
    assert!(msg.starts_with("bad.yml:5:27: bad regex `(unclosed`"), "{msg}");

    let (code, msg) =
        load_error("version: 1\nchanges:\n  paths:\n    critical:\n      - 'auth/**'\n      - 'src/[abc'\n");
    assert_eq!(code, 2);
    assert!(msg.starts_with("bad.yml:6:9: changes.paths.critical: bad glob `src/[abc`"), "{msg}");

    let (code, msg) = load_error("version: 1\nerrors:\n  rules:\n    - class: urgent\n      when: {type: X}\n");
    assert_eq!(code, 2);
    assert!(msg.starts_with("bad.yml:4:14: "), "{msg}");
    assert!(msg.contains("unknown variant `urgent`"), "{msg}");

    let (_, msg) = load_error("version: 2\n");
    assert!(msg.starts_with("bad.yml:1:1: version 2"), "{msg}");
    let (_, msg) = load_error("version: 1\nerrors:\n  rules:\n    - class: safe\n      when: {}\n");
    assert!(msg.contains("at least one condition"), "{msg}");
}

// --- the binary ------------------------------------------------------------------------

fn hs_classify() -> Cmd {
    run::bin("hs-classify").env_remove("GITHUB_TOKEN").env_remove("HOMEOSTAT_CONFIG")
}

#[test]
fn check_policy_exits_2_with_position_on_each_kind_of_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, at) in [
        ("key.yml", "version: 1\nagent:\n  clases: [safe]\n", ":3:3:"),
        ("regex.yml", "version: 1\nerrors:\n  rules:\n    - {class: safe, when: {text: '[z-a]'}}\n", ":4:34:"),
        ("glob.yml", "version: 1\nchanges:\n  tests: ['tests/[']\n", ":3:11:"),
        ("class.yml", "version: 1\nagent:\n  classes: [safe, risky]\n", ":3:19:"),
        // The same bad glob twice: `changes.paths` is checked first, so the error is the
        // second copy's (a text search found the first).
        ("twice.yml", "version: 1\nchanges:\n  docs: ['x/[']\n  paths:\n    critical: ['x/[']\n", ":5:16:"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        hs_classify().arg("check-policy").arg(&path).run().code(2).stderr_has(&format!("{}{at}", path.display()));
    }
}

#[test]
fn check_policy_reports_rule_hits_on_a_sample() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("sample.jsonl");
    std::fs::write(
        &sample,
        "{\"type\":\"TypeError\",\"message\":\"Cannot read properties of undefined (reading 'x')\",\"surface\":\"popup\"}\n{\"message\":\"stripe payment declined\",\"surface\":\"background\"}\n",
    )
    .unwrap();
    let report = hs_classify()
        .args(["check-policy", "policies/default.yml", "--sample"])
        .arg(&sample)
        .args(["--format", "json"])
        .run()
        .success()
        .json();
    let rules = report["rules"].as_array().unwrap();
    let count = |name: &str| rules.iter().find(|r| r["rule"] == name).unwrap()["count"].as_u64().unwrap();
    assert_eq!(count("security-or-money"), 1);
    assert_eq!(count("background-surface"), 1);
    assert_eq!(count("null-dereference"), 1);
    assert_eq!(report["classes"]["critical"], 1);
    assert_eq!(report["classes"]["safe"], 1);
}

#[test]
fn shipped_policies_load() {
    for path in ["policies/default.yml", "policies/examples/browser-extension.yml", "policies/examples/web-service.yml"]
    {
        hs_classify().args(["check-policy", path]).run().success();
    }
}

#[test]
fn classify_issue_labels_comments_once_and_moves_on_the_board() {
    use homeostat::forge::{Forge, NewIssue, local::LocalForge};
    let dir = tempfile::tempdir().unwrap();
    let forge_dir = dir.path().join("forge");
    let forge = LocalForge::open(&forge_dir).unwrap();
    let body = "**Platform:** javascript\n**Surface:** popup\n\n```\nTypeError: Cannot read properties of undefined (reading 'id')\n    at renderNote (chrome-extension://abc/popup.js:10:15)\n```\n\n<!-- homeostat:fingerprint=0123456789abcdef algorithm=v1 -->";
    let issue = homeostat::app::block_on(forge.create_issue(&NewIssue {
        title: "TypeError: Cannot read properties of undefined (reading 'id')".into(),
        body: body.into(),
        labels: vec!["homeostat:error".into(), "change-class:critical".into()],
    }))
    .unwrap()
    .unwrap();
    let policy = dir.path().join("policy.yml");
    let text = std::fs::read_to_string("policies/default.yml").unwrap().replace("queue: false", "queue: true");
    std::fs::write(&policy, text).unwrap();
    let outputs = dir.path().join("out.txt");
    for _ in 0..2 {
        let result = hs_classify()
            .args(["error", "--issue", &issue.number.to_string(), "--forge", "local", "--format", "json"])
            .arg("--forge-dir")
            .arg(&forge_dir)
            .arg("--policy")
            .arg(&policy)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &outputs)
            .dir(dir.path())
            .run()
            .success()
            .json();
        assert_eq!(result["class"], "safe");
        assert_eq!(result["auto_fixable"], true);
        assert_eq!(result["fingerprint"], "0123456789abcdef");
        assert_eq!(result["stage"], "ai-queue");
    }
    // Each run records the class it gave (the report's "issues by class" reads it).
    let ledger = std::fs::read_to_string(dir.path().join(".homeostat/ledger.jsonl")).unwrap();
    let classified: Vec<&str> = ledger.lines().filter(|l| l.contains("\"kind\":\"issue.classified\"")).collect();
    assert_eq!(classified.len(), 2, "{ledger}");
    assert!(classified[0].contains("\"class\":\"safe\""), "{ledger}");
    let (issue, comments) = homeostat::app::block_on(async {
        (forge.get_issue(issue.number).await.unwrap(), forge.list_comments(issue.number).await.unwrap())
    })
    .unwrap();
    let mut labels = issue.labels.clone();
    labels.sort();
    assert_eq!(labels, ["change-class:safe", "homeostat:ai-queue", "homeostat:error"]);
    assert_eq!(comments.len(), 1, "the reasons comment is updated in place");
    // The reasons comment: the rule that matched (null-dereference) and why.
    crate::snap!("classification_comment", &comments[0].body);
    let outputs = std::fs::read_to_string(outputs).unwrap();
    assert!(outputs.contains("change_class<<") && outputs.contains("\nsafe\n"), "{outputs}");
    assert!(outputs.contains("auto_fixable<<") && outputs.contains("\ntrue\n"), "{outputs}");

    // A person relabels the issue: reclassified as critical, it leaves the ai-queue.
    homeostat::app::block_on(forge.update_issue(
        issue.number,
        &homeostat::forge::IssueUpdate { body: Some(format!("stripe billing failed\n{body}")), ..Default::default() },
    ))
    .unwrap()
    .unwrap();
    let result = hs_classify()
        .args(["error", "--issue", &issue.number.to_string(), "--forge", "local", "--format", "json"])
        .arg("--forge-dir")
        .arg(&forge_dir)
        .run()
        .json();
    assert_eq!(result["class"], "critical");
    assert_eq!(result["stage"], "backlog");
    let labels = homeostat::app::block_on(forge.get_issue(issue.number)).unwrap().unwrap().labels;
    assert!(labels.contains(&"needs-human-review".to_string()), "{labels:?}");
    assert!(labels.contains(&"homeostat:backlog".to_string()) && !labels.contains(&"homeostat:ai-queue".to_string()));
    assert!(
        labels.contains(&"change-class:critical".to_string()) && !labels.contains(&"change-class:safe".to_string())
    );
}

/// A rule on surface, environment and tags classifies an issue as it classifies the event
/// the issue was filed from: hs-issue keeps them (scrubbed) in the body and hidden state.
#[test]
fn an_issue_classifies_as_its_event_on_surface_environment_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let event = serde_json::json!({
        "type": "TypeError", "message": "x is undefined", "platform": "javascript",
        "stack": "TypeError: x is undefined\n    at sync (chrome-extension://abc/background.js:4:2)",
        "surface": "background", "environment": "production", "release": "2.0.0",
        "tags": {"browser": "firefox-133", "channel": "beta"}, "timestamp": "2026-11-22T10:00:00Z"
    });
    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, format!("{event}\n")).unwrap();
    std::fs::write(dir.path().join("homeostat.yml"), "ledger:\n  path: ledger.jsonl\n").unwrap();
    let policy = dir.path().join("policy.yml");
    std::fs::write(
        &policy,
        "version: 1\nerrors:\n  rules:\n    - {name: beta-firefox, class: safe, when: {environment: production, surface: background, tags: {channel: beta, browser: 'firefox-*'}}}\n    - {name: staging, class: critical, when: {environment: staging}}\n  default: unknown\nagent:\n  classes: [safe]\n",
    )
    .unwrap();
    run::bin("hs-issue")
        .dir(dir.path())
        .args(["--forge", "local", "--forge-dir", "forge", "--config", "homeostat.yml"])
        .arg(&events)
        .env_remove("GITHUB_TOKEN")
        .run()
        .success();
    let classify = |source: &[&str]| {
        hs_classify()
            .dir(dir.path())
            .args(["error", "--forge", "local", "--forge-dir", "forge", "--format", "json", "--policy"])
            .arg(&policy)
            .args(source)
            .run()
            .success()
            .json()
    };
    let from_event = classify(&["--event", events.to_str().unwrap()]);
    let from_issue = classify(&["--issue", "1"]);
    assert_eq!(from_event["class"], "safe", "{from_event}");
    assert_eq!(from_issue["class"], from_event["class"], "{from_issue}");
    assert_eq!(from_issue["reasons"], from_event["reasons"], "{from_issue}");
    assert_eq!(
        from_issue["reasons"][0]["matched"],
        "surface background; environment production; tag browser=firefox-* (firefox-133); tag channel=beta (beta)"
    );
}

#[test]
fn classify_events_file_prints_one_result_per_event() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("e.jsonl");
    std::fs::write(
        &events,
        "{\"type\":\"TypeError\",\"message\":\"x is undefined\",\"stack\":\"TypeError: x is undefined\\n at f (app.js:1:1)\"}\n{\"message\":\"auth token expired\"}\n{\"message\":\"disk full\"}\n",
    )
    .unwrap();
    let out = hs_classify().args(["error", "--format", "jsonl", "--event"]).arg(&events).run().success();
    let classes: Vec<String> = out
        .stdout()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["class"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(classes, ["safe", "critical", "unknown"]);

    // Sentry event JSON, read by the shared event reader: the in-app frames' files count.
    let sentry = dir.path().join("sentry.json");
    std::fs::write(
        &sentry,
        "{\n  \"platform\": \"python\",\n  \"exception\": {\"values\": [{\"type\": \"KeyError\", \"value\": \"'plan'\",\n    \"stacktrace\": {\"frames\": [{\"filename\": \"app/billing/plans.py\", \"function\": \"pick\", \"lineno\": 3, \"in_app\": true}]}}]}\n}\n",
    )
    .unwrap();
    let policy = dir.path().join("p.yml");
    std::fs::write(&policy, "version: 1\nerrors:\n  rules:\n    - {name: billing-code, class: critical, when: {path: 'billing/', platform: python}}\n").unwrap();
    let c = hs_classify()
        .args(["error", "--format", "json", "--event"])
        .arg(&sentry)
        .arg("--policy")
        .arg(&policy)
        .run()
        .success()
        .json();
    assert_eq!(c["class"], "critical", "{c}");
    assert_eq!(c["reasons"][0]["matched"], "platform python; path billing/ covers app/billing/plans.py");
    std::fs::write(&events, "{\"message\": \"ok\"}\nnot json\n").unwrap();
    // A bad line is skipped with a warning.
    let out = hs_classify().args(["error", "--format", "jsonl", "--event"]).arg(&events).run().code(0);
    assert_eq!(out.stdout().lines().count(), 1);
    hs_classify().args(["error", "--strict", "--event"]).arg(&events).run().code(2).stderr_has("e.jsonl:2:");
}

#[test]
fn policy_comes_from_flag_then_config_then_builtin() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("conf")).unwrap();
    std::fs::write(dir.path().join("conf/strict.yml"), "version: 1\nchanges:\n  paths:\n    critical: ['src/**']\n")
        .unwrap();
    std::fs::write(dir.path().join("conf/homeostat.yml"), "policy: strict.yml\n").unwrap();
    std::fs::write(dir.path().join("other.yml"), "version: 1\nchanges:\n  paths:\n    needs-validation: ['src/**']\n")
        .unwrap();
    let class = |extra: &[&str]| {
        let out = hs_classify().dir(dir.path()).args(["path", "src/a.rs", "--format", "json"]).args(extra).run();
        out.success().json()[0]["class"].as_str().unwrap().to_string()
    };
    assert_eq!(class(&[]), "safe", "built in: src/ is not listed");
    assert_eq!(class(&["--config", "conf/homeostat.yml"]), "critical", "relative to the config file");
    assert_eq!(class(&["--config", "conf/homeostat.yml", "--policy", "other.yml"]), "needs-validation");
}
