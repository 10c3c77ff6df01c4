//! Non-breaking checks over a change set, and the verdict (DESIGN.md "Non-breaking
//! guard"). [`judge`] is pure: it reads a [`ChangeSet`], the policy, the results of the
//! external checks (run beforehand by `homeostat::guard::external::run`) and a secret finder.
//!
//! Each check is a row `{id, status, detail}`; a failed row carries the class of its
//! failure. The change's class is the most risky of its files' classes and its failed
//! checks' classes: `safe` → auto-merge, `needs-validation`/`unknown` → human review,
//! `critical` → blocked (for bots).

pub mod checks;
pub mod external;

use serde::{Deserialize, Serialize};

use crate::diff::{ChangeSet, FileStatus};
use crate::policy::{Class, Policy};
pub use external::{ExternalOutcome, ExternalResult};

/// What may happen to the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    AutoMerge,
    HumanReview,
    Blocked,
}

impl Decision {
    pub fn of(class: Class) -> Self {
        match class {
            Class::Safe => Self::AutoMerge,
            Class::NeedsValidation | Class::Unknown => Self::HumanReview,
            Class::Critical => Self::Blocked,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AutoMerge => "auto-merge",
            Self::HumanReview => "human-review",
            Self::Blocked => "blocked",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

/// A place a check points at (for annotations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRow {
    pub id: String,
    pub status: Status,
    pub detail: String,
    /// The class this row gives the change (absent when it passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
}

impl CheckRow {
    pub fn pass(id: &str, detail: impl Into<String>) -> Self {
        Self { id: id.into(), status: Status::Pass, detail: detail.into(), class: None, locations: Vec::new() }
    }
    pub fn fail(id: &str, class: Class, detail: impl Into<String>, locations: Vec<Location>) -> Self {
        Self { id: id.into(), status: Status::Fail, detail: detail.into(), class: Some(class), locations }
    }
    pub fn warn(id: &str, class: Class, detail: impl Into<String>, locations: Vec<Location>) -> Self {
        Self { id: id.into(), status: Status::Warn, detail: detail.into(), class: Some(class), locations }
    }
}

/// One changed file as the verdict shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRow {
    pub path: String,
    pub status: FileStatus,
    pub class: Class,
    pub added: u64,
    pub deleted: u64,
}

/// The guard's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub verdict: Decision,
    pub class: Class,
    pub checks: Vec<CheckRow>,
    pub files: Vec<FileRow>,
}

/// Finds secrets in text: the names of the rules that fired and the byte ranges.
/// `crate::scrub::Scrubber` is the implementation the binaries use.
pub trait SecretFinder {
    fn secrets(&self, text: &str) -> Vec<(String, std::ops::Range<usize>)>;
}

/// Judges a change: every check, the files' classes, the verdict. Pure.
pub fn judge(change: &ChangeSet, policy: &Policy, external: &[ExternalResult], secrets: &dyn SecretFinder) -> Verdict {
    let files: Vec<FileRow> = change
        .files
        .iter()
        .map(|f| FileRow {
            path: f.path.clone(),
            status: f.status,
            class: file_class(policy, f),
            added: f.added,
            deleted: f.deleted,
        })
        .collect();
    let mut rows = vec![
        checks::max_files(change, policy),
        checks::max_changed_lines(change, policy),
        checks::path_classes(&files),
        checks::tests_required(change, policy),
        checks::tests_kept(change, policy),
        checks::manifests(change, policy),
        checks::workflows(change, policy),
        checks::binary_files(change),
        checks::secrets(change, secrets),
        checks::escape_hatches(change, policy),
    ];
    rows.extend(external.iter().map(ExternalResult::row));
    let class = rows
        .iter()
        .filter(|r| r.status != Status::Pass)
        .filter_map(|r| r.class)
        .chain(files.iter().map(|f| f.class))
        .max()
        .unwrap_or(Class::Safe);
    Verdict { verdict: Decision::of(class), class, checks: rows, files }
}

/// A file's class: the most risky of its path now and (for renames) before.
fn file_class(policy: &Policy, f: &crate::diff::FileChange) -> Class {
    let class_of = |p: &str| policy.path_class(p).unwrap_or(policy.changes().default);
    let now = class_of(&f.path);
    f.old_path.as_deref().map_or(now, |old| now.max(class_of(old)))
}

/// The scrubber's secret rules (not its personal-data ones) find secrets in added lines.
impl SecretFinder for crate::scrub::Scrubber {
    fn secrets(&self, text: &str) -> Vec<(String, std::ops::Range<usize>)> {
        self.findings(text)
            .into_iter()
            .filter(|f| f.kind == crate::scrub::Kind::Secret)
            .map(|f| (f.rule, f.range))
            .collect()
    }
}
