//! The runbook format, parsing and lint are `homeostat_core::ops::runbook`; this module
//! reads runbooks from a folder and from the built-in `sops/`.

use std::collections::BTreeMap;
use std::path::Path;

use include_dir::{Dir, include_dir};

pub use homeostat_core::ops::runbook::*;

use crate::error::{Error, Position, Result};

static BUILTIN: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../sops");

/// Reads every `*.md` in `dir` (sorted), returning the runbooks and the problems.
pub fn load_dir(dir: &Path) -> Result<(Vec<Runbook>, LintReport)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::input(Position::file(dir.display().to_string()), "no such folder"),
            _ => Error::io(dir, e),
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md") && p.is_file())
        .filter(|p| !p.file_name().is_some_and(|n| n.eq_ignore_ascii_case("README.md")))
        .collect();
    files.sort();
    let mut runbooks = Vec::new();
    let mut problems = Vec::new();
    for path in files {
        let text = crate::error::read_to_string(&path)?;
        match parse(&path.display().to_string(), &text) {
            Ok(r) => runbooks.push(r),
            Err(p) => problems.extend(p),
        }
    }
    duplicates(&runbooks, &mut problems);
    Ok((runbooks, problems))
}

/// The runbooks shipped in `sops/`.
pub fn builtin() -> Result<Vec<Runbook>> {
    let mut out = Vec::new();
    for file in BUILTIN.files() {
        let name = file.path().to_string_lossy().into_owned();
        if !name.ends_with(".md") || name.eq_ignore_ascii_case("README.md") {
            continue;
        }
        let text = file.contents_utf8().unwrap_or_default();
        let runbook = parse(&format!("sops/{name}"), text)
            .map_err(|p| Error::Failed(format!("built-in runbook sops/{name} is invalid: {}", p[0])))?;
        out.push(runbook);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The built-in runbooks, with those in `dir` (if it exists) added or replacing them by name.
/// A broken runbook in `dir` is bad input (exit 2), reported with its position.
pub fn load(dir: Option<&Path>) -> Result<Vec<Runbook>> {
    let mut by_name: BTreeMap<String, Runbook> = builtin()?.into_iter().map(|r| (r.name.clone(), r)).collect();
    if let Some(dir) = dir.filter(|d| d.is_dir()) {
        let (runbooks, problems) = load_dir(dir)?;
        if let Some(first) = problems.into_iter().next() {
            return Err(Error::Input(first));
        }
        for r in runbooks {
            by_name.insert(r.name.clone(), r);
        }
    }
    Ok(by_name.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_library_is_valid_and_large_enough() {
        let all = builtin().unwrap();
        assert!(all.len() >= 20, "{}", all.len());
        for r in &all {
            assert!(!r.diagnosis.is_empty() && (r.fix.is_empty() || !r.verify.is_empty()), "{}", r.name);
        }
    }
}
