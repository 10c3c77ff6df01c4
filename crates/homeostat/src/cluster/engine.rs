//! Clustering: candidate pairs from an inverted index, average linkage over the sparse
//! similarity graph (a pair never compared counts as 0, which only makes merging more
//! cautious), and [`Index`] for one new item against existing clusters. Pure: no I/O.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

use foldhash::HashMap;

use super::Item;
use super::features::Features;
use super::model::{Model, Options, Vectors};

/// Candidates compared exactly per item.
const TOP_K: usize = 40;
/// Index terms shared by more items than this are too common to find candidates.
const MAX_POSTING: usize = 2000;
/// Word terms per item that go into the index (its most distinctive ones).
const WORD_KEYS: usize = 12;
/// Pairs below this similarity are not kept as edges.
const EDGE_FLOOR: f32 = 0.15;

fn keys(v: &Vectors) -> Vec<u64> {
    let mut words = v.words.0.clone();
    words.sort_by(|a, b| b.1.total_cmp(&a.1));
    let sig = v.signature.0.iter().map(|&(t, _)| (1u64 << 32) | t as u64);
    sig.chain(words.iter().take(WORD_KEYS).map(|&(t, _)| t as u64)).collect()
}

/// Inverted index from key terms to item positions.
#[derive(Debug, Default, Clone)]
struct Postings(HashMap<u64, Vec<u32>>);

impl Postings {
    fn add(&mut self, pos: u32, v: &Vectors) {
        for k in keys(v) {
            self.0.entry(k).or_default().push(pos);
        }
    }

    /// The items sharing the most key terms with `v` (best first, ties by position).
    fn candidates(&self, v: &Vectors, scratch: &mut HashMap<u32, u32>) -> Vec<u32> {
        scratch.clear();
        for k in keys(v) {
            match self.0.get(&k) {
                Some(list) if list.len() <= MAX_POSTING => {
                    list.iter().for_each(|&p| *scratch.entry(p).or_default() += 1)
                }
                _ => {}
            }
        }
        let mut found: Vec<(u32, u32)> = scratch.iter().map(|(&p, &n)| (p, n)).collect();
        let order = |a: &(u32, u32), b: &(u32, u32)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if found.len() > TOP_K {
            found.select_nth_unstable_by(TOP_K - 1, order);
            found.truncate(TOP_K);
        }
        found.sort_unstable_by(order);
        found.into_iter().map(|(p, _)| p).collect()
    }
}

/// Runs `f` over `0..n` split into one contiguous range per core, results in order.
fn par_ranges<T: Send>(n: usize, f: impl Fn(std::ops::Range<usize>) -> Vec<T> + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).clamp(1, 8);
    let chunk = n.div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> =
            (0..n).step_by(chunk).map(|start| scope.spawn(move || f(start..(start + chunk).min(n)))).collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// Candidate pairs of items (i < j) from the inverted index, each
