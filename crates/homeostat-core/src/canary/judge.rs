//! The final comparison of a canary series against its baseline series, as Kayenta's
//! NetflixACAJudge does it: a Mann-Whitney U test with a confidence interval on the
//! location shift (a port of R's `wilcox.test(x, y, conf.int = TRUE, exact = FALSE,
//! correct = TRUE)`, root search by R's `zeroin`), a tolerance around the estimate, and an
//! effect-size threshold (mean ratio or CLES). Pure: values in, a classification out.
//!
//! The procedure is summarised in `../shared/corpus/kayenta-judge/PROCEDURE.md`; the
//! conformance test in `tests/canary.rs` checks it against Kayenta's own test cases.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

/// The confidence interval of the location shift canary − baseline, and its estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannWhitney {
    pub ci_lower: f64,
    pub ci_upper: f64,
    pub estimate: f64,
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

pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 }
}

/// mean(experiment) / mean(control); NaN when either mean is 0.
pub fn mean_ratio(experiment: &[f64], control: &[f64]) -> f64 {
    let (e, c) = (mean(experiment), mean(control));
    if e == 0.0 || c == 0.0 { f64::NAN } else { e / c }
}

/// Common-language effect size (2·R₁ − m(m+1)) / (2nm), R₁ the experiment's rank sum.
pub fn cles(experiment: &[f64], control: &[f64]) -> f64 {
    let m = experiment.len() as f64;
    let n = control.len() as f64;
    let pooled: Vec<f64> = experiment.iter().chain(control).copied().collect();
    let ranks = average_ranks(&pooled);
    let r1: f64 = ranks[..experiment.len()].iter().sum();
    (2.0 * r1 - m * (m + 1.0)) / (2.0 * n * m)
}

