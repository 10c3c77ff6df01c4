//! hs-canary: judge conformance with Kayenta's own test cases, the CLI contract (exit
//! codes, bad configs), actions (commands, revert PR on a bare repo and the local forge),
//! and a real Prometheus server with backfilled series.

mod conformance {
    use homeostat::canary::judge::{self, Classification, Direction, EffectMeasure, MetricInput, NanStrategy, Params};
    use homeostat::canary::stats;
    use serde_json::Value;

    fn f(v: &Value) -> f64 {
        match v {
            Value::String(s) if s == "NaN" => f64::NAN,
            v => v.as_f64().unwrap_or(f64::NAN),
        }
    }

    fn series(v: &Value) -> Vec<f64> {
        v.as_array().map(|a| a.iter().map(f).collect()).unwrap_or_default()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol
    }

    fn classifier_case(c: &Value) -> Result<(), String> {
        let exp = series(&c["experiment"]);
        let ctl = series(&c["control"]);
        let direction = match c["direction"].as_str() {
            Some("increase") => Direction::Increase,
            Some("decrease") => Direction::Decrease,
            _ => Direction::Either,
        };
        let nan_strategy = if c["nanStrategy"] == "replace" { NanStrategy::Replace } else { NanStrategy::Remove };
        let expect = &c["expect"];
        if c["classifier"] == "MeanInequality" {
            let got = judge::mean_inequality(&exp, &ctl);
            let want = expect["classification"].as_str().unwrap_or("");
            return if format!("{got:?}") == want { Ok(()) } else { Err(format!("got {got:?}, want {want}")) };
        }
        let p = &c["params"];
        let effect = if p["effectSizeMeasure"] == "cles" { EffectMeasure::Cles } else { EffectMeasure::MeanRatio };
        let mut params =
            Params::with(p["tolerance"].as_f64().unwrap_or(0.25), p["confLevel"].as_f64().unwrap_or(0.95), effect);
        if let Some(t) = p["effectSizeThresholds"].as_array() {
            params.allowed_decrease = f(&t[0]);
            params.allowed_increase = f(&t[1]);
        }
        if let Some(t) = p["criticalThresholds"].as_array() {
            params.critical_decrease = f(&t[0]);
            params.critical_increase = f(&t[1]);
        }
        let input = MetricInput {
            experiment: &exp,
            control: &ctl,
            direction,
            nan_strategy,
            critical: c["isCritical"].as_bool().unwrap_or(false),
            must_have_data: false,
        };
        let v = judge::classify(&input, &params);
        if let Some(want) = expect["classification"].as_str() {
            let got = format!("{:?}", v.classification);
            if got != want {
                return Err(format!("classification {got}, want {want} ({v:?})"));
            }
        }
        if let Some(want) = expect["critical"].as_bool()
            && v.critical != want
        {
            return Err(format!("critical {}, want {want}", v.critical));
        }
        if expect.get("deviation").is_some() && !close(v.deviation, f(&expect["deviation"]), 1e-9) {
            return Err(format!("deviation {}, want {}", v.deviation, expect["deviation"]));
        }
        if expect["reasonNonEmpty"] == true && v.reason.as_deref().unwrap_or("").is_empty() {
            return Err("empty reason".into());
        }
        if v.classification == Classification::Error {
            return Err("error".into());
        }
        Ok(())
    }

