//! The docs' examples of homeostat.yml load as written: every YAML block in README.md and
//! docs/*.md that starts with one of the config's sections is read as a homeostat.yml.

use std::path::Path;

/// The config's top-level sections, from the committed schema.
fn sections() -> Vec<String> {
    let schema = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/homeostat.schema.json"));
    let schema: serde_json::Value = serde_json::from_str(&schema.unwrap()).unwrap();
    schema["properties"].as_object().unwrap().keys().cloned().collect()
}

/// Each YAML block of `text` whose first key is a config section, with its line.
fn config_blocks(text: &str, sections: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut line = 1;
    while let Some(start) = rest.find("```yaml\n") {
        line += rest[..start].matches('\n').count() + 1;
        let body = &rest[start + 8..];
        let end = body.find("```").unwrap_or(body.len());
        let block = &body[..end];
        let first = block.lines().find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        let key = first.filter(|l| !l.starts_with(' ')).and_then(|l| l.split(':').next());
        if key.is_some_and(|k| sections.iter().any(|s| s == k)) {
            out.push((line, block.to_string()));
        }
        line += block.matches('\n').count();
        rest = &body[end..];
    }
    out
}

#[test]
fn config_examples_in_the_docs_load_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sections = sections();
    let mut files = vec![root.join("README.md")];
    files.extend(std::fs::read_dir(root.join("docs")).unwrap().map(|e| e.unwrap().path()));
    files.retain(|f| f.extension().is_some_and(|e| e == "md"));
    let (mut read, mut failed) = (0, Vec::new());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.strip_prefix(root).unwrap().display().to_string();
        for (line, block) in config_blocks(&text, &sections) {
            read += 1;
            if let Err(e) = homeostat::settings::Config::parse(&format!("{name}:{line}"), &block) {
                failed.push(e.to_string());
            }
        }
    }
    assert!(read >= 10, "only {read} config examples found in the docs");
    assert!(failed.is_empty(), "config examples that do not load:\n{}", failed.join("\n"));
}
