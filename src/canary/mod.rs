//! The canary watch (hs-canary): metric sources ([`source`]), the Argo-style measurement
//! loop ([`watch`]), the final Kayenta-style comparison ([`judge`], pure), what happens on
//! rollback or promote ([`action`]) and the step summary's charts ([`chart`]).

pub mod action;
pub mod chart;
pub mod config;
pub mod judge;
pub mod source;
pub mod watch;

pub use config::{ActionConfig, CanaryConfig, CommandLine, MetricConfig, SourceConfig};
pub use watch::{Decision, Report};

use crate::config::Config;
use crate::error::{Error, Position, Result};

/// The `canary` section of `config`, checked beyond what serde checks. Problems name the
/// config file and the line of the offending key.
pub fn section(config: &Config) -> Result<&CanaryConfig> {
    let file = config.source.as_ref().map_or_else(|| "homeostat.yml".to_string(), |p| p.display().to_string());
    let text = config.source.as_ref().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    let at = |needle: &str| match text.find(needle) {
        Some(offset) => Position::from_offset(&file, &text, offset),
        None => Position::file(&file),
    };
    let Some(canary) = config.canary.as_ref() else {
        return Err(Error::input(Position::file(&file), "no `canary:` section"));
    };
    validate(canary).map_err(|(key, message)| Error::input(at(&key), format!("canary: {message}")))?;
    Ok(canary)
}

/// Checks what the types cannot say; on a problem returns (a key to locate, message).
pub fn validate(c: &CanaryConfig) -> std::result::Result<(), (String, String)> {
    let err = |key: &str, msg: String| Err((key.to_string(), msg));
    if c.metrics.is_empty() {
        return err("metrics:", "`metrics` needs at least one metric".into());
    }
    if c.count == 0 {
        return err("count:", "`count` must be at least 1".into());
    }
    if !(c.judge.confidence > 0.5 && c.judge.confidence < 0.999_999) {
        return err("confidence:", format!("judge.confidence {} must be between 0.5 and 0.999999", c.judge.confidence));
    }
    if !(c.judge.tolerance >= 0.0 && c.judge.tolerance.is_finite()) {
        return err("tolerance:", "judge.tolerance must be a number ≥ 0".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for m in &c.metrics {
        let key = format!("name: {}", m.name);
        if m.name.trim().is_empty() {
            return err("name:", "a metric needs a name".into());
        }
        if !seen.insert(m.name.as_str()) {
            return err(&key, format!("metric `{}` is defined twice", m.name));
        }
        if (m.max_increase.is_some() || m.max_decrease.is_some()) && m.baseline.is_none() {
            return err(&key, format!("metric `{}`: max_increase/max_decrease need a `baseline` source", m.name));
        }
        for (k, v) in [("max_increase", m.max_increase), ("max_decrease", m.max_decrease)] {
            if v.is_some_and(|v| !(v >= 0.0 && v.is_finite())) {
                return err(k, format!("metric `{}`: {k} must be a number ≥ 0", m.name));
            }
        }
        if let (Some(min), Some(max)) = (m.min, m.max)
            && min > max
        {
            return err(&key, format!("metric `{}`: min {min} is above max {max}", m.name));
        }
        if m.max.is_none()
            && m.min.is_none()
            && m.max_increase.is_none()
            && m.max_decrease.is_none()
            && m.baseline.is_none()
        {
            return err(
                &key,
                format!("metric `{}` has no bound (max, min, max_increase, max_decrease) and no baseline", m.name),
            );
        }
    }
    for (key, action) in [("on_rollback:", &c.on_rollback), ("on_promote:", &c.on_promote)] {
        if let Some(a) = action {
            match (&a.run, &a.revert) {
                (Some(_), Some(_)) => {
                    return err(key, format!("{} takes `run` or `revert`, not both", key.trim_end_matches(':')));
                }
                (None, None) => return err(key, format!("{} needs `run` or `revert`", key.trim_end_matches(':'))),
                (Some(CommandLine::Args(args)), None) if args.is_empty() => {
                    return err(key, "an empty command".into());
                }
                _ => {}
            }
        }
    }
    Ok(())
}
