//! LLM calls: a prompt from `prompts/`, a JSON answer validated against a schema (one
//! repair retry), retries with backoff on 429/5xx, a timeout, tokens and cost in the
//! ledger, and a daily budget that refuses a call before it is sent.
//!
//! Providers: OpenAI-compatible chat completions (also local servers that speak it),
//! Anthropic messages, and `replay`, which answers from recorded files for tests and
//! demos: the n-th call (n from 1) made with `prompts/<name>.j2` in a run reads
//! `DIR/<name>.<n>.json`, else `DIR/<name>.json`.
//!
//! The API key is read from its environment variable at call time, masked in Actions,
//! and never written to a log or an error message.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, Position, Result};
use crate::gha::{Actions, Env};
use crate::ledger::Ledger;
use crate::prompt::Prompts;
use crate::settings::Duration;

/// The ledger kind of one model call.
pub const LEDGER_KIND: &str = crate::ledger::kinds::LLM_CALL;
/// Output tokens asked for (Anthropic's `max_tokens`) and assumed when a call's cost is
/// estimated against the budget before it is sent.
pub const MAX_OUTPUT_TOKENS: u64 = 4096;
/// The system prompt that asks for JSON matching the schema.
const SYSTEM_TEMPLATE: &str = "llm-system.j2";
/// The follow-up that shows the model why its answer was rejected.
const REPAIR_TEMPLATE: &str = "llm-repair.j2";

pub use crate::settings::llm::{LlmConfig, Price, Provider};

impl Provider {
    fn default_base_url(self) -> &'static str {
        match self {
            Self::Openai => "https://api.openai.com/v1",
            Self::Anthropic => "https://api.anthropic.com",
            Self::Replay => "",
        }
    }
    fn default_key_env(self) -> &'static str {
        match self {
            Self::Openai => "OPENAI_API_KEY",
            Self::Anthropic => "ANTHROPIC_API_KEY",
            Self::Replay => "",
        }
    }
    fn default_model(self) -> &'static str {
        match self {
            Self::Openai => "gpt-4o-mini",
            Self::Anthropic => "claude-haiku-4-5",
            Self::Replay => "replay",
        }
    }
}

/// A configured model client.
pub struct Llm {
    provider: Provider,
    model: String,
    base_url: String,
    key_env: Option<String>,
    key_required: bool,
    replay_dir: Option<PathBuf>,
    max_retries: u32,
    usd_per_day: Option<f64>,
    price: Option<Price>,
    timeout: std::time::Duration,
    http: crate::http::Client,
    prompts: Prompts,
    ledger: Ledger,
    env: Env,
    replay_calls: Mutex<HashMap<String, u32>>,
}

/// The model's client: `max_retries` retries after the first attempt, a retry-after of up to
/// a minute waited out.
fn http_client(
    timeout: std::time::Duration,
    max_retries: u32,
    backoff: std::time::Duration,
) -> Result<crate::http::Client> {
    let retry = crate::http::RetryPolicy::unpaced(max_retries + 1, backoff, std::time::Duration::from_secs(60));
    crate::http::client(crate::http::ClientOptions::default().timeout(timeout).retry(retry))
        .map_err(|e| Error::Failed(format!("llm: {e}")))
}

/// One message of a conversation.
#[derive(Debug, Clone, Serialize)]
struct Message {
    role: &'static str,
    content: String,
}

/// What one request returned.
struct Reply {
    text: String,
    input_tokens: u64,
    output_tokens: u64,
}

fn config_error(message: impl Into<String>) -> Error {
    Error::input(Position::file("homeostat.yml (llm)"), message)
}

impl Llm {
    pub fn from_config(config: &LlmConfig, prompts: Prompts, ledger: Ledger, env: &Env) -> Result<Llm> {
        let provider = config.provider;
        let replay_dir = match (provider, &config.dir) {
            (Provider::Replay, None) => return Err(config_error("provider `replay` needs `dir`")),
            (_, dir) => dir.clone(),
        };
        if config.usd_per_day.is_some() && config.price.is_none() {
            return Err(config_error("`usd_per_day` needs `price` to count what calls cost"));
        }
        if let Some(budget) = config.usd_per_day
            && !(budget >= 0.0 && budget.is_finite())
        {
            return Err(config_error("`usd_per_day` must be a non-negative number"));
        }
        for template in [SYSTEM_TEMPLATE, REPAIR_TEMPLATE] {
            if !prompts.has(template) {
                return Err(config_error(format!("the prompt set lacks prompts/{template}")));
            }
        }
        let timeout = config.timeout.map_or(std::time::Duration::from_secs(120), Duration::as_std);
        let max_retries = config.max_retries.unwrap_or(3);
        let backoff_base = std::time::Duration::from_millis(500);
        let http = http_client(timeout, max_retries, backoff_base)?;
        let key_env = match provider {
            Provider::Replay => None,
            _ => Some(config.api_key_env.clone().unwrap_or_else(|| provider.default_key_env().into())),
        };
        // A local OpenAI-compatible server may need no key: there only a variable named
        // in the config is required.
        let key_required = match provider {
            Provider::Openai => config.api_key_env.is_some() || config.base_url.is_none(),
            _ => true,
        };
        Ok(Llm {
            provider,
            model: config.model.clone().unwrap_or_else(|| provider.default_model().into()),
            base_url: config.base_url.clone().unwrap_or_else(|| provider.default_base_url().into()),
            key_env,
            key_required,
            replay_dir,
            max_retries,
            timeout,
            usd_per_day: config.usd_per_day,
            price: config.price,
            http,
            prompts,
            ledger,
            env: env.clone(),
            replay_calls: Mutex::new(HashMap::new()),
        })
    }

