//! hs-cluster: reports, feedback and errors from every source in one item shape, and the
//! near-duplicates among them found ([`engine`]) and linked on the forge ([`forge`]).
//!
//! Similarity is built from what duplicates share: the error signature ([`signature`])
//! weighted above the prose ([`text`]: word TF-IDF, character trigrams for short titles).
//! Items are clustered by average linkage over a sparse candidate graph, and a new item
//! is matched against existing clusters without a re-run ([`engine::Index`]). Everything
//! here but [`forge`] and [`read`] is pure.

pub mod conflict;
pub mod engine;
pub mod eval;
pub mod features;
pub mod forge;
pub mod model;
pub mod read;
pub mod run;
pub mod signature;
pub mod text;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use engine::{Index, Match, cluster, cluster_features};
pub use features::Features;
pub use model::{Model, Options};
pub use run::{Assignment, assign, match_new, summary};

/// The trailer line of homeostat's duplicate comments: `Marker::tag(tag::CLUSTER)` rendered
/// (for tests and readers of a comment; homeostat itself parses it with `markers`).
pub const MARKER: &str = "<!-- homeostat:cluster -->";

/// What an item is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Error,
    #[default]
    Bug,
    Feedback,
    Question,
}

/// One frame of a structured error: a function name, or the fingerprint output's object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Frame {
    Name(String),
    Full {
        #[serde(default)]
        function: String,
        #[serde(default)]
        module: String,
        #[serde(default = "yes")]
        in_app: bool,
    },
}

fn yes() -> bool {
    true
}

impl Frame {
    pub fn name(&self) -> &str {
        match self {
            Self::Name(n) => n,
            Self::Full { function, module, .. } => {
                if function.is_empty() {
                    module
                } else {
                    function
                }
            }
        }
    }
    pub fn in_app(&self) -> bool {
        match self {
            Self::Name(n) => !n.is_empty(),
            Self::Full { in_app, .. } => *in_app && !self.name().is_empty(),
        }
    }
}

/// The structured error of an `error` item (homeostat's own error issues, relay events).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemError {
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(default)]
    pub frames: Vec<Frame>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// One thing the loop receives, whatever its source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Defaults to the URL, else the line number, when read from JSONL.
    #[serde(default)]
    pub id: String,
    /// `github-issue`, `github-discussion`, `homeostat-error`, `sentry-feedback`, `jsonl`.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub repo: String,
    #[serde(default)]
    pub kind: Kind,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
    /// Ground truth in an evaluation corpus (the duplicate group); ignored by clustering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

pub use crate::settings::cluster::ClusterConfig;

#[cfg(test)]
mod tests {
    use crate::markers::{Marker, tag};

    #[test]
    fn the_marker_is_the_cluster_tag_rendered() {
        assert_eq!(Marker::tag(tag::CLUSTER).render(), super::MARKER);
    }
}
