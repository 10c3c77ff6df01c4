//! What the next run writes and why: the highest-priority topic and keyword not yet
//! covered, within the weekly page limit. Pure.

use std::collections::BTreeSet;

use serde::Serialize;

use super::feedback::FeedbackFile;
use super::topics::{Keyword, Topic, TopicsFile};

/// One page the run would write.
#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub topic: String,
    pub keyword: Keyword,
    pub priority: u8,
    pub reason: String,
}

/// A keyword the run passes over, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub topic: String,
    pub keyword: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Pages already written this ISO week (from the ledger).
    pub written_this_week: u32,
    pub pages_per_week: u32,
    pub pages: Vec<Planned>,
    pub skipped: Vec<Skipped>,
    /// Candidates for later runs, in the order they would be written.
    pub next: Vec<Planned>,
}

/// The inputs of a plan.
pub struct PlanInput<'a> {
    pub topics: &'a TopicsFile,
    /// Keywords already covered (existing guides' `keyword` and the ledger's pages), lowercase.
    pub covered: &'a BTreeSet<String>,
    pub feedback: &'a [FeedbackFile],
    pub written_this_week: u32,
    pub pages_per_week: u32,
    pub pages_per_run: u32,
}

/// Normalises a keyword for coverage comparison.
pub fn key(phrase: &str) -> String {
    phrase.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

pub fn plan(input: &PlanInput<'_>) -> Plan {
    // Topics by priority (stable: file order breaks ties); feedback keywords join the
    // topic they name, after the topic's own keywords.
    let mut topics: Vec<(&Topic, Vec<Keyword>)> = input
        .topics
        .topics
        .iter()
        .map(|t| {
            let mut kws = t.keywords.clone();
            for file in input.feedback {
                for s in file.keywords.iter().filter(|s| s.topic.as_deref() == Some(t.name.as_str())) {
                    kws.push(Keyword {
                        phrase: s.phrase.clone(),
                        intent: "informational".into(),
                        source: "feedback".into(),
                    });
                }
            }
            (t, kws)
        })
        .collect();
    topics.sort_by_key(|t| std::cmp::Reverse(t.0.priority));

    let room = input.pages_per_week.saturating_sub(input.written_this_week).min(input.pages_per_run);
    let mut pages = Vec::new();
    let mut skipped = Vec::new();
    let mut next = Vec::new();
    let mut seen = BTreeSet::new();
    for (topic, keywords) in &topics {
        for kw in keywords {
            let k = key(&kw.phrase);
            if input.covered.contains(&k) {
                skipped.push(Skipped {
                    topic: topic.name.clone(),
                    keyword: kw.phrase.clone(),
                    reason: "already covered".into(),
                });
                continue;
            }
            if !seen.insert(k) {
                continue;
            }
            let reason = format!(
                "highest-priority uncovered keyword: topic {} (priority {}, {:?} intent, {:?} funnel), keyword from {}",
                topic.name, topic.priority, topic.intent, topic.funnel, kw.source
            )
            .to_lowercase();
            let planned = Planned { topic: topic.name.clone(), keyword: kw.clone(), priority: topic.priority, reason };
            if pages.len() < room as usize {
                pages.push(planned);
            } else {
                next.push(planned);
            }
        }
    }
    if room == 0 && !next.is_empty() {
        skipped.push(Skipped {
            topic: String::new(),
            keyword: String::new(),
            reason: format!(
                "weekly limit reached: {} of {} pages written this week",
                input.written_this_week, input.pages_per_week
            ),
        });
    }
    Plan { written_this_week: input.written_this_week, pages_per_week: input.pages_per_week, pages, skipped, next }
}

/// Monday 00:00 UTC of the ISO week holding `now`.
pub fn week_start(now: jiff::Timestamp) -> jiff::Timestamp {
    let date = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let back = i64::from(date.weekday().to_monday_zero_offset());
    let monday = date.checked_sub(jiff::Span::new().days(back)).unwrap_or(date);
    monday.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(now)
}

/// `2026-W48`: the ISO week of `now`, the period a feedback file covers.
pub fn iso_week(now: jiff::Timestamp) -> String {
    let week = now.to_zoned(jiff::tz::TimeZone::UTC).date().iso_week_date();
    format!("{}-W{:02}", week.year(), week.week())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::feedback::SuggestedKeyword;

    fn topics() -> TopicsFile {
        TopicsFile::parse(
            "t.yml",
            "topics:\n\
             - {name: low, intent: awareness, funnel: top, priority: 10, keywords: [{phrase: low one}]}\n\
             - {name: high, intent: decision, funnel: bottom, priority: 90, keywords: [{phrase: High  One}, {phrase: high two}]}\n",
        )
        .unwrap()
    }

    fn run(covered: &[&str], feedback: &[FeedbackFile], written: u32, per_week: u32, per_run: u32) -> Plan {
        let topics = topics();
        let covered = covered.iter().map(|k| key(k)).collect();
        plan(&PlanInput {
            topics: &topics,
            covered: &covered,
            feedback,
            written_this_week: written,
            pages_per_week: per_week,
            pages_per_run: per_run,
        })
    }

    fn phrases(list: &[Planned]) -> Vec<&str> {
        list.iter().map(|p| p.keyword.phrase.as_str()).collect()
    }

    #[test]
    fn highest_priority_uncovered_first_within_the_room() {
        let p = run(&["high one"], &[], 0, 3, 2);
        assert_eq!(phrases(&p.pages), ["high two", "low one"]);
        assert_eq!(p.skipped[0].reason, "already covered");
        assert!(p.pages[0].reason.contains("priority 90"));
        // The week's room is what is left of the weekly limit.
        let p = run(&[], &[], 2, 3, 3);
        assert_eq!(phrases(&p.pages), ["High  One"]);
        assert_eq!(phrases(&p.next), ["high two", "low one"]);
        let p = run(&[], &[], 3, 3, 3);
        assert!(p.pages.is_empty());
        assert!(p.skipped.iter().any(|s| s.reason.contains("weekly limit reached: 3 of 3")));
    }

    #[test]
    fn feedback_keywords_join_their_topic_after_its_own() {
        let fb = FeedbackFile {
            period: "2026-W48".into(),
            keywords: vec![
                SuggestedKeyword { phrase: "from readers".into(), topic: Some("high".into()), reason: String::new() },
                SuggestedKeyword { phrase: "High One".into(), topic: Some("high".into()), reason: String::new() },
                SuggestedKeyword { phrase: "orphan".into(), topic: None, reason: String::new() },
            ],
            ..Default::default()
        };
        let p = run(&[], &[fb], 0, 10, 10);
        assert_eq!(phrases(&p.pages), ["High  One", "high two", "from readers", "low one"]);
        assert_eq!(p.pages[2].keyword.source, "feedback");
    }

    #[test]
    fn weeks_start_on_monday_utc() {
        let sunday: jiff::Timestamp = "2026-11-29T23:59:59Z".parse().unwrap();
        assert_eq!(week_start(sunday).to_string(), "2026-11-23T00:00:00Z");
        let monday: jiff::Timestamp = "2026-11-30T00:00:00Z".parse().unwrap();
        assert_eq!(week_start(monday), monday);
        assert_eq!(iso_week(sunday), "2026-W48");
        assert_eq!(iso_week("2027-01-01T12:00:00Z".parse().unwrap()), "2026-W53");
    }
}
