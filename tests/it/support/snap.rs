//! Snapshots of rendered text (issue and pull request bodies, guard tables, step summaries,
//! reports) with what changes from run to run redacted: temp folders, times, commit ids,
//! ports. `snap!("name", text)` files `it__<module path>__<name>.snap` in the `snapshots/`
//! folder beside the calling file; review a change with `cargo insta review` (or
//! `INSTA_UPDATE=always` and `git diff`).

/// What every snapshot redacts, in order (regex, replacement).
pub const FILTERS: &[(&str, &str)] = &[
    // A test's temp folder (tempfile's `.tmpXXXXXX`), wherever TMPDIR is.
    (r"(/[^\s/`'\x22()\[\]]+)*/(\.tmp|homeostat-agent-)[A-Za-z0-9]{6}", "[TMP]"),
    // RFC 3339 times and dates in the ledger's and GitHub's forms.
    (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?", "[TIME]"),
    // Commit ids.
    (r"\b[0-9a-f]{40}\b", "[SHA]"),
    // Ports the tests' servers were given.
    (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
    // Wall time a run took (a loaded machine turns 0 s into 1 s).
    (r"\| agent time \| [^|\n]+ \|", "| agent time | [DURATION] |"),
];

/// The filters as insta takes them, with a test's own extra ones after the common ones.
pub fn filters(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    FILTERS.iter().chain(extra).copied().collect()
}

/// `snap!("name", text)` or `snap!("name", text, [(regex, replacement), …])`: an insta
/// snapshot of `text` with [`FILTERS`] (and the extra filters) applied.
#[macro_export]
macro_rules! snap {
    ($name:expr, $text:expr) => {
        $crate::snap!($name, $text, [])
    };
    ($name:expr, $text:expr, [$($extra:expr),* $(,)?]) => {
        insta::with_settings!({filters => $crate::support::snap::filters(&[$($extra),*])}, {
            insta::assert_snapshot!($name, $text);
        })
    };
}
