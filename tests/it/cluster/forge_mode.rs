//! Forge mode on the local forge: the duplicate comments, the label, reactions.

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
