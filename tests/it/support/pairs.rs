//! Pairwise agreement of a grouping with ground truth, for the corpus tests that print
//! precision and recall (fingerprints against labelled groups).

/// Counts over the pairs of a corpus, and which pairs disagree (indexes, `a < b`).
pub struct Pairwise {
    pub tp: u32,
    pub fp: u32,
    pub fn_: u32,
    pub disagreements: Vec<(usize, usize)>,
}

impl Pairwise {
    /// Scores every pair `counted` keeps: `truth` says they belong together, `ours` that
    /// they were put together.
    pub fn score<T>(
        items: &[T],
        counted: impl Fn(&T, &T) -> bool,
        truth: impl Fn(&T, &T) -> bool,
        ours: impl Fn(&T, &T) -> bool,
    ) -> Self {
        let mut out = Self { tp: 0, fp: 0, fn_: 0, disagreements: Vec::new() };
        for (i, a) in items.iter().enumerate() {
            for (j, b) in items.iter().enumerate().skip(i + 1).filter(|(_, b)| counted(a, b)) {
                match (truth(a, b), ours(a, b)) {
                    (true, true) => out.tp += 1,
                    (false, false) => {}
                    (false, true) => {
                        out.fp += 1;
                        out.disagreements.push((i, j));
                    }
                    (true, false) => {
                        out.fn_ += 1;
                        out.disagreements.push((i, j));
                    }
                }
            }
        }
        out
    }

    pub fn precision(&self) -> f64 {
        f64::from(self.tp) / f64::from(self.tp + self.fp).max(1.0)
    }

    pub fn recall(&self) -> f64 {
        f64::from(self.tp) / f64::from(self.tp + self.fn_).max(1.0)
    }
}
