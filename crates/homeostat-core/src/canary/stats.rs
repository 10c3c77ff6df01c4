//! The statistics under the canary's judge, ports of R's: the Mann-Whitney U test's
//! confidence interval on the location shift (`wilcox.test(…, conf.int = TRUE, exact =
//! FALSE, correct = TRUE)`), its root search (`zeroin`), the normal quantile (`qnorm`), and
//! the effect sizes (mean ratio, CLES). Pure: numbers in, numbers out.

use std::collections::BTreeMap;

use serde::Serialize;

/// The confidence interval of the location shift canary − baseline, and its estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannWhitney {
    pub ci_lower: f64,
    pub ci_upper: f64,
    pub estimate: f64,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
