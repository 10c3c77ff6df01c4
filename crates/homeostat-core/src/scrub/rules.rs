//! Rule files: their serde shape, compiling them into a [`Scrubber`] (a bad rule is an
//! input error at its file, line and column), and finding positions in them.

use regex::{Regex, RegexSet};
use serde::Deserialize;

use super::{Kind, MAX_PLACEHOLDER, Rule, Scrubber, Validate, is_kebab, is_placeholder};
use crate::error::{InputError, Position, Result};

/// A rule file: `policies/scrub.yml`, or the user's file named by `scrub.rules`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    version: u32,
    #[serde(default)]
    rules: Vec<RuleSpec>,
    /// Names of earlier (built-in) rules to turn off.
    #[serde(default)]
    disable: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: String,
    category: Kind,
    #[serde(default)]
    placeholder: Option<String>,
    pattern: String,
    #[serde(default)]
    validate: Option<Validate>,
    #[serde(default)]
    #[allow(dead_code)] // for people and docs/scrub.md
    description: Option<String>,
}

impl Scrubber {
    pub(super) fn compile(mut rules: Vec<Rule>, file: &str, text: &str) -> Result<Scrubber> {
        let parsed: RuleFile = crate::parse::yaml(file, text)?;
        if parsed.version != 1 {
            return Err(InputError::new(
                key_position(file, text, None, "version"),
                format!("unsupported scrub rules version {} (expected 1)", parsed.version),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for spec in parsed.rules {
            if !seen.insert(spec.name.clone()) {
                return Err(InputError::new(
                    key_position(file, text, Some(&spec.name), "name"),
                    format!("rule `{}` is defined twice", spec.name),
                ));
            }
            let rule = Rule::compile(file, text, spec)?;
            match rules.iter_mut().find(|r| r.name == rule.name) {
                Some(existing) => *existing = rule,
                None => rules.push(rule),
            }
        }
        for name in &parsed.disable {
            let before = rules.len();
            rules.retain(|r| &r.name != name);
            if rules.len() == before {
                return Err(InputError::new(
                    value_position(file, text, name).unwrap_or_else(|| key_position(file, text, None, "disable")),
                    format!("disable: no rule named `{name}`"),
                ));
            }
        }
        // A set too big for the default size limit only loses the shortcut, not a rule.
        let prefilter = RegexSet::new(rules.iter().map(|r| r.regex.as_str())).ok();
        Ok(Scrubber { rules, prefilter })
    }
}

impl Rule {
    fn compile(file: &str, text: &str, spec: RuleSpec) -> Result<Rule> {
        let at = |key: &str| key_position(file, text, Some(&spec.name), key);
        if !is_kebab(&spec.name) {
            return Err(InputError::new(at("name"), format!("rule name `{}` must be lowercase kebab-case", spec.name)));
        }
        let placeholder = spec.placeholder.clone().unwrap_or_else(|| format!("[{}]", spec.name));
        if !is_placeholder(&placeholder) {
            return Err(InputError::new(
                at("placeholder"),
                format!(
                    "placeholder `{placeholder}` must look like `[lowercase-kebab]` (at most {MAX_PLACEHOLDER} characters)"
                ),
            ));
        }
        let regex = Regex::new(&spec.pattern).map_err(|e| {
            InputError::new(at("pattern"), format!("rule `{}`: invalid regex: {}", spec.name, one_line(&e.to_string())))
        })?;
        if regex.is_match("") {
            return Err(InputError::new(
                at("pattern"),
                format!("rule `{}`: the pattern matches empty text", spec.name),
            ));
        }
        let redact_groups = regex
            .capture_names()
            .enumerate()
            .filter(|(_, name)| name.is_some_and(|n| n == "redact" || n.starts_with("redact_")))
            .map(|(i, _)| i)
            .collect();
        Ok(Rule { name: spec.name, kind: spec.category, placeholder, regex, redact_groups, validate: spec.validate })
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where `key:` sits in a rule file: inside the rule named `rule` when given (the first
/// such key after its `name:` line), else the first at any depth. Points at the value.
fn key_position(file: &str, text: &str, rule: Option<&str>, key: &str) -> Position {
    let from = rule.and_then(|name| name_offset(text, name)).unwrap_or(0);
    let mut offset = from;
    for line in text[from..].split_inclusive('\n') {
        let trimmed = line.trim_start().trim_start_matches("- ");
        if let Some(rest) = trimmed.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            let value_at = line.len() - rest.trim_start().len();
            return Position::from_offset(file, text, offset + value_at);
        }
        offset += line.len();
    }
    match rule.and_then(|name| name_offset(text, name)) {
        Some(at) => Position::from_offset(file, text, at),
        None => Position::file(file),
    }
}

/// The start of the line that names rule `name`.
fn name_offset(text: &str, name: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start().trim_start_matches("- ");
        if let Some(rest) = trimmed.strip_prefix("name:") {
            let value = rest.trim().trim_matches(['"', '\'']);
            if value == name {
                return Some(offset);
            }
        }
        offset += line.len();
    }
    None
}

/// The first occurrence of `value` as a word in `text`.
fn value_position(file: &str, text: &str, value: &str) -> Option<Position> {
    text.match_indices(value)
        .find(|(i, _)| {
            let before = text[..*i].chars().next_back();
            let after = text[i + value.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '-')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '-')
        })
        .map(|(i, _)| Position::from_offset(file, text, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_positions_point_at_values() {
        let text =
            "version: 1\nrules:\n  - name: a\n    pattern: 'x'\n  - name: b\n    category: secret\n    pattern: 'y('\n";
        assert_eq!(key_position("f", text, Some("b"), "pattern").to_string(), "f:7:14");
        assert_eq!(key_position("f", text, Some("a"), "pattern").to_string(), "f:4:14");
        assert_eq!(key_position("f", text, None, "version").to_string(), "f:1:10");
    }
}
