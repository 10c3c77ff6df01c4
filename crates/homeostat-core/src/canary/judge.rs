//! The final comparison of a canary series against its baseline series, as Kayenta's
//! NetflixACAJudge does it: a Mann-Whitney U test with a confidence interval on the
//! location shift (R's `wilcox.test`, ported in [`super::stats`]), a tolerance around the
//! estimate, and an effect-size threshold (mean ratio or CLES). Pure: values in, a
//! classification out.
//!
//! The procedure is summarised in `../shared/corpus/kayenta-judge/PROCEDURE.md`; the
//! conformance test in `tests/it/canary/conformance.rs` checks it against Kayenta's own
//! test cases.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::stats::{MannWhitney, cles, mann_whitney, mean, mean_ratio};

/// Which way a metric may move before it counts as a deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Higher is worse (error rates, latency): only High counts.
    #[default]
    Increase,
    /// Lower is worse (success rates, throughput): only Low counts.
    Decrease,
    /// Both High and Low count.
    Either,
}

impl Direction {
    fn allows_increase(self) -> bool {
        matches!(self, Self::Increase | Self::Either)
    }
    fn allows_decrease(self) -> bool {
        matches!(self, Self::Decrease | Self::Either)
    }
    /// True when `class` is a move in a direction this metric counts as worse.
    pub fn is_worse(self, class: Classification) -> bool {
        match class {
            Classification::High => self.allows_increase(),
            Classification::Low => self.allows_decrease(),
            _ => false,
        }
    }
}

/// What to do with NaN values before comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NanStrategy {
    #[default]
    Remove,
    Replace,
}

/// How the size of a difference is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum EffectMeasure {
    /// mean(canary) / mean(baseline); NaN when either mean is 0.
    #[default]
    MeanRatio,
    /// Common-language effect size: P(canary > baseline).
    Cles,
}

/// The classifier's knobs (Kayenta's `MannWhitneyClassifier` arguments).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub tolerance: f64,
    pub confidence: f64,
    pub allowed_decrease: f64,
    pub allowed_increase: f64,
    pub critical_decrease: f64,
    pub critical_increase: f64,
    pub effect: EffectMeasure,
}

impl Params {
    /// NetflixACAJudge's production settings: tolerance 0.25, confidence 0.98, mean ratio.
    pub fn netflix() -> Self {
        Self::with(0.25, 0.98, EffectMeasure::MeanRatio)
    }
    /// Thresholds at their defaults for `effect` (1.0 for the mean ratio, 0.5 for CLES).
    pub fn with(tolerance: f64, confidence: f64, effect: EffectMeasure) -> Self {
        let neutral = match effect {
            EffectMeasure::MeanRatio => 1.0,
            EffectMeasure::Cles => 0.5,
        };
        Self {
            tolerance,
            confidence,
            allowed_decrease: neutral,
            allowed_increase: neutral,
            critical_decrease: neutral,
            critical_increase: neutral,
            effect,
        }
    }
}

impl Default for Params {
    fn default() -> Self {
        Self::netflix()
    }
}

/// One metric's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Classification {
    Pass,
    High,
    Low,
    Nodata,
    NodataFailMetric,
    Error,
}

/// What the classifier says about one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricVerdict {
    pub classification: Classification,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// mean(canary) / mean(baseline); `null` (NaN) when undefined.
    #[serde(serialize_with = "finite_or_null")]
    pub deviation: f64,
    pub critical: bool,
    /// The Mann-Whitney result, when the test ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<MannWhitney>,
    /// The effect size the thresholds were checked against.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_finite_or_null")]
    pub effect: Option<f64>,
}

fn finite_or_null<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() { s.serialize_f64(*v) } else { s.serialize_none() }
}

fn opt_finite_or_null<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) if v.is_finite() => s.serialize_f64(*v),
        _ => s.serialize_none(),
    }
}

/// A metric's two series and how to read them.
#[derive(Debug, Clone, Copy)]
pub struct MetricInput<'a> {
    /// The canary ("experiment") series.
    pub experiment: &'a [f64],
    /// The baseline ("control") series.
    pub control: &'a [f64],
    pub direction: Direction,
    pub nan_strategy: NanStrategy,
    pub critical: bool,
    pub must_have_data: bool,
}

