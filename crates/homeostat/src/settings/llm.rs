//! The `llm` section of homeostat.yml: which model answers, and its limits.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Duration;

/// Which API answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// OpenAI-compatible chat completions (`POST {base_url}/chat/completions`), also
    /// local servers (llama.cpp, vLLM, Ollama) that speak it.
    Openai,
    /// Anthropic messages (`POST {base_url}/v1/messages`).
    Anthropic,
    /// Recorded answers from files in `dir` (tests and demos).
    Replay,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Anthropic => "anthropic",
            Self::Replay => "replay",
        }
    }
}

/// Prices in USD per million tokens, for the cost of each call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

impl Price {
    pub fn usd(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input_per_mtok + output_tokens as f64 * self.output_per_mtok) / 1_000_000.0
    }
}

/// The `llm` section of homeostat.yml.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// `openai` (OpenAI-compatible, also local servers), `anthropic` or `replay`.
    pub provider: Provider,
    /// Model name (default: gpt-4o-mini for openai, claude-haiku-4-5 for anthropic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// API base (default https://api.openai.com/v1, https://api.anthropic.com).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Name of the environment variable holding the key (default OPENAI_API_KEY or
    /// ANTHROPIC_API_KEY). An OpenAI-compatible local server may need none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// replay: folder of recorded answers, `<name>.<n>.json` or `<name>.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Per request (default 120s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Retries on 429, 5xx and network errors, with exponential backoff (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// Daily budget (UTC day) in USD, counted in the ledger; a call that could pass it is
    /// refused before it is sent. Needs `price`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_day: Option<f64>,
    /// Prices for the cost written to the ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
}

impl LlmConfig {
    /// A replay configuration reading answers from `dir`.
    pub fn replay(dir: impl Into<PathBuf>) -> Self {
        Self {
            provider: Provider::Replay,
            model: None,
            base_url: None,
            api_key_env: None,
            dir: Some(dir.into()),
            timeout: None,
            max_retries: None,
            usd_per_day: None,
            price: None,
        }
    }
}
