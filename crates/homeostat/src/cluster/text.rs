//! Sparse TF-IDF vectors: word terms for prose, character trigrams for short titles.
//! Pure: no I/O.

use foldhash::HashMap;

/// A sparse vector, sorted by term id, L2-normalised once built.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec(pub Vec<(u32, f32)>);

impl SparseVec {
    /// Builds a normalised vector from raw (term, weight) pairs (duplicates summed).
    pub fn from_weights(mut pairs: Vec<(u32, f32)>) -> Self {
        pairs.sort_unstable_by_key(|p| p.0);
        let mut out: Vec<(u32, f32)> = Vec::with_capacity(pairs.len());
        for (t, w) in pairs {
            match out.last_mut() {
                Some(last) if last.0 == t => last.1 += w,
                _ => out.push((t, w)),
            }
        }
        let norm = out.iter().map(|p| p.1 * p.1).sum::<f32>().sqrt();
        if norm > 0.0 {
            out.iter_mut().for_each(|p| p.1 /= norm);
        }
        out.retain(|p| p.1 > 0.0);
        Self(out)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Cosine of two normalised vectors (merge join).
    pub fn cosine(&self, other: &Self) -> f32 {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j, mut dot) = (0, 0, 0.0);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += a[i].1 * b[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        dot.clamp(0.0, 1.0)
    }

    /// Terms both vectors hold, with the product of their weights, in term order (merge
    /// join: no allocation per comparison beyond the result).
    pub fn shared_terms<'a>(&'a self, other: &'a Self) -> impl Iterator<Item = (u32, f32)> + 'a {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j) = (0, 0);
        std::iter::from_fn(move || {
            while i < a.len() && j < b.len() {
                match a[i].0.cmp(&b[j].0) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        let out = (a[i].0, a[i].1 * b[j].1);
                        i += 1;
                        j += 1;
                        return Some(out);
                    }
                }
            }
            None
        })
    }

    /// Terms both vectors hold, with the product of their weights (largest first).
    pub fn shared(&self, other: &Self) -> Vec<(u32, f32)> {
        let mut out: Vec<(u32, f32)> = self.shared_terms(other).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }
}

/// Words that carry no cause: English glue and the headings of issue templates.
const STOP: &[&str] = &[
    "a",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "but",
    "by",
    "can",
    "do",
    "does",
    "for",
    "from",
    "get",
    "got",
    "has",
    "have",
    "i",
    "if",
    "in",
    "is",
    "it",
    "its",
    "me",
    "my",
    "no",
    "not",
    "of",
    "on",
    "or",
    "so",
    "that",
    "the",
    "this",
    "to",
    "was",
    "we",
    "when",
    "with",
    "you",
    "your",
    "there",
    "what",
    "which",
    "will",
    "would",
    "should",
    "please",
    "after",
    "then",
    "than",
    "also",
    "just",
    "any",
    "all",
    "how",
    "why",
    "still",
    "some",
    "been",
    "am",
    "our",
    "they",
    "them",
    "steps",
    "reproduce",
    "expected",
    "actual",
    "behavior",
    "behaviour",
    "version",
    "issue",
    "bug",
    "describe",
    "information",
    "additional",
    "context",
    "screenshots",
    "yes",
    "n",
    "os",
    "here",
    "see",
    "same",
    "error",
    "errors",
];

/// Lowercase word tokens (letters, digits, `_`), stop words and bare numbers dropped.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.len() > 1 && w.len() <= 40)
        .map(|w| w.to_lowercase())
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()) && !STOP.contains(&w.as_str()))
}

/// Character trigrams of each word (padded), so `crash`, `crashes` and `crashed` meet.
pub fn char_grams(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for w in words(text) {
        let padded: Vec<char> = format!(" {w} ").chars().collect();
        if padded.len() < 3 {
            continue;
        }
        for win in padded.windows(3) {
            out.push(win.iter().collect());
        }
    }
    out
}

/// A corpus smaller than this counts as this many documents when rarity is computed
/// (see [`Vocab::with_floor`]). Forge mode fits on one repository's open issues, often a
/// dozen: there a word two reports share would weigh as if it were in a sixth of all
/// reports, everyday words as much as error codes, and no pair would have enough shared
/// evidence. With the floor a small corpus weighs terms nearly alike until it is large
/// enough to tell common from rare.
pub const DOCS_FLOOR: u32 = 200;

/// Term ids and document frequencies for one corpus.
#[derive(Debug, Default, Clone)]
pub struct Vocab {
    ids: HashMap<String, u32>,
    terms: Vec<String>,
    df: Vec<u32>,
    docs: u32,
    floor: u32,
}

impl Vocab {
    /// An empty vocabulary whose corpus counts as at least `floor` documents.
    pub fn with_floor(floor: u32) -> Self {
        Self { floor, ..Self::default() }
    }

