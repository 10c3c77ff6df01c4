//! One notification as each platform's payload: Slack Block Kit, a Discord embed, a
//! Microsoft Teams Adaptive Card and a generic JSON webhook. Builders cut every text to
//! the platform's documented limit; the `check_*` functions say which limit a payload
//! breaks (tests run them on every payload, including ones built from oversized text).
//! Pure: values in, JSON out.

use serde::Serialize;
use serde_json::{Value, json};

use crate::forge::limits::truncate_chars;

pub use crate::settings::notify::EventKind;

impl EventKind {
    /// Discord's side colour and Teams' emphasis: red for what broke, blue otherwise.
    fn alarming(self) -> bool {
        matches!(self, Self::Rollback | Self::AgentFailure | Self::Escalation)
    }
}

/// A link a notification carries (to the run, the issue, the pull request, the site).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// One notification, already in words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub kind: EventKind,
    /// The ledger line it reports (its `id`), or `digest:<date>`.
    pub source: String,
    pub title: String,
    pub text: String,
    pub links: Vec<Link>,
    pub ts: jiff::Timestamp,
    /// The digest's figures, for the generic webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures: Option<Value>,
}

/// Documented limits (Slack: Block Kit reference; Discord: Execute Webhook and Embed
/// Limits; Teams: the 28 KB message size of incoming webhooks).
pub mod limits {
    pub const SLACK_BLOCKS: usize = 50;
    pub const SLACK_HEADER: usize = 150;
    pub const SLACK_SECTION: usize = 3000;
    pub const SLACK_TEXT: usize = 40_000;
    pub const SLACK_ACTIONS: usize = 25;
    pub const SLACK_BUTTON_TEXT: usize = 75;
    pub const SLACK_URL: usize = 3000;
    pub const DISCORD_CONTENT: usize = 2000;
    pub const DISCORD_EMBEDS: usize = 10;
    pub const DISCORD_TITLE: usize = 256;
    pub const DISCORD_DESCRIPTION: usize = 4096;
    pub const DISCORD_FIELDS: usize = 25;
    pub const DISCORD_FIELD_NAME: usize = 256;
    pub const DISCORD_FIELD_VALUE: usize = 1024;
    pub const DISCORD_TOTAL: usize = 6000;
    pub const TEAMS_BYTES: usize = 28 * 1024;
    pub const TEAMS_CARD_VERSION: &str = "1.4";
}
use limits::*;

/// Slack's mrkdwn needs `&`, `<` and `>` escaped, or text could form links and mentions.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub fn slack(n: &Notice) -> Value {
    let buttons: Vec<Value> = n
        .links
        .iter()
        .filter(|l| l.url.len() <= SLACK_URL)
        .take(SLACK_ACTIONS)
        .map(|l| {
            json!({"type": "button", "url": l.url,
                "text": {"type": "plain_text", "text": truncate_chars(&l.label, SLACK_BUTTON_TEXT)}})
        })
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate_chars(&n.title, SLACK_HEADER)}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_chars(&slack_escape(&n.text), SLACK_SECTION)}}),
    ];
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    let fallback = truncate_chars(&slack_escape(&format!("{}: {}", n.title, n.text)), SLACK_TEXT);
    json!({"text": fallback, "blocks": blocks})
}

pub fn discord(n: &Notice) -> Value {
    let fields: Vec<Value> = n
        .links
        .iter()
        .take(DISCORD_FIELDS)
        .map(|l| {
            json!({"name": truncate_chars(&l.label, DISCORD_FIELD_NAME),
                "value": truncate_chars(&l.url, DISCORD_FIELD_VALUE), "inline": true})
        })
        .collect();
    // The whole embed shares 6000 characters: the description gets what titles and
    // fields leave.
    let title = truncate_chars(&n.title, DISCORD_TITLE);
    let used: usize = title.chars().count()
        + fields
            .iter()
            .map(|f| {
                f["name"].as_str().unwrap_or("").chars().count() + f["value"].as_str().unwrap_or("").chars().count()
            })
            .sum::<usize>();
    let room = DISCORD_DESCRIPTION.min(DISCORD_TOTAL.saturating_sub(used));
    let mut embed = json!({
        "title": title,
        "description": truncate_chars(&n.text, room),
        "color": if n.kind.alarming() { 0xcf222e } else { 0x0969da },
        "timestamp": n.ts.to_string(),
        "fields": fields,
    });
    if let Some(first) = n.links.first().filter(|l| l.url.starts_with("https://") || l.url.starts_with("http://")) {
        embed["url"] = json!(first.url);
    }
    // No @everyone, role or user pings, whatever the text says.
    json!({"embeds": [embed], "allowed_mentions": {"parse": []}})
}