    fn numeric_case(c: &Value) -> Result<(), String> {
        let tol = c["tol"].as_f64().unwrap_or(1e-6);
        let check = |name: &str, got: f64, want: f64, tol: f64| {
            if close(got, want, tol) { Ok(()) } else { Err(format!("{name} {got}, want {want} (tol {tol})")) }
        };
        match c["kind"].as_str() {
            Some("qnorm") => check("qnorm", stats::qnorm(f(&c["p"])), f(&c["expect"]), tol),
            Some("wilcoxonDiff") => {
                let (x, y) = (series(&c["x"]), series(&c["y"]));
                for k in c["checks"].as_array().into_iter().flatten() {
                    let got = stats::wilcoxon_diff(f(&k["mu"]), f(&k["zq"]), &x, &y).unwrap_or(f64::NAN);
                    check("wdiff", got, f(&k["expect"]), tol)?;
                }
                Ok(())
            }
            Some("mannWhitneyUTest") => {
                let (x, y) = (series(&c["x(experiment)"]), series(&c["y(control)"]));
                let t = stats::mann_whitney(&x, &y, f(&c["confidenceLevel"])).ok_or("no result")?;
                let e = &c["expect"];
                check("ciLower", t.ci_lower, f(&e["ciLower"]["value"]), f(&e["ciLower"]["tol"]))?;
                check("ciUpper", t.ci_upper, f(&e["ciUpper"]["value"]), f(&e["ciUpper"]["tol"]))?;
                check("estimate", t.estimate, f(&e["estimate"]["value"]), f(&e["estimate"]["tol"]))
            }
            Some("intermediates") => {
                let (x, y) = (series(&c["x"]), series(&c["y"]));
                let e = &c["expect"];
                let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
                let (mu_min, mu_max) = (min(&x) - max(&y), max(&x) - min(&y));
                let zq = -stats::qnorm((1.0 - f(&c["confidenceLevel"])) / 2.0);
                let w = |d: f64, z: f64| stats::wilcoxon_diff(d, z, &x, &y).unwrap_or(f64::NAN);
                check("muMin", mu_min, f(&e["rMumin"]), tol)?;
                check("muMax", mu_max, f(&e["rMumax"]), tol)?;
                check("zqLower", zq, f(&e["rZqLower"]), tol)?;
                check("zqUpper", -zq, f(&e["rZqUpper"]), tol)?;
                check("fLower1", w(mu_min, zq), f(&e["rFlower1"]), tol)?;
                check("fUpper1", w(mu_max, zq), f(&e["rFupper1"]), tol)?;
                check("fLower2", w(mu_min, -zq), f(&e["rFlower2"]), tol)?;
                check("fUpper2", w(mu_max, -zq), f(&e["rFupper2"]), tol)?;
                let t = stats::mann_whitney(&x, &y, f(&c["confidenceLevel"])).ok_or("no result")?;
                check("ciL", t.ci_lower, f(&e["rCil"]), tol)?;
                check("ciU", t.ci_upper, f(&e["rCiu"]), tol)?;
                check("est", t.estimate, f(&e["rEst"]), tol)
            }
            other => Err(format!("unknown kind {other:?}")),
        }
    }

    /// Kayenta's classifier (A) and Mann-Whitney (B) cases, read from ../shared; the
    /// agreement is printed and must be ≥ 95 %.
    #[test]
    fn judge_agrees_with_kayenta_cases() {
        let Some(path) = homeostat::testing::shared_path("corpus/kayenta-judge/cases.jsonl") else { return };
        let text = std::fs::read_to_string(path).unwrap();
        let (mut total, mut agreed, mut misses) = (0, 0, Vec::new());
        let (mut scorer_total, mut scorer_agreed) = (0, 0);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let c: Value = serde_json::from_str(line).unwrap();
            let id = c["id"].as_str().unwrap_or("?").to_string();
            let outcome = if c.get("classifier").is_some() {
                classifier_case(&c)
            } else if c.get("kind").is_some() {
                numeric_case(&c)
            } else {
                if let Some(want) = c.get("expect_summary") {
                    scorer_total += 1;
                    let metrics: Vec<(Classification, String, bool)> = c["metrics"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|m| {
                            let class = match m[0].as_str().unwrap() {
                                "Pass" => Classification::Pass,
                                "High" => Classification::High,
                                "Low" => Classification::Low,
                                "Nodata" => Classification::Nodata,
                                _ => Classification::NodataFailMetric,
                            };
                            (class, m[1].as_str().unwrap().to_string(), m[2].as_bool().unwrap())
                        })
                        .collect();
                    let scored: Vec<judge::Scored<'_>> = metrics
                        .iter()
                        .map(|(c, g, k)| judge::Scored { classification: *c, group: g, critical: *k })
                        .collect();
                    let weights = serde_json::from_value(c["groupWeights"].clone()).unwrap();
                    let (s, groups) = judge::score(&scored, &weights);
                    let groups_ok = c.get("expect_group_scores").is_none_or(|g| {
                        g.as_object().unwrap().iter().all(|(k, v)| groups.get(k).is_some_and(|x| close(*x, f(v), 0.01)))
                    });
                    if close(s, f(want), 0.005) && groups_ok {
                        scorer_agreed += 1;
                    } else {
                        eprintln!("scorer {id}: got {s} {groups:?}, want {want}");
                    }
                }
                continue;
            };
            total += 1;
            match outcome {
                Ok(()) => agreed += 1,
                Err(e) => misses.push(format!("{id} {}: {e}", c["name"].as_str().unwrap_or(""))),
            }
        }
        let pct = 100.0 * agreed as f64 / total as f64;
        println!("judge conformance: {agreed}/{total} classifier and Mann-Whitney cases agree ({pct:.1} %)");
        println!("scorer conformance: {scorer_agreed}/{scorer_total} cases agree");
        for m in &misses {
            println!("  miss: {m}");
        }
        assert!(total >= 44, "expected the 37 classifier and 7 Mann-Whitney cases, read {total}");
        assert!(pct >= 95.0, "agreement {pct:.1} % is under 95 %: {misses:#?}");
        assert_eq!(scorer_agreed, scorer_total);
    }
}

