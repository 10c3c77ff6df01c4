//! One metric's reading judged against its bounds: the ceiling and floor in force (absolute,
//! and relative to the baseline), no data and source errors told apart. Pure: no I/O.

use serde::Serialize;

use super::config::MetricConfig;
use super::source::Reading;

/// A measurement's (or one metric's) status, as Argo names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Successful,
    Inconclusive,
    Error,
    Failed,
}

/// One metric within one measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricMeasurement {
    pub name: String,
    #[serde(serialize_with = "opt_num")]
    pub canary: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_num")]
    pub baseline: Option<f64>,
    /// The ceiling in force (the lower of `max` and baseline × (1 + max_increase)).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_num")]
    pub upper: Option<f64>,
    /// The floor in force (the higher of `min` and baseline × (1 − max_decrease)).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_num")]
    pub lower: Option<f64>,
    pub status: Status,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

fn opt_num<S: serde::Serializer>(v: &Option<f64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(v) if v.is_finite() => s.serialize_f64(*v),
        Some(v) => s.serialize_str(&v.to_string()),
        None => s.serialize_none(),
    }
}

/// Judges one metric's reading against its bounds.
pub fn evaluate(metric: &MetricConfig, canary: &Reading, baseline: Option<&Reading>) -> MetricMeasurement {
    let mut m = MetricMeasurement {
        name: metric.name.clone(),
        canary: canary.as_value(),
        baseline: baseline.and_then(Reading::as_value),
        upper: metric.max,
        lower: metric.min,
        status: Status::Successful,
        reason: String::new(),
    };
    if let Some(b) = m.baseline {
        if let Some(inc) = metric.max_increase {
            let rel = b * (1.0 + inc);
            m.upper = Some(m.upper.map_or(rel, |u| u.min(rel)));
        }
        if let Some(dec) = metric.max_decrease {
            let rel = b * (1.0 - dec);
            m.lower = Some(m.lower.map_or(rel, |l| l.max(rel)));
        }
    }
    let errors: Vec<String> = [("canary", Some(canary)), ("baseline", baseline)]
        .into_iter()
        .filter_map(|(which, r)| match r {
            Some(Reading::Error { reason }) => Some(format!("{which}: {reason}")),
            _ => None,
        })
        .collect();
    let Some(value) = m.canary else {
        (m.status, m.reason) = match canary {
            Reading::Error { .. } => (Status::Error, errors.join("; ")),
            Reading::NoData { reason } => (Status::Inconclusive, format!("canary: no data ({reason})")),
            Reading::Value { .. } => (Status::Successful, String::new()),
        };
        return m;
    };
    // An absolute bound is decided by the canary alone, whatever the baseline does.
    if let Some(max) = metric.max.filter(|max| value > *max) {
        return failed(m, format!("{} {} > max {}", metric.name, fmt(value), fmt(max)));
    }
    if let Some(min) = metric.min.filter(|min| value < *min) {
        return failed(m, format!("{} {} < min {}", metric.name, fmt(value), fmt(min)));
    }
    let relative = metric.max_increase.is_some() || metric.max_decrease.is_some();
    if relative && metric.baseline.is_some() {
        match (baseline, m.baseline) {
            (Some(Reading::Error { .. }), _) => {
                m.status = Status::Error;
                m.reason = errors.join("; ");
                return m;
            }
            (_, None) => {
                m.status = Status::Inconclusive;
                m.reason = "baseline: no data, the relative bound cannot be checked".into();
                return m;
            }
            (_, Some(b)) => {
                if let (Some(inc), Some(upper)) = (metric.max_increase, m.upper)
                    && value > upper
                {
                    return failed(
                        m,
                        format!("{} {} > baseline {} × {}", metric.name, fmt(value), fmt(b), fmt(1.0 + inc)),
                    );
                }
                if let (Some(dec), Some(lower)) = (metric.max_decrease, m.lower)
                    && value < lower
                {
                    return failed(
                        m,
                        format!("{} {} < baseline {} × {}", metric.name, fmt(value), fmt(b), fmt(1.0 - dec)),
                    );
                }
            }
        }
    } else if let Some(Reading::Error { .. }) = baseline {
        // The baseline only feeds the judge here; its error is recorded, not fatal.
        m.reason = errors.join("; ");
    }
    m
}

fn failed(mut m: MetricMeasurement, reason: String) -> MetricMeasurement {
    m.status = Status::Failed;
    m.reason = reason;
    m
}

/// A number for messages: short, no trailing noise.
pub fn fmt(v: f64) -> String {
    if v.is_finite() && v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e6) {
        format!("{v:.3e}")
    } else if v.is_finite() {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        v.to_string()
    }
}
