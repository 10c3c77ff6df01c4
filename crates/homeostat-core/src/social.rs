//! Social posts as the platforms count them: X by twitter-text's weighted length (URLs
//! as 23), Bluesky in graphemes and UTF-8 bytes with link facets at byte offsets,
//! LinkedIn in characters with its "little text" reserved characters escaped. The UTM
//! links and the schedule of a bundle are `homeostat::content::social`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    X,
    Bluesky,
    Linkedin,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X => "x",
            Self::Bluesky => "bluesky",
            Self::Linkedin => "linkedin",
        }
    }
}

// ---------------------------------------------------------------------------------------
// X / twitter-text

/// A twitter-text configuration (the upstream `config/v2.json`, `v3.json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TwitterConfig {
    pub max_weighted_tweet_length: usize,
    pub scale: usize,
    pub default_weight: usize,
    #[serde(rename = "transformedURLLength")]
    pub transformed_url_length: usize,
    #[serde(default)]
    pub emoji_parsing_enabled: bool,
    pub ranges: Vec<WeightRange>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WeightRange {
    pub start: u32,
    pub end: u32,
    pub weight: usize,
}

impl TwitterConfig {
    fn weight(&self, c: char) -> usize {
        let cp = c as u32;
        self.ranges.iter().find(|r| (r.start..=r.end).contains(&cp)).map_or(self.default_weight, |r| r.weight)
    }

    /// twitter-text v3: v2 plus every emoji counting as one default-weight character.
    pub fn v3() -> Self {
        Self {
            max_weighted_tweet_length: 280,
            scale: 100,
            default_weight: 200,
            transformed_url_length: 23,
            emoji_parsing_enabled: true,
            ranges: vec![
                WeightRange { start: 0, end: 4351, weight: 100 },
                WeightRange { start: 8192, end: 8205, weight: 100 },
                WeightRange { start: 8208, end: 8223, weight: 100 },
                WeightRange { start: 8242, end: 8247, weight: 100 },
            ],
        }
    }
}

/// What twitter-text's `parseTweet` reports that homeostat uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TweetLength {
    pub weighted_length: usize,
    pub valid: bool,
}

/// The weighted length of `text` as X counts it, and whether it fits.
pub fn tweet_length(text: &str, config: &TwitterConfig) -> TweetLength {
    let text: String = text.nfc().collect();
    let urls = extract_urls(&text);
    let mut weighted = 0;
    let mut next_url = urls.iter().peekable();
    let mut skip_to = 0;
    for (at, grapheme) in text.grapheme_indices(true) {
        if at < skip_to {
            continue;
        }
        if let Some(url) = next_url.peek()
            && url.start <= at
        {
            weighted += config.transformed_url_length * config.scale;
            skip_to = url.end;
            next_url.next();
            continue;
        }
        if config.emoji_parsing_enabled && is_emoji(grapheme) {
            weighted += config.default_weight;
        } else {
            weighted += grapheme.chars().map(|c| config.weight(c)).sum::<usize>();
        }
    }
    let weighted_length = weighted / config.scale;
    TweetLength { weighted_length, valid: weighted_length <= config.max_weighted_tweet_length && !text.is_empty() }
}

/// An emoji grapheme: a pictographic start, a flag (regional indicators) or a keycap.
fn is_emoji(grapheme: &str) -> bool {
    let Some(first) = grapheme.chars().next() else { return false };
    grapheme.contains('\u{20E3}') || ('\u{1F1E6}'..='\u{1F1FF}').contains(&first) || is_pictographic(first)
}

/// Extended_Pictographic (Unicode emoji-data), as ranges.
fn is_pictographic(c: char) -> bool {
    matches!(c as u32,
        0xA9 | 0xAE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x2194..=0x2199 | 0x21A9..=0x21AA
        | 0x231A..=0x231B | 0x2328 | 0x2388 | 0x23CF | 0x23E9..=0x23F3 | 0x23F8..=0x23FA | 0x24C2
        | 0x25AA..=0x25AB | 0x25B6 | 0x25C0 | 0x25FB..=0x25FE | 0x2600..=0x2605 | 0x2607..=0x2612
        | 0x2614..=0x2685 | 0x2690..=0x2705 | 0x2708..=0x2712 | 0x2714 | 0x2716 | 0x271D | 0x2721
        | 0x2728 | 0x2733..=0x2734 | 0x2744 | 0x2747 | 0x274C | 0x274E | 0x2753..=0x2755 | 0x2757
        | 0x2763..=0x2767 | 0x2795..=0x2797 | 0x27A1 | 0x27B0 | 0x27BF | 0x2934..=0x2935
        | 0x2B05..=0x2B07 | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55 | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x1F000..=0x1F0FF | 0x1F10D..=0x1F10F | 0x1F12F | 0x1F16C..=0x1F171 | 0x1F17E..=0x1F17F
        | 0x1F18E | 0x1F191..=0x1F19A | 0x1F1AD..=0x1F1E5 | 0x1F201..=0x1F20F | 0x1F21A | 0x1F22F
        | 0x1F232..=0x1F23A | 0x1F23C..=0x1F23F | 0x1F249..=0x1F3FA | 0x1F400..=0x1F53D
        | 0x1F546..=0x1F64F | 0x1F680..=0x1F6FF | 0x1F774..=0x1F77F | 0x1F7D5..=0x1F7FF
        | 0x1F80C..=0x1F80F | 0x1F848..=0x1F84F | 0x1F85A..=0x1F85F | 0x1F888..=0x1F88F
        | 0x1F8AE..=0x1F8FF | 0x1F90C..=0x1F93A | 0x1F93C..=0x1F945 | 0x1F947..=0x1FAFF
        | 0x1FC00..=0x1FFFD)
}

