//! Helpers for tests (unit and integration) that read `../shared`.

use std::path::PathBuf;

/// `../shared/<rel>` (or `$HOMEOSTAT_SHARED/<rel>`). When it is missing, a test fails
/// under `CI=true` and is skipped with a notice otherwise.
pub fn shared_path(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("HOMEOSTAT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = root.join(rel);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{} is missing: CI needs ../shared beside the project", path.display());
    }
    eprintln!("notice: skipping, {} is missing (../shared is not beside the project)", path.display());
    None
}
