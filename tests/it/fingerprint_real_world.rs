//! hs-fingerprint on errors nobody here wrote: stack traces copied from public issue
//! trackers and real SDK payloads (`tests/fixtures/fingerprint/real-world/`, see its
//! README). Each item carries hand-written ground truth: its group (the same bug at other
//! versions, builds or paths; hard negatives apart), its platform, its exception type, its
//! frame count and its crash frame's function.
//!
//! The figures are printed: `cargo test --test fingerprint_real_world -- --nocapture`.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::pairs::Pairwise;
use homeostat::event::{ErrorEvent, parse_event};
use homeostat::fingerprint::Engine;
use homeostat::fingerprint::stack::{self, Platform};

/// One corpus item and what the engine made of it.
struct Item {
    id: String,
    software: String,
    group: String,
    fingerprint: String,
    values: String,
    parse_errors: Vec<String>,
}

/// The manifest (URLs, ground truth) joined with the texts. The texts are not in the
/// repository: the place they were collected from allows them as reference, not as
/// verbatim copies. `HOMEOSTAT_REAL_WORLD_TEXTS` names a local JSONL file of
/// `{id, stack}` or `{id, event}` lines (collected from the manifest's URLs); without it
/// the corpus test is skipped with a notice. `None`: no texts.
fn corpus() -> Option<Vec<serde_json::Value>> {
    let Ok(texts) = std::env::var("HOMEOSTAT_REAL_WORLD_TEXTS") else {
        eprintln!("notice: HOMEOSTAT_REAL_WORLD_TEXTS is not set: the real-world corpus is skipped");
        return None;
    };
    let read = |path: &Path| -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines()
            .enumerate()
            .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1)))
            .collect()
    };
    let manifest =
        read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fingerprint/real-world/manifest.jsonl"));
    let texts: std::collections::HashMap<String, serde_json::Value> =
        read(Path::new(&texts)).into_iter().map(|t| (t["id"].as_str().unwrap_or_default().to_string(), t)).collect();
    let joined = manifest
        .into_iter()
        .map(|mut item| {
            let id = item["id"].as_str().unwrap_or_default().to_string();
            let text = texts.get(&id).unwrap_or_else(|| panic!("no text for {id}"));
            for key in ["stack", "event"] {
                if let Some(v) = text.get(key) {
                    item[key] = v.clone();
                }
            }
            item
        })
        .collect();
    Some(joined)
}

/// The event of an item: its trace text with nothing else known, or the SDK payload.
fn event_of(case: &serde_json::Value) -> ErrorEvent {
    match case.get("event") {
        Some(ev) => parse_event(&ev.to_string()).unwrap(),
        None => ErrorEvent { stack: case["stack"].as_str().map(str::to_string), ..ErrorEvent::default() },
    }
}

