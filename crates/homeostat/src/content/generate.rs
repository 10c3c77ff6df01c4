//! The runs: `plan`, `generate`, `publish` and `feedback`, over a repository checkout.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use super::config::ContentConfig;
use super::feedback::{self, FeedbackFile};
use super::guardrails::{self, Draft, Rules, Site, Violation};
use super::og;
use super::page::{self, FrontMatter, Status};
use super::plan::{self, Plan, PlanInput, Planned};
use super::pr::FileChange;
use super::sitemap;
use super::social::{self, Bundle, Dropped, Platform, Review};
use super::topics::TopicsFile;
use crate::error::{Error, Result};
use crate::forge::{Forge, StateFilter};
use crate::ledger::Ledger;
use crate::llm::Llm;
use crate::prompt::Prompts;

/// Ledger kind of a page a run wrote or rejected.
pub const LEDGER_PAGE: &str = "content.page";

/// The repository being written to, and its content settings.
pub struct Workspace {
    pub root: PathBuf,
    pub config: ContentConfig,
}

impl Workspace {
    pub fn new(root: impl Into<PathBuf>, config: ContentConfig) -> Self {
        Self { root: root.into(), config }
    }
    fn at(&self, p: &Path) -> PathBuf {
        self.root.join(p)
    }
    fn rel(p: &Path, name: &str) -> String {
        let joined = p.join(name);
        joined.to_string_lossy().replace('\\', "/")
    }
    fn guides(&self) -> Result<Vec<page::Guide>> {
        page::load_all(&self.at(&self.config.out.guides))
    }
    fn feedback(&self) -> Result<Vec<FeedbackFile>> {
        feedback::load_all(&self.at(&self.config.out.feedback))
    }
}

/// `hs-content plan`: what the next run would write and why.
pub fn plan(ws: &Workspace, ledger: &Ledger, now: jiff::Timestamp) -> Result<Plan> {
    let topics = TopicsFile::load(&ws.at(&ws.config.topics))?;
    let mut covered: BTreeSet<String> = ws.guides()?.iter().map(|g| plan::key(&g.front.keyword)).collect();
    let entries = ledger.entries()?;
    let week = plan::week_start(now);
    let mut written_this_week = 0;
    for e in entries.iter().filter(|e| e.kind == LEDGER_PAGE && e.get_str("status") == Some("written")) {
        if let Some(k) = e.get_str("keyword") {
            covered.insert(plan::key(k));
        }
        if e.ts >= week && e.ts <= now {
            written_this_week += 1;
        }
    }
    let feedback = ws.feedback()?;
    Ok(plan::plan(&PlanInput {
        topics: &topics,
        covered: &covered,
        feedback: &feedback,
        written_this_week,
        pages_per_week: ws.config.limits.pages_per_week,
        pages_per_run: ws.config.limits.pages_per_run,
    }))
}

/// Everything a `generate` run uses.
pub struct Generator<'a> {
    pub ws: &'a Workspace,
    pub llm: &'a Llm,
    pub prompts: &'a Prompts,
    pub forge: &'a dyn Forge,
    pub ledger: &'a Ledger,
    pub now: jiff::Timestamp,
    /// Push and open the PR (off: write files only).
    pub propose: bool,
    pub remote: String,
    /// Extra font folders for the Open Graph image.
    pub font_dirs: Vec<PathBuf>,
    /// The environment git runs with.
    pub env: &'a crate::gha::Env,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub slug: String,
    pub keyword: String,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GenerateReport {
    pub written: Vec<String>,
    pub rejected: Vec<Rejected>,
    pub pr: Option<u64>,
    pub branch: Option<String>,
    /// Posts the model wrote that did not fit their platform.
    pub dropped_posts: Vec<Dropped>,
    /// Why nothing was attempted, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Answer schemas of the prompts, as DESIGN.md lists them.
pub fn idea_schema() -> Value {
    json!({
        "type": "object",
        "required": ["page_type", "title", "slug", "keyword", "cta", "reason"],
        "properties": {
            "page_type": {"enum": ["guide", "template", "comparison", "playbook"]},
            "title": {"type": "string", "minLength": 5, "maxLength": 120},
            "slug": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "maxLength": 80},
            "keyword": {"type": "string", "minLength": 2},
            "cta": {"type": "string"},
            "reason": {"type": "string"}
        }
    })
}