/// Runs hs-canary; returns (exit code, stdout, stderr).
fn hs_canary(args: &[&str], dir: &std::path::Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let cmd = crate::support::run::bin("hs-canary").args(args).dir(dir).env_remove("GITHUB_TOKEN").env("NO_COLOR", "1");
    let out = env.iter().fold(cmd, |cmd, (k, v)| cmd.env(k, v)).run();
    (out.exit(), out.stdout(), out.stderr())
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/canary/{name}", env!("CARGO_MANIFEST_DIR"))
}

mod cli {
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
}

mod revert {
    use super::*;
    use crate::support::git::{git, repo_with_a_fix};
    use homeostat::forge::{Forge, IssueUpdate, NewIssue, State, local::LocalForge};

    #[test]
    fn rollback_opens_a_revert_pr_and_reopens_the_fixed_issue() {
        let tmp = tempfile::tempdir().unwrap();
        let (origin, work, fix) = repo_with_a_fix(tmp.path());

        let forge_dir = tmp.path().join("forge");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let forge = LocalForge::open(&forge_dir).unwrap();
            let issue = forge
                .create_issue(&NewIssue { title: "TypeError in popup".into(), body: "b".into(), labels: vec![] })
                .await
                .unwrap();
            assert_eq!(issue.number, 1);
            forge.update_issue(1, &IssueUpdate { state: Some(State::Closed), ..Default::default() }).await.unwrap();
        });

        let args = [
            "--config",
            &fixture("rollback.yml"),
            "--revert",
            "HEAD",
            "--forge",
            "local",
            "--forge-dir",
            forge_dir.to_str().unwrap(),
            "--repo-dir",
            work.to_str().unwrap(),
            "--fail-on",
            "rollback",
            "--format",
            "json",
        ];
        let (code, stdout, stderr) = hs_canary(&args, tmp.path(), &[]);
        assert_eq!(code, 3, "{stdout}{stderr}");
        let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let branch = format!("homeostat/revert-{}", &fix[..12]);
        assert_eq!(out["actions"][0]["kind"], "revert", "{out}");
        assert_eq!(out["actions"][0]["branch"], branch.as_str());
        assert_eq!(out["actions"][0]["issue"], 1);
        let pr = out["actions"][0]["pr"].as_u64().unwrap();

        // The branch reached origin, and its tree is the one before the fix.
        let on_origin = git(&origin, &["show", &format!("refs/heads/{branch}:app.txt")]);
        assert_eq!(on_origin, "v1");
        let message = git(&origin, &["log", "-1", "--format=%an%n%B", &format!("refs/heads/{branch}")]);
        assert!(message.starts_with("homeostat[bot]\nRevert \"Fix the popup crash\""), "{message}");
        assert!(message.contains(&format!("This reverts commit {fix}.")), "{message}");

        rt.block_on(async {
            let forge = LocalForge::open(&forge_dir).unwrap();
            let pull = forge.get_pull(pr).await.unwrap();
            assert_eq!((pull.head.as_str(), pull.base.as_str()), (branch.as_str(), "main"));
            assert!(pull.body.contains(&fix), "the revert PR names the fix's commit: {}", pull.body);
            crate::snap!("revert_pr_body", &pull.body, [(r"revert-[0-9a-f]{12}", "revert-[SHORT]")]);
            let issue = forge.get_issue(1).await.unwrap();
            assert_eq!(issue.state, State::Open);
            assert!(issue.has_label("homeostat:regressed"), "{:?}", issue.labels);
            let comments = forge.list_comments(1).await.unwrap();
            assert_eq!(comments.len(), 1);
            assert!(comments[0].body.contains(&format!("#{pr}")), "{}", comments[0].body);
            crate::snap!("revert_issue_comment", &comments[0].body, [(r"revert-[0-9a-f]{12}", "revert-[SHORT]")]);
        });

        // A second run finds the open PR instead of opening another.
        let (code, stdout, _) = hs_canary(&args, tmp.path(), &[]);
        assert_eq!(code, 3);
        let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(out["actions"][0]["pr"].as_u64(), Some(pr));
        assert!(out["actions"][0]["detail"].as_str().unwrap().contains("already open"));
        rt.block_on(async {
            let forge = LocalForge::open(&forge_dir).unwrap();
            assert_eq!(forge.list_pulls(homeostat::forge::StateFilter::All).await.unwrap().len(), 1);
            assert_eq!(forge.list_comments(1).await.unwrap().len(), 1, "the comment is kept up to date, not repeated");
        });
    }
}