    /// Sets the first backoff delay (it doubles each retry); tests shorten it.
    pub fn with_backoff(mut self, base: std::time::Duration) -> Self {
        // The first build succeeded with the same TLS setup; were this one to fail, the
        // client keeps its default backoff.
        match http_client(self.timeout, self.max_retries, base) {
            Ok(http) => self.http = http,
            Err(e) => tracing::warn!("{e}; keeping the default backoff"),
        }
        self
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Renders prompts/<template> with `context`, sends it, parses the answer as JSON,
    /// validates it against `schema` (one repair retry that shows the model the
    /// validation error), writes each request to the ledger (kind `llm.call`) and
    /// returns the JSON.
    pub async fn ask_json(&self, template: &str, context: &impl Serialize, schema: &Value) -> Result<Value> {
        let template = template.strip_prefix("prompts/").unwrap_or(template);
        let name = template.strip_suffix(".j2").unwrap_or(template).to_string();
        let validator = jsonschema::validator_for(schema)
            .map_err(|e| Error::Failed(format!("llm: the answer schema for {template} is not a JSON Schema: {e}")))?;
        let schema_text = serde_json::to_string_pretty(schema).map_err(|e| Error::Failed(e.to_string()))?;
        let system = self.prompts.render(SYSTEM_TEMPLATE, &json!({"schema": schema_text}))?;
        let prompt = self.prompts.render(template, context)?;
        let mut messages = vec![Message { role: "user", content: prompt }];

        let mut last_problem = String::new();
        for attempt in 0..2 {
            let reply = self.send(&name, &system, &messages).await?;
            let checked = parse_answer(&reply.text).and_then(|value| check(&validator, value));
            self.record(&name, &reply, checked.is_ok())?;
            match checked {
                Ok(value) => return Ok(value),
                Err(problem) => {
                    tracing::warn!("llm: answer to {template} rejected (attempt {}): {problem}", attempt + 1);
                    let repair =
                        self.prompts.render(REPAIR_TEMPLATE, &json!({"error": problem, "schema": schema_text}))?;
                    messages.push(Message { role: "assistant", content: reply.text });
                    messages.push(Message { role: "user", content: repair });
                    last_problem = problem;
                }
            }
        }
        Err(Error::Failed(format!(
            "llm: the answer to prompts/{template} did not match its schema after one repair retry: {last_problem}"
        )))
    }

    /// USD spent on model calls since `since`, from the ledger.
    pub fn spend_since(&self, since: jiff::Timestamp) -> Result<f64> {
        spend_since(&self.ledger, since)
    }

    /// What is left of today's budget (UTC), if there is a budget.
    pub fn budget_left(&self) -> Result<Option<f64>> {
        let Some(budget) = self.usd_per_day else { return Ok(None) };
        Ok(Some(budget - self.spend_since(start_of_utc_day(self.ledger.now()))?))
    }

    fn record(&self, name: &str, reply: &Reply, ok: bool) -> Result<()> {
        let usd = self.price.map_or(0.0, |p| p.usd(reply.input_tokens, reply.output_tokens));
        self.ledger.append(
            LEDGER_KIND,
            name,
            json!({
                "template": format!("{name}.j2"),
                "provider": self.provider.as_str(),
                "model": self.model,
                "input_tokens": reply.input_tokens,
                "output_tokens": reply.output_tokens,
                "usd": usd,
                "ok": ok,
            }),
        )?;
        Ok(())
    }

    /// Refuses a call whose worst-case cost would pass today's budget.
    fn check_budget(&self, system: &str, messages: &[Message]) -> Result<()> {
        let (Some(budget), Some(price)) = (self.usd_per_day, self.price) else { return Ok(()) };
        let chars = system.len() + messages.iter().map(|m| m.content.len()).sum::<usize>();
        let estimate = price.usd(estimate_tokens(chars), MAX_OUTPUT_TOKENS);
        let spent = self.spend_since(start_of_utc_day(self.ledger.now()))?;
        if spent + estimate > budget {
            return Err(Error::Failed(format!(
                "llm: daily budget reached: spent ${spent:.4} of ${budget:.2} today (UTC); this call could cost up to ${estimate:.4}, so it was not sent"
            )));
        }
        Ok(())
    }

    async fn send(&self, name: &str, system: &str, messages: &[Message]) -> Result<Reply> {
        self.check_budget(system, messages)?;
        match self.provider {
            Provider::Replay => self.replay(name, system, messages),
            Provider::Openai | Provider::Anthropic => self.send_http(system, messages).await,
        }
    }

    fn replay(&self, name: &str, system: &str, messages: &[Message]) -> Result<Reply> {
        let dir = self.replay_dir.as_deref().unwrap_or(std::path::Path::new("."));
        let n = {
            let mut calls =
                self.replay_calls.lock().map_err(|_| Error::Failed("llm: replay counter poisoned".into()))?;
            let n = calls.entry(name.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        let numbered = dir.join(format!("{name}.{n}.json"));
        let plain = dir.join(format!("{name}.json"));
        let path = if numbered.is_file() {
            numbered
        } else if plain.is_file() {
            plain
        } else {
            return Err(Error::input(
                Position::file(numbered.display().to_string()),
                format!("no recorded answer for call {n} of prompts/{name}.j2 (nor {})", plain.display()),
            ));
        };
        let text = crate::error::read_to_string(&path)?;
        tracing::debug!("llm: replaying {}", path.display());
        let chars = system.len() + messages.iter().map(|m| m.content.len()).sum::<usize>();
        Ok(Reply { input_tokens: estimate_tokens(chars), output_tokens: estimate_tokens(text.len()), text })
    }

    /// The key, read now from its variable.
    fn api_key(&self) -> Result<Option<String>> {
        let Some(var) = &self.key_env else { return Ok(None) };
        match self.env.get(var) {
            Some(key) => {
                Actions::new(&self.env).mask(key);
                Ok(Some(key.to_string()))
            }
            None if !self.key_required => Ok(None),
            None => Err(config_error(format!("the API key variable {var} is not set"))),
        }
    }

    fn request(&self, key: Option<&str>, system: &str, messages: &[Message]) -> crate::http::RequestBuilder {
        let base = self.base_url.trim_end_matches('/');
        match self.provider {
            Provider::Anthropic => {
                let mut req =
                    self.http.post(format!("{base}/v1/messages")).header("anthropic-version", "2023-06-01").json(
                        &json!({
                            "model": self.model,
                            "max_tokens": MAX_OUTPUT_TOKENS,
                            "system": system,
                            "messages": messages,
                        }),
                    );
                if let Some(key) = key {
                    req = req.header("x-api-key", key);
                }
                req
            }
            _ => {
                let mut all = vec![Message { role: "system", content: system.to_string() }];
                all.extend(messages.iter().cloned());
                let mut req = self.http.post(format!("{base}/chat/completions")).json(&json!({
                    "model": self.model,
                    "messages": all,
                    "response_format": {"type": "json_object"},
                }));
                if let Some(key) = key {
                    req = req.bearer_auth(key);
                }
                req
            }
        }
    }

    /// One request through the shared HTTP stack, whose retry layer repeats it after a
    /// 429, a 5xx or a dropped connection (a completion changes nothing on the server).
    async fn send_http(&self, system: &str, messages: &[Message]) -> Result<Reply> {
        let key = self.api_key()?;
        let hide = |text: String| match &key {
            Some(k) if !k.is_empty() => text.replace(k.as_str(), "***"),
            _ => text,
        };
        let provider = self.provider.as_str();
        let request = self.request(key.as_deref(), system, messages).with_extension(crate::http::Idempotent);
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                let tries = self.max_retries + 1;
                let problem = hide(format!("request to {provider} failed: {}", crate::http::describe(&e)));
                return Err(Error::Failed(format!("llm: {problem} (after {tries} attempt(s))")));
            }
        };
        let status = response.status();
        let tries = response.extensions().get::<crate::http::Attempts>().map_or(1, |a| a.0);
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let problem = hide(format!("{provider} answered {status}: {}", excerpt(&body)));
            return Err(Error::Failed(format!("llm: {problem} (after {tries} attempt(s))")));
        }
        let value: Value = serde_json::from_str(&body).map_err(|e| {
            Error::Failed(format!("llm: {provider} answered {status} with a body that is not JSON: {e}"))
        })?;
        self.reply_from(&value)
    }

