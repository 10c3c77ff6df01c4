//! A span of time as people write it in YAML (`90s`, `30m`, `1h 30m`, `90d`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A span of time written as people write it: `90s`, `30m`, `1h 30m`, `24h`, `7d`, `0s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }
    pub fn as_std(self) -> std::time::Duration {
        self.0
    }
}

impl std::str::FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        // Whole days, as people say them; jiff refuses days (a calendar unit) on a span.
        if let Some(days) = s.trim().strip_suffix('d').and_then(|d| d.trim().parse::<u64>().ok()) {
            return days.checked_mul(86_400).map(Self::from_secs).ok_or_else(|| format!("`{s}` is too long"));
        }
        let signed: jiff::SignedDuration =
            s.trim().parse().map_err(|e| format!("`{s}` is not a duration like 30s, 5m, 1h 30m or 7d ({e})"))?;
        if signed.is_negative() {
            return Err(format!("`{s}` is negative"));
        }
        Ok(Self(
            std::time::Duration::from_secs(signed.as_secs() as u64)
                + std::time::Duration::from_nanos(u64::from(signed.subsec_nanos().unsigned_abs())),
        ))
    }
}

impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.0.as_secs();
        match secs {
            s if s % 86_400 == 0 && s > 0 => write!(f, "{}d", s / 86_400),
            s if s % 3600 == 0 && s > 0 => write!(f, "{}h", s / 3600),
            s if s % 60 == 0 && s > 0 => write!(f, "{}m", s / 60),
            s => write!(f, "{s}s"),
        }
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration such as `30s`, `5m`, `1h 30m`, `24h` or `7d`.",
            "pattern": "^\\s*\\d"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_and_print_as_people_write_them() {
        let d: Duration = "1h 30m".parse().unwrap();
        assert_eq!(d.as_std().as_secs(), 5400);
        assert_eq!("0s".parse::<Duration>().unwrap().as_std().as_secs(), 0);
        assert!("soon".parse::<Duration>().is_err());
        assert_eq!(Duration::from_secs(1800).to_string(), "30m");
        let days: Duration = "90d".parse().unwrap();
        assert_eq!((days.as_std().as_secs(), days.to_string()), (90 * 86_400, "90d".to_string()));
        assert_eq!(Duration::from_secs(36 * 3600).to_string(), "36h");
        assert!("99999999999999999d".parse::<Duration>().is_err());
    }
}
