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
/// TF-IDF baseline, homeostat across thresholds and with a perfect model confirming pairs
/// (printed); returns homeostat's (fitted on the whole set and per repository), the
/// baseline's at the default threshold and the perfect model's in forge mode's band.
fn scores_table(name: &str, set: &Set) -> [PairScores; 4] {
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
    eprintln!("({} pairs belong together in the {name} corpus)", full.actual_pairs);
    [full, ablations[7].1, base, confirmed]
}

#[test]
fn corpus_pairwise_scores_with_baseline_and_ablation() {
    if let Some(set) = Set::load(SETS[0].1) {
        let [full, per_repository, base, _] = scores_table(SETS[0].0, &set);
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
        let [full, _, base, _] = scores_table(SETS[1].0, &set);
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
        let [full, per_repository, base, confirmed] = scores_table(name, &set);
        hashed_set_figures(file, [full, per_repository, base, confirmed]);
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
fn hashed_set_figures(file: &str, scores: [PairScores; 4]) {
    // (true, predicted, actual pairs): homeostat, fitted per repository, the TF-IDF
    // baseline, and the bound of a perfect model confirming forge mode's borderline pairs.
    let expected = match file {
        "hashed.jsonl" => [(20, 22, 98), (19, 21, 98), (18, 22, 98), (21, 23, 98)],
        "hashed-2.jsonl" => [(8, 12, 141), (8, 12, 141), (7, 19, 141), (8, 8, 141)],
        other => panic!("{other}: no figures recorded for this set"),
    };
    assert_eq!(scores.map(|s| (s.true_pairs, s.predicted_pairs, s.actual_pairs)), expected, "{file}");
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

pub(crate) mod forge_mode {
    use super::*;
    use homeostat::cluster::forge::{self, Deps};
    use homeostat::cluster::{ClusterConfig, MARKER};
    use homeostat::forge::local::LocalForge;
    use homeostat::forge::{Forge, NewIssue};
    use homeostat::ledger::Ledger;
    use homeostat::prompt::Prompts;

    /// Three differently worded reports of one crash and a look-alike (another subject).
    pub(crate) const REPORTS: [(&str, &str); 4] = [
        (
            "Popup crashes: TypeError: Cannot read properties of undefined (reading 'id')",
            "Opening the popup after login shows a blank panel.\nTypeError: Cannot read properties of undefined (reading 'id')\n    at renderNote (chrome-extension://abc/popup.js:10:15)\n    at loadNotes (chrome-extension://abc/popup.js:22:3)",
        ),
        (
            "Blank popup after signing in",
            "Since 1.4.2 the popup stays empty after I sign in. Console shows TypeError: Cannot read properties of undefined (reading 'id') at renderNote (popup.js:10:15) at loadNotes (popup.js:22:3)",
        ),
        (
            "Popup is blank after login, notes missing from the popup",
            "Every time I open the popup after login my notes are missing and the popup panel is blank.\nUncaught TypeError: Cannot read properties of undefined (reading 'id')\n    at renderNote (popup.js:11:9)\n    at loadNotes (popup.js:22:3)",
        ),
        (
            "Options page crashes: TypeError: Cannot read properties of undefined (reading 'title')",
            "Exporting a note from the options page fails.\nTypeError: Cannot read properties of undefined (reading 'title')\n    at exportNote (chrome-extension://abc/options.js:40:7)\n    at onExportClick (chrome-extension://abc/options.js:12:1)",
        ),
    ];

    /// A run's dependencies without a model, on the system clock.
    fn deps<'a>(config: &'a ClusterConfig, ledger: &'a Ledger, prompts: &'a Prompts) -> Deps<'a> {
        Deps { config, ledger, scrubber: Scrubber::builtin(), prompts, llm: None, now: jiff::Timestamp::now() }
    }

    async fn comments_with_marker(forge: &dyn Forge, n: u64) -> usize {
        forge.list_comments(n).await.unwrap().iter().filter(|c| c.body.contains(MARKER)).count()
    }

    #[tokio::test]
    async fn later_duplicates_get_one_comment_the_lookalike_none_and_a_rerun_posts_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let forge = LocalForge::open(&dir.path().join("forge")).unwrap();
        let mut numbers = Vec::new();
        for (title, body) in REPORTS {
            let new = NewIssue { title: title.into(), body: body.into(), ..NewIssue::default() };
            numbers.push(forge.create_issue(&new).await.unwrap().number);
        }
        let config = ClusterConfig::default();
        let ledger = Ledger::open(dir.path().join("ledger.jsonl"));
        let prompts = Prompts::builtin().unwrap();
        let deps = deps(&config, &ledger, &prompts);

        let first = forge::run(&forge, &deps).await.unwrap();
        let counts: Vec<usize> = futures_counts(&forge, &numbers).await;
        assert_eq!(counts, [0, 1, 1, 0], "comments per issue; run: {first:?}");
        let body = &forge.list_comments(numbers[2]).await.unwrap()[0].body;
        assert!(body.contains(&format!("#{}", numbers[0])), "the comment links the first report: {body}");
        crate::snap!("local_forge_duplicate_comment", body);
        let labelled = forge.get_issue(numbers[1]).await.unwrap();
        assert!(labelled.has_label(&config.label) && labelled.state == homeostat::forge::State::Open);

        let second = forge::run(&forge, &deps).await.unwrap();
        assert_eq!(futures_counts(&forge, &numbers).await, [0, 1, 1, 0]);
        assert!(second.linked.iter().all(|l| !l.posted), "{second:?}");

        // hs-report reads the links as one problem reported three times, named by the first.
        use homeostat::report::figures::{Budgets, compute};
        let now = jiff::Timestamp::now();
        let hour = jiff::SignedDuration::from_hours(1);
        let f = compute(&ledger.entries().unwrap(), now - hour, now + hour, Budgets::default());
        let clusters = &f.duplicates.clusters;
        assert_eq!(clusters.len(), 1, "{clusters:?}");
        assert_eq!((clusters[0].reports, clusters[0].issues.as_slice()), (3, &numbers[..3]));
        assert_eq!(clusters[0].title.as_deref(), Some(REPORTS[0].0));
    }

    async fn futures_counts(forge: &LocalForge, numbers: &[u64]) -> Vec<usize> {
        let mut out = Vec::new();
        for &n in numbers {
            out.push(comments_with_marker(forge, n).await);
        }
        out
    }

    #[tokio::test]
    async fn a_removed_label_is_recorded_and_raises_the_bar_for_that_repository() {
        let dir = tempfile::tempdir().unwrap();
        let forge = LocalForge::open(&dir.path().join("forge")).unwrap();
        for (title, body) in &REPORTS[..2] {
            let new = NewIssue { title: title.to_string(), body: body.to_string(), ..NewIssue::default() };
            forge.create_issue(&new).await.unwrap();
        }
        let config = ClusterConfig::default();
        let ledger = Ledger::open(dir.path().join("ledger.jsonl"));
        let prompts = Prompts::builtin().unwrap();
        let deps = deps(&config, &ledger, &prompts);
        let first = forge::run(&forge, &deps).await.unwrap();
        let linked = first.linked.first().expect("the second report is linked");
        forge.remove_label(linked.issue, &config.label).await.unwrap();
        let second = forge::run(&forge, &deps).await.unwrap();
        assert_eq!(second.reactions, [(linked.issue, "rejected".to_string())]);
        assert!(
            second.threshold > f64::from(linked.similarity),
            "threshold {} not above {}",
            second.threshold,
            linked.similarity
        );
    }
}