/// Classifies one metric as Kayenta's `MannWhitneyClassifier` does.
pub fn classify(input: &MetricInput<'_>, params: &Params) -> MetricVerdict {
    let clean = |v: &[f64]| -> Vec<f64> {
        match input.nan_strategy {
            NanStrategy::Remove => v.iter().copied().filter(|x| !x.is_nan()).collect(),
            NanStrategy::Replace => v.iter().map(|x| if x.is_nan() { 0.0 } else { *x }).collect(),
        }
    };
    let mut experiment = clean(input.experiment);
    let mut control = clean(input.control);
    if let Some(v) = verdict_without_test(input, &experiment, &control) {
        return v;
    }
    // Two constant series tie every rank within a group; Kayenta jitters both slightly.
    if is_constant(&experiment) && is_constant(&control) {
        add_noise(&mut experiment);
        add_noise(&mut control);
    }

    let deviation = mean_ratio(&experiment, &control);
    let Some(test) = mann_whitney(&experiment, &control, params.confidence) else {
        return verdict(
            Classification::Error,
            Some("cannot compute a confidence interval when all observations are tied".into()),
            deviation,
            false,
        );
    };
    let effect = match params.effect {
        EffectMeasure::MeanRatio => deviation,
        EffectMeasure::Cles => cles(&experiment, &control),
    };
    let bound = params.tolerance * test.estimate.abs();
    let high = input.direction.allows_increase()
        && test.ci_lower > bound
        && (effect.is_nan() || effect >= params.allowed_increase);
    let low = input.direction.allows_decrease()
        && test.ci_upper < -bound
        && (effect.is_nan() || effect <= params.allowed_decrease);
    let (classification, critical, reason) = if high {
        let critical = input.critical && (effect.is_nan() || effect >= params.critical_increase);
        (Classification::High, critical, format!("canary is higher than baseline (effect {})", show(effect)))
    } else if low {
        let critical = input.critical && (effect.is_nan() || effect <= params.critical_decrease);
        (Classification::Low, critical, format!("canary is lower than baseline (effect {})", show(effect)))
    } else {
        (Classification::Pass, false, "no significant difference".to_string())
    };
    MetricVerdict { classification, reason: Some(reason), deviation, critical, test: Some(test), effect: Some(effect) }
}

/// The verdict when no test is needed or possible: no data on a side, the same data on
/// both sides, one value overall.
fn verdict_without_test(input: &MetricInput<'_>, experiment: &[f64], control: &[f64]) -> Option<MetricVerdict> {
    if experiment.is_empty() || control.is_empty() {
        let which = if experiment.is_empty() { "canary" } else { "baseline" };
        return Some(match input.nan_strategy {
            NanStrategy::Remove if input.must_have_data && !input.critical => verdict(
                Classification::NodataFailMetric,
                Some(format!("missing data for the {which}")),
                f64::NAN,
                false,
            ),
            NanStrategy::Remove => {
                verdict(Classification::Nodata, Some(format!("missing data for the {which}")), f64::NAN, input.critical)
            }
            NanStrategy::Replace => verdict(Classification::Pass, None, 1.0, false),
        });
    }

    let mut sorted_e = experiment.to_vec();
    let mut sorted_c = control.to_vec();
    sorted_e.sort_by(f64::total_cmp);
    sorted_c.sort_by(f64::total_cmp);
    if sorted_e == sorted_c {
        return Some(verdict(Classification::Pass, Some("canary and baseline data are identical".into()), 1.0, false));
    }
    let first = experiment[0];
    if experiment.iter().chain(control).all(|v| *v == first) {
        return Some(verdict(Classification::Pass, Some("one distinct value overall".into()), 1.0, false));
    }
    None
}

/// A verdict without a test (`test` and `effect` unset).
fn verdict(classification: Classification, reason: Option<String>, deviation: f64, critical: bool) -> MetricVerdict {
    MetricVerdict { classification, reason, deviation, critical, test: None, effect: None }
}

fn show(v: f64) -> String {
    if v.is_finite() { format!("{v:.3}") } else { "undefined".into() }
}

/// Kayenta's `MeanInequalityClassifier`: High, Low or Pass by the means alone.
pub fn mean_inequality(experiment: &[f64], control: &[f64]) -> Classification {
    let (e, c) = (mean(experiment), mean(control));
    if e > c {
        Classification::High
    } else if e < c {
        Classification::Low
    } else {
        Classification::Pass
    }
}

fn is_constant(v: &[f64]) -> bool {
    v.iter().all(|x| *x == v[0])
}

/// Adds N(0, (value·1e-5)²) noise, from a generator seeded by the data so a verdict is
/// reproducible (Kayenta uses a random seed; the outcome does not depend on it).
fn add_noise(values: &mut [f64]) {
    let mut state = values.iter().fold(0x9E37_79B9_7F4A_7C15_u64, |h, v| h.rotate_left(5) ^ v.to_bits());
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    for v in values.iter_mut() {
        let sd = (*v * 1e-5).abs();
        let gauss = (-2.0 * next().ln()).sqrt() * (std::f64::consts::TAU * next()).cos();
        *v += gauss * sd;
    }
}

/// One metric's input to the weighted-sum score: its class, group and criticality.
#[derive(Debug, Clone)]
pub struct Scored<'a> {
    pub classification: Classification,
    pub group: &'a str,
    pub critical: bool,
}