/// Where the parse of an item differs from its ground truth (empty: read right).
fn parse_errors(case: &serde_json::Value, event: &ErrorEvent) -> Vec<String> {
    let (platform, exceptions) = match &event.stack {
        Some(text) if event.exceptions.is_empty() => {
            stack::parse(event.platform.as_deref().map(Platform::from_name), text)
        }
        _ => {
            let p = event.platform.as_deref().map_or(Platform::Other, Platform::from_name);
            (p, event.exceptions.clone())
        }
    };
    let mut errors = Vec::new();
    let want = |k: &str| case[k].as_str().unwrap_or_default().to_string();
    if platform.name() != want("platform") {
        errors.push(format!("platform {} (want {})", platform.name(), want("platform")));
    }
    let thrown = exceptions.last();
    let ty = thrown.and_then(|e| e.r#type.clone()).unwrap_or_default();
    let want_ty = if want("type") == "-" { String::new() } else { want("type") };
    if ty != want_ty {
        errors.push(format!("type {ty:?} (want {:?})", want("type")));
    }
    let frames = thrown.map_or(0, |e| e.frames.len());
    if frames as u64 != case["frames"].as_u64().unwrap() {
        errors.push(format!("{frames} frames (want {})", case["frames"]));
    }
    let top = thrown.and_then(|e| e.frames.last()).and_then(|f| f.function.clone());
    let top_ok = match (want("top").as_str(), &top) {
        ("-", None) => true,
        ("-", Some(_)) | (_, None) => false,
        (w, Some(f)) => f.contains(w),
    };
    if !top_ok {
        errors.push(format!("top frame {top:?} (want {:?})", want("top")));
    }
    errors
}

fn items(corpus: &[serde_json::Value]) -> Vec<Item> {
    let engine = Engine::builtin();
    corpus
        .iter()
        .map(|case| {
            let event = event_of(case);
            let fp = engine.explain(&event);
            Item {
                id: case["id"].as_str().unwrap().to_string(),
                software: case["software"].as_str().unwrap().to_string(),
                group: case["group"].as_str().unwrap().to_string(),
                values: format!("{:?}", fp.explanation.as_ref().map(|x| &x.values)),
                fingerprint: fp.fingerprint,
                parse_errors: parse_errors(case, &event),
            }
        })
        .collect()
}

/// Pairwise (true positives, false positives, false negatives, disagreements), over the
/// pairs of one program (`same_software`: as an issue tracker sees them, one repository's
/// errors) or over every pair (errors of unrelated programs too).
fn pairwise(items: &[Item], same_software: bool) -> (u32, u32, u32, Vec<String>) {
    let scores = Pairwise::score(
        items,
        |a, b| !same_software || a.software == b.software,
        |a, b| a.group == b.group,
        |a, b| a.fingerprint == b.fingerprint,
    );
    let problems = scores
        .disagreements
        .iter()
        .map(|&(i, j)| {
            let (a, b) = (&items[i], &items[j]);
            let kind = if a.group == b.group { "split" } else { "merged" };
            format!("{kind}: {} ({}) vs {} ({})\n    {}\n    {}", a.id, a.group, b.id, b.group, a.values, b.values)
        })
        .collect();
    (scores.tp, scores.fp, scores.fn_, problems)
}

#[test]
fn real_world_corpus_pairwise_precision_recall_and_parse_accuracy() {
    let Some(corpus) = corpus() else { return };
    let items = items(&corpus);
    let repos: BTreeSet<&str> = corpus.iter().map(|c| c["repo"].as_str().unwrap()).collect();
    let groups: BTreeSet<&str> = items.iter().map(|i| i.group.as_str()).collect();
    let platforms: BTreeSet<&str> = corpus.iter().map(|c| c["platform"].as_str().unwrap()).collect();
    let sdk = corpus.iter().filter(|c| c["kind"] == "sdk").count();
    let (tp, fp, fn_, problems) = pairwise(&items, true);
    let precision = f64::from(tp) / f64::from(tp + fp).max(1.0);
    let recall = f64::from(tp) / f64::from(tp + fn_).max(1.0);
    let (atp, afp, afn, all_problems) = pairwise(&items, false);
    let all_precision = f64::from(atp) / f64::from(atp + afp).max(1.0);
    let all_recall = f64::from(atp) / f64::from(atp + afn).max(1.0);
    let misread: Vec<String> = items
        .iter()
        .filter(|i| !i.parse_errors.is_empty())
        .map(|i| format!("{}: {}", i.id, i.parse_errors.join("; ")))
        .collect();
    let parsed = items.len() - misread.len();
    let accuracy = parsed as f64 / items.len() as f64;
    println!(
        "real-world corpus: {} items ({} traces, {sdk} SDK payloads) from {} projects, {} groups, {} platforms; pairwise precision {precision:.3}, recall {recall:.3} (pairs within one program: tp {tp}, fp {fp}, fn {fn_}; all pairs: {all_precision:.3}, {all_recall:.3}); parsed right {parsed}/{} = {:.1} %",
        items.len(),
        items.len() - sdk,
        repos.len(),
        groups.len(),
        platforms.len(),
        items.len(),
        accuracy * 100.0
    );
    for p in problems.iter().take(40) {
        println!("  {p}");
    }
    for p in all_problems.iter().filter(|p| !problems.contains(p)).take(20) {
        println!("  (other programs) {p}");
    }
    for m in &misread {
        println!("  misread {m}");
    }
    assert!(items.len() >= 200 && repos.len() >= 60 && platforms.len() == 7, "corpus too small");
    assert!(precision >= 0.98 && recall >= 0.98, "precision {precision:.3}, recall {recall:.3}");
    assert!(accuracy >= 0.97, "parse accuracy {accuracy:.3}");
}

/// Every manifest item names its source and licence and its ground truth.
#[test]
fn real_world_items_name_source_licence_and_ground_truth() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fingerprint/real-world/manifest.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    let mut count = 0;
    for line in text.lines() {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = case["id"].as_str().unwrap();
        let url = case["url"].as_str().unwrap();
        assert!(url.starts_with("https://github.com/"), "{id}: {url}");
        for key in ["licence", "group", "platform", "software"] {
            assert!(!case[key].as_str().unwrap_or_default().is_empty(), "{id}: {key}");
        }
        assert!(case.get("stack").is_none(), "{id}: the texts stay out of the repository");
        count += 1;
    }
    assert!(count >= 200, "{count} items");
}

/// v3 moves the fingerprints of traces v2 read badly; each such event carries its v2
/// fingerprint as an alias, so an issue filed under v2 is still found (no duplicate issue
/// on upgrade). Traces v2 read well keep their fingerprint.
#[test]
fn real_world_v2_fingerprints_stay_found_as_aliases() {
    let engine = Engine::builtin();
    let mut moved = 0;
    let Some(corpus) = corpus() else { return };
    for case in &corpus {
        let event = event_of(case);
        let fp = engine.fingerprint_with_aliases(&event);
        let v2 = engine.fingerprint_as(&event, homeostat::fingerprint::Algorithm::V2).fingerprint;
        if v2 != fp.fingerprint {
            moved += 1;
            assert!(fp.aliases.iter().any(|a| a.fingerprint == v2 && a.algorithm == "v2"), "{}", case["id"]);
        }
    }
    println!("real-world corpus: {moved} of {} fingerprints moved from v2 to v3, each with its v2 alias", corpus.len());
    assert!(moved > 0 && moved < corpus.len() / 2, "{moved}");
}