/// compared once, the work split among the machine's cores (the result does not depend
/// on how many there are).
pub fn candidate_pairs(vectors: &[Vectors]) -> Vec<(u32, u32)> {
    let mut postings = Postings::default();
    for (i, v) in vectors.iter().enumerate() {
        postings.add(i as u32, v);
    }
    let mut pairs: Vec<(u32, u32)> = par_ranges(vectors.len(), |range| {
        let mut scratch = HashMap::default();
        let mut out = Vec::new();
        for i in range {
            for j in postings.candidates(&vectors[i], &mut scratch) {
                if j as usize != i {
                    out.push((i.min(j as usize) as u32, i.max(j as usize) as u32));
                }
            }
        }
        out
    });
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// Similarity edges between items (i < j): each candidate pair's similarity, kept when at
/// least the edge floor.
pub fn weighted_edges(model: &Model, vectors: &[Vectors]) -> Vec<(u32, u32, f32)> {
    let pairs = candidate_pairs(vectors);
    par_ranges(pairs.len(), |range| {
        pairs[range]
            .iter()
            .filter_map(|&(a, b)| {
                let s = model.similarity(&vectors[a as usize], &vectors[b as usize]);
                (s >= EDGE_FLOOR).then_some((a, b, s))
            })
            .collect()
    })
}

#[derive(PartialEq)]
struct Candidate {
    avg: f32,
    a: u32,
    b: u32,
    sizes: (u32, u32),
}
impl Eq for Candidate {}
impl Ord for Candidate {
    fn cmp(&self, o: &Self) -> Ordering {
        self.avg.total_cmp(&o.avg).then(o.a.cmp(&self.a)).then(o.b.cmp(&self.b))
    }
}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// Average-linkage clustering of `n` items over `edges`, merging while the best average
/// similarity between two clusters is at least `threshold`. Returns each item's cluster
/// (the position of its cluster's first item).
pub fn average_linkage(n: usize, edges: &[(u32, u32, f32)], threshold: f32) -> Vec<u32> {
    let mut size = vec![1u32; n];
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut sums: Vec<BTreeMap<u32, f32>> = vec![BTreeMap::new(); n];
    for &(a, b, s) in edges {
        *sums[a as usize].entry(b).or_default() += s;
        *sums[b as usize].entry(a).or_default() += s;
    }
    let mut heap = BinaryHeap::new();
    for &(a, b, s) in edges {
        if s >= threshold {
            heap.push(Candidate { avg: s, a, b, sizes: (1, 1) });
        }
    }
    while let Some(c) = heap.pop() {
        let (a, b) = (c.a as usize, c.b as usize);
        // Stale: a side was merged away or grew since this candidate was pushed.
        if parent[a] != c.a || parent[b] != c.b || (size[a], size[b]) != c.sizes {
            continue;
        }
        let (keep, gone) = (a.min(b), a.max(b));
        parent[gone] = keep as u32;
        size[keep] += size[gone];
        let moved = std::mem::take(&mut sums[gone]);
        sums[keep].remove(&(gone as u32));
        for (x, s) in moved {
            if x as usize == keep {
                continue;
            }
            *sums[keep].entry(x).or_default() += s;
            let back = sums[x as usize].remove(&(gone as u32)).unwrap_or(0.0);
            *sums[x as usize].entry(keep as u32).or_default() += back;
        }
        for (&x, &s) in &sums[keep] {
            let avg = s / (size[keep] * size[x as usize]) as f32;
            if avg >= threshold {
                let (p, q) = (keep.min(x as usize) as u32, keep.max(x as usize) as u32);
                heap.push(Candidate { avg, a: p, b: q, sizes: (size[p as usize], size[q as usize]) });
            }
        }
    }
    (0..n).map(|i| find(&mut parent, i as u32)).collect()
}

/// The connected components of `n` items joined by `pairs`: each item's component, named
/// by its first item's position as [`average_linkage`] names clusters (hs-report joins
/// hs-cluster's links with it).
pub fn components(n: usize, pairs: &[(u32, u32)]) -> Vec<u32> {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    for &(a, b) in pairs {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        parent[ra.max(rb) as usize] = ra.min(rb);
    }
    (0..n).map(|i| find(&mut parent, i as u32)).collect()
}

fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let up = parent[parent[i as usize] as usize];
        parent[i as usize] = up;
        i = up;
    }
    i
}

/// Clusters a corpus: one label per item (`c1`, `c2`, … in order of first appearance).
pub fn cluster(items: &[Item], opts: Options) -> Vec<String> {
    cluster_features(&items.iter().map(Features::of).collect::<Vec<_>>(), opts)
}

/// [`cluster`] on items already reduced to their features.
pub fn cluster_features(features: &[Features], opts: Options) -> Vec<String> {
    let (model, vectors) = Model::fit_features(features, opts);
    cluster_vectors(&model, &vectors)
}

