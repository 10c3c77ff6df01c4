//! The context bundle the agent gets: the issue (title and scrubbed body, quoted as
//! data), the stack's frames and the in-app source files they name (within a byte
//! budget), the repository's instruction files from the default branch, and the
//! policy's constraints. Rendered by `prompts/agent-fix.md.j2` / `agent-revise.md.j2`.

use serde::Serialize;

use super::bridge::{self, Frame};
use super::git::Checkout;
use crate::error::Result;
use crate::forge::Issue;
use crate::policy::Policy;
use crate::scrub::Scrubber;

/// Instruction files a repository gives coding agents, read from the default branch.
pub const INSTRUCTION_FILES: &[&str] = &["AGENTS.md", "CLAUDE.md", ".github/copilot-instructions.md"];

/// Characters of the issue body quoted in the prompt (the stack comes first in it).
const BODY_MAX_CHARS: usize = 16_000;

/// Lines kept around a frame's line when a whole file does not fit the budget.
const WINDOW_LINES: usize = 40;

#[derive(Debug, Clone, Serialize)]
pub struct IssueData {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrameData {
    pub function: String,
    pub file: String,
    pub line: Option<u32>,
    /// The frame's file resolved to a file of the repository, when it is one (in-app).
    pub repo_path: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceFile {
    pub path: String,
    /// 1-based first line shown.
    pub from_line: usize,
    pub content: String,
    /// Only a window of the file is shown.
    pub partial: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstructionFile {
    pub path: String,
    pub content: String,
}

/// Everything a prompt template sees.
#[derive(Debug, Clone, Serialize)]
pub struct Bundle {
    pub mode: String,
    pub issue: IssueData,
    pub fingerprint: Option<String>,
    pub class: String,
    pub class_reasons: Vec<String>,
    pub frames: Vec<FrameData>,
    pub sources: Vec<SourceFile>,
    /// Source files named by frames but left out for the byte budget.
    pub sources_left_out: Vec<String>,
    pub instructions: Vec<InstructionFile>,
    pub protected_paths: Vec<String>,
    pub max_files: Option<u64>,
    pub max_changed_lines: Option<u64>,
    pub require_tests: bool,
    pub branch: String,
    pub summary_file: String,
    /// Revise runs: what to change (a maintainer's request or a CI failure). Untrusted.
    pub feedback: Option<String>,
    pub pr: Option<u64>,
}

/// Inputs of [`build`] besides the checkout and policy.
pub struct BundleInput<'a> {
    pub mode: &'a str,
    pub issue: &'a Issue,
    pub class: &'a bridge::Classification,
    pub branch: &'a str,
    pub summary_file: &'a str,
    pub feedback: Option<&'a str>,
    pub pr: Option<u64>,
    pub byte_budget: usize,
}

/// Builds the bundle; files are read from `default_head` (the default branch's commit).
pub fn build(
    input: &BundleInput<'_>,
    checkout: &Checkout,
    default_head: git2::Oid,
    policy: &Policy,
    scrubber: &Scrubber,
) -> Result<Bundle> {
    let issue = input.issue;
    let files = checkout.files_at(default_head)?;
    let frames: Vec<FrameData> = bridge::frames_from_body(&issue.body)
        .into_iter()
        .map(|f: Frame| {
            let repo_path = resolve(&f.file, &files);
            FrameData { function: f.function, file: f.file, line: f.line, repo_path }
        })
        .collect();

    let (sources, left_out) = read_sources(&frames, checkout, default_head, input.byte_budget)?;

    let mut instructions = Vec::new();
    for path in INSTRUCTION_FILES {
        if let Some(bytes) = checkout.read_at(default_head, path)? {
            instructions.push(InstructionFile {
                path: (*path).to_string(),
                content: crate::prompt::strip_hidden(&String::from_utf8_lossy(&bytes)),
            });
        }
    }

    let (max_files, max_changed_lines, require_tests) = bridge::limits(policy);
    let scrub = |t: &str| scrubber.scrub(t).into_owned();
    Ok(Bundle {
        mode: input.mode.to_string(),
        issue: IssueData {
            number: issue.number,
            title: scrub(&issue.title),
            body: {
                let body = scrub(&issue.body);
                if body.chars().count() > BODY_MAX_CHARS {
                    let cut: String = body.chars().take(BODY_MAX_CHARS).collect();
                    format!("{cut}\n[… cut at {BODY_MAX_CHARS} characters]")
                } else {
                    body
                }
            },
            url: issue.url.clone(),
        },
        fingerprint: bridge::fingerprint_of(&issue.body),
        class: input.class.class.clone(),
        class_reasons: input.class.reasons.clone(),
        frames,
        sources,
        sources_left_out: left_out,
        instructions,
        protected_paths: bridge::protected_paths(policy),
        max_files,
        max_changed_lines,
        require_tests,
        branch: input.branch.to_string(),
        summary_file: input.summary_file.to_string(),
        feedback: input.feedback.map(scrub),
        pr: input.pr,
    })
}

/// The source files the frames name, read from `default_head`, each whole while it fits
/// in `byte_budget` and else a window around the frame's line; the paths that did not fit.
fn read_sources(
    frames: &[FrameData],
    checkout: &Checkout,
    default_head: git2::Oid,
    byte_budget: usize,
) -> Result<(Vec<SourceFile>, Vec<String>)> {
    let mut sources = Vec::new();
    let mut left_out = Vec::new();
    let mut used = 0usize;
    let mut seen = std::collections::BTreeSet::new();
    for frame in frames {
        let Some(path) = &frame.repo_path else { continue };
        if !seen.insert(path.clone()) {
            continue;
        }
        let Some(bytes) = checkout.read_at(default_head, path)? else { continue };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let room = byte_budget.saturating_sub(used);
        let file = if text.len() <= room {
            Some(SourceFile { path: path.clone(), from_line: 1, content: text, partial: false })
        } else {
            window(&text, frame.line.unwrap_or(1) as usize, room).map(|(from_line, content)| SourceFile {
                path: path.clone(),
                from_line,
                content,
                partial: true,
            })
        };
        match file {
            Some(f) => {
                used += f.content.len();
                sources.push(f);
            }
            None => left_out.push(path.clone()),
        }
    }
    Ok((sources, left_out))
}

/// The repository file a frame's path names: the same path, or the longest repository
/// path that is a suffix of it (bundlers and URLs add prefixes), or that it is a suffix of.
fn resolve(frame_file: &str, files: &[String]) -> Option<String> {
    if frame_file.is_empty() {
        return None;
    }
    if files.iter().any(|f| f == frame_file) {
        return Some(frame_file.to_string());
    }
    files
        .iter()
        .filter(|f| frame_file.ends_with(&format!("/{f}")) || f.ends_with(&format!("/{frame_file}")))
        .max_by_key(|f| f.len())
        .cloned()
}

/// At most `room` bytes of whole lines around `line`, and the first line's number.
fn window(text: &str, line: usize, room: usize) -> Option<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let center = line.saturating_sub(1).min(lines.len().saturating_sub(1));
    let mut from = center.saturating_sub(WINDOW_LINES / 2);
    let to = (center + WINDOW_LINES / 2 + 1).min(lines.len());
    while from <= center {
        let chunk = lines[from..to].join("\n");
        if chunk.len() <= room && !chunk.is_empty() {
            return Some((from + 1, chunk));
        }
        from += 1;
    }
    let only = lines.get(center)?;
    (only.len() <= room && !only.is_empty()).then(|| (center + 1, (*only).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_paths_resolve_to_repository_files() {
        let files = vec!["src/popup.js".to_string(), "popup.js".to_string(), "lib/util.py".to_string()];
        assert_eq!(resolve("src/popup.js", &files).as_deref(), Some("src/popup.js"));
        assert_eq!(resolve("dist/ext/src/popup.js", &files).as_deref(), Some("src/popup.js"));
        assert_eq!(resolve("util.py", &files).as_deref(), Some("lib/util.py"));
        assert_eq!(resolve("node_modules/react/index.js", &files), None);
    }

    #[test]
    fn a_window_fits_the_budget_around_the_line() {
        let text: String = (1..=200).map(|i| format!("line {i:03}\n")).collect();
        let (from, chunk) = window(&text, 100, 200).unwrap();
        assert!(chunk.len() <= 200);
        assert!(chunk.contains("line 100"));
        assert!(from > 1 && from <= 100);
        assert!(window(&text, 100, 3).is_none());
    }
}
