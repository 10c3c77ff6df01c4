//! The file mode of hs-cluster: cluster a JSONL file, or match new items one by one
//! against the clusters of an existing file, and print the result.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::engine::{Index, cluster, cluster_vectors};
use super::model::{Model, Options};
use super::{ClusterConfig, Item, read};
use crate::error::Result;
use crate::output::OutputFormat;
use crate::scrub::Scrubber;

/// One output line of `hs-cluster FILE.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    pub id: String,
    pub cluster: String,
}

/// Clusters items and names each one's cluster, in input order.
pub fn assign(items: &[Item], opts: Options) -> Vec<Assignment> {
    let labels = cluster(items, opts);
    items.iter().zip(labels).map(|(i, c)| Assignment { id: i.id.clone(), cluster: c }).collect()
}

/// Text output: one line per cluster of more than one item, largest first, with a count.
pub fn summary(items: &[Item], assignments: &[Assignment]) -> String {
    let mut groups: BTreeMap<&str, Vec<&Item>> = BTreeMap::new();
    for (item, a) in items.iter().zip(assignments) {
        groups.entry(a.cluster.as_str()).or_default().push(item);
    }
    let mut multi: Vec<_> = groups.into_iter().filter(|(_, v)| v.len() > 1).collect();
    multi.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    let mut out = format!("{} items, {} clusters of duplicates\n", items.len(), multi.len());
    for (name, members) in multi {
        let ids: Vec<&str> = members.iter().map(|i| i.id.as_str()).collect();
        out.push_str(&format!("{name} ×{}: {} [{}]\n", members.len(), members[0].title, ids.join(", ")));
    }
    out
}

/// Matches each of `new` against the clusters of `existing` (clustered first), one at a
/// time as they would arrive; a new item joins the nearest cluster at or above the
/// threshold, else starts its own (`n1`, `n2`, …).
pub fn match_new(existing: &[Item], new: &[Item], opts: Options) -> Vec<Assignment> {
    let (model, vectors) = Model::fit(existing, opts);
    let labels = cluster_vectors(&model, &vectors);
    let mut index = Index::new(model);
    let mut first: BTreeMap<&str, u32> = BTreeMap::new();
    for (v, label) in vectors.into_iter().zip(&labels) {
        let joined = first.get(label.as_str()).copied();
        let pos = index.insert(v, joined);
        first.entry(label).or_insert(pos);
    }
    let mut names: Vec<String> = labels;
    let mut out = Vec::new();
    let started = std::time::Instant::now();
    for item in new {
        let v = index.model.vectors(item);
        let (_, m) = index.add(v, opts.threshold);
        let name = match m {
            Some(m) => names[m.cluster as usize].clone(),
            None => format!("n{}", out.iter().filter(|a: &&Assignment| a.cluster.starts_with('n')).count() + 1),
        };
        names.push(name.clone());
        out.push(Assignment { id: item.id.clone(), cluster: name });
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!("matched {} new items against {} existing in {ms:.2} ms", new.len(), existing.len());
    out
}

/// `hs-cluster FILE.jsonl [--against EXISTING.jsonl]`: reads, clusters or matches, prints.
pub fn run_file(
    file: &Path,
    against: Option<&Path>,
    config: &ClusterConfig,
    scrubber: &Scrubber,
    format: OutputFormat,
) -> Result<()> {
    let items = read::read_jsonl(file, scrubber)?;
    let opts = Options { threshold: config.threshold as f32, across_repos: config.across_repos, ..Options::default() };
    let started = std::time::Instant::now();
    let assignments = match against {
        Some(path) => match_new(&read::read_jsonl(path, scrubber)?, &items, opts),
        None => assign(&items, opts),
    };
    tracing::info!("{} items in {} ms", items.len(), started.elapsed().as_millis());
    match format {
        OutputFormat::Text => print!("{}", summary(&items, &assignments)),
        format => {
            for a in &assignments {
                crate::output::print_json(format, a).map_err(|e| crate::Error::Failed(e.to_string()))?;
            }
        }
    }
    Ok(())
}