    /// Counts one document's distinct terms.
    pub fn add_doc<'a>(&mut self, terms: impl IntoIterator<Item = &'a str>) {
        self.docs += 1;
        let mut seen: Vec<u32> = terms.into_iter().map(|t| self.intern(t)).collect();
        seen.sort_unstable();
        seen.dedup();
        for id in seen {
            self.df[id as usize] += 1;
        }
    }

    fn intern(&mut self, term: &str) -> u32 {
        if let Some(&id) = self.ids.get(term) {
            return id;
        }
        let id = self.df.len() as u32;
        self.ids.insert(term.to_string(), id);
        self.terms.push(term.to_string());
        self.df.push(0);
        id
    }

    /// Id of a known term.
    pub fn id(&self, term: &str) -> Option<u32> {
        self.ids.get(term).copied()
    }

    /// The term behind an id (for evidence in comments).
    pub fn term(&self, id: u32) -> Option<&str> {
        self.terms.get(id as usize).map(String::as_str)
    }

    pub fn df(&self, id: u32) -> u32 {
        self.df.get(id as usize).copied().unwrap_or(0)
    }

    pub fn docs(&self) -> u32 {
        self.docs
    }

    /// Smoothed inverse document frequency over at least the floor's documents; an unseen
    /// term counts as seen once.
    pub fn idf(&self, id: Option<u32>) -> f32 {
        let df = id.map_or(1, |i| self.df(i).max(1)) as f32;
        ((1.0 + self.docs.max(self.floor) as f32) / (1.0 + df)).ln() + 1.0
    }

    /// A TF-IDF vector (sublinear tf) of `terms`, each multiplied by `weight(term)`.
    /// Terms the vocabulary has never seen are dropped: they cannot match anything.
    pub fn vector<'a>(&self, terms: impl IntoIterator<Item = &'a str>, weight: impl Fn(&str) -> f32) -> SparseVec {
        let mut tf: HashMap<u32, (f32, f32)> = HashMap::default();
        for t in terms {
            if let Some(id) = self.id(t) {
                tf.entry(id).or_insert((0.0, weight(t))).0 += 1.0;
            }
        }
        SparseVec::from_weights(
            tf.into_iter().map(|(id, (n, w))| (id, (1.0 + n.ln()) * self.idf(Some(id)) * w)).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_drop_glue_and_numbers() {
        let w: Vec<String> = words("The app crashes on 42 startups, I think").collect();
        assert_eq!(w, ["app", "crashes", "startups", "think"]);
    }

    #[test]
    fn cosine_of_identical_is_one_and_of_disjoint_zero() {
        let mut v = Vocab::default();
        v.add_doc(["a1", "b1"]);
        v.add_doc(["c1"]);
        let x = v.vector(["a1", "b1"], |_| 1.0);
        let y = v.vector(["c1"], |_| 1.0);
        assert!((x.cosine(&x) - 1.0).abs() < 1e-5);
        assert_eq!(x.cosine(&y), 0.0);
    }

    #[test]
    fn char_grams_link_word_forms() {
        let a: Vec<String> = char_grams("crashes");
        let b: Vec<String> = char_grams("crashed");
        assert!(a.iter().filter(|g| b.contains(g)).count() >= 4);
    }

    #[test]
    fn a_small_corpus_does_not_call_a_word_two_reports_share_common() {
        let fill = |v: &mut Vocab| {
            v.add_doc(["popup", "blank", "login"]);
            v.add_doc(["popup", "blank", "signin"]);
            for other in ["sync", "theme", "export"] {
                v.add_doc([other]);
            }
        };
        let (mut plain, mut floored) = (Vocab::default(), Vocab::with_floor(DOCS_FLOOR));
        fill(&mut plain);
        fill(&mut floored);
        let shared_over_unique = |v: &Vocab| v.idf(v.id("popup")) / v.idf(v.id("login"));
        // Five reports: without the floor "popup" weighs 0.81 of a word seen once (and the
        // everyday words of the two reports count as distinctive as it); with it, 0.93, as
        // it would in a repository of hundreds.
        assert!(shared_over_unique(&plain) < 0.85, "{}", shared_over_unique(&plain));
        assert!(shared_over_unique(&floored) > 0.9, "{}", shared_over_unique(&floored));
        // Past the floor, counts decide as before.
        let mut big = Vocab::with_floor(DOCS_FLOOR);
        for n in 0..400 {
            big.add_doc(if n % 2 == 0 { vec!["popup"] } else { vec!["login", "popup"] });
        }
        let mut big_plain = Vocab::default();
        for n in 0..400 {
            big_plain.add_doc(if n % 2 == 0 { vec!["popup"] } else { vec!["login", "popup"] });
        }
        assert_eq!(big.idf(big.id("login")), big_plain.idf(big_plain.id("login")));
    }
}
