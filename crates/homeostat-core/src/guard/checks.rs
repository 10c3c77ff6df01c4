//! One function per check (as zizmor keeps one audit per module): each reads the change
//! and the policy and returns its row.

use super::{CheckRow, FileRow, Location, SecretFinder};
use crate::diff::{ChangeSet, FileChange, FileStatus};
use crate::policy::{Class, Policy};

/// At most this many locations are listed in a row's detail.
const LIST_MAX: usize = 10;

fn list(paths: &[&str]) -> String {
    let mut out = paths.iter().take(LIST_MAX).map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
    if paths.len() > LIST_MAX {
        out.push_str(&format!(" and {} more", paths.len() - LIST_MAX));
    }
    out
}

fn at(path: &str) -> Location {
    Location { path: path.to_string(), line: None }
}

pub fn max_files(change: &ChangeSet, policy: &Policy) -> CheckRow {
    let n = change.files.len() as u64;
    match policy.changes().limits.max_files {
        Some(max) if n > max => CheckRow::fail(
            "max-files",
            Class::NeedsValidation,
            format!("{n} files changed, more than the policy's {max}"),
            vec![],
        ),
        Some(max) => CheckRow::pass("max-files", format!("{n} of at most {max} files")),
        None => CheckRow::pass("max-files", format!("{n} files (no limit)")),
    }
}

pub fn max_changed_lines(change: &ChangeSet, policy: &Policy) -> CheckRow {
    let n = change.changed_lines();
    match policy.changes().limits.max_changed_lines {
        Some(max) if n > max => CheckRow::fail(
            "max-changed-lines",
            Class::NeedsValidation,
            format!("{n} lines changed (added + deleted), more than the policy's {max}"),
            vec![],
        ),
        Some(max) => CheckRow::pass("max-changed-lines", format!("{n} of at most {max} lines")),
        None => CheckRow::pass("max-changed-lines", format!("{n} lines (no limit)")),
    }
}

pub fn path_classes(files: &[FileRow]) -> CheckRow {
    let worst = files.iter().map(|f| f.class).max().unwrap_or(Class::Safe);
    if worst == Class::Safe {
        return CheckRow::pass("path-classes", "every changed path is safe");
    }
    let hits: Vec<&str> = files.iter().filter(|f| f.class == worst).map(|f| f.path.as_str()).collect();
    let detail = format!("{} path(s) are {worst}: {}", hits.len(), list(&hits));
    let locations = hits.iter().map(|p| at(p)).collect();
    if worst == Class::Critical {
        CheckRow::fail("path-classes", worst, detail, locations)
    } else {
        CheckRow::warn("path-classes", worst, detail, locations)
    }
}

/// Code: neither a test nor docs.
fn is_code(policy: &Policy, path: &str) -> bool {
    !policy.is_test_path(path) && !policy.changes().docs.is_match(path)
}

pub fn tests_required(change: &ChangeSet, policy: &Policy) -> CheckRow {
    let code: Vec<&str> = change
        .files
        .iter()
        .filter(|f| f.status != FileStatus::Deleted && is_code(policy, &f.path))
        .map(|f| f.path.as_str())
        .collect();
    let tests = change.files.iter().any(|f| f.status != FileStatus::Deleted && policy.is_test_path(&f.path));
    if !policy.changes().require_tests {
        return CheckRow::pass("tests-required", "the policy does not require tests");
    }
    match (code.is_empty(), tests) {
        (true, _) => CheckRow::pass("tests-required", "no code changed (tests and docs only)"),
        (false, true) => CheckRow::pass("tests-required", "code changed together with tests"),
        (false, false) => CheckRow::fail(
            "tests-required",
            Class::NeedsValidation,
            format!("code changed without a test: {}", list(&code)),
            code.iter().map(|p| at(p)).collect(),
        ),
    }
}

pub fn tests_kept(change: &ChangeSet, policy: &Policy) -> CheckRow {
    let lost: Vec<(&FileChange, &str)> = change
        .files
        .iter()
        .filter_map(|f| {
            let was_test = policy.is_test_path(f.old_path.as_deref().unwrap_or(&f.path));
            if !was_test {
                return None;
            }
            match f.status {
                FileStatus::Deleted => Some((f, "deleted")),
                _ if f.emptied => Some((f, "emptied")),
                FileStatus::Renamed if !policy.is_test_path(&f.path) => Some((f, "moved out of the tests")),
                _ => None,
            }
        })
        .collect();
    if lost.is_empty() {
        return CheckRow::pass("tests-kept", "no test deleted or emptied");
    }
    let names: Vec<String> =
        lost.iter().map(|(f, how)| format!("`{}` ({how})", f.old_path.as_deref().unwrap_or(&f.path))).collect();
    CheckRow::fail(
        "tests-kept",
        Class::Critical,
        format!("tests removed: {}", names.join(", ")),
        lost.iter().map(|(f, _)| at(&f.path)).collect(),
    )
}

