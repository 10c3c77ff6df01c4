//! Every request and answer checked against GitHub's own REST description
//! (npm `@octokit/openapi`, OpenAPI 3.0.3): the operation exists, its path and query
//! parameters fit their schemas, a JSON body fits the operation's request schema, the
//! headers GitHub asks for are there, and an answer fits the schema of its status.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value, json};

/// Env var naming the description file; else it is looked for under `tests/npm`.
pub const ENV: &str = "HOMEOSTAT_OPENAPI";
const RELATIVE: &str = "tests/npm/node_modules/@octokit/openapi/generated/api.github.com.json";
pub const API_VERSION: &str = "2022-11-28";

struct Op {
    method: String,
    template: String,
    /// `Ok(literal)` or `Err(parameter name)` per segment.
    segments: Vec<Result<String, String>>,
    literals: usize,
    /// The operation object, `$ref`s to parameters resolved.
    params: Vec<Value>,
    op: Value,
}

pub struct Spec {
    ops: Vec<Op>,
    schemas: Map<String, Value>,
    responses: Map<String, Value>,
    bodies: Map<String, Value>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// The matched operation of a request, for checking its answer.
#[derive(Debug, Clone)]
pub struct Matched {
    pub method: String,
    pub template: String,
    pub operation_id: String,
}

/// Where the description is: `$HOMEOSTAT_OPENAPI`, else `tests/npm/...` in this checkout
/// (found from the crate's own folder, which sits two levels below the root).
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os(ENV) {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let here = root.join(RELATIVE);
    if here.exists() {
        return here;
    }
    PathBuf::from(RELATIVE)
}

/// The description, loaded once per process (13 MB of JSON).
pub fn shared() -> Result<Arc<Spec>, String> {
    static SPEC: OnceLock<Result<Arc<Spec>, String>> = OnceLock::new();
    SPEC.get_or_init(|| Spec::load(&default_path()).map(Arc::new)).clone()
}

impl Spec {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "GitHub's OpenAPI description {}: {e} (run `npm ci --prefix tests/npm`, or set {ENV})",
                path.display()
            )
        })?;
        let mut doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        nullable_to_json_schema(&mut doc);
        let take = |doc: &mut Value, key: &str| doc["components"][key].as_object().cloned().unwrap_or_default();
        let schemas = take(&mut doc, "schemas");
        let responses = take(&mut doc, "responses");
        let bodies = take(&mut doc, "requestBodies");
        let parameters = take(&mut doc, "parameters");
        let mut ops = Vec::new();
        let paths = doc["paths"].take();
        for (template, item) in paths.as_object().into_iter().flatten() {
            let shared: Vec<Value> = item["parameters"].as_array().cloned().unwrap_or_default();
            for (method, op) in item.as_object().into_iter().flatten() {
                if !["get", "post", "put", "patch", "delete", "head"].contains(&method.as_str()) {
                    continue;
                }
                let mut params: Vec<Value> = shared.clone();
                params.extend(op["parameters"].as_array().cloned().unwrap_or_default());
                let params = params.into_iter().map(|p| resolve(&p, "#/components/parameters/", &parameters)).collect();
                let segments = template_segments(template);
                let literals = segments.iter().filter(|s| s.is_ok()).count();
                ops.push(Op {
                    method: method.to_uppercase(),
                    template: template.clone(),
                    segments,
                    literals,
                    params,
                    op: op.clone(),
                });
            }
        }
        // The most literal template wins (`/issues/comments` before `/issues/{issue_number}`).
        ops.sort_by_key(|o| std::cmp::Reverse(o.literals));
        Ok(Self { ops, schemas, responses, bodies, validators: Mutex::new(HashMap::new()) })
    }

    fn find(&self, method: &str, path: &str) -> Option<(&Op, BTreeMap<String, String>)> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        self.ops.iter().filter(|o| o.method == method).find_map(|o| match_segments(&o.segments, &parts).map(|v| (o, v)))
    }

    /// Checks a request; returns the operation it is (when it is one) and what is wrong.
    pub fn check_request(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        headers: &[(String, String)],
        body: Option<&Value>,
    ) -> (Option<Matched>, Vec<String>) {
        let mut bad = check_headers(headers);
        let Some((op, path_values)) = self.find(method, path) else {
            bad.push(format!("{method} {path}: no such operation in GitHub's REST API"));
            return (None, bad);
        };
        let id = op.op["operationId"].as_str().unwrap_or("").to_string();
        let matched = Matched { method: method.into(), template: op.template.clone(), operation_id: id.clone() };
        let seen_query: HashSet<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
        for p in &op.params {
            let (Some(name), Some(place)) = (p["name"].as_str(), p["in"].as_str()) else { continue };
            let value = match place {
                "path" => path_values.get(name).cloned(),
                "query" => query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
                _ => continue,
            };
            match value {
                None if p["required"] == json!(true) => {
                    bad.push(format!("{id}: required {place} parameter `{name}` missing"))
                }
                None => {}
                Some(v) => {
                    if let Err(e) = self.validate(&format!("param:{id}:{name}"), &p["schema"], &typed(&v, &p["schema"]))
                    {
                        bad.push(format!("{id}: {place} parameter `{name}`={v:?}: {e}"));
                    }
                }
            }
        }
        for k in seen_query {
            if !op.params.iter().any(|p| p["in"] == "query" && p["name"] == k) {
                bad.push(format!("{id}: query parameter `{k}` is not one the operation takes"));
            }
        }
        let request_body = resolve(&op.op["requestBody"], "#/components/requestBodies/", &self.bodies);
        match (body, request_body.is_null()) {
            (Some(b), true) if !b.is_null() => bad.push(format!("{id}: takes no request body")),
            (None, false) if request_body["required"] == json!(true) => bad.push(format!("{id}: request body missing")),
            (Some(b), false) => {
                let schema = &request_body["content"]["application/json"]["schema"];
                if let Err(e) = self.validate(&format!("req:{id}"), schema, b) {
                    bad.push(format!("{id}: request body: {e}"));
                }
            }
            _ => {}
        }
        (Some(matched), bad)
    }

    /// Checks an answer the stand-in gives for `matched` against the schema of its status.
    pub fn check_response(&self, matched: &Matched, status: u16, body: Option<&Value>) -> Vec<String> {
        let Some((op, _)) =
            self.ops.iter().find(|o| o.template == matched.template && o.method == matched.method).map(|o| (o, ()))
        else {
            return vec![format!("{}: unknown operation", matched.operation_id)];
        };
        let id = &matched.operation_id;
        let described = op.op["responses"].get(status.to_string()).or_else(|| op.op["responses"].get("default"));
        // GitHub answers 404 with its basic error for any missing resource, described or not.
        let not_found =
            json!({"content": {"application/json": {"schema": {"$ref": "#/components/schemas/basic-error"}}}});
        let described = described.or((status == 404).then_some(&not_found));
        let Some(described) = described else {
            return vec![format!("{id}: status {status} is not one GitHub describes for it")];
        };
        let described = resolve(described, "#/components/responses/", &self.responses);
        let schema = &described["content"]["application/json"]["schema"];
        match (body, schema.is_null()) {
            (Some(b), false) => match self.validate(&format!("res:{id}:{status}"), schema, b) {
                Ok(()) => Vec::new(),
                Err(e) => vec![format!("{id}: answer {status}: {e}")],
            },
            (None, false) => vec![format!("{id}: answer {status} must carry a JSON body")],
            _ => Vec::new(),
        }
    }

    fn validate(&self, key: &str, schema: &Value, instance: &Value) -> Result<(), String> {
        let validator = self.validator(key, schema)?;
        let errors: Vec<String> =
            validator.iter_errors(instance).take(3).map(|e| format!("at `{}`: {e}", e.instance_path())).collect();
        if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
    }

    fn validator(&self, key: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        if let Some(v) = self.validators.lock().map_err(|e| e.to_string())?.get(key) {
            return Ok(v.clone());
        }
        let mut needed = BTreeMap::new();
        self.collect_refs(schema, &mut needed);
        let root = json!({"allOf": [schema], "components": {"schemas": needed}});
        let built = jsonschema::draft4::options()
            .build(&root)
            .map_err(|e| format!("GitHub's schema for {key} does not compile: {e}"))?;
        let built = Arc::new(built);
        self.validators.lock().map_err(|e| e.to_string())?.insert(key.to_string(), built.clone());
        Ok(built)
    }

    /// The component schemas `schema` refers to, transitively.
    fn collect_refs(&self, schema: &Value, out: &mut BTreeMap<String, Value>) {
        match schema {
            Value::Object(m) => {
                if let Some(name) =
                    m.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"))
                    && !out.contains_key(name)
                    && let Some(target) = self.schemas.get(name)
                {
                    out.insert(name.to_string(), target.clone());
                    self.collect_refs(target, out);
                }
                m.values().for_each(|v| self.collect_refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| self.collect_refs(v, out)),
            _ => {}
        }
    }
}

