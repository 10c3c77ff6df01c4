//! Compiling a policy file: every regex and glob compiled once; a bad one is an input
//! error at its file, line and column, taken from the file's [`Spans`] by the path of the
//! key or list item that holds it (never by searching the text for the value).

use regex::{Regex, RegexSet};

use super::{ChangesFile, ChangesPolicy, Class, EscapeHatch, GlobList, PathGlob, Policy, PolicyFile, Rule, When};
use crate::error::{InputError, Position, Result};
use crate::parse::Spans;

impl Policy {
    pub(super) fn compile(file: &str, text: &str, builtin: Option<&PolicyFile>) -> Result<Policy> {
        let parsed: PolicyFile = crate::parse::yaml(file, text)?;
        let spans = Spans::read(file, text);
        if parsed.version != 1 {
            return Err(InputError::new(
                spans.position("version"),
                format!("version {} is not supported (only 1)", parsed.version),
            ));
        }
        if let Some(classes) = &parsed.classes
            && (classes.windows(2).any(|w| w[0] >= w[1]) || classes.is_empty())
        {
            return Err(InputError::new(
                spans.position("classes"),
                "classes must be listed least to most risky: safe, needs-validation, critical",
            ));
        }

        let (rules, text_sources) = compile_rules(&parsed, &spans)?;
        let text_regexes = text_sources
            .iter()
            .map(|(s, at)| {
                Regex::new(s)
                    .map_err(|e| InputError::new(at.clone(), format!("bad regex `{s}`: {}", regex_message(&e))))
            })
            .collect::<Result<Vec<_>>>()?;
        let text_sources: Vec<String> = text_sources.into_iter().map(|(s, _)| s).collect();
        let text_set = RegexSet::new(&text_sources)
            .map_err(|e| InputError::new(Position::file(file), format!("the text regexes together: {e}")))?;

        let changes = compile_changes(&parsed.changes, builtin, &spans)?;
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

/// The text regexes of the rules, each with where it is written.
type TextSources = Vec<(String, Position)>;

/// The `errors.rules`, and the text regexes they name (a rule's `text` holds indexes into
/// that list).
fn compile_rules(parsed: &PolicyFile, spans: &Spans) -> Result<(Vec<Rule>, TextSources)> {
    let mut text_sources = Vec::new();
    let mut rules = Vec::with_capacity(parsed.errors.rules.len());
    for (i, r) in parsed.errors.rules.iter().enumerate() {
        let w = &r.when;
        let when = format!("errors.rules[{i}].when");
        let name = r.name.clone().unwrap_or_else(|| format!("errors.rules[{i}] ({})", r.class));
        check_conditions(w, &when, &name, spans)?;
        let text_idx = w.text.as_ref().map(|values| {
            values
                .0
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    text_sources.push((v.clone(), spans.item_position(&format!("{when}.text"), j)));
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
                    .enumerate()
                    .map(|(j, g)| {
                        PathGlob::new(g).map_err(|e| {
                            InputError::new(
                                spans.item_position(&format!("{when}.path"), j),
                                format!("bad glob `{g}`: {e}"),
                            )
                        })
                    })
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

/// A rule's `when` (at path `when`) has a condition, and none of its conditions is empty:
/// an empty one is reported at its own key.
fn check_conditions(w: &When, when: &str, name: &str, spans: &Spans) -> Result<()> {
    let conditions = [
        ("text", &w.text),
        ("type", &w.r#type),
        ("surface", &w.surface),
        ("platform", &w.platform),
        ("path", &w.path),
        ("labels", &w.labels),
        ("release", &w.release),
        ("environment", &w.environment),
    ];
    if conditions.iter().all(|(_, c)| c.is_none()) && w.tags.is_none() {
        return Err(InputError::new(spans.position(when), format!("{name}: `when` needs at least one condition")));
    }
    let tags = w.tags.iter().flatten().map(|(k, v)| (format!("tags.{k}"), Some(v)));
    let mut empty = conditions.iter().map(|(k, c)| ((*k).to_string(), c.as_ref())).chain(tags);
    let empty = match empty.find(|(_, c)| c.is_some_and(|v| v.0.is_empty())) {
        Some((key, _)) => Some(format!("{when}.{key}")),
        None => w.tags.as_ref().is_some_and(|t| t.is_empty()).then(|| format!("{when}.tags")),
    };
    match empty {
        Some(path) => {
            Err(InputError::new(spans.position(&path), format!("{name}: a condition with no values can never hold")))
        }
        None => Ok(()),
    }
}

/// The `changes` section, each list that is not given taken from the built-in policy (whose
/// globs compile, so a position in this file is only looked up for this file's own lists).
fn compile_changes(c: &ChangesFile, builtin: Option<&PolicyFile>, spans: &Spans) -> Result<ChangesPolicy> {
    // `key` names the list in the message, `path` finds it in the file.
    let globs_at = |key: &str, path: &str, values: &[String]| {
        GlobList::new(values).map_err(|(i, e)| {
            let g = &values[i];
            InputError::new(spans.item_position(path, i), format!("{key}: bad glob `{g}`: {e}"))
        })
    };
    let globs = |key: &str, values: &[String]| globs_at(key, key, values);
    let fallback = |own: &Option<Vec<String>>, pick: fn(&ChangesFile) -> &Option<Vec<String>>| -> Vec<String> {
        own.clone().or_else(|| builtin.and_then(|b| pick(&b.changes).clone())).unwrap_or_default()
    };
    let mut paths = Vec::new();
    for (class, values) in c.paths.iter().rev() {
        if *class == Class::Unknown {
            return Err(InputError::new(
                spans.position(&format!("changes.paths.{class}")),
                "changes.paths: a path class is safe, needs-validation or critical",
            ));
        }
        paths.push((*class, globs(&format!("changes.paths.{class}"), values)?));
    }
    let escape_hatches = c
        .escape_hatches
        .iter()
        .enumerate()
        .map(|(k, h)| {
            let hatch = format!("changes.escape_hatches[{k}]");
            let pattern = Regex::new(&h.pattern).map_err(|e| {
                InputError::new(
                    spans.value_position(&format!("{hatch}.pattern")),
                    format!("escape_hatches {}: bad regex: {}", h.name, regex_message(&e)),
                )
            })?;
            let paths = h
                .paths
                .as_deref()
                .map(|p| globs_at("changes.escape_hatches.paths", &format!("{hatch}.paths"), p))
                .transpose()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match Policy::parse("p.yml", text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_bad_glob_written_twice_is_found_where_it_is_checked() {
        // `changes.paths` is checked before `changes.docs`: the error is the second copy's.
        let text = "version: 1\nchanges:\n  docs: ['x/[']\n  paths:\n    critical: [ok/**, 'x/[']\n";
        let e = error(text);
        assert!(e.starts_with("p.yml:5:23: changes.paths.critical: bad glob `x/[`"), "{e}");
        let text = "version: 1\nchanges:\n  escape_hatches:\n    - {name: a, pattern: b, paths: ['x/[']}\n";
        let e = error(text);
        assert!(e.starts_with("p.yml:4:37: changes.escape_hatches.paths: bad glob"), "{e}");
    }

    #[test]
    fn a_bad_regex_is_found_at_its_item_not_at_the_same_text_elsewhere() {
        let text = "version: 1\nerrors:\n  rules:\n    - {name: 'x((', class: safe, when: {type: 'x(('}}\n    - {class: safe, when: {text: [ok, 'x((']}}\n";
        let e = error(text);
        assert!(e.starts_with("p.yml:5:39: bad regex `x((`"), "{e}");
        let text = "version: 1\nerrors:\n  rules:\n    - {name: a, class: safe, when: {type: '(('}}\nchanges:\n  escape_hatches:\n    - name: b\n      pattern: '(('\n";
        let e = error(text);
        assert!(e.starts_with("p.yml:8:16: escape_hatches b: bad regex"), "{e}");
    }

    #[test]
    fn an_empty_condition_is_found_in_its_own_rule() {
        let text = "version: 1\nerrors:\n  rules:\n    - class: safe\n      when: {type: [A]}\n    - class: safe\n      when:\n        type: A\n        surface: []\n";
        let e = error(text);
        assert!(e.starts_with("p.yml:9:9: errors.rules[1] (safe): a condition with no values"), "{e}");
        let text =
            "version: 1\nerrors:\n  rules:\n    - {class: safe, when: {type: A}}\n    - {class: safe, when: {}}\n";
        let e = error(text);
        assert!(e.starts_with("p.yml:5:21: errors.rules[1] (safe): `when` needs"), "{e}");
        let text = "version: 1\nchanges:\n  paths:\n    critical: [a]\n    unknown: [b]\n";
        assert!(error(text).starts_with("p.yml:5:5: changes.paths: a path class"), "{}", error(text));
    }
}
