//! `hs-content publish`: the sitemap from live pages, and the approval of posts.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use super::page::{self, Status};
use super::sitemap;
use super::social::{self, Platform, Review};
use super::workspace::{Workspace, load_bundles};
use crate::error::{Error, Result};
use crate::files::write_whole;

#[derive(Debug, Clone, Serialize)]
pub struct PublishReport {
    /// Live pages, by slug.
    pub live: Vec<String>,
    pub sitemap: Vec<String>,
    /// Posts now `approved: true`.
    pub approved: usize,
    /// Posts still waiting for a maintainer's `review: approve`, or for their page to go live.
    pub waiting: usize,
    /// Approved posts whose time had passed, moved to the next free slots.
    pub rescheduled: usize,
    pub changed: Vec<String>,
}

/// How `publish` runs.
#[derive(Debug, Clone, Copy)]
pub struct PublishOptions {
    pub max_urls_per_file: usize,
    pub now: jiff::Timestamp,
    /// Off (`--dry-run`): report what would change, write nothing.
    pub write: bool,
}

/// `hs-content publish`: the sitemap from live pages, and approval of the posts a
/// maintainer marked whose page is live. An approved post whose time has passed while
/// the page waited for review moves to the next free slot.
pub fn publish(ws: &Workspace, options: PublishOptions) -> Result<PublishReport> {
    let cfg = &ws.config;
    let guides = ws.guides()?;
    let live: Vec<&page::Guide> = guides.iter().filter(|g| g.front.status == Status::Live).collect();
    let mut report = PublishReport {
        live: live.iter().map(|g| g.front.slug.clone()).collect(),
        sitemap: Vec::new(),
        approved: 0,
        waiting: 0,
        rescheduled: 0,
        changed: Vec::new(),
    };
    write_sitemap(ws, &live, &options, &mut report)?;

    let live_slugs: BTreeSet<&str> = live.iter().map(|g| g.front.slug.as_str()).collect();
    let mut bundles = load_bundles(ws)?;
    let mut changed = vec![false; bundles.len()];
    let mut late: Vec<(usize, usize)> = Vec::new();
    for (b, (_, bundle)) in bundles.iter_mut().enumerate() {
        let page_live = live_slugs.contains(bundle.slug.as_str());
        for (p, post) in bundle.posts.iter_mut().enumerate() {
            let approved = page_live && post.review == Review::Approve;
            if post.approved != approved {
                post.approved = approved;
                changed[b] = true;
            }
            if approved {
                report.approved += 1;
                if post.scheduled_at < options.now {
                    late.push((b, p));
                }
            } else if post.review != Review::Reject {
                report.waiting += 1;
            }
        }
    }
    if !late.is_empty() {
        let taken: Vec<(Platform, jiff::Timestamp)> = bundles
            .iter()
            .flat_map(|(_, b)| b.posts.iter())
            .filter(|p| p.review != Review::Reject && p.scheduled_at >= options.now)
            .map(|p| (p.platform, p.scheduled_at))
            .collect();
        let mut moving: Vec<social::Post> = late.iter().map(|&(b, p)| bundles[b].1.posts[p].clone()).collect();
        social::schedule(&mut moving, &taken, options.now, |p| cfg.limits.posts_per_day.get(p));
        for (&(b, p), post) in late.iter().zip(moving) {
            bundles[b].1.posts[p].scheduled_at = post.scheduled_at;
            changed[b] = true;
        }
        report.rescheduled = late.len();
    }
    for ((path, bundle), changed) in bundles.iter().zip(changed) {
        if !changed {
            continue;
        }
        if options.write {
            let yml = serde_yaml_ng::to_string(bundle).map_err(|e| Error::Failed(e.to_string()))?;
            write_whole(path, yml.as_bytes())?;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        report.changed.push(Workspace::rel(&cfg.out.social, &name));
    }
    Ok(report)
}

/// The sitemap of the live pages, written where it changed (when `options.write`).
fn write_sitemap(
    ws: &Workspace,
    live: &[&page::Guide],
    options: &PublishOptions,
    report: &mut PublishReport,
) -> Result<()> {
    let cfg = &ws.config;
    let entries: Vec<sitemap::UrlEntry> = live
        .iter()
        .map(|g| sitemap::UrlEntry {
            loc: cfg.guide_url(&g.front.slug),
            lastmod: Some(g.front.updated.clone().unwrap_or_else(|| g.front.date.clone())),
        })
        .collect();
    let sitemap_path = ws.at(&cfg.out.sitemap);
    let stem = sitemap_path.file_stem().and_then(|s| s.to_str()).unwrap_or("sitemap").to_string();
    let files = sitemap::render(&entries, &cfg.site.base_url, &cfg.site.base_url, &stem, options.max_urls_per_file)?;
    let dir = sitemap_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let shown_dir = cfg.out.sitemap.parent().map(Path::to_path_buf).unwrap_or_default();
    for f in files {
        let path = dir.join(&f.name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(f.xml.as_str()) {
            if options.write {
                write_whole(&path, f.xml.as_bytes())?;
            }
            report.changed.push(Workspace::rel(&shown_dir, &f.name));
        }
        report.sitemap.push(Workspace::rel(&shown_dir, &f.name));
    }
    Ok(())
}