pub fn manifests(change: &ChangeSet, policy: &Policy) -> CheckRow {
    let touched: Vec<(&str, Class)> = change
        .files
        .iter()
        .filter(|f| policy.changes().manifests.is_match(&f.path))
        .map(|f| (f.path.as_str(), policy.path_class(&f.path).unwrap_or(Class::NeedsValidation)))
        .filter(|(_, class)| *class != Class::Safe)
        .collect();
    if touched.is_empty() {
        return CheckRow::pass("manifests", "no dependency manifest or lock file changed (or their class is safe)");
    }
    let worst = touched.iter().map(|t| t.1).max().unwrap_or(Class::NeedsValidation).max(Class::NeedsValidation);
    let paths: Vec<&str> = touched.iter().map(|t| t.0).collect();
    CheckRow::fail(
        "manifests",
        worst,
        format!("dependency manifests or lock files changed: {}", list(&paths)),
        paths.iter().map(|p| at(p)).collect(),
    )
}

pub fn workflows(change: &ChangeSet, policy: &Policy) -> CheckRow {
    let hits: Vec<&str> = change
        .files
        .iter()
        .filter(|f| {
            let w = &policy.changes().workflows;
            w.is_match(&f.path) || f.old_path.as_deref().is_some_and(|o| w.is_match(o))
        })
        .map(|f| f.path.as_str())
        .collect();
    if hits.is_empty() {
        return CheckRow::pass("workflows", "no workflow or action file changed");
    }
    CheckRow::fail(
        "workflows",
        Class::Critical,
        format!("CI workflow or action files changed: {}", list(&hits)),
        hits.iter().map(|p| at(p)).collect(),
    )
}

pub fn binary_files(change: &ChangeSet) -> CheckRow {
    let hits: Vec<&str> =
        change.files.iter().filter(|f| f.binary && f.status != FileStatus::Deleted).map(|f| f.path.as_str()).collect();
    if hits.is_empty() {
        return CheckRow::pass("binary-files", "no binary file added or changed");
    }
    CheckRow::fail(
        "binary-files",
        Class::NeedsValidation,
        format!("binary files cannot be reviewed as a diff: {}", list(&hits)),
        hits.iter().map(|p| at(p)).collect(),
    )
}

/// Byte offset → index of the line that holds it, for text joined with `\n`.
fn line_index(starts: &[usize], offset: usize) -> usize {
    starts.partition_point(|&s| s <= offset).saturating_sub(1)
}

pub fn secrets(change: &ChangeSet, finder: &dyn SecretFinder) -> CheckRow {
    // One call over every added line joined (a scrubber's fixed cost is per call), mapped
    // back to files and line numbers.
    let mut text = String::new();
    let mut starts = Vec::new();
    let mut origin: Vec<(&str, u32)> = Vec::new();
    for f in &change.files {
        for l in &f.added_lines {
            starts.push(text.len());
            origin.push((&f.path, l.line));
            text.push_str(&l.text);
            text.push('\n');
        }
    }
    let mut found: Vec<(Location, String)> = Vec::new();
    if !text.is_empty() {
        for (rule, range) in finder.secrets(&text) {
            let (path, line) = origin[line_index(&starts, range.start)];
            found.push((Location { path: path.to_string(), line: Some(line) }, rule));
        }
    }
    if found.is_empty() {
        return CheckRow::pass("secrets", "no secret in the added lines");
    }
    // Never the secret itself: the rule and where.
    let names: Vec<String> = found
        .iter()
        .take(LIST_MAX)
        .map(|(l, rule)| format!("{rule} at `{}:{}`", l.path, l.line.unwrap_or(0)))
        .collect();
    let more = if found.len() > LIST_MAX { format!(" and {} more", found.len() - LIST_MAX) } else { String::new() };
    CheckRow::fail(
        "secrets",
        Class::Critical,
        format!("secrets added: {}{more}", names.join(", ")),
        found.into_iter().map(|(l, _)| l).collect(),
    )
}

pub fn escape_hatches(change: &ChangeSet, policy: &Policy) -> CheckRow {
    let hatches = &policy.changes().escape_hatches;
    if hatches.is_empty() {
        return CheckRow::pass("escape-hatches", "the policy lists no escape-hatch patterns");
    }
    let mut found: Vec<(Location, &str)> = Vec::new();
    for f in &change.files {
        for h in hatches.iter().filter(|h| h.applies_to(&f.path)) {
            for l in f.added_lines.iter().filter(|l| h.pattern.is_match(&l.text)) {
                found.push((Location { path: f.path.clone(), line: Some(l.line) }, &h.name));
            }
        }
    }
    if found.is_empty() {
        return CheckRow::pass("escape-hatches", format!("none of {} pattern(s) added", hatches.len()));
    }
    let names: Vec<String> =
        found.iter().take(LIST_MAX).map(|(l, n)| format!("{n} at `{}:{}`", l.path, l.line.unwrap_or(0))).collect();
    let more = if found.len() > LIST_MAX { format!(" and {} more", found.len() - LIST_MAX) } else { String::new() };
    CheckRow::fail(
        "escape-hatches",
        Class::NeedsValidation,
        format!("escape hatches added: {}{more}", names.join(", ")),
        found.into_iter().map(|(l, _)| l).collect(),
    )
}
