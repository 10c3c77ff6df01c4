//! Python tracebacks, with chained exceptions (`During handling…`, `The above exception…`).

use super::{frame, split_header};
use crate::event::Exception;

pub fn parse(text: &str) -> Vec<Exception> {
    let mut out = Vec::new();
    let mut current: Option<Exception> = None;
    let mut header_lines: Vec<&str> = Vec::new();
    let mut after_frames = false;
    let flush = |current: &mut Option<Exception>, header: &mut Vec<&str>, out: &mut Vec<Exception>| {
        if let Some(mut ex) = current.take() {
            let (ty, value) = split_header(&header.join("\n"));
            ex.r#type = ty;
            ex.value = value;
            out.push(ex);
        }
        header.clear();
    };
    for line in text.lines() {
        let trimmed = line.trim();
        if super::find_traceback(trimmed).is_some() {
            flush(&mut current, &mut header_lines, &mut out);
            current = Some(Exception::default());
            after_frames = false;
            continue;
        }
        if trimmed.starts_with("During handling of the above exception")
            || trimmed.starts_with("The above exception was the direct cause")
        {
            flush(&mut current, &mut header_lines, &mut out);
            continue;
        }
        let Some(ex) = current.as_mut() else { continue };
        if let Some((path, rest)) = trimmed.strip_prefix("File \"").and_then(|r| r.split_once("\", line ")) {
            let (lineno, function) = match rest.split_once(", in ") {
                Some((l, f)) => (l.trim().parse().ok(), Some(f)),
                None => (rest.trim().parse().ok(), None),
            };
            ex.frames.push(frame(function, Some(path), lineno));
            continue;
        }
        if !after_frames && (line.starts_with(' ') || line.starts_with('\t') || trimmed.is_empty()) {
            continue; // source context or carets
        }
        if trimmed.is_empty() {
            continue;
        }
        after_frames = true;
        header_lines.push(trimmed);
    }
    flush(&mut current, &mut header_lines, &mut out);
    if out.is_empty() {
        let (ty, value) = split_header(text.lines().last().unwrap_or(""));
        out.push(Exception { r#type: ty, value, ..Exception::default() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chained() {
        let ex = parse(
            "Traceback (most recent call last):\n  File \"/app/db.py\", line 3, in load\n    x = d['k']\nKeyError: 'k'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"/app/main.py\", line 9, in <module>\n    load()\n  File \"/usr/lib/python3.12/site-packages/x/y.py\", line 1, in wrap\n    raise RuntimeError(\"no\")\nRuntimeError: no",
        );
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].r#type.as_deref(), Some("KeyError"));
        assert_eq!(ex[1].r#type.as_deref(), Some("RuntimeError"));
        assert_eq!(ex[1].frames.len(), 2);
        assert_eq!(ex[1].frames[0].function.as_deref(), Some("<module>"));
    }
}
