//! The measurement loop, as Argo Rollouts' analysis runs it: take a measurement every
//! `interval`, `count` times; more than `failure_limit` failed measurements → rollback,
//! more than `inconclusive_limit` measurements without data → inconclusive, more than
//! `consecutive_error_limit` source errors in a row → inconclusive. After `count`
//! measurements, the judge compares each canary series with its baseline and may turn
//! a promote into a rollback (never the other way round).
//!
//! No data never leads to promote: a metric that never produced a canary value makes
//! the run inconclusive even when the limits would tolerate it.

use std::path::Path;
use std::time::Duration as StdDuration;

use serde::Serialize;

use super::config::CanaryConfig;
use super::judge::{self, Classification, MetricInput, MetricVerdict, NanStrategy};
use super::measure::{MetricMeasurement, Status, evaluate, fmt};
use super::source::{Reading, Source};
use crate::error::{Position, Result};

/// The run's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Promote,
    Rollback,
    Inconclusive,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Promote => "promote",
            Self::Rollback => "rollback",
            Self::Inconclusive => "inconclusive",
        }
    }
}

/// One measurement of every metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    pub index: usize,
    pub at: String,
    pub status: Status,
    pub metrics: Vec<MetricMeasurement>,
}

/// The judge's verdict on one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeResult {
    pub metric: String,
    #[serde(flatten)]
    pub verdict: MetricVerdict,
    /// True when this verdict is a move in the metric's worse direction.
    pub worse: bool,
}

/// The whole run: decision, reason, every measurement, the judge's verdicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub decision: Decision,
    pub reason: String,
    pub measurements: Vec<Measurement>,
    pub judge: Vec<JudgeResult>,
}

/// Reads measurement `index` of a metric: (canary, baseline).
#[async_trait::async_trait]
pub trait Probe: Send + Sync {
    async fn read(&self, metric: usize, index: usize) -> (Reading, Option<Reading>);
}

/// The configured sources of every metric.
pub struct Sources {
    pub sources: Vec<(Source, Option<Source>)>,
    /// Header values read from the environment, for the caller to mask.
    pub secrets: Vec<String>,
}

impl Sources {
    /// Opens every metric's sources; relative paths resolve against `base`. `at` gives the
    /// position of a key under `canary` (`metrics[0].baseline`) for a bad source.
    pub fn open(
        config: &CanaryConfig,
        base: &Path,
        at: impl Fn(&str) -> Position,
        env: &crate::gha::Env,
    ) -> Result<Self> {
        let interval = config.interval.as_std();
        let mut sources = Vec::new();
        let mut secrets = Vec::new();
        for (i, m) in config.metrics.iter().enumerate() {
            let canary_at = at(&format!("metrics[{i}].canary"));
            let canary = Source::open_with(&m.canary, base, interval, &canary_at, env, &mut secrets)?;
            let baseline = match &m.baseline {
                Some(b) => {
                    let baseline_at = at(&format!("metrics[{i}].baseline"));
                    Some(Source::open_with(b, base, interval, &baseline_at, env, &mut secrets)?)
                }
                None => None,
            };
            sources.push((canary, baseline));
        }
        Ok(Self { sources, secrets })
    }
}

#[async_trait::async_trait]
impl Probe for Sources {
    async fn read(&self, metric: usize, index: usize) -> (Reading, Option<Reading>) {
        let Some((canary, baseline)) = self.sources.get(metric) else {
            return (Reading::Error { reason: "no such metric".into() }, None);
        };
        let c = canary.read(index).await;
        let b = match baseline {
            Some(b) => Some(b.read(index).await),
            None => None,
        };
        (c, b)
    }
}

/// Runs the loop to a decision. With `wait` false the delays are skipped (replays, tests).
pub async fn watch(config: &CanaryConfig, probe: &dyn Probe, wait: bool) -> Report {
    let interval = if wait { config.interval.as_std() } else { StdDuration::ZERO };
    if wait && !config.initial_delay.as_std().is_zero() {
        tokio::time::sleep(config.initial_delay.as_std()).await;
    }
    let mut state = Counters::default();
    let mut measurements = Vec::new();
    let mut index = 0usize;
    let stop = loop {
        if state.completed >= config.count {
            break None;
        }
        if index > 0 && !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
        let at = jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now());
        let mut metrics = Vec::new();
        for (i, metric) in config.metrics.iter().enumerate() {
            let (canary, baseline) = probe.read(i, index).await;
            metrics.push(evaluate(metric, &canary, baseline.as_ref()));
        }
        let status = metrics.iter().map(|m| m.status).max().unwrap_or(Status::Successful);
        tracing::info!(index, status = ?status, "measurement");
        measurements.push(Measurement { index, at: at.to_string(), status, metrics });
        index += 1;
        if let Some(stop) = state.record(status, config) {
            break Some(stop);
        }
    };
    let (decision, reason) = match stop {
        Some(stop) => stop,
        None => (Decision::Promote, format!("{} measurements within bounds", state.completed)),
    };
    let mut report = Report { decision, reason, measurements, judge: Vec::new() };
    if report.decision == Decision::Promote {
        finish(config, &mut report);
    }
    report
}

