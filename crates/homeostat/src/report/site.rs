//! The static dashboard: one HTML page per view of `site/pages.yml`, charts drawn as
//! inline SVG when the site is built (no script on the page), each with a title, a
//! description and a table of its values. Pure: figures in, files (name, text) out.
//!
//! Text lives in `site/` (pages, templates, style); Rust only lays the bars out. Every
//! value is HTML-escaped by the template engine, so a runbook or class name from the
//! ledger stays text.

use include_dir::{Dir, include_dir};
use minijinja::{AutoEscape, Environment};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::figures::{Day, Figures};
use crate::error::{Error, Position, Result};

static SITE: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../site");

#[derive(Debug, Clone, Deserialize)]
struct Pages {
    pages: Vec<PageDef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageDef {
    slug: String,
    title: String,
    intro: String,
    #[serde(default)]
    cards: Vec<CardDef>,
    #[serde(default)]
    charts: Vec<ChartDef>,
    #[serde(default)]
    tables: Vec<TableDef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CardDef {
    label: String,
    value: String,
    format: Format,
}

/// How a figure is written for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Count,
    Percent,
    Duration,
    Usd,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChartDef {
    id: String,
    title: String,
    unit: String,
    #[serde(default)]
    decimals: usize,
    series: Vec<SeriesDef>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesDef {
    field: String,
    label: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableDef {
    value: String,
    title: String,
    key: String,
    /// For a list of objects (e.g. `duplicates.clusters`): the field each row is named by
    /// and the field it counts. A map's rows are its keys and values.
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    count: Option<String>,
}

impl TableDef {
    /// The rows: `[name, count]` each.
    fn rows(&self, root: &Value) -> Vec<Value> {
        let value = lookup(root, &self.value);
        if let (Some(list), Some(label), Some(count)) = (value.as_array(), &self.label, &self.count) {
            let name = |item: &Value| item.get(label).and_then(Value::as_str).unwrap_or("–").to_string();
            return list.iter().map(|i| json!([name(i), format(&i[count.as_str()], Format::Count)])).collect();
        }
        value
            .as_object()
            .map(|m| m.iter().map(|(k, v)| json!([k, format(v, Format::Count)])).collect())
            .unwrap_or_default()
    }
}

/// Writes a figure: `–` when there is none.
pub fn format(value: &Value, format: Format) -> String {
    let Some(v) = value.as_f64() else { return "–".into() };
    match format {
        Format::Count => thousands(v.round() as i64),
        Format::Percent => format!("{:.0}%", v * 100.0),
        Format::Usd => format!("${v:.2}"),
        Format::Duration => duration(v),
    }
}

/// Seconds as the largest unit that keeps the number readable.
pub fn duration(seconds: f64) -> String {
    match seconds {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7_200.0 => format!("{:.0} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.1} h", s / 3_600.0),
        s => format!("{:.1} d", s / 86_400.0),
    }
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn number(v: f64, decimals: usize) -> String {
    if decimals == 0 { thousands(v.round() as i64) } else { format!("{v:.decimals$}") }
}

/// The value at a dotted path of the figures' JSON (`fixes.time_to_fix.median_seconds`).
fn lookup<'a>(root: &'a Value, path: &str) -> &'a Value {
    root.pointer(&format!("/{}", path.replace('.', "/"))).unwrap_or(&Value::Null)
}

fn environment() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // SVG and HTML alike: everything is escaped unless a template says `| safe`.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    for name in ["page.html.j2", "chart.svg.j2"] {
        let text = site_file(name)?;
        env.add_template_owned(name.to_string(), text.to_string()).map_err(|e| template_error(name, &e))?;
    }
    Ok(env)
}

fn site_file(name: &str) -> Result<&'static str> {
    SITE.get_file(name)
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| Error::Failed(format!("site/{name} is missing from the build")))
}

fn template_error(name: &str, e: &minijinja::Error) -> Error {
    let at = match e.line() {
        Some(line) => Position::line(format!("site/{name}"), line),
        None => Position::file(format!("site/{name}")),
    };
    Error::input(at, e.to_string())
}

fn pages() -> Result<Vec<PageDef>> {
    let text = site_file("pages.yml")?;
    let pages: Pages = serde_yaml_ng::from_str(text).map_err(|e| {
        let at = e.location().map_or(Position::file("site/pages.yml"), |l| Position::line("site/pages.yml", l.line()));
        Error::input(at, e.to_string())
    })?;
    Ok(pages.pages)
}

/// Every file of the site: `style.css` and one `<slug>.html` per page.
pub fn build(figures: &Figures, repo: &str, built: jiff::Timestamp) -> Result<Vec<(String, String)>> {
    let env = environment()?;
    let pages = pages()?;
    let root = serde_json::to_value(figures).map_err(|e| Error::Failed(e.to_string()))?;
    let nav: Vec<Value> = pages.iter().map(|p| json!({"slug": p.slug, "title": p.title})).collect();
    let mut files = vec![("style.css".to_string(), site_file("style.css")?.to_string())];
    for page in &pages {
        let cards: Vec<Value> = page
            .cards
            .iter()
            .map(|c| json!({"label": c.label, "text": format(lookup(&root, &c.value), c.format)}))
            .collect();
        let charts = page.charts.iter().map(|c| chart(&env, c, &figures.daily)).collect::<Result<Vec<_>>>()?;
        let tables: Vec<Value> =
            page.tables.iter().map(|t| json!({"title": t.title, "key": t.key, "rows": t.rows(&root)})).collect();
        let context = json!({
            "page": page, "pages": nav, "repo": repo, "cards": cards, "charts": charts, "tables": tables,
            "since": figures.since.strftime("%Y-%m-%d %H:%M").to_string(),
            "until": figures.until.strftime("%Y-%m-%d %H:%M").to_string(),
            "days": figures.daily.len(),
            "built": built.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        });
        let template = env.get_template("page.html.j2").map_err(|e| template_error("page.html.j2", &e))?;
        let html =
            template.render(minijinja::value::Serde(&context)).map_err(|e| template_error("page.html.j2", &e))?;
        files.push((format!("{}.html", page.slug), html));
    }
    Ok(files)
}

