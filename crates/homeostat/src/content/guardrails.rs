//! Checks a page draft must pass before it is written: forbidden phrases and claims
//! (rules from `policies/content-guardrails.yml` plus the brand's list), title and
//! description lengths, slug rules, and internal links that lead nowhere. Pure.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Position, Result};

/// The built-in rules.
pub const BUILTIN_RULES: &str = include_str!("../../../../policies/content-guardrails.yml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    rules: Vec<RuleSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: String,
    reason: String,
    patterns: Vec<String>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub reason: String,
    patterns: Vec<Regex>,
}

/// Everything the checks need.
#[derive(Debug, Clone)]
pub struct Rules {
    pub rules: Vec<Rule>,
    pub title_max: usize,
    pub description_min: usize,
    pub description_max: usize,
    pub slug_max: usize,
}

impl Rules {
    /// Parses a rules file and adds the brand's forbidden words as one more rule.
    pub fn parse(file: &str, text: &str, forbidden: &[String], limits: &super::config::LimitsConfig) -> Result<Self> {
        let spec: RulesFile = crate::parse::yaml(file, text)?;
        let mut rules = Vec::new();
        for rule in spec.rules {
            let patterns = rule
                .patterns
                .iter()
                .map(|p| {
                    Regex::new(&format!("(?i){p}")).map_err(|e| {
                        Error::input(Position::file(file), format!("rule {}: bad pattern {p:?}: {e}", rule.name))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            rules.push(Rule { name: rule.name, reason: rule.reason, patterns });
        }
        if !forbidden.is_empty() {
            let patterns = forbidden
                .iter()
                .filter(|w| !w.trim().is_empty())
                .map(|w| {
                    // Whole words where the phrase starts or ends with a word character.
                    let escaped = regex::escape(w.trim());
                    let pre = if w.trim().starts_with(|c: char| c.is_alphanumeric()) { r"\b" } else { "" };
                    let post = if w.trim().ends_with(|c: char| c.is_alphanumeric()) { r"\b" } else { "" };
                    Regex::new(&format!("(?i){pre}{escaped}{post}")).map_err(|e| {
                        Error::input(Position::file("homeostat.yml (content.brand.forbidden)"), e.to_string())
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            rules.push(Rule {
                name: "brand-forbidden".into(),
                reason: "uses a phrase the brand forbids".into(),
                patterns,
            });
        }
        Ok(Self {
            rules,
            title_max: limits.title_max,
            description_min: limits.description_min,
            description_max: limits.description_max,
            slug_max: limits.slug_max,
        })
    }
}

/// The page as the model wrote it (after the editor pass).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub title: String,
    pub description: String,
    pub h1: String,
    pub body_md: String,
    #[serde(default)]
    pub faq: Vec<Faq>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Faq {
    pub q: String,
    pub a: String,
}

/// Why a draft may not be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub rule: String,
    pub message: String,
}

/// Where internal links may point: every known site path (guides included).
#[derive(Debug, Clone, Default)]
pub struct Site {
    pub base_url: String,
    pub known_paths: BTreeSet<String>,
}

static SLUG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(-[a-z0-9]+)*$").unwrap_or_else(|e| panic!("built-in slug pattern: {e}")));
static MD_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)|href="([^"]+)""#)
        .unwrap_or_else(|e| panic!("built-in link pattern: {e}"))
});

/// Every rule the draft breaks; empty when it may be written.
pub fn check(draft: &Draft, slug: &str, rules: &Rules, site: &Site) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut add = |rule: &str, message: String| out.push(Violation { rule: rule.into(), message });

    let mut fields: Vec<(&str, &str)> =
        vec![("title", &draft.title), ("description", &draft.description), ("h1", &draft.h1), ("body", &draft.body_md)];
    for f in &draft.faq {
        fields.push(("faq", &f.q));
        fields.push(("faq", &f.a));
    }
    for rule in &rules.rules {
        let hit = fields.iter().find_map(|(name, text)| {
            rule.patterns.iter().find_map(|p| p.find(text).map(|m| (*name, m.as_str().to_string())))
        });
        if let Some((field, found)) = hit {
            add(&rule.name, format!("{}: {field} says {found:?}", rule.reason));
        }
    }

    let title_len = draft.title.trim().chars().count();
    if title_len == 0 {
        add("title-length", "the title is empty".into());
    } else if title_len > rules.title_max {
        add("title-length", format!("the title has {title_len} characters, more than {}", rules.title_max));
    }
    let desc_len = draft.description.trim().chars().count();
    if desc_len < rules.description_min || desc_len > rules.description_max {
        add(
            "description-length",
            format!(
                "the description has {desc_len} characters, outside {}–{}",
                rules.description_min, rules.description_max
            ),
        );
    }
    if draft.h1.trim().is_empty() {
        add("h1", "the page has no H1".into());
    }
    if draft.body_md.lines().any(|l| l.starts_with("# ")) {
        add("h1", "the body has its own `# ` heading; the page's H1 is set once".into());
    }
    if !SLUG.is_match(slug) {
        add("slug", format!("slug {slug:?} is not lowercase words joined by single hyphens"));
    } else if slug.len() > rules.slug_max {
        add("slug", format!("slug has {} characters, more than {}", slug.len(), rules.slug_max));
    }
    for link in internal_links(&draft.body_md, &site.base_url) {
        let path = link.split(['#', '?']).next().unwrap_or(&link);
        let trimmed = path.trim_end_matches('/');
        let known = site.known_paths.iter().any(|k| k.trim_end_matches('/') == trimmed) || path == "/";
        if !known {
            add("broken-link", format!("internal link {link} leads to no known page"));
        }
    }
    out
}

/// Links in Markdown or HTML that point into the site: `/path` or the base URL.
pub fn internal_links(markdown: &str, base_url: &str) -> Vec<String> {
    let base = base_url.trim_end_matches('/');
    MD_LINK
        .captures_iter(markdown)
        .filter_map(|c| c.get(1).or_else(|| c.get(2)).map(|m| m.as_str().to_string()))
        .filter_map(|link| {
            if let Some(rest) =
                link.strip_prefix(base).filter(|r| !base.is_empty() && (r.is_empty() || r.starts_with('/')))
            {
                Some(if rest.is_empty() { "/".to_string() } else { rest.to_string() })
            } else if link.starts_with('/') && !link.starts_with("//") {
                Some(link)
            } else {
                None
            }
        })
        .collect()
}

/// The phrase and claim rules alone, over one text (a social post).
pub fn check_text(text: &str, rules: &Rules) -> Vec<Violation> {
    rules
        .rules
        .iter()
        .filter_map(|rule| {
            rule.patterns
                .iter()
                .find_map(|p| p.find(text))
                .map(|m| Violation { rule: rule.name.clone(), message: format!("{}: {:?}", rule.reason, m.as_str()) })
        })
        .collect()
}
