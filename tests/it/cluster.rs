//! hs-cluster: the real-report corpus scored pairwise (with the TF-IDF baseline and an
//! ablation of each ingredient), the JSONL contract, and forge mode end to end.

use std::collections::BTreeSet;
use std::path::Path;

use homeostat::cluster::eval::{PairScores, pairwise};
use homeostat::cluster::{Features, Item, Model, Options, cluster, cluster_features, read};
use homeostat::scrub::Scrubber;

/// The corpora. `manifest.jsonl`: the reports the model was built and tuned on
/// (2026-12-04); `heldout.jsonl`: reports from other repositories collected after the model
/// was frozen (2026-12-05) and never tuned on. Both keep their texts out of the repository
/// (see `corpus`). `hashed.jsonl` and `hashed-2.jsonl`: a third and a fourth set, each from
/// repositories in no set before it, collected after the model was frozen and never tuned
/// on, kept as each report's hashed features (see `Features::hashed`), so they are scored
/// everywhere, CI included.
const SETS: [(&str, &str); 4] = [
    ("dev", "manifest.jsonl"),
    ("held-out", "heldout.jsonl"),
    ("hashed", "hashed.jsonl"),
    ("hashed-2", "hashed-2.jsonl"),
];
/// The hashed sets' files start with this.
const HASHED: &str = "hashed";

fn fixture(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cluster").join(file)
}

