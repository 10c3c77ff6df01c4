//! Classification: what is known about an error, which rules hold for it, and the class
//! of a changed path.

use serde::{Deserialize, Serialize};

use super::{Class, Classification, Policy, Reason, Rule, glob, issue};

/// What the classifier knows about one error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorFacts {
    pub title: String,
    pub message: String,
    pub stack: String,
    pub r#type: String,
    /// Every surface the error was seen on (an event has one; an issue may have several).
    pub surfaces: Vec<String>,
    pub platform: Option<String>,
    pub release: Option<String>,
    /// Every environment the error was seen in.
    pub environments: Vec<String>,
    /// Tags as `key=value`, every value seen.
    pub tags: Vec<String>,
    pub labels: Vec<String>,
    pub in_app_files: Vec<String>,
}

/// The facts of an event as the event reader and the fingerprint engine see it: the
/// fingerprint's title, type, platform and in-app frames, the event's message, raw stack,
/// surface and release.
pub fn facts_from_event(event: &crate::event::ErrorEvent, fp: &crate::fingerprint::Fingerprint) -> ErrorFacts {
    let message = event
        .message
        .clone()
        .or_else(|| event.exceptions.iter().rev().find_map(|e| e.value.clone()))
        .unwrap_or_default();
    let stack = event.stack.clone().unwrap_or_else(|| {
        // A Sentry event has frames, not a raw stack: render them as one.
        let mut out = String::new();
        for e in &event.exceptions {
            out.push_str(&format!(
                "{}: {}\n",
                e.r#type.as_deref().unwrap_or("Error"),
                e.value.as_deref().unwrap_or("")
            ));
            for f in e.frames.iter().rev() {
                let file = f.abs_path.as_deref().or(f.filename.as_deref()).unwrap_or("?");
                out.push_str(&format!(
                    "    at {} ({file}:{})\n",
                    f.function.as_deref().unwrap_or("?"),
                    f.lineno.unwrap_or(0)
                ));
            }
        }
        out
    });
    ErrorFacts {
        title: fp.title.clone(),
        message,
        stack,
        r#type: fp.r#type.clone(),
        surfaces: event.surface.iter().cloned().collect(),
        platform: Some(fp.platform.clone()).filter(|p| !p.is_empty()),
        release: event.release.clone(),
        environments: event.environment.iter().cloned().collect(),
        tags: event.tags.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        labels: Vec::new(),
        in_app_files: in_app_files(event, fp),
    }
}

/// The in-app frames' files with their full paths: the fingerprint engine decides which
/// frames are in-app but keeps only a normalised file name, so the paths come from the
/// event's frames (or its raw stack) whose file the engine counted as in-app.
fn in_app_files(event: &crate::event::ErrorEvent, fp: &crate::fingerprint::Fingerprint) -> Vec<String> {
    let base = |p: &str| p.rsplit(['/', '\\']).next().unwrap_or(p).to_string();
    let in_app: std::collections::HashSet<String> =
        fp.frames.iter().filter(|f| f.in_app).filter_map(|f| f.file.as_deref().map(base)).collect();
    let mut out: Vec<String> = Vec::new();
    let mut keep = |path: &str, flagged: Option<bool>| {
        let counted = flagged.unwrap_or_else(|| in_app.contains(&base(path)));
        if counted && !out.iter().any(|p| p == path) {
            out.push(path.to_string());
        }
    };
    for frame in event.exceptions.iter().flat_map(|e| e.frames.iter()).rev() {
        if let Some(path) = frame.abs_path.as_deref().or(frame.filename.as_deref()) {
            keep(path, frame.in_app);
        }
    }
    if let Some(stack) = &event.stack {
        for path in issue::stack_files(stack) {
            keep(&path, None);
        }
    }
    out
}
impl Policy {
    /// How risky is a fix for this error: the most risky class among the rules that
    /// hold (each named as a reason), else `errors.default`.
    pub fn classify_error(&self, facts: &ErrorFacts) -> Classification {
        let hits = self.text_hits(facts);
        let in_app = self.in_app_paths(facts);
        let mut class = None;
        let mut reasons = Vec::new();
        for rule in &self.rules {
            if let Some(matched) = self.rule_holds(rule, facts, &hits, &in_app) {
                class = class.max(Some(rule.class));
                reasons.push(Reason { rule: rule.name.clone(), matched: matched.join("; ") });
            }
        }
        let class = class.unwrap_or_else(|| {
            reasons
                .push(Reason { rule: "errors.default".into(), matched: format!("no rule matched: {}", self.default) });
            self.default
        });
        Classification { class, auto_fixable: self.is_auto_fixable(class), reasons }
    }

    /// The class of a changed path from `changes.paths` (the most risky class whose
    /// globs cover it), or `None` when no glob does.
    pub fn path_class(&self, path: &str) -> Option<Class> {
        self.path_class_with_glob(path).map(|(c, _)| c)
    }

    /// [`Self::path_class`] with the glob that decided it.
    pub fn path_class_with_glob(&self, path: &str) -> Option<(Class, &str)> {
        self.changes.paths.iter().find_map(|(class, globs)| globs.matching(path).map(|g| (*class, g)))
    }

    /// Whether `path` is a test file (`changes.tests`).
    pub fn is_test_path(&self, path: &str) -> bool {
        self.changes.tests.is_match(path)
    }

    /// The in-app files as paths, only when some rule looks at paths.
    fn in_app_paths(&self, facts: &ErrorFacts) -> Vec<String> {
        if self.rules.iter().any(|r| r.paths.is_some()) {
            facts.in_app_files.iter().map(|f| frame_path(f)).collect()
        } else {
            Vec::new()
        }
    }

