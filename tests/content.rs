//! hs-content: platform length conformance, guardrails, a whole generate run with the
//! replay provider against the local forge and a bare git remote, publish and feedback.

use homeostat::content::social::{self, TwitterConfig};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    description: String,
    text: String,
    expected: Expected,
}

#[derive(Deserialize)]
struct Expected {
    #[serde(rename = "weightedLength")]
    weighted_length: usize,
    valid: bool,
}

fn twitter_cases(section: &str) -> Option<Vec<Case>> {
    let path = homeostat::testing::shared_path("corpus/twitter-text/validate.yml")?;
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Some(serde_yaml_ng::from_value(doc["tests"][section].clone()).unwrap())
}

fn twitter_config(version: &str) -> Option<TwitterConfig> {
    let path = homeostat::testing::shared_path(&format!("corpus/twitter-text/config/{version}.json"))?;
    Some(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
}

fn run_twitter(section: &str, version: &str, expected_cases: usize) {
    let (Some(cases), Some(config)) = (twitter_cases(section), twitter_config(version)) else { return };
    assert_eq!(cases.len(), expected_cases, "{section} case count");
    let mut failures = Vec::new();
    for case in &cases {
        let got = social::tweet_length(&case.text, &config);
        if got.weighted_length != case.expected.weighted_length || got.valid != case.expected.valid {
            failures.push(format!(
                "{}: got {} / {}, want {} / {}",
                case.description, got.weighted_length, got.valid, case.expected.weighted_length, case.expected.valid
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn twitter_text_weighted_tweets_counter_v2() {
    run_twitter("WeightedTweetsCounterTest", "v2", 20);
}

#[test]
fn twitter_text_weighted_tweets_with_discounted_emoji_v3() {
    run_twitter("WeightedTweetsWithDiscountedEmojiCounterTest", "v3", 22);
}

#[test]
fn the_built_in_config_is_upstream_v3() {
    let Some(v3) = twitter_config("v3") else { return };
    assert_eq!(TwitterConfig::v3(), v3);
}

// ---------------------------------------------------------------------------------------
// Bluesky and LinkedIn

#[test]
fn bluesky_posts_fit_the_lexicon_and_facets_slice_the_link() {
    let Some(dir) = homeostat::testing::shared_path("corpus/bluesky/lexicons") else { return };
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    let post = read("app.bsky.feed.post.json");
    let text_def = &post["defs"]["main"]["record"]["properties"]["text"];
    let (max_graphemes, max_bytes) =
        (text_def["maxGraphemes"].as_u64().unwrap() as usize, text_def["maxLength"].as_u64().unwrap() as usize);
    assert_eq!((max_graphemes, max_bytes), (social::BLUESKY_MAX_GRAPHEMES, social::BLUESKY_MAX_BYTES));
    let facet_lex = read("app.bsky.richtext.facet.json");
    let slice_required: Vec<&str> =
        facet_lex["defs"]["byteSlice"]["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let link_required: Vec<&str> =
        facet_lex["defs"]["link"]["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();

    let url = "https://example.com/guides/prix?utm_source=bluesky&utm_medium=social&utm_campaign=prix";
    for text in ["Prix: déjà vu 🙂👨‍👩‍👧‍👦", "日本語のテキスト", ""] {
        let (full, facets) = social::bluesky_post(text, url);
        assert!(social::graphemes(&full) <= max_graphemes && full.len() <= max_bytes);
        let facet = serde_json::to_value(&facets[0]).unwrap();
        for key in &slice_required {
            assert!(facet["index"][key].as_u64().is_some(), "byteSlice.{key} is a non-negative integer");
        }
        let feature = &facet["features"][0];
        assert_eq!(feature["$type"], "app.bsky.richtext.facet#link");
        for key in &link_required {
            assert!(feature[key].is_string(), "link.{key}");
        }
        let (start, end) = (facets[0].index.byte_start, facets[0].index.byte_end);
        // Byte offsets, not characters or UTF-16 units: the slice is exactly the link text.
        assert_eq!(&full.as_bytes()[start..end], b"example.com/guides/prix");
        assert_eq!(end, full.len());
        assert_eq!(feature["uri"], url);
    }
}

#[test]
fn posts_over_the_platform_limits_are_dropped_with_a_reason() {
    let config = content_config();
    let mut texts = std::collections::BTreeMap::new();
    texts.insert(
        social::Platform::X,
        vec!["ok post".to_string(), "x".repeat(260), "second".into(), "third".into(), "fourth".into()],
    );
    texts.insert(social::Platform::Bluesky, vec!["é".repeat(290)]);
    texts.insert(social::Platform::Linkedin, vec!["a".repeat(2990), "fine (with) #reserved_chars".into()]);
    let (posts, dropped) = social::build_posts(&texts, "https://example.com/guides/a", "a", &config);
    let count = |p| posts.iter().filter(|x| x.platform == p).count();
    assert_eq!(count(social::Platform::X), 3, "at most three X posts");
    assert_eq!(count(social::Platform::Bluesky), 0);
    assert_eq!(count(social::Platform::Linkedin), 1);
    assert_eq!(dropped.len(), 3, "{dropped:?}");
    assert!(dropped.iter().any(|d| d.platform == social::Platform::X && d.reason.contains("> 280")));
    let x = posts.iter().find(|p| p.platform == social::Platform::X).unwrap();
    // 7 characters, a space and the link as 23.
    assert_eq!(x.length, 7 + 1 + 23);
    let li = posts.iter().find(|p| p.platform == social::Platform::Linkedin).unwrap();
    assert!(li.commentary.as_deref().unwrap().starts_with(r"fine \(with\) \#reserved\_chars"));
    assert!(li.commentary.as_deref().unwrap().contains(r"utm\_source=linkedin"));
}

fn content_config() -> homeostat::content::ContentConfig {
    let text = std::fs::read_to_string(fixture("homeostat.yml")).unwrap();
    let config: homeostat::config::Config = serde_yaml_ng::from_str(&text).unwrap();
    config.content.unwrap()
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/content").join(name)
}

// ---------------------------------------------------------------------------------------
// Guardrails

mod guardrails {
    use homeostat::content::guardrails::{self, Draft, Faq, Rules, Site};

    fn rules() -> Rules {
        let config = super::content_config();
        Rules::parse("builtin", guardrails::BUILTIN_RULES, &config.brand.forbidden, &config.limits).unwrap()
    }

    fn good() -> Draft {
        Draft {
            title: "How to price a SaaS product".into(),
            description: "A practical method to set a first SaaS price: value metric, tiers, anchors and tests.".into(),
            h1: "How to price a SaaS product".into(),
            body_md: "## Start\n\nPick a value metric. See [pricing](/pricing) and [an older guide](https://example.com/guides/old).".into(),
            faq: vec![Faq { q: "How often?".into(), a: "Every quarter.".into() }],
        }
    }

    fn site() -> Site {
        Site {
            base_url: "https://example.com".into(),
            known_paths: ["/pricing".to_string(), "/guides/old".to_string()].into_iter().collect(),
        }
    }

    type Craft = Box<dyn Fn(&mut Draft)>;

    fn trips(draft: &Draft, slug: &str) -> Vec<String> {
        guardrails::check(draft, slug, &rules(), &site()).into_iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_clean_page_passes() {
        assert_eq!(trips(&good(), "how-to-price-a-saas-product"), Vec::<String>::new());
    }

    #[test]
    fn each_rule_trips_on_a_crafted_page() {
        let cases: Vec<(&str, Craft)> = vec![
            ("guarantee", Box::new(|d| d.body_md.push_str("\n\nResults guaranteed."))),
            ("guarantee", Box::new(|d| d.faq[0].a = "It is risk-free.".into())),
            ("medical-advice", Box::new(|d| d.body_md.push_str("\n\nThis will cure your back pain."))),
            ("legal-advice", Box::new(|d| d.body_md.push_str("\n\nYou are legally entitled to a refund."))),
            ("financial-advice", Box::new(|d| d.body_md.push_str("\n\nBuy bitcoin with the savings."))),
            ("brand-forbidden", Box::new(|d| d.title = "A revolutionary pricing method".into())),
            ("brand-forbidden", Box::new(|d| d.description.push_str(" Grow 10x."))),
            (
                "title-length",
                Box::new(|d| d.title = "A title that goes on and on well past the sixty characters".repeat(2)),
            ),
            ("title-length", Box::new(|d| d.title = "  ".into())),
            ("description-length", Box::new(|d| d.description = "Too short.".into())),
            ("description-length", Box::new(|d| d.description = "word ".repeat(40))),
            ("h1", Box::new(|d| d.body_md = format!("# Second title\n\n{}", d.body_md))),
            ("broken-link", Box::new(|d| d.body_md.push_str(" [gone](/guides/nowhere)"))),
            ("broken-link", Box::new(|d| d.body_md.push_str(" [gone](https://example.com/missing#x)"))),
        ];
        for (rule, craft) in cases {
            let mut d = good();
            craft(&mut d);
            let hit = trips(&d, "how-to-price-a-saas-product");
            assert_eq!(hit, vec![rule.to_string()], "crafted for {rule}: {d:?}");
        }
    }

    #[test]
    fn slug_rules() {
        for bad in ["Has-Caps", "double--hyphen", "-lead", "trail-", "spa ce", "ünï", ""] {
            assert_eq!(trips(&good(), bad), ["slug"], "{bad:?}");
        }
        assert_eq!(trips(&good(), &"a".repeat(61)), ["slug"]);
    }

    #[test]
    fn external_links_and_look_alike_hosts_are_not_internal() {
        let links = guardrails::internal_links(
            "[a](https://other.com/x) [b](https://example.com.evil/x) [c](/pricing) <a href=\"/docs/\">d</a>",
            "https://example.com",
        );
        assert_eq!(links, ["/pricing", "/docs/"]);
    }
}
