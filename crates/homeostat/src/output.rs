//! How a run prints its results: text for people, JSON for machines.

/// Output format: text for people (stderr carries progress), JSON for machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
    Jsonl,
}

/// Prints one value as JSON on stdout (one line for jsonl, pretty for json).
pub fn print_json<T: serde::Serialize>(format: OutputFormat, value: &T) -> crate::Result<()> {
    let text = match format {
        OutputFormat::Json => serde_json::to_string_pretty(value),
        _ => serde_json::to_string(value),
    }
    .map_err(|e| crate::Error::Failed(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