fn check_headers(headers: &[(String, String)]) -> Vec<String> {
    let all = |name: &str| {
        headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect::<Vec<_>>()
    };
    let mut bad = Vec::new();
    match all("x-github-api-version").as_slice() {
        [v] if *v == API_VERSION => {}
        [v] => bad.push(format!("X-GitHub-Api-Version is {v:?}, not {API_VERSION}")),
        [] => bad.push("X-GitHub-Api-Version missing".to_string()),
        many => bad.push(format!("X-GitHub-Api-Version sent {} times", many.len())),
    }
    match all("authorization").as_slice() {
        [v] if v.starts_with("Bearer ") || v.starts_with("token ") => {}
        [] => bad.push("Authorization missing".to_string()),
        _ => bad.push("Authorization is not one `Bearer <token>` header".to_string()),
    }
    let accept = all("accept");
    if !accept.iter().any(|v| v.contains("application/vnd.github") && v.contains("json")) {
        bad.push(format!("Accept {accept:?} is not GitHub's JSON type (application/vnd.github+json)"));
    }
    bad
}

fn template_segments(template: &str) -> Vec<Result<String, String>> {
    template
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => Err(name.to_string()),
            None => Ok(seg.to_string()),
        })
        .collect()
}

/// The path's parameter values when it fits the template. A trailing `{path}` (contents)
/// or `{ref}` (git refs) takes the rest, slashes included.
fn match_segments(template: &[Result<String, String>], parts: &[&str]) -> Option<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    for (i, seg) in template.iter().enumerate() {
        match seg {
            Ok(literal) if parts.get(i) == Some(&literal.as_str()) => {}
            Ok(_) => return None,
            Err(name) if i + 1 == template.len() && (name == "path" || name == "ref") && parts.len() > i => {
                values.insert(name.clone(), decode(&parts[i..].join("/")));
                return Some(values);
            }
            Err(name) => {
                values.insert(name.clone(), decode(parts.get(i)?));
            }
        }
    }
    (parts.len() == template.len()).then_some(values)
}