pub fn teams(n: &Notice) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": n.title, "size": "Medium", "weight": "Bolder", "wrap": true,
            "color": if n.kind.alarming() { "Attention" } else { "Default" }}),
        json!({"type": "TextBlock", "text": n.text, "wrap": true}),
    ];
    body.push(json!({"type": "FactSet", "facts": [
        {"title": "Event", "value": n.kind.as_str()},
        {"title": "When", "value": n.ts.strftime("%Y-%m-%d %H:%M UTC").to_string()},
    ]}));
    let actions: Vec<Value> =
        n.links.iter().map(|l| json!({"type": "Action.OpenUrl", "title": l.label, "url": l.url})).collect();
    let card = |body: &[Value]| {
        json!({"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
            "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": TEAMS_CARD_VERSION, "body": body, "actions": actions}}]})
    };
    let mut payload = card(&body);
    // Over 28 KB Teams refuses the message: cut the message text until it fits.
    while serde_json::to_vec(&payload).map_or(0, |v| v.len()) > TEAMS_BYTES {
        let text = body[1]["text"].as_str().unwrap_or_default().to_string();
        let keep = text.chars().count() * 3 / 4;
        body[1]["text"] = json!(truncate_chars(&text, keep));
        payload = card(&body);
    }
    payload
}

pub fn webhook(n: &Notice) -> Value {
    let mut v = json!({
        "event": n.kind.as_str(), "source": n.source, "title": n.title, "text": n.text,
        "links": n.links, "ts": n.ts.to_string(),
    });
    if let Some(f) = &n.figures {
        v["figures"] = f.clone();
    }
    v
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fn over(problems: &mut Vec<String>, what: &str, len: usize, max: usize) {
    if len > max {
        problems.push(format!("{what}: {len} > {max}"));
    }
}

/// Which Block Kit limits a Slack payload breaks.
pub fn check_slack(p: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    over(&mut problems, "text", chars(&p["text"]), SLACK_TEXT);
    let blocks = p["blocks"].as_array().cloned().unwrap_or_default();
    over(&mut problems, "blocks", blocks.len(), SLACK_BLOCKS);
    for (i, b) in blocks.iter().enumerate() {
        match b["type"].as_str() {
            Some("header") => {
                if b["text"]["type"] != "plain_text" {
                    problems.push(format!("blocks[{i}]: a header's text must be plain_text"));
                }
                over(&mut problems, &format!("blocks[{i}].text"), chars(&b["text"]["text"]), SLACK_HEADER);
            }
            Some("section") => {
                over(&mut problems, &format!("blocks[{i}].text"), chars(&b["text"]["text"]), SLACK_SECTION)
            }
            Some("actions") => {
                let elements = b["elements"].as_array().cloned().unwrap_or_default();
                over(&mut problems, &format!("blocks[{i}].elements"), elements.len(), SLACK_ACTIONS);
                for (k, e) in elements.iter().enumerate() {
                    over(
                        &mut problems,
                        &format!("blocks[{i}].elements[{k}].text"),
                        chars(&e["text"]["text"]),
                        SLACK_BUTTON_TEXT,
                    );
                    over(&mut problems, &format!("blocks[{i}].elements[{k}].url"), chars(&e["url"]), SLACK_URL);
                }
            }
            other => problems.push(format!("blocks[{i}]: unexpected type {other:?}")),
        }
    }
    problems
}

/// Which embed limits a Discord payload breaks.
pub fn check_discord(p: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    over(&mut problems, "content", chars(&p["content"]), DISCORD_CONTENT);
    let embeds = p["embeds"].as_array().cloned().unwrap_or_default();
    over(&mut problems, "embeds", embeds.len(), DISCORD_EMBEDS);
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        over(&mut problems, &format!("embeds[{i}].title"), chars(&e["title"]), DISCORD_TITLE);
        over(&mut problems, &format!("embeds[{i}].description"), chars(&e["description"]), DISCORD_DESCRIPTION);
        total +=
            chars(&e["title"]) + chars(&e["description"]) + chars(&e["footer"]["text"]) + chars(&e["author"]["name"]);
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        over(&mut problems, &format!("embeds[{i}].fields"), fields.len(), DISCORD_FIELDS);
        for (k, f) in fields.iter().enumerate() {
            over(&mut problems, &format!("embeds[{i}].fields[{k}].name"), chars(&f["name"]), DISCORD_FIELD_NAME);
            over(&mut problems, &format!("embeds[{i}].fields[{k}].value"), chars(&f["value"]), DISCORD_FIELD_VALUE);
            if chars(&f["name"]) == 0 || chars(&f["value"]) == 0 {
                problems.push(format!("embeds[{i}].fields[{k}]: name and value must not be empty"));
            }
            total += chars(&f["name"]) + chars(&f["value"]);
        }
    }
    over(&mut problems, "all embeds' text", total, DISCORD_TOTAL);
    if p["allowed_mentions"]["parse"].as_array().is_none_or(|a| !a.is_empty()) {
        problems.push("allowed_mentions.parse must be empty: text must never ping".into());
    }
    problems
}

/// Teams' envelope and size (the card itself is validated by the Adaptive Cards
/// library in tests/report.rs).
pub fn check_teams(p: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    over(&mut problems, "bytes", serde_json::to_vec(p).map_or(usize::MAX, |v| v.len()), TEAMS_BYTES);
    let content = &p["attachments"][0]["content"];
    if p["type"] != "message" || p["attachments"][0]["contentType"] != "application/vnd.microsoft.card.adaptive" {
        problems.push("not a Teams message with an Adaptive Card attachment".into());
    }
    if content["type"] != "AdaptiveCard" || content["version"] != TEAMS_CARD_VERSION {
        problems.push(format!("the card must be an AdaptiveCard of version {TEAMS_CARD_VERSION}"));
    }
    problems
}
