//! Social posts: counting as each platform does is `homeostat_core::social`; this module
//! adds the UTM links, the bundles and the staggered schedule of a page's posts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use homeostat_core::social::*;

// ---------------------------------------------------------------------------------------
// Links and bundles

/// The page URL with `utm_source`, `utm_medium` and `utm_campaign`; `{platform}` and
/// `{slug}` in the templates are filled in, values are percent-encoded.
pub fn utm_link(page_url: &str, utm: &super::config::UtmConfig, platform: Platform, slug: &str) -> String {
    let fill = |t: &str| t.replace("{platform}", platform.as_str()).replace("{slug}", slug);
    let sep = if page_url.contains('?') { '&' } else { '?' };
    format!(
        "{page_url}{sep}utm_source={}&utm_medium={}&utm_campaign={}",
        encode(&fill(&utm.source)),
        encode(&fill(&utm.medium)),
        encode(&fill(&utm.campaign))
    )
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One post of a bundle, as written to `content/social/<slug>.yml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post {
    pub platform: Platform,
    /// The post as readers see it, link included.
    pub text: String,
    /// The tracked link the post points to.
    pub link: String,
    /// Length as the platform counts it: X weighted length, Bluesky graphemes, LinkedIn characters.
    pub length: usize,
    /// LinkedIn: the text with reserved characters escaped, for the Posts API `commentary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commentary: Option<String>,
    /// Bluesky: link facets (UTF-8 byte offsets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facets: Vec<Facet>,
    pub scheduled_at: jiff::Timestamp,
    /// Set by a maintainer: `pending` until they write `approve` or `reject`.
    #[serde(default)]
    pub review: Review,
    /// Set by `hs-content publish`: the page is live and the maintainer approved the post.
    #[serde(default)]
    pub approved: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Review {
    #[default]
    Pending,
    Approve,
    Reject,
}

/// `content/social/<slug>.yml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub slug: String,
    pub page: String,
    pub url: String,
    pub posts: Vec<Post>,
}

/// A post text the model wrote that does not fit its platform.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dropped {
    pub platform: Platform,
    pub reason: String,
}

/// How many posts of each platform a bundle keeps.
pub fn max_posts(platform: Platform) -> usize {
    match platform {
        Platform::X => 3,
        Platform::Linkedin | Platform::Bluesky => 2,
    }
}

/// Builds the posts of one page from the model's texts: adds the tracked link, counts as
/// each platform does, drops what does not fit (reported), keeps at most
/// [`max_posts`] per platform. Times are filled in by [`schedule`].
pub fn build_posts(
    texts: &BTreeMap<Platform, Vec<String>>,
    page_url: &str,
    slug: &str,
    config: &super::config::ContentConfig,
) -> (Vec<Post>, Vec<Dropped>) {
    let twitter = TwitterConfig::v3();
    let mut posts = Vec::new();
    let mut dropped = Vec::new();
    for &platform in &config.platforms {
        let mut kept = 0;
        for text in texts.get(&platform).into_iter().flatten() {
            if kept == max_posts(platform) {
                break;
            }
            let link = utm_link(page_url, &config.utm, platform, slug);
            let text = text.trim();
            let post = match platform {
                Platform::X => {
                    let full = format!("{text} {link}");
                    let len = tweet_length(&full, &twitter);
                    if !len.valid {
                        dropped.push(Dropped {
                            platform,
                            reason: format!(
                                "weighted length {} > {}",
                                len.weighted_length, twitter.max_weighted_tweet_length
                            ),
                        });
                        continue;
                    }
                    Post::new(platform, full, link, len.weighted_length)
                }
                Platform::Bluesky => {
                    let (full, facets) = bluesky_post(text, &link);
                    let (g, b) = (graphemes(&full), full.len());
                    if g > BLUESKY_MAX_GRAPHEMES || b > BLUESKY_MAX_BYTES {
                        dropped.push(Dropped { platform, reason: format!("{g} graphemes, {b} bytes > 300 / 3000") });
                        continue;
                    }
                    Post { facets, ..Post::new(platform, full, link, g) }
                }
                Platform::Linkedin => {
                    let full = format!("{text}\n\n{link}");
                    let n = full.chars().count();
                    if n > LINKEDIN_MAX_CHARS {
                        dropped.push(Dropped { platform, reason: format!("{n} characters > {LINKEDIN_MAX_CHARS}") });
                        continue;
                    }
                    Post { commentary: Some(linkedin_escape(&full)), ..Post::new(platform, full, link, n) }
                }
            };
            posts.push(post);
            kept += 1;
        }
    }
    (posts, dropped)
}

