//! The risk policy: how risky a fix for an error is ([`Policy::classify_error`]) and how
//! risky a changed path is ([`Policy::path_class`], which `guard` builds on).
//!
//! The file format is DESIGN.md's "Policy file" (`policies/default.yml` is the built-in
//! default); [`PolicyFile`] is its serde model and JSON Schema, [`Policy`] the compiled
//! form: every regex and glob is compiled once, at load, and a bad one is an input error
//! at its file, line and column. Classification itself is pure and does no I/O.

pub mod glob;
pub mod issue;

use std::collections::BTreeMap;

use regex::{Regex, RegexSet};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{InputError, Position, Result};
pub use glob::{GlobList, PathGlob};

/// The built-in policy, embedded from `policies/default.yml`.
pub const DEFAULT_POLICY: &str = include_str!("../../../../policies/default.yml");
const DEFAULT_POLICY_FILE: &str = "policies/default.yml (built in)";

/// How risky a fix (or a change) is, least to most risky: `Ord` follows risk.
/// `unknown` (nothing matched, a human decides) sits above `needs-validation`: knowing
/// nothing is riskier than knowing that a fix needs checking, but not a hard no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    Safe,
    NeedsValidation,
    Unknown,
    Critical,
}

impl Class {
    pub const ALL: [Class; 4] = [Class::Safe, Class::NeedsValidation, Class::Unknown, Class::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Safe => "safe",
            Self::NeedsValidation => "needs-validation",
            Self::Unknown => "unknown",
            Self::Critical => "critical",
        }
    }

    /// The issue / PR label for this class: `change-class:<class>`.
    pub fn label(self) -> String {
        format!("{CHANGE_CLASS_LABEL_PREFIX}{}", self.as_str())
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Class {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown class `{s}` (expected safe, needs-validation, critical or unknown)"))
    }
}

pub const CHANGE_CLASS_LABEL_PREFIX: &str = "change-class:";
/// Put on issues (and PRs) that a person must look at.
pub const NEEDS_HUMAN_REVIEW_LABEL: &str = "needs-human-review";

// ---------------------------------------------------------------------------------------
// The file, as people write it.
// ---------------------------------------------------------------------------------------

/// A policy file (`policies/default.yml`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "homeostat risk policy")]
pub struct PolicyFile {
    /// Format version; only 1 exists.
    pub version: u32,
    /// The classes in their fixed order, least to most risky (informative; checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<Class>>,
    /// How risky is a fix for an error?
    #[serde(default)]
    pub errors: ErrorsFile,
    /// How risky is a change (a diff)?
    #[serde(default)]
    pub changes: ChangesFile,
    /// What a bot may do.
    #[serde(default)]
    pub agent: AgentFile,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorsFile {
    /// Rules, in order; every rule that holds is a reason, the most risky class wins.
    #[serde(default)]
    pub rules: Vec<RuleFile>,
    /// The class when no rule holds.
    #[serde(default = "unknown_class")]
    pub default: Class,
}

impl Default for ErrorsFile {
    fn default() -> Self {
        Self { rules: Vec::new(), default: Class::Unknown }
    }
}

fn unknown_class() -> Class {
    Class::Unknown
}

/// One error rule: it holds when every condition in `when` holds; a condition holds when
/// any of its values matches.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// A name for reasons (default `errors.rules[i] (class)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Why the rule exists, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub class: Class,
    pub when: When,
}

/// Conditions of a rule. Each takes one value or a list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Regexes searched in the title (`Type: message`), the message and the raw stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Values>,
    /// Exception types, compared exactly (`TypeError`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub r#type: Option<Values>,
    /// Where the error happened (`popup`, `background`, …), compared ignoring ASCII case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<Values>,
    /// The event's platform (`javascript`, `python`, …), ignoring ASCII case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Values>,
    /// Path globs over the in-app frames' files (URLs reduced to their path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Values>,
    /// Issue labels, ignoring ASCII case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Values>,
    /// Releases: exact, or a glob such as `1.4.*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Values>,
    /// The event's environment (`production`, `staging`, …), ignoring ASCII case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Values>,
    /// Tags as `key: value` (or `key: [v1, v2]`); every key listed must be present with one
    /// of its values (keys exact, values exact or a glob such as `chrome-*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<std::collections::BTreeMap<String, Values>>,
}

/// One string or a list of strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Values(pub Vec<String>);

