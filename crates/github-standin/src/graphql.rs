//! GraphQL: every document is parsed and every field path checked against GitHub's
//! published schema (npm `@octokit/graphql-schema`, its introspection `schema.json`);
//! the discussions listing homeostat sends is answered from the stand-in's state.
//! Arguments and variable types are not checked (kept simple: field paths only).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use graphql_parser::query::{Definition, OperationDefinition, Selection, SelectionSet};
use serde_json::{Value, json};

use crate::state::State;

pub const ENV: &str = "HOMEOSTAT_GRAPHQL_SCHEMA";
const RELATIVE: &str = "tests/npm/node_modules/@octokit/graphql-schema/schema.json";

/// Type name → field name → the field's named (unwrapped) type.
pub struct Schema {
    types: HashMap<String, HashMap<String, String>>,
    query: String,
    mutation: String,
}

pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os(ENV) {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(RELATIVE)
}

pub fn shared() -> Result<Arc<Schema>, String> {
    static SCHEMA: OnceLock<Result<Arc<Schema>, String>> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::load(&default_path()).map(Arc::new)).clone()
}

fn named(t: &Value) -> Option<String> {
    match t["name"].as_str() {
        Some(n) => Some(n.to_string()),
        None => named(&t["ofType"]),
    }
}

impl Schema {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("GitHub's GraphQL schema {}: {e}", path.display()))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let root = doc.get("data").unwrap_or(&doc)["__schema"].clone();
        let mut types = HashMap::new();
        for t in root["types"].as_array().into_iter().flatten() {
            let Some(name) = t["name"].as_str() else { continue };
            let fields = t["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| Some((f["name"].as_str()?.to_string(), named(&f["type"])?)))
                .collect();
            types.insert(name.to_string(), fields);
        }
        let name_of = |k: &str| root[k]["name"].as_str().unwrap_or_default().to_string();
        Ok(Self { types, query: name_of("queryType"), mutation: name_of("mutationType") })
    }

    /// What is wrong with `document` (empty when every field path exists).
    pub fn check(&self, document: &str) -> Vec<String> {
        let doc = match graphql_parser::parse_query::<String>(document) {
            Ok(d) => d,
            Err(e) => return vec![format!("GraphQL document does not parse: {e}")],
        };
        let mut bad = Vec::new();
        for def in &doc.definitions {
            match def {
                Definition::Operation(OperationDefinition::Query(q)) => {
                    self.walk(&self.query, &q.selection_set, "", &mut bad)
                }
                Definition::Operation(OperationDefinition::SelectionSet(s)) => self.walk(&self.query, s, "", &mut bad),
                Definition::Operation(OperationDefinition::Mutation(m)) => {
                    self.walk(&self.mutation, &m.selection_set, "", &mut bad)
                }
                Definition::Operation(OperationDefinition::Subscription(_)) => {
                    bad.push("subscriptions are not served".into())
                }
                Definition::Fragment(f) => {
                    let graphql_parser::query::TypeCondition::On(on) = &f.type_condition;
                    self.walk(on, &f.selection_set, &f.name, &mut bad)
                }
            }
        }
        bad
    }

    fn walk(&self, on: &str, set: &SelectionSet<String>, at: &str, bad: &mut Vec<String>) {
        let Some(fields) = self.types.get(on) else {
            bad.push(format!("{at}: type `{on}` is not in GitHub's schema"));
            return;
        };
        for item in &set.items {
            match item {
                Selection::Field(f) if f.name.starts_with("__") => {}
                Selection::Field(f) => match fields.get(&f.name) {
                    Some(ty) => self.walk(ty, &f.selection_set, &format!("{at}.{}", f.name), bad),
                    None => bad.push(format!("{at}.{}: `{on}` has no field `{}`", f.name, f.name)),
                },
                Selection::InlineFragment(i) => {
                    let ty = match &i.type_condition {
                        Some(graphql_parser::query::TypeCondition::On(t)) => t.as_str(),
                        None => on,
                    };
                    self.walk(ty, &i.selection_set, at, bad)
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
}

/// The answer to a GraphQL request from the state: the repository's discussions (the one
/// query homeostat sends), paged 50 at a time by an index cursor.
pub fn answer(s: &State, request: &Value) -> Value {
    let query = request["query"].as_str().unwrap_or_default();
    if !query.contains("discussions") {
        return json!({"errors": [{"message": "the stand-in answers only the repository discussions query"}]});
    }
    let vars = &request["variables"];
    if vars["owner"].as_str() != Some(s.owner.as_str()) || vars["name"].as_str() != Some(s.name.as_str()) {
        return json!({"data": {"repository": null}, "errors": [{"type": "NOT_FOUND", "message": "Could not resolve to a Repository"}]});
    }
    let start = vars["after"].as_str().and_then(|c| c.parse::<usize>().ok()).unwrap_or(0);
    let mut all = s.discussions.clone();
    all.reverse(); // newest first
    let nodes: Vec<Value> = all
        .iter()
        .skip(start)
        .take(50)
        .map(|d| {
            json!({"number": d.number, "title": d.title, "body": d.body, "closed": d.closed,
                   "url": format!("https://github.com/{}/discussions/{}", s.full_name(), d.number),
                   "labels": {"nodes": d.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>()}})
        })
        .collect();
    let end = start + nodes.len();
    json!({"data": {"repository": {"discussions": {"nodes": nodes,
        "pageInfo": {"hasNextPage": end < all.len(), "endCursor": end.to_string()}}}}})
}
