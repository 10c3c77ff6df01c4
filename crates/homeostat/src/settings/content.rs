//! The `content` section of homeostat.yml.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use homeostat_core::social::Platform;

/// Scheduled guides and social posts (hs-content).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentConfig {
    pub site: SiteConfig,
    #[serde(default)]
    pub out: OutConfig,
    /// The topics and keywords file.
    #[serde(default = "defaults::topics")]
    pub topics: PathBuf,
    pub brand: BrandConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Platforms a social bundle has posts for.
    #[serde(default = "defaults::platforms")]
    pub platforms: Vec<Platform>,
    /// UTM parameters added to every link in a post; `{platform}` and `{slug}` are filled in.
    #[serde(default)]
    pub utm: UtmConfig,
    /// Guardrail rules (phrases and patterns) to use instead of the built-in
    /// `policies/content-guardrails.yml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrails: Option<PathBuf>,
    /// Label of the issues the feedback loop reads.
    #[serde(default = "defaults::feedback_label")]
    pub feedback_label: String,
    /// Branch name prefix of the run's pull request.
    #[serde(default = "defaults::branch_prefix")]
    pub branch_prefix: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Absolute base URL of the site, e.g. `https://example.com`.
    pub base_url: String,
    /// Path under which guides are served.
    #[serde(default = "defaults::guides_path")]
    pub guides_path: String,
    /// Other site paths internal links may point to (`/pricing`, `/docs/`).
    #[serde(default)]
    pub pages: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutConfig {
    #[serde(default = "defaults::guides")]
    pub guides: PathBuf,
    #[serde(default = "defaults::social")]
    pub social: PathBuf,
    #[serde(default = "defaults::images")]
    pub images: PathBuf,
    /// Public URL path of `images` (default `/og/`).
    #[serde(default = "defaults::images_path")]
    pub images_path: String,
    #[serde(default = "defaults::sitemap")]
    pub sitemap: PathBuf,
    #[serde(default = "defaults::feedback")]
    pub feedback: PathBuf,
}

impl Default for OutConfig {
    fn default() -> Self {
        Self {
            guides: defaults::guides(),
            social: defaults::social(),
            images: defaults::images(),
            images_path: defaults::images_path(),
            sitemap: defaults::sitemap(),
            feedback: defaults::feedback(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandConfig {
    pub name: String,
    #[serde(default = "defaults::tone")]
    pub tone: String,
    /// Words and phrases no page or post may contain (case-insensitive).
    #[serde(default)]
    pub forbidden: Vec<String>,
    /// Author named in the JSON-LD (default: the brand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Pages written per ISO week (Monday 00:00 UTC), counted in the ledger.
    #[serde(default = "defaults::pages_per_week")]
    pub pages_per_week: u32,
    /// Pages one run may write.
    #[serde(default = "defaults::pages_per_run")]
    pub pages_per_run: u32,
    #[serde(default)]
    pub posts_per_day: PostsPerDay,
    #[serde(default = "defaults::title_max")]
    pub title_max: usize,
    #[serde(default = "defaults::description_min")]
    pub description_min: usize,
    #[serde(default = "defaults::description_max")]
    pub description_max: usize,
    #[serde(default = "defaults::slug_max")]
    pub slug_max: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            pages_per_week: defaults::pages_per_week(),
            pages_per_run: defaults::pages_per_run(),
            posts_per_day: PostsPerDay::default(),
            title_max: defaults::title_max(),
            description_min: defaults::description_min(),
            description_max: defaults::description_max(),
            slug_max: defaults::slug_max(),
        }
    }
}

/// Posts scheduled per UTC day and platform.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostsPerDay {
    #[serde(default = "defaults::two")]
    pub x: u32,
    #[serde(default = "defaults::two")]
    pub bluesky: u32,
    #[serde(default = "defaults::one")]
    pub linkedin: u32,
}

impl Default for PostsPerDay {
    fn default() -> Self {
        Self { x: 2, bluesky: 2, linkedin: 1 }
    }
}

impl PostsPerDay {
    pub fn get(&self, platform: Platform) -> u32 {
        match platform {
            Platform::X => self.x,
            Platform::Bluesky => self.bluesky,
            Platform::Linkedin => self.linkedin,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UtmConfig {
    #[serde(default = "defaults::utm_source")]
    pub source: String,
    #[serde(default = "defaults::utm_medium")]
    pub medium: String,
    #[serde(default = "defaults::utm_campaign")]
    pub campaign: String,
}

impl Default for UtmConfig {
    fn default() -> Self {
        Self { source: defaults::utm_source(), medium: defaults::utm_medium(), campaign: defaults::utm_campaign() }
    }
}

/// `feedback_label` when not set.
pub fn default_feedback_label() -> String {
    defaults::feedback_label()
}

mod defaults {
    use super::*;
    pub fn topics() -> PathBuf {
        "content/topics.yml".into()
    }
    pub fn platforms() -> Vec<Platform> {
        vec![Platform::X, Platform::Bluesky, Platform::Linkedin]
    }
    pub fn feedback_label() -> String {
        "feedback".into()
    }
    pub fn branch_prefix() -> String {
        "homeostat/content-".into()
    }
    pub fn guides_path() -> String {
        "/guides/".into()
    }
    pub fn guides() -> PathBuf {
        "content/guides".into()
    }
    pub fn social() -> PathBuf {
        "content/social".into()
    }
    pub fn images() -> PathBuf {
        "static/og".into()
    }
    pub fn images_path() -> String {
        "/og/".into()
    }
    pub fn sitemap() -> PathBuf {
        "static/sitemap.xml".into()
    }
    pub fn feedback() -> PathBuf {
        "content/feedback".into()
    }
    pub fn tone() -> String {
        "plain, helpful, no hype".into()
    }
    pub fn pages_per_week() -> u32 {
        3
    }
    pub fn pages_per_run() -> u32 {
        1
    }
    pub fn title_max() -> usize {
        60
    }
    pub fn description_min() -> usize {
        50
    }
    pub fn description_max() -> usize {
        160
    }
    pub fn slug_max() -> usize {
        60
    }
    pub fn one() -> u32 {
        1
    }
    pub fn two() -> u32 {
        2
    }
    pub fn utm_source() -> String {
        "{platform}".into()
    }
    pub fn utm_medium() -> String {
        "social".into()
    }
    pub fn utm_campaign() -> String {
        "{slug}".into()
    }
}

impl ContentConfig {
    /// The public URL of a guide.
    pub fn guide_url(&self, slug: &str) -> String {
        format!("{}{}{slug}", self.site.base_url.trim_end_matches('/'), normalize_path(&self.site.guides_path))
    }
    /// The site path of a guide (`/guides/<slug>`).
    pub fn guide_path(&self, slug: &str) -> String {
        format!("{}{slug}", normalize_path(&self.site.guides_path))
    }
}

/// `guides` → `/guides/`.
fn normalize_path(p: &str) -> String {
    let trimmed = p.trim_matches('/');
    if trimmed.is_empty() { "/".into() } else { format!("/{trimmed}/") }
}
