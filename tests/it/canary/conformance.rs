//! The judge against Kayenta's own test cases (classifier and Mann-Whitney), and the scorer.

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