pub fn page_schema() -> Value {
    json!({
        "type": "object",
        "required": ["title", "description", "h1", "body_md", "faq"],
        "properties": {
            "title": {"type": "string", "minLength": 5},
            "description": {"type": "string", "minLength": 20},
            "h1": {"type": "string", "minLength": 5},
            "body_md": {"type": "string", "minLength": 200},
            "faq": {"type": "array", "maxItems": 8, "items": {
                "type": "object", "required": ["q", "a"],
                "properties": {"q": {"type": "string", "minLength": 3}, "a": {"type": "string", "minLength": 3}}}}
        }
    })
}

pub fn social_schema() -> Value {
    let texts = json!({"type": "array", "items": {"type": "string", "minLength": 10}, "maxItems": 5});
    json!({
        "type": "object",
        "required": ["x", "linkedin", "bluesky"],
        "properties": {"x": texts, "linkedin": texts, "bluesky": texts}
    })
}

/// Guardrail rules: the configured file or the built-in one, plus the brand's words.
pub fn rules(ws: &Workspace) -> Result<Rules> {
    let (file, text) = match &ws.config.guardrails {
        Some(p) => (p.display().to_string(), crate::error::read_to_string(&ws.at(p))?),
        None => ("policies/content-guardrails.yml".to_string(), guardrails::BUILTIN_RULES.to_string()),
    };
    Rules::parse(&file, &text, &ws.config.brand.forbidden, &ws.config.limits)
}

