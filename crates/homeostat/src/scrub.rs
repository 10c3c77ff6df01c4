//! Personal data and secret scrubbing: the engine is `homeostat_core::scrub` (rules as
//! data, values in and out); this module adds reading the configured rules file.

pub use homeostat_core::scrub::*;

use crate::error::Result;

/// The scrubber for a config: the built-in rules plus `scrub.rules` when set (resolved
/// against the config file's directory when it was read).
pub fn config_scrubber(config: &crate::settings::Config) -> Result<Scrubber> {
    match &config.scrub.rules {
        None => Ok(Scrubber::builtin().clone()),
        Some(path) => {
            let text = crate::error::read_to_string(path)?;
            Ok(Scrubber::with_rules(&path.display().to_string(), &text)?)
        }
    }
}