/// The built binary against the GitHub stand-in, as the action runs it (a token, the API
/// URL, the repository): the same four reports as `forge_mode`, seeded as issues.
mod on_the_github_standin {
    use crate::support::bins::Job;
    use github_standin::Standin;
    use homeostat::cluster::MARKER;

    fn marked(gh: &Standin, n: u64) -> usize {
        gh.state().comments_on(n).filter(|c| c.body.contains(MARKER)).count()
    }

    #[test]
    fn hs_cluster_comments_on_the_two_later_duplicates_only_and_a_rerun_posts_nothing() {
        let gh = Standin::start();
        let numbers: Vec<u64> = gh.with_state(|s| {
            super::forge_mode::REPORTS.iter().map(|(t, b)| s.seed_issue(t, b, &[], "reporter")).collect()
        });
        let job = Job::new(&gh);
        job.write("homeostat.yml", "ledger:\n  path: ledger.jsonl\ncluster:\n  threshold: 0.62\n");
        for run in 1..=2 {
            job.cmd("hs-cluster").args(["--forge", "github", "--format", "json"]).run().no_panic().success();
            let counts: Vec<usize> = numbers.iter().map(|&n| marked(&gh, n)).collect();
            assert_eq!(counts, [0, 1, 1, 0], "marked comments per issue after run {run}");
        }
        let state = gh.state();
        let body = &state.comments_on(numbers[2]).next().expect("a comment on the third report").body;
        assert!(body.contains(&format!("#{}", numbers[0])), "{body}");
        crate::snap!("standin_duplicate_comment", body);
        for (i, &n) in numbers.iter().enumerate() {
            let issue = &state.issues[&n];
            assert_eq!(issue.state, "open", "nothing is closed");
            let labelled = issue.labels.iter().any(|l| l == "possible-duplicate");
            assert_eq!(labelled, i == 1 || i == 2, "label on #{n}: {:?}", issue.labels);
        }
        assert_eq!(state.comments.len(), 2, "two comments in all after two runs");
        drop(state);

        // The maintainer closes one linked report as a duplicate and takes the label off
        // the other; the next run records both reactions, and hs-report counts them.
        gh.with_state(|s| {
            let closed = s.issues.get_mut(&numbers[1]).unwrap();
            closed.state = "closed".into();
            closed.state_reason = Some("duplicate".into());
            s.issues.get_mut(&numbers[2]).unwrap().labels.retain(|l| l != "possible-duplicate");
        });
        job.cmd("hs-cluster").args(["--forge", "github", "--format", "json"]).run().no_panic().success();
        let report = job.cmd("hs-report").args(["--since", "1d", "--format", "json"]).run().success().json();
        let cluster = serde_json::json!({"repo": "octo-org/app", "title": super::forge_mode::REPORTS[0].0, "issues": numbers[..3], "reports": 3});
        assert_eq!(
            report["duplicates"],
            serde_json::json!({"linked": 2, "confirmed": 1, "rejected": 1, "confirmed_share": 0.5, "clusters": [cluster]}),
            "{report}"
        );
        gh.assert_clean();
    }