#[derive(Debug, Default)]
struct Counters {
    completed: u32,
    failed: i64,
    inconclusive: u32,
    consecutive_errors: u32,
}

impl Counters {
    /// Counts a measurement; returns the decision when a limit is passed.
    fn record(&mut self, status: Status, config: &CanaryConfig) -> Option<(Decision, String)> {
        match status {
            Status::Error => self.consecutive_errors += 1,
            _ => {
                self.consecutive_errors = 0;
                self.completed += 1;
            }
        }
        match status {
            Status::Failed => self.failed += 1,
            Status::Inconclusive => self.inconclusive += 1,
            _ => {}
        }
        // A canary that broke its bounds is rolled back even if data is also missing.
        if config.failure_limit >= 0 && self.failed > config.failure_limit {
            return Some((
                Decision::Rollback,
                format!("{} failed measurements, more than failure_limit {}", self.failed, config.failure_limit),
            ));
        }
        if self.inconclusive > config.inconclusive_limit {
            return Some((
                Decision::Inconclusive,
                format!(
                    "{} measurements without data, more than inconclusive_limit {}",
                    self.inconclusive, config.inconclusive_limit
                ),
            ));
        }
        if self.consecutive_errors > config.consecutive_error_limit {
            return Some((
                Decision::Inconclusive,
                format!(
                    "{} source errors in a row, more than consecutive_error_limit {}",
                    self.consecutive_errors, config.consecutive_error_limit
                ),
            ));
        }
        None
    }
}

/// After a clean loop: every metric must have data, then the judge has its say.
fn finish(config: &CanaryConfig, report: &mut Report) {
    for (i, metric) in config.metrics.iter().enumerate() {
        let any = report.measurements.iter().any(|m| m.metrics.get(i).is_some_and(|x| x.canary.is_some()));
        if !any {
            report.decision = Decision::Inconclusive;
            report.reason = format!("{} never produced a canary value: no data is never a promote", metric.name);
            return;
        }
    }
    report.judge = judge_all(config, &report.measurements);
    let worse: Vec<String> = report
        .judge
        .iter()
        .filter(|j| j.worse)
        .map(|j| {
            let test = j.verdict.test.map_or(String::new(), |t| {
                format!(
                    ", {:.0}% interval of the shift [{}, {}]",
                    config.judge.confidence * 100.0,
                    fmt(t.ci_lower),
                    fmt(t.ci_upper)
                )
            });
            format!("{} is significantly {} than baseline (Mann-Whitney{test})", j.metric, worse_word(j))
        })
        .collect();
    if !worse.is_empty() {
        report.decision = Decision::Rollback;
        report.reason = format!("measurements within bounds, but {}", worse.join("; "));
    }
}

fn worse_word(j: &JudgeResult) -> &'static str {
    if j.verdict.classification == Classification::High { "higher" } else { "lower" }
}

