//! Any text as a social post: URL extraction (twitter-text), X's weighted length, a
//! Bluesky post with its link facet, LinkedIn escaping. Nothing may panic, and every URL
//! span and facet must be a slice of the text.
#![no_main]

use homeostat_core::social;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for span in social::extract_urls(text) {
        assert!(text.get(span.start..span.end).is_some(), "URL span {span:?} is not a slice of the text");
    }
    let _ = social::tweet_length(text, &social::TwitterConfig::v3());
    let _ = social::graphemes(text);
    let _ = social::linkedin_escape(text);
    let (post, facets) = social::bluesky_post(text, "https://example.com/guides/a?utm_source=bluesky");
    for facet in facets {
        assert!(post.get(facet.index.byte_start..facet.index.byte_end).is_some(), "facet outside the post");
    }
});
