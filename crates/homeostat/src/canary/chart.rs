//! The step summary: a markdown table of every measurement, the judge's verdicts, and
//! one SVG chart per metric (canary and baseline series against their bounds).
//!
//! GitHub does not render inline SVG (nor SVG data URIs) reliably in a step summary, so
//! the charts are written as files beside the JSON report, which the workflow uploads as
//! an artifact; the summary names them and carries the numbers as a table. Pure: strings
//! in, strings out; the caller writes the files.

use std::fmt::Write as _;

use super::measure::{Status, fmt};
use super::watch::Report;

/// One metric's series, as the chart draws them.
#[derive(Debug, Clone, Default)]
pub struct MetricSeries {
    pub name: String,
    pub canary: Vec<Option<f64>>,
    pub baseline: Vec<Option<f64>>,
    pub upper: Vec<Option<f64>>,
    pub lower: Vec<Option<f64>>,
    pub failed: Vec<bool>,
}

/// Every metric's series out of the report's measurements.
pub fn series(report: &Report) -> Vec<MetricSeries> {
    let names: Vec<String> =
        report.measurements.first().map(|m| m.metrics.iter().map(|x| x.name.clone()).collect()).unwrap_or_default();
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut s = MetricSeries { name: name.clone(), ..Default::default() };
            for m in &report.measurements {
                let x = m.metrics.get(i);
                s.canary.push(x.and_then(|x| x.canary).filter(|v| v.is_finite()));
                s.baseline.push(x.and_then(|x| x.baseline).filter(|v| v.is_finite()));
                s.upper.push(x.and_then(|x| x.upper).filter(|v| v.is_finite()));
                s.lower.push(x.and_then(|x| x.lower).filter(|v| v.is_finite()));
                s.failed.push(x.is_some_and(|x| x.status == Status::Failed));
            }
            s
        })
        .collect()
}

/// A file name for a metric's chart: lowercase letters, digits and dashes.
pub fn file_name(metric: &str) -> String {
    let mut out: String =
        metric.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    out.truncate(60);
    let out = out.trim_matches('-');
    format!("{}.svg", if out.is_empty() { "metric" } else { out })
}

const W: f64 = 640.0;
const H: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 32.0;
const BOTTOM: f64 = 36.0;

