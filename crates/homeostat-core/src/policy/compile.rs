//! Compiling a policy file: every regex and glob compiled once; a bad one is an input
//! error at its file, line and column.

use regex::{Regex, RegexSet};

use super::{ChangesFile, ChangesPolicy, Class, EscapeHatch, GlobList, PathGlob, Policy, PolicyFile, Rule};
use crate::error::{InputError, Position, Result};

impl Policy {
    pub(super) fn compile(file: &str, text: &str, builtin: Option<&PolicyFile>) -> Result<Policy> {
        let parsed: PolicyFile = crate::parse::yaml(file, text)?;
        let at = |needle: &str| locate(file, text, needle);
        if parsed.version != 1 {
            return Err(InputError::new(
                at("version"),
                format!("version {} is not supported (only 1)", parsed.version),
            ));
        }
        if let Some(classes) = &parsed.classes
            && (classes.windows(2).any(|w| w[0] >= w[1]) || classes.is_empty())
        {
            return Err(InputError::new(
                at("classes"),
                "classes must be listed least to most risky: safe, needs-validation, critical",
            ));
        }

        let (rules, text_sources) = compile_rules(&parsed, &at)?;
        let text_regexes = text_sources
            .iter()
            .map(|s| {
                Regex::new(s).map_err(|e| InputError::new(at(s), format!("bad regex `{s}`: {}", regex_message(&e))))
            })
            .collect::<Result<Vec<_>>>()?;
        let text_set = RegexSet::new(&text_sources)
            .map_err(|e| InputError::new(Position::file(file), format!("the text regexes together: {e}")))?;

        let changes = compile_changes(&parsed.changes, builtin, &at)?;
        Ok(Policy {
            source: file.to_string(),
            default: parsed.errors.default,
            agent_classes: parsed.agent.classes.clone(),
            file: parsed,
            rules,
            text_set,
            text_regexes,
            changes,
        })
    }
}

/// The `errors.rules`, and the text regexes they name (a rule's `text` holds indexes into
/// that list).
fn compile_rules(parsed: &PolicyFile, at: &impl Fn(&str) -> Position) -> Result<(Vec<Rule>, Vec<String>)> {
    let mut text_sources = Vec::new();
    let mut rules = Vec::with_capacity(parsed.errors.rules.len());
    for (i, r) in parsed.errors.rules.iter().enumerate() {
        let w = &r.when;
        let name = r.name.clone().unwrap_or_else(|| format!("errors.rules[{i}] ({})", r.class));
        let conditions = [&w.text, &w.r#type, &w.surface, &w.platform, &w.path, &w.labels, &w.release, &w.environment];
        if conditions.iter().all(|c| c.is_none()) && w.tags.is_none() {
            return Err(InputError::new(at("when"), format!("{name}: `when` needs at least one condition")));
        }
        let empty_tag = w.tags.as_ref().is_some_and(|t| t.is_empty() || t.values().any(|v| v.0.is_empty()));
        if empty_tag || conditions.iter().any(|c| c.as_ref().is_some_and(|v| v.0.is_empty())) {
            return Err(InputError::new(at("when"), format!("{name}: a condition with no values can never hold")));
        }
        let text_idx = w.text.as_ref().map(|values| {
            values
                .0
                .iter()
                .map(|v| {
                    text_sources.push(v.clone());
                    text_sources.len() - 1
                })
                .collect()
        });
        let paths = match &w.path {
            None => None,
            Some(values) => Some(
                values
                    .0
                    .iter()
                    .map(|g| PathGlob::new(g).map_err(|e| InputError::new(at(g), format!("bad glob `{g}`: {e}"))))
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        rules.push(Rule {
            name,
            class: r.class,
            text: text_idx,
            types: w.r#type.as_ref().map(|v| v.0.clone()),
            surfaces: w.surface.as_ref().map(|v| v.0.clone()),
            platforms: w.platform.as_ref().map(|v| v.0.clone()),
            paths,
            labels: w.labels.as_ref().map(|v| v.0.clone()),
            releases: w.release.as_ref().map(|v| v.0.clone()),
            environments: w.environment.as_ref().map(|v| v.0.clone()),
            tags: w.tags.as_ref().map(|t| t.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect()),
        });
    }
    Ok((rules, text_sources))
}

/// The `changes` section, each list that is not given taken from the built-in policy.
fn compile_changes(
    c: &ChangesFile,
    builtin: Option<&PolicyFile>,
    at: &impl Fn(&str) -> Position,
) -> Result<ChangesPolicy> {
    let globs = |key: &str, values: &[String]| {
        GlobList::new(values).map_err(|(i, e)| {
            let g = &values[i];
            InputError::new(at(g), format!("{key}: bad glob `{g}`: {e}"))
        })
    };
    let fallback = |own: &Option<Vec<String>>, pick: fn(&ChangesFile) -> &Option<Vec<String>>| -> Vec<String> {
        own.clone().or_else(|| builtin.and_then(|b| pick(&b.changes).clone())).unwrap_or_default()
    };
    let mut paths = Vec::new();
    for (class, values) in c.paths.iter().rev() {
        if *class == Class::Unknown {
            return Err(InputError::new(
                at("unknown:"),
                "changes.paths: a path class is safe, needs-validation or critical",
            ));
        }
        paths.push((*class, globs(&format!("changes.paths.{class}"), values)?));
    }
    let escape_hatches = c
        .escape_hatches
        .iter()
        .map(|h| {
            let pattern = Regex::new(&h.pattern).map_err(|e| {
                InputError::new(at(&h.pattern), format!("escape_hatches {}: bad regex: {}", h.name, regex_message(&e)))
            })?;
            let paths = h.paths.as_deref().map(|p| globs("changes.escape_hatches.paths", p)).transpose()?;
            Ok(EscapeHatch { name: h.name.clone(), pattern, paths })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ChangesPolicy {
        paths,
        default: c.default.unwrap_or(Class::Safe),
        tests: globs("changes.tests", &fallback(&c.tests, |c| &c.tests))?,
        docs: globs("changes.docs", &fallback(&c.docs, |c| &c.docs))?,
        manifests: globs("changes.manifests", &fallback(&c.manifests, |c| &c.manifests))?,
        workflows: globs("changes.workflows", &fallback(&c.workflows, |c| &c.workflows))?,
        limits: c.limits,
        require_tests: c.require_tests,
        escape_hatches,
    })
}

fn regex_message(e: &regex::Error) -> String {
    // The regex crate's message spans several lines with a caret diagram; keep its last
    // line ("error: …") and say where in the pattern.
    let text = e.to_string();
    let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(&text).trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

/// The position of `value` as written in the YAML `text` (plain, single- or
/// double-quoted), else of the file.
fn locate(file: &str, text: &str, value: &str) -> Position {
    let single = format!("'{}'", value.replace('\'', "''"));
    let double = serde_json::to_string(value).unwrap_or_default();
    for candidate in [single.as_str(), double.as_str(), value] {
        if candidate.is_empty() {
            continue;
        }
        if let Some(offset) = text.find(candidate) {
            return Position::from_offset(file, text, offset);
        }
    }
    Position::file(file)
}
