//! The similarity model: three vectors per item (error signature, title trigrams, words)
//! and how they combine. Pure: no I/O.

use super::Item;
use super::conflict::{self, Claims};
use super::features::Features;
use super::signature::kind_weight;
use super::text::{DOCS_FLOOR, SparseVec, Vocab};

/// Which ingredients are on and how much each weighs (the ablation switches).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    pub signature: bool,
    pub title_grams: bool,
    pub words: bool,
    /// Scale a component down when the two items share too little distinctive content.
    pub evidence: bool,
    /// Scale a pair down when the two contradict each other (the same error line about
    /// different quoted subjects, different exit statuses): see [`conflict`].
    pub conflicts: bool,
    /// Scale a pair down when many of the repository's issues were filed between the two
    /// (see [`super::features::issue_number`]).
    pub age: bool,
    /// Count a small corpus as [`DOCS_FLOOR`] documents when weighing terms.
    pub docs_floor: bool,
    pub w_signature: f32,
    pub w_title: f32,
    pub w_words: f32,
    pub threshold: f32,
    pub across_repos: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            signature: true,
            title_grams: true,
            words: true,
            evidence: true,
            conflicts: true,
            age: true,
            docs_floor: true,
            w_signature: 0.55,
            w_title: 0.2,
            w_words: 0.35,
            threshold: 0.62,
            across_repos: false,
        }
    }
}

impl Options {
    /// The baseline the issue asks for: TF-IDF cosine of title and body words only.
    pub fn tfidf_baseline() -> Self {
        Self {
            signature: false,
            title_grams: false,
            evidence: false,
            conflicts: false,
            age: false,
            docs_floor: false,
            ..Self::default()
        }
    }
}

/// An item's vectors.
#[derive(Debug, Clone, Default)]
pub struct Vectors {
    pub repo: String,
    pub signature: SparseVec,
    pub title: SparseVec,
    pub words: SparseVec,
    /// What the report commits to, for [`conflict::contradict`].
    pub claims: Claims,
    /// The item's number in its repository (issues, pull requests and discussions share
    /// one sequence), when its id or URL carries one.
    pub number: Option<u64>,
}

/// Vocabularies fitted on a corpus, and the options they are compared with.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub opts: Options,
    pub sig: Vocab,
    pub grams: Vocab,
    pub words: Vocab,
}

/// Shared distinctive content that counts as full evidence, in terms as rare as can be
/// (each shared term counts its idf over the idf of a term seen once, times its kind's
/// weight for signatures). Relative, so a repository with ten issues works like one with
/// ten thousand.
const WORD_EVIDENCE: f32 = 2.5;
const SIG_EVIDENCE: f32 = 1.5;
/// How much a contradiction scales a pair's similarity: enough to keep the closest
/// wordings (similarity 1) below any threshold above 0.5.
const CONTRADICTION: f32 = 0.5;

/// Two reports more than this share of the repository's history apart (see [`apart`])
/// are scaled by [`AGE_SCALE`]: the same message years later is more often a regression
/// with another cause than a duplicate, as maintainers' verdicts on the corpus show (and
/// duplicate-report studies limit candidates to a time window for the same reason).
const AGE_APART: f32 = 0.1;
const AGE_SCALE: f32 = 0.7;
/// A young repository's history counts as this many numbers, so issue #3 and #40 are
/// close: the rule is about long histories.
const AGE_FLOOR: u64 = 1000;

/// The share of the repository's history between two items, on its own clock: how many
/// numbers (issues, pull requests, discussions) were given out between them, over the
/// later one's number (at least [`AGE_FLOOR`]). 0 when either has no number.
fn apart(a: Option<u64>, b: Option<u64>) -> f32 {
    match (a, b) {
        (Some(a), Some(b)) => a.abs_diff(b) as f32 / a.max(b).max(AGE_FLOOR) as f32,
        _ => 0.0,
    }
}

impl Model {
    /// Fits the vocabularies on `items` and returns each item's vectors.
    pub fn fit(items: &[Item], opts: Options) -> (Self, Vec<Vectors>) {
        Self::fit_features(&items.iter().map(Features::of).collect::<Vec<_>>(), opts)
    }

    /// [`Model::fit`] on items already reduced to their features.
    pub fn fit_features(features: &[Features], opts: Options) -> (Self, Vec<Vectors>) {
        let floor = if opts.docs_floor { DOCS_FLOOR } else { 0 };
        let vocab = || Vocab::with_floor(floor);
        let mut model = Self { opts, sig: vocab(), grams: vocab(), words: vocab() };
        for f in features {
            model.sig.add_doc(f.signature.iter().map(String::as_str));
            model.grams.add_doc(f.grams.iter().map(String::as_str));
            model.words.add_doc(f.words.iter().map(String::as_str));
        }
        let vectors = features.iter().map(|f| model.build(f)).collect();
        (model, vectors)
    }

    fn build(&self, f: &Features) -> Vectors {
        Vectors {
            repo: f.repo.clone(),
            signature: self.sig.vector(f.signature.iter().map(String::as_str), kind_weight),
            title: self.grams.vector(f.grams.iter().map(String::as_str), |_| 1.0),
            words: self.words.vector(f.words.iter().map(String::as_str), |_| 1.0),
            claims: if self.opts.conflicts { f.claims.clone() } else { Claims::default() },
            number: f.number,
        }
    }

