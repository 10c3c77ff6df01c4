//! The llm module against recorded answers and against wiremock servers that speak the
//! OpenAI chat-completions and Anthropic messages APIs.

use std::time::{Duration, Instant};

use homeostat::gha::Env;
use homeostat::ledger::Ledger;
use homeostat::llm::{Llm, LlmConfig, Price, Provider};
use homeostat::prompt::Prompts;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-test-0123456789abcdef";

fn schema() -> Value {
    json!({
        "type": "object",
        "required": ["title", "slug"],
        "properties": {"title": {"type": "string", "minLength": 3}, "slug": {"type": "string", "pattern": "^[a-z0-9-]+$"}},
        "additionalProperties": false
    })
}

/// A prompts folder with one template on top of the built-in set.
fn prompts(dir: &std::path::Path) -> Prompts {
    let p = dir.join("prompts");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("test-idea.j2"), "Suggest a page about [[ topic ]].\n").unwrap();
    Prompts::with_overrides(&p).unwrap()
}

fn network_config(provider: Provider, server: &MockServer) -> LlmConfig {
    let mut c = LlmConfig::replay("unused");
    c.provider = provider;
    c.dir = None;
    c.base_url = Some(server.uri());
    c.model = Some("test-model".into());
    c.max_retries = Some(2);
    c.price = Some(Price { input_per_mtok: 1.0, output_per_mtok: 2.0 });
    c
}

fn openai_answer(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}
    }))
}

fn anthropic_answer(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "test-model",
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 2000, "output_tokens": 100}
    }))
}

fn env() -> Env {
    Env::from_pairs([("OPENAI_API_KEY", KEY), ("ANTHROPIC_API_KEY", KEY)])
}

fn llm(config: &LlmConfig, dir: &std::path::Path) -> (Llm, Ledger) {
    let ledger = Ledger::open(dir.join("ledger.jsonl"));
    let llm =
        Llm::from_config(config, prompts(dir), ledger.clone(), &env()).unwrap().with_backoff(Duration::from_millis(50));
    (llm, ledger)
}

