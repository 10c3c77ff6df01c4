//! `sitemap.xml` by the sitemaps.org protocol: UTF-8, entity-escaped absolute URLs on the
//! site's host, W3C dates, at most 50,000 URLs and 50 MiB per file, and a sitemap index
//! beyond that. Pure: returns the files to write.

use serde::Serialize;

use crate::error::{Error, Result};

pub const MAX_URLS: usize = 50_000;
pub const MAX_BYTES: usize = 52_428_800;
pub const MAX_LOC: usize = 2047;
const XMLNS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UrlEntry {
    pub loc: String,
    /// W3C datetime: `YYYY-MM-DD` or a full timestamp with zone.
    pub lastmod: Option<String>,
}

/// One file to write: its name (next to the sitemap path) and content.
#[derive(Debug, Clone, PartialEq)]
pub struct SitemapFile {
    pub name: String,
    pub xml: String,
}

/// Renders `entries` as `<stem>.xml`, or as `<stem>-1.xml`… with `<stem>.xml` an index
/// whose entries live at `<public_base>/<name>`, when one file cannot hold them.
pub fn render(
    entries: &[UrlEntry],
    site_base: &str,
    public_base: &str,
    stem: &str,
    max_urls: usize,
) -> Result<Vec<SitemapFile>> {
    let host =
        host_of(site_base).ok_or_else(|| Error::Failed(format!("sitemap: base URL {site_base:?} is not absolute")))?;
    for e in entries {
        check_loc(&e.loc, &host)?;
        if let Some(lastmod) = &e.lastmod {
            check_w3c(lastmod)?;
        }
    }
    let mut chunks: Vec<Vec<String>> = vec![Vec::new()];
    let mut size = urlset_overhead();
    for e in entries {
        let item = url_item(e);
        let last = chunks.last_mut().map(|c| c.len()).unwrap_or(0);
        if last >= max_urls.max(1) || size + item.len() > MAX_BYTES {
            chunks.push(Vec::new());
            size = urlset_overhead();
        }
        size += item.len();
        if let Some(chunk) = chunks.last_mut() {
            chunk.push(item);
        }
    }
    if chunks.len() == 1 {
        return Ok(vec![SitemapFile { name: format!("{stem}.xml"), xml: urlset(&chunks[0]) }]);
    }
    if chunks.len() > MAX_URLS {
        return Err(Error::Failed(format!("sitemap: {} files exceed an index's 50,000", chunks.len())));
    }
    let mut files = Vec::new();
    let mut index = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    index.push_str(&format!("<sitemapindex xmlns=\"{XMLNS}\">\n"));
    for (i, chunk) in chunks.iter().enumerate() {
        let name = format!("{stem}-{}.xml", i + 1);
        let loc = format!("{}/{name}", public_base.trim_end_matches('/'));
        index.push_str(&format!("  <sitemap>\n    <loc>{}</loc>\n  </sitemap>\n", escape(&loc)));
        files.push(SitemapFile { name, xml: urlset(chunk) });
    }
    index.push_str("</sitemapindex>\n");
    files.push(SitemapFile { name: format!("{stem}.xml"), xml: index });
    Ok(files)
}

fn urlset_overhead() -> usize {
    urlset(&[]).len()
}

fn urlset(items: &[String]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!("<urlset xmlns=\"{XMLNS}\">\n"));
    for item in items {
        xml.push_str(item);
    }
    xml.push_str("</urlset>\n");
    xml
}

fn url_item(e: &UrlEntry) -> String {
    let mut s = format!("  <url>\n    <loc>{}</loc>\n", escape(&e.loc));
    if let Some(lastmod) = &e.lastmod {
        s.push_str(&format!("    <lastmod>{}</lastmod>\n", escape(lastmod)));
    }
    s.push_str("  </url>\n");
    s
}

/// Entity-escapes `& ' " < >`.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

fn host_of(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn check_loc(loc: &str, host: &str) -> Result<()> {
    match host_of(loc) {
        None => Err(Error::Failed(format!("sitemap: {loc:?} is not an absolute http(s) URL"))),
        Some(h) if h != host => Err(Error::Failed(format!("sitemap: {loc:?} is not on {host}"))),
        Some(_) if loc.len() > MAX_LOC => {
            Err(Error::Failed(format!("sitemap: a URL is {} characters long", loc.len())))
        }
        Some(_) if loc.chars().any(char::is_whitespace) => {
            Err(Error::Failed(format!("sitemap: {loc:?} contains spaces")))
        }
        Some(_) => Ok(()),
    }
}

/// `YYYY-MM-DD` or an RFC 3339 timestamp.
fn check_w3c(s: &str) -> Result<()> {
    if s.parse::<jiff::civil::Date>().is_ok() && s.len() == 10 {
        return Ok(());
    }
    if s.parse::<jiff::Timestamp>().is_ok() {
        return Ok(());
    }
    Err(Error::Failed(format!("sitemap: lastmod {s:?} is not a W3C date")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: usize) -> Vec<UrlEntry> {
        (0..n)
            .map(|i| UrlEntry { loc: format!("https://e.com/g/{i}?a=1&b=2"), lastmod: Some("2026-01-02".into()) })
            .collect()
    }

    #[test]
    fn one_file_escapes_urls() {
        let files = render(&entries(2), "https://e.com", "https://e.com", "sitemap", MAX_URLS).unwrap();
        assert_eq!(files.len(), 1);
        assert!(files[0].xml.contains("<loc>https://e.com/g/0?a=1&amp;b=2</loc>"));
        assert!(!files[0].xml.contains("&b="));
    }

    #[test]
    fn past_the_limit_an_index_points_to_each_file() {
        let files = render(&entries(5), "https://e.com", "https://e.com/", "sitemap", 2).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["sitemap-1.xml", "sitemap-2.xml", "sitemap-3.xml", "sitemap.xml"]);
        assert!(files[3].xml.contains("<sitemapindex"));
        assert!(files[3].xml.contains("<loc>https://e.com/sitemap-3.xml</loc>"));
        assert_eq!(files[2].xml.matches("<url>").count(), 1);
    }

    #[test]
    fn foreign_relative_or_undated_urls_are_refused() {
        let bad = |loc: &str, lastmod: Option<&str>| {
            render(
                &[UrlEntry { loc: loc.into(), lastmod: lastmod.map(Into::into) }],
                "https://e.com",
                "https://e.com",
                "s",
                10,
            )
            .is_err()
        };
        assert!(bad("/g/a", None));
        assert!(bad("https://other.com/a", None));
        assert!(bad("https://e.com/a", Some("23/11/2026")));
        assert!(!bad("https://e.com/a", Some("2026-11-23T10:00:00Z")));
    }
}