impl Generator<'_> {
    /// `hs-content generate`: writes the planned pages, then (unless `propose` is off)
    /// adds them to the week's batch and its pull request ([`super::batch`]). A page is
    /// recorded in the ledger once it is on the remote (or written, without a PR).
    pub async fn run(&self) -> Result<GenerateReport> {
        let mut report = GenerateReport {
            written: Vec::new(),
            rejected: Vec::new(),
            pr: None,
            branch: None,
            dropped_posts: Vec::new(),
            note: None,
        };
        let (files, pages) = self.write_pages(&mut report).await?;
        if self.propose {
            self.propose_batch(&mut report, files, &pages).await?;
        } else {
            super::batch::record(self.ledger, &pages)?;
        }
        Ok(report)
    }

    /// The model, guardrails and files of the planned pages: the files written and the
    /// pages to record.
    async fn write_pages(&self, report: &mut GenerateReport) -> Result<(Vec<FileChange>, Vec<super::batch::Page>)> {
        let ws = self.ws;
        let cfg = &ws.config;
        let plan = plan(ws, self.ledger, self.now)?;
        let mut pages = Vec::new();
        if plan.pages.is_empty() {
            report.note = Some(match plan.skipped.iter().find(|s| s.keyword.is_empty()) {
                Some(s) => s.reason.clone(),
                None => "no uncovered keyword left in the topics file".into(),
            });
            return Ok((Vec::new(), pages));
        }
        let rules = rules(ws)?;
        let guides = ws.guides()?;
        let feedback = ws.feedback()?;
        let fonts = og::load_fonts(&self.font_dirs)?;
        let mut site =
            Site { base_url: cfg.site.base_url.clone(), known_paths: cfg.site.pages.iter().cloned().collect() };
        site.known_paths.extend(guides.iter().map(|g| cfg.guide_path(&g.front.slug)));
        let mut taken_slugs: BTreeSet<String> = guides.iter().map(|g| g.front.slug.clone()).collect();
        let mut scheduled = self.scheduled_posts()?;
        let mut files: Vec<FileChange> = Vec::new();

        // A rejected page leaves its slot to the next keyword, a couple of times at most.
        let candidates: Vec<&Planned> = plan.pages.iter().collect();
        let room = candidates.len();
        let mut queue = candidates.clone();
        queue.extend(plan.next.iter().take(2));
        for planned in queue {
            if pages.len() >= room {
                break;
            }
            let faq_hints: Vec<&feedback::SuggestedFaq> = feedback
                .iter()
                .flat_map(|f| f.faq.iter())
                .filter(|f| f.topic.as_deref().is_none_or(|t| t == planned.topic))
                .collect();
            let topic = TopicsFile::load(&ws.at(&cfg.topics))?.topics.into_iter().find(|t| t.name == planned.topic);
            let base_ctx = json!({
                "brand": cfg.brand,
                "topic": topic,
                "keyword": planned.keyword,
                "faq_hints": faq_hints,
                "existing": guides.iter().map(|g| json!({"title": g.front.title, "path": cfg.guide_path(&g.front.slug)})).collect::<Vec<_>>(),
                "site_pages": cfg.site.pages,
                "limits": cfg.limits,
            });
            let drafted = async {
                let idea = self.llm.ask_json("content-idea.j2", &base_ctx, &idea_schema()).await?;
                let mut ctx = base_ctx.clone();
                ctx["idea"] = idea.clone();
                let first = self.llm.ask_json("content-page.j2", &ctx, &page_schema()).await?;
                ctx["draft"] = Value::String(serde_json::to_string_pretty(&first).unwrap_or_default());
                let edited = self.llm.ask_json("content-edit.j2", &ctx, &page_schema()).await?;
                let draft: Draft = serde_json::from_value(edited)
                    .map_err(|e| Error::Failed(format!("llm: the edited page does not fit its schema: {e}")))?;
                Ok::<_, Error>((idea, draft))
            }
            .await;
            // A model failure after a page was written still proposes what was written.
            let (idea, draft) = match drafted {
                Ok(done) => done,
                Err(e) if !files.is_empty() => {
                    report.note = Some(format!("stopped early: {e}"));
                    break;
                }
                Err(e) => return Err(e),
            };
            let slug = idea["slug"].as_str().unwrap_or_default().to_string();

            let mut violations = guardrails::check(&draft, &slug, &rules, &site);
            if taken_slugs.contains(&slug) {
                violations.push(Violation { rule: "slug".into(), message: format!("slug {slug} is already used") });
            }
            let keyword = planned.keyword.phrase.clone();
            if !violations.is_empty() {
                let reasons: Vec<String> = violations.iter().map(|v| format!("{}: {}", v.rule, v.message)).collect();
                self.ledger.append(
                    LEDGER_PAGE,
                    &slug,
                    json!({"status": "rejected", "keyword": keyword, "reasons": reasons}),
                )?;
                tracing::warn!("content: page {slug} rejected: {}", reasons.join("; "));
                report.rejected.push(Rejected { slug, keyword, reasons });
                continue;
            }

            // The page.
            let url = cfg.guide_url(&slug);
            let image_name = format!("{slug}.png");
            let image_url =
                format!("{}{}{image_name}", cfg.site.base_url.trim_end_matches('/'), normalize(&cfg.out.images_path));
            let date = self.now.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
            let tags = topic.as_ref().map(|t| t.tags.clone()).unwrap_or_default();
            let front = FrontMatter {
                title: draft.title.trim().to_string(),
                description: draft.description.trim().to_string(),
                slug: slug.clone(),
                keyword: keyword.clone(),
                tags,
                date,
                updated: None,
                status: Status::PendingReview,
                topic: Some(planned.topic.clone()),
                page_type: idea["page_type"].as_str().map(str::to_string),
                canonical: Some(url.clone()),
                image: Some(image_url.clone()),
                extra: Default::default(),
            };
            let author = cfg.brand.author.clone().unwrap_or_else(|| cfg.brand.name.clone());
            let article = page::article(&front, &url, &image_url, &author, &cfg.brand.name, &cfg.site.base_url);
            let md = page::render(&front, &draft, &article)?;
            let md_path = Workspace::rel(&cfg.out.guides, &format!("{slug}.md"));

            // The image.
            let host = social::short_link(&cfg.site.base_url);
            let svg = og::svg(self.prompts, &front.title, &cfg.brand.name, &host)?;
            let png = og::render_png(&svg, fonts.clone())?;
            let png_path = Workspace::rel(&cfg.out.images, &image_name);

            // The social bundle.
            let social_ctx = json!({
                "brand": cfg.brand, "title": front.title, "description": front.description,
                "keyword": keyword, "platforms": cfg.platforms,
            });
            let answer = match self.llm.ask_json("content-social.j2", &social_ctx, &social_schema()).await {
                Ok(answer) => answer,
                Err(e) if !files.is_empty() => {
                    report.note = Some(format!("stopped early: {e}"));
                    break;
                }
                Err(e) => return Err(e),
            };
            let mut texts: BTreeMap<Platform, Vec<String>> = BTreeMap::new();
            for platform in &cfg.platforms {
                let list = answer[platform.as_str()].as_array().cloned().unwrap_or_default();
                for t in list.iter().filter_map(Value::as_str) {
                    let hits = guardrails::check_text(t, &rules);
                    if hits.is_empty() {
                        texts.entry(*platform).or_default().push(t.to_string());
                    } else {
                        report.dropped_posts.push(Dropped {
                            platform: *platform,
                            reason: hits.iter().map(|v| v.message.clone()).collect::<Vec<_>>().join("; "),
                        });
                    }
                }
            }
            let (mut posts, dropped) = social::build_posts(&texts, &url, &slug, cfg);
            report.dropped_posts.extend(dropped);
            social::schedule(&mut posts, &scheduled, self.now, |p| cfg.limits.posts_per_day.get(p));
            scheduled.extend(posts.iter().map(|p| (p.platform, p.scheduled_at)));
            let bundle = Bundle { slug: slug.clone(), page: md_path.clone(), url: url.clone(), posts };
            let yml = serde_yaml_ng::to_string(&bundle).map_err(|e| Error::Failed(e.to_string()))?;
            let yml_path = Workspace::rel(&cfg.out.social, &format!("{slug}.yml"));

            for (path, bytes) in
                [(md_path.clone(), md.into_bytes()), (png_path.clone(), png), (yml_path.clone(), yml.into_bytes())]
            {
                write_file(&ws.root.join(&path), &bytes)?;
                files.push(FileChange { path: path.clone(), bytes });
                report.written.push(path);
            }
            pages.push(super::batch::Page {
                slug: slug.clone(),
                title: front.title.clone(),
                keyword,
                topic: planned.topic.clone(),
                path: md_path,
                reason: planned.reason.clone(),
                batch: plan::iso_week(self.now),
            });
            site.known_paths.insert(cfg.guide_path(&slug));
            taken_slugs.insert(slug.clone());
        }
        Ok((files, pages))
    }

    fn scheduled_posts(&self) -> Result<Vec<(Platform, jiff::Timestamp)>> {
        Ok(load_bundles(self.ws)?
            .iter()
            .flat_map(|(_, b)| b.posts.iter().map(|p| (p.platform, p.scheduled_at)))
            .collect())
    }
}