    fn reply_from(&self, value: &Value) -> Result<Reply> {
        let provider = self.provider.as_str();
        let (text, input, output) = match self.provider {
            Provider::Anthropic => {
                let text: String = value["content"]
                    .as_array()
                    .map(|parts| {
                        parts.iter().filter(|p| p["type"] == "text").filter_map(|p| p["text"].as_str()).collect()
                    })
                    .unwrap_or_default();
                (text, &value["usage"]["input_tokens"], &value["usage"]["output_tokens"])
            }
            _ => {
                let text = value["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_string();
                (text, &value["usage"]["prompt_tokens"], &value["usage"]["completion_tokens"])
            }
        };
        if text.is_empty() {
            return Err(Error::Failed(format!("llm: {provider} answered with no text")));
        }
        Ok(Reply {
            input_tokens: input.as_u64().unwrap_or_else(|| estimate_tokens(text.len())),
            output_tokens: output.as_u64().unwrap_or_else(|| estimate_tokens(text.len())),
            text,
        })
    }
}

/// USD spent on model calls since `since`, from a ledger.
pub fn spend_since(ledger: &Ledger, since: jiff::Timestamp) -> Result<f64> {
    Ok(ledger.since(LEDGER_KIND, since)?.iter().filter_map(|e| e.get_f64("usd")).sum())
}

/// Midnight UTC of the day `now` falls in.
pub fn start_of_utc_day(now: jiff::Timestamp) -> jiff::Timestamp {
    let secs = now.as_second();
    jiff::Timestamp::from_second(secs - secs.rem_euclid(86_400)).unwrap_or(now)
}

/// About four bytes per token: enough for a budget estimate and for replays.
fn estimate_tokens(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(4)
}

/// The JSON value in a model's answer, which may sit in a Markdown code fence.
fn parse_answer(text: &str) -> std::result::Result<Value, String> {
    let trimmed = text.trim();
    let unfenced = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|t| t.trim_end().strip_suffix("```"))
        .unwrap_or(trimmed)
        .trim();
    serde_json::from_str(unfenced).or_else(|first| {
        // Prose around one object: take the outermost braces.
        match (unfenced.find('{'), unfenced.rfind('}')) {
            (Some(start), Some(end)) if start < end => {
                serde_json::from_str(&unfenced[start..=end]).map_err(|_| format!("the answer is not JSON: {first}"))
            }
            _ => Err(format!("the answer is not JSON: {first}")),
        }
    })
}