mod revert_merge {
    use super::*;
    use crate::support::git::git;
    use homeostat::forge::{Forge, IssueUpdate, NewIssue, NewPull, State, StateFilter, local::LocalForge};

    /// A merged pull request (merge commit, mainline 1): the fixed issue is found through
    /// the PR's body; `--dry-run` first pushes nothing and opens nothing.
    #[test]
    fn merge_commit_is_reverted_and_the_issue_found_through_its_pull_request() {
        let tmp = tempfile::tempdir().unwrap();
        let origin = tmp.path().join("origin.git");
        let work = tmp.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        let in_work = |args: &[&str]| git(&work, args);
        git(tmp.path(), &["init", "--bare", "-q", origin.to_str().unwrap()]);
        in_work(&["init", "-q"]);
        in_work(&["remote", "add", "origin", origin.to_str().unwrap()]);
        std::fs::write(work.join("app.txt"), "v1\n").unwrap();
        std::fs::write(work.join("other.txt"), "kept\n").unwrap();
        in_work(&["add", "."]);
        in_work(&["commit", "-qm", "Initial"]);
        in_work(&["checkout", "-qb", "homeostat/fix-1"]);
        std::fs::write(work.join("app.txt"), "v2 with the fix\n").unwrap();
        in_work(&["commit", "-qam", "Guard the undefined id"]);
        in_work(&["checkout", "-q", "main"]);
        std::fs::write(work.join("other.txt"), "kept, and changed on main\n").unwrap();
        in_work(&["commit", "-qam", "Unrelated change on main"]);
        in_work(&["merge", "-q", "--no-ff", "homeostat/fix-1", "-m", "Merge pull request #2 from o/homeostat/fix-1"]);
        in_work(&["push", "-q", "origin", "HEAD:refs/heads/main"]);
        let merge = in_work(&["rev-parse", "HEAD"]);

        let forge_dir = tmp.path().join("forge");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let forge = LocalForge::open(&forge_dir).unwrap();
            forge.create_issue(&NewIssue { title: "TypeError".into(), ..Default::default() }).await.unwrap();
            forge.update_issue(1, &IssueUpdate { state: Some(State::Closed), ..Default::default() }).await.unwrap();
            let pr = forge
                .create_pull(&NewPull {
                    title: "Fix TypeError".into(),
                    body: "Root cause: …\n\nFixes #1\n".into(),
                    head: "homeostat/fix-1".into(),
                    base: "main".into(),
                    draft: true,
                })
                .await
                .unwrap();
            assert_eq!(pr.number, 2);
        });
        let mut args = vec![
            "--config".to_string(),
            fixture("rollback.yml"),
            "--revert".into(),
            merge.clone(),
            "--forge".into(),
            "local".into(),
            "--forge-dir".into(),
            forge_dir.display().to_string(),
            "--repo-dir".into(),
            work.display().to_string(),
            "--format".into(),
            "json".into(),
            "--dry-run".into(),
        ];
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = hs_canary(&argv, tmp.path(), &[]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(stderr.contains("\"dry_run\""), "{stderr}");
        let branch = format!("homeostat/revert-{}", &merge[..12]);
        let listed = git(&origin, &["branch", "--list"]);
        assert!(!listed.contains("revert"), "dry run pushed: {listed}");
        assert!(!std::path::Path::new(&work).join(".git/refs/heads/homeostat/revert").exists());
        rt.block_on(async {
            let forge = LocalForge::open(&forge_dir).unwrap();
            assert_eq!(forge.list_pulls(StateFilter::All).await.unwrap().len(), 1);
            assert_eq!(forge.get_issue(1).await.unwrap().state, State::Closed);
        });

        args.pop();
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = hs_canary(&argv, tmp.path(), &[]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let out: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(out["actions"][0]["issue"], 1, "{out}");
        assert_eq!(out["actions"][0]["pr"], 3, "{out}");
        // The fix is undone; the unrelated change made on main after it stays.
        assert_eq!(git(&origin, &["show", &format!("refs/heads/{branch}:app.txt")]), "v1");
        assert_eq!(git(&origin, &["show", &format!("refs/heads/{branch}:other.txt")]), "kept, and changed on main");
        rt.block_on(async {
            let forge = LocalForge::open(&forge_dir).unwrap();
            let issue = forge.get_issue(1).await.unwrap();
            assert_eq!(issue.state, State::Open);
            assert!(issue.has_label("homeostat:regressed"));
        });
    }
}

