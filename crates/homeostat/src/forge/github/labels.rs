//! The labels homeostat writes exist before it writes them, with a colour and a
//! description: GitHub would otherwise make an unknown label on the fly, grey and
//! undescribed. Before a run's first write of a label, one read checks it exists; a
//! missing one is created once (`policies/labels.yml` gives the colours and descriptions;
//! other labels, e.g. from the policy or `issues.labels`, get [`DEFAULT_COLOR`] and a
//! description naming homeostat). Checked labels are remembered for the run.

use std::collections::BTreeSet;
use tokio::sync::Mutex;

use super::*;

/// The colour of a label homeostat makes that `policies/labels.yml` does not list.
pub const DEFAULT_COLOR: &str = "c5def5";

/// One label's colour and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSpec {
    pub name: String,
    pub color: String,
    pub description: String,
}

/// The known labels, and the ones this run has already checked.
#[derive(Debug, Default)]
pub struct LabelBook {
    known: Vec<LabelSpec>,
    checked: Mutex<BTreeSet<String>>,
}

impl LabelBook {
    pub fn new(known: Vec<LabelSpec>) -> Self {
        Self { known, checked: Mutex::new(BTreeSet::new()) }
    }

    /// The spec for `name`: the known one, else a default colour and a description.
    pub fn spec(&self, name: &str) -> LabelSpec {
        self.known.iter().find(|l| l.name.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| LabelSpec {
            name: name.to_string(),
            color: DEFAULT_COLOR.into(),
            description: "Set by homeostat (see its config and policy)".into(),
        })
    }
}

impl GithubForge {
    /// Checks, before the labels are written, that each exists (creating the missing).
    /// A failure is a warning: the write goes on, and GitHub makes the label itself.
    pub(super) async fn ensure_labels(&self, names: &[String]) {
        let Some(book) = &self.labels else { return };
        for name in names {
            let name = limits::label(name);
            if !book.checked.lock().await.insert(name.to_lowercase()) {
                continue;
            }
            if let Err(e) = self.ensure_one(book, &name).await {
                tracing::warn!(
                    "label {name} could not be checked or created ({e}); GitHub will make it without a colour"
                );
            }
        }
    }

    async fn ensure_one(&self, book: &LabelBook, name: &str) -> ForgeResult<()> {
        let what = format!("label {name}");
        let reply = self.read(&what, &self.url(&format!("/labels/{}", encode(name)))).await?;
        if reply.status.is_success() {
            return Ok(());
        }
        if reply.status != StatusCode::NOT_FOUND {
            return Err(api_error(&what, &reply));
        }
        let spec = book.spec(name);
        let body = json!({"name": spec.name, "color": spec.color, "description": spec.description});
        // Safe to repeat: a create that landed makes the next one answer 422 already_exists.
        let reply = self.idempotent_write(Method::POST, &what, &self.url("/labels"), Some(&body)).await?;
        if reply.status.is_success() || reply.status == StatusCode::UNPROCESSABLE_ENTITY {
            tracing::info!("created label {name}");
            Ok(())
        } else {
            Err(api_error(&what, &reply))
        }
    }
}