#[tokio::test]
async fn replay_reads_numbered_then_plain_files_and_repairs_once() {
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("answers");
    std::fs::create_dir_all(&answers).unwrap();
    // Call 1 breaks the schema (slug with spaces), the repair (call 2) is fine; later
    // calls fall back to the plain file.
    std::fs::write(answers.join("test-idea.1.json"), r#"{"title": "Pricing", "slug": "not a slug"}"#).unwrap();
    std::fs::write(answers.join("test-idea.2.json"), "```json\n{\"title\": \"Pricing\", \"slug\": \"pricing\"}\n```")
        .unwrap();
    std::fs::write(answers.join("test-idea.json"), r#"{"title": "Plain", "slug": "plain"}"#).unwrap();
    let (llm, ledger) = llm(&LlmConfig::replay(&answers), dir.path());

    let first = llm.ask_json("test-idea.j2", &json!({"topic": "pricing"}), &schema()).await.unwrap();
    assert_eq!(first, json!({"title": "Pricing", "slug": "pricing"}));
    let second = llm.ask_json("prompts/test-idea.j2", &json!({"topic": "x"}), &schema()).await.unwrap();
    assert_eq!(second["slug"], "plain");

    let calls = ledger.entries().unwrap();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|e| e.kind == "llm.call" && e.key == "test-idea"));
    let oks: Vec<bool> = calls.iter().map(|e| e.data["ok"].as_bool().unwrap()).collect();
    assert_eq!(oks, [false, true, true]);
    assert_eq!(calls[0].get_str("provider"), Some("replay"));
    assert_eq!(calls[0].get_str("template"), Some("test-idea.j2"));
    assert!(calls[0].data["input_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn replay_without_a_recorded_answer_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (llm, _) = llm(&LlmConfig::replay(dir.path().join("none")), dir.path());
    let err = llm.ask_json("test-idea.j2", &json!({"topic": "t"}), &schema()).await.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("test-idea.1.json"), "{err}");
}

#[tokio::test]
async fn openai_request_shape_usage_and_cost() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_partial_json(json!({"model": "test-model", "response_format": {"type": "json_object"}})))
        .respond_with(openai_answer(r#"{"title": "Pricing guide", "slug": "pricing-guide"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (llm, ledger) = llm(&network_config(Provider::Openai, &server), dir.path());
    let answer = llm.ask_json("test-idea.j2", &json!({"topic": "pricing"}), &schema()).await.unwrap();
    assert_eq!(answer["slug"], "pricing-guide");

    let requests = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert!(messages[0]["content"].as_str().unwrap().contains("\"pattern\""), "the schema is shown to the model");
    assert_eq!(messages[1]["role"], "user");
    assert_eq!(messages[1]["content"], "Suggest a page about pricing.\n");

    let entry = ledger.last("llm.call", "test-idea").unwrap().unwrap();
    assert_eq!(entry.data["input_tokens"], 1000);
    assert_eq!(entry.data["output_tokens"], 500);
    // 1000 × $1/Mtok + 500 × $2/Mtok
    assert!((entry.get_f64("usd").unwrap() - 0.002).abs() < 1e-12);
    assert_eq!(entry.get_str("model"), Some("test-model"));
    assert!((llm.spend_since(jiff::Timestamp::UNIX_EPOCH).unwrap() - 0.002).abs() < 1e-12);
}

#[tokio::test]
async fn anthropic_request_shape() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(body_partial_json(json!({"model": "test-model", "max_tokens": 4096})))
        .respond_with(anthropic_answer(r#"{"title": "Pricing", "slug": "pricing"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (llm, ledger) = llm(&network_config(Provider::Anthropic, &server), dir.path());
    let answer = llm.ask_json("test-idea.j2", &json!({"topic": "pricing"}), &schema()).await.unwrap();
    assert_eq!(answer["title"], "Pricing");
    let body: Value = serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert!(body["system"].as_str().unwrap().contains("JSON Schema"));
    assert_eq!(body["messages"], json!([{"role": "user", "content": "Suggest a page about pricing.\n"}]));
    let entry = ledger.last("llm.call", "test-idea").unwrap().unwrap();
    assert_eq!(entry.get_str("provider"), Some("anthropic"));
    assert!((entry.get_f64("usd").unwrap() - 0.0022).abs() < 1e-12);
}

#[tokio::test]
async fn rate_limit_then_success_backs_off() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_string("slow down"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(openai_answer(r#"{"title": "After wait", "slug": "after-wait"}"#))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (llm, ledger) = llm(&network_config(Provider::Openai, &server), dir.path());
    let started = Instant::now();
    let answer = llm.ask_json("test-idea.j2", &json!({"topic": "t"}), &schema()).await.unwrap();
    assert_eq!(answer["slug"], "after-wait");
    assert!(started.elapsed() >= Duration::from_millis(50), "waited {:?}", started.elapsed());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    // One answered call: the 429 cost nothing and is not a model call.
    assert_eq!(ledger.entries().unwrap().len(), 1);
}

#[tokio::test]
async fn server_errors_exhaust_retries_without_leaking_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string(format!("overloaded, your key {KEY}")))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (llm, ledger) = llm(&network_config(Provider::Anthropic, &server), dir.path());
    let err = llm.ask_json("test-idea.j2", &json!({"topic": "t"}), &schema()).await.unwrap_err();
    let text = err.to_string();
    assert_eq!(err.exit_code(), 1);
    assert!(text.contains("503") && text.contains("3 attempt"), "{text}");
    assert!(!text.contains(KEY), "the key leaked: {text}");
    // max_retries 2 → three requests.
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert!(ledger.entries().unwrap().is_empty());
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad model"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (llm, _) = llm(&network_config(Provider::Openai, &server), dir.path());
    let err = llm.ask_json("test-idea.j2", &json!({"topic": "t"}), &schema()).await.unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn schema_invalid_answer_gets_one_repair_with_the_error_shown() {
    let server = MockServer::start().await;
    // The repair request carries the rejection; it is matched first.
    Mock::given(method("POST"))
        .and(body_string_contains("previous answer was rejected"))
        .respond_with(openai_answer(r#"{"title": "Fixed", "slug": "fixed"}"#))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(openai_answer(r#"{"title": "Broken"}"#))
        .with_priority(2)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (llm, ledger) = llm(&network_config(Provider::Openai, &server), dir.path());
    let answer = llm.ask_json("test-idea.j2", &json!({"topic": "t"}), &schema()).await.unwrap();
    assert_eq!(answer["slug"], "fixed");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let repair: Value = serde_json::from_slice(&requests[1].body).unwrap();
    let messages = repair["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[2], json!({"role": "assistant", "content": r#"{"title": "Broken"}"#}));
    assert!(messages[3]["content"].as_str().unwrap().contains("slug"), "the validation error names the field");
    let oks: Vec<bool> = ledger.entries().unwrap().iter().map(|e| e.data["ok"].as_bool().unwrap()).collect();
    assert_eq!(oks, [false, true]);
}

#[tokio::test]
async fn two_invalid_answers_are_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(openai_answer("I cannot do that.")).mount(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let (llm, ledger) = llm(&network_config(Provider::Openai, &server), dir.path());
    let err = llm.ask_json("test-idea.j2", &json!({"topic": "t"}), &schema()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("prompts/test-idea.j2") && text.contains("repair") && text.contains("not JSON"), "{text}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(ledger.entries().unwrap().len(), 2);
}

#[tokio::test]
async fn the_daily_budget_refuses_a_call_before_it_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(openai_answer(r#"{"title": "xyz", "slug": "x"}"#)).mount(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = network_config(Provider::Openai, &server);
    config.usd_per_day = Some(0.05);
    let (llm, ledger) = llm(&config, dir.path());
    // Yesterday's spend does not count; today's does.
    let yesterday = homeostat::llm::start_of_utc_day(jiff::Timestamp::now()) - jiff::SignedDuration::from_hours(1);
    ledger.append_at(yesterday, "llm.call", "other", json!({"usd": 10.0})).unwrap();
    ledger.append("llm.call", "other", json!({"usd": 0.045})).unwrap();
    assert!((llm.budget_left().unwrap().unwrap() - 0.005).abs() < 1e-9);
    // Worst case 4096 output tokens × $2/Mtok ≈ $0.008 > $0.005 left.
    let err = llm.ask_json("test-idea.j2", &json!({"topic": "t"}), &schema()).await.unwrap_err();
    assert!(err.to_string().contains("budget"), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent");

    // With room left the same call goes through.
    config.usd_per_day = Some(1.0);
    let (llm, _) = self::llm(&config, dir.path());
    llm.ask_json("test-idea.j2", &json!({"topic": "t"}), &schema()).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_missing_key_is_a_config_error_naming_the_variable() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = network_config(Provider::Anthropic, &server);
    config.api_key_env = Some("MY_LLM_KEY".into());
    let llm =
        Llm::from_config(&config, prompts(dir.path()), Ledger::open(dir.path().join("l")), &Env::default()).unwrap();
    let err = llm.ask_json("test-idea.j2", &json!({"topic": "t"}), &schema()).await.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("MY_LLM_KEY"), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_local_openai_compatible_server_needs_no_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(openai_answer(r#"{"title": "Local", "slug": "local"}"#))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = network_config(Provider::Openai, &server);
    let llm =
        Llm::from_config(&config, prompts(dir.path()), Ledger::open(dir.path().join("l")), &Env::default()).unwrap();
    assert_eq!(llm.ask_json("test-idea.j2", &json!({"topic": "t"}), &schema()).await.unwrap()["slug"], "local");
    let req = &server.received_requests().await.unwrap()[0];
    assert!(!req.headers.contains_key("authorization"));
}

#[test]
fn config_parses_with_durations_and_rejects_unknown_keys() {
    let config: LlmConfig = serde_yaml_ng::from_str(
        "provider: anthropic\nmodel: claude-haiku-4-5\ntimeout: 90s\nusd_per_day: 5\nprice: {input_per_mtok: 1, output_per_mtok: 5}\n",
    )
    .unwrap();
    assert_eq!(config.provider, Provider::Anthropic);
    assert_eq!(config.timeout.unwrap().as_std(), Duration::from_secs(90));
    assert!(serde_yaml_ng::from_str::<LlmConfig>("provider: openai\ntemperature: 1\n").is_err());
    assert!(serde_yaml_ng::from_str::<LlmConfig>("provider: gemini\n").is_err());
}
