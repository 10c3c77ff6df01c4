//! Guardrails: a clean page passes, each rule trips on a page crafted for it, slugs, and
//! which links count as internal.

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