fn normalize(path: &str) -> String {
    let t = path.trim_matches('/');
    if t.is_empty() { "/".into() } else { format!("/{t}/") }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    // Write then rename: never a half-written file.
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn load_bundles(ws: &Workspace) -> Result<Vec<(PathBuf, Bundle)>> {
    let dir = ws.at(&ws.config.out.social);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    let mut paths: Vec<PathBuf> =
        entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "yml")).collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let b: Bundle = crate::parse::yaml(&p.display().to_string(), &crate::error::read_to_string(&p)?)?;
            Ok((p, b))
        })
        .collect()
}

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
    let mut report = PublishReport {
        live: live.iter().map(|g| g.front.slug.clone()).collect(),
        sitemap: Vec::new(),
        approved: 0,
        waiting: 0,
        rescheduled: 0,
        changed: Vec::new(),
    };
    for f in files {
        let path = dir.join(&f.name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(f.xml.as_str()) {
            if options.write {
                write_file(&path, f.xml.as_bytes())?;
            }
            report.changed.push(Workspace::rel(&shown_dir, &f.name));
        }
        report.sitemap.push(Workspace::rel(&shown_dir, &f.name));
    }

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
            write_file(path, yml.as_bytes())?;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        report.changed.push(Workspace::rel(&cfg.out.social, &name));
    }
    Ok(report)
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedbackReport {
    pub path: Option<String>,
    pub issues: Vec<u64>,
    pub keywords: usize,
    pub faq: usize,
}

