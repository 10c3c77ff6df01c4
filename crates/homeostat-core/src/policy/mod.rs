//! The risk policy: how risky a fix for an error is ([`Policy::classify_error`]) and how
//! risky a changed path is ([`Policy::path_class`], which `guard` builds on).
//!
//! The file format is DESIGN.md's "Policy file" (`policies/default.yml` is the built-in
//! default); [`PolicyFile`] is its serde model and JSON Schema, [`Policy`] the compiled
//! form: every regex and glob is compiled once, at load, and a bad one is an input error
//! at its file, line and column. Classification itself is pure and does no I/O.

mod classify;
mod compile;
mod file;
pub mod glob;
pub mod issue;

use regex::{Regex, RegexSet};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Result;
pub use classify::{ErrorFacts, RuleHits, facts_from_event, frame_path};
pub use file::{AgentFile, ChangesFile, ErrorsFile, EscapeHatchFile, Limits, PolicyFile, RuleFile, Values, When};
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
}
