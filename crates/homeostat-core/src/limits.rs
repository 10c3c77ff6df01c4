//! GitHub's limits on what a bot writes.

/// Issue, PR and comment bodies.
pub const BODY_MAX_CHARS: usize = 65_536;
/// Issue and PR titles.
pub const TITLE_MAX_CHARS: usize = 256;
/// Label names.
pub const LABEL_MAX_CHARS: usize = 50;

/// Cuts `text` to at most `max` characters, ending with `…` when cut.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Cuts a body to GitHub's limit, keeping its last `keep_tail` (e.g. a hidden
/// marker) intact and saying that it was cut.
pub fn truncate_body(body: &str, keep_tail: &str) -> String {
    if body.chars().count() <= BODY_MAX_CHARS {
        return body.to_string();
    }
    let note = "\n\n_(cut to GitHub's 65,536-character limit)_\n";
    let head_max = BODY_MAX_CHARS - keep_tail.chars().count() - note.chars().count();
    let head = body.strip_suffix(keep_tail).unwrap_or(body);
    let mut out: String = head.chars().take(head_max).collect();
    out.push_str(note);
    out.push_str(keep_tail);
    out
}

/// A label cut to 50 characters.
pub fn label(name: &str) -> String {
    name.chars().take(LABEL_MAX_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_keeps_marker_and_limit() {
        let marker = "\n<!-- m -->";
        let body = format!("{}{marker}", "x".repeat(100_000));
        let cut = truncate_body(&body, marker);
        assert_eq!(cut.chars().count(), BODY_MAX_CHARS);
        assert!(cut.ends_with(marker));
    }

    #[test]
    fn titles_and_labels_are_cut_by_chars() {
        assert_eq!(truncate_chars(&"é".repeat(300), TITLE_MAX_CHARS).chars().count(), 256);
        assert_eq!(label(&"a".repeat(80)).len(), 50);
        assert_eq!(truncate_chars("short", 256), "short");
    }
}
