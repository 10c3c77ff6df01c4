//! Open Graph images: an SVG template (`prompts/content-og.svg.j2`) filled with the
//! page's title and brand, rendered to a 1200×630 PNG with resvg. Text needs fonts:
//! the system's (fontconfig folders, `/usr/share/fonts`) plus any folder given; no font
//! at all is an error that says so rather than an image without text.

use std::path::PathBuf;
use std::sync::Arc;

use resvg::usvg::{self, fontdb};

use crate::error::{Error, Result};
use crate::prompt::Prompts;

pub const TEMPLATE: &str = "content-og.svg.j2";
pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 630;

/// Fonts for the renderer.
pub fn load_fonts(extra_dirs: &[PathBuf]) -> Result<Arc<fontdb::Database>> {
    let mut db = fontdb::Database::new();
    db.load_system_fonts();
    for dir in extra_dirs {
        db.load_fonts_dir(dir);
    }
    if db.is_empty() {
        return Err(Error::Failed(
            "og image: no font found (install one, e.g. `apt-get install fonts-dejavu-core`)".into(),
        ));
    }
    // Generic families point at a face that exists.
    let families: Vec<String> = db.faces().flat_map(|f| f.families.iter().map(|(n, _)| n.clone())).collect();
    let pick = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial"]
        .iter()
        .find(|want| families.iter().any(|f| f == *want))
        .map(|s| s.to_string())
        .or_else(|| families.first().cloned());
    if let Some(family) = pick {
        db.set_sans_serif_family(family);
    }
    Ok(Arc::new(db))
}

/// Splits a title into at most `max_lines` lines of about `width` characters.
pub fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            last.push('…');
        }
    }
    lines
}

/// The SVG for a page, values XML-escaped.
pub fn svg(prompts: &Prompts, title: &str, brand: &str, label: &str) -> Result<String> {
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    let lines: Vec<String> = wrap(title, 26, 3).iter().map(|l| esc(l)).collect();
    prompts.render(
        TEMPLATE,
        &serde_json::json!({"width": WIDTH, "height": HEIGHT, "lines": lines, "brand": esc(brand), "label": esc(label)}),
    )
}

/// Renders SVG text to PNG bytes.
pub fn render_png(svg: &str, fonts: Arc<fontdb::Database>) -> Result<Vec<u8>> {
    let options = usvg::Options { fontdb: fonts, ..usvg::Options::default() };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| Error::Failed(format!("og image: bad SVG: {e}")))?;
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| Error::Failed("og image: the SVG has no size".into()))?;
    resvg::render(&tree, resvg::tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| Error::Failed(format!("og image: PNG encoding: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_wrap_and_cut() {
        assert_eq!(wrap("How to price a SaaS product", 12, 3), ["How to price", "a SaaS", "product"]);
        let long = wrap(&"word ".repeat(40), 10, 2);
        assert_eq!(long.len(), 2);
        assert!(long[1].ends_with('…'));
    }
}