fn manifest(file: &str) -> Vec<serde_json::Value> {
    let path = fixture(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A manifest (URLs, ground truth) joined with the reports' texts. The texts are not in
/// the repository: the place they were collected from allows them as reference, not as
/// verbatim copies. `HOMEOSTAT_CLUSTER_TEXTS` names a local JSONL file of `{id, title,
/// body}` lines (collected from the manifests' URLs); without it, or when it lacks a set's
/// texts, the set is skipped with a notice.
fn corpus(file: &str) -> Option<Vec<Item>> {
    let Ok(texts) = std::env::var("HOMEOSTAT_CLUSTER_TEXTS") else {
        eprintln!("notice: HOMEOSTAT_CLUSTER_TEXTS is not set: the cluster corpus {file} is skipped");
        return None;
    };
    let texts: std::collections::HashMap<String, serde_json::Value> = std::fs::read_to_string(&texts)
        .unwrap_or_else(|e| panic!("{texts}: {e}"))
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|t| (t["id"].as_str().unwrap_or_default().to_string(), t))
        .collect();
    let items = manifest(file);
    let missing = items.iter().filter(|i| !texts.contains_key(i["id"].as_str().unwrap_or_default())).count();
    if missing > 0 {
        eprintln!("notice: HOMEOSTAT_CLUSTER_TEXTS lacks {missing} of {file}'s {} texts: skipped", items.len());
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let joined: String = items
        .into_iter()
        .map(|mut item| {
            let text = &texts[item["id"].as_str().unwrap_or_default()];
            item["title"] = text["title"].clone();
            item["body"] = text["body"].clone();
            format!("{item}\n")
        })
        .collect();
    let path = dir.path().join("corpus.jsonl");
    std::fs::write(&path, joined).unwrap();
    Some(read::read_jsonl(&path, Scrubber::builtin()).expect("corpus reads"))
}

/// A scored set: what the model reads of each report, and its ground-truth group.
struct Set {
    features: Vec<Features>,
    truth: Vec<String>,
}

impl Set {
    fn of_items(items: &[Item]) -> Self {
        Self {
            features: items.iter().map(Features::of).collect(),
            truth: items.iter().map(|i| i.group.clone().unwrap_or_else(|| i.id.clone())).collect(),
        }
    }

    /// A set kept as hashed features: everywhere, no texts needed.
    fn hashed(file: &str) -> Self {
        let lines = manifest(file);
        Self {
            features: lines.iter().map(|l| serde_json::from_value(l["features"].clone()).unwrap()).collect(),
            truth: lines.iter().map(|l| l["group"].as_str().unwrap().to_string()).collect(),
        }
    }

    /// A set by name: texts joined with its manifest, or its committed hashed features.
    fn load(file: &str) -> Option<Self> {
        if file.starts_with(HASHED) {
            Some(Self::hashed(file))
        } else {
            corpus(file).map(|items| Self::of_items(&items))
        }
    }

    fn score(&self, opts: Options) -> PairScores {
        pairwise(&cluster_features(&self.features, opts), &self.truth)
    }

    /// About the most a model confirming pairs could add: every pair scoring from `from`
    /// up to the threshold judged rightly (a duplicate raised to the threshold, any other
    /// pair dropped), then the whole set clustered as usual. Approximate: forge mode asks
    /// about one pair per new item, fitted per repository, a real model errs, and average
    /// linkage is not monotonic (a dropped pair changes the averages around it).
    /// The duplicate pairs (same group, same repository) by their similarity: below 0.30,
    /// from 0.30 to forge mode's band, in the band, at or above the threshold.
    fn duplicate_pairs_by_score(&self) -> [usize; 4] {
        let opts = Options::default();
        let band = opts.threshold - homeostat::cluster::forge::BORDER;
        let (model, vectors) = Model::fit_features(&self.features, opts);
        let mut by = [0; 4];
        for i in 0..vectors.len() {
            for j in i + 1..vectors.len() {
                if self.truth[i] != self.truth[j] || self.features[i].repo != self.features[j].repo {
                    continue;
                }
                let s = model.similarity(&vectors[i], &vectors[j]);
                by[[0.3, band, opts.threshold].iter().filter(|&&t| s >= t).count()] += 1;
            }
        }
        by
    }

    fn score_with_a_perfect_model(&self, from: f32) -> PairScores {
        use homeostat::cluster::engine::{average_linkage, weighted_edges};
        let opts = Options::default();
        let (model, vectors) = Model::fit_features(&self.features, opts);
        let edges: Vec<(u32, u32, f32)> = weighted_edges(&model, &vectors)
            .into_iter()
            .filter_map(|(a, b, s)| {
                match (s >= from && s < opts.threshold, self.truth[a as usize] == self.truth[b as usize]) {
                    (true, true) => Some((a, b, opts.threshold)),
                    (true, false) => None,
                    (false, _) => Some((a, b, s)),
                }
            })
            .collect();
        let roots = average_linkage(vectors.len(), &edges, opts.threshold);
        pairwise(&roots.iter().map(u32::to_string).collect::<Vec<_>>(), &self.truth)
    }

    /// Scores with each repository's items fitted and clustered alone, as forge mode does
    /// (it reads one repository's open issues) — a few to a few dozen items each here.
    fn score_per_repository(&self, opts: Options) -> PairScores {
        let mut labels = vec![String::new(); self.features.len()];
        let repos: BTreeSet<&str> = self.features.iter().map(|f| f.repo.as_str()).collect();
        for repo in repos {
            let at: Vec<usize> = (0..labels.len()).filter(|&i| self.features[i].repo == repo).collect();
            let own: Vec<Features> = at.iter().map(|&i| self.features[i].clone()).collect();
            for (label, &i) in cluster_features(&own, opts).into_iter().zip(&at) {
                labels[i] = format!("{repo} {label}");
            }
        }
        pairwise(&labels, &self.truth)
    }
}

/// Forge mode's links over a set as its repositories lived it: each repository's reports
/// in number order, each matched against the clusters of those before it, the maintainer
/// answering every link by the ground truth (a right one closed as a duplicate, the label
/// taken off a wrong one) and the threshold tuned from those answers as forge mode tunes
/// it (`tune`), or left at the default. Right means the report and the cluster's closest
/// member are one group. Approximate: the repository is fitted once, on all its reports.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Links {
    right: usize,
    made: usize,
    /// Reports with an earlier report of their group in the repository.
    could: usize,
}

impl Set {
    fn links_answered_by_maintainers(&self, tune: bool) -> Links {
        use homeostat::cluster::engine::Index;
        use homeostat::cluster::forge::{REACTION, tuned_threshold};
        let dir = tempfile::tempdir().unwrap();
        let ledger = homeostat::ledger::Ledger::open(dir.path().join("ledger.jsonl"));
        let config = homeostat::cluster::ClusterConfig { tune, ..Default::default() };
        let mut links = Links { right: 0, made: 0, could: 0 };
        let repos: BTreeSet<&str> = self.features.iter().map(|f| f.repo.as_str()).collect();
        for repo in repos {
            let mut at: Vec<usize> = (0..self.features.len()).filter(|&i| self.features[i].repo == repo).collect();
            at.sort_by_key(|&i| self.features[i].number);
            let own: Vec<Features> = at.iter().map(|&i| self.features[i].clone()).collect();
            let (model, vectors) = Model::fit_features(&own, Options::default());
            let mut index = Index::new(model);
            for (k, v) in vectors.into_iter().enumerate() {
                links.could += usize::from(at[..k].iter().any(|&j| self.truth[j] == self.truth[at[k]]));
                let threshold = tuned_threshold(&config, repo, &ledger).unwrap() as f32;
                let found = index.nearest(&v).filter(|m| m.similarity >= threshold);
                if let Some(m) = &found {
                    let right = self.truth[at[m.members[0].0 as usize]] == self.truth[at[k]];
                    links.made += 1;
                    links.right += usize::from(right);
                    let reaction = if right { "confirmed" } else { "rejected" };
                    let data =
                        serde_json::json!({"repo": repo, "issue": k, "reaction": reaction, "similarity": m.similarity});
                    // Keyed by position: only the similarity and the answer are read back.
                    ledger.append(REACTION, &format!("{repo}#{k}"), data).unwrap();
                }
                index.insert(v, found.map(|m| m.cluster));
            }
        }
        links
    }
}

fn row(name: &str, s: &PairScores) -> String {
    format!(
        "| {name:<40} | {:>9.3} | {:>6.3} | {:>5.3} | {:>5} / {:>5} |",
        s.precision, s.recall, s.f1, s.true_pairs, s.predicted_pairs
    )
}

#[test]
fn corpus_is_real_and_wide() {
    for (set, file) in SETS {
        let items = manifest(file);
        let repos: BTreeSet<&str> = items.iter().map(|i| i["repo"].as_str().unwrap()).collect();
        assert!(
            items
                .iter()
                .all(|i| i["url"].as_str().unwrap().starts_with("https://github.com/") && i["group"].is_string())
        );
        assert!(
            items.iter().all(|i| i.get("title").is_none() && i.get("body").is_none()),
            "the texts stay out of the repository"
        );
        let groups: Vec<&str> = items.iter().map(|i| i["group"].as_str().unwrap()).collect();
        let dup_items = groups.iter().filter(|g| groups.iter().filter(|h| h == g).count() > 1).count();
        eprintln!(
            "corpus ({set}): {} items, {} repositories, {} items in duplicate groups",
            items.len(),
            repos.len(),
            dup_items
        );
        assert!(repos.len() >= 15, "{file}: {} repositories", repos.len());
        assert!(items.len() >= 280, "{file}: {} items", items.len());
        assert!(dup_items >= 50, "{file}: {dup_items} items in duplicate groups");
    }
    // Each later set shares no report and no repository with the sets before it.
    let mut seen_ids = BTreeSet::new();
    let mut seen_repos = BTreeSet::new();
    for (_, file) in SETS {
        let items = manifest(file);
        for i in &items {
            let (id, repo) = (i["id"].as_str().unwrap(), i["repo"].as_str().unwrap());
            assert!(!seen_ids.contains(id) && !seen_repos.contains(repo), "{file}: {id} was in an earlier set");
        }
        seen_ids.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        seen_repos.extend(items.iter().map(|i| i["repo"].as_str().unwrap().to_string()));
    }
}

/// The scores of one set: homeostat, each ingredient left out, fitted per repository, the
/// TF-IDF baseline, homeostat across thresholds, with a perfect model confirming pairs, and
/// forge mode's comments (printed); returns homeostat's (fitted on the whole set and per
/// repository), the baseline's at the default threshold and the perfect model's in forge
/// mode's band, and forge mode's comments with the threshold fixed and tuned.
fn scores_table(name: &str, set: &Set) -> ([PairScores; 4], [Links; 2]) {
    let repos: BTreeSet<&str> = set.features.iter().map(|f| f.repo.as_str()).collect();
    let full = set.score(Options::default());
    eprintln!("corpus ({name}): {} real reports from {} repositories", set.features.len(), repos.len());
    let base = set.score(Options::tfidf_baseline());
    let d = Options::default();
    let ablations = [
        ("homeostat (signature + title grams + words)", full),
        ("  without error signature", set.score(Options { signature: false, ..d })),
        ("  without title character trigrams", set.score(Options { title_grams: false, ..d })),
        ("  without word TF-IDF", set.score(Options { words: false, ..d })),
        ("  without the shared-evidence rule", set.score(Options { evidence: false, ..d })),
        ("  without the contradiction rules", set.score(Options { conflicts: false, ..d })),
        ("  without the age rule", set.score(Options { age: false, ..d })),
        ("fitted per repository (as --forge fits)", set.score_per_repository(d)),
        ("  without the small-corpus floor", set.score_per_repository(Options { docs_floor: false, ..d })),
    ];
    let base_row = format!("TF-IDF average linkage (baseline) @{}", d.threshold);
    let mut best_base = (d.threshold, base);
    for t in [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] {
        let s = set.score(Options { threshold: t, ..Options::tfidf_baseline() });
        if s.f1 > best_base.1.f1 {
            best_base = (t, s);
        }
    }
    eprintln!("| {:<40} | precision | recall |   F1  | true / predicted pairs |", "similarity");
    eprintln!("|{:-<42}|-----------|--------|-------|---------------|", "");
    for (name, s) in &ablations {
        eprintln!("{}", row(name, s));
    }
    eprintln!("{}", row(&base_row, &base));
    eprintln!("{}", row(&format!("TF-IDF baseline at its best, @{}", best_base.0), &best_base.1));
    for t in [0.4, 0.5, 0.56, 0.58, 0.6, 0.62, 0.64, 0.66, 0.68, 0.7] {
        eprintln!("{}", row(&format!("homeostat @{t}"), &set.score(Options { threshold: t, ..d })));
    }
    let band = d.threshold - homeostat::cluster::forge::BORDER;
    let confirmed = set.score_with_a_perfect_model(band);
    eprintln!("{}", row(&format!("a perfect model asked from @{band:.2}"), &confirmed));
    let wide = set.score_with_a_perfect_model(0.3);
    eprintln!("{}", row("a perfect model asked from @0.30", &wide));
    let [low, middle, border, linked] = set.duplicate_pairs_by_score();
    eprintln!(
        "(duplicate pairs by similarity: {low} below 0.30, {middle} from 0.30 to {band:.2}, {border} in the band, {linked} at {} or more)",
        d.threshold
    );
    let links = [false, true].map(|tune| set.links_answered_by_maintainers(tune));
    for (tune, l) in [false, true].into_iter().zip(links) {
        eprintln!(
            "(forge mode's links in number order, threshold {}: {} of {} right, {} of {} reports with an earlier duplicate linked to it)",
            if tune { "tuned by the maintainers' answers" } else { "fixed" },
            l.right,
            l.made,
            l.right,
            l.could
        );
    }
    eprintln!("({} pairs belong together in the {name} corpus)", full.actual_pairs);
    ([full, ablations[7].1, base, confirmed], links)
}

#[test]
fn corpus_pairwise_scores_with_baseline_and_ablation() {
    if let Some(set) = Set::load(SETS[0].1) {
        let ([full, per_repository, base, _], _) = scores_table(SETS[0].0, &set);
        // The goal: precision >= 0.85 with recall >= 0.5 (a wrong "duplicate" comment
        // costs a maintainer more than a missed one), also fitted per repository as forge
        // mode runs. And at the same threshold the signature-weighted similarity finds more
        // true duplicates than plain TF-IDF without being less precise.
        assert!(full.precision >= 0.85 && full.recall >= 0.5, "below the goal: {full:?}");
        assert!(
            per_repository.precision >= 0.85 && per_repository.recall >= 0.5,
            "below the goal per repository: {per_repository:?}"
        );
        assert!(
            full.precision >= base.precision,
            "precision {:.3} below the baseline's {:.3}",
            full.precision,
            base.precision
        );
        assert!(full.recall > base.recall && full.f1 > base.f1, "no better than the TF-IDF baseline");
    }
    // Every set but the first was scored after the model was frozen: pooled, they say what
    // the model does out of sample.
    let mut pooled = Vec::new();
    let mut with_model = Vec::new();
    if let Some(set) = Set::load(SETS[1].1) {
        // Scored, not tuned on: the figures are what they are (docs/cluster.md). What is
        // asserted is what holds out of sample too: more precise than plain TF-IDF.
        let ([full, _, base, _], _) = scores_table(SETS[1].0, &set);
        assert!(full.precision > base.precision, "held-out: {full:?} against the baseline {base:?}");
        pooled.push((SETS[1].0, full));
    }
    for (name, file) in &SETS[2..] {
        let set = Set::load(file).expect("a hashed set is in the repository");
        if let Some(items) = std::env::var_os("HOMEOSTAT_CLUSTER_TEXTS").and_then(|_| corpus(file)) {
            // With its texts at hand: the hashed form clusters exactly as the texts do.
            let d = Options::default();
            assert_eq!(cluster(&items, d), cluster_features(&set.features, d), "{file}: hashed and texts disagree");
        }
        let ([full, per_repository, base, confirmed], links) = scores_table(name, &set);
        hashed_set_figures(file, [full, per_repository, base, confirmed], links);
        pooled.push((name, full));
        with_model.push(confirmed);
    }
    let sum = |f: fn(&PairScores) -> u64| pooled.iter().map(|(_, s)| f(s)).sum::<u64>();
    let (right, linked, actual) = (sum(|s| s.true_pairs), sum(|s| s.predicted_pairs), sum(|s| s.actual_pairs));
    let names: Vec<&str> = pooled.iter().map(|(n, _)| *n).collect();
    eprintln!(
        "corpus (out of sample, pooled: {}): precision {:.3}, recall {:.3} ({right} of {linked} links right, {actual} pairs)",
        names.join(" + "),
        right as f64 / linked.max(1) as f64,
        right as f64 / actual.max(1) as f64,
    );
    // The figure with a model has an upper bound no model can pass: the confirmation path
    // asks only about pairs just below the threshold, and the duplicates missed lie far
    // below it (docs/cluster.md).
    let sum = |f: fn(&PairScores) -> u64| with_model.iter().map(f).sum::<u64>();
    let (right, linked, actual) = (sum(|s| s.true_pairs), sum(|s| s.predicted_pairs), sum(|s| s.actual_pairs));
    eprintln!(
        "corpus (hashed sets, pooled, a perfect model confirming forge mode's borderline pairs): precision {:.3}, recall {:.3} ({right} of {linked} links right, {actual} pairs)",
        right as f64 / linked.max(1) as f64,
        right as f64 / actual.max(1) as f64,
    );
}

/// The hashed sets' figures are the ones docs/cluster.md and the README report (each scored
/// once, never tuned on: a change to the model that moves them must say so there too), and
/// what holds out of sample is asserted: at least as precise as plain TF-IDF, not less
/// recall.
fn hashed_set_figures(file: &str, scores: [PairScores; 4], links: [Links; 2]) {
    // (true, predicted, actual pairs): homeostat, fitted per repository, the TF-IDF
    // baseline, and the bound of a perfect model confirming forge mode's borderline pairs;
    // then what maintainers see: forge mode's comments (right, made, reports that could
    // have been linked), with the threshold fixed and tuned by their answers.
    let (expected, comments) = match file {
        "hashed.jsonl" => ([(20, 22, 98), (19, 21, 98), (18, 22, 98), (21, 23, 98)], (10, 12, 69)),
        "hashed-2.jsonl" => ([(8, 12, 141), (8, 12, 141), (7, 19, 141), (8, 8, 141)], (5, 5, 85)),
        other => panic!("{other}: no figures recorded for this set"),
    };
    assert_eq!(scores.map(|s| (s.true_pairs, s.predicted_pairs, s.actual_pairs)), expected, "{file}");
    assert_eq!(links.map(|l| (l.right, l.made, l.could)), [comments; 2], "{file}: forge mode's comments");
    let [full, _, base, _] = scores;
    assert!(full.precision >= base.precision && full.recall >= base.recall, "{file}");
}

/// Writes a hashed set: `HOMEOSTAT_CLUSTER_HASH_FROM` names a local JSONL file of reports
/// with their ground truth and texts (`{id, repo, url, group, verdict, title, body}`), read
/// and scrubbed as `hs-cluster FILE.jsonl` reads; each line goes to the fixture
/// `HOMEOSTAT_CLUSTER_HASH_TO` names without its title and body, with its features hashed
/// with `HOMEOSTAT_CLUSTER_HASH_SALT`, a secret kept out of the repository
/// (`cargo test --test it cluster::corpus_hash -- --ignored`).
#[test]
#[ignore]
fn corpus_hash() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let (from, to) = (var("HOMEOSTAT_CLUSTER_HASH_FROM"), var("HOMEOSTAT_CLUSTER_HASH_TO"));
    // Never committed: with the salt, a dictionary would read the words back.
    let salt = var("HOMEOSTAT_CLUSTER_HASH_SALT");
    assert!(salt.len() >= 32, "HOMEOSTAT_CLUSTER_HASH_SALT: at least 32 random characters");
    let items = read::read_jsonl(Path::new(&from), Scrubber::builtin()).expect("texts read");
    let raw: Vec<serde_json::Value> =
        std::fs::read_to_string(&from).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(items.len(), raw.len());
    let out: String = items
        .iter()
        .zip(raw)
        .map(|(item, line)| {
            assert_eq!(item.id, line["id"].as_str().unwrap());
            let hashed = serde_json::json!({
                "id": line["id"], "repo": line["repo"], "url": line["url"], "group": line["group"],
                "verdict": line["verdict"], "features": Features::of(item).hashed(&salt),
            });
            format!("{hashed}\n")
        })
        .collect();
    std::fs::write(fixture(&to), out).unwrap();
}

