//! Issue 15, tried as an attacker would: one case per attack, each asserting it fails.
//! The agent sandbox cases are in `tests/adversarial_agent.rs` (they set the process
//! environment, so they live in their own test binary).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use homeostat::markers::{self, Marker};
use homeostat::ops::vars::Vars;
use serde_json::{Value, json};

const HS_ISSUE: &str = env!("CARGO_BIN_EXE_hs-issue");

struct Forge {
    dir: tempfile::TempDir,
}

impl Forge {
    fn new() -> Self {
        let f = Self { dir: tempfile::tempdir().unwrap() };
        std::fs::write(f.path("homeostat.yml"), "ledger:\n  path: ledger.jsonl\n").unwrap();
        f
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn issue_run(&self, events: &[Value]) -> Output {
        let file = self.path("events.jsonl");
        let text: String = events.iter().map(|e| format!("{e}\n")).collect();
        std::fs::write(&file, text).unwrap();
        let out = Command::new(HS_ISSUE)
            .current_dir(self.dir.path())
            .args(["--forge", "local", "--forge-dir", "forge", "--config", "homeostat.yml", "--format", "jsonl"])
            .arg(&file)
            .env_remove("GITHUB_TOKEN")
            .env_remove("GITHUB_ACTIONS")
            .env("HOMEOSTAT_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out
    }

    fn issue(&self, n: u64) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.path(&format!("forge/issues/{n}.json"))).unwrap()).unwrap()
    }

    fn issue_count(&self) -> usize {
        std::fs::read_dir(self.path("forge/issues"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
            .count()
    }

    fn close(&self, n: u64) {
        let mut issue = self.issue(n);
        issue["state"] = json!("closed");
        issue["closed_at"] = json!("2026-01-02T00:00:00Z");
        std::fs::write(self.path(&format!("forge/issues/{n}.json")), issue.to_string()).unwrap();
    }
}

fn body(issue: &Value) -> &str {
    issue["body"].as_str().unwrap()
}

fn state_count(issue: &Value) -> u64 {
    markers::find(body(issue), |m| match m {
        Marker::State(v) => v["count"].as_u64(),
        _ => None,
    })
    .unwrap_or(0)
}

fn fingerprint_of(issue: &Value) -> String {
    markers::fingerprints(body(issue)).pop().unwrap().0
}

fn event(id: &str, message: &str, release: &str) -> Value {
    json!({"id": id, "type": "TypeError", "message": message, "platform": "javascript", "release": release,
           "timestamp": "2026-01-01T10:00:00Z",
           "stack": format!("TypeError: {message}\n    at renderNote (src/popup.js:10:15)")})
}

/// Error text carrying the real issue's fingerprint marker (printed in every issue's
/// footer) and a forged state does not steal its regressions nor set its count.
#[test]
fn forged_fingerprint_and_state_markers_are_not_believed() {
    let f = Forge::new();
    f.issue_run(&[event("a1", "Cannot read properties of undefined (reading 'id')", "1.0.0")]);
    let real = f.issue(1);
    let fp = fingerprint_of(&real);
    f.close(1);

    // The attacker's error: a different bug whose message carries issue 1's marker and a
    // state claiming a million occurrences from release 99.
    let forged = format!(
        "x {} {}",
        Marker::Fingerprint { fingerprint: fp.clone(), algorithm: "v1".into() }.render(),
        "<!-- homeostat:state {\"count\":1000000,\"releases\":[\"99.0\"]} -->"
    );
    let mut attack = event("b1", &forged, "1.0.0");
    attack["type"] = json!("RangeError");
    attack["stack"] = json!(format!("RangeError: {forged}\n    at evil (src/evil.js:1:1)"));
    f.issue_run(&[attack]);
    assert_eq!(f.issue_count(), 2);
    let attacker = f.issue(2);
    assert_ne!(fingerprint_of(&attacker), fp, "the attacker's issue took the real fingerprint");
    assert_eq!(markers::fingerprints(body(&attacker)).len(), 1);
    assert_eq!(state_count(&attacker), 1, "the forged state set the count");
    assert!(!body(&attacker).contains("<!-- homeostat:state {\"count\":1000000"));

    // The real bug comes back from a newer release: issue 1 reopens, counted right.
    f.issue_run(&[event("a2", "Cannot read properties of undefined (reading 'id')", "1.1.0")]);
    let real = f.issue(1);
    assert_eq!(real["state"], "open", "the regression did not reopen the real issue");
    assert!(real["labels"].to_string().contains("homeostat:regression"));
    assert_eq!(state_count(&real), 2);
    assert_eq!(state_count(&f.issue(2)), 1, "the attacker's issue took the regression");
}

/// The real issue's own error text carrying a forged state (release 99) does not hide a
/// regression from release 2.0.
#[test]
fn a_forged_state_in_the_issues_own_error_does_not_hide_a_regression() {
    let f = Forge::new();
    let msg = "boom <!-- homeostat:state {\"count\":7,\"releases\":[\"99.0\"]} -->";
    f.issue_run(&[event("c1", msg, "1.0.0")]);
    assert_eq!(state_count(&f.issue(1)), 1);
    f.close(1);
    f.issue_run(&[event("c2", msg, "2.0.0")]);
    let issue = f.issue(1);
    assert_eq!(issue["state"], "open");
    assert_eq!(state_count(&issue), 2);
}

fn alert_vars(label: &str) -> Vars {
    Vars { values: [("labels.x".to_string(), label.to_string())].into_iter().collect() }
}

/// `git fetch ${labels.remote}` with `--upload-pack=…` never becomes an option.
#[test]
fn an_option_in_a_label_never_reaches_the_command() {
    for hostile in ["--upload-pack=touch /tmp/pwned", "-oProxyCommand=sh", "-"] {
        assert!(alert_vars(hostile).expand_arg("${labels.x}").is_err(), "{hostile} was accepted");
    }
    // Glued after the template's own text it is one argument, not an option.
    assert_eq!(alert_vars("--x").expand_arg("refs/${labels.x}").unwrap(), "refs/--x");
}

/// `/services/${labels.service}/restart` with `../` cannot reach another path, and a
/// query value cannot add a parameter.
#[test]
fn a_path_or_query_injection_stays_in_its_segment() {
    for hostile in ["../../admin/delete", "..%2F..%2Fadmin", "a/b?c=d#e", "x&admin=1"] {
        let url =
            alert_vars(hostile).expand_url("http://127.0.0.1:9/services/${labels.x}/restart?n=${labels.x}").unwrap();
        let parsed = reqwest::Url::parse(&url).unwrap();
        let segments: Vec<&str> = parsed.path_segments().unwrap().collect();
        assert_eq!(segments.len(), 3, "{url}");
        assert_eq!((segments[0], segments[2]), ("services", "restart"), "{url}");
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        assert_eq!(pairs, vec![("n".to_string(), hostile.to_string())], "{url}");
    }
    assert!(alert_vars("..").expand_url("http://127.0.0.1:9/services/${labels.x}/restart").is_err());
    assert!(alert_vars("evil.example/x").expand_url("http://${labels.x}/").is_err());
}

/// An allowlisted host without a port allows the default ports only.
#[test]
fn an_allowlisted_host_does_not_open_every_port() {
    use homeostat::ops::executor::host_allowed;
    let allow = vec!["internal.example".to_string(), "127.0.0.1:8080".to_string()];
    assert!(host_allowed(&allow, "internal.example", Some(443)));
    assert!(!host_allowed(&allow, "internal.example", Some(6379)));
    assert!(host_allowed(&allow, "127.0.0.1", Some(8080)));
    assert!(!host_allowed(&allow, "127.0.0.1", Some(22)));
}

/// An alert whose fingerprint carries a forged approval marker (naming another runbook)
/// is rendered inert: the approval issue's trailer names only the real one.
#[test]
fn a_forged_approval_marker_in_an_alert_is_inert() {
    let forged_fp = "abc --> <!-- homeostat:ops-approval sop=wipe-db alert=x plan=0 -->\n<!-- homeostat:ops-alert {\"alertname\":\"x\"} -->";
    let real = Marker::OpsApproval { sop: "restart-api".into(), alert: forged_fp.into(), plan: "ff".into() };
    let alert = Marker::OpsAlert(json!({"fingerprint": forged_fp, "labels": {"a": "<!-- homeostat:issue=1 -->"}}));
    let text = format!("## Approval needed\n\nAlert ({})\n\n{forged_fp}", markers::escape_md(forged_fp));
    let b = markers::body(&text, &[real, alert]);
    let sops: Vec<String> = markers::parse(&b)
        .into_iter()
        .filter_map(|m| match m {
            Marker::OpsApproval { sop, .. } => Some(sop),
            _ => None,
        })
        .collect();
    assert_eq!(sops, vec!["restart-api".to_string()]);
    assert_eq!(markers::parse(&b).len(), 2);
    assert!(!markers::without_trailer(&b).contains("<!--"), "user text kept a comment opener");
}

/// `/approve <plan id>` binds the approval to the plan the issue shows: an id copied from
/// another approval issue is refused; a bare `/approve` or the right id approves.
#[test]
fn an_approval_naming_another_plan_is_refused() {
    use homeostat::ops::executor::other_plan_named;
    let plan = "0123456789abcdef0123456789abcdef";
    assert_eq!(other_plan_named("/approve", plan), None);
    assert_eq!(other_plan_named("/approve 0123456789ab", plan), None);
    assert_eq!(other_plan_named("/approve `0123456789AB`.", plan), None);
    assert_eq!(other_plan_named("/approve looks right", plan), None);
    assert_eq!(other_plan_named("/approve deadbeefcafe", plan).as_deref(), Some("deadbeefcafe"));
    assert_eq!(other_plan_named("/approve 0123456789abff", plan).as_deref(), Some("0123456789abff"));
}
