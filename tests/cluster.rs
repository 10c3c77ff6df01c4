//! hs-cluster: the real-report corpus scored pairwise (with the TF-IDF baseline and an
//! ablation of each ingredient), the JSONL contract, and forge mode end to end.

use std::path::{Path, PathBuf};

use homeostat::cluster::eval::{PairScores, pairwise};
use homeostat::cluster::{Item, Options, cluster, read};
use homeostat::scrub::Scrubber;

fn corpus() -> Vec<Item> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cluster/corpus.jsonl");
    read::read_jsonl(&path, Scrubber::builtin()).expect("corpus reads")
}

fn truth(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.group.clone().unwrap_or_else(|| i.id.clone())).collect()
}

fn score(items: &[Item], opts: Options) -> PairScores {
    pairwise(&cluster(items, opts), &truth(items))
}

fn row(name: &str, s: &PairScores) -> String {
    format!(
        "| {name:<40} | {:>9.3} | {:>6.3} | {:>5.3} | {:>5} / {:>5} |",
        s.precision, s.recall, s.f1, s.true_pairs, s.predicted_pairs
    )
}

#[test]
fn corpus_is_real_and_wide() {
    let items = corpus();
    let repos: std::collections::BTreeSet<&str> = items.iter().map(|i| i.repo.as_str()).collect();
    assert!(items.iter().all(|i| i.url.starts_with("https://github.com/") && i.group.is_some()));
    let groups = truth(&items);
    let dup_items = groups.iter().filter(|g| groups.iter().filter(|h| h == g).count() > 1).count();
    eprintln!("corpus: {} items, {} repositories, {} items in duplicate groups", items.len(), repos.len(), dup_items);
    assert!(repos.len() >= 15, "{} repositories", repos.len());
}

#[test]
fn corpus_pairwise_scores_with_baseline_and_ablation() {
    let items = corpus();
    let full = score(&items, Options::default());
    let base = score(&items, Options::tfidf_baseline());
    let d = Options::default();
    let ablations = [
        ("homeostat (signature + title grams + words)", full),
        ("  without error signature", score(&items, Options { signature: false, ..d })),
        ("  without title character trigrams", score(&items, Options { title_grams: false, ..d })),
        ("  without word TF-IDF", score(&items, Options { words: false, ..d })),
        ("  without the shared-evidence rule", score(&items, Options { evidence: false, ..d })),
        ("TF-IDF average linkage (baseline) @0.72", base),
    ];
    let mut best_base = (0.0, base);
    for t in [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] {
        let s = score(&items, Options { threshold: t, ..Options::tfidf_baseline() });
        if s.f1 > best_base.1.f1 {
            best_base = (t, s);
        }
    }
    eprintln!("| {:<40} | precision | recall |   F1  | true / predicted pairs |", "similarity");
    eprintln!("|{:-<42}|-----------|--------|-------|---------------|", "");
    for (name, s) in &ablations {
        eprintln!("{}", row(name, s));
    }
    eprintln!("{}", row(&format!("TF-IDF baseline at its best, @{:.1}", best_base.0), &best_base.1));
    eprintln!("({} pairs belong together in the corpus)", full.actual_pairs);
    assert!(full.precision >= 0.85, "precision {:.3} below the 0.85 goal", full.precision);
    assert!(full.recall >= 0.5, "recall {:.3} below the 0.5 goal", full.recall);
    assert!(full.f1 > best_base.1.f1, "no better than the TF-IDF baseline");
}