fn resolve(value: &Value, prefix: &str, table: &Map<String, Value>) -> Value {
    match value.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(prefix)) {
        Some(name) => table.get(name).cloned().unwrap_or(Value::Null),
        None => value.clone(),
    }
}

/// A parameter's text as the JSON value its schema speaks of.
fn typed(text: &str, schema: &Value) -> Value {
    match schema["type"].as_str().or_else(|| schema["type"][0].as_str()) {
        Some("integer") => text.parse::<i64>().map(Value::from).unwrap_or_else(|_| json!(text)),
        Some("number") => text.parse::<f64>().map(Value::from).unwrap_or_else(|_| json!(text)),
        Some("boolean") => match text {
            "true" => json!(true),
            "false" => json!(false),
            _ => json!(text),
        },
        Some("array") => Value::Array(text.split(',').map(|t| typed(t, &schema["items"])).collect()),
        _ => json!(text),
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// OpenAPI 3.0's `nullable: true` in JSON Schema terms: `null` joins the type (and the
/// enum); a schema without a type becomes `anyOf: [it, {type: null}]`. Examples and
/// prose are dropped on the way (they are most of the 13 MB and check nothing).
pub fn nullable_to_json_schema(value: &mut Value) {
    match value {
        Value::Object(m) => {
            for key in ["example", "examples", "description", "summary", "x-github", "externalDocs"] {
                // A property of that name is a schema (it has a type or a reference): kept.
                let schema = |o: &Map<String, Value>| {
                    ["type", "$ref", "anyOf", "oneOf", "allOf"].iter().any(|k| o.contains_key(*k))
                };
                if !matches!(m.get(key), Some(Value::Object(o)) if schema(o)) {
                    m.remove(key);
                }
            }
            for v in m.values_mut() {
                nullable_to_json_schema(v);
            }
            if m.remove("nullable") != Some(Value::Bool(true)) {
                return;
            }
            if let Some(Value::Array(e)) = m.get_mut("enum")
                && !e.contains(&Value::Null)
            {
                e.push(Value::Null);
            }
            match m.get("type").cloned() {
                Some(Value::String(t)) => {
                    m.insert("type".into(), json!([t, "null"]));
                }
                _ => {
                    let inner = Value::Object(std::mem::take(m));
                    m.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(nullable_to_json_schema),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_becomes_a_null_type() {
        let mut s = json!({"type": "string", "nullable": true, "enum": ["a"]});
        nullable_to_json_schema(&mut s);
        assert_eq!(s, json!({"type": ["string", "null"], "enum": ["a", null]}));
        let mut r = json!({"allOf": [{"$ref": "#/x"}], "nullable": true});
        nullable_to_json_schema(&mut r);
        assert_eq!(r, json!({"anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]}));
    }

    #[test]
    fn templates_match_whole_paths() {
        let t = template_segments("/repos/{owner}/{repo}/issues/{issue_number}");
        let m = match_segments(&t, &["repos", "o", "r", "issues", "7"]).unwrap();
        assert_eq!(m["issue_number"], "7");
        assert!(match_segments(&t, &["repos", "o", "r", "issues", "7", "comments"]).is_none());
        let c = template_segments("/repos/{owner}/{repo}/contents/{path}");
        assert_eq!(match_segments(&c, &["repos", "o", "r", "contents", "a", "b.md"]).unwrap()["path"], "a/b.md");
    }
}