impl<'de> Deserialize<'de> for Values {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Values;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Values, E> {
                Ok(Values(vec![v.to_string()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Values, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<String>()? {
                    out.push(v);
                }
                Ok(Values(out))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl JsonSchema for Values {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Values".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "One string or a list of strings (any of them may match).",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangesFile {
    /// Class → path globs (CODEOWNERS/gitignore style); a path takes the most risky
    /// class whose globs cover it.
    #[serde(default)]
    pub paths: BTreeMap<Class, Vec<String>>,
    /// The class of a path no glob in `paths` covers (default `safe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Class>,
    /// Globs of test files (default: the built-in policy's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<Vec<String>>,
    /// Globs of files that are neither code nor tests (docs): they need no test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs: Option<Vec<String>>,
    /// Globs of dependency manifests and lock files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<String>>,
    /// Globs of CI workflow and action files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflows: Option<Vec<String>>,
    #[serde(default)]
    pub limits: Limits,
    /// Changes to non-test code must come with test changes.
    #[serde(default = "yes")]
    pub require_tests: bool,
    /// Patterns that must not appear in added lines (`unsafe`, `eval(`, …).
    #[serde(default)]
    pub escape_hatches: Vec<EscapeHatchFile>,
}

fn yes() -> bool {
    true
}

/// Size limits of a change a bot may merge alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<u64>,
    /// Added plus deleted lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_changed_lines: Option<u64>,
}

/// A pattern that must not be added, e.g. `unsafe` in Rust files.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EscapeHatchFile {
    pub name: String,
    /// A regex searched in each added line.
    pub pattern: String,
    /// Only in files these globs cover (default: every file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    /// Classes a bot may attempt to fix alone.
    #[serde(default = "default_agent_classes")]
    pub classes: Vec<Class>,
    /// hs-classify moves auto-fixable issues to the `homeostat:ai-queue` board column.
    #[serde(default)]
    pub queue: bool,
    /// Error classes whose fixes the merge gate may merge without a person (default
    /// `safe`): a `needs-validation` fix is attempted by the bot but validated by a person.
    #[serde(default = "default_agent_classes")]
    pub auto_merge: Vec<Class>,
}

impl Default for AgentFile {
    fn default() -> Self {
        Self { classes: default_agent_classes(), queue: false, auto_merge: default_agent_classes() }
    }
}

fn default_agent_classes() -> Vec<Class> {
    vec![Class::Safe]
}

// ---------------------------------------------------------------------------------------
// The compiled policy.
// ---------------------------------------------------------------------------------------

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

/// The answer to "how risky is a fix for this error?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    pub class: Class,
    pub auto_fixable: bool,
    pub reasons: Vec<Reason>,
}

/// Why: a rule that held and what it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub rule: String,
    pub matched: String,
}

#[derive(Debug, Clone)]
struct Rule {
    name: String,
    class: Class,
    /// Indexes into `Policy::text_set` / `Policy::text_regexes`.
    text: Option<Vec<usize>>,
    types: Option<Vec<String>>,
    surfaces: Option<Vec<String>>,
    platforms: Option<Vec<String>>,
    paths: Option<Vec<PathGlob>>,
    labels: Option<Vec<String>>,
    releases: Option<Vec<String>>,
    environments: Option<Vec<String>>,
    /// Every key must be present with one of its values.
    tags: Option<Vec<(String, Vec<String>)>>,
}

/// A compiled escape-hatch pattern.
#[derive(Debug, Clone)]
pub struct EscapeHatch {
    pub name: String,
    pub pattern: Regex,
    pub paths: Option<GlobList>,
}

impl EscapeHatch {
    pub fn applies_to(&self, path: &str) -> bool {
        self.paths.as_ref().is_none_or(|p| p.is_match(path))
    }
}

/// The compiled `changes` section.
#[derive(Debug, Clone)]
pub struct ChangesPolicy {
    /// Most risky class first, so the first match is the answer.
    pub paths: Vec<(Class, GlobList)>,
    pub default: Class,
    pub tests: GlobList,
    pub docs: GlobList,
    pub manifests: GlobList,
    pub workflows: GlobList,
    pub limits: Limits,
    pub require_tests: bool,
    pub escape_hatches: Vec<EscapeHatch>,
}

/// A loaded policy: regexes and globs compiled.
#[derive(Debug, Clone)]
pub struct Policy {
    source: String,
    file: PolicyFile,
    rules: Vec<Rule>,
    text_set: RegexSet,
    text_regexes: Vec<Regex>,
    default: Class,
    changes: ChangesPolicy,
    agent_classes: Vec<Class>,
}

impl Policy {
    /// The built-in default (`policies/default.yml`).
    pub fn builtin() -> Policy {
        // The embedded file is tested (`builtin_policy_loads`); a failure here is a build defect.
        match Self::compile(DEFAULT_POLICY_FILE, DEFAULT_POLICY, None) {
            Ok(policy) => policy,
            Err(e) => panic!("the built-in policy does not load: {e}"),
        }
    }

