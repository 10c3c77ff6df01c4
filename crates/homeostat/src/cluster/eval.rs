//! Pairwise precision, recall and F1 of a clustering against ground-truth groups.
//! Pure: no I/O.

use std::collections::HashMap;

/// Pair counts and the scores built from them.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct PairScores {
    /// Pairs put together that belong together.
    pub true_pairs: u64,
    /// Pairs put together.
    pub predicted_pairs: u64,
    /// Pairs that belong together.
    pub actual_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

fn pair_count<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> u64 {
    let mut counts: HashMap<K, u64> = HashMap::new();
    keys.for_each(|k| *counts.entry(k).or_default() += 1);
    counts.values().map(|&n| pairs(n)).sum()
}

/// Scores `predicted` cluster labels against `truth` group labels (same order).
pub fn pairwise(predicted: &[String], truth: &[String]) -> PairScores {
    let predicted_pairs = pair_count(predicted.iter());
    let actual_pairs = pair_count(truth.iter());
    let true_pairs = pair_count(predicted.iter().zip(truth));
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (ratio(true_pairs, predicted_pairs), ratio(true_pairs, actual_pairs));
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
    PairScores { true_pairs, predicted_pairs, actual_pairs, precision, recall, f1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn counts_pairs_within_clusters() {
        // truth: {0,1,2} {3}; predicted: {0,1} {2,3}
        let r = pairwise(&s(&["a", "a", "b", "b"]), &s(&["x", "x", "x", "y"]));
        assert_eq!((r.true_pairs, r.predicted_pairs, r.actual_pairs), (1, 2, 3));
        assert!((r.precision - 0.5).abs() < 1e-9 && (r.recall - 1.0 / 3.0).abs() < 1e-9);
    }
}
