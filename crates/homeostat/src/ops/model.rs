//! The optional model: it breaks ties between matching runbooks and writes the report's
//! opening prose.

use async_trait::async_trait;

use super::run;
use crate::error::Result;

/// A model that answers a prompt template with JSON checked against a schema
/// (implemented by `crate::llm::Llm`; tests may bring their own).
#[async_trait]
pub trait Model: Send + Sync {
    async fn ask_json(
        &self,
        template: &str,
        context: &serde_json::Value,
        schema: &serde_json::Value,
    ) -> Result<serde_json::Value>;
}

/// The model the config's `llm` section names, if any (tie-breaks and report prose).
/// Without one the most specific rule wins and the plain template writes the report.
pub fn model_for(session: &run::Session) -> Result<Option<Box<dyn Model>>> {
    let Some(config) = &session.config.llm else { return Ok(None) };
    let prompts = crate::prompt::Prompts::builtin()?;
    let llm = crate::llm::Llm::from_config(config, prompts, session.ledger.clone(), &session.env)?;
    Ok(Some(Box::new(llm)))
}

#[async_trait]
impl Model for crate::llm::Llm {
    async fn ask_json(
        &self,
        template: &str,
        context: &serde_json::Value,
        schema: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        crate::llm::Llm::ask_json(self, template, context, schema).await
    }
}
