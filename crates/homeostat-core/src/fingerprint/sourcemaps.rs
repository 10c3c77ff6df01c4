//! Source maps: minified JavaScript frames resolved to their original file, function and
//! line before grouping, with getsentry's `sourcemap` crate (what Sentry itself uses).
//!
//! Pure: the maps are handed in as bytes ([`SourceMaps::add`]); reading them from a folder
//! is `crate::input::load_sourcemaps`. Maps are kept per release: an event's frames are
//! resolved with the maps of its release, else with maps given without one. A frame whose
//! file has no map is left as it is, and groups as it did without maps.

use std::collections::HashMap;

use sourcemap::{SourceMap, SourceView};

use crate::event::Frame;

/// One minified file's map, and the minified source when it was beside the map (it lets
/// the enclosing function's original name be found).
struct Entry {
    map: SourceMap,
    view: Option<SourceView>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("sources", &self.map.get_source_count()).finish()
    }
}

/// Source maps by release (`None`: for any release) and minified file name.
#[derive(Debug, Default)]
pub struct SourceMaps {
    by_release: HashMap<Option<String>, HashMap<String, Entry>>,
}

impl SourceMaps {
    /// Adds the map of the minified file `file` (matched by base name against frames).
    pub fn add(
        &mut self,
        release: Option<&str>,
        file: &str,
        map: &[u8],
        minified: Option<String>,
    ) -> Result<(), String> {
        let map = SourceMap::from_slice(map).map_err(|e| format!("not a source map: {e}"))?;
        let view = minified.map(SourceView::from_string);
        let set = self.by_release.entry(release.map(str::to_string)).or_default();
        set.insert(base_name(file).to_string(), Entry { map, view });
        Ok(())
    }

    /// How many maps were added.
    pub fn len(&self) -> usize {
        self.by_release.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entry(&self, release: Option<&str>, file: &str) -> Option<&Entry> {
        let name = base_name(file);
        let exact = release.and_then(|r| self.by_release.get(&Some(r.to_string()))).and_then(|s| s.get(name));
        exact.or_else(|| self.by_release.get(&None).and_then(|s| s.get(name)))
    }

    /// Resolves the frames (oldest call first) that have a map; returns how many did.
    pub fn resolve(&self, release: Option<&str>, frames: &mut [Frame]) -> usize {
        // The callee's name at each call site: the original name of the next frame's
        // function when its own scope cannot be read.
        let call_names: Vec<Option<String>> = frames
            .iter()
            .map(|f| {
                let (entry, line, col) = self.locate(release, f)?;
                let token = entry.map.lookup_token(line, col)?;
                token.get_name().filter(|n| is_identifier(n)).map(str::to_string)
            })
            .collect();
        let mut resolved = 0;
        for (i, f) in frames.iter_mut().enumerate() {
            let Some((entry, line, col)) = self.locate(release, f) else { continue };
            let Some(token) = entry.map.lookup_token(line, col) else { continue };
            let Some(source) = token.get_source() else { continue };
            let minified_name = f.function.clone().unwrap_or_default();
            let short = minified_name.rsplit('.').next().unwrap_or(&minified_name);
            let from_scope = entry.view.as_ref().and_then(|v| v.get_original_function_name(token, short));
            let from_caller = i.checked_sub(1).and_then(|c| call_names[c].as_deref());
            let source = clean_source(source);
            // Minified names are per build: without an original one, none groups.
            f.function = from_scope.or(from_caller).map(str::to_string);
            f.raw_function = None;
            f.module = None;
            f.filename = Some(source.clone());
            f.abs_path = Some(source);
            f.lineno = Some(u64::from(token.get_src_line()) + 1);
            f.colno = Some(u64::from(token.get_src_col()) + 1);
            resolved += 1;
        }
        resolved
    }

    /// The map of a frame's file and the frame's 0-based position in the minified file.
    fn locate(&self, release: Option<&str>, f: &Frame) -> Option<(&Entry, u32, u32)> {
        let file = f.abs_path.as_deref().or(f.filename.as_deref())?;
        let entry = self.entry(release, file)?;
        let line = u32::try_from(f.lineno?.checked_sub(1)?).ok()?;
        let col = u32::try_from(f.colno.unwrap_or(1).saturating_sub(1)).ok()?;
        Some((entry, line, col))
    }
}

/// `webpack://app/./src/notes.js` → `src/notes.js`; `../src/notes.js` → `src/notes.js`:
/// the same source however the bundler wrote its path.
fn clean_source(source: &str) -> String {
    let s = source.split_once("://").map_or(source, |(_, rest)| rest.split_once('/').map_or(rest, |(_, p)| p));
    let s = s.trim_start_matches("./");
    let mut parts: Vec<&str> = s.split('/').filter(|p| !p.is_empty() && *p != "." && *p != "..").collect();
    if parts.is_empty() {
        parts.push(s);
    }
    parts.join("/")
}

/// The base name of a path or URL (no query or fragment).
fn base_name(file: &str) -> &str {
    let file = file.split(['?', '#']).next().unwrap_or(file);
    file.rsplit(['/', '\\']).next().unwrap_or(file)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_cleaned_and_unknown_files_left_alone() {
        assert_eq!(clean_source("webpack://app/./src/notes.js"), "src/notes.js");
        assert_eq!(clean_source("../src/notes.js"), "src/notes.js");
        let maps = SourceMaps::default();
        let mut frames = vec![Frame { function: Some("r".into()), abs_path: Some("a.js".into()), ..Frame::default() }];
        assert_eq!(maps.resolve(None, &mut frames), 0);
        assert_eq!(frames[0].function.as_deref(), Some("r"));
        assert!(SourceMaps::default().add(None, "a.js", b"not json", None).is_err());
    }
}
