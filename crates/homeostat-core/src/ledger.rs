//! One ledger line as a value (what decisions read). Appending, reading and pushing the
//! ledger file is `homeostat::ledger`.

use serde::{Deserialize, Serialize};

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub ts: jiff::Timestamp,
    pub kind: String,
    pub key: String,
    #[serde(default)]
    pub id: String,
    /// Everything else the writer recorded.
    #[serde(flatten)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

impl Entry {
    pub fn get_f64(&self, field: &str) -> Option<f64> {
        self.data.get(field).and_then(serde_json::Value::as_f64)
    }
    pub fn get_str(&self, field: &str) -> Option<&str> {
        self.data.get(field).and_then(serde_json::Value::as_str)
    }
}
