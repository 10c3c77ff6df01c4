//! Items from their sources: a JSONL file, GitHub issues and discussions (homeostat's own
//! error issues among them). Everything is scrubbed before it is compared or stored.

use std::path::Path;

use super::{Item, Kind};
use crate::error::{Error, Position, Result};
use crate::forge::{Discussion, Issue};
use crate::scrub::Scrubber;

/// Scrubs the free text of an item in place.
pub fn scrub(item: &mut Item, scrubber: &Scrubber) {
    item.title = scrubber.scrub(&item.title).into_owned();
    item.body = scrubber.scrub(&item.body).into_owned();
}

/// Parses JSONL text (one item per line; blank lines skipped). A line without `id`
/// takes its URL, else its line number.
pub fn parse_jsonl(file: &str, text: &str, scrubber: &Scrubber) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut item: Item = serde_json::from_str(line)
            .map_err(|e| Error::input(Position::at(file, n + 1, e.column()), format!("not an item: {e}")))?;
        if item.id.is_empty() {
            item.id = if item.url.is_empty() { (n + 1).to_string() } else { item.url.clone() };
        }
        if item.source.is_empty() {
            item.source = "jsonl".into();
        }
        scrub(&mut item, scrubber);
        out.push(item);
    }
    Ok(out)
}

/// Reads a JSONL file of items.
pub fn read_jsonl(path: &Path, scrubber: &Scrubber) -> Result<Vec<Item>> {
    let text = crate::error::read_to_string(path)?;
    parse_jsonl(&path.display().to_string(), &text, scrubber)
}

/// An issue as an item: homeostat's own error issues (label `homeostat:error`) are
/// `error` items, `feedback` and `question` labels name their kind. An issue filed from
/// user feedback (`homeostat:feedback`) is the user's words alone: the page, release and
/// the template around them are the same in every such issue and would read as shared
/// evidence.
pub fn from_issue(repo: &str, issue: &Issue, scrubber: &Scrubber) -> Item {
    let sent = issue.has_label(crate::issues::feedback::LABEL);
    let kind = if issue.has_label("homeostat:error") {
        Kind::Error
    } else if sent || issue.has_label("feedback") {
        Kind::Feedback
    } else if issue.has_label("question") {
        Kind::Question
    } else {
        Kind::Bug
    };
    let source = match kind {
        Kind::Error => "homeostat-error",
        _ if sent => "sentry-feedback",
        _ => "github-issue",
    };
    let (title, body) = match crate::issues::feedback::users_words(issue) {
        Some(words) => {
            (issue.title.strip_prefix(crate::issues::feedback::TITLE_PREFIX).unwrap_or(&issue.title).to_string(), words)
        }
        None => (issue.title.clone(), issue.body.clone()),
    };
    // Homeostat's own markers and hidden text are not the reporter's words.
    let body = crate::prompt::strip_hidden(&body);
    let mut item = Item {
        id: format!("{repo}#{}", issue.number),
        source: source.into(),
        repo: repo.to_string(),
        kind,
        title,
        body,
        labels: issue.labels.clone(),
        created_at: issue.created_at.clone(),
        url: issue.url.clone(),
        ..Item::default()
    };
    scrub(&mut item, scrubber);
    item
}

/// A discussion as an item (`feedback` unless labelled `question`).
pub fn from_discussion(repo: &str, d: &Discussion, scrubber: &Scrubber) -> Item {
    let kind =
        if d.labels.iter().any(|l| l.eq_ignore_ascii_case("question")) { Kind::Question } else { Kind::Feedback };
    let mut item = Item {
        id: format!("{repo}/discussions/{}", d.number),
        source: "github-discussion".into(),
        repo: repo.to_string(),
        kind,
        title: d.title.clone(),
        body: crate::prompt::strip_hidden(&d.body),
        labels: d.labels.clone(),
        url: d.url.clone(),
        ..Item::default()
    };
    scrub(&mut item, scrubber);
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_line_names_file_and_line() {
        let err =
            parse_jsonl("items.jsonl", "{\"id\":\"a\",\"title\":\"x\"}\n{oops}\n", Scrubber::builtin()).unwrap_err();
        assert!(err.to_string().starts_with("items.jsonl:2:"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn a_feedback_issue_is_the_users_words_alone() {
        let body = "A user sent this through the app's feedback form.\n\n### Feedback\n\n```text\nExport does nothing\nat all\n```\n\n| Page | `https://app.example.com/x` |\n| Release | `5.0.0` |\n\n<!-- homeostat:feedback=00000000000000000000000000000001 -->\n";
        let issue = Issue {
            number: 7,
            title: "Feedback: Export does nothing".into(),
            body: body.into(),
            labels: vec!["homeostat:feedback".into(), "feedback".into()],
            state: crate::forge::State::Open,
            url: String::new(),
            author: String::new(),
            created_at: String::new(),
            closed_at: None,
        };
        let item = from_issue("o/r", &issue, Scrubber::builtin());
        assert_eq!((item.kind, item.source.as_str()), (Kind::Feedback, "sentry-feedback"));
        assert_eq!((item.title.as_str(), item.body.as_str()), ("Export does nothing", "Export does nothing\nat all"));
    }

    #[test]
    fn items_are_scrubbed_and_get_an_id() {
        let items = parse_jsonl("f", "{\"title\":\"crash for bob@example.com\"}\n", Scrubber::builtin()).unwrap();
        assert_eq!(items[0].id, "1");
        assert!(!items[0].title.contains("bob@example.com"), "{}", items[0].title);
    }
}
