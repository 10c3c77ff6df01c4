//! Guide files: `content/guides/<slug>.md` with YAML front matter, the body, the FAQ and
//! a JSON-LD Article block.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::guardrails::{Draft, Faq};
use crate::error::{Error, Result};

/// The review state a maintainer moves a page through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    PendingReview,
    Live,
    Rejected,
}

/// Front matter of a guide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrontMatter {
    pub title: String,
    pub description: String,
    pub slug: String,
    pub keyword: String,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Date written, `YYYY-MM-DD`.
    pub date: String,
    /// Date of the last change, if changed since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Anything else a site generator keeps in the front matter.
    #[serde(flatten)]
    pub extra: serde_yaml_ng::Mapping,
}

/// A guide read back from disk.
#[derive(Debug, Clone)]
pub struct Guide {
    pub path: std::path::PathBuf,
    pub front: FrontMatter,
}

/// Renders the whole file.
pub fn render(front: &FrontMatter, draft: &Draft, article: &serde_json::Value) -> Result<String> {
    let yaml = serde_yaml_ng::to_string(front).map_err(|e| Error::Failed(format!("front matter: {e}")))?;
    let mut out = format!("---\n{yaml}---\n\n# {}\n\n{}\n", draft.h1.trim(), draft.body_md.trim());
    if !draft.faq.is_empty() {
        out.push_str("\n## Frequently asked questions\n");
        for Faq { q, a } in &draft.faq {
            out.push_str(&format!("\n### {}\n\n{}\n", q.trim(), a.trim()));
        }
    }
    // `</` inside a script element would end it early.
    let json = serde_json::to_string_pretty(article).map_err(|e| Error::Failed(e.to_string()))?.replace("</", "<\\/");
    out.push_str(&format!("\n<script type=\"application/ld+json\">\n{json}\n</script>\n"));
    Ok(out)
}

/// The schema.org Article for a page.
pub fn article(
    front: &FrontMatter,
    url: &str,
    image: &str,
    author: &str,
    publisher: &str,
    base_url: &str,
) -> serde_json::Value {
    serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": front.title,
        "description": front.description,
        "image": [image],
        "datePublished": format!("{}T00:00:00Z", front.date),
        "dateModified": format!("{}T00:00:00Z", front.updated.as_deref().unwrap_or(&front.date)),
        "author": {"@type": "Organization", "name": author, "url": base_url},
        "publisher": {"@type": "Organization", "name": publisher, "url": base_url},
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "keywords": front.keyword,
    })
}

/// Reads the front matter of every `*.md` in `dir`, by file name.
pub fn load_all(dir: &Path) -> Result<Vec<Guide>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut paths: Vec<_> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "md")).collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let file = path.display().to_string();
        let text = crate::error::read_to_string(&path)?;
        let (yaml, _) = crate::parse::front_matter(&file, &text)?;
        // Positions: the YAML starts on line 2.
        crate::parse::yaml_depth(&file, yaml)?;
        let front: FrontMatter = serde_yaml_ng::from_str(yaml).map_err(|e| {
            let mut err = crate::parse::yaml_error(&file, &e);
            if let Some(loc) = e.location() {
                err.at.line = Some(loc.line() + 1);
            }
            Error::Input(err)
        })?;
        out.push(Guide { path, front });
    }
    Ok(out)
}