/// A URL found in text, as byte offsets (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlSpan {
    pub start: usize,
    pub end: usize,
}

/// URLs as twitter-text extracts them (its Rust port: the full TLD list, with or without
/// a protocol), as byte offsets into `text`.
pub fn extract_urls(text: &str) -> Vec<UrlSpan> {
    use twitter_text::extractor::{Extract, Extractor, ParserBackend};
    let base = text.as_ptr() as usize;
    // Not the default (nom) backend: it panics on some text, slicing inside a multi-byte
    // character (`https://😀/`); Pest with the phf TLD table agrees on every conformance
    // case and survives `url_spans_are_slices_of_any_text`.
    Extractor::with_parser_backend(ParserBackend::External)
        .extract_urls_with_indices(text)
        .iter()
        .filter_map(|entity| {
            // Entities borrow from `text` (their indices count UTF-16 units): the byte
            // offset is where the value starts in it.
            let value = entity.get_value();
            let start = (value.as_ptr() as usize).checked_sub(base)?;
            let end = start + value.len();
            (text.get(start..end) == Some(value)).then_some(UrlSpan { start, end })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Bluesky

/// The limits of `app.bsky.feed.post#text`.
pub const BLUESKY_MAX_GRAPHEMES: usize = 300;
pub const BLUESKY_MAX_BYTES: usize = 3000;

pub fn graphemes(text: &str) -> usize {
    text.graphemes(true).count()
}

/// `app.bsky.richtext.facet`: a byte slice of the text and what it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facet {
    pub index: ByteSlice,
    pub features: Vec<FacetFeature>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ByteSlice {
    pub byte_start: usize,
    pub byte_end: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacetFeature {
    #[serde(rename = "$type")]
    pub kind: String,
    pub uri: String,
}

pub const LINK_FACET: &str = "app.bsky.richtext.facet#link";

/// A Bluesky post: `text`, then the link shown short (host and path) with a facet that
/// carries the full URL, so the tracking query does not eat the 300 graphemes.
pub fn bluesky_post(text: &str, url: &str) -> (String, Vec<Facet>) {
    let shown = short_link(url);
    let mut out = text.trim_end().to_string();
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    let start = out.len();
    out.push_str(&shown);
    let facet = Facet {
        index: ByteSlice { byte_start: start, byte_end: out.len() },
        features: vec![FacetFeature { kind: LINK_FACET.into(), uri: url.into() }],
    };
    (out, vec![facet])
}

/// `https://example.com/guides/a?utm=…` → `example.com/guides/a`.
pub fn short_link(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    rest.trim_end_matches('/').to_string()
}

// ---------------------------------------------------------------------------------------
// LinkedIn

pub const LINKEDIN_MAX_CHARS: usize = 3000;

/// Escapes the reserved characters of LinkedIn's "little text" format, which the Posts
/// API otherwise reads as markup (and silently cuts the post at).
pub fn linkedin_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '|' | '{' | '}' | '@' | '[' | ']' | '(' | ')' | '<' | '>' | '#' | '*' | '_' | '~') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_count_as_23_and_emoji_as_two() {
        let v3 = TwitterConfig::v3();
        assert_eq!(tweet_length("Hi http://test.co", &v3).weighted_length, 26);
        assert_eq!(tweet_length("see example.com/a, ok", &v3).weighted_length, 4 + 23 + 4);
        assert_eq!(tweet_length("mail me: a@b.com", &v3).weighted_length, 16);
        assert_eq!(tweet_length("😷👾", &v3).weighted_length, 4);
        assert_eq!(tweet_length("1⃣", &v3).weighted_length, 2);
    }

    #[test]
    fn url_spans_are_slices_of_any_text() {
        const PIECES: &[&str] = &[
            "http://",
            "https://",
            "t.co/",
            "www.",
            "example",
            ".com",
            ".jp",
            ".みんな",
            "xn--p1ai",
            "é",
            "😀",
            "日本",
            ".",
            "-",
            "_",
            "(",
            ")",
            "'",
            " ",
            "\u{202A}",
            "@",
            "#",
            "$",
            "/",
            "?",
            "=",
            ":8080",
            "\n",
            "\u{0301}",
        ];
        let mut seed: u64 = 0x853c_49e6_748f_ea9b;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let v3 = TwitterConfig::v3();
        let mut found = 0;
        for _ in 0..5_000 {
            let len = 1 + (next() % 12) as usize;
            let text: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
            for span in extract_urls(&text) {
                assert!(span.start < span.end && text.get(span.start..span.end).is_some(), "{text:?} {span:?}");
                found += 1;
            }
            let _ = tweet_length(&text, &v3);
        }
        assert!(found > 500, "the generator makes URLs: {found}");
    }

    #[test]
    fn bluesky_facets_are_byte_offsets() {
        let (text, facets) = bluesky_post("Prix décidés — 💶", "https://ex.com/guides/prix?utm_source=bluesky");
        let slice = facets[0].index;
        assert_eq!(&text[slice.byte_start..slice.byte_end], "ex.com/guides/prix");
        assert!(slice.byte_start > text.chars().position(|c| c == 'e').unwrap_or(0));
        assert_eq!(facets[0].features[0].uri, "https://ex.com/guides/prix?utm_source=bluesky");
    }

    #[test]
    fn linkedin_reserved_characters_are_escaped() {
        assert_eq!(
            linkedin_escape("a_b (c) #d @e *f* ~g~ [h] {i} <j> |k| \\"),
            r"a\_b \(c\) \#d \@e \*f\* \~g\~ \[h\] \{i\} \<j\> \|k\| \\"
        );
    }
}
