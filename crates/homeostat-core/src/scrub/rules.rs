//! Rule files: their serde shape, and compiling them into a [`Scrubber`] (a bad rule is
//! an input error at its file, line and column, taken from the file's [`Spans`] by the
//! path of the value that is wrong).

use regex::{Regex, RegexSet};
use serde::Deserialize;

use super::{Kind, MAX_PLACEHOLDER, Rule, Scrubber, Validate, is_kebab, is_placeholder};
use crate::error::{InputError, Result};
use crate::parse::Spans;

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
        let spans = Spans::read(file, text);
        if parsed.version != 1 {
            return Err(InputError::new(
                spans.value_position("version"),
                format!("unsupported scrub rules version {} (expected 1)", parsed.version),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, spec) in parsed.rules.into_iter().enumerate() {
            if !seen.insert(spec.name.clone()) {
                return Err(InputError::new(
                    spans.value_position(&format!("rules[{i}].name")),
                    format!("rule `{}` is defined twice", spec.name),
                ));
            }
            let rule = Rule::compile(&spans, i, spec)?;
            match rules.iter_mut().find(|r| r.name == rule.name) {
                Some(existing) => *existing = rule,
                None => rules.push(rule),
            }
        }
        for (i, name) in parsed.disable.iter().enumerate() {
            let before = rules.len();
            rules.retain(|r| &r.name != name);
            if rules.len() == before {
                return Err(InputError::new(
                    spans.item_position("disable", i),
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
    /// Compiles `rules[index]`; a bad value is reported where it is written (a placeholder
    /// left to its default, at the rule).
    fn compile(spans: &Spans, index: usize, spec: RuleSpec) -> Result<Rule> {
        let at = |key: &str| spans.value_position(&format!("rules[{index}].{key}"));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match Scrubber::compile(Vec::new(), "f", text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn errors_point_at_the_value_that_is_wrong() {
        let text = "version: 1\nrules:\n  - name: b\n    category: secret\n    pattern: 'y('\n";
        assert!(error(text).starts_with("f:5:14: rule `b`: invalid regex"), "{}", error(text));
        assert!(error("version: 2\n").starts_with("f:1:10: "), "{}", error("version: 2\n"));
        assert!(error("version: 1\ndisable:\n  - nope\n").starts_with("f:3:5: "));
    }

    #[test]
    fn a_repeated_value_is_found_where_it_is_wrong() {
        // A second rule `b`: the error is at the second `name: b`, not the first.
        let rule = "  - name: b\n    category: secret\n    pattern: 'b[0-9]'\n";
        let e = error(&format!("version: 1\nrules:\n{rule}{rule}"));
        assert!(e.starts_with("f:6:11: rule `b` is defined twice"), "{e}");
        // The bad pattern of rule `c`, written in flow style after another rule's `pattern:`.
        let text = "version: 1\nrules:\n  - name: pattern\n    category: secret\n    pattern: 'p'\n  - {name: c, category: secret, pattern: '(('}\n";
        let e = error(text);
        assert!(e.starts_with("f:6:42: rule `c`: invalid regex"), "{e}");
        // `disable: [y, xyz]` after a rule whose pattern is `xyz`: the item, not the pattern.
        let text = "version: 1\nrules:\n  - name: y\n    category: secret\n    pattern: xyz\ndisable: [y, xyz]\n";
        let e = error(text);
        assert!(e.starts_with("f:6:14: disable: no rule named `xyz`"), "{e}");
    }
}
