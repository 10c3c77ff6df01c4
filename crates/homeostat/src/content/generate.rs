//! `hs-content plan` and `hs-content generate`: the pages the next run writes, and writing
//! them (model, guardrails, page, image, social bundle).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Value, json};

use super::feedback;
use super::guardrails::{self, Draft, Rules, Site, Violation};
use super::og;
use super::page::{self, FrontMatter, Status};
use super::plan::{self, Plan, PlanInput, Planned};
use super::pr::FileChange;
use super::social::{self, Bundle, Dropped, Platform};
use super::topics::{Topic, TopicsFile};
use super::workspace::{Workspace, load_bundles, normalize};
use crate::error::{Error, Result};
use crate::files::write_whole;
use crate::forge::Forge;
use crate::ledger::Ledger;
use crate::llm::Llm;
use crate::prompt::Prompts;

/// What the pages of one `generate` run share and add to.
struct PageRun {
    rules: Rules,
    feedback: Vec<feedback::FeedbackFile>,
    fonts: std::sync::Arc<resvg::usvg::fontdb::Database>,
    site: Site,
    taken_slugs: BTreeSet<String>,
    /// The guides already there, for the model to link and not repeat.
    existing: Vec<Value>,
    scheduled: Vec<(Platform, jiff::Timestamp)>,
    files: Vec<FileChange>,
    pages: Vec<super::batch::Page>,
}

