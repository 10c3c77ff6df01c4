//! A request as the routes see it, and the answer they give (shared by the REST routes,
//! the checks and the git endpoints, so none of them imports another).

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// One answer: status, extra headers, JSON body (none for 204).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Answer {
    pub fn json(status: u16, body: Value) -> Self {
        Self { status, headers: Vec::new(), body: Some(body) }
    }
    pub fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: None }
    }
    pub fn error(status: u16, message: &str) -> Self {
        Self::json(
            status,
            json!({"message": message, "documentation_url": "https://docs.github.com/rest", "status": status.to_string()}),
        )
    }
    pub(crate) fn not_found() -> Self {
        Self::error(404, "Not Found")
    }
}

/// A request as the routes see it.
pub struct Req<'a> {
    pub method: &'a str,
    /// Path segments, percent-decoded.
    pub segments: Vec<String>,
    pub query: BTreeMap<String, String>,
    pub body: Value,
    /// The stand-in's own base URL, for `url` fields and `Link` headers.
    pub api: &'a str,
    /// Path and query as sent, for `Link` headers.
    pub path: &'a str,
}

impl Req<'_> {
    pub(crate) fn q(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        self.body.get(key).and_then(Value::as_str).map(str::to_string)
    }
    pub(crate) fn strings(&self, key: &str) -> Option<Vec<String>> {
        let items = self.body.get(key)?.as_array()?;
        Some(
            items
                .iter()
                .filter_map(|v| v.as_str().or_else(|| v.get("name").and_then(Value::as_str)))
                .map(str::to_string)
                .collect(),
        )
    }
}
