//! The topics and keywords file (`content/topics.yml`).

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Position, Result};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicsFile {
    pub topics: Vec<Topic>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub intent: Intent,
    pub funnel: Funnel,
    /// 0–100; higher is written first.
    pub priority: u8,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<Keyword>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    Awareness,
    Consideration,
    Decision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Funnel {
    Top,
    Mid,
    Bottom,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Keyword {
    pub phrase: String,
    /// Search intent: informational, commercial, transactional, navigational.
    #[serde(default = "default_intent")]
    pub intent: String,
    /// Where the keyword came from: seed, feedback, search-console, …
    #[serde(default = "default_source")]
    pub source: String,
}

fn default_intent() -> String {
    "informational".into()
}
fn default_source() -> String {
    "seed".into()
}

impl TopicsFile {
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::error::read_to_string(path)?;
        Self::parse(&path.display().to_string(), &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<Self> {
        let topics: Self = crate::parse::yaml(file, text)?;
        let mut names = std::collections::BTreeSet::new();
        for t in &topics.topics {
            if t.priority > 100 {
                return Err(Error::input(
                    Position::file(file),
                    format!("topic {}: priority {} is above 100", t.name, t.priority),
                ));
            }
            if !names.insert(t.name.as_str()) {
                return Err(Error::input(Position::file(file), format!("topic {} is listed twice", t.name)));
            }
        }
        Ok(topics)
    }
}