/// The judge over the whole run: each metric with a baseline, canary vs baseline values.
pub fn judge_all(config: &CanaryConfig, measurements: &[Measurement]) -> Vec<JudgeResult> {
    if !config.judge.enabled {
        return Vec::new();
    }
    let params = config.judge.params();
    let mut out = Vec::new();
    for (i, metric) in config.metrics.iter().enumerate() {
        if metric.baseline.is_none() || metric.skip_judge {
            continue;
        }
        let series = |pick: fn(&MetricMeasurement) -> Option<f64>| -> Vec<f64> {
            measurements.iter().filter_map(|m| m.metrics.get(i).and_then(pick)).filter(|v| v.is_finite()).collect()
        };
        let canary = series(|m| m.canary);
        let baseline = series(|m| m.baseline);
        let verdict = judge::classify(
            &MetricInput {
                experiment: &canary,
                control: &baseline,
                direction: metric.direction,
                nan_strategy: NanStrategy::Remove,
                critical: false,
                must_have_data: false,
            },
            &params,
        );
        let worse = metric.direction.is_worse(verdict.classification);
        out.push(JudgeResult { metric: metric.name.clone(), verdict, worse });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canary::config::{FileSource, SourceConfig};

    /// Series in memory, one per metric: (canary, baseline); `None` = no data, NaN = error.
    type Values = Vec<Option<f64>>;
    struct Series(Vec<(Values, Option<Values>)>);

    fn reading(v: Option<&Option<f64>>) -> Reading {
        match v {
            Some(Some(x)) if x.is_nan() => Reading::Error { reason: "source down".into() },
            Some(Some(x)) => Reading::Value { value: *x },
            _ => Reading::NoData { reason: "null".into() },
        }
    }

    #[async_trait::async_trait]
    impl Probe for Series {
        async fn read(&self, metric: usize, index: usize) -> (Reading, Option<Reading>) {
            let (c, b) = &self.0[metric];
            (reading(c.get(index)), b.as_ref().map(|b| reading(b.get(index))))
        }
    }

    fn config(yaml: &str) -> CanaryConfig {
        crate::parse::yaml("t.yml", yaml).unwrap()
    }

    const BASE: &str = "interval: 0s\ncount: 10\nfailure_limit: 1\ninconclusive_limit: 2\nconsecutive_error_limit: 2\n";

    fn one_metric(extra: &str) -> CanaryConfig {
        config(&format!(
            "{BASE}metrics:\n  - name: error-rate\n    canary: {{file: {{path: c.json}}}}\n    baseline: {{file: {{path: b.json}}}}\n    max: 0.05\n    max_increase: 0.5\n{extra}"
        ))
    }

    fn s(v: &[f64]) -> Vec<Option<f64>> {
        v.iter().map(|x| Some(*x)).collect()
    }

    async fn run(cfg: &CanaryConfig, canary: Vec<Option<f64>>, baseline: Vec<Option<f64>>) -> Report {
        watch(cfg, &Series(vec![(canary, Some(baseline))]), false).await
    }

    const STEADY: [f64; 10] = [0.010, 0.012, 0.011, 0.009, 0.010, 0.011, 0.012, 0.010, 0.009, 0.011];

    #[tokio::test]
    async fn healthy_canary_is_promoted() {
        let r = run(
            &one_metric(""),
            s(&[0.011, 0.010, 0.012, 0.010, 0.009, 0.011, 0.010, 0.012, 0.011, 0.010]),
            s(&STEADY),
        )
        .await;
        assert_eq!(r.decision, Decision::Promote, "{}", r.reason);
        assert_eq!(r.measurements.len(), 10);
        assert_eq!(r.judge[0].verdict.classification, Classification::Pass);
    }

    #[tokio::test]
    async fn spike_rolls_back_early() {
        let r = run(&one_metric(""), s(&[0.01, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]), s(&STEADY)).await;
        assert_eq!(r.decision, Decision::Rollback);
        assert_eq!(r.measurements.len(), 3, "stops at the second failure past failure_limit 1");
        assert!(r.reason.contains("failure_limit 1"), "{}", r.reason);
        assert!(r.measurements[1].metrics[0].reason.contains("> max 0.05"), "{:?}", r.measurements[1]);
    }

    #[tokio::test]
    async fn noise_touching_the_bound_once_is_tolerated() {
        let mut c = [0.010, 0.011, 0.009, 0.06, 0.010, 0.011, 0.010, 0.009, 0.011, 0.010];
        let r = run(&one_metric(""), s(&c), s(&STEADY)).await;
        assert_eq!(r.decision, Decision::Promote, "{}", r.reason);
        assert_eq!(r.measurements[3].status, Status::Failed);
        c[6] = 0.07;
        let r = run(&one_metric(""), s(&c), s(&STEADY)).await;
        assert_eq!(r.decision, Decision::Rollback, "two failures pass failure_limit 1");
    }

    #[tokio::test]
    async fn slow_creep_within_bounds_is_caught_by_the_judge() {
        // Every value stays under max and under baseline × 1.5, yet the canary sits
        // clearly above the baseline: the Mann-Whitney test turns promote into rollback.
        let c = [0.0125, 0.0128, 0.013, 0.0131, 0.0132, 0.0134, 0.0136, 0.0138, 0.0134, 0.0145];
        let r = run(&one_metric(""), s(&c), s(&STEADY)).await;
        assert!(r.measurements.iter().all(|m| m.status == Status::Successful));
        assert_eq!(r.decision, Decision::Rollback, "{}", r.reason);
        assert!(r.reason.contains("significantly higher"), "{}", r.reason);
        assert_eq!(r.judge[0].verdict.classification, Classification::High);
    }

    #[tokio::test]
    async fn slow_creep_past_the_relative_bound_rolls_back() {
        let c = [0.010, 0.012, 0.014, 0.016, 0.018, 0.020, 0.022, 0.024, 0.026, 0.028];
        let r = run(&one_metric(""), s(&c), s(&STEADY)).await;
        assert_eq!(r.decision, Decision::Rollback);
        assert!(r.measurements.iter().any(|m| m.metrics[0].reason.contains("× 1.5")), "{:?}", r.measurements);
    }

    #[tokio::test]
    async fn canary_better_than_baseline_is_promoted() {
        let c: Vec<f64> = STEADY.iter().map(|v| v * 0.3).collect();
        let r = run(&one_metric(""), s(&c), s(&STEADY)).await;
        assert_eq!(r.decision, Decision::Promote, "{}", r.reason);
        // Lower is better for an error rate: the judge does not count it against the canary.
        assert_eq!(r.judge[0].verdict.classification, Classification::Pass);
        assert!(!r.judge[0].worse);
    }

    #[tokio::test]
    async fn degraded_baseline_does_not_promote_a_canary_past_max() {
        // The stable track is degraded (0.04): relative bound 0.06 lets more through,
        // but the absolute max still holds.
        let b = [0.04; 10];
        let ok = [0.012, 0.011, 0.010, 0.012, 0.011, 0.013, 0.010, 0.012, 0.011, 0.010];
        let r = run(&one_metric(""), s(&ok), s(&b)).await;
        assert_eq!(r.decision, Decision::Promote, "a healthy canary beside a degraded baseline: {}", r.reason);
        let bad = [0.055; 10];
        let r = run(&one_metric(""), s(&bad), s(&b)).await;
        assert_eq!(r.decision, Decision::Rollback, "max applies whatever the baseline");
    }

    #[tokio::test]
    async fn gaps_are_tolerated_up_to_the_limit_then_inconclusive() {
        let mut c = s(&STEADY);
        c[2] = None;
        c[5] = None;
        let r = run(&one_metric(""), c.clone(), s(&STEADY)).await;
        assert_eq!(r.decision, Decision::Promote, "{}", r.reason);
        c[7] = None;
        let r = run(&one_metric(""), c, s(&STEADY)).await;
        assert_eq!(r.decision, Decision::Inconclusive);
        assert!(r.reason.contains("inconclusive_limit 2"), "{}", r.reason);
    }

    #[tokio::test]
    async fn zero_traffic_is_never_a_promote() {
        let cfg = one_metric("");
        let mut cfg = cfg.clone();
        cfg.inconclusive_limit = 100;
        let r = run(&cfg, vec![None; 10], s(&STEADY)).await;
        assert_eq!(r.decision, Decision::Inconclusive);
        assert!(r.reason.contains("never produced"), "{}", r.reason);
    }

    #[tokio::test]
    async fn missing_baseline_makes_the_relative_bound_inconclusive() {
        let r = run(&one_metric(""), s(&STEADY), vec![None; 10]).await;
        assert_eq!(r.decision, Decision::Inconclusive);
        assert!(r.measurements[0].metrics[0].reason.contains("baseline: no data"));
    }

    #[tokio::test]
    async fn source_errors_in_a_row_are_inconclusive_and_do_not_count() {
        let e = f64::NAN;
        // Two errors in a row are tolerated (limit 2) and do not count towards `count`.
        let c = s(&[0.01, e, e, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]);
        let b = s(&[0.01; 12]);
        let r = run(&one_metric(""), c, b).await;
        assert_eq!(r.decision, Decision::Promote, "{}", r.reason);
        assert_eq!(r.measurements.len(), 12);
        let c = s(&[0.01, e, e, e, 0.01]);
        let r = run(&one_metric(""), c, s(&[0.01; 5])).await;
        assert_eq!(r.decision, Decision::Inconclusive);
        assert!(r.reason.contains("consecutive_error_limit 2"), "{}", r.reason);
    }

    #[tokio::test]
    async fn min_bound_for_success_rates() {
        let cfg = config(&format!(
            "{BASE}metrics:\n  - name: success\n    canary: {{file: {{path: c.json}}}}\n    min: 0.99\n    direction: decrease\n"
        ));
        let r = watch(&cfg, &Series(vec![(s(&[0.995, 0.98, 0.97, 0.99]), None)]), false).await;
        assert_eq!(r.decision, Decision::Rollback);
        assert!(r.measurements[1].metrics[0].reason.contains("< min 0.99"));
    }

    #[test]
    fn file_sources_resolve_relative_to_the_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.json"), "[0.1, null, 0.3]").unwrap();
        let src = Source::open(
            &SourceConfig::File(FileSource { path: "c.json".into() }),
            dir.path(),
            StdDuration::ZERO,
            "t.yml",
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert_eq!(rt.block_on(src.read(0)), Reading::Value { value: 0.1 });
        assert!(matches!(rt.block_on(src.read(1)), Reading::NoData { .. }));
        assert!(matches!(rt.block_on(src.read(3)), Reading::NoData { .. }));
        std::fs::write(dir.path().join("bad.json"), "[0.1, \"x\"]").unwrap();
        let err = Source::open(
            &SourceConfig::File(FileSource { path: "bad.json".into() }),
            dir.path(),
            StdDuration::ZERO,
            "t.yml",
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("bad.json:1:"), "{err}");
    }
}
