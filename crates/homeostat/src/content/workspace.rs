//! The repository checkout the content runs write to, and the file helpers they share.

use std::path::{Path, PathBuf};

use super::config::ContentConfig;
use super::feedback::{self, FeedbackFile};
use super::page;
use super::social::Bundle;
use crate::error::{Error, Result};

/// The repository being written to, and its content settings.
pub struct Workspace {
    pub root: PathBuf,
    pub config: ContentConfig,
}

impl Workspace {
    pub fn new(root: impl Into<PathBuf>, config: ContentConfig) -> Self {
        Self { root: root.into(), config }
    }
    pub(super) fn at(&self, p: &Path) -> PathBuf {
        self.root.join(p)
    }
    pub(super) fn rel(p: &Path, name: &str) -> String {
        let joined = p.join(name);
        joined.to_string_lossy().replace('\\', "/")
    }
    pub(super) fn guides(&self) -> Result<Vec<page::Guide>> {
        page::load_all(&self.at(&self.config.out.guides))
    }
    pub(super) fn feedback(&self) -> Result<Vec<FeedbackFile>> {
        feedback::load_all(&self.at(&self.config.out.feedback))
    }
}

pub(super) fn normalize(path: &str) -> String {
    let t = path.trim_matches('/');
    if t.is_empty() { "/".into() } else { format!("/{t}/") }
}

pub(super) fn load_bundles(ws: &Workspace) -> Result<Vec<(PathBuf, Bundle)>> {
    let dir = ws.at(&ws.config.out.social);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    let mut paths: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "yml")).collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let b: Bundle = crate::parse::yaml(&p.display().to_string(), &crate::error::read_to_string(&p)?)?;
            Ok((p, b))
        })
        .collect()
}