/// An SVG line chart of one metric: canary (solid), baseline (dashed), bounds (red).
pub fn svg(s: &MetricSeries) -> String {
    let n = s.canary.len().max(1);
    let (lo, hi) = value_range(s);
    let x = |i: usize| LEFT + (W - LEFT - RIGHT) * if n > 1 { i as f64 / (n - 1) as f64 } else { 0.5 };
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - (v - lo) / (hi - lo));
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(out, r##"<rect width="{W}" height="{H}" fill="#ffffff"/>"##);
    let _ = write!(out, r##"<text x="{LEFT}" y="18" font-size="13" font-weight="bold">{}</text>"##, escape(&s.name));
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let yy = y(v);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}" stroke="#e5e5e5"/><text x="{}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            escape(&fmt(v))
        );
    }
    let every = n.div_ceil(15).max(1);
    for i in (0..n).step_by(every) {
        let _ = write!(
            out,
            r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
            x(i),
            H - BOTTOM + 14.0,
            i + 1
        );
    }
    let _ = write!(
        out,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#555">measurement</text>"##,
        (LEFT + W - RIGHT) / 2.0,
        H - 4.0
    );
    let mut line = |values: &[Option<f64>], style: &str| {
        for run in runs(values) {
            let points: Vec<String> = run.iter().map(|(i, v)| format!("{:.1},{:.1}", x(*i), y(*v))).collect();
            if points.len() == 1 {
                let (i, v) = run[0];
                let _ = write!(out, r#"<circle cx="{:.1}" cy="{:.1}" r="2" {style}/>"#, x(i), y(v));
            } else {
                let _ = write!(out, r#"<polyline fill="none" points="{}" {style}/>"#, points.join(" "));
            }
        }
    };
    line(&s.upper, r##"stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 3""##);
    line(&s.lower, r##"stroke="#d62728" stroke-width="1.5" stroke-dasharray="2 3""##);
    line(&s.baseline, r##"stroke="#7f7f7f" stroke-width="1.5" stroke-dasharray="4 2""##);
    line(&s.canary, r##"stroke="#1f77b4" stroke-width="2""##);
    for (i, failed) in s.failed.iter().enumerate() {
        if let (true, Some(v)) = (*failed, s.canary.get(i).copied().flatten()) {
            let _ = write!(out, r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#d62728"/>"##, x(i), y(v));
        }
    }
    legend(&mut out);
    out.push_str("</svg>\n");
    out
}

/// The y axis: from 0 (or the lowest value, if below) to 8 % above the highest value.
fn value_range(s: &MetricSeries) -> (f64, f64) {
    let all = s.canary.iter().chain(&s.baseline).chain(&s.upper).chain(&s.lower).flatten().copied();
    let (mut lo, mut hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    lo = lo.min(0.0);
    if hi <= lo {
        hi = lo + 1.0;
    }
    hi += (hi - lo) * 0.08;
    (lo, hi)
}

/// The legend, top right: canary, baseline, bound.
fn legend(out: &mut String) {
    let legend = [("#1f77b4", "canary"), ("#7f7f7f", "baseline"), ("#d62728", "bound")];
    for (k, (color, label)) in legend.iter().enumerate() {
        let lx = W - RIGHT - 220.0 + k as f64 * 75.0;
        let _ = write!(
            out,
            r#"<line x1="{lx}" x2="{}" y1="14" y2="14" stroke="{color}" stroke-width="2"/><text x="{}" y="18">{label}</text>"#,
            lx + 16.0,
            lx + 20.0
        );
    }
}

/// Consecutive present values, as (index, value) runs, so gaps stay gaps.
fn runs(values: &[Option<f64>]) -> Vec<Vec<(usize, f64)>> {
    let mut out: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => current.push((i, *v)),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Text safe inside a markdown table cell.
fn cell(s: &str) -> String {
    crate::markers::escape_md(s)
}

fn mark(status: Status) -> &'static str {
    match status {
        Status::Successful => "✅",
        Status::Failed => "❌",
        Status::Inconclusive => "⚠️ no data",
        Status::Error => "⚠️ error",
    }
}

/// Every measurement as a markdown table: one row per measurement, one column per metric
/// (`canary (baseline) ≤ bound`).
pub fn measurements_table(report: &Report) -> String {
    let Some(first) = report.measurements.first() else { return "_no measurements_\n".into() };
    let mut out = String::from("| # |");
    for m in &first.metrics {
        let _ = write!(out, " {} |", cell(&m.name));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(first.metrics.len()));
    out.push('\n');
    for m in &report.measurements {
        let _ = write!(out, "| {} |", m.index + 1);
        for x in &m.metrics {
            let value = x.canary.map_or_else(|| "–".to_string(), fmt);
            let base = x.baseline.map_or(String::new(), |b| format!(" (baseline {})", fmt(b)));
            let bound = match (x.lower, x.upper) {
                (Some(l), Some(u)) => format!(" in [{}, {}]", fmt(l), fmt(u)),
                (None, Some(u)) => format!(" ≤ {}", fmt(u)),
                (Some(l), None) => format!(" ≥ {}", fmt(l)),
                (None, None) => String::new(),
            };
            let _ = write!(out, " {} {value}{base}{bound} |", mark(x.status));
        }
        out.push('\n');
    }
    out
}

/// The step summary: decision, reason, the measurements table, the judge, the charts.
/// `run_url` (the workflow run's page) links the artifact holding the charts.
pub fn summary(
    report: &Report,
    charts: &[String],
    actions: &[super::action::ActionOutcome],
    run_url: Option<&str>,
) -> String {
    let mut out = format!("## hs-canary: **{}**\n\n{}\n\n", report.decision.as_str(), cell(&report.reason));
    out.push_str(&measurements_table(report));
    if !report.judge.is_empty() {
        out.push_str(
            "\n| metric | judge (Mann-Whitney) | interval of canary − baseline | mean ratio |\n|---|---|---|---|\n",
        );
        for j in &report.judge {
            let ci =
                j.verdict.test.map_or("–".to_string(), |t| format!("[{}, {}]", fmt(t.ci_lower), fmt(t.ci_upper)));
            let ratio = if j.verdict.deviation.is_finite() { fmt(j.verdict.deviation) } else { "–".into() };
            let verdict = format!("{:?}{}", j.verdict.classification, if j.worse { " ❌" } else { "" });
            let _ = writeln!(out, "| {} | {verdict} | {ci} | {ratio} |", cell(&j.metric));
        }
    }
    for a in actions {
        let _ = writeln!(out, "\n{} `{}`: {}", if a.ok { "✅" } else { "❌" }, a.on, cell(&a.detail));
    }
    if !charts.is_empty() {
        match run_url {
            Some(url) => {
                let _ = write!(out, "\nCharts (series against bounds, SVG) are in the [run's artifacts]({url}): ");
            }
            None => out.push_str("\nCharts (series against bounds, SVG): "),
        }
        out.push_str(&charts.iter().map(|c| format!("`{}`", cell(c))).collect::<Vec<_>>().join(", "));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_draws_series_with_gaps_and_escapes_names() {
        let s = MetricSeries {
            name: "p99 <latency>".into(),
            canary: vec![Some(1.0), None, Some(3.0), Some(4.0)],
            baseline: vec![Some(1.0), Some(1.0), Some(1.0), Some(1.0)],
            upper: vec![Some(2.0); 4],
            lower: vec![None; 4],
            failed: vec![false, false, true, true],
        };
        let svg = svg(&s);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("p99 &lt;latency&gt;"));
        // The gap splits the canary into a lone point and a two-point line; two failures are marked.
        assert_eq!(svg.matches(r##"fill="#d62728""##).count(), 2);
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert_eq!(file_name("Error rate / EU"), "error-rate---eu.svg");
    }
}