/// Ledger kind of a page a run wrote or rejected.
pub const LEDGER_PAGE: &str = "content.page";

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
        let plan = plan(self.ws, self.ledger, self.now)?;
        if plan.pages.is_empty() {
            report.note = Some(match plan.skipped.iter().find(|s| s.keyword.is_empty()) {
                Some(s) => s.reason.clone(),
                None => "no uncovered keyword left in the topics file".into(),
            });
            return Ok((Vec::new(), Vec::new()));
        }
        let mut run = self.start_run()?;
        // A rejected page leaves its slot to the next keyword, a couple of times at most.
        let room = plan.pages.len();
        for planned in plan.pages.iter().chain(plan.next.iter().take(2)) {
            if run.pages.len() >= room {
                break;
            }
            // A model failure after a page was written still proposes what was written.
            match self.write_page(planned, &mut run, report).await {
                Ok(()) => {}
                Err(e) if !run.files.is_empty() => {
                    report.note = Some(format!("stopped early: {e}"));
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok((run.files, run.pages))
    }

    /// What the pages of one run share and add to as they are written.
    fn start_run(&self) -> Result<PageRun> {
        let cfg = &self.ws.config;
        let guides = self.ws.guides()?;
        let mut site =
            Site { base_url: cfg.site.base_url.clone(), known_paths: cfg.site.pages.iter().cloned().collect() };
        site.known_paths.extend(guides.iter().map(|g| cfg.guide_path(&g.front.slug)));
        Ok(PageRun {
            rules: rules(self.ws)?,
            feedback: self.ws.feedback()?,
            fonts: og::load_fonts(&self.font_dirs)?,
            site,
            taken_slugs: guides.iter().map(|g| g.front.slug.clone()).collect(),
            existing: guides
                .iter()
                .map(|g| json!({"title": g.front.title, "path": cfg.guide_path(&g.front.slug)}))
                .collect(),
            scheduled: self.scheduled_posts()?,
            files: Vec::new(),
            pages: Vec::new(),
        })
    }

    /// One planned keyword: drafted, checked, and written as page, image and social
    /// bundle — or recorded as rejected.
    async fn write_page(&self, planned: &Planned, run: &mut PageRun, report: &mut GenerateReport) -> Result<()> {
        let cfg = &self.ws.config;
        let topic = TopicsFile::load(&self.ws.at(&cfg.topics))?.topics.into_iter().find(|t| t.name == planned.topic);
        let (idea, draft) = self.draft(planned, topic.as_ref(), run).await?;
        let slug = idea["slug"].as_str().unwrap_or_default().to_string();
        let keyword = planned.keyword.phrase.clone();
        let mut violations = guardrails::check(&draft, &slug, &run.rules, &run.site);
        if run.taken_slugs.contains(&slug) {
            violations.push(Violation { rule: "slug".into(), message: format!("slug {slug} is already used") });
        }
        if !violations.is_empty() {
            let reasons: Vec<String> = violations.iter().map(|v| format!("{}: {}", v.rule, v.message)).collect();
            self.ledger.append(
                LEDGER_PAGE,
                &slug,
                json!({"status": "rejected", "keyword": keyword, "reasons": reasons}),
            )?;
            tracing::warn!("content: page {slug} rejected: {}", reasons.join("; "));
            report.rejected.push(Rejected { slug, keyword, reasons });
            return Ok(());
        }
        let tags = topic.as_ref().map(|t| t.tags.clone()).unwrap_or_default();
        let (front, md_path, md) = self.render_page(planned, &idea, &draft, &slug, tags)?;
        let host = social::short_link(&cfg.site.base_url);
        let svg = og::svg(self.prompts, &front.title, &cfg.brand.name, &host)?;
        let png = og::render_png(&svg, run.fonts.clone())?;
        let png_path = Workspace::rel(&cfg.out.images, &format!("{slug}.png"));
        let yml = self.social_bundle(&front, &md_path, &keyword, run, report).await?;
        let yml_path = Workspace::rel(&cfg.out.social, &format!("{slug}.yml"));
        for (path, bytes) in [(md_path.clone(), md.into_bytes()), (png_path, png), (yml_path, yml.into_bytes())] {
            write_whole(&self.ws.root.join(&path), &bytes)?;
            run.files.push(FileChange { path: path.clone(), bytes });
            report.written.push(path);
        }
        run.pages.push(super::batch::Page {
            slug: slug.clone(),
            title: front.title.clone(),
            keyword,
            topic: planned.topic.clone(),
            path: md_path,
            reason: planned.reason.clone(),
            batch: plan::iso_week(self.now),
        });
        run.site.known_paths.insert(cfg.guide_path(&slug));
        run.taken_slugs.insert(slug);
        Ok(())
    }

    /// The model's idea for the keyword, its first draft and its edit.
    async fn draft(&self, planned: &Planned, topic: Option<&Topic>, run: &PageRun) -> Result<(Value, Draft)> {
        let cfg = &self.ws.config;
        let faq_hints: Vec<&feedback::SuggestedFaq> = run
            .feedback
            .iter()
            .flat_map(|f| f.faq.iter())
            .filter(|f| f.topic.as_deref().is_none_or(|t| t == planned.topic))
            .collect();
        let mut ctx = json!({
            "brand": cfg.brand,
            "topic": topic,
            "keyword": planned.keyword,
            "faq_hints": faq_hints,
            "existing": run.existing,
            "site_pages": cfg.site.pages,
            "limits": cfg.limits,
        });
        let idea = self.llm.ask_json("content-idea.j2", &ctx, &idea_schema()).await?;
        ctx["idea"] = idea.clone();
        let first = self.llm.ask_json("content-page.j2", &ctx, &page_schema()).await?;
        ctx["draft"] = Value::String(serde_json::to_string_pretty(&first).unwrap_or_default());
        let edited = self.llm.ask_json("content-edit.j2", &ctx, &page_schema()).await?;
        let draft: Draft = serde_json::from_value(edited)
            .map_err(|e| Error::Failed(format!("llm: the edited page does not fit its schema: {e}")))?;
        Ok((idea, draft))
    }

    /// The page's front matter and Markdown, and where it goes.
    fn render_page(
        &self,
        planned: &Planned,
        idea: &Value,
        draft: &Draft,
        slug: &str,
        tags: Vec<String>,
    ) -> Result<(FrontMatter, String, String)> {
        let cfg = &self.ws.config;
        let url = cfg.guide_url(slug);
        let image_url =
            format!("{}{}{slug}.png", cfg.site.base_url.trim_end_matches('/'), normalize(&cfg.out.images_path));
        let front = FrontMatter {
            title: draft.title.trim().to_string(),
            description: draft.description.trim().to_string(),
            slug: slug.to_string(),
            keyword: planned.keyword.phrase.clone(),
            tags,
            date: self.now.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
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
        let md = page::render(&front, draft, &article)?;
        Ok((front, Workspace::rel(&cfg.out.guides, &format!("{slug}.md")), md))
    }

    /// The page's posts: the model's texts that pass the guardrails, fitted to each
    /// platform and scheduled into free slots; the bundle as YAML.
    async fn social_bundle(
        &self,
        front: &FrontMatter,
        md_path: &str,
        keyword: &str,
        run: &mut PageRun,
        report: &mut GenerateReport,
    ) -> Result<String> {
        let cfg = &self.ws.config;
        let social_ctx = json!({
            "brand": cfg.brand, "title": front.title, "description": front.description,
            "keyword": keyword, "platforms": cfg.platforms,
        });
        let answer = self.llm.ask_json("content-social.j2", &social_ctx, &social_schema()).await?;
        let mut texts: BTreeMap<Platform, Vec<String>> = BTreeMap::new();
        for platform in &cfg.platforms {
            let list = answer[platform.as_str()].as_array().cloned().unwrap_or_default();
            for t in list.iter().filter_map(Value::as_str) {
                let hits = guardrails::check_text(t, &run.rules);
                if hits.is_empty() {
                    texts.entry(*platform).or_default().push(t.to_string());
                } else {
                    let reason = hits.iter().map(|v| v.message.clone()).collect::<Vec<_>>().join("; ");
                    report.dropped_posts.push(Dropped { platform: *platform, reason });
                }
            }
        }
        let url = cfg.guide_url(&front.slug);
        let (mut posts, dropped) = social::build_posts(&texts, &url, &front.slug, cfg);
        report.dropped_posts.extend(dropped);
        social::schedule(&mut posts, &run.scheduled, self.now, |p| cfg.limits.posts_per_day.get(p));
        run.scheduled.extend(posts.iter().map(|p| (p.platform, p.scheduled_at)));
        let bundle = Bundle { slug: front.slug.clone(), page: md_path.to_string(), url, posts };
        serde_yaml_ng::to_string(&bundle).map_err(|e| Error::Failed(e.to_string()))
    }

    fn scheduled_posts(&self) -> Result<Vec<(Platform, jiff::Timestamp)>> {
        Ok(load_bundles(self.ws)?
            .iter()
            .flat_map(|(_, b)| b.posts.iter().map(|p| (p.platform, p.scheduled_at)))
            .collect())
    }
}