fn check(validator: &jsonschema::Validator, value: Value) -> std::result::Result<Value, String> {
    let problems: Vec<String> = validator
        .iter_errors(&value)
        .take(10)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("at `{}`: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    if problems.is_empty() { Ok(value) } else { Err(problems.join("; ")) }
}

fn excerpt(body: &str) -> String {
    let cut = crate::gha::floor_char_boundary(body, 300);
    let mut s = body[..cut].replace(['\n', '\r'], " ");
    if cut < body.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_in_fences_or_prose_parse() {
        assert_eq!(parse_answer("```json\n{\"a\": 1}\n```").unwrap(), json!({"a": 1}));
        assert_eq!(parse_answer("Here you go: {\"a\": [1]} hope it helps").unwrap(), json!({"a": [1]}));
        assert!(parse_answer("no json here").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn schema_problems_name_the_place() {
        let schema = json!({"type": "object", "required": ["title"], "properties": {"n": {"type": "integer"}}});
        let v = jsonschema::validator_for(&schema).unwrap();
        let err = check(&v, json!({"n": "x"})).unwrap_err();
        assert!(err.contains("title"), "{err}");
        assert!(err.contains("/n"), "{err}");
        assert!(check(&v, json!({"title": "t", "n": 2})).is_ok());
    }

    #[test]
    fn price_and_day_start() {
        let p = Price { input_per_mtok: 3.0, output_per_mtok: 15.0 };
        assert!((p.usd(1_000_000, 100_000) - 4.5).abs() < 1e-9);
        let start = start_of_utc_day(jiff::Timestamp::now());
        assert_eq!(start.as_second() % 86_400, 0);
        assert!(jiff::Timestamp::now().as_second() - start.as_second() < 86_400);
    }

    #[test]
    fn config_errors_are_input_errors() {
        let prompts = Prompts::builtin().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path().join("l.jsonl"));
        let mut config = LlmConfig::replay(dir.path());
        config.dir = None;
        let err = Llm::from_config(&config, prompts, ledger.clone(), &Env::default()).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        let mut config = LlmConfig::replay(dir.path());
        config.usd_per_day = Some(1.0);
        let err = Llm::from_config(&config, Prompts::builtin().unwrap(), ledger, &Env::default()).err().unwrap();
        assert!(err.to_string().contains("price"), "{err}");
    }
}