/// Ranks from 1, ties sharing their average rank.
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| values[*a].total_cmp(&values[*b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for k in &order[i..=j] {
            ranks[*k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// R's `wdiff`: the normal approximation of the Wilcoxon statistic for a shift `mu`,
/// with continuity correction, minus `zq`. `None` when every observation is tied.
pub fn wilcoxon_diff(mu: f64, zq: f64, x: &[f64], y: &[f64]) -> Option<f64> {
    let nx = x.len() as f64;
    let ny = y.len() as f64;
    let pooled: Vec<f64> = x.iter().map(|v| v - mu).chain(y.iter().copied()).collect();
    let ranks = average_ranks(&pooled);
    let mut ties: BTreeMap<u64, f64> = BTreeMap::new();
    for r in &ranks {
        *ties.entry(r.to_bits()).or_default() += 1.0;
    }
    let dz = ranks[..x.len()].iter().sum::<f64>() - nx * (nx + 1.0) / 2.0 - nx * ny / 2.0;
    let correction = if dz > 0.0 {
        0.5
    } else if dz < 0.0 {
        -0.5
    } else {
        0.0
    };
    let tie_sum: f64 = ties.values().map(|t| t.powi(3) - t).sum();
    let sigma = ((nx * ny / 12.0) * ((nx + ny + 1.0) - tie_sum / ((nx + ny) * (nx + ny - 1.0)))).sqrt();
    if sigma == 0.0 || sigma.is_nan() {
        return None;
    }
    Some((dz - correction) / sigma - zq)
}

/// The two-sided confidence interval and estimate of the shift x − y (R's
/// `wilcox.test(x, y, conf.int = TRUE, exact = FALSE, correct = TRUE)`, as Kayenta ports
/// it). `None` when all observations are tied or a series is empty.
pub fn mann_whitney(x: &[f64], y: &[f64], confidence: f64) -> Option<MannWhitney> {
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let mu_min = min(x) - max(y);
    let mu_max = max(x) - min(y);
    // A tie in the pooled sample at some shift can make sigma zero only when every value
    // ties; check once and let the root search assume a finite statistic.
    wilcoxon_diff(mu_min, 0.0, x, y)?;
    let f = |d: f64, zq: f64| wilcoxon_diff(d, zq, x, y).unwrap_or(0.0);
    let root = |zq: f64| {
        let f_lower = f(mu_min, zq);
        let f_upper = f(mu_max, zq);
        if f_lower <= 0.0 {
            mu_min
        } else if f_upper >= 0.0 {
            mu_max
        } else {
            zeroin(mu_min, mu_max, f_lower, f_upper, |d| f(d, zq), 1e-4, 1000)
        }
    };
    let z = qnorm((1.0 - confidence) / 2.0);
    let ci_lower = root(-z);
    let ci_upper = root(z);
    let estimate = zeroin(mu_min, mu_max, f(mu_min, 0.0), f(mu_max, 0.0), |d| f(d, 0.0), 1e-4, 1000);
    Some(MannWhitney { ci_lower, ci_upper, estimate })
}

/// R's `R_zeroin2` (Brent's method without derivatives), as Kayenta's `BrentSolver`.
pub fn zeroin(ax: f64, bx: f64, fa: f64, fb: f64, f: impl Fn(f64) -> f64, tol: f64, max_iter: usize) -> f64 {
    const EPSILON: f64 = f64::EPSILON;
    let (mut a, mut b) = (ax, bx);
    let (mut fa, mut fb) = (fa, fb);
    let (mut c, mut fc) = (a, fa);
    if fa == 0.0 {
        return a;
    }
    if fb == 0.0 {
        return b;
    }
    for _ in 0..=max_iter {
        let prev_step = b - a;
        if fc.abs() < fb.abs() {
            a = b;
            b = c;
            c = a;
            fa = fb;
            fb = fc;
            fc = fa;
        }
        let tol_act = 2.0 * EPSILON * b.abs() + tol / 2.0;
        let mut new_step = (c - b) / 2.0;
        if new_step.abs() <= tol_act || fb == 0.0 {
            return b;
        }
        if prev_step.abs() >= tol_act && fa.abs() > fb.abs() {
            let cb = c - b;
            let (mut p, mut q);
            if a == c {
                let t1 = fb / fa;
                p = cb * t1;
                q = 1.0 - t1;
            } else {
                let qq = fa / fc;
                let t1 = fb / fc;
                let t2 = fb / fa;
                p = t2 * (cb * qq * (qq - t1) - (b - a) * (t1 - 1.0));
                q = (qq - 1.0) * (t1 - 1.0) * (t2 - 1.0);
            }
            if p > 0.0 {
                q = -q;
            } else {
                p = -p;
            }
            if p < 0.75 * cb * q - (tol_act * q).abs() / 2.0 && p < (prev_step * q / 2.0).abs() {
                new_step = p / q;
            }
        }
        if new_step.abs() < tol_act {
            new_step = if new_step > 0.0 { tol_act } else { -tol_act };
        }
        a = b;
        fa = fb;
        b += new_step;
        fb = f(b);
        if (fb > 0.0 && fc > 0.0) || (fb < 0.0 && fc < 0.0) {
            c = a;
            fc = fa;
        }
    }
    b
}

/// The standard normal quantile (Wichura's AS 241, as R's `qnorm`), for 1e-12 < p < 1 − 1e-12.
// The coefficients are quoted as published (AS 241), beyond f64 precision.
#[allow(clippy::excessive_precision)]
pub fn qnorm(p: f64) -> f64 {
    if p.is_nan() || p <= 0.0 || p >= 1.0 {
        return f64::NAN;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r + 67265.770927008700853) * r
                + 45921.953931549871457)
                * r
                + 13731.693765509461125)
                * r
                + 1971.5909503065514427)
                * r
                + 133.14166789178437745)
                * r
                + 3.387132872796366608)
            / (((((((r * 5226.495278852854561 + 28729.085735721942674) * r + 39307.89580009271061) * r
                + 21213.794301586595867)
                * r
                + 5394.1960214247511077)
                * r
                + 687.1870074920579083)
                * r
                + 42.313330701600911252)
                * r
                + 1.0);
    }
    let r = if q < 0.0 { p } else { 1.0 - p };
    let mut r = (-r.ln()).sqrt();
    let val = if r <= 5.0 {
        r -= 1.6;
        (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
            + 1.27045825245236838258)
            * r
            + 3.64784832476320460504)
            * r
            + 5.7694972214606914055)
            * r
            + 4.6303378461565452959)
            * r
            + 1.42343711074968357734)
            / (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
                + 0.14810397642748007459)
                * r
                + 0.68976733498510000455)
                * r
                + 1.6763848301838038494)
                * r
                + 2.05319162663775882187)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
            + 0.026532189526576123093)
            * r
            + 0.29656057182850489123)
            * r
            + 1.7848265399172913358)
            * r
            + 5.4637849111641143699)
            * r
            + 6.6579046435011037772)
            / (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
                + 7.868691311456132591e-4)
                * r
                + 0.0148753612908506148525)
                * r
                + 0.13692988092273580531)
                * r
                + 0.59983220655588793769)
                * r
                + 1.0)
    };
    if q < 0.0 { -val } else { val }
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
    fn qnorm_matches_r() {
        assert!((qnorm(0.01) + 2.326347874040841).abs() < 1e-12);
        assert!((qnorm(0.975) - 1.959963984540054).abs() < 1e-12);
        assert!((qnorm(1e-10) + 6.361340902404056).abs() < 1e-9);
    }

    #[test]
    fn r_example_interval() {
        let t = mann_whitney(&[10.0, 20.0, 30.0, 40.0], &[1.0, 2.0, 3.0, 4.0], 0.95).unwrap();
        assert!((t.ci_lower - 6.0).abs() < 1e-6 && (t.ci_upper - 39.0).abs() < 1e-6, "{t:?}");
        assert!((t.estimate - 22.5).abs() < 1e-6, "{t:?}");
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
