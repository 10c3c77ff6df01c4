//! The CLI contract on file replays: promote (on_promote runs), rollback and the gate, a
//! failing action, bad configs (exit 2 with a position).

use super::*;

#[test]
fn healthy_replay_is_promoted_and_on_promote_runs() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let output = dir.path().join("output");
    let env = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
        ("GITHUB_OUTPUT", output.to_str().unwrap()),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "o/r"),
        ("GITHUB_RUN_ID", "42"),
    ];
    let config = fixture("promote.yml");
    let (code, stdout, stderr) =
        hs_canary(&["--config", &config, "--format", "json", "--fail-on", "inconclusive"], dir.path(), &env);
    assert_eq!(code, 0, "{stderr}");
    let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(out["decision"], "promote");
    assert_eq!(out["measurements"].as_array().unwrap().len(), 10);
    assert_eq!(out["judge"][0]["classification"], "Pass");
    assert_eq!(out["actions"][0]["on"], "on_promote");
    assert_eq!(std::fs::read_to_string(dir.path().join("promoted")).unwrap().trim(), "promote");
    assert!(!dir.path().join("rolled-back").exists());
    let svg = std::fs::read_to_string(dir.path().join(".homeostat/canary/error-rate.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline"));
    // The step summary: the decision, the chart's name and the run's artifacts link.
    crate::snap!("promote_step_summary", std::fs::read_to_string(&summary).unwrap());
    let output = std::fs::read_to_string(&output).unwrap();
    assert!(output.starts_with("decision<<") && output.contains("\npromote\n"), "{output}");
    assert!(output.contains("result<<") && output.contains("\"decision\":\"promote\""), "{output}");
}

#[test]
fn spike_is_rolled_back_and_gated() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture("rollback.yml");
    let (code, stdout, stderr) = hs_canary(&["--config", &config, "--fail-on", "rollback"], dir.path(), &[]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stdout.starts_with("rollback: 2 failed measurements"), "{stdout}");
    assert!(stderr.contains("error: canary rollback"), "{stderr}");
    let written = std::fs::read_to_string(dir.path().join("rolled-back")).unwrap();
    assert!(written.contains("more than failure_limit 1"), "{written}");
    // Without --fail-on the decision is reported and the exit is 0.
    let (code, _, _) = hs_canary(&["--config", &config], dir.path(), &[]);
    assert_eq!(code, 0);
}

#[test]
fn a_failing_action_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("promote.yml"))
        .unwrap()
        .replace("series/", &format!("{}/series/", fixture("")))
        .replace(r#"{run: "echo \"$HOMEOSTAT_CANARY_DECISION\" > promoted"}"#, "{run: [\"false\"]}");
    let config = dir.path().join("h.yml");
    std::fs::write(&config, text).unwrap();
    let (code, _, stderr) = hs_canary(&["--config", config.to_str().unwrap()], dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("on_promote failed"), "{stderr}");
}

#[test]
fn bad_configs_exit_2_with_a_position() {
    let dir = tempfile::tempdir().unwrap();
    for (name, at, words) in [
        ("bad-unknown-key.yml", "bad-unknown-key.yml:7:7:", "unknown field `max_increse`"),
        ("bad-no-baseline.yml", "bad-no-baseline.yml:4:7:", "need a `baseline` source"),
        ("bad-two-sources.yml", "bad-two-sources.yml:3:7:", "exactly one of"),
        ("bad-series.yml", "series/broken.json:1:27:", "expected f64"),
    ] {
        let (code, _, stderr) = hs_canary(&["--config", &fixture(name)], dir.path(), &[]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains(at) && stderr.contains(words), "{name}: {stderr}");
    }
    let (code, _, stderr) = hs_canary(&["--config", &fixture("missing.yml")], dir.path(), &[]);
    assert_eq!(code, 2, "{stderr}");
    let empty = dir.path().join("empty.yml");
    std::fs::write(&empty, "issues: {}\n").unwrap();
    let (code, _, stderr) = hs_canary(&["--config", empty.to_str().unwrap()], dir.path(), &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no `canary:` section"), "{stderr}");
}
