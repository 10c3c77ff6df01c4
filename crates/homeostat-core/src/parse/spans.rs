//! Where each key and list item of a YAML file starts, by path (`canary.metrics[1].name`),
//! read with a span-preserving YAML parser (saphyr-parser) beside the serde reader. A
//! value checked after parsing names its `file:line:column` from here, never by searching
//! the text, so a value or key that repeats elsewhere is still found at the right place.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, Span};

use crate::error::Position;

/// Positions (line and column, both from 1) of a YAML document's keys, sequence items
/// and values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spans {
    file: String,
    /// Where each key (or sequence item) starts.
    at: BTreeMap<String, (usize, usize)>,
    /// Where each value starts (a sequence item's is its own start).
    values: BTreeMap<String, (usize, usize)>,
    /// Lines before the text in its file (a front matter's `---` line).
    lines_before: usize,
}

/// One open collection while the events are walked.
enum Frame {
    /// A mapping at `path`; `key` is the child whose value comes next (None: a key comes next).
    Map { path: String, key: Option<String> },
    /// A sequence at `path`; `next` is the index of the next item.
    Seq { path: String, next: usize },
}

impl Spans {
    /// Reads the positions of `text`'s first document. A document the parser refuses
    /// (serde already accepted it) gives the positions read up to there.
    pub fn read(file: &str, text: &str) -> Self {
        Self::read_after(file, text, 0)
    }