    /// Vectors of an item that was not in the fitted corpus (its unseen terms drop out).
    pub fn vectors(&self, item: &Item) -> Vectors {
        self.build(&Features::of(item))
    }

    fn evidence(&self, vocab: &Vocab, a: &SparseVec, b: &SparseVec, full: f32, sig: bool) -> f32 {
        if !self.opts.evidence {
            return 1.0;
        }
        let rarest = vocab.idf(None);
        let mass: f32 = a
            .shared_terms(b)
            .map(|(id, _)| {
                let w = if sig { vocab.term(id).map_or(1.0, kind_weight) } else { 1.0 };
                vocab.idf(Some(id)) / rarest * w
            })
            .sum();
        (mass / full).min(1.0)
    }

    /// Per-component similarities (signature, title, words); `None` where a component is
    /// off or one side has nothing to compare.
    pub fn components(&self, a: &Vectors, b: &Vectors) -> [Option<f32>; 3] {
        let o = &self.opts;
        let both = |x: &SparseVec, y: &SparseVec| !x.is_empty() && !y.is_empty();
        let sig = (o.signature && both(&a.signature, &b.signature)).then(|| {
            a.signature.cosine(&b.signature) * self.evidence(&self.sig, &a.signature, &b.signature, SIG_EVIDENCE, true)
        });
        let title = (o.title_grams && both(&a.title, &b.title)).then(|| a.title.cosine(&b.title));
        let words = (o.words && both(&a.words, &b.words))
            .then(|| a.words.cosine(&b.words) * self.evidence(&self.words, &a.words, &b.words, WORD_EVIDENCE, false));
        [sig, title, words]
    }

    /// Similarity in [0, 1]. Prose is the better of the words alone and the weighted mean
    /// of title and words (a duplicate may reword either); the error signature, where both
    /// sides have one, is weighted above the prose. A contradiction halves it; reports far
    /// apart in the repository's history are scaled down ([`AGE_APART`]).
    pub fn similarity(&self, a: &Vectors, b: &Vectors) -> f32 {
        if !self.opts.across_repos && a.repo != b.repo {
            return 0.0;
        }
        let o = &self.opts;
        let [sig, title, words] = self.components(a, b);
        let prose = match (title, words) {
            (Some(t), Some(w)) => w.max((t * o.w_title + w * o.w_words) / (o.w_title + o.w_words)),
            (t, w) => t.or(w).unwrap_or(0.0),
        };
        let similarity = match sig {
            Some(s) if title.is_some() || words.is_some() => s * o.w_signature + prose * (1.0 - o.w_signature),
            Some(s) => s,
            None => prose,
        };
        let similarity = if o.conflicts && conflict::contradict(&a.claims, &b.claims) {
            similarity * CONTRADICTION
        } else {
            similarity
        };
        if o.age && apart(a.number, b.number) > AGE_APART { similarity * AGE_SCALE } else { similarity }
    }

    /// What two items share, strongest first, for the evidence in a comment:
    /// signature features, then distinctive words.
    pub fn shared_evidence(&self, a: &Vectors, b: &Vectors, max: usize) -> (Vec<String>, Vec<String>) {
        let names = |v: &Vocab, shared: Vec<(u32, f32)>| -> Vec<String> {
            shared.iter().filter_map(|&(id, _)| v.term(id)).take(max).map(str::to_string).collect()
        };
        (names(&self.sig, a.signature.shared(&b.signature)), names(&self.words, a.words.shared(&b.words)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, url: &str) -> Item {
        Item { id: id.into(), url: url.into(), ..Item::default() }
    }

    #[test]
    fn the_age_rule_weighs_long_histories_and_not_young_repositories() {
        // 58,000 numbers apart out of 175,000: a third of the repository's history.
        assert!(apart(Some(116_569), Some(175_057)) > AGE_APART);
        // A few hundred apart in a busy repository: the same season.
        assert!(apart(Some(12_467), Some(12_901)) < AGE_APART);
        // #3 and #40 of a young repository are close, though far apart in relative terms.
        assert!(apart(Some(3), Some(40)) < AGE_APART);
        assert_eq!(apart(None, Some(40)), 0.0);

        let (model, v) = Model::fit(
            &[
                Item { title: "TS Server fatal error: Debug Failure".into(), ..item("o/r#116569", "") },
                Item { title: "TS Server fatal error: Debug Failure".into(), ..item("o/r#175057", "") },
                Item { title: "TS Server fatal error: Debug Failure".into(), ..item("o/r#175058", "") },
            ],
            Options::default(),
        );
        let (far, near) = (model.similarity(&v[0], &v[1]), model.similarity(&v[1], &v[2]));
        assert!((far - near * AGE_SCALE).abs() < 1e-6, "far {far}, near {near}");
        let without = Model { opts: Options { age: false, ..Options::default() }, ..model };
        assert_eq!(without.similarity(&v[0], &v[1]), near);
    }
}