/// The wrong links and the missed ones, with each component's similarity, for looking at
/// what a change does (`cargo test --test it cluster::corpus_errors -- --ignored --nocapture`, `HOMEOSTAT_CLUSTER_SET=<file>`).
#[test]
#[ignore]
fn corpus_errors() {
    let file = std::env::var("HOMEOSTAT_CLUSTER_SET").unwrap_or_else(|_| SETS[0].1.to_string());
    let Some(items) = corpus(&file) else { return };
    let opts = Options::default();
    let labels = cluster(&items, opts);
    let (model, vectors) = Model::fit(&items, opts);
    let truth = Set::of_items(&items).truth;
    for i in 0..items.len() {
        for j in i + 1..items.len() {
            let (same, linked) = (truth[i] == truth[j], labels[i] == labels[j]);
            if same == linked {
                continue;
            }
            let c = model.components(&vectors[i], &vectors[j]);
            let s = model.similarity(&vectors[i], &vectors[j]);
            let kind = if linked { "WRONG" } else { "MISSED" };
            eprintln!(
                "{kind} {s:.2} {c:.2?} {} | {} || {} | {}",
                items[i].id, items[i].title, items[j].id, items[j].title
            );
        }
    }
}

fn item(id: &str, title: &str, body: &str) -> Item {
    Item { id: id.into(), repo: "o/r".into(), title: title.into(), body: body.into(), ..Item::default() }
}