    /// A report closed as fixed ten days ago is a report to link to: the third wording of
    /// its problem, opened now, is linked to it (marked closed), the closed one gets no
    /// comment, and the same problem closed 200 days ago (past `closed_within`, 90 days)
    /// is not read.
    #[test]
    fn a_new_report_of_a_problem_closed_last_week_is_linked_to_it() {
        let gh = Standin::start();
        let reports = super::forge_mode::REPORTS;
        let closed_at = |days: i64| {
            let t = "2026-01-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
                - jiff::SignedDuration::from_hours(24 * days);
            t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
        };
        let numbers: Vec<u64> = gh.with_state(|s| {
            let numbers: Vec<u64> = reports.iter().map(|(t, b)| s.seed_issue(t, b, &[], "reporter")).collect();
            for (n, days) in [(numbers[0], 200), (numbers[1], 10)] {
                let issue = s.issues.get_mut(&n).unwrap();
                issue.state = "closed".into();
                issue.state_reason = Some("completed".into());
                issue.closed_at = Some(closed_at(days));
                issue.updated_at = closed_at(days);
            }
            numbers
        });
        let job = Job::new(&gh);
        job.write("homeostat.yml", "ledger:\n  path: ledger.jsonl\n");
        let out = job
            .cmd("hs-cluster")
            .args(["--forge", "github", "--format", "json"])
            .env("HOMEOSTAT_NOW", "2026-01-01T00:10:00Z")
            .run()
            .no_panic()
            .success()
            .json();
        assert_eq!(out["items"], 3, "two open reports and the one closed ten days ago: {out}");
        let counts: Vec<usize> = numbers.iter().map(|&n| marked(&gh, n)).collect();
        assert_eq!(counts, [0, 0, 1, 0], "a comment on the new report only");
        let state = gh.state();
        let body = &state.comments_on(numbers[2]).next().unwrap().body;
        assert!(body.contains(&format!("#{} ", numbers[1])) && body.contains("(closed)"), "{body}");
        assert!(!body.contains(&format!("#{} ", numbers[0])), "the report closed 200 days ago is linked: {body}");
        assert_eq!(state.issues[&numbers[1]].labels, Vec::<String>::new(), "the closed report is left alone");
        drop(state);
        gh.assert_clean();
    }
}