    /// As [`Spans::read`], for a text that starts `lines_before` lines into its file
    /// (YAML front matter after its `---` line: 1).
    pub fn read_after(file: &str, text: &str, lines_before: usize) -> Self {
        let mut spans = Self { file: file.to_string(), lines_before, ..Self::default() };
        let mut stack: Vec<Frame> = Vec::new();
        let mut root_seen = false;
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            match event {
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    // A collection used as a key (`? [a, b]: v`) still opens a frame, so its
                    // end closes it and not its parent; nothing asks for the paths inside.
                    let path = spans.child(&mut stack, span, &mut root_seen, None).unwrap_or_else(|| "?".into());
                    stack.push(match event {
                        Event::MappingStart(..) => Frame::Map { path, key: None },
                        _ => Frame::Seq { path, next: 0 },
                    });
                }
                Event::Scalar(value, ..) => {
                    spans.child(&mut stack, span, &mut root_seen, Some(value.as_ref()));
                }
                Event::Alias(_) => {
                    spans.child(&mut stack, span, &mut root_seen, None);
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                Event::DocumentEnd if root_seen => break,
                _ => {}
            }
        }
        spans
    }

    /// Takes a node's place in its parent: a key is recorded (and returns None), a value
    /// or an item returns its path (an item is recorded too).
    fn child(&mut self, stack: &mut [Frame], span: Span, root_seen: &mut bool, scalar: Option<&str>) -> Option<String> {
        let start = (span.start.line() + self.lines_before, span.start.col() + 1);
        match stack.last_mut() {
            None => {
                *root_seen = true;
                self.values.entry(String::new()).or_insert(start);
                Some(String::new())
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(child) => {
                    self.values.entry(child.clone()).or_insert(start);
                    Some(child)
                }
                None => {
                    // A key; one that is not a plain scalar gets a path nothing asks for.
                    let name = scalar.unwrap_or("?");
                    let child = if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
                    self.at.entry(child.clone()).or_insert(start);
                    *key = Some(child);
                    None
                }
            },
            Some(Frame::Seq { path, next }) => {
                let child = format!("{path}[{next}]");
                *next += 1;
                self.at.entry(child.clone()).or_insert(start);
                self.values.entry(child.clone()).or_insert(start);
                Some(child)
            }
        }
    }

    /// The file the positions are in.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Where the key (or the sequence item) at `path` starts.
    pub fn get(&self, path: &str) -> Option<(usize, usize)> {
        self.at.get(path).copied()
    }

    /// Where the value at `path` starts (a scalar's first character, its quote included).
    pub fn value(&self, path: &str) -> Option<(usize, usize)> {
        self.values.get(path).copied()
    }

    /// The position of the value at `path`, else as [`Spans::position`].
    pub fn value_position(&self, path: &str) -> Position {
        match self.value(path) {
            Some((line, column)) => Position::at(&self.file, line, column),
            None => self.position(path),
        }
    }

    /// The position of item `index` of the list at `path`; when the value is written as
    /// one scalar instead of a list (`path: '*.md'`), that value's.
    pub fn item_position(&self, path: &str, index: usize) -> Position {
        let item = format!("{path}[{index}]");
        match self.value(&item) {
            Some(_) => self.value_position(&item),
            None => self.value_position(path),
        }
    }

    /// The position of `path`, else of its nearest parent in the file (a value left to
    /// its default), else the file alone.
    pub fn position(&self, path: &str) -> Position {
        let mut path = path;
        loop {
            if let Some((line, column)) = self.get(path) {
                return Position::at(&self.file, line, column);
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path = &path[..cut],
                None => return Position::file(&self.file),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_items_by_path() {
        let text =
            "canary:\n  count: 0\n  metrics:\n    - name: a\n      max: 1\n    - name: b\n  judge: {confidence: 1.5}\n";
        let spans = Spans::read("h.yml", text);
        assert_eq!(spans.get("canary"), Some((1, 1)));
        assert_eq!(spans.get("canary.count"), Some((2, 3)));
        assert_eq!(spans.get("canary.metrics[0]"), Some((4, 7)));
        assert_eq!(spans.get("canary.metrics[0].name"), Some((4, 7)));
        assert_eq!(spans.get("canary.metrics[1].name"), Some((6, 7)));
        assert_eq!(spans.get("canary.judge.confidence"), Some((7, 11)));
        assert_eq!(spans.position("canary.metrics[1].min").to_string(), Position::at("h.yml", 6, 7).to_string());
        assert_eq!(spans.position("nothing.here").to_string(), Position::file("h.yml").to_string());
    }

    #[test]
    fn a_repeated_key_is_found_under_its_own_parent() {
        let text = "a:\n  name: x\nb:\n  - {name: y}\n  - [1, 2]\n  - name: z\n";
        let spans = Spans::read("h.yml", text);
        assert_eq!(spans.get("a.name"), Some((2, 3)));
        assert_eq!(spans.get("b[0].name"), Some((4, 6)));
        assert_eq!(spans.get("b[1][1]"), Some((5, 9)));
        assert_eq!(spans.get("b[2].name"), Some((6, 5)));
    }

    #[test]
    fn a_collection_as_a_key_keeps_the_nesting() {
        let text = "a:\n  ? [x, y]\n  : v\n  b: 1\nc: 2\n";
        let spans = Spans::read("h.yml", text);
        assert_eq!(spans.get("a.b"), Some((4, 3)));
        assert_eq!(spans.get("c"), Some((5, 1)));
    }

    #[test]
    fn values_and_items_by_path() {
        let text = "a: 'x'\nb:\n  c: [1, \"y\"]\n  d: z\n  e:\n    - w\n";
        let spans = Spans::read("h.yml", text);
        assert_eq!(spans.value("a"), Some((1, 4)));
        assert_eq!(spans.value("b.c[1]"), Some((3, 10)));
        assert_eq!(spans.value("b.d"), Some((4, 6)));
        assert_eq!(spans.item_position("b.d", 0).to_string(), "h.yml:4:6");
        assert_eq!(spans.item_position("b.e", 0).to_string(), "h.yml:6:7");
        assert_eq!(spans.value_position("b.f").to_string(), "h.yml:2:1");
        let front = Spans::read_after("r.md", "name: x\nfix: [a]\n", 1);
        assert_eq!(front.get("fix"), Some((3, 1)));
        assert_eq!(front.value("fix[0]"), Some((3, 7)));
    }

    #[test]
    fn broken_or_empty_text_gives_what_was_read() {
        assert_eq!(Spans::read("h.yml", "").get(""), None);
        let spans = Spans::read("h.yml", "a: 1\nb: [\n");
        assert_eq!(spans.get("a"), Some((1, 1)));
    }
}