#[test]
fn a_new_item_joins_the_cluster_of_its_duplicates_and_a_lookalike_does_not() {
    let existing = [
        item(
            "a",
            "Sync fails with HTTP 503 from /v1/notes",
            "Error: sync failed (HTTP 503) at pushNotes (sync.js:40:3)",
        ),
        item("b", "Notes stop syncing, server says 503", "sync failed (HTTP 503)\n at pushNotes (sync.js:41:9)"),
        item("c", "Dark mode colours are wrong in settings", "The settings page ignores the dark theme."),
    ];
    let new = [
        item(
            "d",
            "Syncing broken: 503 Service Unavailable",
            "Error: sync failed (HTTP 503) at pushNotes (sync.js:40:3)",
        ),
        item("e", "Sync fails with HTTP 401 from /v1/login", "Error: login failed (HTTP 401) at signIn (auth.js:12:5)"),
    ];
    let out = homeostat::cluster::match_new(&existing, &new, Options::default());
    let all = homeostat::cluster::assign(&existing, Options::default());
    assert_eq!(all[0].cluster, all[1].cluster, "the two 503 reports are one cluster");
    assert_eq!(out[0].cluster, all[0].cluster, "the third 503 report joins them");
    assert!(out[1].cluster.starts_with('n'), "the 401 look-alike starts its own: {:?}", out[1]);
}

pub(crate) mod forge_mode;
mod on_the_github_standin;
