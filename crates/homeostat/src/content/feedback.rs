//! The feedback loop: issues labelled `feedback` are summarised by the model into
//! suggested keywords and FAQ entries, written to `content/feedback/<period>.yml`, which
//! the next `generate` reads (keywords join their topic; FAQ entries reach the page prompt).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `content/feedback/<period>.yml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackFile {
    /// ISO week, e.g. `2026-W48`.
    pub period: String,
    #[serde(default)]
    pub summary: String,
    /// Issues the summary read.
    #[serde(default)]
    pub sources: Vec<u64>,
    #[serde(default)]
    pub keywords: Vec<SuggestedKeyword>,
    #[serde(default)]
    pub faq: Vec<SuggestedFaq>,
    /// The posts grouped by near-duplicates (hs-cluster's similarity), largest first: a
    /// request ten readers made is one line with a count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<FeedbackThread>,
}

/// Posts that ask for the same thing: the first one's title, how many, and their numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackThread {
    pub title: String,
    pub count: usize,
    pub sources: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestedKeyword {
    pub phrase: String,
    /// The topic it belongs to (a name from the topics file), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestedFaq {
    pub q: String,
    pub a: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

/// The answer schema of `prompts/content-feedback.j2`.
pub fn answer_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "required": ["summary", "keywords", "faq"],
        "properties": {
            "summary": {"type": "string"},
            "keywords": {"type": "array", "maxItems": 20, "items": {
                "type": "object", "required": ["phrase"],
                "properties": {"phrase": {"type": "string", "minLength": 2, "maxLength": 120},
                               "topic": {"type": ["string", "null"]}, "reason": {"type": "string"}}}},
            "faq": {"type": "array", "maxItems": 20, "items": {
                "type": "object", "required": ["q", "a"],
                "properties": {"q": {"type": "string", "minLength": 3}, "a": {"type": "string", "minLength": 1},
                               "topic": {"type": ["string", "null"]}}}}
        }
    })
}

/// Every feedback file in `dir`, oldest period first.
pub fn load_all(dir: &Path) -> Result<Vec<FeedbackFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut paths: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| Ok(crate::parse::yaml(&p.display().to_string(), &crate::error::read_to_string(p)?)?)).collect()
}
