//! The risk policy: the engine (rules, globs, classification) is
//! `homeostat_core::policy`; this module adds loading the policy file a config or a flag
//! names, and the issue board ([`board`]), which moves issues through the forge.

pub use homeostat_core::policy::*;

pub mod board;
pub mod issue;

use std::path::Path;

use crate::error::Result;
use crate::settings::Config;

/// Reads and compiles the policy file at `path`.
pub fn load(path: &Path) -> Result<Policy> {
    let text = crate::error::read_to_string(path)?;
    Ok(Policy::parse(&path.display().to_string(), &text)?)
}

/// `--policy FILE`, else the config's `policy:` (resolved against the config's folder when
/// it was read), else built in.
pub fn from_config(config: &Config, explicit: Option<&Path>) -> Result<Policy> {
    if let Some(path) = explicit {
        return load(path);
    }
    if let Some(path) = &config.policy {
        return load(path);
    }
    Ok(Policy::builtin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_schema_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/policy.schema.json");
        let current = Policy::json_schema();
        if std::env::var_os("HOMEOSTAT_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == current,
            "schema/policy.schema.json is stale: run `HOMEOSTAT_UPDATE_SCHEMA=1 cargo test -p homeostat --lib policy::tests::committed_schema_is_current`"
        );
    }
}
