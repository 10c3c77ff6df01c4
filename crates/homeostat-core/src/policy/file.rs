//! The policy file as people write it: its serde model and JSON Schema.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Class, Policy};

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

impl Policy {
    /// The JSON Schema of the policy file, as committed in `schema/policy.schema.json`.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(PolicyFile);
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        text
    }
}