const W: f64 = 720.0;
const H: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 32.0;

/// A round number at or above `max` for the top of the axis.
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|v| *v >= max).unwrap_or(10.0 * magnitude)
}

/// One chart: its SVG (stacked bars, one per day) and the rows of its table.
fn chart(env: &Environment<'_>, def: &ChartDef, days: &[Day]) -> Result<Value> {
    let values: Vec<Vec<f64>> = days
        .iter()
        .map(|d| {
            let row = serde_json::to_value(d).unwrap_or(Value::Null);
            def.series.iter().map(|s| row.get(&s.field).and_then(Value::as_f64).unwrap_or(0.0)).collect()
        })
        .collect();
    let totals: Vec<f64> = values.iter().map(|r| r.iter().sum()).collect();
    let (max_i, max) = totals.iter().copied().enumerate().fold((0, 0.0), |a, (i, v)| if v > a.1 { (i, v) } else { a });
    let top = nice_ceiling(max);
    let plot_h = H - TOP - BOTTOM;
    let band = (W - LEFT - RIGHT) / days.len().max(1) as f64;
    let y = |v: f64| TOP + plot_h - v / top * plot_h;
    let mut bars = Vec::new();
    for (i, (day, row)) in days.iter().zip(&values).enumerate() {
        let mut base = 0.0;
        for (k, (s, v)) in def.series.iter().zip(row).enumerate() {
            if *v <= 0.0 {
                continue;
            }
            let (y0, y1) = (y(base), y(base + v));
            bars.push(json!({
                "x": r2(LEFT + band * i as f64 + band * 0.1), "w": r2((band * 0.8).max(0.5)),
                "y": r2(y1), "h": r2(y0 - y1), "class": format!("s{}", k % 4),
                "date": day.date, "label": s.label, "value": number(*v, def.decimals),
            }));
            base += v;
        }
    }
    let grid: Vec<Value> =
        [0.0, top / 2.0, top].iter().map(|v| json!({"y": r2(y(*v)), "label": axis_number(*v, def.decimals)})).collect();
    let step = (days.len() / 4).max(1);
    let ticks: Vec<Value> = (0..days.len())
        // Every `step`-th day and the last, without two labels on top of each other.
        .filter(|i| (i.is_multiple_of(step) && days.len() - 1 - i >= step / 2) || *i + 1 == days.len())
        .map(|i| json!({"x": r2(LEFT + band * (i as f64 + 0.5)), "label": days[i].date.get(5..).unwrap_or_default()}))
        .collect();
    let series: Vec<Value> = def
        .series
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let total: f64 = values.iter().map(|r| r[k]).sum();
            json!({"label": s.label, "class": format!("s{}", k % 4), "total_text": number(total, def.decimals)})
        })
        .collect();
    let context = json!({
        "id": def.id, "title": def.title, "unit": def.unit, "width": W, "height": H, "left": LEFT, "right": W - RIGHT,
        "days": days.len(), "first": days.first().map(|d| d.date.as_str()), "last": days.last().map(|d| d.date.as_str()),
        "total_text": number(totals.iter().sum(), def.decimals), "max": max,
        "max_date": days.get(max_i).map(|d| d.date.as_str()), "max_text": number(max, def.decimals),
        "grid": grid, "ticks": ticks, "bars": bars, "series": series,
    });
    let template = env.get_template("chart.svg.j2").map_err(|e| template_error("chart.svg.j2", &e))?;
    let svg = template.render(minijinja::value::Serde(&context)).map_err(|e| template_error("chart.svg.j2", &e))?;
    let rows: Vec<Value> = days
        .iter()
        .zip(&values)
        .map(|(d, r)| json!({"date": d.date, "values": r.iter().map(|v| number(*v, def.decimals)).collect::<Vec<_>>()}))
        .collect();
    Ok(json!({"id": def.id, "title": def.title, "unit": def.unit, "svg": svg, "series": series, "rows": rows}))
}

/// An axis label: one decimal more when half the axis falls between whole numbers.
fn axis_number(v: f64, decimals: usize) -> String {
    number(v, if v.fract() != 0.0 { decimals.max(1) } else { decimals })
}

fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_for_people() {
        assert_eq!(format(&json!(1234567), Format::Count), "1,234,567");
        assert_eq!(format(&json!(0.6619), Format::Percent), "66%");
        assert_eq!(format(&json!(125_817), Format::Duration), "34.9 h");
        assert_eq!(format(&json!(12.345), Format::Usd), "$12.35");
        assert_eq!(format(&Value::Null, Format::Usd), "–");
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(230.0), 250.0);
    }

    #[test]
    fn every_page_definition_loads() {
        let pages = pages().unwrap();
        assert_eq!(
            pages.iter().map(|p| p.slug.as_str()).collect::<Vec<_>>(),
            ["index", "errors", "fixes", "canary", "runbooks", "spend"]
        );
    }
}