impl Post {
    fn new(platform: Platform, text: String, link: String, length: usize) -> Self {
        Self {
            platform,
            text,
            link,
            length,
            commentary: None,
            facets: Vec::new(),
            scheduled_at: jiff::Timestamp::UNIX_EPOCH,
            review: Review::Pending,
            approved: false,
        }
    }
}

/// Hour (UTC) of a day's first post slot, and the span the slots spread over.
const FIRST_SLOT_HOUR: i64 = 9;
const SLOT_SPAN_HOURS: i64 = 10;

/// Gives each post the earliest free slot from the day after `now`, at most
/// `per_day(platform)` posts per platform and UTC day, counting posts already scheduled
/// (`taken`). Slots spread from 09:00 over ten hours.
pub fn schedule(
    posts: &mut [Post],
    taken: &[(Platform, jiff::Timestamp)],
    now: jiff::Timestamp,
    per_day: impl Fn(Platform) -> u32,
) {
    const DAY: i64 = 86_400;
    let first_day = now.as_second().div_euclid(DAY) + 1;
    let mut used: BTreeMap<(Platform, i64), u32> = BTreeMap::new();
    for (platform, ts) in taken {
        *used.entry((*platform, ts.as_second().div_euclid(DAY))).or_default() += 1;
    }
    for post in posts.iter_mut() {
        let limit = per_day(post.platform).max(1);
        let mut day = first_day;
        loop {
            let count = used.entry((post.platform, day)).or_default();
            if *count < limit {
                let step = SLOT_SPAN_HOURS * 3600 / i64::from(limit);
                let second = day * DAY + FIRST_SLOT_HOUR * 3600 + i64::from(*count) * step;
                post.scheduled_at = jiff::Timestamp::from_second(second).unwrap_or(now);
                *count += 1;
                break;
            }
            day += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_respects_the_daily_limit() {
        let now = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        let mut posts: Vec<Post> =
            (0..3).map(|i| Post::new(Platform::Linkedin, format!("p{i}"), "l".into(), 1)).collect();
        schedule(&mut posts, &[], now, |_| 1);
        let days: Vec<i64> = posts.iter().map(|p| p.scheduled_at.as_second() / 86_400).collect();
        assert_eq!(days, [days[0], days[0] + 1, days[0] + 2]);
        assert_eq!(days[0], now.as_second() / 86_400 + 1);
        // A slot already taken pushes the next post a day further.
        let mut more = vec![Post::new(Platform::Linkedin, "q".into(), "l".into(), 1)];
        let taken: Vec<_> = posts.iter().map(|p| (p.platform, p.scheduled_at)).collect();
        schedule(&mut more, &taken, now, |_| 1);
        assert_eq!(more[0].scheduled_at.as_second() / 86_400, days[0] + 3);
    }

    #[test]
    fn utm_values_are_filled_and_encoded() {
        let utm = super::super::config::UtmConfig {
            source: "{platform}".into(),
            medium: "social media".into(),
            campaign: "{slug}".into(),
        };
        assert_eq!(
            utm_link("https://e.com/guides/a", &utm, Platform::X, "a"),
            "https://e.com/guides/a?utm_source=x&utm_medium=social%20media&utm_campaign=a"
        );
    }
}