    /// Parses and compiles a policy; keys it leaves out (`changes.tests`, `docs`,
    /// `manifests`, `workflows`) come from the built-in policy.
    pub fn parse(file: &str, text: &str) -> Result<Policy> {
        let builtin: PolicyFile = crate::parse::yaml(DEFAULT_POLICY_FILE, DEFAULT_POLICY)?;
        Self::compile(file, text, Some(&builtin))
    }

    /// Where the policy came from (a file name).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The file as parsed (with built-in fallbacks not applied).
    pub fn file(&self) -> &PolicyFile {
        &self.file
    }

    pub fn changes(&self) -> &ChangesPolicy {
        &self.changes
    }

    pub fn agent_classes(&self) -> &[Class] {
        &self.agent_classes
    }

    /// Whether hs-classify moves auto-fixable issues to the ai-queue column.
    pub fn queue_auto_fixable(&self) -> bool {
        self.file.agent.queue
    }

    /// Whether the merge gate may merge a fix for an error of this class alone.
    pub fn may_auto_merge(&self, class: Class) -> bool {
        self.file.agent.auto_merge.contains(&class)
    }

    pub fn is_auto_fixable(&self, class: Class) -> bool {
        self.agent_classes.contains(&class)
    }

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

    fn compile(file: &str, text: &str, builtin: Option<&PolicyFile>) -> Result<Policy> {
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

        let mut text_sources = Vec::new();
        let mut rules = Vec::with_capacity(parsed.errors.rules.len());
        for (i, r) in parsed.errors.rules.iter().enumerate() {
            let w = &r.when;
            let name = r.name.clone().unwrap_or_else(|| format!("errors.rules[{i}] ({})", r.class));
            let conditions =
                [&w.text, &w.r#type, &w.surface, &w.platform, &w.path, &w.labels, &w.release, &w.environment];
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
        let text_regexes = text_sources
            .iter()
            .map(|s| {
                Regex::new(s).map_err(|e| InputError::new(at(s), format!("bad regex `{s}`: {}", regex_message(&e))))
            })
            .collect::<Result<Vec<_>>>()?;
        let text_set = RegexSet::new(&text_sources)
            .map_err(|e| InputError::new(Position::file(file), format!("the text regexes together: {e}")))?;

        let globs = |key: &str, values: &[String]| {
            GlobList::new(values).map_err(|(i, e)| {
                let g = &values[i];
                InputError::new(at(g), format!("{key}: bad glob `{g}`: {e}"))
            })
        };
        let c = &parsed.changes;
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
                    InputError::new(
                        at(&h.pattern),
                        format!("escape_hatches {}: bad regex: {}", h.name, regex_message(&e)),
                    )
                })?;
                let paths = h.paths.as_deref().map(|p| globs("changes.escape_hatches.paths", p)).transpose()?;
                Ok(EscapeHatch { name: h.name.clone(), pattern, paths })
            })
            .collect::<Result<Vec<_>>>()?;
        let changes = ChangesPolicy {
            paths,
            default: c.default.unwrap_or(Class::Safe),
            tests: globs("changes.tests", &fallback(&c.tests, |c| &c.tests))?,
            docs: globs("changes.docs", &fallback(&c.docs, |c| &c.docs))?,
            manifests: globs("changes.manifests", &fallback(&c.manifests, |c| &c.manifests))?,
            workflows: globs("changes.workflows", &fallback(&c.workflows, |c| &c.workflows))?,
            limits: c.limits,
            require_tests: c.require_tests,
            escape_hatches,
        };
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

    /// The JSON Schema of the policy file, as committed in `schema/policy.schema.json`.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(PolicyFile);
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_policy_loads() {
        let p = Policy::builtin();
        assert!(!p.rules.is_empty());
        assert_eq!(p.agent_classes(), &[Class::Safe, Class::NeedsValidation]);
        assert!(!p.changes().tests.is_empty());
    }

    #[test]
    fn classes_order_by_risk() {
        assert!(Class::Safe < Class::NeedsValidation);
        assert!(Class::NeedsValidation < Class::Unknown);
        assert!(Class::Unknown < Class::Critical);
        assert_eq!(serde_json::to_string(&Class::NeedsValidation).unwrap(), "\"needs-validation\"");
    }

    #[test]
    fn frame_paths_drop_scheme_host_and_query() {
        assert_eq!(frame_path("chrome-extension://abcdef/popup.js?v=1"), "popup.js");
        assert_eq!(frame_path("https://app.example.com/static/js/main.js#x"), "static/js/main.js");
        assert_eq!(frame_path("webpack:///./src/auth/login.ts"), "src/auth/login.ts");
        assert_eq!(frame_path("/srv/app/billing.py"), "srv/app/billing.py");
        assert_eq!(frame_path("src\\main.rs"), "src/main.rs");
    }
}