/// [`cluster`] on a fitted corpus, at the model's threshold.
pub fn cluster_vectors(model: &Model, vectors: &[Vectors]) -> Vec<String> {
    let roots = average_linkage(vectors.len(), &weighted_edges(model, vectors), model.opts.threshold);
    let mut names: HashMap<u32, String> = HashMap::default();
    roots
        .iter()
        .map(|r| {
            let next = names.len() + 1;
            names.entry(*r).or_insert_with(|| format!("c{next}")).clone()
        })
        .collect()
}

/// The nearest existing cluster of a new item.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// The cluster (position of its first item in the index).
    pub cluster: u32,
    /// Average similarity to the cluster's members.
    pub similarity: f32,
    /// Members, most similar first, with their similarity.
    pub members: Vec<(u32, f32)>,
}

/// Items seen so far, their clusters, and an inverted index to match a new one quickly.
#[derive(Debug, Clone, Default)]
pub struct Index {
    pub model: Model,
    pub vectors: Vec<Vectors>,
    cluster_of: Vec<u32>,
    size: HashMap<u32, u32>,
    postings: Postings,
}

impl Index {
    /// An empty index whose vocabularies come from `model` (fitted on the repository).
    pub fn new(model: Model) -> Self {
        Self { model, ..Self::default() }
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    pub fn cluster_of(&self, pos: u32) -> u32 {
        self.cluster_of[pos as usize]
    }

    /// The cluster `v` is closest to by average linkage, whatever the similarity.
    pub fn nearest(&self, v: &Vectors) -> Option<Match> {
        let mut scratch = HashMap::default();
        let mut per: BTreeMap<u32, Vec<(u32, f32)>> = BTreeMap::new();
        for p in self.postings.candidates(v, &mut scratch) {
            let s = self.model.similarity(v, &self.vectors[p as usize]);
            per.entry(self.cluster_of[p as usize]).or_default().push((p, s));
        }
        per.into_iter()
            .map(|(c, mut members)| {
                members.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                let avg = members.iter().map(|m| m.1).sum::<f32>() / self.size[&c] as f32;
                Match { cluster: c, similarity: avg, members }
            })
            .max_by(|a, b| a.similarity.total_cmp(&b.similarity).then(b.cluster.cmp(&a.cluster)))
    }

    /// Adds an item, into `cluster` or (None) a cluster of its own; returns its position.
    pub fn insert(&mut self, v: Vectors, cluster: Option<u32>) -> u32 {
        let pos = self.vectors.len() as u32;
        let c = cluster.unwrap_or(pos);
        self.postings.add(pos, &v);
        self.vectors.push(v);
        self.cluster_of.push(c);
        *self.size.entry(c).or_default() += 1;
        pos
    }

    /// Matches `v` and inserts it: into the nearest cluster when at least `threshold`.
    pub fn add(&mut self, v: Vectors, threshold: f32) -> (u32, Option<Match>) {
        let m = self.nearest(&v).filter(|m| m.similarity >= threshold);
        let pos = self.insert(v, m.as_ref().map(|m| m.cluster));
        (pos, m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_join_every_chain_and_name_it_by_its_first_item() {
        assert_eq!(components(6, &[(4, 1), (1, 3), (5, 2)]), [0, 1, 2, 1, 1, 2]);
    }

    #[test]
    fn average_linkage_needs_the_average_not_one_link() {
        // 0-1 close, 1-2 close, 0-2 far: a chain single linkage would join.
        let e = [(0, 1, 0.9), (1, 2, 0.8), (0, 2, 0.1)];
        let c = average_linkage(3, &e, 0.72);
        assert_eq!(c[0], c[1]);
        assert_ne!(c[0], c[2]);
        let all = average_linkage(3, &[(0, 1, 0.9), (1, 2, 0.8), (0, 2, 0.75)], 0.72);
        assert!(all.iter().all(|&x| x == all[0]));
    }
}