/// One piece of reader feedback: an issue or a discussion.
#[derive(Debug, Clone)]
pub struct FeedbackPost {
    pub number: u64,
    /// `issue` or `discussion`.
    pub kind: &'static str,
    pub title: String,
    pub body: String,
}

/// The open issues and discussions labelled `label`, by number (they share one sequence).
/// Discussions that cannot be read (a token without `discussions: read`) are skipped with
/// a warning.
pub async fn feedback_posts(forge: &dyn Forge, label: &str) -> Result<Vec<FeedbackPost>> {
    let post = |number, kind, title, body| FeedbackPost { number, kind, title, body };
    let mut posts: Vec<FeedbackPost> = forge
        .list_issues(label, StateFilter::Open)
        .await?
        .into_iter()
        .map(|i| post(i.number, "issue", i.title, i.body))
        .collect();
    match forge.list_discussions(label).await {
        Ok(found) => posts.extend(found.into_iter().map(|d| post(d.number, "discussion", d.title, d.body))),
        Err(e) => tracing::warn!("feedback: discussions skipped: {e}"),
    }
    posts.sort_by_key(|p| p.number);
    posts.dedup_by_key(|p| p.number);
    Ok(posts)
}

/// `hs-content feedback`: summarises open issues and discussions labelled `feedback` into
/// `content/feedback/<period>.yml`.
pub async fn collect_feedback(
    ws: &Workspace,
    forge: &dyn Forge,
    llm: &Llm,
    scrubber: &crate::scrub::Scrubber,
    now: jiff::Timestamp,
) -> Result<FeedbackReport> {
    let cfg = &ws.config;
    let posts = feedback_posts(forge, &cfg.feedback_label).await?;
    let numbers: Vec<u64> = posts.iter().map(|p| p.number).collect();
    if posts.is_empty() {
        return Ok(FeedbackReport { path: None, issues: numbers, keywords: 0, faq: 0 });
    }
    let topics = TopicsFile::load(&ws.at(&cfg.topics))?;
    let ctx = json!({
        "brand": cfg.brand,
        "topics": topics.topics.iter().map(|t| json!({"name": t.name, "description": t.description})).collect::<Vec<_>>(),
        "issues": posts
            .iter()
            // Personal data and secrets never leave the machine.
            .map(|p| {
                json!({"number": p.number, "kind": p.kind, "title": scrubber.scrub(&p.title), "body": scrubber.scrub(&p.body)})
            })
            .collect::<Vec<_>>(),
    });
    let answer = llm.ask_json("content-feedback.j2", &ctx, &feedback::answer_schema()).await?;
    let names: BTreeSet<&str> = topics.topics.iter().map(|t| t.name.as_str()).collect();
    let mut file: FeedbackFile = serde_json::from_value(json!({
        "period": plan::iso_week(now),
        "summary": answer["summary"],
        "sources": numbers,
        "keywords": answer["keywords"],
        "faq": answer["faq"],
    }))
    .map_err(|e| Error::Failed(format!("llm: the feedback answer does not fit: {e}")))?;
    // A topic the file does not know is dropped rather than invented.
    for k in &mut file.keywords {
        if k.topic.as_deref().is_some_and(|t| !names.contains(t)) {
            k.topic = None;
        }
    }
    let path = ws.at(&cfg.out.feedback).join(format!("{}.yml", file.period));
    let yml = serde_yaml_ng::to_string(&file).map_err(|e| Error::Failed(e.to_string()))?;
    write_file(&path, yml.as_bytes())?;
    Ok(FeedbackReport {
        path: Some(Workspace::rel(&cfg.out.feedback, &format!("{}.yml", file.period))),
        issues: numbers,
        keywords: file.keywords.len(),
        faq: file.faq.len(),
    })
}