    /// Which text regexes match the title, message or stack.
    fn text_hits(&self, facts: &ErrorFacts) -> Vec<bool> {
        let mut hits = vec![false; self.text_regexes.len()];
        if hits.is_empty() {
            return hits;
        }
        for field in [&facts.title, &facts.message, &facts.stack] {
            for i in self.text_set.matches(field).iter() {
                hits[i] = true;
            }
        }
        hits
    }

    /// The list of what matched when every condition of `rule` holds.
    fn rule_holds(&self, rule: &Rule, facts: &ErrorFacts, hits: &[bool], in_app: &[String]) -> Option<Vec<String>> {
        let mut matched = Vec::new();
        if let Some(indexes) = &rule.text {
            let i = indexes.iter().copied().find(|&i| hits[i])?;
            let re = &self.text_regexes[i];
            let (field, found) = [("title", &facts.title), ("message", &facts.message), ("stack", &facts.stack)]
                .into_iter()
                .find_map(|(name, text)| re.find(text).map(|m| (name, m.as_str())))?;
            matched.push(format!("text /{}/ found {:?} in the {field}", re.as_str(), snippet(found)));
        }
        if let Some(types) = &rule.types {
            let t = types.iter().find(|t| **t == facts.r#type)?;
            matched.push(format!("type {t}"));
        }
        if let Some(surfaces) = &rule.surfaces {
            let v = surfaces.iter().find(|v| facts.surfaces.iter().any(|s| v.eq_ignore_ascii_case(s)))?;
            matched.push(format!("surface {v}"));
        }
        if let Some(platforms) = &rule.platforms {
            let p = facts.platform.as_deref()?;
            let v = platforms.iter().find(|v| v.eq_ignore_ascii_case(p))?;
            matched.push(format!("platform {v}"));
        }
        if let Some(globs) = &rule.paths {
            let (glob, file) = globs.iter().find_map(|g| in_app.iter().find(|f| g.is_match(f)).map(|f| (g, f)))?;
            matched.push(format!("path {} covers {file}", glob.as_str()));
        }
        if let Some(labels) = &rule.labels {
            let v = labels.iter().find(|v| facts.labels.iter().any(|l| l.eq_ignore_ascii_case(v)))?;
            matched.push(format!("label {v}"));
        }
        if let Some(releases) = &rule.releases {
            let r = facts.release.as_deref()?;
            let v = releases.iter().find(|v| *v == r || glob::wildmatch(v, r))?;
            matched.push(format!("release {v} ({r})"));
        }
        if let Some(environments) = &rule.environments {
            let v = environments.iter().find(|v| facts.environments.iter().any(|e| v.eq_ignore_ascii_case(e)))?;
            matched.push(format!("environment {v}"));
        }
        if let Some(tags) = &rule.tags {
            for (key, values) in tags {
                let (v, seen) = values.iter().find_map(|v| {
                    facts.tags.iter().find_map(|t| {
                        let (k, seen) = t.split_once('=')?;
                        (k == key && (v == seen || glob::wildmatch(v, seen))).then_some((v, seen))
                    })
                })?;
                matched.push(format!("tag {key}={v} ({seen})"));
            }
        }
        Some(matched)
    }

    /// Per rule, how many of `sample` it holds for (for `check-policy`).
    pub fn rule_hits<'a>(&'a self, sample: &[ErrorFacts]) -> Vec<RuleHits<'a>> {
        let mut out: Vec<RuleHits> = self
            .rules
            .iter()
            .map(|r| RuleHits { rule: &r.name, class: r.class, count: 0, examples: Vec::new() })
            .collect();
        for facts in sample {
            let hits = self.text_hits(facts);
            let in_app = self.in_app_paths(facts);
            for (rule, row) in self.rules.iter().zip(out.iter_mut()) {
                if self.rule_holds(rule, facts, &hits, &in_app).is_some() {
                    row.count += 1;
                    if row.examples.len() < 3 {
                        row.examples.push(snippet(&facts.title));
                    }
                }
            }
        }
        out
    }
}

/// How often one rule held on a sample.
#[derive(Debug, Clone, Serialize)]
pub struct RuleHits<'a> {
    pub rule: &'a str,
    pub class: Class,
    pub count: usize,
    pub examples: Vec<String>,
}

/// A frame's file as a repository-like path: a URL loses its scheme, host, query and
/// fragment (`chrome-extension://id/popup.js?v=2` → `popup.js`), a leading `/` or `./`
/// is dropped, and `\` becomes `/`.
pub fn frame_path(file: &str) -> String {
    let mut rest = file;
    if let Some(i) = rest.find("://")
        && rest[..i].chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    {
        rest = &rest[i + 3..];
        rest = rest.find('/').map_or("", |j| &rest[j..]);
    }
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let mut path = rest.replace('\\', "/");
    loop {
        if let Some(p) = path.strip_prefix('/') {
            path = p.to_string();
        } else if let Some(p) = path.strip_prefix("./") {
            path = p.to_string();
        } else {
            break;
        }
    }
    path
}

/// A short, single-line excerpt for reasons.
fn snippet(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    crate::limits::truncate_chars(line, 80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_paths_drop_scheme_host_and_query() {
        assert_eq!(frame_path("chrome-extension://abcdef/popup.js?v=1"), "popup.js");
        assert_eq!(frame_path("https://app.example.com/static/js/main.js#x"), "static/js/main.js");
        assert_eq!(frame_path("webpack:///./src/auth/login.ts"), "src/auth/login.ts");
        assert_eq!(frame_path("/srv/app/billing.py"), "srv/app/billing.py");
        assert_eq!(frame_path("src\\main.rs"), "src/main.rs");
    }
}