/// Kayenta's `WeightedSumScorer`: the summary score (0–100, 2 decimals) and each group's score.
pub fn score(metrics: &[Scored<'_>], weights: &BTreeMap<String, f64>) -> (f64, BTreeMap<String, f64>) {
    let mut groups: BTreeMap<&str, (f64, f64)> = BTreeMap::new(); // (pass, counted)
    for m in metrics {
        let entry = groups.entry(m.group).or_default();
        match m.classification {
            Classification::Pass => {
                entry.0 += 1.0;
                entry.1 += 1.0;
            }
            Classification::High | Classification::Low | Classification::NodataFailMetric => entry.1 += 1.0,
            Classification::Nodata | Classification::Error => {}
        }
    }
    // A group with nothing counted (all Nodata or Error) reports 0 and is left out of the sum.
    let group_scores: BTreeMap<String, f64> = groups
        .iter()
        .map(|(g, (pass, counted))| (g.to_string(), if *counted > 0.0 { pass / counted * 100.0 } else { 0.0 }))
        .collect();
    let critical_failed = metrics.iter().any(|m| m.critical && m.classification != Classification::Pass);
    let nodata = metrics.iter().filter(|m| m.classification == Classification::Nodata).count();
    if critical_failed || (!metrics.is_empty() && nodata as f64 / metrics.len() as f64 >= 0.5) {
        return (0.0, group_scores);
    }
    let counted: Vec<&str> = groups.iter().filter(|(_, (_, n))| *n > 0.0).map(|(g, _)| *g).collect();
    let weighted: f64 = counted.iter().filter_map(|g| weights.get(*g)).sum();
    let unweighted = counted.iter().filter(|g| !weights.contains_key(**g)).count();
    let share = if unweighted > 0 { (100.0 - weighted).max(0.0) / unweighted as f64 } else { 0.0 };
    let total: f64 = counted
        .iter()
        .map(|g| group_scores.get(*g).copied().unwrap_or(0.0) * weights.get(*g).copied().unwrap_or(share) / 100.0)
        .sum();
    ((total * 100.0).round() / 100.0, group_scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(e: &'a [f64], c: &'a [f64], direction: Direction) -> MetricInput<'a> {
        MetricInput {
            experiment: e,
            control: c,
            direction,
            nan_strategy: NanStrategy::Remove,
            critical: false,
            must_have_data: false,
        }
    }

    #[test]
    fn a_clearly_worse_canary_is_high_and_a_better_one_is_not_worse() {
        let base: Vec<f64> = (0..20).map(|i| 0.01 + (i % 5) as f64 * 0.001).collect();
        let bad: Vec<f64> = base.iter().map(|v| v * 3.0).collect();
        let good: Vec<f64> = base.iter().map(|v| v * 0.3).collect();
        let p = Params::netflix();
        let v = classify(&input(&bad, &base, Direction::Increase), &p);
        assert_eq!(v.classification, Classification::High, "{v:?}");
        assert!(Direction::Increase.is_worse(v.classification));
        let v = classify(&input(&good, &base, Direction::Increase), &p);
        assert_eq!(v.classification, Classification::Pass, "better canary must not be blamed: {v:?}");
        let v = classify(&input(&good, &base, Direction::Either), &p);
        assert_eq!(v.classification, Classification::Low);
    }

    #[test]
    fn a_noisy_baseline_does_not_blame_a_similar_canary() {
        let base = [0.010, 0.030, 0.012, 0.028, 0.011, 0.031, 0.009, 0.027, 0.013, 0.029];
        let canary = [0.021, 0.019, 0.020, 0.022, 0.018, 0.021, 0.020, 0.019, 0.022, 0.020];
        let v = classify(&input(&canary, &base, Direction::Increase), &Params::netflix());
        assert_eq!(v.classification, Classification::Pass, "{v:?}");
    }

    #[test]
    fn empty_series_is_nodata_never_pass() {
        let v = classify(&input(&[], &[1.0, 2.0], Direction::Increase), &Params::netflix());
        assert_eq!(v.classification, Classification::Nodata);
        let nan = [f64::NAN, f64::NAN];
        let v = classify(&input(&nan, &[1.0, 2.0], Direction::Increase), &Params::netflix());
        assert_eq!(v.classification, Classification::Nodata);
    }

    #[test]
    fn scorer_weights_groups() {
        let m = |c, g| Scored { classification: c, group: g, critical: false };
        let weights: BTreeMap<String, f64> = [("a".to_string(), 75.0), ("b".to_string(), 25.0)].into();
        let (s, _) = score(&[m(Classification::Pass, "a"), m(Classification::High, "b")], &weights);
        assert_eq!(s, 75.0);
    }
}