/// A real Prometheus (Debian's `prometheus` package, installed by scripts/test.sh) over a
/// TSDB backfilled with `promtool tsdb create-blocks-from openmetrics`: a bad release is
/// rolled back and a good one promoted, each by a command that really ran.
mod prometheus {
    use super::*;
    use std::io::{Read, Write};
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    fn tools_present() -> bool {
        let present = ["prometheus", "promtool"]
            .iter()
            .all(|t| Command::new(t).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok());
        if !present {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "prometheus and promtool are missing: scripts/test.sh installs them (apt-get install prometheus)"
                );
            }
            eprintln!("notice: skipping the Prometheus test, `prometheus`/`promtool` are not installed");
        }
        present
    }

    struct Server {
        child: Child,
        port: u16,
        log: std::path::PathBuf,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn get(port: u16, path: &str) -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    fn start_prometheus(data: &Path, dir: &Path) -> Server {
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, "global: {}\nscrape_configs: []\n").unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join("prometheus.log");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=10y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("prometheus starts");
        let mut server = Server { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if get(port, "/-/ready").is_some_and(|r| r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200")) {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("prometheus exited with {status}: {}", std::fs::read_to_string(&server.log).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "prometheus not ready after 60s");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// 40 minutes of per-minute counters, ending over two hours ago (backfilled blocks
    /// must not overlap the head block): a stable track, and three canaries.
    fn openmetrics(start: i64) -> String {
        let tracks = [("stable", "v1"), ("canary", "good"), ("canary", "bad"), ("canary", "idle")];
        let errors_per_minute = |release: &str, i: i64| -> f64 {
            match release {
                "v1" => 10.0 + ((i * 3) % 5 - 2) as f64,
                "good" => 10.0 + ((i * 3 + 2) % 5 - 2) as f64,
                "bad" if i >= 12 => 90.0,
                "bad" => 10.0,
                _ => 0.0,
            }
        };
        let mut out = String::new();
        for (family, errors) in [("http_requests", false), ("http_errors", true)] {
            out.push_str(&format!("# HELP {family} Requests served.\n# TYPE {family} counter\n"));
            for (track, release) in tracks {
                let mut total = 500.0;
                for i in 0..40 {
                    let added = match (errors, release) {
                        (_, "idle") => 0.0,
                        (false, _) => 1000.0,
                        (true, r) => errors_per_minute(r, i),
                    };
                    total += added;
                    out.push_str(&format!(
                        "{family}_total{{track=\"{track}\",release=\"{release}\"}} {total} {}\n",
                        start + 60 * i
                    ));
                }
            }
        }
        out.push_str("# EOF\n");
        out
    }

    fn ratio(release: &str, track: &str) -> String {
        format!(
            "sum(rate(http_errors_total{{track=\"{track}\",release=\"{release}\"}}[5m])) / sum(rate(http_requests_total{{track=\"{track}\",release=\"{release}\"}}[5m]))"
        )
    }

    fn config(url: &str, at: &str, canary_query: &str, extra_source: &str, limits: &str) -> String {
        format!(
            r#"canary:
  interval: 0s
  count: 10
  failure_limit: 1
  {limits}
  metrics:
    - name: error-rate
      canary: {{prometheus: {{url: "{url}", query: '{canary_query}', at: "{at}", step: 60s{extra_source}}}}}
      baseline: {{prometheus: {{url: "{url}", query: '{baseline}', at: "{at}", step: 60s}}}}
      max: 0.05
      max_increase: 0.5
  on_rollback: {{run: "echo \"$HOMEOSTAT_CANARY_REASON\" > rolled-back"}}
  on_promote: {{run: "echo \"$HOMEOSTAT_CANARY_DECISION\" > promoted"}}
"#,
            baseline = ratio("v1", "stable"),
        )
    }

    fn run(dir: &Path, name: &str, text: &str, fail_on: &str) -> (i32, serde_json::Value, String) {
        let path = dir.join(format!("{name}.yml"));
        std::fs::write(&path, text).unwrap();
        let work = dir.join(name);
        std::fs::create_dir_all(&work).unwrap();
        let (code, stdout, stderr) = hs_canary(
            &["--config", path.to_str().unwrap(), "--format", "json", "--fail-on", fail_on],
            &work,
            &[("NO_PROXY", "127.0.0.1"), ("no_proxy", "127.0.0.1")],
        );
        let out = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{name}: {e}: {stdout}\n{stderr}"));
        (code, out, stderr)
    }

    #[test]
    fn bad_release_rolled_back_good_release_promoted() {
        if !tools_present() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let now = jiff::Timestamp::now().as_second();
        let start = (now - 3 * 3600) / 60 * 60;
        let input = tmp.path().join("series.om");
        std::fs::write(&input, openmetrics(start)).unwrap();
        let data = tmp.path().join("data");
        let status = Command::new("promtool")
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&data)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "promtool could not backfill");
        let server = start_prometheus(&data, tmp.path());
        let url = format!("http://127.0.0.1:{}", server.port);
        // Measurements at minutes 8..17 of the window: the rate windows are full.
        let at = jiff::Timestamp::from_second(start + 8 * 60).unwrap().to_string();

        // Bad release: its error rate jumps at minute 12 and passes baseline × 1.5.
        let (code, out, stderr) =
            run(tmp.path(), "bad", &config(&url, &at, &ratio("bad", "canary"), "", ""), "rollback");
        assert_eq!(code, 3, "{out}\n{stderr}");
        assert_eq!(out["decision"], "rollback", "{out}");
        let first = &out["measurements"][0]["metrics"][0];
        assert!((first["canary"].as_f64().unwrap() - 0.01).abs() < 0.002, "{first}");
        assert!((first["baseline"].as_f64().unwrap() - 0.01).abs() < 0.002, "{first}");
        let rolled = std::fs::read_to_string(tmp.path().join("bad/rolled-back")).unwrap();
        assert!(rolled.contains("failed measurements"), "{rolled}");
        assert!(!tmp.path().join("bad/promoted").exists());

        // Good release, read through range queries: promoted, the judge agrees.
        let extra = ", range: 5m, reduce: last";
        let (code, out, stderr) =
            run(tmp.path(), "good", &config(&url, &at, &ratio("good", "canary"), extra, ""), "inconclusive");
        assert_eq!(code, 0, "{out}\n{stderr}");
        assert_eq!(out["decision"], "promote", "{out}");
        assert_eq!(out["measurements"].as_array().unwrap().len(), 10);
        assert_eq!(out["judge"][0]["worse"], false, "{out}");
        assert_eq!(std::fs::read_to_string(tmp.path().join("good/promoted")).unwrap().trim(), "promote");
        assert!(!tmp.path().join("good/rolled-back").exists());

        // Zero traffic: 0/0 is NaN, which is no data, never healthy.
        let (code, out, _) = run(
            tmp.path(),
            "idle",
            &config(&url, &at, &ratio("idle", "canary"), "", "inconclusive_limit: 2"),
            "inconclusive",
        );
        assert_eq!(code, 3);
        assert_eq!(out["decision"], "inconclusive", "{out}");
        assert!(out["measurements"][0]["metrics"][0]["reason"].as_str().unwrap().contains("NaN"), "{out}");
        assert!(!tmp.path().join("idle/promoted").exists() && !tmp.path().join("idle/rolled-back").exists());

        // A query Prometheus rejects (HTTP 400) is a source error: inconclusive, not healthy.
        let (code, out, _) = run(
            tmp.path(),
            "broken",
            &config(&url, &at, "sum(rate(http_errors_total[5m]", "", "consecutive_error_limit: 1"),
            "inconclusive",
        );
        assert_eq!(code, 3);
        assert_eq!(out["decision"], "inconclusive", "{out}");
        let reason = out["measurements"][0]["metrics"][0]["reason"].as_str().unwrap();
        assert!(reason.contains("HTTP 400") && reason.contains("bad_data"), "{reason}");
        drop(server);
    }
}
